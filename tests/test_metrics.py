"""Every measure of synlib.metrics on cases small enough to compute by hand."""

from __future__ import annotations

import numpy as np
import pytest

from synlib import metrics
from synlib.metrics import Matching


# --- reconstruction ------------------------------------------------------------------------------

X = np.array([[1.0, 2.0], [3.0, 6.0]])
XHAT = np.array([[1.0, 3.0], [3.0, 5.0]])  # SSE = 2


def test_r2_centred_by_hand():
    # Σ (x − muscle mean)² = (1 + 1) + (4 + 4) = 10
    assert metrics.r2_centred(X, XHAT) == pytest.approx(1 - 2 / 10)


def test_r2_global_by_hand():
    # grand mean 3: Σ (x − 3)² = 4 + 1 + 0 + 9 = 14
    assert metrics.r2_global(X, XHAT) == pytest.approx(1 - 2 / 14)


def test_vaf_by_hand():
    # Σ x² = 1 + 4 + 9 + 36 = 50
    assert metrics.vaf(X, XHAT) == pytest.approx(1 - 2 / 50)


def test_r2_rejects_shape_mismatch_and_constant_data():
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.r2_centred(X, XHAT[:1])
    with pytest.raises(ValueError, match="no variation"):
        metrics.r2_centred(np.ones((3, 2)), np.ones((3, 2)))


# --- matching ------------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
A = np.abs(RNG.normal(size=(4, 6)))
A /= np.linalg.norm(A, axis=1, keepdims=True)


@pytest.mark.parametrize("match", [metrics.match_synergies, metrics.match_synergies_greedy])
def test_matching_recovers_a_permuted_rescaled_copy(match):
    perm = np.array([2, 0, 3, 1])
    B = 3.5 * A[perm]
    m = match(A, B)
    # row i of A sits at the position of i in perm
    assert m.rows.tolist() == [0, 1, 2, 3]
    assert m.cols.tolist() == np.argsort(perm).tolist()
    np.testing.assert_allclose(m.similarity, 1.0)


def test_hungarian_matching_is_invariant_to_each_rows_scale():
    B = A[[1, 0, 3, 2]] + 0.05
    scales = np.array([[0.1], [10.0], [2.0], [0.5]])
    m1 = metrics.match_synergies(A, B)
    m2 = metrics.match_synergies(A, scales * B)
    assert m1.cols.tolist() == m2.cols.tolist()
    np.testing.assert_allclose(m1.similarity, m2.similarity)


def test_greedy_takes_the_largest_dot_product_first():
    A2 = np.array([[1.0, 0.0], [0.6, 0.8]])
    B2 = np.array([[0.8, 0.6], [0.0, 1.0]])
    # dot products: A0·B0 = 0.8, A0·B1 = 0, A1·B0 = 0.96, A1·B1 = 0.8
    greedy = metrics.match_synergies_greedy(A2, B2)
    assert greedy.cols.tolist() == [1, 0]
    np.testing.assert_allclose(greedy.similarity, [0.0, 0.96])
    hungarian = metrics.match_synergies(A2, B2)
    assert hungarian.cols.tolist() == [0, 1]
    assert hungarian.mean == pytest.approx(0.8) and greedy.mean == pytest.approx(0.48)


def test_greedy_depends_on_the_scale_of_single_rows():
    A2 = np.array([[1.0, 0.0], [0.6, 0.8]])
    B2 = np.array([[0.8, 0.6], [0.0, 1.0]])
    # Scaling B's second row by 2 makes A1·B1 = 1.6 the largest: the pairing flips.
    assert metrics.match_synergies_greedy(A2, B2 * [[1.0], [2.0]]).cols.tolist() == [0, 1]


def test_matching_sets_of_different_sizes_uses_up_the_smaller():
    m = metrics.match_synergies_greedy(A, A[[3, 1]])
    assert m.rows.tolist() == [1, 3] and m.cols.tolist() == [1, 0]


def test_matching_rejects_different_muscles():
    with pytest.raises(ValueError, match="same muscles"):
        metrics.match_synergies_greedy(np.eye(3), np.eye(4))


# --- activation correlation ----------------------------------------------------------------------

def test_activation_correlation_by_hand():
    C1 = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    C2 = np.array([[5.0, 3.0], [5.0, 2.0], [5.0, 1.0]])
    m = Matching(rows=np.array([0, 1]), cols=np.array([1, 0]), similarity=np.ones(2))
    r = metrics.activation_correlation(C1, C2, m)
    # C1[:,0] = 1,2,3 against 3,2,1 → −1; C1[:,1] against a constant column → 0 by definition
    np.testing.assert_allclose(r, [-1.0, 0.0])


def test_activation_correlation_partial_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 3.0, 2.0, 4.0])
    # dx = (−1.5, −.5, .5, 1.5), dy = (−1.5, .5, −.5, 1.5): Σ dx·dy = 4, Σ dx² = Σ dy² = 5 → r = 0.8
    m = Matching(rows=np.array([0]), cols=np.array([0]), similarity=np.ones(1))
    assert metrics.activation_correlation(x[:, None], y[:, None], m)[0] == pytest.approx(0.8)


def test_activation_correlation_rejects_different_samples():
    m = Matching(rows=np.array([0]), cols=np.array([0]), similarity=np.ones(1))
    with pytest.raises(ValueError, match="same samples"):
        metrics.activation_correlation(np.ones((3, 1)), np.ones((4, 1)), m)


# --- Hoyer sparseness ----------------------------------------------------------------------------

def test_hoyer_extremes_and_a_middle_case():
    W = np.array([[0.0, 0.0, -2.0, 0.0], [0.5, -0.5, 0.5, 0.5], [3.0, 4.0, 0.0, 0.0]])
    # third: L1 = 7, L2 = 5, √4 = 2 → (2 − 1.4) / 1 = 0.6
    np.testing.assert_allclose(metrics.hoyer_sparseness(W), [1.0, 0.0, 0.6])


def test_hoyer_of_a_zero_row_is_nan_and_short_rows_are_rejected():
    assert np.isnan(metrics.hoyer_sparseness(np.zeros(5))[0])
    with pytest.raises(ValueError, match="at least 2"):
        metrics.hoyer_sparseness([[1.0], [2.0]])


# --- negative and saturated values ---------------------------------------------------------------

def test_negative_fraction_counts_strict_negatives():
    assert metrics.negative_fraction([0.0, -0.0, -1e-12, 2.0]) == 0.25


def test_negative_fraction_rejects_empty_and_nan():
    with pytest.raises(ValueError, match="empty"):
        metrics.negative_fraction([])
    with pytest.raises(ValueError, match="NaN"):
        metrics.negative_fraction([1.0, np.nan])


@pytest.mark.parametrize(
    "activation, values, expected",
    [
        ("sigmoid", [0.0005, 0.5, 0.9995, 0.998], 0.5),
        ("tanh", [-0.9999, 0.0, 0.9992, 0.99], 0.5),
        ("relu", [0.0, 1e-12, 3.0, 0.0], 0.0),  # silence is not saturation
        ("linear", [-100.0, 0.0, 1.0, 100.0], 0.0),
    ],
)
def test_saturation_fraction_at_each_activations_bounds(activation, values, expected):
    assert metrics.saturation_fraction(values, activation, tol=1e-3) == expected


def test_saturation_fraction_rejects_unknown_activation_and_negative_tol():
    with pytest.raises(ValueError, match="'elu' has no saturation bounds"):
        metrics.saturation_fraction([0.0], "elu")
    with pytest.raises(ValueError, match="tol"):
        metrics.saturation_fraction([0.0], "tanh", tol=-1)


# --- across participants and against the truth ---------------------------------------------------

def test_cross_participant_consistency_by_hand():
    sets = {"P1": np.eye(2), "P2": 2 * np.eye(2)[::-1], "P3": np.array([[1.0, 0.0], [0.6, 0.8]])}
    pairs = metrics.cross_participant_similarity(sets)
    assert pairs[["participant_a", "participant_b"]].values.tolist() == [["P1", "P2"], ["P1", "P3"], ["P2", "P3"]]
    # P1/P3: identity pairing, (1 + 0.8) / 2 = 0.9
    np.testing.assert_allclose(pairs["similarity"], [1.0, 0.9, 0.9])
    assert metrics.cross_participant_consistency(sets) == pytest.approx(2.8 / 3)


def test_cross_participant_consistency_needs_two_sets():
    with pytest.raises(ValueError, match="at least 2"):
        metrics.cross_participant_consistency({"P1": np.eye(2)})


def test_truth_similarity_counts_an_unmatched_true_synergy_as_zero():
    truth = np.eye(5)
    assert metrics.truth_similarity(5 * truth[[1, 2, 0, 4, 3]], truth) == 1.0
    assert metrics.truth_similarity(truth[:2], truth) == 0.4
    merged = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # two of three true synergies merged into one
    assert metrics.truth_similarity(merged, np.eye(3)) == pytest.approx((np.sqrt(0.5) + 1.0) / 3)
    surplus = np.vstack([np.eye(3), np.ones((1, 3))])
    assert metrics.truth_similarity(surplus, np.eye(3)) == 1.0


def test_truth_precision_counts_an_extra_synergy_as_zero():
    truth = np.eye(4)[:3]
    assert metrics.truth_precision(truth[:2], truth) == 1.0
    extra = np.vstack([truth, [[0.0, 0.0, 0.0, 1.0]]])  # orthogonal to every true synergy
    assert metrics.truth_precision(extra, truth) == pytest.approx(0.75)
    half = np.vstack([truth, [[1.0, 0.0, 0.0, 1.0]]])   # its best partner is taken: still 0
    assert metrics.truth_precision(half, truth) == pytest.approx(0.75)
    assert metrics.truth_similarity(half, truth) == 1.0


def test_chance_similarity_by_hand_and_below_a_real_match():
    # A one-muscle synergy shuffled over 4 muscles lands on its true muscle 1 time in 4.
    truth = np.eye(4)[:1]
    chance = metrics.chance_similarity(metrics.truth_similarity, truth, truth, n_draws=4000, random_state=1)
    assert chance == pytest.approx(0.25, abs=0.03)
    rng = np.random.default_rng(0)
    W = rng.random((4, 16)) ** 3
    assert metrics.chance_similarity(metrics.truth_similarity, W, W) < metrics.truth_similarity(W, W) - 0.1
    # the same seed gives the same baseline; shuffling keeps each row's sparseness
    assert (metrics.chance_similarity(metrics.truth_precision, W, W, random_state=3)
            == metrics.chance_similarity(metrics.truth_precision, W, W, random_state=3))
    np.testing.assert_allclose(metrics.hoyer_sparseness(metrics.shuffled_synergies(W, rng)),
                               metrics.hoyer_sparseness(W))
    with pytest.raises(ValueError, match="n_draws"):
        metrics.chance_similarity(metrics.truth_similarity, W, W, n_draws=0)


def test_set_stability_of_seeds():
    assert metrics.set_stability({"s0": np.eye(3), "s1": np.eye(3)[[2, 0, 1]]}) == 1.0
    assert metrics.set_stability([np.eye(2), np.array([[1.0, 0.0], [0.6, 0.8]])]) == pytest.approx(0.9)
    assert np.isnan(metrics.set_stability([np.eye(2)]))


def test_dead_unit_fraction():
    C = np.column_stack([np.zeros(5), np.arange(5.0), np.full(5, 0.7), 1e-6 * np.arange(5.0)])
    assert metrics.dead_unit_fraction(C) == 0.75
    assert metrics.dead_unit_fraction(np.zeros((3, 2))) == 1.0
    with pytest.raises(ValueError, match="samples × k"):
        metrics.dead_unit_fraction(np.zeros(3))


def test_preferred_direction_error_by_hand():
    angles = np.radians(np.arange(0, 360, 45))
    u = np.column_stack([np.cos(angles), np.sin(angles)])
    true_C = np.column_stack([1 + u[:, 0], 1 + u[:, 1]])          # tuned to +x and +y
    rotated = np.radians(30)
    C = np.column_stack([1 + u @ [np.cos(rotated), np.sin(rotated)], 1 + u[:, 1]])
    W = np.eye(2)
    assert metrics.direction_error(C, true_C, W, W, u) == pytest.approx(15.0)  # (30 + 0) / 2
    with pytest.raises(ValueError, match="more than 2 conditions"):
        metrics.preferred_directions(true_C[:2], u[:2])


def test_row_similarity_needs_one_shape():
    with pytest.raises(ValueError, match="one shape"):
        metrics.row_similarity(np.eye(2), np.eye(3)[:, :2])


def test_activation_truth_correlation_by_hand():
    truth = np.eye(2)
    true_C = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
    # Extracted in the other order; the first true activation's partner is reversed in time.
    C = np.column_stack([true_C[:, 1], true_C[::-1, 0]])
    r = metrics.activation_truth_correlation(C, true_C, truth[::-1], truth)
    assert r == pytest.approx((-1.0 + 1.0) / 2)
    # With only one extracted synergy only its pair counts.
    assert metrics.activation_truth_correlation(true_C[:, :1], true_C, truth[:1], truth) == pytest.approx(1.0)


def test_activation_truth_correlation_checks_columns_against_synergies():
    with pytest.raises(ValueError, match="one column per synergy"):
        metrics.activation_truth_correlation(np.ones((4, 3)), np.ones((4, 2)), np.eye(2), np.eye(2))


def test_saturation_bounds_agree_with_the_autoencoder_registry():
    autoencoder = pytest.importorskip("synlib.autoencoder")
    for name, (bounds, _) in metrics.ACTIVATION_BOUNDS.items():
        if name == "relu":
            continue  # its lower bound is silence, deliberately not counted (see ACTIVATION_BOUNDS)
        finite = tuple(b for b in autoencoder.ACTIVATIONS[name].bounds if np.isfinite(b))
        assert bounds == finite, name


def test_saturation_of_an_activation_added_to_the_registry(monkeypatch):
    autoencoder = pytest.importorskip("synlib.autoencoder")
    softsign = autoencoder.Activation("softsign", lambda a: a, lambda a, h: a, (-1.0, 1.0))
    monkeypatch.setitem(autoencoder.ACTIVATIONS, "softsign", softsign)
    values = [-0.9995, 0.0, 0.5, 0.9999]
    # metrics knows no extractor: the caller gives the bounds, as the trade-off table does from the registry
    with pytest.raises(ValueError, match="'softsign' has no saturation bounds.*bounds="):
        metrics.saturation_fraction(values, "softsign")
    assert metrics.saturation_fraction(values, "softsign", bounds=(-1.0, 1.0)) == 0.5
    from synlib.autoencoder.activations import saturation_fraction

    assert saturation_fraction(values, "softsign", 1e-3) == 0.5


def test_truth_recovery_and_chance_name_a_participant_without_truth():
    extracted = {"P1": np.eye(3), "P2": np.eye(3)}
    for summary in (lambda: metrics.truth_recovery_table(extracted, {"P1": np.eye(3)}),
                    lambda: metrics.median_chance(metrics.truth_similarity, extracted, {"P1": np.eye(3)})):
        with pytest.raises(ValueError, match=r"no synergies for participant\(s\) \['P2'\]; it holds \['P1'\]"):
            summary()


def test_truth_recovery_table_has_one_row_per_matched_true_synergy():
    truth = {"P1": np.eye(4)[:3], "P2": np.eye(4)[1:]}
    extracted = {"P1": np.eye(4)[[1, 0, 2]], "P2": np.eye(4)[[3, 1]]}
    table = metrics.truth_recovery_table(extracted, truth)
    assert table.groupby("participant").size().to_dict() == {"P1": 3, "P2": 2}
    assert table.loc[table.participant == "P2", "true synergy"].tolist() == [1, 3]
    assert np.allclose(table["similarity"], 1.0)
