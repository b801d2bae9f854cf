"""Reconstruction measures, synergy matching and interpretability measures.

Arrays are samples × muscles (data, reconstructions) and k × muscles
(synergies). Each reconstruction measure is named for its reference:

- :func:`r2_centred`: 1 − SSE / Σ (x − mean of x's muscle)² — the authors' group;
- :func:`r2_global`: 1 − SSE / Σ (x − mean of all X)² — musclesyneRgies;
- :func:`vaf`: 1 − SSE / Σ x² — variance accounted for, uncentred.

Synergy sets are paired by the Hungarian method on cosine similarity
(:func:`match_synergies`) or by the authors' group's greedy dot-product pairing
(:func:`match_synergies_greedy`). The interpretability measures — sparseness,
negative and saturated values, consistency across participants and, on simulated
data, recovery of the ground truth — are plain functions of arrays; the trade-off
chapter applies them through ``synlib.tradeoff``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment


def _pair(X, Xhat) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    Xhat = np.asarray(Xhat, dtype=float)
    if X.shape != Xhat.shape:
        raise ValueError(f"data {X.shape} and reconstruction {Xhat.shape} differ in shape")
    if X.ndim != 2:
        raise ValueError(f"expected samples × muscles arrays, got {X.ndim} dimensions")
    return X, Xhat


def _one_minus_ratio(sse: float, sst: float) -> float:
    if sst <= 0:
        raise ValueError("the data have no variation about the reference: R² is undefined")
    return float(1.0 - sse / sst)


def r2_centred(X, Xhat) -> float:
    """R² about each muscle's mean (the authors' group).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, 6.0]])
    >>> r2_centred(X, X)
    1.0
    >>> r2_centred(X, np.tile(X.mean(axis=0), (2, 1)))
    0.0
    """
    X, Xhat = _pair(X, Xhat)
    return _one_minus_ratio(((X - Xhat) ** 2).sum(), ((X - X.mean(axis=0)) ** 2).sum())


def r2_global(X, Xhat) -> float:
    """R² about the grand mean of all values (musclesyneRgies' ``R2``)."""
    X, Xhat = _pair(X, Xhat)
    return _one_minus_ratio(((X - Xhat) ** 2).sum(), ((X - X.mean()) ** 2).sum())


def vaf(X, Xhat) -> float:
    """Variance accounted for, uncentred: 1 − SSE / Σ x²."""
    X, Xhat = _pair(X, Xhat)
    return _one_minus_ratio(((X - Xhat) ** 2).sum(), (X**2).sum())


def _unit_rows(M: np.ndarray) -> np.ndarray:
    """Each row of ``M`` scaled to length 1; a zero row stays zero."""
    norms = np.linalg.norm(M, axis=1, keepdims=True)
    return M / np.where(norms > 0, norms, 1.0)


def cosine_similarity(A, B) -> np.ndarray:
    """Cosine similarity of every row of ``A`` with every row of ``B`` (shape ``len(A) × len(B)``).

    A zero row has similarity 0 with everything.
    """
    A = np.atleast_2d(np.asarray(A, dtype=float))
    B = np.atleast_2d(np.asarray(B, dtype=float))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"rows of length {A.shape[1]} and {B.shape[1]} cannot be compared")
    return _unit_rows(A) @ _unit_rows(B).T


@dataclass(frozen=True)
class Matching:
    """A one-to-one pairing of the rows of two synergy sets.

    ``rows[i]`` of the first set is paired with ``cols[i]`` of the second with
    similarity ``similarity[i]``; pairs are ordered by the first set's rows.
    """

    rows: np.ndarray
    cols: np.ndarray
    similarity: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.similarity.mean()) if self.similarity.size else float("nan")


def match_synergies(A, B) -> Matching:
    """Pair synergies of ``A`` and ``B`` to maximise total cosine similarity (Hungarian method).

    Invariant to the order and the (positive) scale of either set's rows.
    With sets of different sizes, the smaller set is matched completely.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.eye(3)
    >>> m = match_synergies(A, 2 * A[[2, 0, 1]])
    >>> m.cols.tolist(), m.similarity.tolist()
    ([1, 2, 0], [1.0, 1.0, 1.0])
    """
    S = cosine_similarity(A, B)
    rows, cols = linear_sum_assignment(S, maximize=True)
    return Matching(rows=rows, cols=cols, similarity=S[rows, cols])


def matched_reference(synergies, reference) -> tuple[np.ndarray, np.ndarray]:
    """``reference``'s synergies in the row order of ``synergies``, to draw each pair side by side.

    Returns
    -------
    other : ndarray of the shape of ``synergies``
        ``other[i]`` is the reference synergy :func:`match_synergies` pairs with
        ``synergies[i]``, scaled to unit length (zeros when ``synergies[i]`` has no partner).
    similarity : ndarray of shape (k,)
        The cosine similarity of each pair (NaN without a partner).

    Examples
    --------
    >>> import numpy as np
    >>> other, similarity = matched_reference(np.eye(3)[:2], 2 * np.eye(3)[[1, 0]])
    >>> other.tolist(), similarity.tolist()
    ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [1.0, 1.0])
    """
    synergies, reference = _synergy_pair(synergies, reference)
    matching = match_synergies(synergies, reference)
    other = np.zeros_like(synergies)
    other[matching.rows] = _unit_rows(reference[matching.cols])
    similarity = np.full(len(synergies), np.nan)
    similarity[matching.rows] = matching.similarity
    return other, similarity


def match_synergies_greedy(A, B) -> Matching:
    """Pair synergies greedily by largest dot product (the authors' group's pairing).

    The largest entry of ``A @ B.T`` pairs its row and column; both leave the pool
    and the next largest remaining entry is taken, until the smaller set is used
    up. The group's synergies have unit-norm rows, so the dot product is the
    cosine similarity; the reported ``similarity`` is always the cosine
    similarity, so that it can be compared with :func:`match_synergies`.

    Unlike the Hungarian method, the greedy choice need not maximise the total
    similarity, and it depends on the scale of individual rows (not on a common
    positive scale of a whole set, nor on the order of the rows, ties apart).

    Parameters
    ----------
    A, B : array-like of shape (k_a, n_muscles) and (k_b, n_muscles)
        Synergy sets, one synergy per row.

    Returns
    -------
    Matching
        Pairs ordered by the rows of ``A``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> B = np.array([[0.8, 0.6], [0.0, 1.0]])
    >>> m = match_synergies_greedy(A, B)
    >>> m.cols.tolist(), np.round(m.similarity, 2).tolist()
    ([1, 0], [0.0, 0.96])

    The Hungarian method gives up the best single pair for a larger total:

    >>> match_synergies(A, B).cols.tolist()
    [0, 1]
    """
    A, B = _synergy_pair(A, B)
    dots = A @ B.T
    free = np.ones(dots.shape, dtype=bool)
    rows, cols = [], []
    for _ in range(min(dots.shape)):
        # Taken rows and columns are masked with -inf so argmax never returns them.
        i, j = np.unravel_index(np.argmax(np.where(free, dots, -np.inf)), dots.shape)
        rows.append(i)
        cols.append(j)
        free[i, :] = False
        free[:, j] = False
    order = np.argsort(rows)
    rows = np.asarray(rows, dtype=int)[order]
    cols = np.asarray(cols, dtype=int)[order]
    return Matching(rows=rows, cols=cols, similarity=cosine_similarity(A, B)[rows, cols])


#: The ways of pairing two synergy sets, by name.
MATCHINGS = {"hungarian": match_synergies, "greedy": match_synergies_greedy}


def matcher(name: str):
    """The pairing called ``name`` (:data:`MATCHINGS`).

    Examples
    --------
    >>> matcher("greedy") is match_synergies_greedy
    True
    """
    if name not in MATCHINGS:
        raise ValueError(f"unknown matching {name!r}; allowed: {', '.join(MATCHINGS)}")
    return MATCHINGS[name]


def _synergy_pair(A, B) -> tuple[np.ndarray, np.ndarray]:
    A = np.atleast_2d(np.asarray(A, dtype=float))
    B = np.atleast_2d(np.asarray(B, dtype=float))
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise ValueError(f"synergy sets of shapes {A.shape} and {B.shape} cannot be matched: "
                         "both must be k × muscles with the same muscles")
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise ValueError("synergy sets contain NaN or infinite weights")
    return A, B


def _pearson_columns(C1: np.ndarray, C2: np.ndarray) -> np.ndarray:
    """Pearson r of each column of ``C1`` with the same column of ``C2``; 0 if either is constant."""
    d1 = C1 - C1.mean(axis=0)
    d2 = C2 - C2.mean(axis=0)
    norm = np.sqrt((d1**2).sum(axis=0) * (d2**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (d1 * d2).sum(axis=0) / norm
    return np.where(norm > 0, np.clip(r, -1.0, 1.0), 0.0)


def activation_correlation(C1, C2, matching: Matching) -> np.ndarray:
    """Pearson correlation of matched activation coefficients.

    Column ``matching.rows[i]`` of ``C1`` is correlated with column
    ``matching.cols[i]`` of ``C2`` (the group compares AE and NMF activations so).
    A constant column — for instance a ReLU unit that never leaves zero — carries
    no information about the other; its correlation is defined as 0 rather than
    left undefined, so that such a unit counts against the configuration.

    Parameters
    ----------
    C1, C2 : array-like of shape (n_samples, k_1) and (n_samples, k_2)
        Activations over the same samples, one column per synergy.
    matching : Matching
        Pairing of the synergies behind ``C1`` (rows) with those behind ``C2`` (cols).

    Returns
    -------
    ndarray of shape (len(matching.rows),)

    Examples
    --------
    >>> import numpy as np
    >>> C1 = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0]])
    >>> C2 = C1[:, ::-1] * 5
    >>> m = Matching(rows=np.array([0, 1]), cols=np.array([1, 0]), similarity=np.ones(2))
    >>> activation_correlation(C1, C2, m).tolist()
    [1.0, 1.0]
    """
    C1 = np.asarray(C1, dtype=float)
    C2 = np.asarray(C2, dtype=float)
    if C1.ndim != 2 or C2.ndim != 2 or len(C1) != len(C2):
        raise ValueError(f"activations of shapes {C1.shape} and {C2.shape} must be "
                         "samples × k over the same samples")
    if len(C1) < 2:
        raise ValueError(f"a correlation needs at least 2 samples, got {len(C1)}")
    rows = np.asarray(matching.rows, dtype=int)
    cols = np.asarray(matching.cols, dtype=int)
    if rows.size and (rows.max() >= C1.shape[1] or cols.max() >= C2.shape[1]):
        raise ValueError(f"matching pairs columns up to ({rows.max()}, {cols.max()}) but the "
                         f"activations have {C1.shape[1]} and {C2.shape[1]} columns")
    return _pearson_columns(C1[:, rows], C2[:, cols])


def hoyer_sparseness(W) -> np.ndarray:
    """Hoyer (2004) sparseness of each row: (√n − ‖w‖₁ / ‖w‖₂) / (√n − 1).

    1 for a row with a single non-zero entry, 0 for a row whose entries all have
    the same magnitude; invariant to the row's scale and sign. An all-zero row has
    no pattern to be sparse or dense: its sparseness is NaN.

    Parameters
    ----------
    W : array-like of shape (k, n) or (n,)
        Synergies (k × muscles), one vector per row; ``n`` must be at least 2.

    Returns
    -------
    ndarray of shape (k,)

    Examples
    --------
    >>> import numpy as np
    >>> W = [[0, 3, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]]
    >>> hoyer_sparseness(W).round(4).tolist()  # the third is 2 − √2
    [1.0, 0.0, 0.5858, nan]
    """
    W = np.atleast_2d(np.asarray(W, dtype=float))
    if W.ndim != 2 or W.shape[1] < 2:
        raise ValueError(f"Hoyer sparseness needs rows of at least 2 entries, got shape {W.shape}")
    if not np.isfinite(W).all():
        raise ValueError("Hoyer sparseness of NaN or infinite values is undefined")
    root_n = np.sqrt(W.shape[1])
    peak = np.abs(W).max(axis=1, keepdims=True)
    nonzero = peak[:, 0] > 0
    # Dividing by the row's peak first keeps tiny or huge rows from under- or overflowing in L2.
    scaled = np.abs(W[nonzero]) / peak[nonzero]
    ratio = scaled.sum(axis=1) / np.linalg.norm(scaled, axis=1)
    sparseness = np.full(len(W), np.nan)
    # Rounding can push L1/L2 a hair outside [1, √n]; the clip keeps the extremes exact.
    sparseness[nonzero] = np.clip((root_n - ratio) / (root_n - 1), 0.0, 1.0)
    return sparseness


def _finite_values(values, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError(f"{what} of an empty array is undefined")
    if not np.isfinite(values).all():
        raise ValueError(f"{what}: the values contain NaN or infinite entries")
    return values


def negative_fraction(values) -> float:
    """Share of entries strictly below zero (negative synergy weights or activation samples).

    Examples
    --------
    >>> negative_fraction([[-1.0, 0.0], [2.0, -0.5]])
    0.5
    """
    values = _finite_values(values, "negative fraction")
    return float((values < 0).mean())


#: Output bounds of each activation, and whether reaching a bound means equality.
#: Sigmoid and tanh only approach their bounds, so they count as saturated within
#: ``tol``. A ReLU output at 0 is silence, not saturation: NMF activations are
#: silent in untuned directions too, so ReLU's zeros are not counted (a unit that
#: is silent for every sample is a dead unit, see :func:`dead_unit_fraction`).
#: Linear never saturates.
ACTIVATION_BOUNDS: dict[str, tuple[tuple[float, ...], bool]] = {
    "linear": ((), True),
    "relu": ((), True),
    "sigmoid": ((0.0, 1.0), False),
    "tanh": ((-1.0, 1.0), False),
}


def _saturation_bounds(activation: str, bounds) -> tuple[tuple[float, ...], bool]:
    if bounds is not None:
        return tuple(float(b) for b in bounds if np.isfinite(b)), False
    if activation not in ACTIVATION_BOUNDS:
        raise ValueError(f"activation {activation!r} has no saturation bounds here (known: "
                         f"{', '.join(ACTIVATION_BOUNDS)}); pass its output bounds as bounds=")
    return ACTIVATION_BOUNDS[activation]


def saturation_fraction(values, activation: str, tol: float = 1e-3, bounds=None) -> float:
    """Share of an activation's outputs that sit at its bounds.

    Sigmoid outputs within ``tol`` of 0 or 1, tanh outputs within ``tol`` of ±1,
    where the gradient vanishes; ReLU and linear outputs never saturate (a ReLU
    at 0 is a silent unit, as an NMF activation is in an untuned direction). The bounds are
    :data:`ACTIVATION_BOUNDS`; another activation (one added to the autoencoder registry,
    ``synlib.autoencoder.activations.ACTIVATIONS``) saturates within ``tol`` of the finite
    ``bounds`` its caller gives (this module knows no extractor).

    Parameters
    ----------
    values : array-like
        Outputs of the activation (e.g. encoder outputs before scaling).
    activation : str
        "linear", "relu", "sigmoid", "tanh", or any name when ``bounds`` is given.
    tol : float, default 1e-3
        Distance from a sigmoid or tanh bound that counts as saturated.
    bounds : tuple of float, optional
        Lowest and highest output of an activation not in :data:`ACTIVATION_BOUNDS`;
        outputs within ``tol`` of a finite one are saturated.

    Examples
    --------
    >>> saturation_fraction([0.0, 0.5, 0.9995, 0.3], "sigmoid")
    0.5
    >>> saturation_fraction([0.0, 0.0, 1e-9, 2.0], "relu")
    0.0
    >>> saturation_fraction([-5.0, 5.0], "linear")
    0.0
    """
    bounds, exact = _saturation_bounds(activation, bounds)
    if not tol >= 0:
        raise ValueError(f"tol must be a non-negative distance, got {tol!r}")
    values = _finite_values(values, f"saturation of {activation}")
    at_bound = np.zeros(values.shape, dtype=bool)
    for bound in bounds:
        at_bound |= (values == bound) if exact else (np.abs(values - bound) <= tol)
    return float(at_bound.mean())


def dead_unit_fraction(activations, tol: float = 1e-3) -> float:
    """Share of synergies whose activation never varies: units that do nothing.

    A column of ``activations`` (samples × k) is dead when its standard deviation
    is at most ``tol`` times the largest column's (or when every column is
    constant): a ReLU unit that is silent for every sample, a sigmoid or tanh unit
    stuck at a bound, a unit whose decoder weights were all clipped to 0.

    Examples
    --------
    >>> import numpy as np
    >>> C = np.array([[0.0, 1.0, 2.0], [0.0, 3.0, 2.0], [0.0, 2.0, 2.0]])
    >>> round(dead_unit_fraction(C), 4)
    0.6667
    """
    C = _finite_values(activations, "dead units")
    if C.ndim != 2:
        raise ValueError(f"activations must be samples × k, got shape {C.shape}")
    if not tol >= 0:
        raise ValueError(f"tol must be a non-negative fraction, got {tol!r}")
    spread = C.std(axis=0)
    if spread.max() <= 0:
        return 1.0
    return float((spread <= tol * spread.max()).mean())


def row_similarity(A, B) -> np.ndarray:
    """Cosine similarity of row i of ``A`` with row i of ``B`` (no matching).

    For comparing two descriptions of the same units, e.g. a decoder's weight
    vectors and its effective synergies. A zero row has similarity 0.

    Examples
    --------
    >>> row_similarity([[1.0, 0.0], [1.0, 1.0]], [[2.0, 0.0], [1.0, 0.0]]).round(4).tolist()
    [1.0, 0.7071]
    """
    A, B = _synergy_pair(A, B)
    if A.shape != B.shape:
        raise ValueError(f"row-by-row similarity needs sets of one shape, got {A.shape} and {B.shape}")
    na, nb = np.linalg.norm(A, axis=1), np.linalg.norm(B, axis=1)
    both = (na > 0) & (nb > 0)
    out = np.zeros(len(A))
    out[both] = (A[both] * B[both]).sum(axis=1) / (na[both] * nb[both])
    return out


def preferred_directions(activations, directions) -> np.ndarray:
    """Each synergy's preferred movement direction, from cosine tuning (Georgopoulos et al. 1982).

    The mean activation of each condition is regressed on the condition's unit
    movement direction, ``a = b0 + b · u``; the preferred direction is ``b / |b|``.

    Parameters
    ----------
    activations : array-like of shape (n_conditions, k)
        Mean activation of each synergy in each condition.
    directions : array-like of shape (n_conditions, d)
        Movement direction of each condition (normalised here).

    Returns
    -------
    ndarray of shape (k, d)
        Unit vectors (a zero row for an untuned synergy).

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    >>> preferred_directions(1 + u @ [[0.0], [2.0]], u).round(6).tolist()
    [[0.0, 1.0]]
    """
    A = _finite_values(activations, "preferred directions")
    U = _finite_values(directions, "preferred directions")
    if A.ndim != 2 or U.ndim != 2 or len(A) != len(U):
        raise ValueError(f"activations {A.shape} and directions {U.shape} must have one row per condition")
    if len(U) <= U.shape[1]:
        raise ValueError(f"cosine tuning in {U.shape[1]} dimensions needs more than {U.shape[1]} conditions, "
                         f"got {len(U)}")
    U = U / np.linalg.norm(U, axis=1, keepdims=True)
    design = np.hstack([np.ones((len(U), 1)), U])
    return _unit_rows(np.linalg.lstsq(design, A, rcond=None)[0][1:].T)


def direction_error(activations, true_activations, synergies, true_synergies, directions) -> float:
    """Mean angle (degrees) between the preferred directions of matched extracted and true synergies.

    Synergies are matched to the truth as in :func:`truth_similarity`; each
    matched pair's preferred directions (:func:`preferred_directions`, from the
    per-condition mean activations) are compared. Over the matched pairs only: a
    missing synergy shows in :func:`truth_similarity`, not here.
    """
    matching, _ = _truth_matching(synergies, true_synergies)
    mine = preferred_directions(activations, directions)[matching.cols]
    true = preferred_directions(true_activations, directions)[matching.rows]
    cosine = np.clip((mine * true).sum(axis=1), -1.0, 1.0)
    return float(np.degrees(np.arccos(cosine)).mean())


def _named_sets(synergy_sets) -> dict[str, np.ndarray]:
    if isinstance(synergy_sets, dict):
        return {str(name): np.asarray(s, dtype=float) for name, s in synergy_sets.items()}
    return {str(i): np.asarray(s, dtype=float) for i, s in enumerate(synergy_sets)}


def cross_participant_similarity(synergy_sets, matching: str = "hungarian") -> pd.DataFrame:
    """Mean matched similarity (Hungarian, cosine) of every pair of participants' synergy sets.

    Parameters
    ----------
    synergy_sets : dict of str to array-like of shape (k, n_muscles), or a sequence of arrays
        One synergy set per participant (a sequence is named ``"0"``, ``"1"``, ...);
        sets may differ in k.
    matching : {"hungarian", "greedy"}
        How synergies are paired (:data:`MATCHINGS`).

    Returns
    -------
    DataFrame
        One row per unordered pair: ``participant_a``, ``participant_b``, ``similarity``.

    Examples
    --------
    >>> import numpy as np
    >>> sets = {"P1": np.eye(2), "P2": np.eye(2)[::-1], "P3": np.array([[1.0, 0.0], [0.6, 0.8]])}
    >>> cross_participant_similarity(sets).round(2).to_dict("list")
    {'participant_a': ['P1', 'P1', 'P2'], 'participant_b': ['P2', 'P3', 'P3'], 'similarity': [1.0, 0.9, 0.9]}
    """
    sets = _named_sets(synergy_sets)
    if len(sets) < 2:
        raise ValueError(f"consistency across participants needs at least 2 synergy sets, got {len(sets)}")
    names = list(sets)
    match = matcher(matching)
    pairs = [(a, b, match(sets[a], sets[b]).mean)
             for i, a in enumerate(names) for b in names[i + 1:]]
    return pd.DataFrame(pairs, columns=["participant_a", "participant_b", "similarity"])


def similarity_square(pairs: pd.DataFrame) -> pd.DataFrame:
    """The table of :func:`cross_participant_similarity` as a symmetric participant × participant table.

    Participants keep their order of appearance; the diagonal is 1.

    Examples
    --------
    >>> import numpy as np
    >>> pairs = cross_participant_similarity({"P1": np.eye(2), "P2": np.eye(2), "P3": [[1.0, 0.0], [0.6, 0.8]]})
    >>> similarity_square(pairs).round(2).values.tolist()
    [[1.0, 1.0, 0.9], [1.0, 1.0, 0.9], [0.9, 0.9, 1.0]]
    """
    names = list(dict.fromkeys([*pairs["participant_a"], *pairs["participant_b"]]))
    square = pd.DataFrame(1.0, index=names, columns=names)
    for a, b, similarity in pairs[["participant_a", "participant_b", "similarity"]].itertuples(index=False):
        square.loc[a, b] = square.loc[b, a] = similarity
    return square


def set_stability(synergy_sets) -> float:
    """Mean matched similarity between every pair of synergy sets of one fit (e.g. its seeds).

    The same computation as :func:`cross_participant_consistency`, applied to the
    sets that one participant and configuration gave from different initial
    weights: 1 when every seed finds the same synergies. NaN with a single set.

    Examples
    --------
    >>> import numpy as np
    >>> set_stability([np.eye(2), np.eye(2)[::-1]])
    1.0
    """
    sets = _named_sets(synergy_sets)
    if len(sets) < 2:
        return float("nan")
    return cross_participant_consistency(sets)


def cross_participant_consistency(synergy_sets) -> float:
    """Consistency of a configuration across participants.

    The mean, over every pair of participants, of the mean Hungarian-matched cosine
    similarity of their synergy sets (see :func:`cross_participant_similarity`).

    Examples
    --------
    >>> import numpy as np
    >>> sets = [np.eye(2), np.eye(2)[::-1], np.array([[1.0, 0.0], [0.6, 0.8]])]
    >>> round(cross_participant_consistency(sets), 4)
    0.9333
    """
    return float(cross_participant_similarity(synergy_sets)["similarity"].mean())


def _truth_matching(synergies, true_synergies, matching: str = "hungarian") -> tuple[Matching, int]:
    synergies, true_synergies = _synergy_pair(synergies, true_synergies)
    return matcher(matching)(true_synergies, synergies), len(true_synergies)


def truth_similarity(synergies, true_synergies, matching: str = "hungarian") -> float:
    """Recovery of the true synergies (simulated data): matched similarity per *true* synergy.

    True and extracted synergies are paired (Hungarian, cosine similarity); the
    similarities of the matched pairs are summed and divided by the number of
    true synergies, so a true synergy that no extracted one matches counts 0 —
    two perfect synergies out of five score 0.4, not 1. Surplus extracted
    synergies do not lower it; :func:`truth_precision` counts them.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.eye(5)
    >>> truth_similarity(truth[[2, 0, 1, 4, 3]] * 4, truth)
    1.0
    >>> truth_similarity(truth[:2], truth)
    0.4

    ``matching="greedy"`` pairs them the authors' group's way (:func:`match_synergies_greedy`).
    """
    matched, k_true = _truth_matching(synergies, true_synergies, matching)
    return float(matched.similarity.sum() / k_true)


def truth_precision(synergies, true_synergies) -> float:
    """Precision of extracted synergies against the truth: matched similarity per *extracted* synergy.

    The counterpart of :func:`truth_similarity`: the same Hungarian pairing, the
    matched similarities summed and divided by the number of extracted synergies,
    so an extra synergy that matches no true one counts 0.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.eye(4)[:3]
    >>> truth_precision(truth[:2], truth)
    1.0
    >>> truth_precision(np.vstack([truth, [[0, 0, 0, 1.0]]]), truth)
    0.75
    """
    synergies, true_synergies = _synergy_pair(synergies, true_synergies)
    matching = match_synergies(true_synergies, synergies)
    return float(matching.similarity.sum() / len(synergies))


def shuffled_synergies(synergies, rng: np.random.Generator) -> np.ndarray:
    """Each synergy's weights permuted across the muscles, independently per synergy.

    A random non-negative synergy set with exactly the sparseness (Hoyer), the
    norms and the weight distribution of ``synergies``, and no relation to any
    muscle: the null model of :func:`chance_similarity`.
    """
    synergies = np.atleast_2d(np.asarray(synergies, dtype=float))
    return rng.permuted(synergies, axis=1)


def chance_similarity(measure, synergies, reference, *, n_draws: int = 200, random_state=0) -> float:
    """What ``measure(synergies, reference)`` scores by chance: its mean over shuffled synergies.

    The synergies are replaced ``n_draws`` times by :func:`shuffled_synergies`
    (same sparseness, muscles permuted) and matched to ``reference`` the same way
    as the real ones; the mean is the chance level that a similarity must be
    judged against (random non-negative vectors already score about 0.6).

    Parameters
    ----------
    measure : callable
        ``measure(synergies, reference) -> float``, e.g. :func:`truth_similarity`.
    synergies, reference : array-like of shape (k, n_muscles) and (k_ref, n_muscles)
    n_draws : int, default 200
    random_state : int
        Seed of the permutations.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.eye(6)[:3] + 0.1
    >>> chance = chance_similarity(truth_similarity, truth, truth)
    >>> bool(0.2 < chance < truth_similarity(truth, truth))
    True
    """
    if not (isinstance(n_draws, (int, np.integer)) and n_draws >= 1):
        raise ValueError(f"n_draws must be a positive integer, got {n_draws!r}")
    rng = np.random.default_rng(random_state)
    synergies = np.atleast_2d(np.asarray(synergies, dtype=float))
    return float(np.mean([measure(shuffled_synergies(synergies, rng), reference) for _ in range(n_draws)]))


def truth_recovery_table(synergies, true_synergies) -> pd.DataFrame:
    """Each true synergy's similarity to the extracted synergy it is matched with, per participant.

    The pairs :func:`truth_similarity` averages (Hungarian, cosine), one row each.

    Parameters
    ----------
    synergies, true_synergies : dict of str to array-like of shape (k, n_muscles)
        Extracted and true synergy sets by participant (``true_synergies`` holds every
        participant of ``synergies``).

    Returns
    -------
    DataFrame
        ``participant``, ``true synergy`` (1-based) and ``similarity``; a true synergy that no
        extracted one matches has no row.

    Examples
    --------
    >>> import numpy as np
    >>> truth = {"P1": np.eye(3)}
    >>> truth_recovery_table({"P1": np.eye(3)[[2, 0]]}, truth).values.tolist()
    [['P1', 1, 1.0], ['P1', 3, 1.0]]
    """
    _require_truth_for(synergies, true_synergies)
    rows = []
    for participant, extracted in synergies.items():
        matching, _ = _truth_matching(extracted, true_synergies[participant])
        rows += [(participant, int(r) + 1, float(s)) for r, s in zip(matching.rows, matching.similarity)]
    return pd.DataFrame(rows, columns=["participant", "true synergy", "similarity"])


def _require_truth_for(synergies, true_synergies) -> None:
    missing = [participant for participant in synergies if participant not in true_synergies]
    if missing:
        raise ValueError(f"true_synergies has no synergies for participant(s) {missing}; "
                       f"it holds {list(true_synergies)}")


def median_chance(measure, synergies, true_synergies, *, n_draws: int = 200) -> float:
    """The median over participants of :func:`chance_similarity` of ``measure``.

    ``synergies`` and ``true_synergies`` map participants to synergy sets; the i-th
    participant's shuffles are seeded ``i``, so the level is the same on every run.

    Examples
    --------
    >>> import numpy as np
    >>> truth = {"P1": np.eye(6)[:3] + 0.1, "P2": np.eye(6)[3:] + 0.1}
    >>> bool(0.2 < median_chance(truth_similarity, truth, truth) < 1)
    True
    """
    _require_truth_for(synergies, true_synergies)
    return float(np.median([chance_similarity(measure, extracted, true_synergies[participant],
                                              n_draws=n_draws, random_state=i)
                            for i, (participant, extracted) in enumerate(synergies.items())]))


def activation_truth_correlation(activations, true_activations, synergies, true_synergies) -> float:
    """How well extracted activations recover the true ones (simulated data).

    The synergies are paired with the true synergies as in :func:`truth_similarity`;
    the activations of each pair are compared by Pearson correlation (see
    :func:`activation_correlation`); the result is the mean over the matched pairs.

    Parameters
    ----------
    activations : array-like of shape (n_samples, k)
    true_activations : array-like of shape (n_samples, k_true)
        Over the same samples as ``activations``.
    synergies : array-like of shape (k, n_muscles)
    true_synergies : array-like of shape (k_true, n_muscles)

    Examples
    --------
    >>> import numpy as np
    >>> truth, C = np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    >>> activation_truth_correlation(3 * C[:, ::-1], C, truth[::-1], truth)
    1.0
    """
    matching, k_true = _truth_matching(synergies, true_synergies)
    activations = np.asarray(activations, dtype=float)
    true_activations = np.asarray(true_activations, dtype=float)
    if activations.ndim != 2 or activations.shape[1] != np.atleast_2d(synergies).shape[0]:
        raise ValueError(f"activations {activations.shape} must be samples × k with one column "
                         f"per synergy ({np.atleast_2d(synergies).shape[0]})")
    if true_activations.ndim != 2 or true_activations.shape[1] != k_true:
        raise ValueError(f"true activations {true_activations.shape} must be samples × k_true "
                         f"with one column per true synergy ({k_true})")
    # The matching's rows index the true set, its columns the extracted one.
    r = activation_correlation(true_activations, activations, matching)
    return float(r.mean())
