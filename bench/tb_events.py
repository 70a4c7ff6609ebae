"""Write a run's scalars as TensorBoard event files (issue 18's comparison; never a project dependency).

    /tmp/tbvenv/bin/python bench/tb_events.py SCALARS.npz LOGDIR

Runs in a separate virtualenv that has ``tensorboard`` (``bench_big_start.py`` makes it under /tmp and calls this).
``SCALARS.npz`` holds, per run ``k``, ``run{k}.step`` and ``run{k}.<field>`` arrays (written by ``bench_big_start``
from the parsed log, so TensorBoard shows the very values the dashboard shows); each run becomes the folder
``LOGDIR/run{k}`` with one event per step holding every field as a scalar (``simple_value``), written with
TensorBoard's own ``EventFileWriter``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter


def main(argv: list[str]) -> int:
    data = np.load(argv[0])
    logdir = Path(argv[1])
    runs = sorted({key.split(".", 1)[0] for key in data.files})
    t0 = time.time()
    total = 0
    for run in runs:
        steps = data[f"{run}.step"]
        fields = sorted(k.split(".", 1)[1] for k in data.files if k.startswith(run + ".") and k != f"{run}.step")
        columns = [(name, data[f"{run}.{name}"].astype(float).tolist()) for name in fields]
        writer = EventFileWriter(str(logdir / run), max_queue_size=4096, flush_secs=30)
        wall = t0
        for i, step in enumerate(steps.tolist()):
            values = [Summary.Value(tag=name, simple_value=col[i]) for name, col in columns if col[i] == col[i]]
            wall += 1.0
            writer.add_event(Event(wall_time=wall, step=int(step), summary=Summary(value=values)))
        writer.close()
        total += len(steps)
        print(f"{run}: {len(steps)} steps, fields {fields}", flush=True)
    print(f"{total} events written to {logdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
