"""Training to convergence: the batched bound-constrained L-BFGS, the converged specification and distinct starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import nnls

from synlib.autoencoder import Autoencoder, TrainingOptions, train_autoencoders
from synlib.autoencoder.fitting import fit_batch, initial_parameters, resume_batch, start_seed
from synlib.autoencoder._layout import Layout
from synlib.autoencoder.quasi_newton import CAPPED, CONVERGED, STALLED, minimise


@pytest.fixture(autouse=True, scope="module")
def private_cache(tmp_path_factory):
    """The compiled kernel goes into a temporary cache folder, never the checkout's or the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNLIB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def synergy_data(n=2000, m=8, k=3, seed=0):
    """Non-negative data made of k synergies with a little noise (samples × muscles)."""
    rng = np.random.default_rng(seed)
    W = rng.random((k, m))
    C = np.abs(np.sin(np.linspace(0, 20, n)[:, None] * (1 + np.arange(k)) + rng.random(k)))
    return C @ W / k + 0.02 * rng.random((n, m))


# --- the solver ---------------------------------------------------------------------------------


def _least_squares_problems(n_problems=6, rows=40, p=5, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n_problems, rows, p))
    b = rng.normal(size=(n_problems, rows))
    return torch.from_numpy(A), torch.from_numpy(b)


def _evaluate(A, b):
    def evaluate(x, active):
        r = torch.einsum("mrp,mp->mr", A, x) - b
        loss = (r * r).sum(1).numpy() / r.shape[1]
        grad = 2 * torch.einsum("mrp,mr->mp", A, r) / r.shape[1]
        return np.where(active, loss, 0.0), grad * torch.from_numpy(active)[:, None]
    return evaluate


def test_the_solver_finds_the_non_negative_least_squares_solution_of_every_problem():
    A, b = _least_squares_problems()
    x0 = torch.ones(A.shape[0], A.shape[2], dtype=torch.float64)
    free = torch.ones_like(x0, dtype=torch.bool)
    run = minimise(_evaluate(A, b), x0, free, torch.zeros(A.shape[2], dtype=torch.float64), max_evaluations=500,
                   window=10, tol=1e-10)
    for i in range(A.shape[0]):
        expected, _ = nnls(A[i].numpy(), b[i].numpy())
        np.testing.assert_allclose(run.x[i].numpy(), expected, atol=1e-4)
        assert run.reason[i] in (CONVERGED, STALLED)
    assert (run.x >= 0).all(), "every point the solver returns respects the bound"


def test_each_problem_is_solved_as_if_it_were_alone():
    A, b = _least_squares_problems()
    x0 = torch.zeros(A.shape[0], A.shape[2], dtype=torch.float64)
    free, lower = torch.ones_like(x0, dtype=torch.bool), torch.full((A.shape[2],), -np.inf, dtype=torch.float64)
    together = minimise(_evaluate(A, b), x0, free, lower, max_evaluations=200, window=5, tol=1e-9)
    for i in (0, 3):
        alone = minimise(_evaluate(A[i:i + 1], b[i:i + 1]), x0[i:i + 1], free[i:i + 1], lower,
                         max_evaluations=200, window=5, tol=1e-9)
        assert alone.evaluations[0] == together.evaluations[i]
        np.testing.assert_array_equal(alone.x[0].numpy(), together.x[i].numpy())


def test_the_cap_stops_a_model_and_says_so():
    A, b = _least_squares_problems(n_problems=2)
    x0 = torch.zeros(2, A.shape[2], dtype=torch.float64)
    run = minimise(_evaluate(A, b), x0, torch.ones_like(x0, dtype=torch.bool),
                   torch.full((A.shape[2],), -np.inf, dtype=torch.float64), max_evaluations=[3, 400], window=5, tol=0.0)
    assert run.evaluations[0] == 3 and run.reason[0] == CAPPED
    assert run.reason[1] in (STALLED, CAPPED)
    assert len(run.curve[0]) == 3 and np.all(np.diff(run.curve[1]) <= 0), "the loss never rises"


def test_a_box_keeps_every_entry_within_both_bounds():
    A, b = _least_squares_problems(n_problems=3)
    x0 = torch.zeros(3, A.shape[2], dtype=torch.float64)
    lower, upper = torch.full((A.shape[2],), -0.1, dtype=torch.float64), torch.full((A.shape[2],), 0.1, dtype=torch.float64)
    run = minimise(_evaluate(A, b), x0, torch.ones_like(x0, dtype=torch.bool), lower, upper, max_evaluations=300,
                   window=10, tol=1e-12)
    assert (run.x >= -0.1).all() and (run.x <= 0.1).all()
    assert ((run.x == -0.1) | (run.x == 0.1)).any(), "the unconstrained solutions lie outside this box"


def test_fixed_entries_do_not_move():
    A, b = _least_squares_problems(n_problems=1)
    x0 = torch.full((1, A.shape[2]), 0.5, dtype=torch.float64)
    free = torch.ones_like(x0, dtype=torch.bool)
    free[0, 2] = False
    run = minimise(_evaluate(A, b), x0, free, torch.full((A.shape[2],), -np.inf, dtype=torch.float64),
                   max_evaluations=100, window=5, tol=1e-9)
    assert run.x[0, 2] == 0.5


def test_bad_solver_settings_are_refused_by_name():
    x0 = torch.zeros(1, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="need window ≥ 1"):
        minimise(lambda x, a: None, x0, x0 > -1, x0[0], max_evaluations=10, window=0, tol=1e-4)


# --- the converged specification ------------------------------------------------------------------


def test_converged_training_ends_lower_than_the_group_budget_and_passes_its_test():
    X = synergy_data()
    pairs = [("linear", "linear"), ("linear", "tanh"), ("relu", "sigmoid")]
    group = train_autoencoders([X], 3, pairs, seeds=[0], epochs=400, device="cpu")
    converged = train_autoencoders([X], 3, pairs, seeds=[0], device="cpu", training="converged", warm_steps=100,
                                   max_passes=1500)
    for g, c in zip(group, converged):
        assert c.converged_, (c.encoder, c.decoder, c.stop_reason_, c.loss_fall_)
        assert c.stop_reason_ in (CONVERGED, STALLED)
        assert c.loss_curve_[-1] <= g.loss_curve_[-1], (c.encoder, c.decoder)
        assert c.n_epochs_ == int(np.ceil(c.loss_passes_[-1] - 1e-9)) < 1500
        assert c.loss_fall_ <= c.tol or c.stop_reason_ == STALLED
        assert np.all(np.diff(c.loss_passes_) > 0), "the curve's passes increase"
        # the reconstruction the estimator gives is the model the loss curve describes
        assert np.mean((c.reconstruct(X) - X) ** 2) == pytest.approx(c.loss_curve_[-1], rel=1e-3)
    assert not group[2].converged_, "400 RMSprop steps do not finish training relu/sigmoid"


def test_a_converged_model_gains_little_when_resumed_for_ten_times_its_passes():
    X = synergy_data(seed=3)
    options = TrainingOptions(training="converged", warm_steps=100, max_passes=1500)
    results = [r for r in fit_batch([X], 3, [("linear", "linear"), ("relu", "sigmoid")], [0], options, device="cpu")
               if r.converged]
    assert results
    resumed = resume_batch(results, options, [10 * r.passes for r in results], device="cpu")
    for r, loss in zip(results, resumed):
        assert (r.loss_curve[-1] - loss) / r.loss_curve[-1] <= 1e-3


def test_converged_training_refuses_the_options_of_the_group_loop():
    with pytest.raises(ValueError, match="batch_size apply to training='group' only"):
        Autoencoder(2, training="converged", batch_size=32).fit(synergy_data(n=200))
    with pytest.raises(ValueError, match="'training' parameter of Autoencoder must be a str among"):
        Autoencoder(2, training="forever").fit(synergy_data(n=200))


def test_the_estimator_lists_every_training_option_as_a_parameter():
    params = Autoencoder(3).get_params()
    assert set(TrainingOptions.names()) <= set(params)
    assert params["training"] == "group" and params["max_passes"] == TrainingOptions().max_passes
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['epoch'\\]"):
        Autoencoder(3, epoch=5)


# --- distinct starts ------------------------------------------------------------------------------


def test_two_participants_with_the_same_seed_start_from_different_weights():
    layout = Layout(8, 3)
    a, b = initial_parameters(layout, 3, 0, "P01"), initial_parameters(layout, 3, 0, "P02")
    assert not torch.equal(a, b)
    assert torch.equal(a, initial_parameters(layout, 3, 0, "P01")), "the same participant and seed: the same start"
    assert torch.equal(initial_parameters(layout, 3, 0), initial_parameters(layout, 3, start_seed(0)))
    X = synergy_data(n=300)
    models = train_autoencoders([X, X], 3, [("relu", "tanh")], seeds=[0], epochs=1, streams=["P01", "P02"],
                                device="cpu")
    assert not np.array_equal(models[0].loss_curve_, models[1].loss_curve_), "same data, other start, other loss"


def test_the_study_gives_each_participant_its_own_start():
    from synlib.autoencoder.study import fit_participants
    from synlib.preprocess.envelopes import Envelopes

    X = synergy_data(n=400)
    rows = pd.DataFrame({"participant": ["P1"] * 400 + ["P2"] * 400, "repetition": ([1] * 200 + [2] * 200) * 2})
    envelopes = Envelopes(np.vstack([X, X]), rows, tuple(f"m{i}" for i in range(8)))
    fit = fit_participants(envelopes, n_components={"P1": 2, "P2": 2}, encoder="relu", decoder="linear",
                           seeds=[0], epochs=2, device="cpu")
    first = fit.models[("P1", 2, 0)].loss_curve_[0]
    assert first != fit.models[("P2", 2, 0)].loss_curve_[0], "identical data, distinct starts"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_converged_training_on_cuda_reaches_the_cpu_loss():
    X = synergy_data()
    pairs = [("linear", "linear"), ("relu", "tanh")]
    options = dict(training="converged", warm_steps=100, max_passes=1500)
    cpu = train_autoencoders([X], 3, pairs, seeds=[0], device="cpu", **options)
    gpu = train_autoencoders([X], 3, pairs, seeds=[0], device="cuda", **options)
    for a, b in zip(cpu, gpu):
        assert b.backend_.endswith("-cuda") and b.converged_
        assert b.loss_curve_[-1] == pytest.approx(a.loss_curve_[-1], rel=1e-3)
