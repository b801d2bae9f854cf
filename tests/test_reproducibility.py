"""Running the default study twice from a clean tree gives the same bytes and the same glued numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synlib import paths
from synlib.plan import load_plan
from synlib.runner import run_plan

pytestmark = pytest.mark.slow

# the chain from raw EMG to the trade-off, with two of the sixteen activation pairs
REDUCED = ["01_preprocessing", "02_nmf", "03_ae_relu_tanh", "03_ae_linear_linear", "04_tradeoff"]


def _glued(notebook: Path) -> dict[str, str]:
    """Every value a notebook glued, as the text the book would show."""
    values = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook", {})
            if "name" in record:
                text = output["data"].get(record.get("mime_prefix", "") + "text/plain", "")
                values[record["name"]] = "".join(text)
    return values


def _run_clean(root: Path) -> tuple[dict[str, bytes], dict[str, dict[str, str]]]:
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("SYNLIB_RESULTS", "results"), ("SYNLIB_CACHE", "cache"), ("SYNLIB_GENERATED", "generated")):
            mp.setenv(var, str(root / sub))
        plan = load_plan(paths.STUDIES / "simulated.yml")
        run_plan(plan, only=REDUCED, overrides=plan.profiles["smoke"])
        tables = {p.name: p.read_bytes() for p in sorted(paths.results_dir(plan.name).iterdir()) if p.is_file()}
        glued = {p.stem: _glued(p) for p in sorted((paths.generated_root() / plan.name).glob("*.ipynb"))}
    return tables, glued


def test_two_clean_runs_are_identical(tmp_path):
    tables_a, glued_a = _run_clean(tmp_path / "a")
    tables_b, glued_b = _run_clean(tmp_path / "b")
    assert tables_a, "the study wrote no result files"
    assert sorted(tables_a) == sorted(tables_b)
    differing = [name for name in tables_a if tables_a[name] != tables_b[name]]
    assert not differing, f"result files differ between two runs with the same seed: {differing}"
    assert any(glued_a.values()), "the study glued no numbers"
    assert glued_a == glued_b
