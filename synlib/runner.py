"""Run the chapter notebooks of a study plan through papermill and publish them for the book.

Each run of a plan (:mod:`synlib.plan`) is a text notebook converted with
jupytext and executed by papermill with the run's parameters. The runner

- checks every parameter name against the notebook's ``parameters`` cell before
  anything executes, so a typo fails at once;
- skips a run whose inputs are unchanged: the key hashes the notebook text, the
  parameters, the ``synlib`` source, the autoencoder backends and their versions
  with the ``SYNLIB_AE_*`` variables (``synlib.autoencoder.backend_fingerprint``),
  any data folder passed as a parameter and the keys of the runs it needs;
- executes in a private staging folder and publishes the executed notebook into
  ``book/_generated/<study>/`` by an atomic rename only when it succeeded; a failed
  copy goes to ``.cache/failed/<study>/`` and earlier published outputs stay;
- runs independent notebooks in parallel on a Dask cluster (``jobs > 1`` starts a
  local one; ``scheduler`` connects to an existing one), the runs of several plans
  as one workload in which earlier plans come first (:func:`run_plans`);
- on SIGINT or SIGTERM stops, removes what was half-written, and keeps what had
  finished, so the next call resumes.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import jupytext

from synlib import interrupts, paths
from synlib.autoencoder import backend_fingerprint
from synlib.plan import Plan, PlanError, Run, external_needs, parameters_digest, upstream
from synlib.progress import progress
from synlib.results import atomic_write_bytes, os_error_reason

log = logging.getLogger("synlib.runner")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class RunFailed(RuntimeError):
    """One or more notebook runs failed; the message lists them with their tracebacks.

    ``summaries`` holds every plan's run summaries, as :func:`run_plans` returns them.
    """

    def __init__(self, message: str, summaries: dict[str, list[dict[str, Any]]] | None = None):
        super().__init__(message)
        self.summaries = summaries or {}


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


def steps_digest(parameters: dict[str, Any]) -> str:
    """SHA-256 over the source of the modules that ``preprocess.insert_steps`` imports steps from.

    A fork's own step lives outside ``synlib``; hashing its file makes a change to
    it rerun the chapters, as a change to the package does. A module that cannot
    be found enters by name (the run then fails, naming it).
    """
    h = hashlib.sha256()
    preprocess = parameters.get("preprocess")
    entries = (preprocess.get("insert_steps") or []) if isinstance(preprocess, dict) else []
    for entry in entries:
        module = str(entry.get("step", "") if isinstance(entry, dict) else entry).partition(":")[0]
        try:
            spec = importlib.util.find_spec(module) if module else None
        except (ImportError, ValueError):
            spec = None
        origin = Path(spec.origin) if spec is not None and spec.origin and spec.origin != "built-in" else None
        h.update(module.encode())
        h.update(hashlib.sha256(origin.read_bytes()).digest() if origin is not None and origin.is_file() else b"?")
    return h.hexdigest()


def source_digest() -> str:
    """SHA-256 over every Python file of the ``synlib`` package."""
    package = paths.ROOT / "synlib"
    return _digest_files([p for p in package.rglob("*.py")], package)


def data_digest(parameters: dict[str, Any]) -> str:
    """SHA-256 over the files of the dataset folder (or file) that the ``dataset`` parameter names.

    Named public datasets are checksum-verified when loaded and the simulated
    cohort is defined by the source, so only a path given as ``dataset`` needs
    hashing here; it is hashed only when it is a dataset folder (one holding a
    ``dataset.yml``) or a file, so that no other string parameter that happens
    to name a folder (``"/"``) makes the runner read it.

    Examples
    --------
    >>> data_digest({"dataset": "simulated", "note": "/"}) == data_digest({})
    True
    """
    from synlib.data import is_dataset_folder

    h = hashlib.sha256()
    value = parameters.get("dataset")
    if isinstance(value, str) and value and len(value) <= 4096:
        path = Path(value).expanduser()
        if path.is_dir() and is_dataset_folder(path):
            files = [p for p in path.rglob("*") if p.is_file()]
            h.update(f"dataset:{_digest_files(files, path)}".encode())
        elif path.is_file():
            h.update(f"dataset:{hashlib.sha256(path.read_bytes()).hexdigest()}".encode())
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


def _recorded_keys(plan_pattern: str, pattern: str) -> list[str]:
    """Cache keys of other plans' runs matching the patterns, as recorded by their last run."""
    root = paths.cache_dir() / "runs"
    keys = []
    for record in sorted(root.glob("*/*.json")) if root.is_dir() else []:
        if fnmatch.fnmatchcase(record.parent.name, plan_pattern) and fnmatch.fnmatchcase(record.stem, pattern):
            try:
                keys.append(json.loads(record.read_text()).get("key", ""))
            except (OSError, ValueError):
                keys.append("")
    return keys


def make_jobs(plan: Plan, runs: list[Run], overrides: dict[str, Any], known: dict[tuple[str, str], str] | None = None
              ) -> list[Job]:
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
    backends = backend_fingerprint()  # the same source gives other numbers with another compiler or torch
    keys: dict[str, str] = {}
    jobs: dict[str, Job] = {}

    def _external_keys(run: Run) -> list[str]:
        found = []
        for name, pattern in external_needs(run):
            keys = ([k for (p, r), k in (known or {}).items()
                     if p != plan.name and fnmatch.fnmatchcase(p, name) and fnmatch.fnmatchcase(r, pattern)]
                    or _recorded_keys(name, pattern))
            found += keys
            if not keys:
                raise PlanError(f"{plan.path.name}: run {run.id!r} needs {name}:{pattern}, which has neither run "
                                f"yet nor is part of this command; run plan {name!r} first or together with it")
        return found

    def key_of(run: Run) -> str:
        if run.id not in keys:
            parameters = check_parameters(run, overrides)
            h = hashlib.sha256()
            for part in (
                hashlib.sha256(run.notebook.read_bytes()).hexdigest(),
                parameters_digest(parameters),
                source,
                backends,
                data_digest(parameters),
                steps_digest(parameters),
                *sorted(key_of(dep) for dep in upstream(plan, run)),
                *sorted(_external_keys(run)),
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
    _for_readers(executed, job)
    publish(executed, job)
    shutil.rmtree(staging, ignore_errors=True)
    return {"run": job.run_id, "status": "ok", "seconds": time.perf_counter() - start}


#: Tags on a published page's plumbing cells: myst-nb folds their code behind a toggle.
PLUMBING_TAGS = ("parameters", "injected-parameters")


def _is_plumbing(cell) -> bool:
    tags = cell.metadata.get("tags", [])
    lines = [line for line in cell.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return any(t in tags for t in PLUMBING_TAGS) or bool(lines) and lines[0].startswith(("import ", "from "))


def rerun_box(job: Job) -> str:
    """Markdown of the "rerun this chapter" note a published page opens with."""
    plan = paths.STUDIES / f"{job.plan}.yml"
    where = f"studies/{plan.name}" if plan.is_file() else f"<the plan of {job.plan}>"
    example = next((f" (e.g. `-p {name} {json.dumps(value)}`)" for name, value in job.parameters.items()
                    if isinstance(value, (int, float)) and not isinstance(value, bool) and name != "seed"), "")
    values = "\n".join(f"{name}: {json.dumps(value, default=str)}" for name, value in job.parameters.items())
    return (f"```{{note}}\n**Rerun this chapter:** `python -m synlib run {where} --only {job.run_id}` reruns it "
            f"with the parameters below; add `-p NAME VALUE` to change one{example}. The values this page "
            f"was built with:\n\n    " + values.replace("\n", "\n    ") + "\n```")


def _for_readers(executed: Path, job: Job) -> None:
    """Fold the plumbing cells (parameters, injected parameters, imports) and add the rerun note."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and _is_plumbing(cell):
            tags = cell.metadata.setdefault("tags", [])
            if "hide-input" not in tags:
                tags.append("hide-input")
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    nb.cells.insert(first + 1, nbformat.v4.new_markdown_cell(rerun_box(job)))
    nbformat.write(nb, executed)


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


def _remove_partial_files(study: str) -> None:
    for folder in (paths.results_dir(study), paths.generated_root() / study, paths.cache_dir() / "runs" / study):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def _progress(total: int):
    return progress(total=total, desc="notebooks", unit="run")


class _Queue:
    """Jobs of one or more plans waiting to run, with what they need and what failed.

    The order of ``jobs`` is the priority: plans in the order given, runs in
    plan order. A job is ready when none of the runs it needs is still
    pending, running or failed.
    """

    def __init__(self, plans: list[Plan], jobs: list[Job]):
        self.rank = {plan.name: i for i, plan in enumerate(plans)}
        self.pending: dict[tuple[str, str], Job] = {(j.plan, j.run_id): j for j in jobs}
        self.running: set[tuple[str, str]] = set()
        self.failed: set[tuple[str, str]] = set()
        self.needs = {(plan.name, run.id): {(plan.name, d.id) for d in upstream(plan, run)}
                      | {(other.name, r.id) for name, pattern in external_needs(run)
                         for other in plans if other.name != plan.name and fnmatch.fnmatchcase(other.name, name)
                         for r in other.runs if fnmatch.fnmatchcase(r.id, pattern)}
                      for plan in plans for run in plan.runs}

    def ready(self) -> list[Job]:
        waiting = set(self.pending) | self.running | self.failed
        return [j for key, j in self.pending.items() if not self.needs[key] & waiting]

    def start(self, job: Job) -> None:
        del self.pending[(job.plan, job.run_id)]
        self.running.add((job.plan, job.run_id))

    def finish(self, job: Job, summary: dict[str, Any]) -> list[Job]:
        """Record a finished job; return the pending jobs that can no longer run."""
        self.running.discard((job.plan, job.run_id))
        if summary["status"] != "ok":
            self.failed.add((job.plan, job.run_id))
        blocked = []
        changed = True
        while changed:
            changed = False
            for key, j in list(self.pending.items()):
                if self.needs[key] & self.failed:
                    del self.pending[key]
                    self.failed.add(key)
                    blocked.append(j)
                    changed = True
        return blocked


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
    return run_plans([plan], only=only, overrides=[overrides or {}], jobs=jobs, scheduler=scheduler,
                     force=force)[plan.name]


def run_plans(
    plans: list[Plan],
    *,
    only: list[str] | None = None,
    overrides: list[dict[str, Any]] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    force: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Execute the selected runs of several plans as one workload; raise :class:`RunFailed` if any failed.

    The runs of all plans share the workers: earlier plans come first, and a
    later plan's runs fill the cores an earlier plan leaves idle (while its
    preprocessing runs alone, say). ``overrides`` holds one dict per plan.
    Returns, for each plan name, one summary per selected run; :class:`RunFailed`
    carries the same in ``summaries``.
    """
    names = [plan.name for plan in plans]
    if len(set(names)) != len(names):
        raise PlanError(f"study plans must have distinct names, got {names}")
    overrides = overrides if overrides is not None else [{} for _ in plans]
    if len(overrides) != len(plans):
        raise ValueError(f"one dict of overrides per plan: {len(plans)} plans, {len(overrides)} dicts")
    selected, known = {}, {}
    for plan, o in zip(plans, overrides):  # in order: a plan's external needs come from earlier plans
        selected[plan.name] = make_jobs(plan, plan.select(only), o or {}, known)
        known.update({(plan.name, job.run_id): job.key for job in selected[plan.name]})
    for plan in plans:
        check_data(plan, selected[plan.name])
    # fail before any notebook runs, not after the first one finished
    _staging_parent()
    for plan in plans:
        _make_folder(paths.results_dir(plan.name), "results folder")
        _make_folder(paths.generated_root() / plan.name, "folder for the book's notebooks")
        _make_folder(paths.cache_dir() / "runs" / plan.name, "folder of the runner's records")
        _remove_partial_files(plan.name)
    summaries: dict[str, list[dict[str, Any]]] = {plan.name: [] for plan in plans}
    to_run: list[Job] = []
    for plan in plans:
        fresh = []
        for job in selected[plan.name]:
            if force or not job.is_current():
                fresh.append(job)
            else:
                summaries[plan.name].append({"run": job.run_id, "status": "skipped", "seconds": 0.0})
        if fresh:
            log.info("%s: %d to run, %d up to date (skipped)", plan.name, len(fresh), len(summaries[plan.name]))
        else:
            log.info("%s: all %d runs are up to date; nothing re-executed", plan.name, len(summaries[plan.name]))
        to_run += fresh
    if not to_run:
        return summaries
    queue = _Queue(plans, to_run)
    staging_root = Path(tempfile.mkdtemp(prefix="synlib-run-", dir=_staging_parent()))
    try:
        with interrupts.handled():
            if jobs <= 1 and scheduler is None:
                done = _run_serial(queue, str(staging_root))
            else:
                done = _run_dask(queue, str(staging_root), jobs, scheduler)
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)
        for plan in plans:
            _remove_partial_files(plan.name)
    for job, summary in done:
        summaries[job.plan].append(summary)
    reports = []
    for plan in plans:
        failures = [s for s in summaries[plan.name] if s["status"] == "failed"]
        if failures:
            reports.append(_failure_report(plan, failures, selected[plan.name]))
    if reports:
        raise RunFailed("\n\n".join(reports), summaries)
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


def _finished(queue: _Queue, job: Job, summary: dict[str, Any], done: list, bar) -> None:
    """Record a finished run, and the runs that will not run because it failed."""
    _log_summary(job, summary)
    done.append((job, summary))
    bar.update()
    for blocked in queue.finish(job, summary):
        done.append((blocked, _not_run(blocked)))
        bar.update()


def _run_serial(queue: _Queue, staging: str) -> list[tuple[Job, dict[str, Any]]]:
    threads = os.cpu_count() or 1
    done: list[tuple[Job, dict[str, Any]]] = []
    try:
        with _progress(len(queue.pending)) as bar:
            while queue.pending:
                ready = queue.ready()
                job = ready[0]   # plans are acyclic and runs needing a failed one are dropped: one is ready
                queue.start(job)
                log.info("%s: running %s", job.plan, job.run_id)
                summary = execute_job(job, threads, staging)
                interrupts.raise_if_received()
                _finished(queue, job, summary, done, bar)
    except KeyboardInterrupt:
        _stop_children()
        raise
    return done


def _stop_children(timeout: float = 5.0) -> None:
    """End the processes this one started (a notebook's kernel, perhaps still starting up).

    An interrupt can reach the notebook client before it knows its kernel; the
    kernel would then run on, and complain into the terminal once the runner has
    removed its working folder.
    """
    import psutil

    with interrupts.deferred():
        children = psutil.Process().children(recursive=True)
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.terminate()
        _, alive = psutil.wait_procs(children, timeout=timeout)
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()


def _threads_to_start(queue: _Queue, ready: list[Job], running: list[Job], cores: int, workers: int,
                      threads_in_use: int) -> list[tuple[Job, int]]:
    """Which ready jobs to start on a local cluster now, and with how many threads each.

    Ready jobs are taken in priority order. A job's share of the cores is
    counted among the running and ready jobs of its own and earlier plans, so a
    chapter that runs alone (the NMF chapter everything waits for) gets every
    core even when later plans have runs ready. Threads never exceed the cores
    (unless there are more workers than cores): when a job's share is held by a
    later plan's run, nothing starts until that run ends, and a later plan's run
    only starts on a core no earlier plan's ready job wants.
    """
    free = cores - threads_in_use
    slots = workers - len(running)
    starts: list[tuple[Job, int]] = []
    for job in ready:
        if slots <= 0 or (free < 1 and workers <= cores):
            break
        rank = queue.rank[job.plan]
        competing = sum(queue.rank[j.plan] <= rank for j in [*running, *ready])
        share = max(1, cores // min(workers, competing))
        if free < share and any(queue.rank[j.plan] > rank for j in running):
            break
        given = max(1, min(share, free))
        starts.append((job, given))
        free -= given
        slots -= 1
    return starts


def _run_dask(queue: _Queue, staging: str, jobs: int, scheduler: str | None) -> list[tuple[Job, dict[str, Any]]]:
    from dask.distributed import as_completed

    client = cluster = None
    done: list[tuple[Job, dict[str, Any]]] = []
    running: dict[Any, tuple[Job, int]] = {}   # future -> (job, threads)
    try:
        # a signal while the cluster starts is raised once it is up, so that the shutdown below finds it whole
        with interrupts.deferred():
            client, cluster, workers = _connect(jobs, scheduler)
        cores = os.cpu_count() or 1
        with _progress(len(queue.pending)) as bar:
            futures = as_completed()

            def submit_ready() -> None:
                ready = queue.ready()
                if cluster is None:   # workers of an existing cluster bring their own cores: one thread each
                    starts = [(job, 1) for job in ready[:max(0, workers - len(running))]]
                else:
                    jobs_now = [j for j, _ in running.values()]
                    starts = _threads_to_start(queue, ready, jobs_now, cores, workers,
                                               sum(t for _, t in running.values()))
                for job, share in starts:
                    queue.start(job)
                    log.info("%s: running %s (%d thread%s)", job.plan, job.run_id, share, "s" * (share > 1))
                    future = client.submit(execute_job, job, share, staging,
                                           key=f"{job.plan}-{job.run_id}-{job.key[:12]}", pure=False)
                    running[future] = (job, share)
                    futures.add(future)

            submit_ready()
            for future in futures:
                job, _ = running.pop(future)
                _finished(queue, job, future.result(), done, bar)
                submit_ready()
    finally:
        _shut_down(client, cluster)
    return done


def _connect(jobs: int, scheduler: str | None):
    """A client of the scheduler at ``scheduler``, or of a new local cluster of ``jobs`` worker processes.

    Returns the client, the local cluster (``None`` for an existing scheduler) and
    the number of workers. The local workers' own output (a worker stopped by a
    Ctrl-C that reached its process group prints a traceback, say) goes to
    :func:`worker_log`, not to the terminal: the runner reports for them.
    """
    from dask.distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        workers = max(1, sum(client.nthreads().values()))
        log.info("connected to Dask scheduler %s with %d worker threads", scheduler, workers)
        return client, None, workers
    workers = max(1, int(jobs))
    with _stderr_to(worker_log()):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.CRITICAL)
        client = Client(cluster)
    log.info("started a local Dask cluster with %d workers", workers)
    return client, cluster, workers


def worker_log() -> Path:
    """Where the processes of a local Dask cluster write their standard error (overwritten each run)."""
    folder = _make_folder(paths.cache_dir() / "logs", "folder of the runner's logs")
    return folder / "dask-workers.log"


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Point file descriptor 2 at ``path`` inside the block, so that processes started in it write there."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "wb") as target:
            os.dup2(target.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _shut_down(client, cluster) -> None:
    """Close the client, then the local cluster, so that nothing of theirs reaches the terminal.

    Signals are deferred meanwhile (a second Ctrl-C does not cut the shutdown
    short), and what closing raises is logged at debug level: it happens when
    workers were stopped under the cluster's feet by a signal to the process
    group, and the runs it concerns are reported by the runner already.
    """
    with interrupts.deferred():
        for part in (client, cluster):
            if part is None:
                continue
            try:
                part.close(timeout=30)
            except BaseException as exc:  # CancelledError and timeouts from a cluster whose workers are gone
                log.debug("closing %s raised %r", type(part).__name__, exc)


def _not_run(job: Job) -> dict[str, Any]:
    return {"run": job.run_id, "status": "failed", "seconds": 0.0,
            "error": "not run: a run it needs failed", "failed_copy": None}


def _log_summary(job: Job, summary: dict[str, Any]) -> None:
    if summary["status"] == "ok":
        log.info("%s: %s done in %.1f s -> %s", job.plan, job.run_id, summary["seconds"], job.output)
    else:
        log.error("%s: %s FAILED after %.1f s", job.plan, job.run_id, summary["seconds"])


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

