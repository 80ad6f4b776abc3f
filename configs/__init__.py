"""cxsim's Hydra configuration tree, shipped inside the wheel as a package.

Commands find it through Hydra's package search path (``pkg://configs``), so ``cxsim`` works
from any directory once installed; ``scripts/generate_configs.py`` writes the model defaults here.
"""
