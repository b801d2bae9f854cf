"""Reconstruction measures and synergy matching.

Arrays are samples × muscles (data, reconstructions) and k × muscles
(synergies). Each reconstruction measure is named for its reference:

- :func:`r2_centred`: 1 − SSE / Σ (x − mean of x's muscle)² — the authors' group;
- :func:`r2_global`: 1 − SSE / Σ (x − mean of all X)² — musclesyneRgies;
- :func:`vaf`: 1 − SSE / Σ x² — variance accounted for, uncentred.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


def cosine_similarity(A, B) -> np.ndarray:
    """Cosine similarity of every row of ``A`` with every row of ``B`` (shape ``len(A) × len(B)``).

    A zero row has similarity 0 with everything.
    """
    A = np.atleast_2d(np.asarray(A, dtype=float))
    B = np.atleast_2d(np.asarray(B, dtype=float))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"rows of length {A.shape[1]} and {B.shape[1]} cannot be compared")
    na = np.linalg.norm(A, axis=1, keepdims=True)
    nb = np.linalg.norm(B, axis=1, keepdims=True)
    na[na == 0] = 1.0
    nb[nb == 0] = 1.0
    return (A / na) @ (B / nb).T


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
