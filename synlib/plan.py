"""Study plans: which chapter notebooks run, with which parameters, in which order.

A plan is a YAML file (``studies/*.yml``)::

    name: simulated                 # results/<name>/ and book/_generated/<name>/
    title: "The study on a simulated cohort"
    parameters:                     # given to every run that declares them
      dataset: simulated
      seed: 0
    profiles:                       # named sets of overrides, e.g. tiny ones for smoke tests
      smoke: {participants: 2, epochs: 20}
    runs:
      - id: 02_nmf
        notebook: 02_nmf            # notebooks/02_nmf.py (or a path relative to the plan)
        needs: [01_preprocessing]   # runs whose results this one reads
        parameters: {n_restarts: 10}
      - id: "03_ae_{encoder}_{decoder}"
        notebook: 03_autoencoder
        matrix:                     # one run per combination
          encoder: [linear, relu]
          decoder: [linear, relu]
        group: "Autoencoders: every activation pair"
        needs: [02_nmf]
    book:
      part: "A simulated cohort"    # caption of this plan's part of the book
      after: [results]              # narrative pages (book/<page>.md) placed after the chapters

``needs`` entries may use shell wildcards (``03_ae_*``). An entry ``"<plan>:<run>"``
names a run of another plan (``"simulated:04_tradeoff"``; the plan name may be a
wildcard too, ``"*:04_tradeoff"`` = that run of every other plan): when the plans
run in one command the run waits for them, and their keys enter its cache key;
run alone, it takes the keys those runs last recorded.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synlib import declared, paths

_TEXT = {"type": "string"}
# an empty YAML key (``parameters:``) reads as null, which means "none"
_NAMES = {"type": ["array", "null"], "items": {"type": "string"}}
_MAPPING = {"type": ["object", "null"]}
#: A run of a plan (one entry of ``runs``), declared once: each key's type and meaning.
RUN_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["id", "notebook"],
    "properties": {
        "id": {**_TEXT, "description": "the run's name; with a matrix, a pattern such as '03_ae_{encoder}_{decoder}'"},
        "notebook": {**_TEXT, "description": "notebooks/<name>.py, or a path relative to the plan"},
        "needs": {**_NAMES, "description": "runs whose results this one reads (wildcards; 'plan:run' for another plan's)"},
        "parameters": {**_MAPPING, "description": "this run's own parameters"},
        "matrix": {**_MAPPING, "additionalProperties": {"type": "array", "minItems": 1},
                   "description": "parameter name → non-empty list of values: one run per combination"},
        "group": {**_TEXT, "description": "runs of one group share an index page in the contents"},
        "title": {**_TEXT, "description": "the page's title in the contents"},
    },
}
#: A plan's ``book:`` section.
BOOK_SCHEMA = {
    "type": ["object", "null"], "additionalProperties": False,
    "properties": {
        "part": {**_TEXT, "description": "caption of the plan's part (default: its title)"},
        "summary": {**_TEXT, "description": "one paragraph (MyST) for the introduction's list of parts "
                                            "(default: its description)"},
        "before": {**_NAMES, "description": "narrative pages of book/ (names without .md) placed after the "
                                           "part's opening page"},
        "after": {**_NAMES, "description": "narrative pages of book/ placed after the part's chapters"},
    },
}
#: A study plan file, declared once: every key, its type and meaning (checked by :func:`load_plan`).
PLAN_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["name", "runs"],
    "properties": {
        "name": {"type": ["string", "integer"], "minLength": 1,
                 "description": "results/<name>/ and book/_generated/<name>/"},
        "title": {**_TEXT, "description": "the title of the part's opening page (default: name)"},
        "description": {**_TEXT, "description": "the first paragraph of the part's opening page"},
        "parameters": {**_MAPPING, "description": "given to every run whose notebook declares them"},
        "profiles": {**_MAPPING, "additionalProperties": {"type": "object"},
                     "description": "named sets of overrides (synlib run --profile NAME)"},
        "runs": {"type": ["array", "null"], "items": RUN_SCHEMA, "description": "one entry per chapter page"},
        "book": {**BOOK_SCHEMA, "description": "where the plan's part sits in the book"},
    },
}


class PlanError(ValueError):
    """A study plan that cannot be run as written."""


@dataclass(frozen=True)
class Run:
    """One execution of one notebook with one set of parameters."""

    id: str
    notebook: Path
    parameters: dict[str, Any]
    needs: tuple[str, ...] = ()
    group: str | None = None
    #: plan-wide parameters, given to this run only where its notebook declares them
    common: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    name: str
    title: str
    path: Path
    runs: list[Run]
    book: dict[str, Any] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""

    @property
    def digest(self) -> str:
        """SHA-256 of the plan file's text, recorded with the book."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def select(self, patterns: list[str] | None) -> list[Run]:
        """Runs whose id matches any of ``patterns`` (all runs when none given)."""
        if not patterns:
            return list(self.runs)
        chosen = [r for r in self.runs if any(fnmatch.fnmatchcase(r.id, p) for p in patterns)]
        if not chosen:
            raise PlanError(
                f"--only {' '.join(patterns)} matches no run of plan {self.name!r}; "
                f"its runs are {', '.join(r.id for r in self.runs)}"
            )
        return chosen


def _resolve_notebook(name: str, plan_dir: Path, where: str) -> Path:
    candidates = [paths.NOTEBOOKS / f"{name}.py"] if "/" not in name else []
    candidates.append((plan_dir / name).resolve())
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise PlanError(f"{where}: notebook {name!r} not found (looked at {', '.join(map(str, candidates))})")


def _expand(entry: dict, plan_dir: Path, common: dict, where: str) -> list[Run]:
    notebook = _resolve_notebook(str(entry["notebook"]), plan_dir, where)
    matrix = entry.get("matrix") or {}
    runs = []
    for combo in itertools.product(*matrix.values()):
        values = dict(zip(matrix, combo))
        try:
            run_id = str(entry["id"]).format(**values)
        except KeyError as exc:
            raise PlanError(f"{where}: id {entry['id']!r} names {exc}, which is not in its matrix") from None
        parameters = {**(entry.get("parameters") or {}), **values}
        runs.append(
            Run(
                id=run_id,
                notebook=notebook,
                parameters=parameters,
                needs=tuple(entry.get("needs") or ()),
                group=entry.get("group"),
                common=common,
            )
        )
    return runs


def load_plan(path: str | Path) -> Plan:
    """Read and check a study plan; every problem names the plan file and the run."""
    path = Path(path).resolve()
    if not path.is_file():
        raise PlanError(f"study plan {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PlanError(f"study plan {path} is not valid YAML: {exc}") from None
    try:
        declared.check_document(data, PLAN_SCHEMA, f"study plan {path}")
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    name = data["name"]
    try:
        paths.results_dir(str(name))
    except ValueError as exc:
        raise PlanError(f"study plan {path}: {exc}") from None
    common = {"study": str(name), **(data.get("parameters") or {})}
    runs: list[Run] = []
    for i, entry in enumerate(data.get("runs") or []):
        runs.extend(_expand(entry, path.parent, common, f"{path.name}, run {i + 1}"))
    if not runs:
        raise PlanError(f"study plan {path} lists no runs")
    ids = [r.id for r in runs]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise PlanError(f"study plan {path}: run ids {duplicated} appear more than once")
    for run in runs:
        for pattern in run.needs:
            if ":" in pattern:
                continue  # another plan's run, resolved when the plans run together
            if not any(fnmatch.fnmatchcase(other, pattern) for other in ids):
                raise PlanError(f"{path.name}: run {run.id!r} needs {pattern!r}, which matches no run")
    plan = Plan(
        name=str(name),
        title=str(data.get("title") or name),
        path=path,
        runs=runs,
        book=data.get("book") or {},
        profiles=data.get("profiles") or {},
        description=str(data.get("description") or ""),
    )
    _check_acyclic(plan)
    return plan


def upstream(plan: Plan, run: Run) -> list[Run]:
    """The runs of ``plan`` that ``run`` needs, directly."""
    return [r for r in plan.runs if r.id != run.id and any(fnmatch.fnmatchcase(r.id, p) for p in run.needs)]


def external_needs(run: Run) -> list[tuple[str, str]]:
    """The (plan name, run id pattern) of each other plan's run that ``run`` needs.

    Examples
    --------
    >>> external_needs(Run("v", Path("v.py"), {}, needs=("simulated:04_*", "02_nmf")))
    [('simulated', '04_*')]
    """
    return [tuple(p.split(":", 1)) for p in run.needs if ":" in p]


def _check_acyclic(plan: Plan) -> None:
    state: dict[str, int] = {}

    def visit(run: Run, trail: list[str]) -> None:
        if state.get(run.id) == 2:
            return
        if state.get(run.id) == 1:
            raise PlanError(f"{plan.path.name}: runs depend on each other in a cycle: {' -> '.join(trail + [run.id])}")
        state[run.id] = 1
        for dep in upstream(plan, run):
            visit(dep, trail + [run.id])
        state[run.id] = 2

    for run in plan.runs:
        visit(run, [])


def parameters_digest(parameters: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()
