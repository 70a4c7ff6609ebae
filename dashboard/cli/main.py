"""``python -m dashboard report|tail|watch|replay|gpu-log``: the dashboard's command line (a documented contract).

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``; only the
module of the subcommand being run is imported (``tail`` alone imports the watcher, ``report`` the analysis).
Errors print one line ``error: ...`` on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "report": ("dashboard.cli.report", "analyse logs: progress, ETA, throughput, epochs, iteration audit, health"),
    "tail": ("dashboard.cli.tail", "follow a log or a log root like tail -f, one line per new record"),
    "watch": ("dashboard.cli.watch", "send alerts (crashed, stalled, NaN, finished, thresholds) through Apprise"),
    "replay": ("dashboard.live.replay", "write a real log into a file at its own pace, to demo or test live views"),
    "gpu-log": ("dashboard.cli.gpu_log", "sample every GPU (NVML) into nvidia-smi's CSV, to run beside training"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = argparse.ArgumentParser(prog="python -m dashboard", description="MMDash command line")
    sub = ap.add_subparsers(dest="cmd", required=True)
    # The top-level parser has no options of its own but -h: the first word that is not an option names the
    # subcommand, and only that one's module is imported to add its arguments.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    module = None
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
    args = ap.parse_args(argv)
    if module is None or args.cmd != chosen:  # not reached: parse_args took the first word as the subcommand
        module = importlib.import_module(COMMANDS[args.cmd][0])
    return module.run(args)
