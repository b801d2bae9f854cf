"""``synlib new-study``: the plan it writes loads, has no trap of another dataset, and builds alone."""

from __future__ import annotations

import pytest
import yaml

from synlib import book, paths
from synlib.__main__ import main
from synlib.new_study import plan_text, write_plan
from synlib.plan import PlanError, load_plan
from synlib.runner import run_plans

from conftest import copy_book_sources


def _shoulder_missing() -> bool:
    return not any((root / "rmr-solver-shoulder").is_dir() for root in paths.data_search_path())


def test_plan_text_refuses_a_bad_name_or_activation():
    with pytest.raises(PlanError, match="study name 'my lab'"):
        plan_text("my lab", "shoulder")
    with pytest.raises(PlanError, match="activations \\['relu', 'elu'\\]"):
        plan_text("mylab", "shoulder", activations=["relu", "elu"])


def test_written_plan_loads_and_keeps_to_its_own_dataset(tmp_path, capsys):
    assert main(["new-study", "mylab", "--dataset", "simulated", "--folder", str(tmp_path), "--pre-cut",
                 "--activations", "relu,tanh"]) == 0
    assert "python -m synlib check" in capsys.readouterr().err
    plan = load_plan(tmp_path / "mylab.yml")
    data = yaml.safe_load((tmp_path / "mylab.yml").read_text())
    assert set(data["book"]) == {"part"}, "no narrative page of another part"
    assert data["parameters"]["preprocess"] == {"segmentation": "whole", "tonic": "none"}
    assert data["parameters"]["interpretability"] == "consistency"   # 15 participants
    ids = [r.id for r in plan.runs]
    assert ids[:3] == ["00_data", "01_preprocessing", "02_nmf"] and ids[-1] == "04_tradeoff"
    assert sorted(i for i in ids if i.startswith("03_")) == ["03_ae_relu_relu", "03_ae_relu_tanh",
                                                            "03_ae_tanh_relu", "03_ae_tanh_tanh"]
    assert "smoke" in plan.profiles
    # an existing plan is kept, a wrong dataset is named
    assert main(["new-study", "mylab", "--dataset", "simulated", "--folder", str(tmp_path)]) == 2
    assert "exists; choose another name or pass --force" in capsys.readouterr().err
    with pytest.raises(PlanError, match="dataset '/no/such/folder': unknown dataset"):
        write_plan("other", "/no/such/folder", folder=tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(_shoulder_missing(), reason="the shoulder recordings (rmr-solver-shoulder) are not in the "
                                                "data search path")
def test_a_new_study_on_the_shoulder_recordings_builds_alone(tmp_path, monkeypatch):
    source = copy_book_sources(tmp_path)
    for var, value in {"SYNLIB_RESULTS": tmp_path / "results", "SYNLIB_CACHE": tmp_path / "cache",
                       "SYNLIB_GENERATED": source / "_generated"}.items():
        monkeypatch.setenv(var, str(value))
    # four pairs (the paper's among them) instead of sixteen keep the test short; the plan is otherwise
    # the command's
    path = write_plan("myshoulder", "shoulder", folder=tmp_path, activations=["relu", "tanh"])
    plan = load_plan(path)
    run_plans([plan], overrides=[plan.profiles["smoke"]], jobs=2)
    html = book.build([plan], source=source, output=tmp_path)
    about = (html / "_generated" / "myshoulder" / "about.html").read_text()
    for fact in ("participants", "14: AD (anterior deltoid)", "abd-unloaded", "3 per condition", "1000 Hz",
                 "CC BY 4.0", "interpretability", "nmf_similarity"):
        assert fact in about, fact
    intro = (html / "intro.html").read_text()
    assert "Myshoulder" in intro and "A simulated cohort" not in intro, "the introduction lists this build's parts"
    for run in plan.runs:
        assert (html / "_generated" / "myshoulder" / f"{run.id}.html").exists(), run.id


def test_a_copied_plan_that_keeps_another_parts_page_is_refused_with_the_reason(tmp_path):
    shoulder = yaml.safe_load((paths.STUDIES / "shoulder.yml").read_text())
    shoulder.update(name="mylab", title="My lab")
    (tmp_path / "mylab.yml").write_text(yaml.safe_dump(shoulder))
    plan = load_plan(tmp_path / "mylab.yml")
    with pytest.raises(PlanError, match="names page 'shoulder', which shows results of the study 'shoulder'.*"
                                        "remove 'shoulder' from before"):
        book.check_book_section(plan, [plan])
    plan.book["pages"] = ["x"]
    with pytest.raises(PlanError, match="book: unknown key\\(s\\) \\['pages'\\]; allowed: part"):
        book.check_book_section(plan, [plan])
