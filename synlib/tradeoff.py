"""The trade-off between reconstruction and interpretability, across configurations.

A *configuration* is NMF or one autoencoder encoder/decoder activation pair
(labelled ``"<encoder>/<decoder>"``). :func:`load_study_table` gathers the fit
tables that the NMF and autoencoder chapters wrote and adds the
interpretability measures of :mod:`synlib.metrics`, computed from their arrays:
one tidy row per participant × configuration × seed. The rest compares
configurations across participants (the blocks of every test):

- :func:`friedman_test`: Friedman test over configurations with Kendall's W;
- :func:`pairwise_wilcoxon`: post-hoc Wilcoxon signed-rank tests, Holm-corrected
  (:func:`holm`), with the matched-pairs rank-biserial correlation
  (:func:`rank_biserial`) as effect size;
- :func:`rank_agreement`: Spearman correlation between the ranking of
  configurations by reconstruction and by each interpretability measure;
- :func:`pareto_front`: the configurations no other one beats on both axes.

Every function returns a tidy DataFrame (or a plain array for :func:`holm`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from synlib import metrics, paths, results

#: Display order of activations (heat-map rows and columns); others found on disk follow.
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")
NMF = "NMF"


@dataclass(frozen=True)
class Measure:
    """What a column of the study table measures and which way is better.

    ``better`` is ``"higher"``, ``"lower"`` or ``None`` for a measure that only
    describes (Hoyer sparseness: the physiology does not say how sparse a synergy
    should be).
    """

    label: str
    better: str | None
    kind: str


MEASURES: dict[str, Measure] = {
    "r2_train": Measure("R² (training)", "higher", "reconstruction"),
    "r2_test": Measure("R² (held out)", "higher", "reconstruction"),
    "r2_global_test": Measure("R² about the grand mean (held out)", "higher", "reconstruction"),
    "vaf_test": Measure("VAF (held out)", "higher", "reconstruction"),
    "nmf_similarity": Measure("similarity to NMF synergies", "higher", "interpretability"),
    "nmf_similarity_greedy": Measure("similarity to NMF synergies (greedy pairing)", "higher",
                                     "interpretability"),
    "nmf_activation_correlation": Measure("correlation with NMF activations", "higher",
                                          "interpretability"),
    "hoyer": Measure("Hoyer sparseness of synergies", None, "interpretability"),
    "negative_weights": Measure("fraction of negative synergy weights", "lower", "interpretability"),
    "negative_activations": Measure("fraction of negative activations", "lower", "interpretability"),
    "hidden_saturation": Measure("saturated encoder outputs", "lower", "interpretability"),
    "output_saturation": Measure("saturated decoder outputs", "lower", "interpretability"),
    "consistency": Measure("similarity across participants", "higher", "interpretability"),
    "truth_similarity": Measure("similarity to true synergies", "higher", "truth"),
    "truth_activation_correlation": Measure("correlation with true activations", "higher", "truth"),
}

_FITS_COLUMNS = ("participant", "method", "encoder", "decoder", "k", "seed", "r2_train", "r2_test")
_AE_TABLE = re.compile(r"^ae_fits_([A-Za-z0-9]+)_([A-Za-z0-9]+)$")


def config_label(method: str, encoder: str = "", decoder: str = "") -> str:
    """Name of a configuration: ``"NMF"`` or ``"<encoder>/<decoder>"``.

    Examples
    --------
    >>> config_label("AE", "relu", "tanh"), config_label("NMF")
    ('relu/tanh', 'NMF')
    """
    return NMF if method == NMF else f"{encoder}/{decoder}"


def activation_order(names) -> list[str]:
    """Activations in display order: :data:`ACTIVATIONS` first, any others sorted after.

    Examples
    --------
    >>> activation_order(["tanh", "elu", "linear"])
    ['linear', 'tanh', 'elu']
    """
    names = set(names)
    return [a for a in ACTIVATIONS if a in names] + sorted(names - set(ACTIVATIONS))


def config_order(configs) -> list[str]:
    """NMF first, then the pairs by encoder, then decoder, in :func:`activation_order`.

    Examples
    --------
    >>> config_order(["tanh/relu", "NMF", "relu/tanh", "relu/linear"])
    ['NMF', 'relu/linear', 'relu/tanh', 'tanh/relu']
    """
    configs = set(configs)
    pairs = [c.split("/") for c in configs if c != NMF]
    rank = {a: i for i, a in enumerate(activation_order(a for pair in pairs for a in pair))}
    ordered = sorted(pairs, key=lambda pair: (rank[pair[0]], rank[pair[1]]))
    return ([NMF] if NMF in configs else []) + ["/".join(pair) for pair in ordered]


# --- reading a study ------------------------------------------------------------------------------


def ae_tables_on_disk(study: str) -> list[str]:
    """Names of the ``ae_fits_<encoder>_<decoder>`` tables of ``study``, sorted."""
    folder = paths.results_dir(study)
    names = sorted(p.stem for p in folder.glob("ae_fits_*.csv"))
    return [n for n in names if _AE_TABLE.match(n)]


def _read_fits(study: str, name: str) -> pd.DataFrame:
    table = results.read_table(study, name)
    path = results.table_path(study, name)
    missing = [c for c in _FITS_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path} lacks the columns {missing}; a fit table needs {list(_FITS_COLUMNS)}")
    table[["encoder", "decoder"]] = table[["encoder", "decoder"]].fillna("")
    return table


def select_participants(ids, participants) -> list[str]:
    """The chapter parameter ``participants`` applied to the ids found in a study.

    ``None`` keeps all, an int the first n (in the order of the NMF table), a list those ids.

    Examples
    --------
    >>> select_participants(["P1", "P2", "P3"], 2)
    ['P1', 'P2']
    """
    ids = list(dict.fromkeys(str(i) for i in ids))
    if participants is None:
        return ids
    if isinstance(participants, (int, np.integer)) and not isinstance(participants, bool):
        if participants < 1:
            raise ValueError(f"participants={participants}: give a positive number, a list of ids or None")
        return ids[:participants]
    wanted = [str(p) for p in participants]
    unknown = [p for p in wanted if p not in ids]
    if unknown:
        raise ValueError(f"participants {unknown} have no results in this study; found {ids}")
    return wanted


def _array(arrays: dict, key: str, source: str) -> np.ndarray:
    if key not in arrays:
        raise ValueError(f"{source} has no array {key!r}; its first keys are {sorted(arrays)[:6]}")
    return arrays[key]


def _row_measures(W, C_test, W_nmf, C_nmf_test) -> dict[str, float]:
    hungarian = metrics.match_synergies(W, W_nmf)
    return {
        "nmf_similarity": hungarian.mean,
        "nmf_similarity_greedy": metrics.match_synergies_greedy(W, W_nmf).mean,
        "nmf_activation_correlation": float(np.mean(metrics.activation_correlation(C_test, C_nmf_test, hungarian))),
        "hoyer": float(np.nanmean(metrics.hoyer_sparseness(W))),
        "negative_weights": metrics.negative_fraction(W),
        "negative_activations": metrics.negative_fraction(C_test),
    }


def _add_consistency(table: pd.DataFrame, synergies: dict) -> pd.Series:
    """Mean similarity of each row's synergies to the other participants' (same configuration and seed)."""
    consistency = pd.Series(np.nan, index=table.index)
    for _, group in table.groupby(["config", "seed"], sort=False):
        if len(group) < 2:
            continue
        sets = {table.at[i, "participant"]: synergies[i] for i in group.index}
        pairs = metrics.cross_participant_similarity(sets)
        both = pd.concat([pairs.rename(columns={"participant_a": "p", "participant_b": "q"}),
                          pairs.rename(columns={"participant_b": "p", "participant_a": "q"})])
        per_participant = both.groupby("p")["similarity"].mean()
        consistency[group.index] = group["participant"].map(per_participant).to_numpy()
    return consistency


def load_study_table(study: str, participants=None, *, true_synergies=None,
                     true_activations_test=None, saturation_tol: float = 1e-3) -> pd.DataFrame:
    """One tidy row per participant × configuration × seed, with every measure.

    Reads ``nmf_fits.csv``, ``nmf_synergies.npz`` and every ``ae_fits_<enc>_<dec>.csv``
    with its ``ae_<enc>_<dec>.npz`` (see CONTRIBUTING.md) and adds to the fit
    columns, from the arrays:

    - ``nmf_similarity`` / ``nmf_similarity_greedy``: mean matched cosine similarity
      to the same participant's NMF synergies (Hungarian / the group's greedy pairing);
    - ``nmf_activation_correlation``: mean Pearson r of the matched held-out activations;
    - ``hoyer``: mean Hoyer sparseness of the synergies;
    - ``negative_weights``, ``negative_activations``: fractions of negative values;
    - ``hidden_saturation``, ``output_saturation``: share of encoder outputs
      (``hidden_test``) and decoder outputs (``output_test``) at their
      activation's bounds (NaN for NMF);
    - ``consistency``: mean similarity to the other participants' synergies of the
      same configuration and seed (NaN with a single participant);
    - ``truth_similarity``, ``truth_activation_correlation``: recovery of the ground
      truth, computed when ``true_synergies`` (and ``true_activations_test``) are
      given, else taken from the fit tables when they carry ``truth_similarity``.

    NMF rows compare NMF with itself: their NMF similarity and correlation are 1.

    Parameters
    ----------
    study : str
        Results folder name.
    participants : None, int or list of str
        As the chapter parameter (see :func:`select_participants`).
    true_synergies : dict of str to ndarray of shape (k_true, n_muscles), optional
    true_activations_test : dict of str to ndarray of shape (n_test, k_true), optional
        True activations over the held-out samples, in the order of ``activations_test``.
    saturation_tol : float, default 1e-3
        See :func:`synlib.metrics.saturation_fraction`.

    Returns
    -------
    DataFrame
        The fit columns, ``config`` and the measures above.
    """
    ae_names = ae_tables_on_disk(study)
    if not ae_names:
        raise FileNotFoundError(f"study {study!r} has no ae_fits_<encoder>_<decoder>.csv in "
                                f"{paths.results_dir(study)}; run the autoencoder chapter first")
    nmf = _read_fits(study, "nmf_fits")
    keep = select_participants(nmf["participant"], participants)
    nmf_arrays = results.read_arrays(study, "nmf_synergies")
    nmf_source = str(results.arrays_path(study, "nmf_synergies"))
    W_nmf = {p: _array(nmf_arrays, f"{p}.synergies", nmf_source) for p in keep}
    C_nmf = {p: _array(nmf_arrays, f"{p}.activations_test", nmf_source) for p in keep}

    rows, synergies, activations = [], [], []
    for _, fit in nmf[nmf["participant"].isin(keep)].iterrows():
        p = fit["participant"]
        measures = _row_measures(W_nmf[p], C_nmf[p], W_nmf[p], C_nmf[p])
        rows.append({**fit.to_dict(), **measures, "hidden_saturation": np.nan, "output_saturation": np.nan})
        synergies.append(W_nmf[p])
        activations.append(C_nmf[p])
    for name in ae_names:
        encoder, decoder = _AE_TABLE.match(name).groups()
        fits = _read_fits(study, name)
        wrong = fits[(fits["encoder"] != encoder) | (fits["decoder"] != decoder)]
        if len(wrong):
            raise ValueError(f"{results.table_path(study, name)} holds rows of the pair "
                             f"{wrong['encoder'].iloc[0]}/{wrong['decoder'].iloc[0]}, not {encoder}/{decoder}")
        arrays = results.read_arrays(study, f"ae_{encoder}_{decoder}")
        source = str(results.arrays_path(study, f"ae_{encoder}_{decoder}"))
        for _, fit in fits[fits["participant"].isin(keep)].iterrows():
            p = fit["participant"]
            prefix = f"{p}.s{int(fit['seed'])}."
            W = _array(arrays, prefix + "synergies", source)
            C = _array(arrays, prefix + "activations_test", source)
            try:
                measures = _row_measures(W, C, W_nmf[p], C_nmf[p])
                measures["hidden_saturation"] = metrics.saturation_fraction(
                    _array(arrays, prefix + "hidden_test", source), encoder, saturation_tol)
                measures["output_saturation"] = metrics.saturation_fraction(
                    _array(arrays, prefix + "output_test", source), decoder, saturation_tol)
            except ValueError as exc:
                raise ValueError(f"{source}, participant {p}, seed {int(fit['seed'])} "
                                 f"(against {nmf_source}): {exc}") from exc
            rows.append({**fit.to_dict(), **measures})
            synergies.append(W)
            activations.append(C)

    table = pd.DataFrame(rows)
    table["config"] = [config_label(m, e, d) for m, e, d in zip(table["method"], table["encoder"], table["decoder"])]
    table["consistency"] = _add_consistency(table, synergies)
    if true_synergies is not None:
        table["truth_similarity"] = [metrics.truth_similarity(W, true_synergies[p])
                                     for W, p in zip(synergies, table["participant"])]
    if true_activations_test is not None:
        if true_synergies is None:
            raise ValueError("true_activations_test needs true_synergies to pair the activations")
        table["truth_activation_correlation"] = [
            metrics.activation_truth_correlation(C, true_activations_test[p], W, true_synergies[p])
            for C, W, p in zip(activations, synergies, table["participant"])]
    return table


def truth_of_test_rows(test_envelopes) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The ``true_synergies`` and ``true_activations_test`` arguments of :func:`load_study_table`.

    ``test_envelopes`` is the held-out part of a simulated study's
    :class:`synlib.preprocess.Envelopes` (the second result of its ``split`` with
    the chapters' ``test_repetitions``); each participant's rows are taken in the
    order that the NMF and autoencoder chapters transformed them.
    """
    if not test_envelopes.true_synergies or "activations" not in test_envelopes.truth:
        raise ValueError("these envelopes carry no ground truth (only simulated data have it)")
    true_activations = {p: test_envelopes.select(participant=p).truth["activations"]
                        for p in test_envelopes.participants}
    return dict(test_envelopes.true_synergies), true_activations


@dataclass(frozen=True)
class MixingModes:
    """The mixing mode of a simulated study, the other mode, and the study that holds the other."""

    study: str
    other: str
    other_study: str


def mixing_modes(study: str, dataset: str, dataset_options: dict) -> MixingModes:
    """Which mixing mode ``study`` simulates and where the ground-truth chapters put the other one.

    Examples
    --------
    >>> mixing_modes("simulated", "simulated", {})
    MixingModes(study='linear', other='nonlinear', other_study='simulated-nonlinear')
    """
    from synlib import datasets

    accepted = datasets.options(dataset)
    if "mixing" not in accepted:
        raise ValueError(f"the ground-truth chapters compare mixing modes of a simulated dataset; dataset "
                         f"{dataset!r} takes no 'mixing' option (it takes {', '.join(accepted) or 'none'})")
    mode = (dataset_options or {}).get("mixing", accepted["mixing"])
    other = {"linear": "nonlinear", "nonlinear": "linear"}[mode]
    return MixingModes(study=mode, other=other, other_study=f"{study}-{other}")


def measures_in(table: pd.DataFrame, kind: str | None = None) -> list[str]:
    """The known measures that ``table`` holds with at least one value, optionally of one kind."""
    return [m for m, spec in MEASURES.items()
            if m in table.columns and table[m].notna().any() and (kind is None or spec.kind == kind)]


# --- across participants ------------------------------------------------------------------------


def participant_table(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Participants × configurations of ``measure``, averaged over seeds, complete blocks only.

    Configurations with no value (e.g. saturation for NMF) are left out, then any
    participant missing a configuration, so that every test compares matched blocks.
    """
    if measure not in table.columns:
        raise KeyError(f"measure {measure!r} not in the study table; it has {measures_in(table)}")
    wide = table.pivot_table(index="participant", columns="config", values=measure, aggfunc="mean")
    wide = wide.dropna(axis=1, how="all").dropna(axis=0, how="any")
    return wide[config_order(wide.columns)]


def kendalls_w(statistic: float, n_blocks: int, n_treatments: int) -> float:
    """Kendall's coefficient of concordance from Friedman's χ²: W = χ² / (n (k − 1)).

    Examples
    --------
    >>> kendalls_w(6.0, 3, 3)
    1.0
    """
    return float(statistic / (n_blocks * (n_treatments - 1)))


def friedman_test(table: pd.DataFrame, measures) -> pd.DataFrame:
    """Friedman test of each measure over configurations, participants as blocks.

    Returns one row per measure: ``measure``, ``n_participants``,
    ``n_configurations``, ``statistic`` (χ², tie-corrected), ``pvalue`` and
    ``kendalls_w``. A measure with fewer than 2 complete participants or 3
    configurations gives NaN; one with no differences at all gives χ² = 0, p = 1.
    """
    out = []
    for measure in measures:
        wide = participant_table(table, measure)
        n, k = wide.shape
        statistic = pvalue = w = np.nan
        if n >= 2 and k >= 3:
            if np.ptp(wide.to_numpy(), axis=1).max() == 0:
                statistic, pvalue, w = 0.0, 1.0, 0.0
            else:
                statistic, pvalue = stats.friedmanchisquare(*wide.to_numpy().T)
                w = kendalls_w(statistic, n, k)
        out.append({"measure": measure, "n_participants": n, "n_configurations": k,
                    "statistic": float(statistic), "pvalue": float(pvalue), "kendalls_w": w})
    return pd.DataFrame(out)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control).

    Sorted ascending, the i-th smallest of m p-values is multiplied by m − i
    (i from 0); the products are made non-decreasing and capped at 1. NaN
    p-values stay NaN and do not count in m.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    steps = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    adjusted[order] = np.minimum(steps, 1.0)
    return adjusted


def rank_biserial(x, y) -> float:
    """Matched-pairs rank-biserial correlation of ``x − y`` (Kerby 2014).

    r = (R⁺ − R⁻) / (R⁺ + R⁻), the signed-rank sums of the non-zero differences
    (zero differences dropped, as in the Wilcoxon test): +1 when ``x`` is larger
    in every pair, −1 when smaller. NaN when every difference is zero.

    Examples
    --------
    >>> rank_biserial([2, 4, 0, 9], [1, 2, 3, 5])  # ranks 1, 2, 3, 4; R⁻ = 3
    0.4
    """
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return float("nan")
    ranks = stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def pairwise_wilcoxon(table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Post-hoc Wilcoxon signed-rank test of every pair of configurations.

    Participants are the matched pairs (values averaged over seeds). Holm's
    correction runs over all pairs of this measure. Returns one row per pair:
    ``measure``, ``config_a``, ``config_b``, ``n``, ``median_difference`` (a − b),
    ``statistic``, ``pvalue``, ``pvalue_holm`` and ``rank_biserial`` (positive
    when a is larger). When every difference is zero the test has nothing to
    rank: statistic NaN, p = 1.
    """
    wide = participant_table(table, measure)
    configs = list(wide.columns)
    out = []
    for i, a in enumerate(configs):
        for b in configs[i + 1:]:
            x, y = wide[a].to_numpy(), wide[b].to_numpy()
            statistic, pvalue = np.nan, np.nan
            if len(x) >= 2:
                if np.all(x == y):
                    pvalue = 1.0
                else:
                    statistic, pvalue = stats.wilcoxon(x, y)
            out.append({"measure": measure, "config_a": a, "config_b": b, "n": len(x),
                        "median_difference": float(np.median(x - y)) if len(x) else np.nan,
                        "statistic": float(statistic), "pvalue": float(pvalue),
                        "rank_biserial": rank_biserial(x, y)})
    out = pd.DataFrame(out, columns=["measure", "config_a", "config_b", "n", "median_difference",
                                     "statistic", "pvalue", "rank_biserial"])
    out.insert(len(out.columns) - 1, "pvalue_holm", holm(out["pvalue"]))
    return out


# --- configurations -----------------------------------------------------------------------------


def config_summary(table: pd.DataFrame, measures=None, statistic: str = "median") -> pd.DataFrame:
    """One row per configuration: ``method``, ``encoder``, ``decoder``, ``config``,
    ``n_participants`` and the ``statistic`` (median or mean) over participants of
    each measure (each participant's value averaged over seeds first).
    """
    if statistic not in ("median", "mean"):
        raise ValueError(f"statistic {statistic!r} unknown; allowed: 'median', 'mean'")
    measures = measures_in(table) if measures is None else list(measures)
    per_participant = table.groupby(["method", "encoder", "decoder", "config", "participant"],
                                     sort=False)[measures].mean()
    grouped = per_participant.groupby(level=["method", "encoder", "decoder", "config"], sort=False)
    summary = grouped.agg(statistic)
    summary.insert(0, "n_participants", grouped.size())
    summary = summary.reset_index()
    order = {c: i for i, c in enumerate(config_order(summary["config"]))}
    return summary.sort_values("config", key=lambda s: s.map(order)).reset_index(drop=True)


def best_configuration(summary: pd.DataFrame, measure: str, method: str = "AE") -> pd.Series:
    """The row of ``summary`` (among ``method``'s configurations) best on ``measure``.

    Ties go to the first configuration in :func:`config_order`.
    """
    better = MEASURES[measure].better if measure in MEASURES else None
    if better is None:
        raise ValueError(f"measure {measure!r} has no better direction; choose one of "
                         f"{[m for m, s in MEASURES.items() if s.better]}")
    rows = summary[summary["method"] == method].dropna(subset=[measure])
    if rows.empty:
        raise ValueError(f"no {method} configuration has a value of {measure!r}")
    values = rows[measure] if better == "higher" else -rows[measure]
    return rows.loc[values.idxmax()]


def rank_agreement(summary: pd.DataFrame, reconstruction: str, measures, method: str = "AE") -> pd.DataFrame:
    """Spearman correlation between the configurations' reconstruction and each other measure.

    Computed over ``method``'s configurations in ``summary`` (one value per
    configuration). The ranking by a measure whose better side is "lower" is
    reversed, so that ρ > 0 always means "the configurations that reconstruct
    better are also better on this measure". Returns ``measure``, ``rho``,
    ``pvalue``, ``n_configurations``; NaN with fewer than 3 configurations or a
    constant column.
    """
    rows = summary[summary["method"] == method]
    out = []
    for measure in measures:
        both = rows[[reconstruction, measure]].dropna()
        sign = -1.0 if MEASURES.get(measure, Measure("", None, "")).better == "lower" else 1.0
        rho = pvalue = np.nan
        if len(both) >= 3 and both[reconstruction].nunique() > 1 and both[measure].nunique() > 1:
            rho, pvalue = stats.spearmanr(both[reconstruction], sign * both[measure])
        out.append({"measure": measure, "rho": float(rho), "pvalue": float(pvalue),
                    "n_configurations": len(both)})
    return pd.DataFrame(out)


def pareto_front(df: pd.DataFrame, x: str, y: str, *, maximize=(True, True)) -> pd.DataFrame:
    """Mark the configurations that no other one dominates on ``x`` and ``y``.

    A row dominates another when it is at least as good on both axes and better on
    one ("good" = larger, or smaller where ``maximize`` says False). Rows with a
    missing value are neither on the front nor dominate. Returns a copy of ``df``
    with a boolean column ``pareto``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1, 2, 3, 2, 3], "y": [5, 4, 3, 2, 1]})
    >>> pareto_front(df, "x", "y")["pareto"].tolist()
    [True, True, True, False, False]
    """
    signs = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    points = df[[x, y]].to_numpy(dtype=float) * signs
    valid = ~np.isnan(points).any(axis=1)
    on_front = valid.copy()
    for i in np.flatnonzero(valid):
        others = points[valid]
        dominated = ((others >= points[i]).all(axis=1) & (others > points[i]).any(axis=1)).any()
        on_front[i] = not dominated
    out = df.copy()
    out["pareto"] = on_front
    return out


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _rank_among(rows: pd.DataFrame, measure: str, config: str) -> int:
    values = rows.set_index("config")[measure]
    values = values if MEASURES[measure].better == "higher" else -values
    return int(values.rank(ascending=False, method="min")[config])


def headline(summary: pd.DataFrame, reconstruction: str, interpretability: str) -> dict:
    """The numbers of the chapter's plain statement, from a configuration summary.

    Among the autoencoder pairs: the best on ``reconstruction`` and its value, value
    and rank (1 = best, ties share the better rank) on ``interpretability``; the
    same for the best on ``interpretability``; the number of pairs; NMF's values
    when the summary has NMF. Keys: ``best_reconstruction_pair``,
    ``best_reconstruction_value``, ``best_reconstruction_pair_interpretability``,
    ``best_reconstruction_pair_interpretability_rank``, ``best_interpretability_pair``,
    ``best_interpretability_value``, ``best_interpretability_pair_reconstruction``,
    ``best_interpretability_pair_reconstruction_rank``, ``n_pairs``,
    ``nmf_reconstruction``, ``nmf_interpretability``, ``reconstruction``, ``interpretability``.
    """
    pairs = summary[summary["method"] != NMF].dropna(subset=[reconstruction, interpretability])
    best_r = best_configuration(pairs, reconstruction)
    best_i = best_configuration(pairs, interpretability)
    nmf = summary[summary["method"] == NMF]
    return {
        "reconstruction": reconstruction,
        "interpretability": interpretability,
        "n_pairs": len(pairs),
        "best_reconstruction_pair": best_r["config"],
        "best_reconstruction_value": float(best_r[reconstruction]),
        "best_reconstruction_pair_interpretability": float(best_r[interpretability]),
        "best_reconstruction_pair_interpretability_rank": _rank_among(pairs, interpretability, best_r["config"]),
        "best_interpretability_pair": best_i["config"],
        "best_interpretability_value": float(best_i[interpretability]),
        "best_interpretability_pair_reconstruction": float(best_i[reconstruction]),
        "best_interpretability_pair_reconstruction_rank": _rank_among(pairs, reconstruction, best_i["config"]),
        "nmf_reconstruction": float(nmf[reconstruction].iloc[0]) if len(nmf) else float("nan"),
        "nmf_interpretability": float(nmf[interpretability].iloc[0]) if len(nmf) else float("nan"),
    }


def describe_headline(h: dict, statistic: str = "median") -> str:
    """A plain-language statement (Markdown) of :func:`headline`'s numbers.

    Examples
    --------
    >>> h = {"reconstruction": "r2_test", "interpretability": "nmf_similarity", "n_pairs": 16,
    ...      "best_reconstruction_pair": "relu/linear", "best_reconstruction_value": 0.91,
    ...      "best_reconstruction_pair_interpretability": 0.7,
    ...      "best_reconstruction_pair_interpretability_rank": 12,
    ...      "best_interpretability_pair": "relu/tanh", "best_interpretability_value": 0.95,
    ...      "best_interpretability_pair_reconstruction": 0.85,
    ...      "best_interpretability_pair_reconstruction_rank": 9,
    ...      "nmf_reconstruction": 0.88, "nmf_interpretability": 1.0}
    >>> print(describe_headline(h))  # doctest: +NORMALIZE_WHITESPACE
    Of the 16 autoencoder pairs, **relu/linear** reconstructs best (median R² (held out) 0.910); its
    synergies rank 12th on similarity to NMF synergies (0.700). The most interpretable synergies by
    that measure come from **relu/tanh** (0.950), which ranks 9th on reconstruction (0.850). NMF
    reaches 0.880 and 1.000 on the same two measures.
    """
    r_label = MEASURES[h["reconstruction"]].label
    i_label = MEASURES[h["interpretability"]].label
    if h["best_reconstruction_pair"] == h["best_interpretability_pair"]:
        text = (f"Of the {h['n_pairs']} autoencoder pairs, **{h['best_reconstruction_pair']}** is best "
                f"both on reconstruction ({statistic} {r_label} {h['best_reconstruction_value']:.3f}) and "
                f"on {i_label} ({h['best_interpretability_value']:.3f}): on this dataset the two goals "
                "do not pull apart.")
    else:
        text = (f"Of the {h['n_pairs']} autoencoder pairs, **{h['best_reconstruction_pair']}** reconstructs "
                f"best ({statistic} {r_label} {h['best_reconstruction_value']:.3f}); its synergies rank "
                f"{_ordinal(h['best_reconstruction_pair_interpretability_rank'])} on {i_label} "
                f"({h['best_reconstruction_pair_interpretability']:.3f}). The most interpretable synergies "
                f"by that measure come from **{h['best_interpretability_pair']}** "
                f"({h['best_interpretability_value']:.3f}), which ranks "
                f"{_ordinal(h['best_interpretability_pair_reconstruction_rank'])} on reconstruction "
                f"({h['best_interpretability_pair_reconstruction']:.3f}).")
    if not np.isnan(h["nmf_reconstruction"]):
        text += (f" NMF reaches {h['nmf_reconstruction']:.3f} and {h['nmf_interpretability']:.3f} "
                 "on the same two measures.")
    return text
