"""``python -m dashboard report|tail|replay``: the dashboard's command line (a documented contract).

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``.
Errors print one line ``error: ...`` on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib

COMMANDS = {
    "report": ("dashboard.cli.report", "analyse logs: progress, ETA, throughput, epochs, iteration audit, health"),
    "tail": ("dashboard.cli.tail", "follow a log or a log root like tail -f, one line per new record"),
    "replay": ("dashboard.live.replay", "write a real log into a file at its own pace, to demo or test live views"),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dashboard", description="MMDash command line")
    sub = ap.add_subparsers(dest="cmd", required=True)
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:  # a subcommand whose module is not there yet
            if e.name != module_name:
                raise
            continue
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = ap.parse_args(argv)
    return modules[args.cmd].run(args)
