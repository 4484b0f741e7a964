"""``vppsim serve``: the command line side of the interactive page (light imports only).

The page itself (:mod:`scenarios.serve`, :mod:`scenarios.serve_app`) imports Mesa's
visualisation, Solara and matplotlib; this module only parses arguments and starts
the Solara server in a subprocess, so every other ``vppsim`` command stays fast.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from typing import Any

# The page's scale choices: "file" keeps the scenario's own scale; numbers replace it.
SCALES = ("file", "1", "10", "100")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def server_command(host: str, port: int) -> list[str]:
    """The command that serves the page (Solara in production mode: no reloader, no browser)."""
    return [sys.executable, "-m", "solara", "run", "scenarios.serve_app", "--host", host, "--port", str(port),
            "--production", "--no-open", "--log-level", "warning"]


def viz_missing() -> str | None:
    """Why the page cannot be served here (None: it can)."""
    import importlib.util

    for mod in ("solara", "mesa.visualization"):
        try:
            if importlib.util.find_spec(mod) is None:
                return f"{mod} is not installed: pip install 'vppsim[viz]'"
        except ImportError:
            return f"{mod} is not installed: pip install 'vppsim[viz]'"
    return None


def _cmd_serve(args: argparse.Namespace) -> int:
    from .base import ScenarioError
    from .schema import resolve

    why = viz_missing()
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 2
    resolve(args.scenario)  # a bad name is bad input before the server starts
    if args.scale not in SCALES:
        raise ScenarioError(f"--scale must be one of {', '.join(SCALES)}")
    port = args.port or free_port(args.host)
    env = {**os.environ, "VPPSIM_SERVE_SCENARIO": args.scenario, "VPPSIM_SERVE_SCALE": args.scale}
    print(f"vppsim serve: http://{args.host}:{port}/  ({args.scenario}; Ctrl-C stops)", flush=True)
    try:
        return subprocess.call(server_command(args.host, port), env=env)
    except KeyboardInterrupt:
        return 0


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``vppsim serve`` to the CLI's subparsers (``scenarios.cli.build_parser`` calls it)."""
    s = subparsers.add_parser("serve", help="interactive page of a scenario's day in the browser (vppsim[viz])")
    s.add_argument("scenario", nargs="?", default="three_parks_560", help="scenario file or bundled name")
    s.add_argument("--scale", default="file", choices=SCALES, help="initial scale (the page can change it)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0, help="default: a free port")
    s.set_defaults(func=_cmd_serve)
    return s


