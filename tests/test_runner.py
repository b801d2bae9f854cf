"""The study runner: plans, parameter checks, caching, failure isolation, publishing, parallel runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from synlib import paths
from synlib.plan import PlanError, load_plan
from synlib.runner import RunFailed, notebook_parameters, run_plan

FIXTURES = Path(__file__).parent / "runner_fixtures"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A private results, cache and generated folder, and a copy of the fixture plan."""
    for var, sub in (("SYNLIB_RESULTS", "results"), ("SYNLIB_CACHE", "cache"), ("SYNLIB_GENERATED", "generated")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    plan_dir = tmp_path / "plan"
    shutil.copytree(FIXTURES, plan_dir)
    return plan_dir


def test_plan_expands_matrix_and_resolves_needs(workspace):
    plan = load_plan(workspace / "plan.yml")
    assert [r.id for r in plan.runs] == ["square_2", "square_3", "total"]
    assert plan.runs[0].parameters == {"value": 2}
    assert plan.runs[0].common == {"study": "runner-test"}
    assert plan.runs[0].group == "Squares"


def test_notebook_parameters_reads_the_tagged_cell():
    assert notebook_parameters(FIXTURES / "square.py") == {"study": "runner-test", "value": 2, "fail": False}


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\nruns: []\n", "lists no runs"),
        ("name: x\nrunz: []\n", r"unknown key\(s\) \[.runz. \(did you mean .runs.\?\)\]"),
        ("name: x\nruns:\n  - id: a\n    notebook: nowhere.py\n", "not found"),
        ("name: x\nruns:\n  - id: a\n    notebook: square.py\n    matrix: {value: []}\n",
         r"bad.yml: runs\[0\]\.matrix\.value: \[\] is not allowed: \[\] should be non-empty"),
        ("name: x\nruns:\n  - notebook: square.py\n", r"runs\[0\]: missing key 'id' \(the run's name"),
        ("name: x\nruns:\n  - {id: a, notebook: square.py, needs: b}\n", r"runs\[0\]\.needs: 'b' is not allowed"),
        ("name: x\nruns:\n  - id: a\n    notebook: square.py\n    needs: [b]\n", "matches no run"),
        ("name: ../x\nruns:\n  - id: a\n    notebook: square.py\n", "plain folder name"),
        ("name: x\nruns:\n  - id: a\n    notebook: square.py\n    needs: [a2]\n"
         "  - id: a2\n    notebook: square.py\n    needs: [a]\n", "cycle"),
    ],
)
def test_bad_plans_are_refused_with_a_reason(workspace, text, message):
    path = workspace / "bad.yml"
    path.write_text(text)
    with pytest.raises(PlanError, match=message):
        load_plan(path)


def test_run_publishes_and_second_run_skips(workspace):
    plan = load_plan(workspace / "plan.yml")
    first = run_plan(plan)
    assert [s["status"] for s in first] == ["ok", "ok", "ok"]
    total = pd.read_csv(paths.results_dir("runner-test") / "total.csv")
    assert total.loc[0, "total"] == 4 + 9
    for run in ("square_2", "square_3", "total"):
        assert (paths.generated_root() / "runner-test" / f"{run}.ipynb").exists()
    second = run_plan(plan)
    assert [s["status"] for s in second] == ["skipped"] * 3


def test_changed_notebook_reruns_it_and_its_dependants(workspace):
    plan = load_plan(workspace / "plan.yml")
    run_plan(plan)
    notebook = workspace / "total.py"
    notebook.write_text(notebook.read_text() + "\n# %%\nprint('changed')\n")
    statuses = {s["run"]: s["status"] for s in run_plan(load_plan(workspace / "plan.yml"))}
    assert statuses == {"square_2": "skipped", "square_3": "skipped", "total": "ok"}


def test_failure_is_reported_kept_apart_and_never_published(workspace):
    plan = load_plan(workspace / "plan.yml")
    run_plan(plan)
    published = paths.generated_root() / "runner-test" / "square_2.ipynb"
    before = published.read_bytes()
    with pytest.raises(RunFailed) as info:
        run_plan(plan, only=["square_2"], overrides={"fail": True})
    message = str(info.value)
    assert "square_2" in message and "square.py" in message
    assert "asked to fail with value=2" in message
    assert '"fail": true' in message
    assert published.read_bytes() == before, "the earlier successful page must stay untouched"
    assert (paths.cache_dir() / "failed" / "runner-test" / "square_2.ipynb").exists()
    assert not list((paths.generated_root() / "runner-test").glob(".*.tmp"))


def test_dependants_of_a_failed_run_do_not_run(workspace):
    plan = load_plan(workspace / "plan.yml")
    with pytest.raises(RunFailed, match="not run: a run it needs failed"):
        run_plan(plan, overrides={"fail": True})
    assert not (paths.generated_root() / "runner-test" / "total.ipynb").exists()


def test_override_changes_the_result_and_typos_are_refused(workspace):
    plan = load_plan(workspace / "plan.yml")
    run_plan(plan, only=["square_2"], overrides={"value": 5})
    assert (paths.results_dir("runner-test") / "square_5.csv").exists()
    with pytest.raises(PlanError, match=r"\['valeu'\] are taken by none"):
        run_plan(plan, overrides={"valeu": 5})


def test_parameter_missing_from_the_notebook_is_refused(workspace):
    plan_file = workspace / "plan.yml"
    original = plan_file.read_text()
    plan_file.write_text(original.replace("    group: Squares", "    group: Squares\n    parameters: {colour: red}"))
    with pytest.raises(PlanError, match="colour.*not in the parameters cell of square.py"):
        run_plan(load_plan(plan_file))
    plan_file.write_text(original.replace("parameters: {}", "parameters: {colour: red}"))
    with pytest.raises(PlanError, match=r"plan parameters \['colour'\] are declared by none"):
        run_plan(load_plan(plan_file))


@pytest.mark.slow
def test_dask_cluster_gives_the_same_results_as_a_serial_run(workspace, tmp_path, monkeypatch):
    plan = load_plan(workspace / "plan.yml")
    run_plan(plan)
    serial = {p.name: p.read_bytes() for p in paths.results_dir("runner-test").glob("*.csv")}
    monkeypatch.setenv("SYNLIB_RESULTS", str(tmp_path / "parallel"))
    monkeypatch.setenv("SYNLIB_CACHE", str(tmp_path / "cache2"))
    summaries = run_plan(plan, jobs=2)
    assert sorted(s["status"] for s in summaries) == ["ok"] * 3
    parallel = {p.name: p.read_bytes() for p in paths.results_dir("runner-test").glob("*.csv")}
    assert parallel == serial


def test_command_line_exits_non_zero_naming_the_failed_notebook(workspace):
    env_command = [sys.executable, "-m", "synlib", "run", str(workspace / "plan.yml"), "-p", "fail", "true"]
    completed = subprocess.run(env_command, capture_output=True, text=True)
    assert completed.returncode == 1
    assert "square_2 (square.py)" in completed.stderr
    assert "ValueError: asked to fail" in completed.stderr


def test_command_line_help_shows_examples():
    completed = subprocess.run([sys.executable, "-m", "synlib", "run", "--help"], capture_output=True, text=True)
    assert completed.returncode == 0
    assert "examples:" in completed.stdout and "--profile smoke" in completed.stdout


def test_unwritable_output_gives_a_clear_error(workspace, tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    monkeypatch.setenv("SYNLIB_CACHE", str(blocked / "cache"))
    with pytest.raises(OSError, match="cannot create the runner's staging folder"):
        run_plan(load_plan(workspace / "plan.yml"))


def test_records_hold_the_key_and_parameters(workspace):
    plan = load_plan(workspace / "plan.yml")
    run_plan(plan, only=["square_*"])
    record = json.loads((paths.cache_dir() / "runs" / "runner-test" / "square_3.json").read_text())
    assert record["parameters"] == {"study": "runner-test", "value": 3, }
    assert len(record["key"]) == 64


def _second_plan(workspace: Path, name: str = "runner-second") -> Path:
    """The fixture plan under another name, writing its own results."""
    text = (workspace / "plan.yml").read_text()
    text = text.replace("name: runner-test", f"name: {name}").replace("parameters: {}", f"parameters: {{study: {name}}}")
    path = workspace / f"{name}.yml"
    path.write_text(text)
    return path


def _scheduling(workspace):
    from synlib.runner import _Queue, make_jobs

    first, second = load_plan(workspace / "plan.yml"), load_plan(_second_plan(workspace))
    jobs = {plan.name: {j.run_id: j for j in make_jobs(plan, plan.runs, {})} for plan in (first, second)}
    return _Queue([first, second], [*jobs["runner-test"].values(), *jobs["runner-second"].values()]), jobs


def test_a_run_alone_in_its_plan_gets_every_core_and_later_plans_wait_for_it(workspace):
    from synlib.runner import _threads_to_start

    queue, jobs = _scheduling(workspace)
    first, later = jobs["runner-test"], jobs["runner-second"]
    total = first["total"]
    # two ready runs of the first plan share the cores; the later plan waits for a free one
    starts = _threads_to_start(queue, queue.ready(), [], cores=2, workers=2, threads_in_use=0)
    assert [(j.plan, j.run_id, t) for j, t in starts] == [("runner-test", "square_2", 1), ("runner-test", "square_3", 1)]
    # a run that is alone in the first plan gets both cores, however many later runs are ready
    assert _threads_to_start(queue, [total, *later.values()], [], 2, 2, 0) == [(total, 2)]
    # ... and when a later plan's run holds a core, it waits for it rather than run on one
    assert _threads_to_start(queue, [total, later["square_2"]], [later["square_3"]], 2, 2, 1) == []
    # a later plan's run takes a core that no earlier run wants
    assert _threads_to_start(queue, [later["square_2"]], [first["square_2"]], 2, 2, 1) == [(later["square_2"], 1)]
    # no core is handed out twice, unless asked for more workers than cores
    assert _threads_to_start(queue, [later["square_2"]], [total], 2, 2, 2) == []
    assert _threads_to_start(queue, [later["square_2"]], [total], 2, 3, 2) == [(later["square_2"], 1)]


def test_queue_blocks_what_needs_a_failed_run_in_its_own_plan_only(workspace):
    queue, jobs = _scheduling(workspace)
    failing = jobs["runner-test"]["square_2"]
    queue.start(failing)
    blocked = queue.finish(failing, {"status": "failed"})
    assert [(j.plan, j.run_id) for j in blocked] == [("runner-test", "total")]
    assert ("runner-second", "total") in queue.pending


def test_several_plans_run_as_one_workload(workspace, capsys):
    from synlib.__main__ import main

    second = _second_plan(workspace)
    code = main(["run", str(workspace / "plan.yml"), str(second), "-p", "fail", "false"])
    assert code == 0
    err = capsys.readouterr().err
    assert "study 'runner-test': 3 executed" in err and "study 'runner-second': 3 executed" in err
    assert f"results in {paths.results_dir('runner-second')}" in err   # where they are, not the default
    for study in ("runner-test", "runner-second"):
        assert pd.read_csv(paths.results_dir(study) / "total.csv")["total"].tolist() == [13]


def test_a_failing_plan_does_not_stop_the_others(workspace):
    from synlib.runner import run_plans

    first, second = load_plan(workspace / "plan.yml"), load_plan(_second_plan(workspace))
    with pytest.raises(RunFailed, match="of study 'runner-test' failed") as failure:
        run_plans([first, second], overrides=[{"fail": True}, {}])
    statuses = {name: sorted(s["status"] for s in runs) for name, runs in failure.value.summaries.items()}
    assert statuses == {"runner-test": ["failed"] * 3, "runner-second": ["ok"] * 3}
    with pytest.raises(PlanError, match="distinct names"):
        run_plans([first, first])


def test_a_forks_own_step_enters_the_cache_key_by_its_source(tmp_path, monkeypatch):
    from synlib.runner import steps_digest

    monkeypatch.syspath_prepend(str(tmp_path))
    module = tmp_path / "lab_step_for_key.py"
    module.write_text("STEP = 1\n")
    parameters = {"preprocess": {"insert_steps": [{"after": "filter", "step": "lab_step_for_key:STEP"}]}}
    first = steps_digest(parameters)
    assert steps_digest(parameters) == first
    module.write_text("STEP = 2\n")
    assert steps_digest(parameters) != first
    assert steps_digest({"preprocess": {}}) == steps_digest({}) == steps_digest({"preprocess": None})
    missing = {"preprocess": {"insert_steps": [{"after": "filter", "step": "no_such_lab_module:STEP"}]}}
    assert steps_digest(missing) not in (first, steps_digest({}))


def test_empty_sections_of_a_plan_read_as_none(workspace):
    path = workspace / "empty.yml"
    path.write_text("name: 2024\nparameters:\nprofiles:\nbook:\nruns:\n  - id: a\n    notebook: square.py\n"
                    "    needs:\n    matrix:\n    parameters:\n")
    plan = load_plan(path)
    assert plan.name == "2024" and [r.id for r in plan.runs] == ["a"] and plan.book == {}
