"""Training a batch of autoencoders: the options, the optimisers and the loop; one result per model.

:func:`fit_batch` fits every combination of datasets (participants),
activation pairs and seeds in one batch and returns a :class:`FitResult` per
model. The estimator (:class:`synlib.autoencoder.model.Autoencoder`) and the batch
helper (:func:`synlib.autoencoder.trainer.train_autoencoders`) turn results into fitted
estimators; this module imports neither. The parameters of all models live in
one ``models × P`` tensor (layout in :mod:`synlib.autoencoder._layout`); one
call computes the loss and gradients of every model, one set of element-wise
operations updates them all. Models are independent: a model's numbers do not
depend on which other models share its batch.

The maths is that of a plain Keras/PyTorch loop (the authors' group's set-up):

- batch normalisation of the inputs with the batch's statistics (biased
  variance, ``bn_eps`` added), learnable scale γ and shift β. With full-batch
  training the statistics are those of the whole training set and do not depend
  on the parameters, so they are computed once;
- encoder ``H = f_enc(Xn·W1 + b1)``, decoder ``Y = f_dec(H·W2 + b2)``;
- loss: mean squared error between ``Y`` and the raw (not normalised) input;
- optimiser step, then the decoder weights clipped at 0 (Keras ``NonNeg``).

Gradients are computed by hand, either by the compiled CPU kernel
(:mod:`synlib.autoencoder._ckernel`) or by batched torch matrix products
(:mod:`synlib.autoencoder._torch_backend`, any device); both are checked
against autograd in the tests. On the CPU the kernel is used when it can be
built; otherwise the torch backend trains and a warning says so, once per cause
and process. Each result names the backend and its version (``ckernel-<hash>``
or ``torch-<version>-<device>``).

With the kernel, the numbers are the same bit for bit whatever the number of
threads and whatever the processor of one architecture: the kernel has no
contracted multiply-adds, and the optimisers below round once per operation.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from itertools import product

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints

from synlib.autoencoder import _ckernel
from synlib.autoencoder._c_backend import CBackend, supports
from synlib.autoencoder._layout import Layout, Problem
from synlib.autoencoder._torch_backend import TorchBackend
from synlib.autoencoder.activations import get_activation
from synlib.device import resolve_device
from synlib.progress import progress

__all__ = ["OPTIMIZER_DEFAULTS", "TRAINING_CONSTRAINTS", "TrainingOptions", "FitResult", "ModelSpec", "fit_batch"]


DEFAULT_GROUP_BYTES = 8 << 20  # three default-size participants; measured faster here than 2.6 MB or all at once

#: Hyper-parameters of each optimiser when ``optimizer_options`` does not override them.
OPTIMIZER_DEFAULTS = {
    # Keras defaults, as the group used them; eps_inside_sqrt=False is the
    # TF2 Keras (optimizer_v2) and torch form lr·g / (√v + eps)
    "rmsprop": {"rho": 0.9, "eps": 1e-7, "eps_inside_sqrt": False},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-7},
    "sgd": {"momentum": 0.0},
}

#: What each training option may be (scikit-learn's parameter constraints), checked by
#: :class:`TrainingOptions` and, as part of its ``_parameter_constraints``, by the estimator.
TRAINING_CONSTRAINTS = {
    "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "optimizer": [StrOptions(set(OPTIMIZER_DEFAULTS))],
    "optimizer_options": [dict, None],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "nonneg_decoder": ["boolean"],
    "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
    "early_stopping": [Interval(numbers.Integral, 1, None, closed="left"), dict, None],
    "use_bias": ["boolean"],
    "bn_eps": [Interval(numbers.Real, 0, None, closed="neither")],
}


@dataclass(frozen=True)
class TrainingOptions:
    """How the autoencoders are trained (shared by every model of a batch).

    Defaults are the authors' group's set-up (Keras defaults): 2000 full-batch
    epochs of RMSprop at 1e-3 (rho 0.9, eps 1e-7), decoder weights clipped at 0,
    biases on, batch-norm epsilon 1e-3.

    Parameters
    ----------
    epochs : int
        Passes over the training data.
    lr : float
        Learning rate.
    optimizer : {"rmsprop", "adam", "sgd"}
    optimizer_options : dict, optional
        Overrides of :data:`~synlib.autoencoder.fitting.OPTIMIZER_DEFAULTS` for the chosen optimiser.
    batch_size : int, optional
        Rows per gradient step; ``None`` = the whole training set (full batch).
        With mini-batches, rows are shuffled every epoch and batch
        normalisation uses each batch's statistics, as Keras does.
    nonneg_decoder : bool
        Clip the decoder weights at 0 after every update.
    weight_decay : float
        L2 penalty on the encoder and decoder weights, added to their gradient
        as ``weight_decay · W`` (torch's convention).
    early_stopping : int or dict, optional
        ``None``: run all epochs. An int ``p`` or ``{"patience": p, "min_delta": d}``:
        stop a model when its training loss has not fallen by more than ``d``
        (default 0) below its best for ``p`` epochs (Keras ``EarlyStopping`` on the loss).
    use_bias : bool
        Biases in the encoder and decoder layers (Keras ``Dense`` default).
    bn_eps : float
        Added to the variance in the batch normalisation (Keras default 1e-3).
    """

    epochs: int = 2000
    lr: float = 1e-3
    optimizer: str = "rmsprop"
    optimizer_options: dict | None = None
    batch_size: int | None = None
    nonneg_decoder: bool = True
    weight_decay: float = 0.0
    early_stopping: int | dict | None = None
    use_bias: bool = True
    bn_eps: float = 1e-3
    _resolved: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        validate_parameter_constraints(TRAINING_CONSTRAINTS, self.as_dict(), caller_name=type(self).__name__)
        options = dict(OPTIMIZER_DEFAULTS[self.optimizer])
        unknown = set(self.optimizer_options or {}) - set(options)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)} for optimizer {self.optimizer!r}; "
                             f"allowed: {', '.join(options)}")
        options.update(self.optimizer_options or {})
        self._resolved["optimizer"] = options
        self._resolved["early_stopping"] = _early_stopping(self.early_stopping)

    @classmethod
    def names(cls) -> list[str]:
        """The options' names, which are also parameters of :class:`synlib.autoencoder.model.Autoencoder`."""
        return [f.name for f in fields(cls) if not f.name.startswith("_")]

    def as_dict(self) -> dict:
        """The options by name, as :class:`synlib.autoencoder.model.Autoencoder` takes them."""
        return {name: getattr(self, name) for name in self.names()}


def _early_stopping(value) -> tuple[int, float] | None:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = {"patience": int(value)}
    if not isinstance(value, dict) or set(value) - {"patience", "min_delta"} or "patience" not in value:
        raise ValueError("early_stopping must be None, a patience (int) or a dict with 'patience' "
                         f"and optionally 'min_delta'; got {value!r}")
    patience, min_delta = value["patience"], value.get("min_delta", 0.0)
    if not (isinstance(patience, (int, np.integer)) and patience >= 1) or not min_delta >= 0:
        raise ValueError(f"early_stopping needs patience ≥ 1 and min_delta ≥ 0, got {value!r}")
    return int(patience), float(min_delta)


@dataclass(frozen=True)
class ModelSpec:
    """One model of a batch: its dataset (index into the batch's data), units, activations and seed."""

    dataset: int
    k: int
    encoder: str
    decoder: str
    seed: int


@dataclass
class FitResult:
    """Everything one trained model leaves behind (unpadded, float64 copies).

    ``X`` is the model's training data (the validated float64 array, not a copy)
    and ``backend`` the implementation that computed its gradients, with its
    version: ``ckernel-<hash>`` or ``torch-<version>-<device>``.
    """

    spec: ModelSpec
    X: np.ndarray
    params: dict[str, np.ndarray]
    bn_mean: np.ndarray
    bn_var: np.ndarray
    loss_curve: np.ndarray
    backend: str


def batch_statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What batch normalisation uses in training: per-muscle mean and biased variance (float64)."""
    return X.mean(axis=0), X.var(axis=0)


def _float32(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def initial_parameters(layout: Layout, k: int, seed: int) -> torch.Tensor:
    """Keras' initial values for a model with ``k`` units, padded to ``layout.k``.

    Dense kernels are Glorot-uniform (limit √(6 / (m + k))), biases 0, γ = 1,
    β = 0. The draws depend only on ``seed``, ``m`` and ``k``, so a model starts
    from the same point whatever batch it is trained in.
    """
    generator = torch.Generator().manual_seed(int(seed))
    limit = math.sqrt(6.0 / (layout.m + k))
    W1 = (torch.rand(layout.m, k, generator=generator, dtype=torch.float64) * 2 - 1) * limit
    W2 = (torch.rand(k, layout.m, generator=generator, dtype=torch.float64) * 2 - 1) * limit
    flat = torch.zeros(layout.size, dtype=torch.float32)
    v = layout.views(flat)
    v["gamma"].fill_(1.0)
    v["W1"][:, :k] = W1.float()
    v["W2"][:k] = W2.float()
    return flat


class _Optimizer:
    """RMSprop / Adam / SGD over the rows of a ``models × P`` tensor.

    Written with element-wise operations only, so each model's update is
    independent of the others, and with operations that round once each: torch's
    compound kernels (``addcmul``, ``addcdiv``, ``add`` with ``alpha``) fuse
    multiply-adds on processors with FMA and not on others, which would make the
    trained weights depend on the processor. For the same reason Adam's bias
    corrections use running products ``β^t`` (one multiplication per step), not
    ``pow``, whose last bit differs between vectorised implementations.
    """

    def __init__(self, name: str, options: dict, lr: float, params: torch.Tensor):
        self.name, self.options, self.lr = name, options, lr
        keys = {"rmsprop": ["sq"], "adam": ["m", "v"], "sgd": ["buf"]}[name]
        self.state = {key: torch.zeros_like(params) for key in keys}
        if name == "adam":
            for key in ("power1", "power2"):
                self.state[key] = torch.ones(params.shape[0], 1, dtype=torch.float64, device=params.device)

    def step(self, params: torch.Tensor, grad: torch.Tensor, rows: torch.Tensor | None) -> None:
        """Update ``params`` in place; ``rows`` = the models to update (``None`` = all)."""
        if rows is None:
            self._update(params, grad, self.state)
            return
        state = {key: value.index_select(0, rows) for key, value in self.state.items()}
        p = params.index_select(0, rows)
        self._update(p, grad.index_select(0, rows), state)
        params.index_copy_(0, rows, p)
        for key, value in state.items():
            self.state[key].index_copy_(0, rows, value)

    def _update(self, p, g, state) -> None:
        o, lr = self.options, self.lr
        if self.name == "rmsprop":
            sq = state["sq"]
            sq.mul_(o["rho"]).add_(g * g * (1 - o["rho"]))
            denom = (sq + o["eps"]).sqrt() if o["eps_inside_sqrt"] else sq.sqrt().add_(o["eps"])
            p.sub_(g / denom * lr)
        elif self.name == "adam":
            m, v = state["m"], state["v"]
            m.mul_(o["beta1"]).add_(g * (1 - o["beta1"]))
            v.mul_(o["beta2"]).add_(g * g * (1 - o["beta2"]))
            state["power1"].mul_(o["beta1"])
            state["power2"].mul_(o["beta2"])
            correction1 = (1 - state["power1"]).float()
            correction2 = (1 - state["power2"]).float()
            denom = (v.sqrt() / correction2.sqrt()).add_(o["eps"])
            p.sub_(m / (denom * correction1) * lr)
        else:
            buf = state["buf"]
            buf.mul_(o["momentum"]).add_(g)
            p.sub_(buf * lr)


def validate_data(data: Sequence) -> list[np.ndarray]:
    if isinstance(data, np.ndarray) or not isinstance(data, Sequence) or len(data) == 0:
        raise ValueError("data must be a non-empty list of samples × muscles arrays (one per participant)")
    arrays = []
    for d, X in enumerate(data):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
            raise ValueError(f"dataset {d}: expected a samples × muscles array with at least 2 rows, got shape {X.shape}")
        if not np.isfinite(X).all():
            bad = np.argwhere(~np.isfinite(X))[0]
            raise ValueError(f"dataset {d}: non-finite value at row {bad[0]}, muscle column {bad[1]}")
        arrays.append(X)
    widths = {X.shape[1] for X in arrays}
    if len(widths) > 1:
        raise ValueError(f"all datasets must have the same muscles; got widths {sorted(widths)}")
    return arrays


def validate_k(n_components, n_data: int, m: int) -> list[int]:
    ks = [n_components] * n_data if isinstance(n_components, (int, np.integer)) else list(n_components)
    if len(ks) != n_data:
        raise ValueError(f"n_components has {len(ks)} entries for {n_data} datasets")
    for d, k in enumerate(ks):
        if not (isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 1 <= k <= m):
            raise ValueError(f"dataset {d}: n_components must be an integer from 1 to {m} (the muscles), got {k!r}")
    return [int(k) for k in ks]


def validate_pairs(pairs: Sequence) -> list[tuple[str, str]]:
    pairs = [tuple(pair) for pair in pairs]
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"each pair must be (encoder, decoder), got {pair!r}")
        get_activation(pair[0]), get_activation(pair[1])
    return pairs


def fit_batch(data: Sequence[np.ndarray], n_components: int | Sequence[int], pairs: Sequence[tuple[str, str]],
              seeds: Sequence[int], options: TrainingOptions, *, device="auto", kernel: str = "auto") -> list[FitResult]:
    """Train one autoencoder per dataset × activation pair × seed, all in one batch.

    The arguments are those of :func:`synlib.autoencoder.trainer.train_autoencoders`,
    with the training options as a :class:`TrainingOptions`. Returns one
    :class:`FitResult` per model, in the order of
    ``itertools.product(range(len(data)), pairs, seeds)``.

    Examples
    --------
    >>> X = np.random.default_rng(0).random((100, 5))
    >>> [result] = fit_batch([X], 2, [("relu", "tanh")], [0], TrainingOptions(epochs=3), device="cpu")
    >>> result.spec, result.params["W2"].shape, len(result.loss_curve)
    (ModelSpec(dataset=0, k=2, encoder='relu', decoder='tanh', seed=0), (2, 5), 3)
    """
    arrays = validate_data(data)
    ks = validate_k(n_components, len(arrays), arrays[0].shape[1])
    pairs = validate_pairs(pairs)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if kernel not in ("auto", "c", "torch"):
        raise ValueError(f"unknown kernel {kernel!r}; allowed: auto, c, torch")
    specs = [ModelSpec(d, ks[d], enc, dec, seed) for d, (enc, dec), seed in product(range(len(arrays)), pairs, seeds)]
    device_ = resolve_device(device)
    results = [None] * len(specs)
    for group in _cache_groups(arrays, device_):
        members = [i for i, spec in enumerate(specs) if spec.dataset in group]
        local = {d: j for j, d in enumerate(group)}
        fitted = _train([arrays[d] for d in group],
                        [(local[s.dataset], s.k, s.encoder, s.decoder, s.seed) for s in (specs[i] for i in members)],
                        options, device_, kernel)
        for i, (params, stats, curve, backend) in zip(members, fitted):
            results[i] = FitResult(spec=specs[i], X=arrays[specs[i].dataset], params=params, bn_mean=stats[0],
                                   bn_var=stats[1], loss_curve=curve, backend=backend)
    return results


def _cache_groups(arrays: list[np.ndarray], device: torch.device) -> list[list[int]]:
    """Datasets trained together: on the CPU, as many as fit in ``SYNLIB_AE_GROUP_BYTES`` of float32.

    Every epoch streams each model's data through the processor; datasets that
    stay in the last-level cache from one epoch to the next are read several
    times faster than from memory. Models are independent, so training them in
    groups gives the same numbers as one batch.
    """
    if device.type != "cpu":
        return [list(range(len(arrays)))]
    budget = int(os.environ.get("SYNLIB_AE_GROUP_BYTES", DEFAULT_GROUP_BYTES))
    groups, used = [[]], 0
    for d, X in enumerate(arrays):
        size = X.size * 4
        if groups[-1] and used + size > budget:
            groups.append([])
            used = 0
        groups[-1].append(d)
        used += size
    return groups


_reported: set[str] = set()  # causes of a fallback to torch already reported in this process


def _make_backend(problem: Problem, device: torch.device, kernel: str, pool, threads: int):
    if device.type != "cpu":
        if kernel == "c":
            raise RuntimeError(f"the compiled kernel runs on the CPU only, not on {device}")
        return TorchBackend(problem, device)
    if kernel == "torch" or (kernel == "auto" and _ckernel.disabled()):
        return TorchBackend(problem, device)
    reason = supports(problem)
    if reason is None:
        try:
            return CBackend(problem, pool, threads)
        except _ckernel.KernelUnavailable as exc:
            reason = str(exc)
    if kernel == "c":
        raise RuntimeError(f"the compiled kernel cannot be used: {reason}")
    backend = TorchBackend(problem, device)
    if reason not in _reported:
        _reported.add(reason)
        warnings.warn(f"the compiled autoencoder kernel is not used: {reason}\nTraining with the {backend.name} "
                      "backend instead; its numbers differ slightly from the kernel's (about 1e-4 relative).",
                      RuntimeWarning, stacklevel=2)
    return backend


def _train(arrays, specs, opts: TrainingOptions, device: torch.device, kernel: str) -> list[tuple]:
    """Train the models ``specs`` = [(dataset, k, encoder, decoder, seed)] on ``arrays``.

    Returns per model: its unpadded parameters, batch-norm statistics, loss curve and backend name.
    """
    m = arrays[0].shape[1]
    layout = Layout(m, max(k for _, k, *_ in specs))
    n_models = len(specs)
    stats = [batch_statistics(X) for X in arrays]
    params = torch.stack([initial_parameters(layout, k, seed) for _, k, _, _, seed in specs]).to(device)
    trainable = torch.stack([layout.mask(k, use_bias=opts.use_bias) for _, k, *_ in specs]).to(device)
    decay = torch.zeros(layout.size)
    for name in ("W1", "W2"):
        layout.views(decay)[name].fill_(opts.weight_decay)
    decay = decay.to(device)
    W2 = layout.views(params)["W2"]
    optimizer = _Optimizer(opts.optimizer, opts._resolved["optimizer"], opts.lr, params)
    early = opts._resolved["early_stopping"]
    encoders = [get_activation(e) for _, _, e, _, _ in specs]
    decoders = [get_activation(d) for _, _, _, d, _ in specs]

    def problem(X, moments, data):
        return Problem(X=[_float32(x) for x in X], mean=[_float32(mean) for mean, _ in moments],
                       inv_std=[_float32(1.0 / np.sqrt(var + opts.bn_eps)) for _, var in moments],
                       data=data, k=[k for _, k, *_ in specs], encoders=encoders, decoders=decoders, layout=layout)

    threads = max(1, torch.get_num_threads())
    curves = np.full((opts.epochs, n_models), np.nan)
    stopped = np.zeros(n_models, dtype=bool)
    best = np.full(n_models, np.inf)
    wait = np.zeros(n_models, dtype=int)
    full_batch = opts.batch_size is None or all(opts.batch_size >= len(X) for X in arrays)
    with ThreadPoolExecutor(threads) as pool:
        if full_batch:
            backend = _make_backend(problem(arrays, stats, [d for d, *_ in specs]), device, kernel, pool, threads)
        else:
            shufflers = [torch.Generator().manual_seed(int(seed) + 1) for *_, seed in specs]
        epochs = progress(range(opts.epochs), desc=f"training {n_models} autoencoder(s)", unit="epoch",
                          leave=False, mininterval=1.0)
        for epoch in epochs:
            active = ~stopped
            if full_batch:
                loss, grad = backend.loss_and_grad(params, active)
                _apply_step(params, grad, trainable, decay, opts, optimizer, W2, active)
                curves[epoch, active] = loss[active]
            else:
                loss_sum, backend = _minibatch_epoch(arrays, specs, opts, params, trainable, decay, optimizer,
                                                     W2, active, shufflers, problem, device, kernel, pool, threads)
                curves[epoch, active] = loss_sum[active] / np.array([len(arrays[s[0]]) for s in specs])[active]
            if early is not None:
                patience, min_delta = early
                current = curves[epoch]
                improved = active & (current < best - min_delta)
                best = np.where(improved, current, best)
                wait = np.where(improved, 0, wait + active)
                stopped |= active & (wait >= patience)
                if stopped.all():
                    break
    params = params.cpu()
    results = []
    for i, (d, k, _, _, _) in enumerate(specs):
        v = layout.views(params[i])
        unpadded = {"gamma": v["gamma"], "beta": v["beta"], "W1": v["W1"][:, :k], "b1": v["b1"][:k],
                    "W2": v["W2"][:k], "b2": v["b2"]}
        curve = curves[:, i]
        results.append(({key: val.double().numpy().copy() for key, val in unpadded.items()}, stats[d],
                        curve[~np.isnan(curve)], backend.name))
    return results


def _apply_step(params, grad, trainable, decay, opts, optimizer, W2, active) -> None:
    if opts.weight_decay:
        grad += decay * params
    grad *= trainable
    rows = None if active.all() else torch.as_tensor(np.flatnonzero(active), device=params.device)
    optimizer.step(params, grad, rows)
    if opts.nonneg_decoder:
        W2.clamp_(min=0.0)


def _minibatch_epoch(arrays, specs, opts, params, trainable, decay, optimizer, W2, active, shufflers,
                     problem, device, kernel, pool, threads):
    """One epoch of mini-batch steps; returns the sample-weighted sum of the batch losses per model."""
    n_models = len(specs)
    orders = [torch.randperm(len(arrays[d]), generator=shufflers[i]).numpy() if active[i] else None
              for i, (d, *_) in enumerate(specs)]
    steps = max(-(-len(arrays[d]) // opts.batch_size) for d, *_ in specs)
    loss_sum = np.zeros(n_models)
    backend = None
    for step in range(steps):
        X, stepping = [], np.zeros(n_models, dtype=bool)
        for i, (d, *_) in enumerate(specs):
            rows = orders[i][step * opts.batch_size:(step + 1) * opts.batch_size] if active[i] else []
            if len(rows) == 0:
                rows = [0]  # a stand-in batch for a model that takes no step now
            else:
                stepping[i] = True
            X.append(arrays[d][rows])
        backend = _make_backend(problem(X, [batch_statistics(x) for x in X], list(range(n_models))),
                                device, kernel, pool, threads)
        loss, grad = backend.loss_and_grad(params, stepping)
        _apply_step(params, grad, trainable, decay, opts, optimizer, W2, stepping)
        batch_rows = np.array([len(x) for x in X])
        loss_sum += np.where(stepping, loss * batch_rows, 0.0)
    return loss_sum, backend
