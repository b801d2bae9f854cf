"""Every study plan of the book loads, and its parameters and profiles reach the notebooks."""

import pytest

from synlib import paths
from synlib.plan import load_plan
from synlib.runner import make_jobs

ORDER = ["simulated", "simulated-nonlinear", "shoulder", "gait", "validation", "verdict"]


def test_every_plan_is_listed_here():
    assert sorted(p.stem for p in paths.STUDIES.glob("*.yml")) == sorted(ORDER)


@pytest.mark.parametrize("profile", [None, "smoke", "paper"])
def test_plans_resolve_with_their_profiles(profile, monkeypatch, tmp_path):
    monkeypatch.setenv("SYNLIB_CACHE", str(tmp_path))
    known = {}
    for name in ORDER:
        plan = load_plan(paths.STUDIES / f"{name}.yml")
        overrides = plan.profiles.get(profile, {}) if profile else {}
        jobs = make_jobs(plan, plan.runs, overrides, known)
        known.update({(plan.name, j.run_id): j.key for j in jobs})
        assert len(jobs) == len(plan.runs)


def test_the_verdict_waits_for_every_trade_off_chapter(monkeypatch, tmp_path):
    from synlib.plan import PlanError

    monkeypatch.setenv("SYNLIB_CACHE", str(tmp_path))
    verdict = load_plan(paths.STUDIES / "verdict.yml")
    with pytest.raises(PlanError, match=r"needs \*:04_tradeoff"):
        make_jobs(verdict, verdict.runs, {})
    keys = {("simulated", "04_tradeoff"): "a", ("gait", "04_tradeoff"): "b", ("gait", "02_nmf"): "c"}
    one = make_jobs(verdict, verdict.runs, {}, keys)[0].key
    keys[("gait", "04_tradeoff")] = "changed"
    assert make_jobs(verdict, verdict.runs, {}, keys)[0].key != one
