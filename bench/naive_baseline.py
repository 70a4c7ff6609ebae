"""The log parser a user writes in 15 minutes: the baseline MMDash's parser is measured against.

    python bench/naive_baseline.py LOG

One ``re.search`` per line for the train header, one ``re.findall`` for the ``key: value`` fields,
a dict per record, a list of dicts, ``pd.DataFrame(records)`` at the end. It is meant to be honest:
compiled patterns, a plain ``for line in f`` loop, no deliberate slowness.
"""

from __future__ import annotations

import re
import sys

import pandas as pd

TRAIN = re.compile(r"Iter\(train\) \[\s*(\d+)/(\d+)\]|Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/(\d+)\]")
# key: value pairs; an eta may read "1 day, 8:39:30".
FIELD = re.compile(r"([A-Za-z_][\w./]*): (\d+ days?, [\d:]+|\S+)")


def load_train_records(path: str) -> pd.DataFrame:
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = TRAIN.search(line)
            if m is None:
                continue
            if m.group(1) is not None:
                rec = {"iter": int(m.group(1)), "max_iters": int(m.group(2))}
            else:
                rec = {"epoch": int(m.group(3)), "iter": int(m.group(4)), "iters_per_epoch": int(m.group(5))}
            rec["timestamp"] = line[: m.start()].split(" - ", 1)[0]
            for key, value in FIELD.findall(line, m.end()):
                try:
                    rec[key] = float(value)
                except ValueError:
                    rec[key] = value
            records.append(rec)
    return pd.DataFrame(records)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python bench/naive_baseline.py LOG", file=sys.stderr)
        return 2
    df = load_train_records(argv[0])
    print(f"{len(df):,} train records, {len(df.columns)} columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
