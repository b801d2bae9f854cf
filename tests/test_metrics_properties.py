"""Properties every metric must keep, whatever the numbers (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from synlib import metrics

# derandomize: the same examples on every run, so a run passes or fails for the code, not the draw
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
weights = st.floats(0.01, 10.0, allow_nan=False)


@st.composite
def synergy_set(draw, min_k=1, max_k=5):
    k = draw(st.integers(min_k, max_k))
    n = draw(st.integers(2, 8))
    return draw(arrays(float, (k, n), elements=weights))


@st.composite
def set_and_permutation(draw):
    A = draw(synergy_set())
    perm = draw(st.permutations(range(len(A))))
    return A, np.asarray(perm)


@SETTINGS
@given(set_and_permutation(), st.floats(0.1, 10.0))
def test_hungarian_total_is_invariant_to_row_order_and_scale(case, scale):
    A, perm = case
    B = A[::-1] + 0.1
    base = metrics.match_synergies(A, B).similarity.sum()
    moved = metrics.match_synergies(scale * A[perm], B).similarity.sum()
    np.testing.assert_allclose(moved, base, atol=1e-9)


@SETTINGS
@given(set_and_permutation(), st.floats(0.1, 10.0))
def test_both_matchings_find_a_rescaled_permuted_copy(case, scale):
    A, perm = case
    for match in (metrics.match_synergies, metrics.match_synergies_greedy):
        m = match(A, scale * A[perm])
        np.testing.assert_allclose(m.similarity, 1.0, atol=1e-9)
        assert sorted(m.cols.tolist()) == list(range(len(A)))


@SETTINGS
@given(synergy_set(), synergy_set())
def test_hungarian_total_is_at_least_the_greedy_total(A, B):
    if A.shape[1] != B.shape[1]:
        B = np.resize(B, (len(B), A.shape[1]))
    hungarian = metrics.match_synergies(A, B)
    greedy = metrics.match_synergies_greedy(A, B)
    assert len(greedy.rows) == len(hungarian.rows) == min(len(A), len(B))
    assert hungarian.similarity.sum() >= greedy.similarity.sum() - 1e-9


@SETTINGS
@given(arrays(float, st.tuples(st.integers(1, 4), st.integers(2, 10)),
              # a subnormal entry times 0.5 underflows to 0: scale invariance cannot hold there
              elements=st.floats(-10, 10, allow_nan=False, allow_subnormal=False)),
       st.floats(0.01, 100.0), st.sampled_from([-1.0, 1.0]))
def test_hoyer_is_bounded_and_invariant_to_scale_and_sign(W, scale, sign):
    h = metrics.hoyer_sparseness(W)
    nonzero = np.abs(W).max(axis=1) > 0
    assert np.isnan(h[~nonzero]).all()
    assert ((h[nonzero] >= 0) & (h[nonzero] <= 1)).all()
    np.testing.assert_allclose(metrics.hoyer_sparseness(sign * scale * W), h, atol=1e-9)


@SETTINGS
@given(arrays(float, st.integers(1, 30), elements=st.floats(-3, 3, allow_nan=False)),
       st.sampled_from(sorted(metrics.ACTIVATION_BOUNDS)))
def test_fractions_are_shares(values, activation):
    assert 0.0 <= metrics.negative_fraction(values) <= 1.0
    assert 0.0 <= metrics.saturation_fraction(values, activation) <= 1.0


@SETTINGS
@given(arrays(float, st.tuples(st.integers(3, 20), st.integers(1, 4)),
              elements=st.floats(-5, 5, allow_nan=False)),
       st.floats(0.1, 10.0), st.floats(-5.0, 5.0))
def test_activation_correlation_is_bounded_and_affine_invariant(C, scale, shift):
    m = metrics.Matching(rows=np.arange(C.shape[1]), cols=np.arange(C.shape[1]),
                         similarity=np.ones(C.shape[1]))
    r = metrics.activation_correlation(C, scale * C + shift, m)
    assert ((r >= -1) & (r <= 1)).all()
    varying = C.std(axis=0) > 1e-6 * (1 + np.abs(C).max())
    np.testing.assert_allclose(r[varying], 1.0, atol=1e-6)
