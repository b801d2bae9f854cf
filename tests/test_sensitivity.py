"""The sensitivity sweep: one difficulty axis, NMF and autoencoder pairs, truth recovery with chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synlib import schema, sensitivity

TINY = {"n_repetitions": 2}


@pytest.fixture(scope="module")
def swept():
    return sensitivity.sweep(TINY, "synergy_overlap", [0.2, 0.8], n_participants=2,
                             pairs=[("relu", "tanh"), ("linear", "linear")], n_restarts=2, max_iter=200,
                             chance_draws=5, epochs=5, device="cpu")


def test_a_sweep_has_every_level_participant_and_configuration_with_its_chance(swept):
    assert len(swept) == 2 * 2 * 3
    assert set(swept["config"]) == {"NMF", "relu/tanh", "linear/linear"}
    assert swept["truth_similarity"].between(0, 1).all() and swept["chance"].between(0, 1).all()
    nmf = swept[swept["method"] == "NMF"].groupby("level")["truth_similarity"].median()
    # more overlap between the true synergies is harder for NMF too
    assert nmf[0.2] > nmf[0.8]
    # NMF at the true rank is far above the shuffled synergies' chance level
    assert (swept.loc[swept["method"] == "NMF", "truth_similarity"]
            > swept.loc[swept["method"] == "NMF", "chance"] + 0.2).all()


def test_summary_breakdown_and_wins_read_the_table(swept):
    summary = sensitivity.level_summary(swept)
    assert set(summary.columns) >= {"config", "level", "median", "ci_low", "ci_high", "chance"}
    assert (summary["ci_low"] <= summary["median"]).all() and (summary["median"] <= summary["ci_high"]).all()
    broken = sensitivity.breakdown(summary, [0.2, 0.8], threshold=1.01)
    assert (broken == 0.2).all()                      # nothing reaches 1.01: all break at the first level
    assert sensitivity.breakdown(summary, [0.2, 0.8], threshold=0.0).isna().all()


def test_beats_nmf_needs_every_participant():
    rows = []
    for participant, nmf, ae in (("P01", 0.8, 0.9), ("P02", 0.8, 0.85), ("P03", 0.8, 0.7)):
        rows += [{"level": 1, "participant": participant, "method": "NMF", "config": "NMF", "truth_similarity": nmf},
                 {"level": 1, "participant": participant, "method": "AE", "config": "relu/tanh",
                  "truth_similarity": ae}]
    table = pd.DataFrame(rows)
    assert sensitivity.beats_nmf(table).empty
    table.loc[table["participant"] == "P03", "truth_similarity"] = [0.8, 0.81]
    wins = sensitivity.beats_nmf(table)
    assert wins["config"].tolist() == ["relu/tanh"] and wins["median_gain"].iloc[0] == pytest.approx(0.05)


@pytest.mark.parametrize("args, message", [
    (("no_such_option", [0.1, 0.2]), "not an option"),
    (("synergy_overlap", [0.3]), "at least 2 distinct"),
    (("nonlinearity", [0.0, 1.0]), "no effect on linear mixing"),
])
def test_bad_sweeps_are_refused_before_any_work(args, message):
    with pytest.raises(ValueError, match=message):
        sensitivity.sweep(TINY, *args, n_participants=2)


def test_every_default_axis_has_levels_and_is_a_generator_option():
    from synlib.simulate import SimulationConfig

    for axis, levels in sensitivity.DEFAULT_LEVELS.items():
        assert axis in SimulationConfig.__dataclass_fields__ and len(levels) >= 3
        SimulationConfig(**{axis: levels[-1], **sensitivity.AXIS_OPTIONS.get(axis, {})})
    assert np.all(np.diff(sensitivity.DEFAULT_LEVELS["synergy_overlap"]) > 0)


def test_pairs_and_levels_resolve_from_the_chapter_parameters():
    assert len(sensitivity.resolve_pairs("all", "unused")[0]) == 16
    assert sensitivity.resolve_pairs(["relu/tanh", ("linear", "linear")], "unused")[0] == [
        ("relu", "tanh"), ("linear", "linear")]
    with pytest.raises(ValueError, match="not .encoder, decoder. pairs"):
        sensitivity.resolve_pairs(["relu/softmax"], "unused")
    assert sensitivity.resolve_levels("synergy_overlap", None) == sensitivity.DEFAULT_LEVELS["synergy_overlap"]
    with pytest.raises(ValueError, match="no default levels"):
        sensitivity.resolve_levels("crosstalk", None)
    broken = pd.Series({"NMF": np.nan, "relu/tanh": 0.7})
    assert sensitivity.describe_breakdown(broken, "synergy_overlap", 0.8) == (
        "Along synergy_overlap (median recovery below 0.8): NMF never falls below it; relu/tanh falls below it at 0.7.")


def test_verdict_pairs_read_the_trade_off_chapter_medians(tmp_path, monkeypatch):
    from synlib import results

    monkeypatch.setenv("SYNLIB_RESULTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="tradeoff_intervals"):
        sensitivity.verdict_pairs("unit")
    rows = [("NMF", "r2_test", 0.99), ("tanh/relu", "r2_test", 0.8), ("relu/relu", "r2_test", 0.7),
            ("NMF", "truth_similarity", 0.99), ("sigmoid/linear", "truth_similarity", 0.9),
            ("tanh/relu", "truth_similarity", 0.6)]
    intervals = pd.DataFrame(rows, columns=["config", "measure", "median"])
    results.write_table(intervals.assign(n=3, ci_low=intervals["median"] - 0.05, ci_high=intervals["median"] + 0.05,
                                         rule="truth")[list(schema.TABLES["tradeoff_intervals"].names)],
                        "unit", "tradeoff_intervals")
    assert sensitivity.verdict_pairs("unit") == [("tanh", "relu"), ("sigmoid", "linear"), ("relu", "tanh"),
                                                 ("linear", "linear")]
