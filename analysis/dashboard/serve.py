"""``cxsim dashboard [dashboard.port=N]``: serve the dashboard on 127.0.0.1 with Solara.

Also ``python -m analysis.dashboard.serve dashboard.port=N``. Runs ``solara run
analysis.dashboard.app --host 127.0.0.1 --port N --production`` in this process, offline:
Solara's browser assets come from the installed ``solara-assets`` package, telemetry and the
version check are off, and no browser is opened. A bad argument gives one line on stderr and
exit code 2; a port already in use gives one line and exit code 1.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence

DEFAULT_PORT = 8765
HOST = "127.0.0.1"
APP = "analysis.dashboard.app"
CULL_TIMEOUT = "15m"
USAGE = "usage: cxsim dashboard [dashboard.port=N]   (N: an integer in [1024, 65535], default 8765)"


class UsageError(ValueError):
    """A bad command-line argument (one line, exit code 2)."""


def parse_port(args: Sequence[str]) -> int:
    """The port from ``dashboard.port=N`` (the last one wins), default 8765."""
    port = DEFAULT_PORT
    for arg in args:
        key, sep, value = arg.partition("=")
        if key.lstrip("+") != "dashboard.port" or not sep:
            raise UsageError(f"unknown argument {arg!r}: allowed dashboard.port=N")
        try:
            port = int(value)
        except ValueError:
            raise UsageError(
                f"invalid dashboard.port={value!r}: allowed an integer in [1024, 65535]"
            ) from None
        if not 1024 <= port <= 65535:
            raise UsageError(f"invalid dashboard.port={port}: allowed an integer in [1024, 65535]")
    return port


def port_free(port: int, host: str = HOST) -> bool:
    """Whether a server can listen on ``host:port`` (closed connections in TIME_WAIT do not count,
    as for uvicorn, which sets SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def solara_args(port: int) -> list[str]:
    return [
        "run",
        APP,
        "--host",
        HOST,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


def cli(args: Sequence[str]) -> int:
    """Serve the dashboard until interrupted; returns the exit code."""
    args = list(args)
    if any(a in ("-h", "--help", "help") for a in args):
        print(USAGE)
        return 0
    try:
        port = parse_port(args)
    except UsageError as exc:
        print(f"cxsim dashboard: error: {exc}", file=sys.stderr)
        return 2
    if not port_free(port):
        print(
            f"cxsim dashboard: error: port {port} on {HOST} is in use: choose another with dashboard.port=N",
            file=sys.stderr,
        )
        return 1
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = (
        "False"  # read when solara's settings are imported
    )
    os.environ.setdefault("MPLBACKEND", "Agg")
    # a tab that vanished without closing (a crashed browser, a sleeping laptop) keeps its
    # session for this long, then its memory is freed (Solara's default is 24 hours)
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", CULL_TIMEOUT)
    os.environ["SOLARA_THEME_SHOW_BANNER"] = "False"  # the framework's badge would cover the charts
    from solara.__main__ import cli as solara_cli
    from solara.server import settings

    settings.telemetry.mixpanel_enable = False  # in case solara was imported before
    print(f"cxsim dashboard: serving on http://{HOST}:{port}  (Ctrl+C stops it)", flush=True)
    try:
        solara_cli.main(args=solara_args(port), prog_name="solara", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
