"""Which plotly.js the charts and the HTML report get (``dashboard.charts.plotly_js``): the basic bundle that
``npm ci`` installs, else the plotly package's full bundle with the reason. The page loading it is
``tests/e2e/test_plotly_bundle_e2e.py``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs_version

from dashboard.charts import plotly_js
from dashboard.charts.plotly_js import BASIC_FILE, BASIC_PACKAGE, choose

from .conftest import ROOT

MAJOR = get_plotlyjs_version().split(".")[0]


def install(root: Path, version: str, body: str = "/* plotly.js (basic - minified) */ var Plotly = {};") -> Path:
    """A ``node_modules/plotly.js-basic-dist-min`` as npm lays it out, under ``root``."""
    folder = root / "node_modules" / BASIC_PACKAGE
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": BASIC_PACKAGE, "version": version}))
    (folder / BASIC_FILE).write_text(body)
    return folder


def test_the_installed_basic_bundle_is_chosen(tmp_path: Path):
    folder = install(tmp_path, f"{MAJOR}.99.1")
    js = choose(tmp_path)
    assert (js.kind, js.version, js.path, js.name) == ("basic", f"{MAJOR}.99.1", folder / BASIC_FILE, BASIC_FILE)
    assert js.folder == folder
    assert "basic bundle" in js.note and f"{MAJOR}.99.1" in js.note


def test_without_npm_ci_the_full_bundle_of_the_plotly_package_with_the_reason(tmp_path: Path):
    js = choose(tmp_path)
    assert js.kind == "full" and js.path.name == "plotly.min.js" and js.path.is_file()
    assert js.version == get_plotlyjs_version()
    assert "full bundle" in js.note and "not installed" in js.note and "npm ci" in js.note


@pytest.mark.parametrize(("case", "reason"), [
    ("other major", "is not plotly.js"),
    ("empty file", "is empty"),
    ("bad package.json", "unreadable"),
    ("no file", "not installed"),
])
def test_a_basic_bundle_that_cannot_serve_falls_back_to_the_full_one(tmp_path: Path, case: str, reason: str):
    folder = install(tmp_path, f"{int(MAJOR) - 1}.35.0" if case == "other major" else f"{MAJOR}.7.0",
                     body="" if case == "empty file" else "var Plotly = {};")
    if case == "bad package.json":
        (folder / "package.json").write_text("{not json")
    if case == "no file":
        (folder / BASIC_FILE).unlink()
    js = choose(tmp_path)
    assert js.kind == "full" and js.path.name == "plotly.min.js"
    assert reason in js.note, js.note


def test_package_json_pins_the_basic_bundle_and_the_lock_has_its_exact_version():
    declared = json.loads((ROOT / "package.json").read_text())["dependencies"][BASIC_PACKAGE]
    assert declared.startswith(("^", "~")) and declared.lstrip("^~").split(".")[0] == MAJOR
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"][f"node_modules/{BASIC_PACKAGE}"]
    assert locked["version"].split(".")[0] == MAJOR and locked["integrity"].startswith("sha512-")
    assert "node_modules/" in (ROOT / ".gitignore").read_text().split()


def test_this_checkout_serves_what_npm_ci_installed():
    if not (ROOT / "node_modules" / BASIC_PACKAGE).is_dir():
        # CI (``.ci/run``) says the basic bundle must be there: `make test` runs `npm ci`, and a failed install
        # fails here instead of passing quietly on the fallback.
        assert not os.environ.get("MMDASH_REQUIRE_BASIC_BUNDLE"), "npm ci did not install plotly.js's basic bundle"
        pytest.skip("node_modules is absent (no `npm ci` here): the full bundle is served")
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"][f"node_modules/{BASIC_PACKAGE}"]
    js = plotly_js.served()
    assert (js.kind, js.version) == ("basic", locked["version"])
    assert js.path.read_text(encoding="utf-8", errors="replace")[:200].find(f"v{locked['version']}") > 0
