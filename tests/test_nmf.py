"""Tests of synlib.nmf: the estimator contract, input checks, the batched solver, rank selection,
agreement with scikit-learn and with musclesyneRgies' reference results, recovery of known synergies."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import nnls
from sklearn.base import clone
from sklearn.decomposition import NMF as SklearnNMF

from synlib.autoencoder import train_autoencoders
from synlib.device import resolve_device
from synlib.metrics import match_synergies, r2_centred, r2_global, vaf
from synlib.nmf import NMF, check_nonnegative_data, nnls_activations, rank_sweep
from synlib.ranks import linearity_rank, select_rank


def known_synergies(n_samples=600, n_muscles=8, k=3, noise=0.0, seed=0, n_groups=1):
    """Non-negative data from k sparse synergies and bursty activations (+ optional noise)."""
    rng = np.random.default_rng(seed)
    W = rng.random((k, n_muscles)) * (rng.random((k, n_muscles)) < 0.6)
    W[np.arange(k), rng.choice(n_muscles, k, replace=False)] = 1.0   # no empty synergy
    silent = ~W.any(axis=0)
    W[np.flatnonzero(silent) % k, np.flatnonzero(silent)] = 0.5       # no silent muscle
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    H = rng.random((n_samples, k)) ** 3
    X = H @ W
    if noise:
        X = np.abs(X + noise * X.std() * rng.standard_normal(X.shape))
    groups = np.repeat(np.arange(n_groups), int(np.ceil(n_samples / n_groups)))[:n_samples]
    return X, W, groups


# ---------------------------------------------------------------- input checks
@pytest.mark.parametrize("corrupt, message", [
    (lambda X: X.__setitem__((3, 2), -0.5), r"negative values.*sample 3, muscle 2"),
    (lambda X: X.__setitem__((5, 1), np.nan), r"NaN/inf.*sample 5, muscle 1"),
    (lambda X: X.__setitem__((0, 0), np.inf), r"NaN/inf.*sample 0, muscle 0"),
    (lambda X: X.__setitem__((slice(None), 4), 0.0), r"all-zero muscles: muscle 4"),
])
def test_bad_data_is_rejected_naming_sample_and_muscle(corrupt, message):
    X, _, _ = known_synergies()
    corrupt(X)
    with pytest.raises(ValueError, match=message):
        NMF(2).fit(X)


def test_bad_data_names_the_muscle_of_a_dataframe():
    X, _, _ = known_synergies(n_muscles=3)
    frame = pd.DataFrame(X, columns=["biceps", "triceps", "deltoid"])
    frame["triceps"] = 0.0
    with pytest.raises(ValueError, match=r"muscle 1 \('triceps'\)"):
        check_nonnegative_data(frame)


@pytest.mark.parametrize("k", [0, -1, 9, 2.5, True])
def test_rank_outside_one_to_muscles_is_rejected(k):
    X, _, _ = known_synergies(n_muscles=8)
    with pytest.raises(ValueError, match="number of synergies"):
        NMF(k).fit(X)


@pytest.mark.parametrize("option, value", [("max_iter", 0), ("tol", -1.0), ("n_restarts", 0),
                                           ("solver", "als"), ("init", "svd"), ("dtype", "float16"),
                                           ("window", 0), ("random_state", -1), ("device", 3),
                                           ("h_updates", 0), ("w_updates", 1.5)])
def test_bad_options_are_rejected_by_name(option, value):
    X, _, _ = known_synergies()
    with pytest.raises(ValueError, match=f"{option}.*{value!r}" if isinstance(value, str) else option):
        NMF(2, **{option: value}).fit(X)


def test_bad_sweep_options_are_rejected_by_name():
    X, _, _ = known_synergies()
    with pytest.raises(ValueError, match="'batching' parameter of rank_sweep.*'ranks'"):
        rank_sweep(X, batching="ranks")
    with pytest.raises(ValueError, match="'init' parameter of rank_sweep.*'svd'"):
        rank_sweep(X, init="svd")


def test_shape_and_empty_input_are_rejected():
    with pytest.raises(ValueError, match="samples × muscles"):
        NMF(1).fit(np.ones(5))
    with pytest.raises(ValueError, match="samples × muscles"):
        rank_sweep(np.ones((0, 3)))


def test_transform_checks_width_and_sign():
    X, _, _ = known_synergies()
    model = NMF(3, n_restarts=2, random_state=0, max_iter=200).fit(X)
    with pytest.raises(ValueError, match="expected samples × 8 muscles"):
        model.transform(X[:, :5])
    bad = X.copy()
    bad[1, 1] = -1
    with pytest.raises(ValueError, match="negative"):
        model.transform(bad)


# ---------------------------------------------------------------- estimator contract
def test_estimator_contract_and_learned_attributes():
    X, _, _ = known_synergies(noise=0.05)
    model = NMF(3, n_restarts=4, random_state=0, max_iter=300)
    assert clone(model).get_params() == model.get_params()
    assert model.fit(X) is model
    S, C = model.synergies_, model.activations_
    assert S.shape == (3, 8) and C.shape == (600, 3)
    assert (S >= 0).all() and (C >= 0).all()
    np.testing.assert_allclose(np.linalg.norm(S, axis=1), 1.0)
    Xhat = model.inverse_transform(C)
    assert model.r2_ == pytest.approx(r2_centred(X, Xhat), abs=1e-12)
    assert model.r2_global_ == pytest.approx(r2_global(X, Xhat), abs=1e-12)
    assert model.vaf_ == pytest.approx(vaf(X, Xhat), abs=1e-12)
    assert model.restart_r2_.shape == (4,) and model.r2_ == pytest.approx(model.restart_r2_.max())
    assert 1 <= model.n_iter_ <= 300
    np.testing.assert_array_equal(model.fit_transform(X), model.activations_)


def test_same_seed_same_numbers_and_sweep_equals_single_fit():
    X, _, _ = known_synergies(noise=0.05)
    a = NMF(2, n_restarts=3, random_state=7, max_iter=150).fit(X)
    b = NMF(2, n_restarts=3, random_state=7, max_iter=150).fit(X)
    np.testing.assert_array_equal(a.synergies_, b.synergies_)
    sweep = rank_sweep(X, ranks=[1, 2], n_restarts=3, random_state=7, max_iter=150)
    np.testing.assert_array_equal(sweep.models[2].synergies_, a.synergies_)
    c = NMF(2, n_restarts=3, random_state=8, max_iter=150).fit(X)
    assert not np.array_equal(c.restart_r2_, a.restart_r2_)


def test_transform_is_exact_nonnegative_least_squares():
    X, _, _ = known_synergies(noise=0.2, seed=3)
    model = NMF(3, n_restarts=2, random_state=0, max_iter=200).fit(X)
    C = model.transform(X[:40])
    expected = np.array([nnls(model.synergies_.T, x)[0] for x in X[:40]])
    np.testing.assert_allclose(C, expected, atol=1e-7)


def test_nnls_rejects_a_zero_synergy():
    with pytest.raises(ValueError, match="non-zero weight"):
        nnls_activations(np.ones((3, 2)), np.array([[1.0, 0.0], [0.0, 0.0]]))


# ---------------------------------------------------------------- solver
def test_multiplicative_updates_recover_known_synergies():
    X, W, _ = known_synergies(n_samples=1500, noise=0.02, seed=1)
    model = NMF(3, n_restarts=5, random_state=0).fit(X)
    assert np.median(match_synergies(model.synergies_, W).similarity) >= 0.95
    assert model.r2_ > 0.99


def test_hals_recovers_known_synergies_and_fits_no_worse_than_mu():
    X, W, _ = known_synergies(n_samples=1500, noise=0.02, seed=1)
    hals = NMF(3, n_restarts=5, random_state=0, solver="hals").fit(X)
    mu = NMF(3, n_restarts=5, random_state=0).fit(X)
    assert np.median(match_synergies(hals.synergies_, W).similarity) >= 0.95
    assert hals.r2_ >= mu.r2_ - 1e-4


@pytest.mark.parametrize("solver, updates", [("hals", {}), ("hals", {"h_updates": 2, "w_updates": 3}),
                                             ("mu", {"h_updates": 1, "w_updates": 1})])
def test_every_iteration_lowers_the_loss(solver, updates):
    # the runs are deterministic, so a run stopped after t iterations is the first t iterations of a longer one
    X = np.random.default_rng(3).random((300, 7))
    r2 = [NMF(4, n_restarts=1, random_state=0, solver=solver, max_iter=t, tol=0, dtype="float64",
              **updates).fit(X).r2_ for t in range(1, 41)]
    assert np.all(np.diff(r2) >= -1e-12), np.diff(r2).min()
    assert r2[-1] > r2[0] + 0.01


@pytest.mark.parametrize("init", ["nndsvd", "nndsvda"])
def test_svd_starts_are_deterministic_and_are_scikit_learns(init):
    from sklearn.decomposition._nmf import _initialize_nmf

    from synlib.nmf import _SingularVectors

    X, _, _ = known_synergies(noise=0.05)
    H, W = _SingularVectors(X).start(3, fill_zeros=init == "nndsvda")
    H_sklearn, W_sklearn = _initialize_nmf(X, 3, init=init, random_state=0)
    np.testing.assert_allclose(H, H_sklearn, atol=1e-10)
    np.testing.assert_allclose(W, W_sklearn, atol=1e-10)
    fits = [NMF(3, n_restarts=1, init=init, solver="hals", random_state=seed).fit(X) for seed in (None, 1, 2)]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.synergies_, fits[0].synergies_)
    # the other restarts are the random starts of init="random"
    svd_start = NMF(3, n_restarts=3, init=init, solver="hals", random_state=4, max_iter=50).fit(X)
    random_start = NMF(3, n_restarts=3, solver="hals", random_state=4, max_iter=50).fit(X)
    np.testing.assert_array_equal(svd_start.restart_r2_[1:], random_start.restart_r2_[1:])


def test_hals_from_nndsvda_follows_scikit_learns_coordinate_descent():
    X, _, _ = known_synergies(n_samples=2000, n_muscles=10, k=4, noise=0.1, seed=4)
    ours = NMF(4, n_restarts=1, init="nndsvda", solver="hals", tol=1e-7, random_state=0).fit(X)
    theirs = SklearnNMF(4, solver="cd", init="nndsvda", max_iter=1000, tol=1e-6)
    C = theirs.fit_transform(X)
    assert ours.r2_ >= r2_centred(X, C @ theirs.components_) - 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_cuda_gives_the_cpu_fit(solver):
    X, _, _ = known_synergies(noise=0.05)
    options = dict(n_restarts=3, random_state=0, solver=solver, dtype="float64", max_iter=300)
    cpu = NMF(3, device="cpu", **options).fit(X)
    gpu = NMF(3, device="cuda", **options).fit(X)
    np.testing.assert_allclose(gpu.restart_r2_, cpu.restart_r2_, atol=1e-6)


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_padded_batching_gives_the_same_fits_as_batching_by_rank(solver):
    X, _, _ = known_synergies(noise=0.05)
    by_rank = rank_sweep(X, ranks=[1, 2, 4], n_restarts=2, random_state=0, max_iter=200, solver=solver)
    padded = rank_sweep(X, ranks=[1, 2, 4], n_restarts=2, random_state=0, max_iter=200, batching="all",
                        solver=solver)
    np.testing.assert_allclose(padded.curve["r2_centred"], by_rank.curve["r2_centred"], atol=1e-9)
    np.testing.assert_array_equal(padded.curve["n_iter"], by_rank.curve["n_iter"])


def test_float32_iterations_match_float64_within_tolerance():
    X, _, _ = known_synergies(noise=0.05)
    r64 = NMF(3, n_restarts=3, random_state=0, max_iter=300, tol=0).fit(X).restart_r2_
    r32 = NMF(3, n_restarts=3, random_state=0, max_iter=300, tol=0, dtype="float32").fit(X).restart_r2_
    np.testing.assert_allclose(r32, r64, atol=1e-4)


def test_plateau_rule_stops_earlier_with_a_looser_tolerance():
    X, _, _ = known_synergies(noise=0.1)
    tight = NMF(3, n_restarts=2, random_state=0, max_iter=400, tol=1e-9, dtype="float64").fit(X)
    loose = NMF(3, n_restarts=2, random_state=0, max_iter=400, tol=1e-3, dtype="float64").fit(X)
    assert tight.n_iter_ == 400
    assert 20 < loose.n_iter_ < 400
    assert tight.r2_ >= loose.r2_ - 1e-12


@pytest.mark.parametrize("extra", [{"w_updates": 3}, {"h_updates": 2}])
def test_extra_updates_converge_no_worse_per_iteration(extra):
    X, _, _ = known_synergies(n_samples=1500, n_muscles=12, k=5, noise=0.1, seed=2)
    plain = NMF(5, n_restarts=3, random_state=0, max_iter=150, tol=0, h_updates=1, w_updates=1).fit(X)
    accelerated = NMF(5, n_restarts=3, random_state=0, max_iter=150, tol=0,
                      **{"h_updates": 1, "w_updates": 1, **extra}).fit(X)
    assert accelerated.r2_ > plain.r2_


def test_agrees_with_scikit_learn_multiplicative_updates():
    X, _, _ = known_synergies(n_samples=2000, n_muscles=10, k=4, noise=0.1, seed=4)
    budget = 500
    ours = NMF(4, n_restarts=5, random_state=0, max_iter=budget).fit(X)
    theirs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # scikit-learn warns when it reaches max_iter
        for seed in range(5):
            model = SklearnNMF(4, solver="mu", init="random", max_iter=budget, random_state=seed)
            C = model.fit_transform(X)
            theirs.append(r2_centred(X, C @ model.components_))
    assert abs(ours.r2_ - max(theirs)) <= 0.002


# ---------------------------------------------------------------- rank selection
def test_rank_sweep_keeps_every_restart_and_the_best_model():
    X, _, _ = known_synergies(noise=0.05)
    sweep = rank_sweep(X, ranks=[1, 2, 3, 4], n_restarts=3, random_state=0, max_iter=300)
    assert len(sweep.curve) == 12
    assert set(sweep.curve.columns) >= {"k", "restart", "r2_centred", "r2_global", "vaf", "n_iter", "best"}
    assert (sweep.curve.groupby("k")["best"].sum() == 1).all()
    for k, model in sweep.models.items():
        assert model.synergies_.shape == (k, 8)
        assert model.r2_ == pytest.approx(sweep.best()[k])
    assert sweep.best().is_monotonic_increasing


def test_threshold_rule_picks_the_smallest_rank_reaching_it():
    X, _, _ = known_synergies(noise=0.05)
    sweep = rank_sweep(X, ranks=[1, 2, 3, 4, 5], n_restarts=3, random_state=0, max_iter=300)
    best = sweep.best()
    threshold = float((best[2] + best[3]) / 2)
    assert select_rank(sweep, "threshold", threshold=threshold) == 3
    with pytest.warns(UserWarning, match="no rank reaches"):
        assert select_rank(sweep, "threshold", threshold=1.0) == 5
    with pytest.raises(ValueError, match="unknown rank method"):
        select_rank(sweep, "elbow")
    with pytest.raises(ValueError, match="needs held-out groups"):
        select_rank(sweep, "cv")


def test_linearity_rule_follows_musclesynergies():
    # the tail from k=4 is a straight line; before it the curve bends
    curve = pd.Series([0.30, 0.60, 0.80, 0.90, 0.92, 0.94, 0.96, 0.98], index=range(1, 9))
    assert linearity_rank(curve) == 4
    # a curve that is never linear ends at k_max − 1, as in the R package
    bent = pd.Series([0.1, 0.5, 0.9, 0.91], index=range(1, 5))
    assert linearity_rank(bent, mse_min=0.0) == 3


def test_cross_validation_finds_the_true_rank():
    X, _, groups = known_synergies(n_samples=1200, n_muscles=12, k=4, noise=0.15, seed=5, n_groups=3)
    sweep = rank_sweep(X, ranks=range(1, 9), n_restarts=2, random_state=0, max_iter=300,
                       cv_groups=groups, cv_muscle_folds=3)
    assert set(sweep.cv["held_out"]) == {0, 1, 2}
    assert select_rank(sweep, "cv") == 4


# ---------------------------------------------------------------- real and simulated data
@pytest.mark.realdata
@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_agrees_with_musclesynergies_on_its_15_gait_participants(musclesynergies_dir, solver):
    from synlib.datasets import musclesynergies_reference

    reference = musclesynergies_reference()
    assert len(reference) == 15
    for record in reference:
        model = NMF(record["k"], n_restarts=10, random_state=0, solver=solver).fit(record["V"])
        matched = match_synergies(model.synergies_, record["synergies"])
        assert model.r2_global_ >= record["r2"] - 0.001, record["participant"]
        assert matched.mean >= 0.98, record["participant"]


@pytest.mark.slow
def test_recovers_the_true_synergies_of_the_linear_simulated_cohort():
    from synlib import datasets
    from synlib.preprocess import preprocess

    envelopes = preprocess(datasets.load("simulated", n_participants=3, n_repetitions=2), progress=False)
    similarities = []
    for participant in envelopes.participants:
        part = envelopes.select(participant)
        truth = part.true_synergies[participant]
        model = NMF(len(truth), n_restarts=5, random_state=0).fit(part.X)
        similarities.extend(match_synergies(model.synergies_, truth).similarity)
    assert np.median(similarities) >= 0.95


def test_compare_with_reference_tabulates_each_solver_and_record():
    from synlib.nmf import compare_with_reference

    X, W, _ = known_synergies(n_samples=600, n_muscles=8, k=3, noise=0.0, seed=2)
    records = [{"participant": "p1", "V": X, "k": 3, "synergies": W, "r2": 0.99}]
    table, fitted = compare_with_reference(records, solvers=("mu", "hals"), n_restarts=2)
    assert list(table["solver"]) == ["mu", "hals"] and set(fitted) == {("mu", "p1"), ("hals", "p1")}
    assert (table["similarity_min"] > 0.99).all()
    np.testing.assert_allclose(table["r2_difference"], table["r2_synlib"] - 0.99)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_both_extractors_refuse_cuda_on_a_machine_without_it_before_any_work():
    X, _, _ = known_synergies(noise=0.05)
    message = "device 'cuda' requested but PyTorch sees no CUDA device; use 'auto' or 'cpu'"
    with pytest.raises(ValueError, match=re.escape(message)):
        NMF(3, device="cuda").fit(X)
    with pytest.raises(ValueError, match=re.escape(message)):
        train_autoencoders([X], 3, [("relu", "tanh")], seeds=[0], epochs=2, device="cuda")
    assert resolve_device("auto") == torch.device("cpu")  # the default of both, here
