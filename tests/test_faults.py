"""Faults: an interrupted study run, an unwritable output folder, a full disk.

Each fault must end in a clear one-line message, leave no partial file where a chapter or the
book could read it, and let the next run resume from what had finished.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from synlib import book, paths, results, runner
from synlib.__main__ import main
from synlib.plan import load_plan

FIXTURES = Path(__file__).parent / "runner_fixtures"
FOLDERS = {"SYNLIB_RESULTS": "results", "SYNLIB_CACHE": "cache", "SYNLIB_GENERATED": "generated"}


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Private results, cache and generated folders (also in ``os.environ``) and a copy of the fixtures."""
    for var, sub in FOLDERS.items():
        monkeypatch.setenv(var, str(tmp_path / sub))
    plan_dir = tmp_path / "plan"
    shutil.copytree(FIXTURES, plan_dir)
    return plan_dir


def _partial_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "synlib", *args]


def _default_sigint() -> None:
    # A child inherits an ignored SIGINT (pytest started in the background); Ctrl-C must reach it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# --- interrupting a run -----------------------------------------------------------------------


class _Run:
    """The command-line run of the slow plan, its standard error read line by line as it comes."""

    def __init__(self, command, env, cwd):
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True, preexec_fn=_default_sigint)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.process.stderr), daemon=True)
        self.reader.start()
        self.started = time.monotonic()

    def wait_until(self, ready, what: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready(self):
            if self.process.poll() is not None:
                pytest.fail(f"the run ended before {what}:\n{self.stderr()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout:.0f} s:\n{self.stderr()}")
            time.sleep(0.02)

    def stderr(self) -> str:
        return "".join(self.lines)

    def finish(self, timeout: float = 90.0) -> str:
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.reader.join(timeout=10)
        return self.stderr()


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.2)
    return False


def _logged(text: str, times: int = 1):
    return lambda run: sum(text in line for line in run.lines) >= times


def _file(folder: Path, pattern: str):
    return lambda run: any(folder.glob(pattern))


#: Where a signal lands: what the test waits for before sending it, and the fixture's settings
#: (seconds the slow runs sleep, megabytes each run prints so that publishing its page takes a while).
PHASES = {
    "importing": {"ready": lambda started: lambda run: time.monotonic() - run.started > 0.3, "sleep": 300,
                  "output_mb": 0},
    "cluster start-up": {"ready": lambda started: _logged("3 to run"), "sleep": 300, "output_mb": 0},
    "mid-notebook": {"ready": lambda started: _file(started, "slow_[12].pid"), "sleep": 300, "output_mb": 0},
    "publishing": {"ready": lambda started: _file(started, "done_0"), "sleep": 300, "output_mb": 60},
    "shutdown": {"ready": lambda started: _logged(" done in ", times=3), "sleep": 0, "output_mb": 0},
}


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="signals to process groups and /proc are Linux-only here")
@pytest.mark.parametrize(
    "phase, signame, to_group, jobs",
    [
        # Ctrl-C in a terminal signals the whole process group, kernels and Dask workers included;
        # `kill`, a scheduler or a CI timeout signals the runner process alone
        ("importing", "SIGINT", True, 1),
        ("importing", "SIGTERM", False, 2),
        ("cluster start-up", "SIGINT", True, 2),
        ("cluster start-up", "SIGTERM", False, 2),
        ("mid-notebook", "SIGINT", True, 1),
        ("mid-notebook", "SIGINT", True, 2),
        ("mid-notebook", "SIGTERM", False, 1),
        ("mid-notebook", "SIGTERM", False, 2),
        ("publishing", "SIGINT", True, 1),
        ("publishing", "SIGTERM", False, 2),
        ("shutdown", "SIGINT", True, 2),
        ("shutdown", "SIGTERM", False, 2),
    ],
)
def test_an_interrupt_at_any_point_is_one_line_leaves_no_partial_file_and_resumes(
        workspace, tmp_path, phase, signame, to_group, jobs):
    signum = getattr(signal, signame)
    setting = PHASES[phase]
    started = tmp_path / "started"
    started.mkdir()
    plan = workspace / "slow.yml"
    # Run keys hash the synlib source: a snapshot keeps edits made meanwhile in the checkout from
    # changing them between the interrupted call and the resuming one.
    source = tmp_path / "source"
    shutil.copytree(paths.ROOT / "synlib", source / "synlib", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(source), "SYNLIB_FIXTURE_STARTED": str(started),
           "SYNLIB_FIXTURE_SLEEP": str(setting["sleep"]), "SYNLIB_FIXTURE_OUTPUT_MB": str(setting["output_mb"])}
    command = _command("run", str(plan), "--jobs", str(jobs))
    run = _Run(command, env, tmp_path)
    run.wait_until(setting["ready"](started), f"the {phase} phase")
    # a seeded offset, so that each case lands at its own moment of the phase, the same on every run
    time.sleep(random.Random(f"{phase}-{signame}-{jobs}").uniform(0.0, 0.2))
    (os.killpg if to_group else os.kill)(run.process.pid, signum)
    stderr = run.finish()

    assert run.process.returncode == 128 + signum, stderr
    assert stderr.strip().splitlines()[-1] == (
        f"synlib: interrupted by {signame}; finished runs are kept and the same command resumes from them"
    ), stderr
    assert "Traceback" not in stderr, stderr
    kernels = [int(p.read_text()) for p in started.glob("slow_*.pid")]
    assert all(_gone(pid) for pid in kernels), f"a kernel outlived the runner: {kernels}"

    generated = paths.generated_root() / "slow-test"
    published = sorted(p.stem for p in generated.glob("*.ipynb")) if generated.is_dir() else []
    records = paths.cache_dir() / "runs" / "slow-test"
    finished = sorted(p.stem for p in records.glob("*.json")) if records.is_dir() else []
    assert set(finished) <= set(published), "a run is recorded as finished only once its page is published"
    for name in published:
        nbformat.validate(nbformat.read(generated / f"{name}.ipynb", as_version=4))
    if phase == "importing":
        assert not published
    if phase == "mid-notebook":
        assert published == finished == ["quick"], "only the finished run is published"
    if phase == "shutdown":
        assert finished == ["quick", "slow_1", "slow_2"], "every run had finished before the signal"
    for root in (paths.results_root(), paths.generated_root(), paths.cache_dir()):
        assert not _partial_files(root), f"partial files left in {root}"
    staging = paths.cache_dir() / "staging"
    assert not staging.is_dir() or not any(staging.iterdir()), "the staging folder was not cleaned"

    resumed = subprocess.run(command, env={**env, "SYNLIB_FIXTURE_SLEEP": "0", "SYNLIB_FIXTURE_OUTPUT_MB": "0"},
                             cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{3 - len(finished)} executed, {len(finished)} unchanged and skipped" in resumed.stderr
    assert sorted(p.name for p in paths.results_dir("slow-test").iterdir()) == [
        "slow_0.csv", "slow_1.csv", "slow_2.csv"]
    assert sorted(p.name for p in generated.iterdir()) == ["quick.ipynb", "slow_1.ipynb", "slow_2.ipynb"]


@pytest.mark.parametrize("stage", ["write", "fsync", "replace"])
def test_interrupt_while_writing_a_table_keeps_the_old_one(workspace, monkeypatch, stage):
    old = pd.DataFrame({"x": [1.0, 2.0]})
    path = results.write_table(old, "faults", "table")
    before = path.read_bytes()
    _fail_at(monkeypatch, stage, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        results.write_table(pd.DataFrame({"x": [3.0] * 1000}), "faults", "table")
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["table.csv"]


# --- an unwritable output folder --------------------------------------------------------------


@pytest.mark.parametrize(
    "variable, message",
    [
        pytest.param("SYNLIB_RESULTS", "synlib: cannot create the results folder "
                     "{blocked}/results/runner-test: Not a directory", id="results"),
        pytest.param("SYNLIB_GENERATED", "synlib: cannot create the folder for the book's notebooks "
                     "{blocked}/generated/runner-test: Not a directory", id="generated"),
        pytest.param("SYNLIB_CACHE", "synlib: cannot create the runner's staging folder "
                     "{blocked}/cache/staging: Not a directory", id="cache"),
    ],
)
def test_unwritable_output_folder_fails_at_once_with_one_line(workspace, tmp_path, variable, message):
    # Tests run as root, for whom permissions do not stop a write; a folder below a regular
    # file cannot be created by anyone, so it stands for any folder that cannot be written.
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    env = {**os.environ, variable: str(blocked / variable.removeprefix("SYNLIB_").lower())}
    completed = subprocess.run(_command("run", str(workspace / "plan.yml")), env=env, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 2
    # one line only: no traceback, and no notebook ran ("running ..." would be logged) before the check
    assert completed.stderr.strip().splitlines() == [message.format(blocked=blocked)]


def test_unwritable_book_output_is_refused_before_building(workspace, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    plan = load_plan(workspace / "plan.yml")
    with pytest.raises(OSError, match=f"cannot create the book's output folder {blocked}/out/_build: Not a directory"):
        book.build([plan], source=tmp_path / "book", output=blocked / "out")


# --- a full disk ------------------------------------------------------------------------------


def _enospc() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fail_at(monkeypatch, stage: str, error: BaseException) -> None:
    """Make the ``stage`` of an atomic write raise ``error`` (after writing half the bytes, for "write")."""

    def fail(*args, **kwargs):
        raise error

    if stage == "write":
        real_fdopen = os.fdopen

        def fdopen(fd, *args, **kwargs):
            handle = real_fdopen(fd, *args, **kwargs)

            class HalfWritten:
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    handle.close()

                def write(self, data):
                    handle.write(data[: len(data) // 2])
                    handle.flush()
                    raise error

            return HalfWritten()

        monkeypatch.setattr(results.os, "fdopen", fdopen)
    elif stage == "fsync":
        monkeypatch.setattr(results.os, "fsync", fail)
    else:
        monkeypatch.setattr(results.os, "replace", fail)


@pytest.mark.parametrize("stage", ["write", "fsync"])
def test_full_disk_names_the_file_and_leaves_no_temporary_file(workspace, monkeypatch, stage):
    path = results.write_table(pd.DataFrame({"x": [1.0]}), "faults", "table")
    before = path.read_bytes()
    _fail_at(monkeypatch, stage, _enospc())
    with pytest.raises(OSError, match=f"^cannot write {path}: the disk is full \\(No space left on device\\)"):
        results.write_table(pd.DataFrame({"x": [2.0] * 1000}), "faults", "table")
    assert path.read_bytes() == before, "the earlier table must stay whole"
    assert [p.name for p in path.parent.iterdir()] == ["table.csv"]


def test_full_disk_while_publishing_names_the_notebook_and_leaves_no_temporary_file(workspace, tmp_path, monkeypatch):
    executed = tmp_path / "executed.ipynb"
    executed.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}) * 100)
    output = paths.generated_root() / "faults" / "page.ipynb"
    job = runner.Job(plan="faults", run_id="page", notebook=FIXTURES / "square.py", parameters={},
                     key="0" * 64, output=output)

    def copy_half(source, target):
        Path(target).write_bytes(Path(source).read_bytes()[:100])
        raise _enospc()

    monkeypatch.setattr(runner.shutil, "copyfile", copy_half)
    with pytest.raises(OSError, match=f"^cannot publish page as {output}: the disk is full"):
        runner.publish(executed, job)
    assert list(output.parent.iterdir()) == []
    assert not job.record.exists()


def test_full_disk_from_the_command_line_is_one_line(workspace, monkeypatch, capsys):
    # The notebook's kernel is another process; the runner's own write of its record fails here.
    _fail_at(monkeypatch, "fsync", _enospc())
    code = main(["run", str(workspace / "plan.yml"), "--only", "square_2"])
    record = paths.cache_dir() / "runs" / "runner-test" / "square_2.json"
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == (f"synlib: cannot write {record}: the disk is full (No space left on device); "
                    "free some space and run again")
    for root in (paths.results_root(), paths.generated_root(), paths.cache_dir()):
        assert not _partial_files(root)
    assert not record.exists(), "without its record the run is not taken as finished, so it reruns"
