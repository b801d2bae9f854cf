"""A fork's path: a dataset folder written from arrays runs through every chapter by parameters alone."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from scipy.signal import butter, sosfiltfilt

from conftest import copy_book_sources
from synlib import book, paths
from synlib.data import write_dataset_folder
from synlib.plan import load_plan
from synlib.runner import run_plan

MUSCLES = ["DeltA", "DeltM", "DeltP", "Biceps", "Triceps", "TrapUp"]
FS = 1000.0


def _recordings(seed: int = 0) -> list[dict]:
    """Two participants, two reaching conditions, three repetitions: raw EMG as a lab would export it."""
    rng = np.random.default_rng(seed)
    synergies = np.array([[1.0, 0.6, 0.0, 0.8, 0.1, 0.3], [0.0, 0.3, 1.0, 0.1, 0.9, 0.5]])
    band = butter(4, [20, 400], btype="bandpass", fs=FS, output="sos")
    t = np.arange(int(2.0 * FS)) / FS
    trials = []
    for participant in ("S1", "S2"):
        for c, condition in enumerate(("forward", "sideways")):
            for repetition in (1, 2, 3):
                onset, offset = 0.6 + 0.02 * rng.standard_normal(), 1.4
                phase = np.clip((t - onset) / (offset - onset), 0, 1)
                bursts = np.stack([np.sin(np.pi * phase) ** 2 * (1.0 + c), np.sin(2 * np.pi * phase).clip(0) * (2.0 - c)], 1)
                envelope = 0.05 + bursts @ synergies
                emg = sosfiltfilt(band, rng.standard_normal((t.size, len(MUSCLES))), axis=0) * envelope
                trials.append({"participant": participant, "trial": f"{condition}-{repetition}", "condition": condition,
                               "repetition": repetition, "onset": onset, "offset": offset, "emg": emg})
    return trials


@pytest.mark.slow
def test_a_new_dataset_folder_gets_every_chapter_and_page(tmp_path, monkeypatch):
    folder = write_dataset_folder(_recordings(), tmp_path / "my-lab", name="my-lab", fs=FS, muscles=MUSCLES,
                                  info={"units": "mV", "licence": "CC0-1.0", "citation": "a test"},
                                  file_format="csv")
    shoulder = yaml.safe_load((paths.STUDIES / "shoulder.yml").read_text())
    plan_file = tmp_path / "my-lab.yml"
    plan_file.write_text(yaml.safe_dump({
        "name": "my-lab",
        "title": "A fork's own recordings",
        "parameters": {"dataset": str(folder), "dataset_options": {}, "seed": 0, "test_repetitions": [3]},
        "runs": [{**run, "notebook": run["notebook"]} for run in shoulder["runs"]],
        "book": {"part": "My lab"},
    }))
    source = copy_book_sources(tmp_path)
    for var, value in (("SYNLIB_RESULTS", tmp_path / "results"), ("SYNLIB_CACHE", tmp_path / "cache"),
                       ("SYNLIB_GENERATED", source / "_generated")):
        monkeypatch.setenv(var, str(value))
    plan = load_plan(plan_file)
    summaries = run_plan(plan, overrides={"n_restarts": 2, "max_iter": 50, "training_options": {"warm_steps": 10, "max_passes": 30, "window": 10, "tol": 1000}}, jobs=2)
    assert {s["status"] for s in summaries} == {"ok"}
    for run in plan.runs:
        assert (source / "_generated" / "my-lab" / f"{run.id}.ipynb").exists(), run.id
    tables = {p.name for p in paths.results_dir("my-lab").iterdir()}
    expected = {"envelopes.npz", "envelope_rows.csv", "nmf_fits.csv", "nmf_rank_curve.csv", "nmf_synergies.npz"}
    expected |= {f"ae_fits_{e}_{d}.csv" for e in ("linear", "relu", "sigmoid", "tanh")
                 for d in ("linear", "relu", "sigmoid", "tanh")}
    assert expected <= tables, sorted(expected - tables)
    html = book.build([plan], source=source, output=tmp_path)
    for run in plan.runs:
        page = (html / "_generated" / "my-lab" / f"{run.id}.html").read_text()
        assert "Traceback (most recent call last)" not in page, run.id


def test_no_notebook_special_cases_a_dataset_name():
    from synlib import datasets

    names = set(datasets.available())
    for notebook in paths.NOTEBOOKS.glob("*.py"):
        text = notebook.read_text()
        body = text.split('tags=["parameters"]', 1)[-1].split("\n# %%", 1)[-1]
        for name in names:
            found = re.findall(rf"""["']{re.escape(name)}["']""", body)
            assert not found, f"{notebook.name} names the dataset {name!r} outside its parameters cell"


def test_missing_public_data_stop_the_study_with_one_message(tmp_path, monkeypatch, capsys):
    from synlib.__main__ import main

    for var, value in (("SYNLIB_RESULTS", tmp_path / "r"), ("SYNLIB_CACHE", tmp_path / "c"),
                       ("SYNLIB_GENERATED", tmp_path / "g"), ("SYNLIB_DATA_PATH", tmp_path / "nowhere"),
                       ("SYNLIB_OFFLINE", "1")):
        monkeypatch.setenv(var, str(value))
    assert main(["run", str(paths.STUDIES / "shoulder.yml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("synlib: study 'shoulder' cannot start: dataset 'shoulder' needs 18 public file(s)")
    assert any("SYNLIB_DATA_PATH" in line for line in err)
    assert not any("Traceback" in line for line in err)
    assert not (tmp_path / "g" / "shoulder").exists(), "no notebook may run"


def _plan(tmp_path, parameters: dict):
    plan_file = tmp_path / "check.yml"
    plan_file.write_text(yaml.safe_dump({"name": "check", "title": "t", "parameters": parameters,
                                         "runs": [{"id": "00_data", "notebook": "00_data"}]}))
    return load_plan(plan_file)


def test_check_reports_the_dataset_and_every_problem_at_once(tmp_path):
    from synlib.check import check_plan

    recordings = _recordings()
    folder = write_dataset_folder(recordings, tmp_path / "lab", name="lab", fs=FS, muscles=MUSCLES,
                                  file_format="csv")
    good = check_plan(_plan(tmp_path, {"dataset": str(folder), "dataset_options": {}, "test_repetitions": [3]}))
    assert good.ok, good.problems
    assert good.facts["participants"] == 2 and good.facts["repetitions"] == [1, 2, 3]
    assert good.facts["preprocessed S1"].startswith("600 rows")     # 6 movements × 100 points
    # a held-out repetition the data lack, and a participant whose file is cut short
    broken = next(p for p in folder.rglob("*.csv") if "S2" in p.name or "S2" in str(p.parent))
    broken.write_text("\n".join(broken.read_text().splitlines()[:1]))
    bad = check_plan(_plan(tmp_path, {"dataset": str(folder), "dataset_options": {}, "test_repetitions": [7]}),
                     all_participants=True)
    assert not bad.ok
    text = str(bad)
    assert "held-out repetitions [7]" in text and "participant 'S2'" in text
    assert "preprocessed S1" in bad.facts      # the good participant is still checked
