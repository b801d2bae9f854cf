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

Two training specifications (``TrainingOptions.training``):

- ``"group"``: the authors' group's fixed budget, a plain Keras/PyTorch loop of
  ``epochs`` full-batch optimiser steps (2000 RMSprop steps at 1e-3);
- ``"converged"`` (ours): the same loss trained until a stated test says it has
  stopped falling: ``warm_steps`` steps of the same
  optimiser on every ``coarse_stride``-th row, then the batched bound-constrained
  L-BFGS of :mod:`synlib.autoencoder.quasi_newton`, first on those rows and then
  on all of them, until the loss fell by at most ``tol`` over the last
  ``window`` passes, or ``max_passes``. Every model records the passes it used,
  the test's value and whether it passed.

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
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from itertools import product

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints

from synlib.autoencoder import _ckernel
from synlib.autoencoder._c_backend import CBackend, supports
from synlib.autoencoder._layout import Layout, Problem
from synlib.autoencoder._torch_backend import TorchBackend
from synlib.autoencoder.activations import get_activation
from synlib.autoencoder.quasi_newton import CONVERGED, STALLED, minimise
from synlib.device import resolve_device
from synlib.progress import progress

__all__ = ["OPTIMIZER_DEFAULTS", "TRAINING_CONSTRAINTS", "TrainingOptions", "FitResult", "ModelSpec", "fit_batch",
           "resume_batch", "start_seed"]


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
    "training": [StrOptions({"group", "converged"})],
    "warm_steps": [Interval(numbers.Integral, 0, None, closed="left")],
    "coarse_stride": [Interval(numbers.Integral, 1, None, closed="left")],
    "max_passes": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "window": [Interval(numbers.Integral, 1, None, closed="left")],
    "memory": [Interval(numbers.Integral, 1, None, closed="left")],
}

#: The rows the coarse phase keeps at least (fewer rows than this and every row is used).
COARSE_MIN_ROWS = 1000
#: The share of ``max_passes`` the coarse quasi-Newton phase may use at most.
COARSE_SHARE = 0.2


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
    training : {"group", "converged"}
        ``"group"``: ``epochs`` steps of ``optimizer``, as the group trained.
        ``"converged"`` (ours): trained until the test below passes (see the module
        docstring); ``epochs``, ``batch_size`` and ``early_stopping`` do not apply.
    warm_steps : int
        ``"converged"``: steps of ``optimizer`` (at ``lr``) on the coarse rows before
        the quasi-Newton phases. A start from the optimiser's own path: L-BFGS from
        the initial weights ends in worse minima for ReLU encoders.
    coarse_stride : int
        ``"converged"``: the warm start and the first quasi-Newton phase use every
        ``coarse_stride``-th training row (all rows when fewer than
        ``COARSE_MIN_ROWS`` would be left), with the batch-norm statistics of all
        rows; a pass over them counts as ``1 / coarse_stride`` of a pass.
    max_passes : int
        ``"converged"``: cap on the passes over the training data.
    tol, window : float, int
        The convergence test: the training loss fell by at most ``tol`` (relative) over
        the last ``window`` passes over all the training rows. Also applied to the
        last ``window`` epochs of ``"group"`` training, whose models then say whether
        they would have passed it.
    memory : int
        ``"converged"``: the L-BFGS memory (pairs of steps kept).
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
    training: str = "group"
    warm_steps: int = 1000
    coarse_stride: int = 4
    max_passes: int = 2500
    tol: float = 1e-4
    window: int = 100
    memory: int = 10
    _resolved: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        validate_parameter_constraints(TRAINING_CONSTRAINTS, self.as_dict(), caller_name=type(self).__name__)
        if self.training == "converged":
            set_here = [name for name in ("batch_size", "early_stopping") if getattr(self, name) is not None]
            if set_here:
                raise ValueError(f"training='converged' trains on full batches until its own test passes; "
                                 f"{' and '.join(set_here)} apply to training='group' only")
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

    @classmethod
    def defaults(cls) -> dict:
        """Each option's default, by name."""
        return {f.name: f.default for f in fields(cls) if not f.name.startswith("_")}

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
    """One model of a batch: its dataset (index into the batch's data), units, activations and seed.

    ``stream`` names the dataset for the initial weights (a participant id, say), so
    that two datasets never start from the same weights; ``None`` draws them from
    the seed alone.
    """

    dataset: int
    k: int
    encoder: str
    decoder: str
    seed: int
    stream: str | None = None


@dataclass
class FitResult:
    """Everything one trained model leaves behind (unpadded, float64 copies).

    ``X`` is the model's training data (the validated float64 array, not a copy)
    and ``backend`` the implementation that computed its gradients, with its
    version: ``ckernel-<hash>`` or ``torch-<version>-<device>``. ``loss_curve``
    holds the training loss after each step or evaluation and ``curve_passes``
    the passes over the training data used by then (a pass over the coarse rows
    counting its share); ``passes`` is the total, ``stop`` why training ended
    (``"converged"``: the test passed; ``"stalled"``: no step that the float32
    arithmetic of the backends can represent lowers the loss any more, which
    counts as converged; ``"capped"``; ``"budget"`` for ``"group"`` training, whose
    ``converged`` then says whether its last window passes the test),
    ``converged`` whether it passed and ``fall`` the test's value (the relative
    fall of the loss over the last window).
    """

    spec: ModelSpec
    X: np.ndarray
    params: dict[str, np.ndarray]
    bn_mean: np.ndarray
    bn_var: np.ndarray
    loss_curve: np.ndarray
    backend: str
    curve_passes: np.ndarray
    passes: float
    converged: bool
    stop: str
    fall: float


def batch_statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What batch normalisation uses in training: per-muscle mean and biased variance (float64)."""
    return X.mean(axis=0), X.var(axis=0)


def _float32(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def start_seed(seed: int, stream: str | None = None) -> int:
    """The seed of a model's initial weights: ``seed`` itself, or ``seed`` mixed with ``stream``.

    Mixing goes through :class:`numpy.random.SeedSequence` with the CRC-32 of the
    stream's name, so it is the same on every machine and no two streams share a start.

    Examples
    --------
    >>> start_seed(0), start_seed(0, "P01") == start_seed(0, "P02")
    (0, False)
    """
    if stream is None:
        return int(seed)
    mixed = np.random.SeedSequence([int(seed), zlib.crc32(str(stream).encode())])
    return int(mixed.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def initial_parameters(layout: Layout, k: int, seed: int, stream: str | None = None) -> torch.Tensor:
    """Keras' initial values for a model with ``k`` units, padded to ``layout.k``.

    Dense kernels are Glorot-uniform (limit √(6 / (m + k))), biases 0, γ = 1,
    β = 0. The draws depend only on ``seed`` (with ``stream``, see :func:`start_seed`),
    ``m`` and ``k``, so a model starts from the same point whatever batch it is
    trained in.
    """
    generator = torch.Generator().manual_seed(start_seed(seed, stream))
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
              seeds: Sequence[int], options: TrainingOptions, *, device="auto", kernel: str = "auto",
              streams: Sequence[str] | None = None) -> list[FitResult]:
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
    (ModelSpec(dataset=0, k=2, encoder='relu', decoder='tanh', seed=0, stream=None), (2, 5), 3)
    """
    arrays = validate_data(data)
    ks = validate_k(n_components, len(arrays), arrays[0].shape[1])
    pairs = validate_pairs(pairs)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    if kernel not in ("auto", "c", "torch"):
        raise ValueError(f"unknown kernel {kernel!r}; allowed: auto, c, torch")
    streams = [None] * len(arrays) if streams is None else [str(s) for s in streams]
    if len(streams) != len(arrays):
        raise ValueError(f"streams must name each of the {len(arrays)} datasets, got {len(streams)}: {streams!r}")
    specs = [ModelSpec(d, ks[d], enc, dec, seed, streams[d])
             for d, (enc, dec), seed in product(range(len(arrays)), pairs, seeds)]
    device_ = resolve_device(device)
    results = [None] * len(specs)
    train = _train_converged if options.training == "converged" else _train_group
    for group in _cache_groups(arrays, device_):
        members = [i for i, spec in enumerate(specs) if spec.dataset in group]
        local = {d: j for j, d in enumerate(group)}
        batch = _Batch([arrays[d] for d in group], [replace(specs[i], dataset=local[specs[i].dataset]) for i in members],
                       options, device_)
        for i, trained in zip(members, train(batch, kernel)):
            results[i] = FitResult(spec=specs[i], X=arrays[specs[i].dataset], bn_mean=batch.stats[local[specs[i].dataset]][0],
                                   bn_var=batch.stats[local[specs[i].dataset]][1], backend=batch.backend_name, **trained)
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


class _Batch:
    """What every way of training a batch shares: its data, models, layout, starts and masks.

    ``specs`` index ``arrays`` by their ``dataset``; ``params`` holds the initial
    weights (models × P, float32, on ``device``), ``trainable`` 1 where a parameter
    is trained, ``lower`` the lower bound of each (0 for the decoder weights unless
    ``nonneg_decoder`` is off, ``-inf`` elsewhere).
    """

    def __init__(self, arrays, specs: list[ModelSpec], opts: TrainingOptions, device: torch.device):
        self.arrays, self.specs, self.opts, self.device = arrays, specs, opts, device
        self.layout = Layout(arrays[0].shape[1], max(s.k for s in specs))
        self.stats = [batch_statistics(X) for X in arrays]
        self.params = torch.stack([initial_parameters(self.layout, s.k, s.seed, s.stream) for s in specs]).to(device)
        self.trainable = torch.stack([self.layout.mask(s.k, use_bias=opts.use_bias) for s in specs]).to(device)
        decay = torch.zeros(self.layout.size)
        for name in ("W1", "W2"):
            self.layout.views(decay)[name].fill_(opts.weight_decay)
        self.decay = decay.to(device)
        lower = torch.full((self.layout.size,), float("-inf"), dtype=torch.float64)
        if opts.nonneg_decoder:
            self.layout.views(lower)["W2"].fill_(0.0)
        self.lower = lower.to(device)
        self.encoders = [get_activation(s.encoder) for s in specs]
        self.decoders = [get_activation(s.decoder) for s in specs]
        self.threads = max(1, torch.get_num_threads())
        self.backend_name = ""

    @property
    def n_models(self) -> int:
        return len(self.specs)

    def problem(self, X, moments=None, data=None) -> Problem:
        """The backend's problem for data ``X`` (one array per dataset, or per model with ``data``)."""
        moments = self.stats if moments is None else moments
        data = [s.dataset for s in self.specs] if data is None else data
        eps = self.opts.bn_eps
        return Problem(X=[_float32(x) for x in X], mean=[_float32(mean) for mean, _ in moments],
                       inv_std=[_float32(1.0 / np.sqrt(var + eps)) for _, var in moments],
                       data=data, k=[s.k for s in self.specs], encoders=self.encoders, decoders=self.decoders,
                       layout=self.layout)

    def backend(self, problem: Problem, kernel: str, pool):
        made = _make_backend(problem, self.device, kernel, pool, self.threads)
        self.backend_name = made.name
        return made

    def pad(self, unpadded: list[dict[str, np.ndarray]]) -> torch.Tensor:
        """The models × P float32 tensor that holds each model's parameters (the inverse of :meth:`unpadded`)."""
        flat = torch.zeros(self.n_models, self.layout.size, dtype=torch.float32)
        for i, (spec, p) in enumerate(zip(self.specs, unpadded)):
            v = self.layout.views(flat[i])
            for name, value in p.items():
                target = v[name][:, :spec.k] if name == "W1" else v[name][:spec.k] if name in ("b1", "W2") else v[name]
                target.copy_(torch.from_numpy(np.asarray(value, dtype=np.float32)))
        return flat.to(self.device)

    def unpadded(self, params: torch.Tensor) -> list[dict[str, np.ndarray]]:
        """Each model's parameters without padding, as float64 arrays."""
        out = []
        for i, spec in enumerate(self.specs):
            v = self.layout.views(params[i])
            k = spec.k
            out.append({key: val.double().numpy().copy() for key, val in {
                "gamma": v["gamma"], "beta": v["beta"], "W1": v["W1"][:, :k], "b1": v["b1"][:k],
                "W2": v["W2"][:k], "b2": v["b2"]}.items()})
        return out


def _window_fall(curve: np.ndarray, window: int) -> float:
    """Relative fall of a loss curve over its last ``window`` values (NaN when it is shorter)."""
    if len(curve) <= window:
        return float("nan")
    before, last = curve[-window - 1], curve[-1]
    return float((before - last) / abs(last)) if last else 0.0


def _train_group(batch: _Batch, kernel: str) -> list[dict]:
    """``epochs`` optimiser steps per model (the group's training); one dict of results per model."""
    opts, specs, arrays = batch.opts, batch.specs, batch.arrays
    params = batch.params.clone()
    n_models = batch.n_models
    W2 = batch.layout.views(params)["W2"]
    optimizer = _Optimizer(opts.optimizer, opts._resolved["optimizer"], opts.lr, params)
    early = opts._resolved["early_stopping"]
    curves = np.full((opts.epochs, n_models), np.nan)
    stopped = np.zeros(n_models, dtype=bool)
    best = np.full(n_models, np.inf)
    wait = np.zeros(n_models, dtype=int)
    full_batch = opts.batch_size is None or all(opts.batch_size >= len(X) for X in arrays)
    with ThreadPoolExecutor(batch.threads) as pool:
        if full_batch:
            backend = batch.backend(batch.problem(arrays), kernel, pool)
        else:
            shufflers = [torch.Generator().manual_seed(int(spec.seed) + 1) for spec in specs]
        epochs = progress(range(opts.epochs), desc=f"training {n_models} autoencoder(s)", unit="epoch",
                          leave=False, mininterval=1.0)
        for epoch in epochs:
            active = ~stopped
            if full_batch:
                loss, grad = backend.loss_and_grad(params, active)
                _apply_step(params, grad, batch.trainable, batch.decay, opts, optimizer, W2, active)
                curves[epoch, active] = loss[active]
            else:
                loss_sum = _minibatch_epoch(batch, params, optimizer, W2, active, shufflers, kernel, pool)
                curves[epoch, active] = loss_sum[active] / np.array([len(arrays[s.dataset]) for s in specs])[active]
            if early is not None:
                patience, min_delta = early
                current = curves[epoch]
                improved = active & (current < best - min_delta)
                best = np.where(improved, current, best)
                wait = np.where(improved, 0, wait + active)
                stopped |= active & (wait >= patience)
                if stopped.all():
                    break
    out = []
    for i, unpadded in enumerate(batch.unpadded(params.cpu())):
        curve = curves[:, i]
        curve = curve[~np.isnan(curve)]
        fall = _window_fall(curve, opts.window)
        out.append({"params": unpadded, "loss_curve": curve, "curve_passes": np.arange(1.0, len(curve) + 1),
                    "passes": float(len(curve)), "converged": bool(fall <= opts.tol), "stop": "budget",
                    "fall": fall})
    return out


def _train_converged(batch: _Batch, kernel: str) -> list[dict]:
    """Train every model of ``batch`` until the convergence test passes or the cap (``training="converged"``).

    1. ``warm_steps`` steps of the chosen optimiser on the coarse rows (every
       ``coarse_stride``-th row, batch-norm statistics of all rows);
    2. the batched L-BFGS of :mod:`synlib.autoencoder.quasi_newton` on the coarse
       rows, with the same test, for at most ``COARSE_SHARE`` of ``max_passes``;
    3. the same on all rows, until the test passes on them or the passes reach
       ``max_passes``.

    The loss, its gradient and the test are those of ``"group"`` training (mean
    squared error, plus ``weight_decay / 2 · ‖W‖²`` when set); the quasi-Newton
    state is float64, the backends compute in float32.
    """
    opts, specs, arrays = batch.opts, batch.specs, batch.arrays
    n_models = batch.n_models
    stride = [max(1, min(opts.coarse_stride, len(X) // COARSE_MIN_ROWS)) for X in arrays]
    coarse = [X[::s] for X, s in zip(arrays, stride)]
    share = np.array([len(coarse[s.dataset]) / len(arrays[s.dataset]) for s in specs])
    curves: list[list[np.ndarray]] = [[] for _ in range(n_models)]
    spent = np.zeros(n_models)

    def record(values, weight: np.ndarray) -> None:
        for i in range(n_models):
            curves[i].append(np.stack([spent[i] + weight[i] * np.arange(1, len(values[i]) + 1), values[i]]))

    with ThreadPoolExecutor(batch.threads) as pool:
        backend = batch.backend(batch.problem(coarse), kernel, pool)
        params = batch.params.clone()
        W2 = batch.layout.views(params)["W2"]
        optimizer = _Optimizer(opts.optimizer, opts._resolved["optimizer"], opts.lr, params)
        everyone = np.ones(n_models, dtype=bool)
        warm = np.zeros((opts.warm_steps, n_models))
        for step in progress(range(opts.warm_steps), desc=f"warm start of {n_models} autoencoder(s)", unit="step",
                             leave=False, mininterval=1.0):
            loss, grad = backend.loss_and_grad(params, everyone)
            _apply_step(params, grad, batch.trainable, batch.decay, opts, optimizer, W2, everyone)
            warm[step] = loss
        record(warm.T, share)
        spent += share * opts.warm_steps
        left = np.minimum(COARSE_SHARE * opts.max_passes, opts.max_passes - spent)
        run = _quasi_newton(batch, backend, params.double(), np.floor(left / share), opts.tol)
        record(run.curve, share)
        spent += share * run.evaluations
        backend = batch.backend(batch.problem(arrays), kernel, pool)
        run = _quasi_newton(batch, backend, run.x, opts.max_passes - spent, opts.tol)
        record(run.curve, np.ones(n_models))
        spent += run.evaluations
    out = []
    for i, unpadded in enumerate(batch.unpadded(run.x.float().cpu())):
        passes, curve = np.concatenate(curves[i], axis=1)
        out.append({"params": unpadded, "loss_curve": curve, "curve_passes": passes, "passes": float(spent[i]),
                    "converged": run.reason[i] in (CONVERGED, STALLED), "stop": str(run.reason[i]),
                    "fall": float(run.fall[i])})
    return out


def _quasi_newton(batch: _Batch, backend, x: torch.Tensor, budget, tol: float):
    """One quasi-Newton phase of every model of ``batch`` from ``x`` (float64), at most ``budget`` evaluations each."""
    decay = batch.decay.double()
    weight_decay = batch.opts.weight_decay

    def evaluate(point, active):
        loss, grad = backend.loss_and_grad(point.float().contiguous(), active)
        grad = grad.double()
        if weight_decay:
            loss = np.where(active, loss + 0.5 * (decay * point * point).sum(1).cpu().numpy(), loss)
            grad = grad + decay * point
        return loss, grad

    budget = np.maximum(np.floor(np.asarray(budget, dtype=float)), 1).astype(int)
    return minimise(evaluate, x, batch.trainable > 0, batch.lower, max_evaluations=budget,
                    window=batch.opts.window, tol=tol, memory=batch.opts.memory)


def resume_batch(results: Sequence[FitResult], options: TrainingOptions, passes, *, device="auto",
                 kernel: str = "auto") -> np.ndarray:
    """Continue the models of ``results`` with the quasi-Newton phase on all their rows; their new losses.

    Each model runs for ``passes`` more passes (one number, or one per model)
    with no convergence test: it stops only there or where it stalls. What a
    converged model gains so is the check of its convergence test
    (``benchmarks/bench_converge.py``).
    """
    arrays = [r.X for r in results]
    specs = [replace(r.spec, dataset=i) for i, r in enumerate(results)]
    batch = _Batch(arrays, specs, options, resolve_device(device))
    batch.params = batch.pad([r.params for r in results])
    with ThreadPoolExecutor(batch.threads) as pool:
        backend = batch.backend(batch.problem(arrays), kernel, pool)
        run = _quasi_newton(batch, backend, batch.params.double(), np.broadcast_to(passes, len(results)), 0.0)
    return run.loss


def _apply_step(params, grad, trainable, decay, opts, optimizer, W2, active) -> None:
    if opts.weight_decay:
        grad += decay * params
    grad *= trainable
    rows = None if active.all() else torch.as_tensor(np.flatnonzero(active), device=params.device)
    optimizer.step(params, grad, rows)
    if opts.nonneg_decoder:
        W2.clamp_(min=0.0)


def _minibatch_epoch(batch: _Batch, params, optimizer, W2, active, shufflers, kernel, pool) -> np.ndarray:
    """One epoch of mini-batch steps; returns the sample-weighted sum of the batch losses per model."""
    specs, arrays, opts = batch.specs, batch.arrays, batch.opts
    n_models = len(specs)
    orders = [torch.randperm(len(arrays[spec.dataset]), generator=shufflers[i]).numpy() if active[i] else None
              for i, spec in enumerate(specs)]
    steps = max(-(-len(arrays[spec.dataset]) // opts.batch_size) for spec in specs)
    loss_sum = np.zeros(n_models)
    for step in range(steps):
        X, stepping = [], np.zeros(n_models, dtype=bool)
        for i, spec in enumerate(specs):
            rows = orders[i][step * opts.batch_size:(step + 1) * opts.batch_size] if active[i] else []
            if len(rows) == 0:
                rows = [0]  # a stand-in batch for a model that takes no step now
            else:
                stepping[i] = True
            X.append(arrays[spec.dataset][rows])
        backend = batch.backend(batch.problem(X, [batch_statistics(x) for x in X], list(range(n_models))), kernel, pool)
        loss, grad = backend.loss_and_grad(params, stepping)
        _apply_step(params, grad, batch.trainable, batch.decay, opts, optimizer, W2, stepping)
        batch_rows = np.array([len(x) for x in X])
        loss_sum += np.where(stepping, loss * batch_rows, 0.0)
    return loss_sum
