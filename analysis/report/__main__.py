"""``python -m analysis.report DIR``: the same as ``cxsim report DIR``."""

from analysis.report.command import main

main()
