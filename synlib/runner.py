"""Run the chapter notebooks of a study plan through papermill and publish them for the book.

Each run of a plan (:mod:`synlib.plan`) is a text notebook converted with
jupytext and executed by papermill with the run's parameters. The runner

- checks every parameter name against the notebook's ``parameters`` cell before
  anything executes, so a typo fails at once;
- skips a run whose inputs are unchanged: the key hashes the notebook text, the
  parameters, the ``synlib`` source, any data folder passed as a parameter and
  the keys of the runs it needs;
- executes in a private staging folder and publishes the executed notebook into
  ``book/_generated/<study>/`` by an atomic rename only when it succeeded; a failed
  copy goes to ``.cache/failed/<study>/`` and earlier published outputs stay;
- runs independent notebooks in parallel on a Dask cluster (``jobs > 1`` starts a
  local one; ``scheduler`` connects to an existing one);
- on SIGINT or SIGTERM stops, removes what was half-written, and keeps what had
  finished, so the next call resumes.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import jupytext

from synlib import paths
from synlib.plan import Plan, PlanError, Run, parameters_digest, upstream
from synlib.progress import progress
from synlib.results import atomic_write_bytes, os_error_reason

log = logging.getLogger("synlib.runner")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class RunFailed(RuntimeError):
    """One or more notebook runs failed; the message lists them with their tracebacks."""


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``signum`` says which (the command exits 128 + signum)."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


# --- what a notebook accepts ------------------------------------------------------------------


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """Names and default values assigned in the notebook's cell tagged ``parameters``."""
    nb = jupytext.read(notebook)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if not cells:
        raise PlanError(f"{notebook} has no code cell tagged 'parameters'")
    found: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = ast.literal_eval(node.value) if node.value is not None else None
                except ValueError:
                    found[target.id] = ast.unparse(node.value)
    return found


def check_parameters(run: Run, overrides: dict[str, Any]) -> dict[str, Any]:
    """The run's parameters: plan-wide ones the notebook declares, its own, then ``overrides``.

    A parameter named by the run itself but absent from the notebook is refused.
    """
    accepted = notebook_parameters(run.notebook)
    unknown = sorted(set(run.parameters) - set(accepted))
    if unknown:
        raise PlanError(
            f"run {run.id!r}: parameters {unknown} are not in the parameters cell of {run.notebook.name}; "
            f"it accepts {', '.join(sorted(accepted))}"
        )
    common = {k: v for k, v in run.common.items() if k in accepted}
    applied = {k: v for k, v in overrides.items() if k in accepted}
    return {**common, **run.parameters, **applied}


def check_plan_parameters(plan: Plan) -> None:
    """Refuse plan-wide parameters that no notebook of the plan declares (a typo, most likely)."""
    declared: set[str] = set()
    for notebook in {r.notebook for r in plan.runs}:
        declared |= set(notebook_parameters(notebook))
    unknown = sorted(set(plan.runs[0].common) - declared)
    if unknown:
        raise PlanError(f"{plan.path.name}: plan parameters {unknown} are declared by none of its notebooks")


# --- cache keys -------------------------------------------------------------------------------


def _digest_files(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(str(f.relative_to(root)).encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def source_digest() -> str:
    """SHA-256 over every Python file of the ``synlib`` package."""
    package = paths.ROOT / "synlib"
    return _digest_files([p for p in package.rglob("*.py")], package)


def data_digest(parameters: dict[str, Any]) -> str:
    """SHA-256 over the files of any data folder or file passed as a parameter value.

    Named public datasets are checksum-verified when loaded and the simulated
    cohort is defined by the source, so only paths need hashing here.
    """
    h = hashlib.sha256()
    for name, value in sorted(parameters.items()):
        if not isinstance(value, str) or not value or len(value) > 4096:
            continue
        path = Path(value).expanduser()
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            h.update(f"{name}:{_digest_files(files, path)}".encode())
        elif path.is_file():
            h.update(f"{name}:{hashlib.sha256(path.read_bytes()).hexdigest()}".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Job:
    """A run ready to execute: resolved parameters, key, and where its output goes."""

    plan: str
    run_id: str
    notebook: Path
    parameters: dict[str, Any]
    key: str
    output: Path

    @property
    def record(self) -> Path:
        return paths.cache_dir() / "runs" / self.plan / f"{self.run_id}.json"

    def is_current(self) -> bool:
        if not (self.output.exists() and self.record.exists()):
            return False
        try:
            return json.loads(self.record.read_text()).get("key") == self.key
        except (OSError, ValueError):
            return False


def make_jobs(plan: Plan, runs: list[Run], overrides: dict[str, Any]) -> list[Job]:
    """Resolve parameters and keys of ``runs``.

    An override that no notebook of the plan declares is refused (a typo, most
    likely); one that only unselected runs take is allowed, so that a profile
    still applies with ``--only``.
    """
    if overrides:
        reached = set()
        for notebook in {run.notebook for run in plan.runs}:
            reached |= set(overrides) & set(notebook_parameters(notebook))
        missed = sorted(set(overrides) - reached)
        if missed:
            raise PlanError(f"override parameters {missed} are taken by none of the notebooks of plan {plan.name!r}")
    check_plan_parameters(plan)
    source = source_digest()
    keys: dict[str, str] = {}
    jobs: dict[str, Job] = {}

    def key_of(run: Run) -> str:
        if run.id not in keys:
            parameters = check_parameters(run, overrides)
            h = hashlib.sha256()
            for part in (
                hashlib.sha256(run.notebook.read_bytes()).hexdigest(),
                parameters_digest(parameters),
                source,
                data_digest(parameters),
                *sorted(key_of(dep) for dep in upstream(plan, run)),
            ):
                h.update(part.encode())
            keys[run.id] = h.hexdigest()
            jobs[run.id] = Job(
                plan=plan.name,
                run_id=run.id,
                notebook=run.notebook,
                parameters=parameters,
                key=keys[run.id],
                output=paths.generated_root() / plan.name / f"{run.id}.ipynb",
            )
        return keys[run.id]

    for run in plan.runs:
        key_of(run)
    wanted = {r.id for r in runs}
    return [jobs[r.id] for r in plan.runs if r.id in wanted]


# --- executing one notebook -------------------------------------------------------------------


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    return _ANSI.sub("", text).strip()


def execute_job(job: Job, threads: int, staging_root: str) -> dict[str, Any]:
    """Execute one job with papermill; publish on success. Runs in a worker process or in-process.

    Returns a summary dict (``status`` is ``"ok"`` or ``"failed"``) rather than
    raising, so that one failure never hides the others.
    """
    import nbformat
    import papermill

    start = time.perf_counter()
    staging = Path(staging_root) / f"{job.run_id}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    source_nb = staging / "input.ipynb"
    executed = staging / f"{job.run_id}.ipynb"
    nbformat.write(jupytext.read(job.notebook), source_nb)
    thread_vars = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    saved = {v: os.environ.get(v) for v in thread_vars}
    os.environ.update({v: str(threads) for v in thread_vars})
    try:
        papermill.execute_notebook(
            str(source_nb),
            str(executed),
            parameters=job.parameters,
            kernel_name="python3",
            cwd=str(staging),
            progress_bar=False,
            log_output=False,
            # quiet the kernel's own log (start-up warnings, and the traceback it prints when an
            # interrupt shuts it down mid-cell); cell errors still come back in full
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except Exception as exc:  # papermill raises its own and kernel errors alike
        failed = paths.cache_dir() / "failed" / job.plan / f"{job.run_id}.ipynb"
        if executed.exists():
            failed.parent.mkdir(parents=True, exist_ok=True)
            os.replace(executed, failed)
        return {"run": job.run_id, "status": "failed", "seconds": time.perf_counter() - start,
                "error": _error_text(exc), "failed_copy": str(failed) if failed.exists() else None}
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    publish(executed, job)
    shutil.rmtree(staging, ignore_errors=True)
    return {"run": job.run_id, "status": "ok", "seconds": time.perf_counter() - start}


def publish(executed: Path, job: Job) -> None:
    """Move an executed notebook into the book and record its key, both atomically."""
    tmp = job.output.with_name(f".{job.output.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(executed, tmp)
        os.replace(tmp, job.output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(f"cannot publish {job.run_id} as {job.output}: {os_error_reason(exc)}") from exc
    record = {"key": job.key, "notebook": str(job.notebook), "parameters": job.parameters}
    atomic_write_bytes(job.record, json.dumps(record, indent=1, sort_keys=True, default=str).encode())


# --- scheduling -------------------------------------------------------------------------------


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so that clean-up code runs for both."""

    def handler(signum, frame):
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler) if _in_main_thread() else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _remove_partial_files(study: str) -> None:
    for folder in (paths.results_dir(study), paths.generated_root() / study, paths.cache_dir() / "runs" / study):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def _progress(total: int):
    return progress(total=total, desc="notebooks", unit="run")


def _ready(job: Job, plan: Plan, pending: dict[str, Job], running: set[str], failed: set[str]) -> bool:
    run = next(r for r in plan.runs if r.id == job.run_id)
    deps = {d.id for d in upstream(plan, run)}
    return not (deps & (set(pending) | running | failed))


def run_plan(
    plan: Plan,
    *,
    only: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    force: bool = False,
) -> list[dict[str, Any]]:
    """Execute the selected runs of ``plan``; raise :class:`RunFailed` if any failed.

    Runs whose key is unchanged are skipped unless ``force``. Returns one summary
    per selected run (``status`` ``ok``, ``skipped`` or ``failed``).
    """
    selected = make_jobs(plan, plan.select(only), overrides or {})
    check_data(plan, selected)
    # fail before any notebook runs, not after the first one finished
    _make_folder(paths.results_dir(plan.name), "results folder")
    _make_folder(paths.generated_root() / plan.name, "folder for the book's notebooks")
    _staging_parent()
    _make_folder(paths.cache_dir() / "runs" / plan.name, "folder of the runner's records")
    _remove_partial_files(plan.name)
    summaries: list[dict[str, Any]] = []
    pending: dict[str, Job] = {}
    for job in selected:
        if not force and job.is_current():
            summaries.append({"run": job.run_id, "status": "skipped", "seconds": 0.0})
        else:
            pending[job.run_id] = job
    skipped = len(summaries)
    if not pending:
        log.info("%s: all %d runs are up to date; nothing re-executed", plan.name, skipped)
        return summaries
    log.info("%s: %d to run, %d up to date (skipped)", plan.name, len(pending), skipped)
    staging_root = Path(tempfile.mkdtemp(prefix=f"synlib-{plan.name}-", dir=_staging_parent()))
    try:
        with _signals_as_interrupt():
            if jobs <= 1 and scheduler is None:
                summaries += _run_serial(plan, pending, str(staging_root))
            else:
                summaries += _run_dask(plan, pending, str(staging_root), jobs, scheduler)
    except KeyboardInterrupt:
        log.error("%s: interrupted; finished runs are kept and the next call resumes from them", plan.name)
        raise
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)
        _remove_partial_files(plan.name)
    failures = [s for s in summaries if s["status"] == "failed"]
    if failures:
        raise RunFailed(_failure_report(plan, failures, selected))
    return summaries


def check_data(plan: Plan, jobs: list[Job]) -> None:
    """Open every dataset the jobs name, so that missing or broken data stop the study at once.

    One message (e.g. which public files are missing and how to get them) instead
    of one failed notebook per chapter.
    """
    from synlib import datasets

    seen = set()
    for job in jobs:
        if "dataset" not in job.parameters:
            continue
        options = job.parameters.get("dataset_options") or {}
        key = (str(job.parameters["dataset"]), json.dumps(options, sort_keys=True, default=str))
        if key in seen:
            continue
        seen.add(key)
        try:
            datasets.open_dataset(job.parameters["dataset"], options)
        except Exception as exc:  # any loader error, shown once with the study it stops
            raise PlanError(f"study {plan.name!r} cannot start: {exc}") from None


def _staging_parent() -> Path:
    return _make_folder(paths.cache_dir() / "staging", "runner's staging folder")


def _make_folder(folder: Path, what: str) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the {what} {folder}: {os_error_reason(exc)}") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OSError(f"cannot write in the {what} {folder}: permission denied")
    return folder


def _run_serial(plan: Plan, pending: dict[str, Job], staging: str) -> list[dict[str, Any]]:
    threads = os.cpu_count() or 1
    done: list[dict[str, Any]] = []
    failed: set[str] = set()
    with _progress(len(pending)) as bar:
        for job in list(pending.values()):
            del pending[job.run_id]
            if not _ready(job, plan, pending, set(), failed):
                failed.add(job.run_id)
                done.append(_not_run(job))
                bar.update()
                continue
            log.info("%s: running %s", plan.name, job.run_id)
            summary = execute_job(job, threads, staging)
            _log_summary(plan, job, summary)
            if summary["status"] == "failed":
                failed.add(job.run_id)
            done.append(summary)
            bar.update()
    return done


def _run_dask(plan: Plan, pending: dict[str, Job], staging: str, jobs: int, scheduler: str | None):
    from dask.distributed import Client, LocalCluster, as_completed

    if scheduler:
        cluster = None
        client = Client(scheduler)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        log.info("connected to Dask scheduler %s with %d workers", scheduler, workers)
    else:
        workers = max(1, int(jobs))
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        log.info("started a local Dask cluster with %d workers", workers)
    cores = os.cpu_count() or 1
    threads = 1  # workers of an existing cluster bring their own cores: one thread per notebook
    done: list[dict[str, Any]] = []
    running: dict[Any, Job] = {}
    failed: set[str] = set()
    try:
        with _progress(len(pending)) as bar:
            futures = as_completed()

            def submit_ready() -> None:
                busy = {j.run_id for j in running.values()}
                ready = [j for j in pending.values() if _ready(j, plan, pending, busy, failed)]
                # On a local cluster the cores are shared among what can run now, so a notebook
                # that runs alone (e.g. the NMF chapter everything else waits for) gets them all.
                if not ready:
                    return
                share = threads if cluster is None else max(1, cores // min(workers, len(running) + len(ready)))
                for job in ready:
                    del pending[job.run_id]
                    log.info("%s: running %s (%d thread%s)", plan.name, job.run_id, share, "s" * (share > 1))
                    future = client.submit(execute_job, job, share, staging,
                                           key=f"{plan.name}-{job.run_id}-{job.key[:12]}", pure=False)
                    running[future] = job
                    futures.add(future)

            submit_ready()
            for future in futures:
                job = running.pop(future)
                summary = future.result()
                _log_summary(plan, job, summary)
                if summary["status"] == "failed":
                    failed.add(job.run_id)
                done.append(summary)
                bar.update()
                blocked = [j for j in pending.values() if _blocked_by(plan, j, failed)]
                for j in blocked:
                    del pending[j.run_id]
                    failed.add(j.run_id)
                    done.append(_not_run(j))
                    bar.update()
                submit_ready()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return done


def _blocked_by(plan: Plan, job: Job, failed: set[str]) -> bool:
    run = next(r for r in plan.runs if r.id == job.run_id)
    return bool({d.id for d in upstream(plan, run)} & failed)


def _not_run(job: Job) -> dict[str, Any]:
    return {"run": job.run_id, "status": "failed", "seconds": 0.0,
            "error": "not run: a run it needs failed", "failed_copy": None}


def _log_summary(plan: Plan, job: Job, summary: dict[str, Any]) -> None:
    if summary["status"] == "ok":
        log.info("%s: %s done in %.1f s -> %s", plan.name, job.run_id, summary["seconds"], job.output)
    else:
        log.error("%s: %s FAILED after %.1f s", plan.name, job.run_id, summary["seconds"])


def _failure_report(plan: Plan, failures: list[dict[str, Any]], jobs: list[Job]) -> str:
    by_id = {j.run_id: j for j in jobs}
    lines = [f"{len(failures)} run(s) of study {plan.name!r} failed; nothing of theirs was published:"]
    for f in failures:
        job = by_id[f["run"]]
        shown = {k: v for k, v in job.parameters.items() if k != "study"}
        lines.append(f"\n--- {f['run']} ({job.notebook.name}) with parameters {json.dumps(shown, default=str)}")
        if f.get("failed_copy"):
            lines.append(f"failed copy kept at {f['failed_copy']}")
        lines.append(f.get("error") or "")
    return "\n".join(lines)

