"""Rank rules: how many synergies each rule picks, and the ranks a study fits.

A *rank rule* names one way to choose the number of synergies k of a
participant from an NMF rank sweep (:class:`synlib.nmf.RankSweep`):

- ``"r2_0.80"`` (any threshold after ``r2_``): the smallest k whose best R²
  (centred) reaches the threshold — the authors' group's rule at 0.80, 0.85 and 0.90;
- ``"linearity"``: musclesyneRgies' rule, the first k from which the R² curve
  (about the grand mean) is a straight line;
- ``"cv"``: the k with the highest bi-cross-validated R² on held-out repetitions;
- ``"truth"``: the number of true synergies (simulated data only).

A study fits every extractor at the rank of its *headline* rule and, for the
rank-sensitivity analysis, at the ranks of the other rules and at the headline
rank plus each offset (e.g. −1 and +1). :func:`rank_table` lists them: one row
per participant × rule label, with the k it stands for; labels with an offset
read ``"truth-1"`` or ``"r2_0.80+1"``.

How :func:`select_rank` chooses
-------------------------------
- ``"threshold"``: smallest k whose best R² reaches the threshold (0.80, the
  authors' group; 0.85 and 0.90 are also used in the field);
- ``"linearity"``: musclesyneRgies' rule: the smallest k from which the
  R²-vs-k curve (best restart per rank) is a straight line, i.e. the mean
  squared residual of a least-squares line through the points k … k_max is at
  most ``mse_min`` (1e-4). musclesyneRgies applies it to R² about the global
  mean over ranks 1 … m − round(m/4);
- ``"cv"``: bi-cross-validation on held-out repetitions (Owen & Perry 2009):
  synergies are extracted from the training repetitions; on each held-out
  repetition, the activations are estimated (non-negative least squares) from
  some muscles and used to predict the others. Unlike the training R², which
  always grows with k, this held-out R² falls once extra synergies fit noise;
  the chosen rank maximises its mean over held-out repetitions.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["check_rule", "select_rank", "linearity_rank", "rule_rank", "rank_table", "ranks_by_participant", "headline_ranks", "offset_label"]

_THRESHOLD = re.compile(r"^r2_(0?\.\d+|1(\.0+)?)$")
_NAMED = ("linearity", "cv", "truth")
#: The methods of :func:`select_rank`.
RANK_METHODS = ("threshold", "linearity", "cv")


def check_rule(rule: str) -> str:
    """``rule`` if it names a rank rule, else a ValueError naming it and the allowed forms.

    Examples
    --------
    >>> check_rule("r2_0.85")
    'r2_0.85'
    """
    if not isinstance(rule, str) or not (rule in _NAMED or _THRESHOLD.match(rule)):
        raise ValueError(f"unknown rank rule {rule!r}; allowed: 'r2_<threshold>' (e.g. 'r2_0.80'), "
                         f"{', '.join(repr(r) for r in _NAMED)}")
    if rule.startswith("r2_") and not 0 < float(rule[3:]) <= 1:
        raise ValueError(f"rank rule {rule!r}: the R² threshold must be in (0, 1]")
    return rule


def linearity_rank(r2_by_rank, mse_min: float = 1e-4) -> int:
    """musclesyneRgies' rule: the first rank from which the R² curve is a straight line.

    For k = 1, 2, …, a least-squares line is fitted to (j, R²_j) for j = k … k_max;
    the answer is the first k whose mean squared residual is at most ``mse_min``
    (and k_max − 1 when none is, as in musclesyneRgies).

    Examples
    --------
    >>> import pandas as pd
    >>> linearity_rank(pd.Series([0.5, 0.8, 0.9, 0.91, 0.92, 0.93], index=range(1, 7)))
    3
    """
    curve = pd.Series(r2_by_rank).sort_index()
    ks = curve.index.to_numpy(dtype=float)
    values = curve.to_numpy(dtype=float)
    for start in range(len(values) - 1):
        if start == len(values) - 2:
            return int(ks[start])
        slope, intercept = np.polyfit(ks[start:], values[start:], 1)
        residual = values[start:] - (slope * ks[start:] + intercept)
        if np.mean(residual**2) <= mse_min:
            return int(ks[start])
    return int(ks[-1])


def select_rank(sweep, method: str = "threshold", *, threshold: float = 0.80,
                measure: str = "r2_centred", mse_min: float = 1e-4) -> int:
    """Choose the number of synergies from a :class:`RankSweep`.

    ``"threshold"``: smallest k whose best ``measure`` ≥ ``threshold`` (the group's rule);
    ``"linearity"``: :func:`linearity_rank` of the best ``measure`` per rank (musclesyneRgies;
    it uses ``measure="r2_global"``); ``"cv"``: k with the highest mean bi-cross-validated R²
    (needs ``rank_sweep(..., cv_groups=...)``).
    """
    if method not in RANK_METHODS:
        raise ValueError(f"unknown rank method {method!r}; allowed: {', '.join(RANK_METHODS)}")
    if method == "cv":
        if sweep.cv is None:
            raise ValueError("rank method 'cv' needs held-out groups: call rank_sweep(..., cv_groups=repetitions)")
        return int(sweep.cv.groupby("k")["r2"].mean().idxmax())
    best = sweep.best(measure)
    if method == "linearity":
        return linearity_rank(best, mse_min)
    if not 0 < threshold <= 1:
        raise ValueError(f"the R² threshold must be in (0, 1], got {threshold}")
    reached = best[best >= threshold]
    if reached.empty:
        warnings.warn(f"no rank reaches {measure} ≥ {threshold} (best {best.max():.3f} at "
                      f"k={int(best.idxmax())}); choosing the largest rank swept", stacklevel=2)
        return int(best.index.max())
    return int(reached.index.min())


def rule_rank(sweep, rule: str, true_rank: int | None = None) -> int:
    """The k that ``rule`` picks from ``sweep`` (``true_rank`` for ``"truth"``)."""

    check_rule(rule)
    if rule == "truth":
        if true_rank is None:
            raise ValueError("rank rule 'truth' needs the true number of synergies: only simulated data have it")
        return int(true_rank)
    if rule == "linearity":
        return select_rank(sweep, "linearity", measure="r2_global")
    if rule == "cv":
        return select_rank(sweep, "cv")
    return select_rank(sweep, "threshold", threshold=float(rule[3:]))


def offset_label(rule: str, offset: int) -> str:
    """``"truth"``, ``"truth-1"``, ``"truth+1"``: the label of a rule's rank moved by ``offset``.

    Examples
    --------
    >>> offset_label("truth", -1), offset_label("r2_0.80", 0), offset_label("r2_0.80", 2)
    ('truth-1', 'r2_0.80', 'r2_0.80+2')
    """
    return rule if offset == 0 else f"{rule}{offset:+d}"


def rank_table(picks: Mapping[str, Mapping[str, int]], headline: str, offsets: Sequence[int] = (0,),
               n_muscles: int | None = None, sensitivity_participants: Sequence[str] | None = None) -> pd.DataFrame:
    """The ranks a study fits: one row per participant × rule label.

    Parameters
    ----------
    picks : dict participant → (dict rule → k)
        What each rule picked for each participant (every participant has the headline rule).
    headline : str
        The rule the headline results use.
    offsets : list of int
        Offsets around the headline rank fitted for the rank sensitivity (0 is always included).
    n_muscles : int, optional
        Ranks outside 1 … n_muscles are dropped (k_true + 1 with few muscles, k − 1 at k = 1).
    sensitivity_participants : list of str, optional
        The participants fitted at the other rules' ranks and the offsets; ``None`` = all.
        The others are fitted at the headline rank only.

    Returns
    -------
    DataFrame
        ``participant``, ``rule`` (label), ``k``, ``headline`` (bool), ``offset`` (from the headline
        rank; NaN for another rule's pick).

    Examples
    --------
    >>> picks = {"P1": {"truth": 5, "r2_0.80": 4}, "P2": {"truth": 5, "r2_0.80": 5}}
    >>> rank_table(picks, "truth", [-1, 1], sensitivity_participants=["P1"])[["participant", "rule", "k"]].values.tolist()
    [['P1', 'truth', 5], ['P1', 'truth-1', 4], ['P1', 'truth+1', 6], ['P1', 'r2_0.80', 4], ['P2', 'truth', 5]]
    """
    check_rule(headline)
    offsets = [int(o) for o in offsets]
    wanted = set(picks) if sensitivity_participants is None else set(sensitivity_participants)
    rows = []
    for participant, by_rule in picks.items():
        if headline not in by_rule:
            raise ValueError(f"participant {participant!r} has no rank for the headline rule {headline!r}")
        k0 = int(by_rule[headline])
        rows.append({"participant": participant, "rule": headline, "k": k0, "headline": True, "offset": 0.0})
        if participant not in wanted:
            continue
        for offset in sorted(set(offsets) - {0}):
            rows.append({"participant": participant, "rule": offset_label(headline, offset), "k": k0 + offset,
                         "headline": False, "offset": float(offset)})
        for rule, k in by_rule.items():
            if rule != headline:
                rows.append({"participant": participant, "rule": rule, "k": int(k), "headline": False,
                             "offset": np.nan})
    table = pd.DataFrame(rows, columns=["participant", "rule", "k", "headline", "offset"])
    if n_muscles is not None:
        table = table[(table["k"] >= 1) & (table["k"] <= n_muscles)]
    return table.reset_index(drop=True)


def ranks_by_participant(table: pd.DataFrame) -> dict[str, list[int]]:
    """The distinct ranks to fit for each participant, ascending, from :func:`rank_table`."""
    return {p: sorted(int(k) for k in set(g["k"])) for p, g in table.groupby("participant", sort=False)}


def headline_ranks(table: pd.DataFrame) -> dict[str, int]:
    """participant → the headline rank, from :func:`rank_table`."""
    rows = table[table["headline"].astype(bool)]
    return dict(zip(rows["participant"], rows["k"].astype(int)))


def at_headline(table: pd.DataFrame, headline: Mapping[str, int]) -> pd.DataFrame:
    """The rows of a fit table (``participant``, ``k``) at each participant's headline rank."""
    return table[table["k"] == table["participant"].map(headline)]
