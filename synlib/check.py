"""``synlib check PLAN``: is a study plan's dataset ready to run, before any chapter runs?

:func:`check_plan` opens the plan's dataset with the plan's parameters, reads
every trial of every participant (each checked as the chapters check them),
runs the plan's preprocessing on one participant (or on all), and checks that
the held-out repetitions exist. It reports what it found, or every problem at
once, each naming the participant and what is wrong; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["CheckReport", "check_plan"]


@dataclass
class CheckReport:
    """What :func:`check_plan` found: ``facts`` (name → value) and ``problems`` (messages)."""

    plan: str
    facts: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        lines = [f"plan {self.plan!r}:"]
        lines += [f"  {name}: {value}" for name, value in self.facts.items()]
        if self.problems:
            lines.append(f"  {len(self.problems)} problem(s):")
            lines += [f"  - {p}" for p in self.problems]
        else:
            lines.append("  no problem found")
        return "\n".join(lines)


def check_plan(plan, overrides: dict | None = None, all_participants: bool = False) -> CheckReport:
    """Check that ``plan`` (a :class:`synlib.plan.Plan`) can open, read and preprocess its dataset.

    Parameters
    ----------
    plan : Plan
    overrides : dict, optional
        Parameter overrides (a profile, ``-p`` values), as ``synlib run`` takes them.
    all_participants : bool
        Preprocess every participant, not only the first.

    Returns
    -------
    CheckReport
    """
    from synlib import datasets
    from synlib.preprocess.envelopes import held_out_repetitions
    from synlib.preprocess import PreprocessConfig, preprocess
    from synlib.text import span

    report = CheckReport(plan.name)
    common = {**(plan.runs[0].common if plan.runs else {}), **(overrides or {})}
    if "dataset" not in common:
        report.facts["dataset"] = "none (this plan gathers other studies)"
        return report
    name, options = common["dataset"], dict(common.get("dataset_options") or {})
    if name in datasets.available() and "seed" in datasets.options(name):
        options = {"seed": common.get("seed", 0), **options}
    try:
        config = PreprocessConfig.from_dict(common.get("preprocess") or {})
        data = datasets.open_dataset(name, options, common.get("participants"))
    except Exception as exc:    # noqa: BLE001 - every problem is reported, not raised
        report.problems.append(f"dataset {name!r}: {exc}")
        return report
    report.facts.update({"dataset": f"{data.name} ({data.fs:g} Hz)", "participants": len(data.participants),
                         "muscles": f"{len(data.muscles)}: {', '.join(data.muscles)}"})
    tables, readable = [], []
    for participant in data.participants:
        try:
            trials = data.trials(participant)
        except Exception as exc:    # noqa: BLE001
            report.problems.append(f"participant {participant!r}: {exc}")
            continue
        readable.append(participant)
        tables.append(pd.DataFrame([{k: v for k, v in t.meta.items() if k != "events"} for t in trials]))
    if tables:
        table = pd.concat(tables, ignore_index=True)
        per = table.groupby("participant").size()
        report.facts["trials"] = f"{len(table)} ({span(per.tolist())} per participant)"
        report.facts["conditions"] = table["condition"].nunique() if "condition" in table else "not given"
        if "repetition" in table:
            reps = sorted(int(r) for r in table["repetition"].unique())
            report.facts["repetitions"] = reps
            held = held_out_repetitions(reps, common.get("test_repetitions"))
            missing = sorted(set(held) - set(reps))
            if missing:
                report.problems.append(f"held-out repetitions {missing} (test_repetitions) are not in the data; "
                                       f"it has repetitions {reps}")
            elif held and set(held) >= set(reps):
                report.problems.append(f"held-out repetitions {held} leave no repetition to train on")
            report.facts["held out"] = held or "none (one repetition: no held-out evaluation)"
    for participant in readable if all_participants else readable[:1]:
        try:
            env = preprocess(data.subset([participant]), config, progress=False)
        except Exception as exc:    # noqa: BLE001
            report.problems.append(f"participant {participant!r}, preprocessing: {exc}")
            continue
        report.facts[f"preprocessed {participant}"] = f"{env.X.shape[0]} rows × {env.X.shape[1]} muscles"
    return report
