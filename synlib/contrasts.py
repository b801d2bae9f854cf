"""The paper's two claims as within-participant contrasts that can say yes, no, or cannot tell.

Each claim becomes one number per participant, chosen so that a positive value
is what the claim says:

- **claim 1** ("the best-reconstructing pair is not the most interpretable"):
  the measure of the most interpretable pair minus that of the best-reconstructing
  pair (both oriented so that larger is better). Zero when one pair is both.
- **claim 2** ("``pair`` gives the most interpretable synergies"): the measure of
  ``pair`` minus that of the best other pair.

The pairs contrasted are chosen on data independent of the contrast
(*cross-fitting*; Chernozhukov et al. 2018): the participants are split into
two halves, the pairs are chosen on one half (best median) and the contrast is
estimated on the other, then the halves swap. The estimate is the mean contrast
over both estimation halves; its interval is a stratified bootstrap
(``scipy.stats.bootstrap``, the two halves resampled apart) at level
``1 − 2α``, the interval of two one-sided tests at level α each (Schuirmann
1987). With an equivalence margin δ (declared per measure, :data:`MARGINS`,
ours) the verdict is

- *reproduced* when the interval lies above δ: the claimed effect is larger than
  the smallest that matters;
- *not reproduced* when it lies below δ: equivalence (or the opposite) shown;
- *not distinguishable* otherwise, and for every specification with fewer than
  :data:`MIN_PARTICIPANTS` participants, which cannot decide (*undecidable*:
  drawn greyed and not counted).

Beside each verdict, the smallest effect the design detects: the true contrast
at which the interval would clear δ with 80 % probability,
``δ + (z₁₋α + z₀.₈) · s / √n`` (s the contrasts' standard deviation).

Consistency across participants is not one value per participant that could be
resampled alone: each participant's consistency is its mean similarity to the
others. For it the contrast of a half is recomputed from the pairwise
similarity matrices of that half only (so choosing and estimating never share a
participant), and the bootstrap resamples participants and recomputes it
(the bootstrap of a U-statistic).

References: V. Chernozhukov et al., Double/debiased machine learning for
treatment and structural parameters, Econometrics J. 21 (2018) C1–C68;
D. J. Schuirmann, A comparison of the two one-sided tests procedure and the
power approach for assessing the equivalence of average bioavailability,
J. Pharmacokinet. Biopharm. 15 (1987) 657–680.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MARGINS", "MIN_PARTICIPANTS", "REPRODUCED", "NOT_REPRODUCED", "NOT_DISTINGUISHABLE",
           "Contrast", "halves", "claim_contrasts", "decide", "smallest_detectable"]

#: Verdicts on a claim.
REPRODUCED, NOT_REPRODUCED, NOT_DISTINGUISHABLE = "reproduced", "not reproduced", "not distinguishable"

#: Fewer participants than this cannot decide a claim (halves of at least 3 to choose on and estimate on; ours).
MIN_PARTICIPANTS = 6

#: Equivalence margins (ours): the smallest difference between two pairs on a measure that we count as a
#: difference, in the measure's units. Similarities (cosines, correlations) 0.02; fractions 0.02;
#: R² 0.01; preferred directions 5 degrees.
MARGINS: dict[str, float] = {
    "truth_similarity": 0.02, "truth_precision": 0.02, "truth_activation_correlation": 0.02,
    "direction_error": 5.0, "consistency": 0.02, "dead_units": 0.02,
    "nmf_similarity": 0.02, "nmf_similarity_greedy": 0.02, "nmf_activation_correlation": 0.02,
    "r2_test": 0.01, "r2_test_refit": 0.01,
}


@dataclass(frozen=True)
class Contrast:
    """One claim's contrast on one measure: the estimate, its interval, the margin and the verdict.

    ``chosen`` lists, per half that chose, the two pairs contrasted (first minus second).
    """

    estimate: float
    low: float
    high: float
    margin: float
    n: int
    detectable: float
    verdict: str
    decidable: bool
    chosen: tuple[tuple[str, str], ...]


def halves(participants, random_state=0) -> tuple[list[str], list[str]]:
    """A seeded split of ``participants`` into two halves (the first the smaller one when their number is odd).

    Examples
    --------
    >>> a, b = halves([f"P{i}" for i in range(7)])
    >>> len(a), len(b), sorted(a + b) == [f"P{i}" for i in range(7)]
    (3, 4, True)
    """
    ids = sorted(str(p) for p in participants)
    order = np.random.default_rng(random_state).permutation(len(ids))
    first = sorted(ids[i] for i in order[: len(ids) // 2])
    return first, [p for p in ids if p not in first]


def decide(low: float, high: float, margin: float, decidable: bool = True) -> str:
    """The verdict of an interval against the margin (see the module docstring).

    Examples
    --------
    >>> decide(0.05, 0.09, 0.02), decide(-0.01, 0.01, 0.02), decide(0.0, 0.05, 0.02)
    ('reproduced', 'not reproduced', 'not distinguishable')
    """
    if not decidable or np.isnan(low) or np.isnan(high):
        return NOT_DISTINGUISHABLE
    if low > margin:
        return REPRODUCED
    if high < margin:
        return NOT_REPRODUCED
    return NOT_DISTINGUISHABLE


def smallest_detectable(sd: float, n: int, margin: float, alpha: float, power: float = 0.8) -> float:
    """The true contrast at which an interval of level 1 − 2α would clear ``margin`` with probability ``power``.

    Examples
    --------
    >>> round(smallest_detectable(0.03, 15, 0.02, 0.05), 4)
    0.0393
    """
    if n < 2 or np.isnan(sd):
        return float("nan")
    return float(margin + (stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)) * sd / np.sqrt(n))


def _oriented(wide: pd.DataFrame, better: str) -> pd.DataFrame:
    return wide if better == "higher" else -wide


def _best(wide: pd.DataFrame, exclude=()) -> str:
    medians = wide.drop(columns=[c for c in exclude if c in wide.columns]).median()
    return str(medians.idxmax())


def claim_contrasts(measure: pd.DataFrame, reconstruction: pd.DataFrame, *, better: str, pair: str,
                    margin: float, alpha: float = 0.05, random_state=0, n_resamples: int = 2000,
                    similarity: Mapping[str, pd.DataFrame] | None = None) -> dict[str, Contrast]:
    """Both claims' contrasts on one measure: ``{"claim1": Contrast, "claim2": Contrast}``.

    Parameters
    ----------
    measure, reconstruction : DataFrame
        Participants × autoencoder pairs (complete blocks): the interpretability measure and the
        reconstruction measure (higher is better) of the kept models.
    better : {"higher", "lower"}
        Which way the measure is better.
    pair : str
        The pair of claim 2; without it (not trained, or left out) claim 2 is undecidable.
    margin, alpha
        The equivalence margin (in the measure's units) and the level of each one-sided test.
    similarity : dict of str to DataFrame, optional
        For consistency: each pair's participants × participants matrix of matched similarity.
        Given, each half's consistency is recomputed from its own participants.
    """
    if list(measure.index) != list(reconstruction.index) or set(measure.columns) != set(reconstruction.columns):
        raise ValueError("measure and reconstruction must hold the same participants and pairs")
    oriented = _oriented(measure, better)
    participants = list(measure.index)
    n = len(participants)
    decidable = n >= MIN_PARTICIPANTS
    first, second = halves(participants, random_state)
    folds = [(first, second), (second, first)] if decidable else [(participants, participants)]

    def choose1(chooser):
        return _best(_values(oriented, chooser, similarity, better)), _best(reconstruction.loc[chooser])

    def choose2(chooser):
        return pair, _best(_values(oriented, chooser, similarity, better), exclude=[pair])

    out = {}
    for claim, choose in (("claim1", choose1), ("claim2", choose2)):
        if claim == "claim2" and (pair not in measure.columns or measure.shape[1] < 2):
            out[claim] = Contrast(np.nan, np.nan, np.nan, margin, n, np.nan, NOT_DISTINGUISHABLE, False, ())
            continue
        chosen = tuple(choose(chooser) for chooser, _ in folds)
        samples = [np.arange(len(estimator)) for _, estimator in folds]
        statistics = [_fold_statistic(oriented, estimator, a, b, similarity, better)
                      for (_, estimator), (a, b) in zip(folds, chosen)]
        weights = np.array([len(e) for _, e in folds], dtype=float) / sum(len(e) for _, e in folds)

        def combined(*indices, axis=-1):
            return sum(w * stat(idx) for w, stat, idx in zip(weights, statistics, indices))

        estimate = float(combined(*samples))
        contrasts = np.concatenate([stat.values for stat in statistics])
        if not decidable:
            low = high = np.nan
        elif np.ptp(contrasts) == 0:
            low = high = estimate  # the same pair chosen, or identical values: no spread to resample
        else:
            result = stats.bootstrap(samples, combined, n_resamples=n_resamples, confidence_level=1 - 2 * alpha,
                                     method="percentile", vectorized=False,
                                     random_state=np.random.default_rng(random_state))
            low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        sd = float(np.std(contrasts, ddof=1)) if len(contrasts) > 1 else np.nan
        out[claim] = Contrast(estimate, low, high, margin, n, smallest_detectable(sd, n, margin, alpha),
                              decide(low, high, margin, decidable), decidable, chosen)
    return out


def _values(oriented: pd.DataFrame, chooser, similarity, better) -> pd.DataFrame:
    """The oriented measure of the participants ``chooser``; consistency recomputed within them."""
    if similarity is None:
        return oriented.loc[chooser]
    sign = 1.0 if better == "higher" else -1.0
    return pd.DataFrame({config: sign * _within(matrix.loc[chooser, chooser]) for config, matrix in similarity.items()
                         if config in oriented.columns})


def _within(matrix: pd.DataFrame) -> pd.Series:
    """Each participant's mean similarity to the other participants of ``matrix``."""
    values = matrix.to_numpy(dtype=float)
    off = ~np.eye(len(values), dtype=bool)
    return pd.Series((values * off).sum(axis=1) / max(len(values) - 1, 1), index=matrix.index)


class _FoldStatistic:
    """The mean contrast of one estimation half, for any resample of its participants (by position)."""

    def __init__(self, oriented, estimator, a, b, similarity, better):
        self.estimator = list(estimator)
        if similarity is None:
            self.values = (oriented.loc[self.estimator, a] - oriented.loc[self.estimator, b]).to_numpy(float)
            self.matrix = None
        else:
            sign = 1.0 if better == "higher" else -1.0
            difference = sign * (similarity[a].loc[self.estimator, self.estimator].to_numpy(float)
                                 - similarity[b].loc[self.estimator, self.estimator].to_numpy(float))
            self.matrix = difference
            self.values = (difference * ~np.eye(len(difference), dtype=bool)).sum(axis=1) / max(len(difference) - 1, 1)

    def __call__(self, idx) -> float:
        idx = np.asarray(idx, dtype=int)
        if self.matrix is None:
            return float(self.values[idx].mean())
        # the U-statistic of the resample: pairs of distinct participants only
        block = self.matrix[np.ix_(idx, idx)]
        distinct = idx[:, None] != idx[None, :]
        return float(block[distinct].mean()) if distinct.any() else float("nan")


def _fold_statistic(oriented, estimator, a, b, similarity, better) -> _FoldStatistic:
    return _FoldStatistic(oriented, estimator, a, b, similarity, better)


def simulate_rule(scenario: str, *, n_participants: int = 15, n_pairs: int = 16, spread: float = 2.0,
                  noise: float = 0.03, margin: float = 0.02, alpha: float = 0.05, random_state=0,
                  n_resamples: int = 999) -> dict[str, Contrast]:
    """The contrasts of one synthetic study table with a known answer (for checking the rule).

    ``scenario``: ``"trade-off"`` (the best reconstructor is the least interpretable and the
    most interpretable pair is better by twice the margin), ``"no trade-off"`` (one pair is best
    at both), ``"claim 2"`` (``relu/tanh`` better than every other pair by twice the margin) or
    ``"no claim 2"`` (``relu/tanh`` tied with the best other pair). Pair effects are spread over
    ``spread`` noise standard deviations; participants add their own level to every pair.
    """
    rng = np.random.default_rng(random_state)
    pairs = ["relu/tanh"] + [f"p{i}/q" for i in range(1, n_pairs)]
    ids = [f"P{i:02d}" for i in range(n_participants)]
    recon_effect = np.linspace(0, spread * noise, n_pairs)[rng.permutation(n_pairs)]
    measure_effect = rng.uniform(0, spread * noise, n_pairs)
    best_r = int(np.argmax(recon_effect))
    if scenario == "trade-off":
        measure_effect[best_r] = measure_effect.min() - noise
        measure_effect[int(np.argsort(recon_effect)[0])] = measure_effect.max() + 2 * margin
    elif scenario == "no trade-off":
        measure_effect[best_r] = measure_effect.max() + 2 * margin
    elif scenario == "claim 2":
        measure_effect[0] = np.delete(measure_effect, 0).max() + 2 * margin
    elif scenario == "no claim 2":
        measure_effect[0] = np.delete(measure_effect, 0).max()
    else:
        raise ValueError(f"unknown scenario {scenario!r}; allowed: trade-off, no trade-off, claim 2, no claim 2")
    level = rng.normal(0, noise, (n_participants, 1))
    measure = pd.DataFrame(measure_effect + level + rng.normal(0, noise, (n_participants, n_pairs)),
                           index=ids, columns=pairs)
    recon = pd.DataFrame(recon_effect + level + rng.normal(0, noise, (n_participants, n_pairs)),
                         index=ids, columns=pairs)
    return claim_contrasts(measure, recon, better="higher", pair="relu/tanh", margin=margin, alpha=alpha,
                           random_state=random_state, n_resamples=n_resamples)


def rule_error_rates(n_tables: int = 200, random_state=0, **options) -> pd.DataFrame:
    """How often the rule gives each verdict in every scenario of :func:`simulate_rule`.

    One row per scenario: ``scenario``, ``claim``, ``truth`` (what the scenario makes true) and the share
    of tables with each verdict; ``wrong`` is the share of decisive verdicts against the truth, ``power``
    the share of correct decisive verdicts.
    """
    truths = {"trade-off": ("claim1", True), "no trade-off": ("claim1", False),
              "claim 2": ("claim2", True), "no claim 2": ("claim2", False)}
    rows = []
    for scenario, (claim, true) in truths.items():
        verdicts = [simulate_rule(scenario, random_state=(random_state, i), **options)[claim].verdict
                    for i in range(n_tables)]
        shares = pd.Series(verdicts).value_counts(normalize=True)
        right, wrong = (REPRODUCED, NOT_REPRODUCED) if true else (NOT_REPRODUCED, REPRODUCED)
        rows.append({"scenario": scenario, "claim": claim, "truth": "true" if true else "false",
                     REPRODUCED: float(shares.get(REPRODUCED, 0.0)),
                     NOT_REPRODUCED: float(shares.get(NOT_REPRODUCED, 0.0)),
                     NOT_DISTINGUISHABLE: float(shares.get(NOT_DISTINGUISHABLE, 0.0)),
                     "wrong": float(shares.get(wrong, 0.0)), "power": float(shares.get(right, 0.0))})
    return pd.DataFrame(rows)
