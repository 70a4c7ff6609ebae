"""Log roots: configuration precedence, labels, and the allowed-root check the dashboard relies on."""

from __future__ import annotations

import argparse
import os

import pytest

from dashboard.live.roots import (
    DEFAULT_ROOT,
    ENV_ROOTS,
    LogRoot,
    UnsafePath,
    add_root_arguments,
    configured_roots,
    make_roots,
    resolve_source_id,
    resolve_under_root,
    root_problem,
    roots_from_args,
    split_source_id,
)


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "logs"
    (r / "wd" / "20240101_000000").mkdir(parents=True)
    (r / "wd" / "20240101_000000" / "20240101_000000.log").write_text("x\n")
    (r / "a.log").write_text("x\n")
    return r


def test_command_line_roots_win_over_environment(tmp_path):
    env = {ENV_ROOTS: str(tmp_path / "from_env")}
    roots = configured_roots([tmp_path / "from_cli"], environ=env)
    assert [r.path for r in roots] == [str(tmp_path / "from_cli")]


def test_environment_roots_are_pathsep_separated(tmp_path):
    env = {ENV_ROOTS: os.pathsep.join([str(tmp_path / "a"), "", str(tmp_path / "b")])}
    assert [r.label for r in configured_roots(None, environ=env)] == ["a", "b"]


def test_default_root_is_the_bundled_sample_logs():
    assert [r.path for r in configured_roots(None, environ={})] == [str(DEFAULT_ROOT)]
    assert DEFAULT_ROOT.name == "sample_logs"


def test_root_option_parses_repeatedly(tmp_path):
    ap = argparse.ArgumentParser()
    add_root_arguments(ap)
    args = ap.parse_args(["--root", str(tmp_path / "x"), "--root", str(tmp_path / "y")])
    assert [r.label for r in roots_from_args(args, environ={})] == ["x", "y"]


def test_labels_sharing_a_basename_get_numeric_suffixes(tmp_path):
    roots = make_roots([tmp_path / "a" / "logs", tmp_path / "b" / "logs", tmp_path / "c" / "logs"])
    assert [r.label for r in roots] == ["logs", "logs-2", "logs-3"]


def test_the_same_root_given_twice_counts_once(tmp_path):
    assert len(make_roots([tmp_path / "x", str(tmp_path / "x") + "/"])) == 1


def test_source_ids_are_relative_and_use_forward_slashes(tmp_path):
    r = make_roots([tmp_path / "logs"])[0]
    sid = r.source_id(os.path.join("wd", "run.log"))
    assert sid == "logs/wd/run.log"
    assert not os.path.isabs(sid) and str(tmp_path) not in sid


def test_resolve_accepts_a_file_inside_the_root(root):
    got = resolve_under_root(root, "wd/20240101_000000/20240101_000000.log")
    assert got == os.path.realpath(root / "wd" / "20240101_000000" / "20240101_000000.log")


@pytest.mark.parametrize("bad", [
    "/etc/passwd", "../secret.log", "wd/../../secret.log", "a.log\x00.txt", "", "  ", "..", "wd/..",
    "..\\secret.log", "C:\\Windows\\win.ini", "\\\\server\\share",
])
def test_resolve_rejects_paths_that_could_leave_the_root(root, bad):
    with pytest.raises(UnsafePath):
        resolve_under_root(root, bad)


def test_resolve_rejects_a_symlink_that_leaves_the_root(root, tmp_path):
    outside = tmp_path / "outside.log"
    outside.write_text("secret\n")
    (root / "link.log").symlink_to(outside)
    with pytest.raises(UnsafePath):
        resolve_under_root(root, "link.log")


def test_resolve_rejects_a_directory_symlink_that_leaves_the_root(root, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.log").write_text("x\n")
    (root / "dirlink").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePath):
        resolve_under_root(root, "dirlink/x.log")


def test_resolve_accepts_a_symlink_that_stays_inside(root):
    (root / "alias.log").symlink_to(root / "a.log")
    assert resolve_under_root(root, "alias.log") == os.path.realpath(root / "a.log")


def test_a_sibling_with_the_root_as_name_prefix_is_outside(tmp_path):
    """``commonpath``, not ``startswith``: /x/logs2 is not inside /x/logs."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs2").mkdir()
    (tmp_path / "logs2" / "x.log").write_text("x\n")
    (tmp_path / "logs" / "l").symlink_to(tmp_path / "logs2")
    with pytest.raises(UnsafePath):
        resolve_under_root(tmp_path / "logs", "l/x.log")


def test_source_id_round_trip(root):
    roots = make_roots([root])
    assert split_source_id("logs/a.log", roots) == (roots[0], "a.log")
    assert resolve_source_id("logs/a.log", roots) == os.path.realpath(root / "a.log")


@pytest.mark.parametrize("bad", ["nolabel", "other/a.log", "logs/../x", "logs//etc/passwd", "logs/a\x00"])
def test_bad_source_ids_are_rejected(root, bad):
    with pytest.raises(UnsafePath):
        resolve_source_id(bad, make_roots([root]))


def test_missing_root_has_a_clear_message(tmp_path):
    msg = root_problem(LogRoot("gone", str(tmp_path / "gone")))
    assert msg is not None and "does not exist" in msg and "gone" in msg


def test_a_file_is_not_a_root(tmp_path):
    f = tmp_path / "f.log"
    f.write_text("x")
    assert "not a directory" in root_problem(f)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory: permissions cannot be tested as root")
def test_unreadable_root_has_a_clear_message(tmp_path):
    d = tmp_path / "locked"
    d.mkdir()
    d.chmod(0)
    try:
        assert "cannot be read" in root_problem(d)
    finally:
        d.chmod(0o755)


def test_existing_root_has_no_problem(root):
    assert root_problem(root) is None
