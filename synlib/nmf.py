"""Non-negative matrix factorisation for muscle-synergy extraction.

Data are samples × muscles, ``X ≈ activations_ @ synergies_`` with ``synergies_``
k × muscles (unit-norm rows) and ``activations_`` samples × k. In the field's
notation V ≈ W·C, W = ``synergies_.T`` and C = ``activations_.T``.

Solvers
-------
Both minimise the Frobenius loss, and in both every restart of every rank is a
member of a stack of PyTorch tensors (``restarts × samples × k``) whose members
take each update together; that, not a Python loop over restarts, is where the
speed comes from (and it runs on CUDA as on the CPU).

- ``solver="mu"``, the default: multiplicative updates (Lee & Seung 2001), the
  authors' group's method and the field's. Because the synergy matrix is tiny
  (k × muscles) while the activation matrix is long (samples × k), each outer
  iteration updates the activations ``h_updates`` times and then the synergies
  ``w_updates`` times, each factor's repeats reusing the products computed once
  for it (Gillis & Glineur 2012, "accelerated multiplicative updates"). An extra
  synergy update costs k²·muscles operations, almost nothing; an extra
  activation update skips the X·synergiesᵀ product and costs about half a full
  one. On the benchmark data (45,000 × 16, ranks 1–16, 10 restarts) two
  activation updates per iteration cut the iterations to the plateau by about
  a quarter and the time by about a tenth; three are slower again.
  ``h_updates=1, w_updates=1`` is plain Lee & Seung.
- ``solver="hals"``: hierarchical alternating least squares (Cichocki & Phan
  2009), scikit-learn's default "cd" solver in batched form: each synergy and
  each activation time course in turn is replaced by its exact non-negative
  least-squares minimiser with the others fixed. On the benchmark participant
  (ranks 1–10, default tolerance) it reached the plateau in 86 iterations per
  fit on average against MU's 157; on the 15 gait recordings of the validation
  page the two need about the same (median 71 and 72). Repeating the row
  updates on the same products (Gillis & Glineur's accelerated HALS) is allowed
  but not the default: on the benchmark participant it reached other local
  minima, from 0.0015 below to 0.0007 above scikit-learn cd's R² by rank.

Starts (``init``): random (the group's), or NNDSVD / NNDSVDa (Boutsidis &
Gallopoulos 2008) for restart 0 with random starts for the others, see
:class:`NMF`. With NNDSVDa, plain HALS follows scikit-learn's cd solver closely
enough that one run per rank matches its fit (``benchmarks/bench_nmf.py``).

The iterations run in float32 by default: on the benchmark data (45,000 × 16,
ranks 1–16) the best R² per rank differs from float64 iterations by less than
1e-4 (``benchmarks/bench_nmf.py --compare-dtype``; a test checks the same on
small data), while float32 matrix products are about twice as fast. Fit
measures are always computed from the final factors in float64.

Stopping rule (the R² plateau): a model stops at iteration t when its R²
(centred on each muscle's mean) improved by less than ``tol`` over the last
``window`` iterations, ``R²(t) − R²(t − window) < tol``, or at ``max_iter``.
This is musclesyneRgies' rule (stop when the gain over 20 iterations is below
0.01 % of R², i.e. below 1e-4 × R²) with an absolute tolerance, 1e-4 by default.

Rank selection: :mod:`synlib.ranks` (the group's R² thresholds, musclesyneRgies'
linearity rule, bi-cross-validation on held-out repetitions).
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

from synlib import ranks as ranks_module, schema
from synlib.device import resolve_device
from synlib.fits import NMFStudyFit, shares_study_parameters, split_participants
from synlib.metrics import r2_centred

SOLVERS = ("mu", "hals")
SOLVER_NAMES = {"mu": "multiplicative updates, the authors' group's", "hals": "HALS coordinate descent"}
DEFAULT_UPDATES = {"mu": (2, 10), "hals": (1, 1)}
"""Activation and synergy updates per outer iteration when ``h_updates``/``w_updates`` are None."""
INITS = ("random", "nndsvd", "nndsvda")
BATCHING = ("rank", "all")
_DTYPES = {"float64": torch.float64, "float32": torch.float32}


# ---------------------------------------------------------------- input checks
def _muscle_label(j: int, names) -> str:
    return f"muscle {j} ({names[j]!r})" if names is not None else f"muscle {j}"


def check_nonnegative_data(X, *, what: str = "X") -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Validate a samples × muscles matrix for NMF and return it as float64.

    Raises ``ValueError`` naming the sample and muscle at fault for NaN/inf and
    negative values, the muscle for an all-zero column, and the shape when the
    array is not 2-D or empty. Column names of a DataFrame are used in messages.
    """
    names = tuple(str(c) for c in X.columns) if isinstance(X, pd.DataFrame) else None
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty samples × muscles matrix, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"{what} holds {int(bad.sum())} NaN/inf values, first at sample {i}, "
                         f"{_muscle_label(j, names)}; NMF needs finite values")
    negative = arr < 0
    if negative.any():
        i, j = np.argwhere(negative)[0]
        raise ValueError(f"{what} holds {int(negative.sum())} negative values, first {arr[i, j]:.3g} "
                         f"at sample {i}, {_muscle_label(j, names)}; NMF needs values ≥ 0 "
                         "(rectify or clip the envelopes first)")
    zero = ~arr.any(axis=0)
    if zero.any():
        labels = ", ".join(_muscle_label(j, names) for j in np.flatnonzero(zero))
        raise ValueError(f"{what} has all-zero muscles: {labels}; remove them before extracting synergies")
    return arr, names


def _check_rank(k, n_muscles: int) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"the number of synergies must be an integer, got {k!r}")
    if not 1 <= k <= n_muscles:
        raise ValueError(f"the number of synergies must be between 1 and the number of muscles "
                         f"({n_muscles}), got {k}")
    return int(k)


def _at_least(low: int) -> Interval:
    return Interval(numbers.Integral, low, None, closed="left")


_OPTION_CONSTRAINTS = {
    "max_iter": [_at_least(1)],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "window": [_at_least(1)],
    "n_restarts": [_at_least(1)],
    "h_updates": [_at_least(1), None],
    "w_updates": [_at_least(1), None],
    "random_state": [None, Interval(numbers.Integral, 0, None, closed="left"), np.random.RandomState,
                     np.random.Generator],
    "device": [str, torch.device],
    "solver": [StrOptions(set(SOLVERS))],
    "init": [StrOptions(set(INITS))],
    "dtype": [StrOptions(set(_DTYPES))],
}
"""Options shared by :class:`NMF` and :func:`rank_sweep`, in scikit-learn's declarative form: a bad
value is refused before any work with a message naming the option, its allowed values and the value."""


# ---------------------------------------------------------------- fit measures
@dataclass(frozen=True)
class _Denominators:
    """Σx², Σ(x − muscle mean)², Σ(x − grand mean)² of one data matrix."""

    uncentred: float
    centred: float
    global_: float

    @classmethod
    def of(cls, X: np.ndarray) -> "_Denominators":
        return cls(uncentred=float((X**2).sum()),
                   centred=float(((X - X.mean(axis=0)) ** 2).sum()),
                   global_=float(((X - X.mean()) ** 2).sum()))

    def measures(self, sse: np.ndarray) -> dict[str, np.ndarray]:
        if self.centred <= 0 or self.global_ <= 0:
            raise ValueError("the data have no variation about their mean: R² is undefined")
        return {"r2_centred": 1 - sse / self.centred, "r2_global": 1 - sse / self.global_,
                "vaf": 1 - sse / self.uncentred}


# ---------------------------------------------------------------- random starts
def _rank_seed(random_state, k: int) -> np.random.SeedSequence:
    """Seed of rank k's restarts: the same for NMF(k) and for rank k of a sweep (random_state validated)."""
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        random_state = int(random_state.integers(2**31 - 1))
    return np.random.SeedSequence(int(random_state), spawn_key=(int(k),))


def _random_starts(seed: np.random.SeedSequence, k: int, n_restarts: int, n: int, m: int,
                   scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random factors with the data's mean magnitude (scikit-learn's 'random' scale)."""
    rng = np.random.default_rng(seed)
    W = rng.random((n_restarts, k, m)) * scale
    H = rng.random((n_restarts, n, k)) * scale
    return H, W


class _SingularVectors:
    """The thin SVD of the data, computed once for the NNDSVD starts of every rank."""

    def __init__(self, X: np.ndarray):
        self.U, self.S, self.Vt = np.linalg.svd(X, full_matrices=False)
        self.mean = float(X.mean())

    def start(self, k: int, fill_zeros: bool) -> tuple[np.ndarray, np.ndarray]:
        """NNDSVD (Boutsidis & Gallopoulos 2008) of rank k; NNDSVDa fills its zeros with the data mean.

        Each singular pair after the first is replaced by the larger, in norm, of its
        positive and its negative parts, so a sign flip of the pair (which LAPACK
        builds may differ on) gives the same start, exact ties apart.
        """
        H = np.zeros((self.U.shape[0], k))
        W = np.zeros((k, self.Vt.shape[1]))
        H[:, 0] = np.sqrt(self.S[0]) * np.abs(self.U[:, 0])
        W[0] = np.sqrt(self.S[0]) * np.abs(self.Vt[0])
        for j in range(1, k):
            x, y = self.U[:, j], self.Vt[j]
            parts = [(np.maximum(x, 0), np.maximum(y, 0)), (np.maximum(-x, 0), np.maximum(-y, 0))]
            norms = [(np.linalg.norm(u), np.linalg.norm(v)) for u, v in parts]
            (u, v), (nu, nv) = max(zip(parts, norms), key=lambda pair: pair[1][0] * pair[1][1])
            if nu * nv == 0:
                continue   # no non-negative part: a zero component, which both solvers keep (NNDSVDa fills it)
            scale = np.sqrt(self.S[j] * nu * nv)
            H[:, j], W[j] = scale * u / nu, scale * v / nv
        H[H < 1e-6] = 0
        W[W < 1e-6] = 0
        if fill_zeros:
            H[H == 0] = self.mean
            W[W == 0] = self.mean
        return H, W


# ---------------------------------------------------------------- batched core
@dataclass
class _GroupResult:
    H: np.ndarray            # (B, n, k_max)
    W: np.ndarray            # (B, k_max, m)
    n_iter: np.ndarray       # (B,)


class _MultiplicativeUpdates:
    """Multiplicative updates (Lee & Seung 2001), one outer iteration per call, in place.

    The two activation-sized work buffers are allocated once per stack: fresh
    45,000 × k × restarts tensors every iteration cost page faults, not flops.
    """

    def __init__(self, Ht: torch.Tensor):
        self.numerator, self.denominator = torch.empty_like(Ht), torch.empty_like(Ht)
        self.eps = torch.finfo(Ht.dtype).eps
        self.eps_tensor = torch.full((1, 1, 1), self.eps, dtype=Ht.dtype, device=Ht.device)

    def __call__(self, Ht, W, XT, X, A, ranks, *, h_updates: int, w_updates: int) -> tuple[torch.Tensor, torch.Tensor]:
        size = Ht.shape[0]
        num, den = self.numerator[:size], self.denominator[:size]
        # activations: C ← C ∘ (X Sᵀ) / (C S Sᵀ + ε), written transposed
        torch.bmm(W, XT.expand(size, *XT.shape), out=num)
        for _ in range(h_updates):
            torch.baddbmm(self.eps_tensor, A, Ht, out=den)
            Ht.mul_(num).div_(den)
        # synergies: S ← S ∘ (Cᵀ X) / (Cᵀ C S), repeated on the same statistics
        HtX = torch.bmm(Ht, X.expand(size, *X.shape))
        HtH = torch.bmm(Ht, Ht.mT)
        for _ in range(w_updates):
            W.mul_(HtX / torch.bmm(HtH, W).add_(self.eps))
        return HtX, HtH


def _hals_rows(F: torch.Tensor, target: torch.Tensor, gram: torch.Tensor, repeats: int,
               ranks: np.ndarray) -> None:
    """Exact coordinate descent on the rows of F ≥ 0, in place.

    Row j of F (B, k, ·) is replaced by its closed-form minimiser with the other
    rows fixed, max(0, F_j + (target_j − gram_j F) / gram_jj) (Cichocki & Phan
    2009). A row whose gram diagonal is zero (a dead component: its partner
    factor is zero) has no minimiser and is left as it is. ``ranks`` (B,), non-
    increasing, is each member's rank: row j is only updated on the leading
    members whose rank exceeds j, so padding rows cost nothing.
    """
    rows = int(ranks[0])
    F, target, gram = F[:, :rows], target[:, :rows], gram[:, :rows, :rows]
    diagonal = torch.diagonal(gram, dim1=1, dim2=2)
    scale = torch.where(diagonal > 0, 1 / diagonal, torch.zeros_like(diagonal)).unsqueeze(-1)
    active = [int(np.count_nonzero(ranks > j)) for j in range(rows)]
    rows_of = [(F[:size, j:j + 1], F[:size], target[:size, j:j + 1], gram[:size, j:j + 1], scale[:size, j:j + 1])
               for j, size in enumerate(active)]
    for _ in range(repeats):
        for row, members, row_target, row_gram, row_scale in rows_of:
            step = torch.baddbmm(row_target, row_gram, members, alpha=-1)
            row.addcmul_(step, row_scale).clamp_(min=0)


class _HALS:
    """Hierarchical alternating least squares, one outer iteration per call, in place: every
    activation row, then every synergy row, each ``h_updates`` / ``w_updates`` times on the same
    products (the accelerated HALS of Gillis & Glineur 2012)."""

    def __init__(self, Ht: torch.Tensor):
        self.target = torch.empty_like(Ht)

    def __call__(self, Ht, W, XT, X, A, ranks, *, h_updates: int, w_updates: int) -> tuple[torch.Tensor, torch.Tensor]:
        size = Ht.shape[0]
        target = self.target[:size]
        torch.bmm(W, XT.expand(size, *XT.shape), out=target)
        _hals_rows(Ht, target, A, h_updates, ranks)
        HtX = torch.bmm(Ht, X.expand(size, *X.shape))
        HtH = torch.bmm(Ht, Ht.mT)
        _hals_rows(W, HtX, HtH, w_updates, ranks)
        return HtX, HtH


_UPDATES = {"mu": _MultiplicativeUpdates, "hals": _HALS}


def _iterate_group(X: torch.Tensor, Ht: torch.Tensor, W: torch.Tensor, ranks: np.ndarray, *, solver: str,
                   sst: float, xx: float, max_iter: int, tol: float, window: int, h_updates: int,
                   w_updates: int) -> _GroupResult:
    """Update a stack of models with ``solver`` until each reaches its R² plateau.

    ``Ht`` holds the activations transposed, (B, k, n), and ``W`` the synergies,
    (B, k, m): with the long sample axis last, every product is a wide matrix
    product whatever k is (the samples-first layout makes BLAS fall back to slow
    kernels for narrow k). Components that start at zero stay at zero with
    either solver, which is how ranks below k are padded; ``ranks`` (B,) is each
    member's own rank, in non-increasing order. Converged members leave the
    stack, so later iterations only pay for the models still improving.
    """
    update = _UPDATES[solver](Ht)
    B, _, n = Ht.shape
    XT = X.T.contiguous()
    out_H = np.empty((B, n, Ht.shape[1]))
    out_W = np.empty(tuple(W.shape))
    n_iter = np.empty(B, dtype=np.int64)
    history = np.full((B, max_iter), np.nan)
    members = np.arange(B)
    A = torch.bmm(W, W.mT)
    for it in range(max_iter):
        HtX, HtH = update(Ht, W, XT, X, A, ranks[members], h_updates=h_updates, w_updates=w_updates)
        A = torch.bmm(W, W.mT)
        # SSE from the statistics at hand: ‖X‖² − 2⟨CᵀX, S⟩ + ⟨CᵀC, SSᵀ⟩
        sse = xx - 2 * (HtX.double() * W.double()).sum((1, 2)) + (HtH.double() * A.double()).sum((1, 2))
        history[members, it] = 1 - sse.cpu().numpy() / sst
        if it < window and it < max_iter - 1:
            continue
        if it == max_iter - 1:
            done = np.ones(len(members), bool)
        else:
            done = history[members, it] - history[members, it - window] < tol
        if done.any():
            finished = torch.from_numpy(np.flatnonzero(done)).to(Ht.device)
            out_H[members[done]] = Ht[finished].mT.double().cpu().numpy()
            out_W[members[done]] = W[finished].double().cpu().numpy()
            n_iter[members[done]] = it + 1
            members = members[~done]
            if not len(members):
                break
            going = torch.from_numpy(np.flatnonzero(~done)).to(Ht.device)
            Ht, W, A = Ht[going], W[going], A[going]
    return _GroupResult(H=out_H, W=out_W, n_iter=n_iter)


@dataclass
class _RankFits:
    """All restarts of one rank: factors, iterations and fit measures."""

    k: int
    H: np.ndarray                    # (restarts, n, k)
    W: np.ndarray                    # (restarts, k, m)
    n_iter: np.ndarray               # (restarts,)
    measures: dict[str, np.ndarray]  # measure -> (restarts,)

    @property
    def best(self) -> int:
        return int(np.argmax(self.measures["r2_centred"]))


def _sse(X: np.ndarray, H: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Exact sum of squared errors of each restart, in float64."""
    Xt = torch.from_numpy(X)
    return np.array([float(((Xt - torch.from_numpy(h) @ torch.from_numpy(w)) ** 2).sum())
                     for h, w in zip(H, W)])


SMALL_PROBLEM = 1 << 20
"""Stacks with fewer elements than this run on one thread: for them, waking a
thread team costs more than it saves, and far more on a busy machine."""


@contextmanager
def _threads_for(elements: int, device: torch.device):
    previous = torch.get_num_threads()
    single = device.type == "cpu" and elements < SMALL_PROBLEM and previous > 1
    if single:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if single:
            torch.set_num_threads(previous)


def _fit_ranks(X: np.ndarray, ranks, *, n_restarts: int, max_iter: int, tol: float, window: int,
               h_updates: int, w_updates: int, random_state, device, solver: str, init: str, dtype: str,
               batching: str) -> dict[int, _RankFits]:
    """Fit every rank × restart with ``solver``; ``batching`` says what is stacked.

    With ``init="random"`` every restart starts at random; with ``"nndsvd"`` or
    ``"nndsvda"`` restart 0 starts at the SVD-based start and the others at
    random, as they would with ``"random"``.
    """
    n, m = X.shape
    dev = resolve_device(device)
    tdtype = _DTYPES[dtype]
    h_updates = DEFAULT_UPDATES[solver][0] if h_updates is None else h_updates
    w_updates = DEFAULT_UPDATES[solver][1] if w_updates is None else w_updates
    denominators = _Denominators.of(X)
    Xt = torch.as_tensor(X, dtype=tdtype, device=dev)
    groups = [[k] for k in ranks] if batching == "rank" else [sorted(ranks, reverse=True)]
    svd = None
    fits: dict[int, _RankFits] = {}
    for group in groups:
        k_max = max(group)
        Ht = torch.zeros((len(group) * n_restarts, k_max, n), dtype=tdtype, device=dev)
        W = torch.zeros((len(group) * n_restarts, k_max, m), dtype=tdtype, device=dev)
        for g, k in enumerate(group):
            block = slice(g * n_restarts, (g + 1) * n_restarts)
            H0, W0 = _random_starts(_rank_seed(random_state, k), k, n_restarts, n, m,
                                    float(np.sqrt(X.mean() / k)))
            if init != "random":
                svd = svd or _SingularVectors(X)
                H0[0], W0[0] = svd.start(k, fill_zeros=init == "nndsvda")
            Ht[block, :k, :] = torch.from_numpy(H0).mT
            W[block, :k, :] = torch.from_numpy(W0)
        with _threads_for(Ht.numel(), dev):
            result = _iterate_group(Xt, Ht, W, np.repeat(group, n_restarts), solver=solver,
                                    sst=denominators.centred, xx=denominators.uncentred, max_iter=max_iter, tol=tol,
                                    window=window, h_updates=h_updates, w_updates=w_updates)
        del Ht, W
        for g, k in enumerate(group):
            block = slice(g * n_restarts, (g + 1) * n_restarts)
            Hk, Wk = result.H[block, :, :k], result.W[block, :k, :]
            fits[k] = _RankFits(k=k, H=Hk, W=Wk, n_iter=result.n_iter[block],
                                measures=denominators.measures(_sse(X, Hk, Wk)))
    return fits


# ---------------------------------------------------------------- fixed synergies
def nnls_activations(X, synergies, *, max_sweeps: int = 1000, tol: float = 1e-10) -> np.ndarray:
    """Non-negative activations of fixed synergies: argmin_{C ≥ 0} ‖X − C·synergies‖² row by row.

    Solved by exact coordinate descent over the k activations of every sample at
    once (each step is the closed-form minimiser of one coordinate), until no
    activation moves by more than ``tol`` times the largest activation.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]) / np.sqrt(2)
    >>> C = np.array([[1.0, 2.0], [0.0, 3.0]])
    >>> np.round(nnls_activations(C @ S, S), 6)
    array([[1., 2.],
           [0., 3.]])
    """
    X = np.asarray(X, dtype=np.float64)
    S = np.asarray(synergies, dtype=np.float64)
    gram = S @ S.T
    if np.any(np.diag(gram) <= 0):
        raise ValueError("every synergy must have a non-zero weight vector to estimate its activations")
    C = np.clip(np.linalg.lstsq(S.T, X.T, rcond=None)[0].T, 0, None)
    gradient = X @ S.T - C @ gram      # −½ ∂‖X − CS‖²/∂C, kept up to date
    for _ in range(max_sweeps):
        largest_step = 0.0
        for j in range(S.shape[0]):
            new = np.maximum(C[:, j] + gradient[:, j] / gram[j, j], 0.0)
            step = new - C[:, j]
            if step.any():
                C[:, j] = new
                gradient -= np.outer(step, gram[j])
                largest_step = max(largest_step, float(np.abs(step).max()))
        if largest_step <= tol * max(float(C.max()), 1e-300):
            break
    return C


def _unit_rows(H: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale synergies to unit norm and activations by the inverse (the product is unchanged)."""
    norms = np.linalg.norm(W, axis=1)
    norms[norms == 0] = 1.0   # a component that died stays a zero row
    return H * norms, W / norms[:, None]


# ---------------------------------------------------------------- estimator
class NMF(TransformerMixin, BaseEstimator):
    """Muscle synergies by non-negative matrix factorisation (batched multiplicative updates).

    Parameters
    ----------
    n_components : int
        Number of synergies k, 1 ≤ k ≤ number of muscles.
    max_iter : int, default 1000
        Iteration cap of each restart (musclesyneRgies' value).
    tol : float, default 1e-4
        R² plateau: a restart stops when its R² (centred) gained less than ``tol``
        over the last ``window`` iterations.
    window : int, default 20
        Iterations over which the R² gain is measured (musclesyneRgies' value).
    n_restarts : int, default 10
        Random restarts; the one with the highest R² is kept.
    h_updates : int or None, default None
        Activation updates per iteration on the same products (1 = plain Lee &
        Seung or plain HALS); None takes the solver's default,
        :data:`DEFAULT_UPDATES`: 2 for "mu" (see the module docstring for what
        the second one buys), 1 for "hals".
    w_updates : int or None, default None
        Synergy updates per iteration; None takes 10 for "mu" (the extra ones are
        almost free because the synergy matrix is tiny) and 1 for "hals".
    random_state : int, RandomState, Generator or None
        Seed of the random starts. Rank k's starts depend only on the seed and
        k, so ``NMF(k, random_state=s)`` equals rank k of ``rank_sweep(..., random_state=s)``.
    device : str, default "auto"
        PyTorch device ("auto": CUDA when there is one, else the CPU; "cpu", "cuda", "cuda:1", ...;
        :func:`synlib.device.resolve_device`).
    solver : {"mu", "hals"}, default "mu"
        Multiplicative updates (Lee & Seung; the authors' group's solver) or
        hierarchical alternating least squares (exact coordinate descent on one
        synergy or activation row at a time; Cichocki & Phan 2009), both for the
        Frobenius loss and with the same stopping rule (module docstring).
    init : {"random", "nndsvd", "nndsvda"}, default "random"
        Starts of the restarts. "random": every restart at random (the group's);
        "nndsvd"/"nndsvda": restart 0 at the deterministic SVD-based start of
        Boutsidis & Gallopoulos (2008), the others at random as with "random".
        NNDSVD starts many weights at exactly zero, where multiplicative updates
        keep them; "nndsvda" fills those zeros with the data mean and suits
        both solvers. What restarts buy: from random starts, several restarts
        guard against a poor local minimum; from an SVD start, ``n_restarts=1``
        gives one deterministic fit and further restarts add random starts that
        are kept only if they fit better.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the iterations (fit measures are always computed in float64).

    Attributes
    ----------
    synergies_ : ndarray (k, n_muscles), unit-norm rows
    activations_ : ndarray (n_samples, k), scaled so that ``activations_ @ synergies_`` reconstructs X
    r2_ : float, R² centred on each muscle's mean (the authors' group)
    r2_global_ : float, R² about the grand mean (musclesyneRgies)
    vaf_ : float, uncentred variance accounted for
    n_iter_ : int, iterations of the kept restart
    restart_r2_ : ndarray (n_restarts,), R² (centred) of every restart
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((200, 2)) @ np.array([[1.0, 0, 1, 0], [0, 1, 1, 1]])
    >>> model = NMF(2, n_restarts=3, random_state=0).fit(X)
    >>> model.r2_ > 0.999
    True
    >>> model.synergies_.shape, model.activations_.shape
    ((2, 4), (200, 2))
    """

    # n_components is checked against the data width at fit, with a message in the field's words
    _parameter_constraints: dict = {"n_components": "no_validation", **_OPTION_CONSTRAINTS}

    def __init__(self, n_components, *, max_iter=1000, tol=1e-4, window=20, n_restarts=10,
                 h_updates=None, w_updates=None, random_state=None, device="auto", solver="mu", init="random",
                 dtype="float32"):
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.window = window
        self.n_restarts = n_restarts
        self.h_updates = h_updates
        self.w_updates = w_updates
        self.random_state = random_state
        self.device = device
        self.solver = solver
        self.init = init
        self.dtype = dtype

    def _options(self) -> dict:
        return dict(n_restarts=self.n_restarts, max_iter=self.max_iter, tol=self.tol,
                    window=self.window, h_updates=self.h_updates, w_updates=self.w_updates,
                    random_state=self.random_state, device=self.device, solver=self.solver,
                    init=self.init, dtype=self.dtype)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Extract ``n_components`` synergies from X (samples × muscles), keeping the best restart."""
        X, names = check_nonnegative_data(X)
        k = _check_rank(self.n_components, X.shape[1])
        fits = _fit_ranks(X, [k], batching="rank", **self._options())
        self._set_fit(fits[k], X.shape[1], names)
        return self

    def _set_fit(self, fits: _RankFits, n_features: int, names) -> "NMF":
        best = fits.best
        self.activations_, self.synergies_ = _unit_rows(fits.H[best], fits.W[best])
        self.r2_ = float(fits.measures["r2_centred"][best])
        self.r2_global_ = float(fits.measures["r2_global"][best])
        self.vaf_ = float(fits.measures["vaf"][best])
        self.n_iter_ = int(fits.n_iter[best])
        self.restart_r2_ = fits.measures["r2_centred"].copy()
        self.n_features_in_ = n_features
        if names is not None:
            self.feature_names_in_ = np.array(names, dtype=object)
        return self

    def fit_transform(self, X, y=None):
        """Fit and return the training activations (those of the factorisation, not a re-fit)."""
        return self.fit(X).activations_

    def transform(self, X):
        """Non-negative activations of the fitted synergies for new data (exact NNLS per sample)."""
        check_is_fitted(self, "synergies_")
        X, _ = _check_new_data(X, self.n_features_in_)
        return nnls_activations(X, self.synergies_)

    def inverse_transform(self, C):
        """Reconstruct samples × muscles data from activations (samples × k)."""
        check_is_fitted(self, "synergies_")
        C = np.asarray(C, dtype=np.float64)
        if C.ndim != 2 or C.shape[1] != self.synergies_.shape[0]:
            raise ValueError(f"activations must be samples × {self.synergies_.shape[0]}, got shape {C.shape}")
        return C @ self.synergies_


def _check_new_data(X, n_muscles: int):
    """Checks for data given to a fitted model: finite, non-negative, right width (zero muscles allowed)."""
    names = tuple(str(c) for c in X.columns) if isinstance(X, pd.DataFrame) else None
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != n_muscles:
        raise ValueError(f"expected samples × {n_muscles} muscles, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        check_nonnegative_data(arr if names is None else pd.DataFrame(arr, columns=names))
    return arr, names


# ---------------------------------------------------------------- rank sweep
@dataclass
class RankSweep:
    """Every restart of every rank, the best model per rank and, when asked, cross-validated R².

    ``curve`` is tidy: one row per rank × restart with ``k``, ``restart``,
    ``r2_centred``, ``r2_global``, ``vaf``, ``n_iter`` and ``best`` (the kept
    restart). ``models[k]`` is the fitted :class:`NMF` of rank k. ``cv`` (or None)
    has one row per rank × held-out group with the bi-cross-validated ``r2``.
    """

    ranks: tuple[int, ...]
    curve: pd.DataFrame
    models: dict[int, NMF]
    cv: pd.DataFrame | None = field(default=None)

    def best(self, measure: str = "r2_centred") -> pd.Series:
        """Fit measure of the kept restart of each rank, indexed by k."""
        if measure not in ("r2_centred", "r2_global", "vaf"):
            raise ValueError(f"unknown measure {measure!r}; allowed: r2_centred, r2_global, vaf")
        kept = self.curve[self.curve["best"]]
        return kept.set_index("k")[measure].sort_index()


@validate_params({**_OPTION_CONSTRAINTS, "batching": [StrOptions(set(BATCHING))],
                  "cv_muscle_folds": [_at_least(2)]}, prefer_skip_nested_validation=True)
def rank_sweep(X, ranks=None, n_restarts: int = 10, *, max_iter: int = 1000, tol: float = 1e-4,
               window: int = 20, h_updates: int | None = None, w_updates: int | None = None, random_state=None,
               device="auto",
               solver: str = "mu", init: str = "random", dtype: str = "float32", batching: str = "rank",
               cv_groups=None, cv_muscle_folds: int = 4) -> RankSweep:
    """Fit NMF at every rank with ``n_restarts`` restarts each, all restarts of a rank stacked.

    Parameters
    ----------
    X : array (samples × muscles), non-negative
    ranks : iterable of int, default 1 … number of muscles
    n_restarts, max_iter, tol, window, h_updates, w_updates, random_state, device, solver, init, dtype
        As in :class:`NMF`.
    batching : {"rank", "all"}
        "rank" stacks the restarts of one rank at a time; "all" stacks every
        rank × restart, padding ranks to the largest with zero components.
    cv_groups : array (samples,), optional
        Label of each row (e.g. the repetition). When given, the bi-cross-validated
        R² of every rank is computed holding out each group in turn (see the module
        docstring) and stored in ``cv``.
    cv_muscle_folds : int, default 4
        Number of muscle groups predicted in turn from the others in cross-validation.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((300, 3)) @ rng.random((3, 6))
    >>> sweep = rank_sweep(X, ranks=[1, 2, 3], n_restarts=2, random_state=0)
    >>> sweep.best().round(2).tolist()
    [0.93, 0.98, 1.0]
    >>> ranks_module.select_rank(sweep, "threshold", threshold=0.99)
    3
    """
    X, names = check_nonnegative_data(X)
    m = X.shape[1]
    ranks = tuple(range(1, m + 1)) if ranks is None else tuple(_check_rank(k, m) for k in ranks)
    if not ranks or len(set(ranks)) != len(ranks):
        raise ValueError(f"ranks must be a non-empty list of distinct integers, got {ranks}")
    options = dict(n_restarts=n_restarts, max_iter=max_iter, tol=tol, window=window, h_updates=h_updates,
                   w_updates=w_updates, random_state=random_state, device=device, solver=solver, init=init,
                   dtype=dtype)
    fits = _fit_ranks(X, ranks, batching=batching, **options)
    rows, models = [], {}
    for k in ranks:
        f = fits[k]
        for r in range(n_restarts):
            rows.append({"k": k, "restart": r, **{name: float(v[r]) for name, v in f.measures.items()},
                         "n_iter": int(f.n_iter[r]), "best": r == f.best})
        models[k] = NMF(k, **options)._set_fit(f, m, names)
    cv = None
    if cv_groups is not None:
        cv = _bicv_curve(X, np.asarray(cv_groups), ranks, cv_muscle_folds,
                         batching=batching, **options)
    return RankSweep(ranks=ranks, curve=pd.DataFrame(rows), models=models, cv=cv)


def _muscle_folds(m: int, n_folds: int) -> list[np.ndarray]:
    if not 2 <= n_folds <= m:
        raise ValueError(f"cv_muscle_folds must be between 2 and the number of muscles ({m}), got {n_folds}")
    return [np.arange(f, m, n_folds) for f in range(n_folds)]


def _bicv_curve(X, groups, ranks, n_folds, **options) -> pd.DataFrame:
    """Held-out R² (centred) of each rank when predicting held-out muscles of held-out groups."""
    if groups.shape != (X.shape[0],):
        raise ValueError(f"cv_groups must give one label per sample ({X.shape[0]}), got shape {groups.shape}")
    labels = np.unique(groups)
    if len(labels) < 2:
        raise ValueError(f"cross-validation needs at least two groups of rows, got {labels.tolist()}")
    folds = _muscle_folds(X.shape[1], n_folds)
    rows = []
    for label in labels:
        held = groups == label
        train, test = X[~held], X[held]
        if not train.any(axis=0).all():
            raise ValueError(f"a muscle is all zero when group {label!r} is held out; cannot cross-validate")
        fits = _fit_ranks(train, ranks, **options)
        for k in ranks:
            synergies = _unit_rows(*(a[fits[k].best] for a in (fits[k].H, fits[k].W)))[1]
            prediction = np.empty_like(test)
            for predicted in folds:
                observed = np.setdiff1d(np.arange(X.shape[1]), predicted)
                C = nnls_activations(test[:, observed], synergies[:, observed], max_sweeps=300)
                prediction[:, predicted] = C @ synergies[:, predicted]
            rows.append({"k": k, "held_out": label, "r2": r2_centred(test, prediction)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- against another implementation
def compare_with_reference(records, solvers=("mu",), n_restarts: int = 10,
                           random_state: int = 0) -> tuple[pd.DataFrame, dict]:
    """Fit NMF to the inputs of another implementation's fits and compare the results.

    Parameters
    ----------
    records : list of dict
        Each with ``participant``, ``V`` (samples × muscles), ``k``, ``synergies``
        (k × muscles) and ``r2`` (R² about the grand mean), as
        :func:`synlib.datasets.musclesynergies_reference` gives them.
    solvers : sequence of str
        The solvers to fit with, each at every record.
    n_restarts, random_state : int
        As :class:`NMF` takes them.

    Returns
    -------
    table : DataFrame
        One row per solver × record: ``solver``, ``participant``, ``k``, ``r2_musclesynergies``,
        ``r2_synlib``, ``r2_difference``, ``similarity_mean`` and ``similarity_min`` (Hungarian-matched
        cosines, :func:`synlib.metrics.match_synergies`) and ``n_iter``.
    fitted : dict
        The models by (solver, participant).
    """
    from synlib.metrics import match_synergies

    rows, fitted = [], {}
    for solver in solvers:
        for record in records:
            model = NMF(record["k"], n_restarts=n_restarts, random_state=random_state, solver=solver).fit(record["V"])
            fitted[solver, record["participant"]] = model
            matching = match_synergies(model.synergies_, record["synergies"])
            rows.append({"solver": solver, "participant": record["participant"], "k": record["k"],
                         "r2_musclesynergies": record["r2"], "r2_synlib": model.r2_global_,
                         "r2_difference": model.r2_global_ - record["r2"], "similarity_mean": matching.mean,
                         "similarity_min": float(matching.similarity.min()), "n_iter": model.n_iter_})
    return pd.DataFrame(rows), fitted


# ---------------------------------------------------------------- a study's participants
@shares_study_parameters
def fit_participants(envelopes, *, participants=None, test_repetitions=None, device="auto", ranks=None,
                     n_restarts: int = 10, max_iter: int = 1000, rank_rule: str = "r2_0.80", rank_rules=(),
                     rank_offsets=(0,), sensitivity_participants=None, random_state=0,
                     **options) -> NMFStudyFit:
    """Sweep ranks on each participant's training repetitions, apply the rank rules, test on the rest.

    Held-out activations are non-negative least squares on the fixed synergies.

    Parameters
    ----------
    {study_parameters}
    device : str, default "auto"
        PyTorch device of the restarts, as in :class:`NMF`.
    ranks : iterable of int, optional
        Ranks to sweep (default 1 … number of muscles).
    n_restarts, max_iter : int
        As in :func:`rank_sweep`.
    rank_rule : str
        The headline rank rule (:mod:`synlib.ranks`; the group's ``"r2_0.80"`` by default,
        ``"truth"`` on simulated data).
    rank_rules : list of str
        Further rules whose ranks are fitted too, for the rank sensitivity; ``"cv"``
        holds out each training repetition in turn.
    rank_offsets : list of int
        Offsets around the headline rank that are fitted too (e.g. ``[-1, 1]``).
    sensitivity_participants : list of str, optional
        The participants fitted at the other rules' ranks and the offsets (default: all).
    random_state : int
        Seed of the random starts (the same for every participant; the ``seed`` of the models).
    **options
        Passed to :func:`rank_sweep` (``tol``, ``window``, ``solver``, ...).

    Returns
    -------
    synlib.fits.NMFStudyFit
        The :class:`synlib.fits.StudyFit` of both extractors, with the rank table, the rank
        curves and each participant's :class:`RankSweep`.
    """
    from synlib import metrics

    rules = [ranks_module.check_rule(r) for r in dict.fromkeys([rank_rule, *rank_rules])]
    held_out, splits = split_participants(envelopes, participants, test_repetitions)
    swept = list(ranks) if ranks is not None else list(range(1, len(envelopes.muscles) + 1))
    options["device"] = device
    curves, sweeps, parts, picks = [], {}, {}, {}
    for participant, (train, test) in splits.items():
        cv_groups = train.rows["repetition"].to_numpy() if "cv" in rules else None
        sweep = sweeps[participant] = rank_sweep(train.X, swept, n_restarts, max_iter=max_iter,
                                                 random_state=random_state, cv_groups=cv_groups, **options)
        truth = envelopes.true_synergies.get(participant)
        picks[participant] = {rule: ranks_module.rule_rank(sweep, rule, None if truth is None else len(truth))
                              for rule in rules}
        parts[participant] = (train, test, truth)
        curves.append(sweep.curve.assign(participant=participant))
    table = ranks_module.rank_table(picks, rank_rule, rank_offsets, n_muscles=len(envelopes.muscles),
                                         sensitivity_participants=sensitivity_participants)
    rows, arrays, models = [], {}, {}
    for participant, ks in ranks_module.ranks_by_participant(table).items():
        train, test, truth = parts[participant]
        sweep = sweeps[participant]
        for k in ks:
            if k not in sweep.models:
                # an offset rank beyond the sweep (k_true + 1 above max_rank)
                sweep.models[k] = rank_sweep(train.X, [k], n_restarts, max_iter=max_iter,
                                             random_state=random_state, **options).models[k]
            model = models[(participant, k, random_state)] = sweep.models[k]
            row = {"participant": participant, "method": "NMF", "encoder": "", "decoder": "", "k": k,
                   "seed": random_state, "r2_train": model.r2_, "r2_global_train": model.r2_global_,
                   "vaf_train": model.vaf_, "r2_test": np.nan, "r2_global_test": np.nan, "vaf_test": np.nan,
                   "truth_similarity": np.nan, "truth_precision": np.nan}
            activations_test = np.zeros((0, k))
            if len(test.X):
                activations_test = model.transform(test.X)
                reconstruction = model.inverse_transform(activations_test)
                row.update(r2_test=metrics.r2_centred(test.X, reconstruction),
                           r2_global_test=metrics.r2_global(test.X, reconstruction),
                           vaf_test=metrics.vaf(test.X, reconstruction))
            if truth is not None:
                row["truth_similarity"] = metrics.truth_similarity(model.synergies_, truth)
                row["truth_precision"] = metrics.truth_precision(model.synergies_, truth)
            rows.append(row)
            arrays[schema.fit_key(participant, k, "synergies")] = model.synergies_
            arrays[schema.fit_key(participant, k, "activations_train")] = model.activations_
            arrays[schema.fit_key(participant, k, "activations_test")] = activations_test
    curve = pd.concat(curves, ignore_index=True)
    curve = curve[["participant", "k", "restart", "r2_centred", "r2_global", "vaf", "n_iter", "best"]]
    return NMFStudyFit(table=pd.DataFrame(rows), arrays=arrays, models=models, test_repetitions=held_out,
                       test_rows={p: test.rows for p, (_, test) in splits.items()}, ranks=table, curve=curve,
                       sweeps=sweeps)
