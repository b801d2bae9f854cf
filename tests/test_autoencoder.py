"""The autoencoder: activation registry, hand-written gradients, trainer and estimator."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from synlib.autoencoder import ACTIVATIONS, Autoencoder, TrainingOptions, get_activation, train_autoencoders
from synlib.autoencoder import _ckernel
from synlib.autoencoder._c_backend import CBackend
from synlib.autoencoder._layout import Layout, Problem
from synlib.autoencoder._torch_backend import TorchBackend
from synlib.autoencoder.fitting import batch_statistics, initial_parameters

PAIRS = list(product(ACTIVATIONS, ACTIVATIONS))


@pytest.fixture(autouse=True, scope="module")
def private_cache(tmp_path_factory):
    """The compiled kernel goes into a temporary cache folder, never the checkout's or the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNLIB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def _kernel_or_skip():
    try:
        _ckernel.load_library()
    except _ckernel.KernelUnavailable as exc:
        pytest.skip(f"compiled kernel unavailable here: {exc}")


def synergy_data(n=300, m=8, k=3, seed=0):
    """Non-negative data made of k synergies with noise (samples × muscles)."""
    rng = np.random.default_rng(seed)
    W = rng.random((k, m))
    C = np.abs(np.sin(np.linspace(0, 6, n)[:, None] * (1 + np.arange(k)) + rng.random(k)))
    return C @ W / k + 0.02 * rng.random((n, m))


def test_unknown_activation_lists_the_allowed_names():
    with pytest.raises(ValueError, match="unknown activation 'softmax'; allowed: linear, relu, sigmoid, tanh"):
        get_activation("softmax")
    with pytest.raises(ValueError, match="allowed: linear, relu, sigmoid, tanh"):
        Autoencoder(2, "relu", "gelu", epochs=1).fit(synergy_data())


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_registered_derivative_matches_autograd(name):
    act = ACTIVATIONS[name]
    a = torch.linspace(-3, 3, 41, dtype=torch.float64).requires_grad_(True)
    h = act.forward(a)
    (auto,) = torch.autograd.grad(h.sum(), a)
    assert torch.allclose(act.derivative(a.detach(), h.detach()), auto)
    lo, hi = act.bounds
    assert bool((h >= lo).all() and (h <= hi).all())


def _random_problem(seed=0):
    """Three datasets of different lengths; five models with different k and every kind of activation."""
    rng = np.random.default_rng(seed)
    m = 7
    arrays = [rng.random((n, m)) for n in (150, 97, 64)]
    specs = [(0, 3, "relu", "tanh"), (1, 2, "sigmoid", "sigmoid"), (2, 4, "tanh", "relu"),
             (0, 1, "linear", "linear"), (1, 4, "tanh", "sigmoid")]
    layout = Layout(m, 4)
    stats = [batch_statistics(X) for X in arrays]
    problem = Problem(X=[torch.from_numpy(X).float() for X in arrays],
                      mean=[torch.from_numpy(mean).float() for mean, _ in stats],
                      inv_std=[torch.from_numpy(1 / np.sqrt(var + 1e-3)).float() for _, var in stats],
                      data=[s[0] for s in specs], k=[s[1] for s in specs],
                      encoders=[get_activation(s[2]) for s in specs], decoders=[get_activation(s[3]) for s in specs],
                      layout=layout)
    params = torch.stack([initial_parameters(layout, s[1], 10 + i) for i, s in enumerate(specs)])
    # move away from the initial point so that every gradient term is exercised
    v = layout.views(params)
    g = torch.Generator().manual_seed(seed)
    for i, s in enumerate(specs):
        k = s[1]
        v["gamma"][i] += 0.3 * torch.randn(m, generator=g)
        v["beta"][i] += 0.3 * torch.randn(m, generator=g)
        v["b1"][i, :k] += 0.3 * torch.randn(k, generator=g)
        v["b2"][i] += 0.3 * torch.randn(m, generator=g)
    return arrays, specs, problem, params


def _autograd_reference(X, p, k, enc, dec, eps=1e-3):
    """Loss and gradients of one model through torch's own batch norm and autograd (float64)."""
    layout = Layout(X.shape[1], k)
    flat = p.double().clone().requires_grad_(True)
    v = layout.views(flat)
    Xt = torch.from_numpy(X)
    Xn = F.batch_norm(Xt, None, None, weight=v["gamma"], bias=v["beta"], training=True, eps=eps)
    out = ACTIVATIONS[dec].forward(ACTIVATIONS[enc].forward(Xn @ v["W1"] + v["b1"]) @ v["W2"] + v["b2"])
    loss = ((out - Xt) ** 2).mean()
    (grad,) = torch.autograd.grad(loss, flat)
    return float(loss.detach()), grad


def _unpad(layout: Layout, flat: torch.Tensor, k: int) -> torch.Tensor:
    v = layout.views(flat)
    small = Layout(layout.m, k)
    out = torch.zeros(small.size, dtype=flat.dtype)
    w = small.views(out)
    for name in ("gamma", "beta", "b2"):
        w[name].copy_(v[name])
    w["W1"].copy_(v["W1"][:, :k])
    w["b1"].copy_(v["b1"][:k])
    w["W2"].copy_(v["W2"][:k])
    return out


def _engine(backend, problem):
    if backend == "c-kernel":
        _kernel_or_skip()
        return CBackend(problem, None, 1)
    return TorchBackend(problem, torch.device("cpu"))


@pytest.mark.parametrize("backend", ["c-kernel", "torch"])
def test_hand_written_gradients_match_autograd(backend):
    arrays, specs, problem, params = _random_problem()
    engine = _engine(backend, problem)
    active = np.ones(len(specs), dtype=bool)
    loss, grad = engine.loss_and_grad(params, active)
    for i, (d, k, enc, dec) in enumerate(specs):
        ref_loss, ref_grad = _autograd_reference(arrays[d], _unpad(problem.layout, params[i], k), k, enc, dec)
        assert loss[i] == pytest.approx(ref_loss, rel=1e-5)
        got = _unpad(problem.layout, grad[i], k).double()
        assert torch.allclose(got, ref_grad, rtol=1e-4, atol=1e-6 * float(ref_grad.abs().max())), (enc, dec)
        # padded hidden units receive no gradient
        assert float(layout_pad_norm(problem.layout, grad[i], k)) == 0.0


def layout_pad_norm(layout, flat, k):
    v = layout.views(flat)
    return v["W1"][:, k:].abs().sum() + v["b1"][k:].abs().sum() + v["W2"][k:].abs().sum()


@pytest.mark.parametrize("backend", ["c-kernel", "torch"])
def test_inactive_models_get_no_gradient(backend):
    _, specs, problem, params = _random_problem()
    engine = _engine(backend, problem)
    active = np.array([True, False, True, False, True])
    loss, grad = engine.loss_and_grad(params, active)
    assert (loss[~active] == 0).all() and (loss[active] > 0).all()
    assert float(grad[~active].abs().sum()) == 0.0


@pytest.mark.parametrize("encoder,decoder", PAIRS)
def test_training_lowers_the_loss_and_inverse_transform_is_the_network_output(encoder, decoder):
    X = synergy_data()
    ae = Autoencoder(3, encoder, decoder, epochs=150, lr=3e-3, random_state=1).fit(X)
    assert ae.loss_curve_.shape == (150,)
    assert ae.loss_curve_[-1] < 0.7 * ae.loss_curve_[0]
    # the network output computed independently, with torch layers in evaluation mode
    net = torch.nn.Sequential(torch.nn.BatchNorm1d(8, eps=ae.bn_eps), torch.nn.Linear(8, 3), torch.nn.Linear(3, 8)).double()
    with torch.no_grad():
        net[0].running_mean.copy_(torch.from_numpy(ae.bn_mean_))
        net[0].running_var.copy_(torch.from_numpy(ae.bn_var_))
        net[0].weight.copy_(torch.from_numpy(ae.bn_gamma_))
        net[0].bias.copy_(torch.from_numpy(ae.bn_beta_))
        net[1].weight.copy_(torch.from_numpy(ae.encoder_weights_.T))
        net[1].bias.copy_(torch.from_numpy(ae.encoder_bias_))
        net[2].weight.copy_(torch.from_numpy(ae.decoder_weights_.T))
        net[2].bias.copy_(torch.from_numpy(ae.intercept_))
        net.eval()
        Xt = torch.from_numpy(X)
        out = ACTIVATIONS[decoder].forward(net[2](ACTIVATIONS[encoder].forward(net[1](net[0](Xt))))).numpy()
    np.testing.assert_allclose(ae.inverse_transform(ae.transform(X)), out, rtol=1e-9, atol=1e-12)
    # the model's own loss on its training data matches the last recorded training losses
    assert np.mean((out - X) ** 2) <= ae.loss_curve_[-2] * 1.01


def test_synergies_have_unit_norm_and_reproduce_the_linear_decoder():
    X = synergy_data()
    ae = Autoencoder(3, "relu", "linear", epochs=100, use_bias=False, random_state=0).fit(X)
    np.testing.assert_allclose(np.linalg.norm(ae.synergies_, axis=1), 1.0, rtol=1e-12)
    assert (ae.synergies_ >= 0).all()  # non-negative decoder by default
    np.testing.assert_array_equal(ae.intercept_, 0.0)
    np.testing.assert_allclose(ae.activations_ @ ae.synergies_, ae.hidden(X) @ ae.decoder_weights_, rtol=1e-10)
    np.testing.assert_allclose(ae.activations_ @ ae.synergies_, ae.reconstruct(X), rtol=1e-10)


def test_linear_autoencoder_reaches_the_pca_error():
    X = synergy_data(n=400, m=8, k=3, seed=2) + 0.1 * np.random.default_rng(1).random((400, 8))
    k = 3
    centred = X - X.mean(axis=0)
    U, s, Vt = np.linalg.svd(centred, full_matrices=False)
    pca_mse = np.mean((centred - (U[:, :k] * s[:k]) @ Vt[:k]) ** 2)
    ae = Autoencoder(k, "linear", "linear", nonneg_decoder=False, epochs=2000, lr=3e-2, optimizer="adam",
                     random_state=0).fit(X)
    ae_mse = np.mean((ae.reconstruct(X) - X) ** 2)
    assert ae_mse == pytest.approx(pca_mse, rel=0.01)


def test_same_seed_gives_identical_synergies_and_different_seeds_differ():
    X = synergy_data()
    a = Autoencoder(3, "relu", "tanh", epochs=60, random_state=5).fit(X)
    b = Autoencoder(3, "relu", "tanh", epochs=60, random_state=5).fit(X)
    c = Autoencoder(3, "relu", "tanh", epochs=60, random_state=6).fit(X)
    np.testing.assert_array_equal(a.synergies_, b.synergies_)
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)
    assert not np.array_equal(a.synergies_, c.synergies_)


@pytest.mark.parametrize("kernel", ["c", "torch"])
def test_batch_with_different_k_and_n_equals_training_each_alone(kernel):
    if kernel == "c":
        _kernel_or_skip()
    arrays = [synergy_data(n=n, seed=s) for n, s in ((300, 0), (210, 1), (133, 2))]
    ks = [3, 2, 4]
    pairs = [("relu", "tanh"), ("sigmoid", "linear")]
    batch = train_autoencoders(arrays, ks, pairs, seeds=[7, 8], epochs=40, kernel=kernel)
    alone = [train_autoencoders([arrays[d]], [ks[d]], [pair], seeds=[seed], epochs=40, kernel=kernel)[0]
             for d, pair, seed in product(range(3), pairs, [7, 8])]
    for together, single in zip(batch, alone):
        assert (together.encoder, together.decoder, together.random_state) == (single.encoder, single.decoder,
                                                                                single.random_state)
        if kernel == "c":  # the compiled kernel makes a model independent of its batch, bit for bit
            np.testing.assert_array_equal(together.synergies_, single.synergies_)
            np.testing.assert_array_equal(together.loss_curve_, single.loss_curve_)
        else:
            np.testing.assert_allclose(together.synergies_, single.synergies_, rtol=1e-4, atol=1e-6)


def test_compiled_kernel_and_torch_backend_train_the_same_models():
    """The stated tolerance between the backends: 1e-4 relative on the losses, 1e-4 on the synergies."""
    _kernel_or_skip()
    X = synergy_data()
    c = train_autoencoders([X], 3, PAIRS[::3], seeds=[0], epochs=50, kernel="c")
    t = train_autoencoders([X], 3, PAIRS[::3], seeds=[0], epochs=50, kernel="torch")
    for a, b in zip(c, t):
        assert a.backend_ == _ckernel.load_library().version and a.backend_.startswith("ckernel-")
        assert b.backend_ == f"torch-{torch.__version__.split('+')[0]}-cpu"
        np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-4)
        np.testing.assert_allclose(a.synergies_, b.synergies_, atol=1e-4)


def test_early_stopping_stops_on_a_plateau():
    X = synergy_data()
    ae = Autoencoder(2, "relu", "tanh", epochs=3000, lr=1e-2, early_stopping={"patience": 5, "min_delta": 1e-4},
                     random_state=0).fit(X)
    assert ae.n_epochs_ < 3000
    last = ae.loss_curve_[-6:]
    assert last.min() > ae.loss_curve_[:-5].min() - 1e-4  # no improvement beyond min_delta in the last 5 epochs


def test_mini_batches_train_and_stay_reproducible():
    X = synergy_data()
    a = Autoencoder(3, "relu", "tanh", epochs=20, batch_size=64, random_state=0).fit(X)
    b = Autoencoder(3, "relu", "tanh", epochs=20, batch_size=64, random_state=0).fit(X)
    full = Autoencoder(3, "relu", "tanh", epochs=20, random_state=0).fit(X)
    assert a.loss_curve_[-1] < a.loss_curve_[0]
    assert a.loss_curve_[-1] < full.loss_curve_[-1]  # five steps per epoch instead of one
    np.testing.assert_array_equal(a.synergies_, b.synergies_)


def test_options_change_what_they_should():
    X = synergy_data()
    free = Autoencoder(3, "linear", "linear", epochs=200, lr=1e-2, nonneg_decoder=False, random_state=0).fit(X)
    assert (free.decoder_weights_ < 0).any()
    decayed = Autoencoder(3, "linear", "linear", epochs=200, lr=1e-2, nonneg_decoder=False, weight_decay=1.0,
                          random_state=0).fit(X)
    assert np.abs(decayed.decoder_weights_).sum() < np.abs(free.decoder_weights_).sum()
    for optimizer in ("adam", "sgd"):
        ae = Autoencoder(3, "relu", "tanh", epochs=50, lr=1e-2, optimizer=optimizer, random_state=0).fit(X)
        assert ae.loss_curve_[-1] < ae.loss_curve_[0]


@pytest.mark.parametrize("options,message", [
    ({"epochs": 0}, r"'epochs' parameter of TrainingOptions must be an int in the range \[1, inf\)\. Got 0"),
    ({"optimizer": "lbfgs"}, r"'optimizer' parameter of TrainingOptions must be a str among .*'rmsprop'.*Got 'lbfgs'"),
    ({"optimizer_options": {"momentum": 0.9}}, r"unknown options \['momentum'\] for optimizer 'rmsprop'"),
    ({"early_stopping": {"wait": 3}}, "early_stopping must be None, a patience"),
    ({"batch_size": 0}, r"'batch_size' parameter of TrainingOptions must be an int in the range \[1, inf\) or None"),
    ({"bn_eps": 0.0}, r"'bn_eps' parameter of TrainingOptions must be a float in the range \(0.0, inf\)"),
])
def test_bad_training_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        TrainingOptions(**options)


@pytest.mark.parametrize("options,message", [
    ({"epochs": 0}, r"'epochs' parameter of Autoencoder must be an int in the range \[1, inf\)\. Got 0"),
    ({"lr": -1}, r"'lr' parameter of Autoencoder must be a float in the range \(0.0, inf\)"),
    ({"nonneg_decoder": 1}, r"'nonneg_decoder' parameter of Autoencoder must be an instance of 'bool'"),
    ({"n_components": 0}, r"'n_components' parameter of Autoencoder must be an int in the range \[1, inf\)"),
])
def test_the_estimator_refuses_a_bad_parameter_before_training(options, message, monkeypatch):
    from synlib.autoencoder import model

    monkeypatch.setattr(model, "fit_batch", lambda *a, **k: pytest.fail("trained despite a bad parameter"))
    with pytest.raises(ValueError, match=message):
        Autoencoder(**{"n_components": 2, **options}).fit(synergy_data())


def test_bad_data_are_named():
    X = synergy_data()
    with pytest.raises(ValueError, match="dataset 1: non-finite value at row 4, muscle column 2"):
        bad = X.copy()
        bad[4, 2] = np.nan
        train_autoencoders([X, bad], 2, epochs=1)
    with pytest.raises(ValueError, match="dataset 0: n_components must be an integer from 1 to 8"):
        train_autoencoders([X], 9, epochs=1)
    with pytest.raises(ValueError, match="same muscles"):
        train_autoencoders([X, X[:, :5]], 2, epochs=1)


def test_estimator_contract():
    X = synergy_data()
    ae = Autoencoder(2, "sigmoid", "relu", epochs=10, random_state=0)
    with pytest.raises(NotFittedError):
        ae.transform(X)
    assert clone(ae).get_params() == ae.get_params()
    act = ae.fit_transform(X)
    np.testing.assert_array_equal(act, ae.activations_)
    with pytest.raises(ValueError, match="expected a samples × 8 muscles array"):
        ae.transform(X[:, :4])


def test_training_in_cache_sized_groups_changes_nothing(monkeypatch):
    _kernel_or_skip()
    arrays = [synergy_data(n=n, seed=s) for n, s in ((300, 0), (210, 1), (133, 2))]
    together = train_autoencoders(arrays, [3, 2, 4], [("tanh", "sigmoid")], seeds=[1], epochs=30, kernel="c")
    monkeypatch.setenv("SYNLIB_AE_GROUP_BYTES", "1")  # one dataset per group
    grouped = train_autoencoders(arrays, [3, 2, 4], [("tanh", "sigmoid")], seeds=[1], epochs=30, kernel="c")
    for a, b in zip(together, grouped):
        np.testing.assert_array_equal(a.synergies_, b.synergies_)
        np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)


def test_fitting_pairs_together_equals_fitting_each_pair():
    import pandas as pd

    from synlib.autoencoder.study import fit_pairs, fit_participants
    from synlib.preprocess import Envelopes

    rng = np.random.default_rng(3)
    X = rng.random((240, 6)) @ rng.random((6, 6))
    rows = pd.DataFrame({"participant": np.repeat(["p1", "p2"], 120), "repetition": np.tile(np.repeat([1, 2, 3], 40), 2)})
    envelopes = Envelopes(X, rows, tuple("abcdef"))
    ranks = {"p1": 2, "p2": 3}
    pairs = [("relu", "tanh"), ("linear", "sigmoid")]
    together = fit_pairs(envelopes, ranks, pairs, [0, 1], epochs=30)
    assert list(together) == pairs
    for encoder, decoder in pairs:
        alone = fit_participants(envelopes, n_components=ranks, encoder=encoder, decoder=decoder, seeds=[0, 1],
                                 epochs=30)
        fit = together[(encoder, decoder)]
        pd.testing.assert_frame_equal(fit.table, alone.table)
        assert sorted(fit.arrays) == sorted(alone.arrays)
        for name, array in alone.arrays.items():
            np.testing.assert_array_equal(fit.arrays[name], array)
        assert set(fit.table["encoder"]) == {encoder} and list(fit.test_rows) == ["p1", "p2"]


def test_chapter_summaries_of_a_fit_cover_every_headline_model():
    import pandas as pd

    from synlib import schema
    from synlib.autoencoder.study import fit_participants, loss_curves, nmf_matching, seed_stability, value_problems
    from synlib.preprocess import Envelopes

    rng = np.random.default_rng(4)
    X = rng.random((240, 6)) @ rng.random((6, 6))
    rows = pd.DataFrame({"participant": np.repeat(["p1", "p2"], 120), "repetition": np.tile(np.repeat([1, 2, 3], 40), 2)})
    fit = fit_participants(Envelopes(X, rows, tuple("abcdef")), n_components={"p1": [2, 3], "p2": 3},
                           encoder="tanh", decoder="sigmoid", seeds=[0, 1], epochs=20)
    headline = {"p1": 2, "p2": 3}
    curves = loss_curves(fit, headline)
    assert len(curves) == 4 * 20 and set(curves.groupby(["participant", "seed"]).size()) == {20}
    problems = value_problems(fit, headline, "tanh", "sigmoid")
    assert len(problems) == 4 * 4 and problems["fraction"].between(0, 1).all()
    assert "saturated decoder outputs (sigmoid)" in set(problems["measure"])
    stability = seed_stability(fit, [0, 1])
    assert sorted(zip(stability["participant"], stability["k"])) == [("p1", 2), ("p1", 3), ("p2", 3)]
    assert stability["similarity between seeds"].between(0, 1 + 1e-9).all()
    # against the models' own synergies as "NMF", every matched similarity is 1
    own = {schema.fit_key(p, k, "synergies"): fit.models[(p, k, 0)].synergies_ for p, k in headline.items()}
    matchings, table = nmf_matching(fit, own, headline, [0])
    assert set(matchings) == {("p1", 0), ("p2", 0)}
    np.testing.assert_allclose(table["lowest similarity"], 1.0)
