"""synlib.tradeoff on hand-made tables with known answers, and on a fake results folder."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from fake_study import write_fake_study
from hypothesis import given, settings
from hypothesis import strategies as st

from synlib import results, tradeoff

matplotlib.use("Agg")


def long_table(values: dict[str, list[float]], measure: str = "score", seeds=(0,)) -> pd.DataFrame:
    """A study table from {config: one value per participant}."""
    rows = []
    for config, per_participant in values.items():
        method, (encoder, decoder) = ("NMF", ("", "")) if config == "NMF" else ("AE", config.split("/"))
        for i, value in enumerate(per_participant):
            for seed in seeds:
                rows.append({"participant": f"P{i}", "method": method, "encoder": encoder, "decoder": decoder,
                             "config": config, "seed": seed, measure: value})
    return pd.DataFrame(rows)


# --- ordering and names -----------------------------------------------------------------------------

def test_config_order_puts_nmf_first_then_the_activation_order():
    assert tradeoff.config_order(["tanh/linear", "relu/tanh", "NMF", "linear/tanh", "relu/linear"]) == [
        "NMF", "linear/tanh", "relu/linear", "relu/tanh", "tanh/linear"]


def test_select_participants():
    ids = ["P01", "P02", "P03"]
    assert tradeoff.select_participants(ids, None) == ids
    assert tradeoff.select_participants(ids, 2) == ["P01", "P02"]
    assert tradeoff.select_participants(ids, ["P03"]) == ["P03"]
    with pytest.raises(ValueError, match=r"\['P09'\] have no results"):
        tradeoff.select_participants(ids, ["P09"])
    with pytest.raises(ValueError, match="participants=0"):
        tradeoff.select_participants(ids, 0)


# --- Holm, effect sizes, tests ---------------------------------------------------------------------

def test_holm_on_the_textbook_example():
    # Four hypotheses, p = 0.01, 0.04, 0.03, 0.005 (the example of the Holm–Bonferroni article):
    # sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 → 0.06 by monotonicity.
    adjusted = tradeoff.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert (adjusted <= 0.05).tolist() == [True, False, False, True]


def test_holm_caps_at_one_and_leaves_nan_out_of_the_count():
    adjusted = tradeoff.holm([0.5, np.nan, 0.2])
    # m = 2: 0.2·2 = 0.4, then max(0.5·1, 0.4) = 0.5
    np.testing.assert_allclose(adjusted, [0.5, np.nan, 0.4])
    np.testing.assert_allclose(tradeoff.holm([0.6, 0.7, 0.9]), [1.0, 1.0, 1.0])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=20))
def test_holm_never_lowers_a_pvalue_and_keeps_their_order(p):
    p = np.asarray(p)
    adjusted = tradeoff.holm(p)
    assert (adjusted >= p - 1e-15).all() and (adjusted <= 1).all()
    order = np.argsort(p, kind="stable")
    assert (np.diff(adjusted[order]) >= -1e-15).all()


def test_rank_biserial_by_hand():
    # differences 1, 2, −3, 4 → ranks 1, 2, 3, 4: R⁺ = 7, R⁻ = 3, r = 4 / 10
    assert tradeoff.rank_biserial([2, 4, 0, 9], [1, 2, 3, 5]) == pytest.approx(0.4)
    assert tradeoff.rank_biserial([1, 2, 3], [0, 0, 0]) == 1.0
    assert math.isnan(tradeoff.rank_biserial([1, 2], [1, 2]))


def test_friedman_with_perfect_agreement_by_hand():
    # 3 participants rank 3 configurations the same way: χ² = 12/(n k (k+1)) Σ R² − 3 n (k+1)
    # = 12/36 · (3² + 6² + 9²) − 36 = 6, p = exp(−6/2) for 2 degrees of freedom, W = 6 / (3·2) = 1.
    table = long_table({"linear/linear": [1, 2, 3], "relu/tanh": [4, 5, 6], "NMF": [7, 8, 9]})
    result = tradeoff.friedman_test(table, ["score"]).iloc[0]
    assert result["statistic"] == pytest.approx(6.0)
    assert result["pvalue"] == pytest.approx(math.exp(-3))
    assert result["kendalls_w"] == pytest.approx(1.0)
    assert (result["n_participants"], result["n_configurations"]) == (3, 3)


def test_friedman_drops_configurations_without_values_and_incomplete_participants():
    table = long_table({"NMF": [np.nan] * 4, "relu/relu": [1, 2, 3, 4], "relu/tanh": [2, 3, 4, np.nan],
                        "tanh/tanh": [3, 1, 5, 6]})
    wide = tradeoff.participant_table(table, "score")
    assert list(wide.columns) == ["relu/relu", "relu/tanh", "tanh/tanh"]
    assert list(wide.index) == ["P0", "P1", "P2"]


def test_friedman_without_any_difference_is_not_significant():
    table = long_table({"NMF": [1, 1], "relu/relu": [1, 1], "relu/tanh": [1, 1]})
    result = tradeoff.friedman_test(table, ["score"]).iloc[0]
    assert (result["statistic"], result["pvalue"], result["kendalls_w"]) == (0.0, 1.0, 0.0)


def test_pairwise_wilcoxon_by_hand():
    # relu/tanh beats linear/linear for all 6 participants: W = 0, exact two-sided p = 2 / 2⁶.
    table = long_table({"linear/linear": [1, 2, 3, 4, 5, 6],
                        "relu/tanh": [2, 4, 6, 8, 10, 12],
                        "tanh/tanh": [1, 2, 3, 4, 5, 6]})
    out = tradeoff.pairwise_wilcoxon(table, "score").set_index(["config_a", "config_b"])
    first = out.loc[("linear/linear", "relu/tanh")]
    assert first["statistic"] == 0 and first["pvalue"] == pytest.approx(2 / 64)
    assert first["rank_biserial"] == -1.0 and first["median_difference"] == -3.5
    # Identical columns: nothing to rank, p = 1.
    same = out.loc[("linear/linear", "tanh/tanh")]
    assert same["pvalue"] == 1.0 and math.isnan(same["statistic"])
    # Holm over the three pairs: 2/64 · 3 for the two equal smallest, then 1.
    np.testing.assert_allclose(out["pvalue_holm"], [3 * 2 / 64, 1.0, 3 * 2 / 64])


# --- configurations ----------------------------------------------------------------------------------

def test_config_summary_averages_seeds_then_takes_the_median_over_participants():
    table = long_table({"NMF": [1, 2, 3], "relu/tanh": [4, 5, 9]}, seeds=(0, 1))
    table.loc[(table["config"] == "relu/tanh") & (table["seed"] == 1), "score"] += 2  # seed means 5, 6, 10
    summary = tradeoff.config_summary(table, ["score"]).set_index("config")
    assert summary.loc["relu/tanh", "score"] == 6.0
    assert summary.loc["NMF", "score"] == 2.0
    assert summary.loc["NMF", "n_participants"] == 3
    means = tradeoff.config_summary(table, ["score"], statistic="mean").set_index("config")
    assert means.loc["relu/tanh", "score"] == 7.0


def summary_table() -> pd.DataFrame:
    configs = ["NMF", "linear/linear", "relu/linear", "relu/tanh", "tanh/tanh"]
    return pd.DataFrame({
        "method": ["NMF", "AE", "AE", "AE", "AE"],
        "config": configs,
        "r2_test": [0.80, 0.90, 0.88, 0.82, 0.85],
        "nmf_similarity": [1.0, 0.70, 0.75, 0.95, 0.80],
        "negative_activations": [0.0, 0.4, 0.3, 0.1, 0.2],
    })


def test_rank_agreement_by_hand():
    # Over the four pairs, reconstruction order is the exact reverse of similarity order: ρ = −1;
    # negative activations fall as similarity rises, so after orientation ρ = −1 too.
    out = tradeoff.rank_agreement(summary_table(), "r2_test", ["nmf_similarity", "negative_activations"])
    np.testing.assert_allclose(out["rho"], [-1.0, -1.0])
    assert out["n_configurations"].tolist() == [4, 4]


def _wide_rows(values: dict) -> pd.DataFrame:
    """Participant × configuration rows from config → list of per-participant values."""
    return pd.DataFrame([{"participant": f"P{i:02d}", "config": c, "method": "NMF" if c == "NMF" else "AE",
                          "encoder": "", "decoder": "", "m": v} for c, vs in values.items() for i, v in enumerate(vs)])


def test_top_set_keeps_what_cannot_be_told_apart(monkeypatch):
    monkeypatch.setitem(tradeoff.MEASURES, "m", tradeoff.Measure("m", "higher", "interpretability"))
    rng = np.random.default_rng(0)
    base = rng.random(12)
    rows = _wide_rows({"a/a": base + 1.0, "b/b": base + 1.0 + 0.01 * rng.normal(size=12), "c/c": base})
    top = tradeoff.top_set(rows, "m")
    assert top.set_index("config")["in_top"].to_dict() == {"a/a": True, "b/b": True, "c/c": False}
    assert top["rank"].tolist() == [1, 2, 3] or top["rank"].tolist() == [1, 1, 3] or top.iloc[0]["config"] in {"a/a", "b/b"}
    # five participants: no Wilcoxon test reaches 0.05, so nothing is separated
    few = _wide_rows({"a/a": [2, 2, 2, 2, 2.0], "c/c": [0, 0, 0, 0, 0.1]})
    assert tradeoff.top_set(few, "m")["in_top"].all()
    assert tradeoff.smallest_pvalue(5) == 0.0625


def test_top_set_refuses_a_measure_without_a_better_side_and_an_alpha_outside_zero_one(monkeypatch):
    monkeypatch.setitem(tradeoff.MEASURES, "m", tradeoff.Measure("m", "higher", "interpretability"))
    rows = _wide_rows({"a/a": np.arange(6.0), "c/c": np.zeros(6)})
    with pytest.raises(ValueError, match=r"measure='k' must be a measure with a better side"):
        tradeoff.top_set(rows, "k")
    for alpha in (0, 1.5, "0.05", True):
        with pytest.raises(ValueError, match=r"alpha=.* must be a number in \(0, 1\)"):
            tradeoff.top_set(rows, "m", alpha=alpha)
    with pytest.raises(ValueError, match=r"study 'fake' has no values of \['truth_similarity'\]"):
        tradeoff.require_measures("fake", ["r2_test", "m"], "r2_test", "truth_similarity")


def test_claim_verdicts_by_hand(monkeypatch):
    for name in ("r", "i"):
        monkeypatch.setitem(tradeoff.MEASURES, name, tradeoff.Measure(name, "higher", "interpretability"))
    n = 12
    ramp = np.linspace(0, 1, n)
    rows = _wide_rows({"relu/tanh": ramp, "linear/linear": ramp, "tanh/relu": ramp}).rename(columns={"m": "r"})
    rows["i"] = 0.0
    recon = {"linear/linear": 1.0, "relu/tanh": 0.0, "tanh/relu": 0.0}
    interp = {"linear/linear": 0.0, "relu/tanh": 1.0, "tanh/relu": 0.0}
    rows["r"] = rows["r"] + rows["config"].map(recon)
    rows["i"] = ramp[rows["participant"].str[1:].astype(int)] + rows["config"].map(interp)
    v = tradeoff.claim_verdicts(rows, "r", "i")
    assert (v["claim1"], v["claim2"]) == (tradeoff.REPRODUCED, tradeoff.REPRODUCED)
    assert v["top_reconstruction"] == ["linear/linear"] and v["pair_rank"] == 1
    rows.loc[rows["config"] == "linear/linear", "i"] += 2.0     # the best reconstructor is now the most interpretable
    v = tradeoff.claim_verdicts(rows, "r", "i")
    assert (v["claim1"], v["claim2"]) == (tradeoff.NOT_REPRODUCED, tradeoff.NOT_REPRODUCED)
    assert tradeoff.claim_verdicts(rows[rows["participant"] < "P04"], "r", "i")["claim1"] == tradeoff.NOT_DISTINGUISHABLE


def test_bootstrap_interval_covers_the_median_and_is_reproducible():
    values = np.random.default_rng(1).normal(0.8, 0.05, size=15)
    lo, hi = tradeoff.bootstrap_interval(values, random_state=3)
    assert lo < np.median(values) < hi and hi - lo < 0.1
    assert (lo, hi) == tradeoff.bootstrap_interval(values, random_state=3)
    assert np.isnan(tradeoff.bootstrap_interval([0.5])[0])
    with pytest.raises(ValueError, match="statistic"):
        tradeoff.bootstrap_interval(values, statistic="mode")


def test_format_pvalue_never_prints_zero():
    assert tradeoff.format_pvalue(0.0) == "< 1e-16"
    assert tradeoff.format_pvalue(float("nan")) == "n/a"


def test_pareto_front_seen_by_eye():
    #   y
    #   5 A
    #   4   B
    #   3     C
    #   2   D
    #   1 E   F         A, B, C are the front; D < B; E < A; F = (3, 1) < C = (3, 3).
    df = pd.DataFrame({"name": list("ABCDEF"), "x": [1, 2, 3, 2, 1, 3], "y": [5, 4, 3, 2, 1, 1]})
    assert df[tradeoff.pareto_front(df, "x", "y")["pareto"]]["name"].tolist() == ["A", "B", "C"]
    # Minimising y instead: E (1, 1) and F (3, 1) — F is better on x at equal y, so only F.
    assert df[tradeoff.pareto_front(df, "x", "y", maximize=(True, False))["pareto"]]["name"].tolist() == ["F"]


def test_pareto_front_keeps_ties_and_skips_missing_values():
    df = pd.DataFrame({"x": [1.0, 1.0, np.nan, 0.5], "y": [1.0, 1.0, 9.0, 0.5]})
    assert tradeoff.pareto_front(df, "x", "y")["pareto"].tolist() == [True, True, False, False]


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=12))
def test_pareto_front_is_not_dominated_and_dominates_the_rest(points):
    df = pd.DataFrame(points, columns=["x", "y"])
    on = tradeoff.pareto_front(df, "x", "y")["pareto"].to_numpy()
    p = df.to_numpy()
    dominates = lambda a, b: (a >= b).all() and (a > b).any()  # noqa: E731
    assert on.any()
    for i in range(len(p)):
        beaten = any(dominates(p[j], p[i]) for j in range(len(p)))
        assert on[i] == (not beaten)


# --- the fake results folder -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNLIB_RESULTS", str(tmp_path_factory.mktemp("results")))
        study = write_fake_study("fake", n_participants=3, seeds=(0, 1),
                                 pairs=[("linear", "linear"), ("relu", "tanh"), ("sigmoid", "relu")])
        yield study, tradeoff.load_study_table("fake")


def test_study_table_has_one_row_per_participant_configuration_and_seed(fake):
    study, table = fake
    assert len(table) == 3 + 3 * 3 * 2
    kept = table[table["kept"]]
    assert len(kept) == 3 + 3 * 3  # one seed kept per participant, pair and rank
    lowest = table[table["method"] == "AE"].groupby(["participant", "config"])["final_loss"].idxmin()
    assert table.loc[lowest, "kept"].all()
    assert table.loc[table["method"] == "AE", "seed_stability"].between(0, 1).all()
    assert set(table["config"]) == {"NMF", "linear/linear", "relu/tanh", "sigmoid/relu"}
    assert table["participant"].tolist()[:3] == ["P01", "P02", "P03"]


def test_study_table_measures_behave(fake):
    _, table = fake
    nmf = table[table["config"] == "NMF"]
    np.testing.assert_allclose(nmf[["nmf_similarity", "nmf_similarity_greedy", "nmf_activation_correlation"]], 1.0)
    assert nmf["hidden_saturation"].isna().all()
    by_config = table.groupby("config")
    assert (by_config.get_group("linear/linear")["hidden_saturation"] == 0).all()
    assert (by_config.get_group("relu/tanh")["hidden_saturation"] == 0).all()  # ReLU zeros are silence
    assert (by_config.get_group("sigmoid/relu")["hidden_saturation"] > 0).all()
    means = by_config[["nmf_similarity", "consistency", "truth_similarity"]].mean()
    assert means.loc["relu/tanh", "nmf_similarity"] > means.loc["linear/linear", "nmf_similarity"]
    assert means["consistency"].between(0, 1).all()
    assert table[tradeoff.measures_in(table, "interpretability")].notna().any().all()
    close = table[table["config"].isin(["NMF", "relu/tanh"])]  # the fake's noisy pairs sit near chance
    assert (close["nmf_similarity_chance"] < close["nmf_similarity"] - 0.1).all()


def test_study_table_computes_truth_from_given_arrays(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNLIB_RESULTS", str(tmp_path))
    truth = write_fake_study("fake", n_participants=2, pairs=[("relu", "tanh")], truth=False)
    plain = tradeoff.load_study_table("fake")
    assert "truth_similarity" not in tradeoff.measures_in(plain)
    assert plain["consistency"].notna().all()
    table = tradeoff.load_study_table("fake", 1, true_synergies=truth.true_synergies,
                                      true_activations_test=truth.true_activations_test)
    assert table["participant"].unique().tolist() == ["P01"]
    assert table["consistency"].isna().all()  # a single participant has nobody to agree with
    assert table["truth_similarity"].gt(0.9).all()
    assert table["truth_similarity_chance"].lt(0.9).all() and table["truth_precision"].gt(0.9).all()
    assert table["truth_activation_correlation"].between(0.5, 1).all()


def test_study_table_names_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNLIB_RESULTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="ae_fits_<encoder>_<decoder>"):
        tradeoff.load_study_table("empty")
    write_fake_study("broken", n_participants=2, pairs=[("relu", "tanh")])
    arrays = results.read_arrays("broken", "ae_relu_tanh")
    del arrays["P02.k4.s0.hidden_test"]
    results.write_arrays("broken", "ae_relu_tanh", **arrays)
    with pytest.raises(ValueError, match=r"ae_relu_tanh.npz has no array 'P02.k4.s0.hidden_test'"):
        tradeoff.load_study_table("broken")


def test_study_table_rejects_a_table_holding_another_pair(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNLIB_RESULTS", str(tmp_path))
    write_fake_study("swapped", n_participants=2, pairs=[("relu", "tanh")])
    fits = pd.read_csv(results.table_path("swapped", "ae_fits_relu_tanh"))
    results.write_table(fits.assign(decoder="relu"), "swapped", "ae_fits_relu_tanh")
    with pytest.raises(ValueError, match="pair relu/relu, not relu/tanh"):
        tradeoff.load_study_table("swapped")


def test_plots_draw_the_grid_front_and_spread(fake):
    import matplotlib.pyplot as plt

    from synlib.plots import tradeoff as plots

    _, table = fake
    summary = tradeoff.config_summary(table)
    grid = plots.pair_grid(summary, "r2_test")
    assert list(grid.index) == ["linear", "relu", "sigmoid"] and list(grid.columns) == ["linear", "relu", "tanh"]
    fig, axes = plt.subplots(1, 3)
    plots.pair_heatmap(summary, "nmf_similarity", ax=axes[0])
    assert len([t for t in axes[0].texts if t.get_text()]) == 3  # one annotation per pair present
    plots.pareto_plot(summary, "r2_test", "nmf_similarity", ax=axes[1])
    labels = {t.get_text() for t in axes[1].texts}
    assert labels == {"linear/linear", "relu/tanh", "sigmoid/relu"}
    assert "NMF" in [t.get_text() for t in axes[1].get_legend().get_texts()]
    plots.participant_spread(table, "r2_test", ax=axes[2])
    assert [t.get_text() for t in axes[2].get_yticklabels()] == tradeoff.config_order(table["config"])
    plt.close(fig)


# --- the chapter -----------------------------------------------------------------------------------

def glued(notebook) -> dict[str, str]:
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                values[name] = output["data"]["application/papermill.record/text/plain"]
    return values


@pytest.mark.slow
def test_chapter_runs_on_a_fake_study_and_glues_the_best_pairs(monkeypatch, tmp_path):
    import jupytext
    import nbformat
    import papermill

    from synlib import paths

    monkeypatch.setenv("SYNLIB_RESULTS", str(tmp_path / "results"))
    write_fake_study("fake", n_participants=3)
    source = tmp_path / "04_tradeoff.ipynb"
    nbformat.write(jupytext.read(paths.NOTEBOOKS / "04_tradeoff.py"), source)
    executed = tmp_path / "out.ipynb"
    papermill.execute_notebook(source, executed, parameters={"study": "fake", "chance_draws": 5}, kernel_name="python3",
                               progress_bar=False, cwd=str(tmp_path))
    values = glued(nbformat.read(executed, as_version=4))
    # In the fake study relu/tanh is built to stay closest to NMF, a linear decoder to reconstruct best;
    # with 3 participants no test can separate the pairs, and the page says so.
    assert values["claim1_verdict"] == "not distinguishable"
    assert values["best_interpretability_pair_label"] == "all 16 pairs"  # nothing separated
    assert float(values["paper_pair_rank_consistency"]) >= 1
    assert float(values["rank_correlation_rho"]) < 0


def test_truth_of_test_rows_takes_each_participants_rows():
    from types import SimpleNamespace

    activations = np.arange(10.0).reshape(5, 2)
    owners = np.array(["P1", "P2", "P1", "P2", "P2"])

    def select(participant):
        return SimpleNamespace(truth={"activations": activations[owners == participant]})

    envelopes = SimpleNamespace(true_synergies={"P1": np.eye(2), "P2": np.eye(2)}, participants=["P1", "P2"],
                                truth={"activations": activations}, select=select)
    synergies, by_participant = tradeoff.truth_of_test_rows(envelopes)
    assert sorted(synergies) == ["P1", "P2"]
    np.testing.assert_array_equal(by_participant["P1"], activations[[0, 2]])
    with pytest.raises(ValueError, match="no ground truth"):
        tradeoff.truth_of_test_rows(SimpleNamespace(true_synergies={}, truth={}))
