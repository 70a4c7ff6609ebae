"""The benchmark's big-log generator (``tools/gen_logs``): exact, deterministic, and every line one the parser knows."""

from __future__ import annotations

from parsers import parse_bytes
from tools.gen_logs import RUN_KINDS, extra_lines, write_log

LINES = 6000  # enough for every run kind to reach its train lines


def test_the_log_has_exactly_the_lines_asked_for_and_the_same_bytes_for_the_same_seed(tmp_path):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    size = write_log(a, LINES, 3)
    write_log(b, LINES, 3)
    data = a.read_bytes()
    assert (data.count(b"\n"), len(data), data) == (LINES, size, b.read_bytes())


def test_another_seed_gives_another_log(tmp_path):
    write_log(tmp_path / "a.log", LINES, 0)
    write_log(tmp_path / "b.log", LINES, 1)
    assert (tmp_path / "a.log").read_bytes() != (tmp_path / "b.log").read_bytes()


def test_the_log_parses_as_one_run_per_kind_with_no_unparsed_line(tmp_path):
    write_log(tmp_path / "a.log", LINES, 0)
    parsed = parse_bytes((tmp_path / "a.log").read_bytes())
    assert len(parsed.runs) == len(RUN_KINDS) == 4
    assert parsed.unparsed_count == 0
    assert all(len(run.train) for run in parsed.runs)
    last = parsed.runs[-1].train
    assert last.iters[-1] < last.max_iters[-1]  # the last run is still training: extra_lines continue it


def test_extra_lines_continue_the_last_run(tmp_path):
    write_log(tmp_path / "a.log", LINES, 0)
    more = "\n".join(extra_lines(LINES, 0, 50)) + "\n"
    parsed = parse_bytes((tmp_path / "a.log").read_bytes() + more.encode())
    assert len(parsed.runs) == 4
    assert len(parsed.runs[-1].train) > len(parse_bytes((tmp_path / "a.log").read_bytes()).runs[-1].train)
