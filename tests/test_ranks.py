"""Rank rules, the rank design of a study and fits at several ranks."""

import numpy as np
import pandas as pd
import pytest

from synlib import ranks
from synlib.nmf import rank_sweep
from synlib.plan import PlanError, external_needs, load_plan


def test_rules_are_checked_by_name():
    for rule in ("r2_0.80", "r2_0.9", "linearity", "cv", "truth"):
        assert ranks.check_rule(rule) == rule
    for bad in ("elbow", "r2_1.5", "r2_", 0.8):
        with pytest.raises(ValueError, match="rank rule"):
            ranks.check_rule(bad)


def test_rule_rank_on_a_sweep():
    rng = np.random.default_rng(0)
    X = rng.random((300, 3)) @ rng.random((3, 8)) + 0.01 * rng.random((300, 8))
    sweep = rank_sweep(X, ranks=[1, 2, 3, 4], n_restarts=2, random_state=0)
    assert ranks.rule_rank(sweep, "r2_0.99") == 3
    assert ranks.rule_rank(sweep, "truth", true_rank=3) == 3
    with pytest.raises(ValueError, match="only simulated data"):
        ranks.rule_rank(sweep, "truth")


def test_rank_table_offsets_rules_and_bounds():
    picks = {"P1": {"truth": 1, "r2_0.80": 2}, "P2": {"truth": 16, "r2_0.80": 3}, "P3": {"truth": 4, "r2_0.80": 4}}
    table = ranks.rank_table(picks, "truth", [-1, 1], n_muscles=16, sensitivity_participants=["P1", "P2"])
    by = {(p, r): k for p, r, k in table[["participant", "rule", "k"]].itertuples(index=False)}
    assert ("P1", "truth-1") not in by and by[("P1", "truth+1")] == 2   # k = 0 is dropped
    assert ("P2", "truth+1") not in by and by[("P2", "truth-1")] == 15  # k = 17 > 16 muscles is dropped
    assert set(table.loc[table["participant"] == "P3", "rule"]) == {"truth"}  # headline only
    assert ranks.ranks_by_participant(table)["P1"] == [1, 2]
    assert ranks.headline_ranks(table) == {"P1": 1, "P2": 16, "P3": 4}
    with pytest.raises(ValueError, match="no rank for the headline rule"):
        ranks.rank_table({"P1": {"r2_0.80": 2}}, "truth")


def test_autoencoder_fits_every_rank_and_refuses_ranks_beyond_the_muscles():
    from synlib.autoencoder.study import fit_participants
    from synlib.preprocess import Envelopes

    rng = np.random.default_rng(3)
    X = rng.random((240, 6)) @ rng.random((6, 6))
    rows = pd.DataFrame({"participant": np.repeat(["p1", "p2"], 120),
                         "repetition": np.tile(np.repeat([1, 2, 3], 40), 2)})
    envelopes = Envelopes(X, rows, tuple("abcdef"))
    fit = fit_participants(envelopes, n_components={"p1": [2, 3], "p2": 3}, encoder="relu", decoder="tanh",
                           seeds=[0, 1], epochs=10)
    assert sorted(zip(fit.table["participant"], fit.table["k"], fit.table["seed"])) == [
        ("p1", 2, 0), ("p1", 2, 1), ("p1", 3, 0), ("p1", 3, 1), ("p2", 3, 0), ("p2", 3, 1)]
    assert "p1.k2.s1.effective_synergies" in fit.arrays
    assert fit.table["dead_units"].between(0, 1).all() and fit.table["effective_similarity"].between(-1, 1).all()
    with pytest.raises(ValueError, match=r"1 … 6.*'p2': \[7\]"):
        fit_participants(envelopes, n_components={"p1": 2, "p2": 7}, encoder="relu", decoder="tanh", epochs=10)


def test_another_plans_run_can_be_needed(tmp_path):
    plan = tmp_path / "v.yml"
    plan.write_text("name: v\nruns:\n  - id: verdict\n    notebook: 06_verdict\n    needs: ['simulated:04_*']\n")
    run = load_plan(plan).runs[0]
    assert external_needs(run) == [("simulated", "04_*")]
    plan.write_text("name: v\nruns:\n  - id: verdict\n    notebook: 06_verdict\n    needs: ['04_*']\n")
    with pytest.raises(PlanError, match="matches no run"):
        load_plan(plan)
