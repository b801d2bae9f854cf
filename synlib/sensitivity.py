"""How truth recovery changes along one difficulty axis of the simulated cohort.

The sensitivity chapter runs :func:`sweep` once per axis (noise, non-linearity,
synergy overlap): at every level it generates the cohort with that one option
changed, preprocesses it as every chapter does, fits NMF and the chosen
autoencoder pairs at each participant's true rank on the training repetitions,
and measures recovery of the true synergies with the honest measure
(:func:`synlib.metrics.truth_similarity`, an unmatched true synergy counts 0)
beside its chance level. :func:`verdict_pairs` names the pairs the verdict
names; :func:`breakdown` and :func:`beats_nmf` turn the table into sentences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from synlib import datasets, metrics, schema, simulate, tradeoff
from synlib.fits import split_participants
from synlib.progress import progress

__all__ = ["AXES", "DEFAULT_LEVELS", "AXIS_OPTIONS", "sweep", "verdict_pairs", "resolve_pairs", "resolve_levels",
           "level_summary", "breakdown", "beats_nmf", "describe_breakdown", "describe_wins", "PAPER_PAIR"]

PAPER_PAIR = ("relu", "tanh")
#: Axes a sweep can be labelled with: option name → (label, whether larger is harder).
AXES = {
    "envelope_noise": ("σ of the signal-dependent envelope noise", True),
    "snr_db": ("signal-to-noise ratio of the white noise on the raw EMG (dB)", False),
    "nonlinearity": ("strength of the non-linear mixing (0 = linear)", True),
    "synergy_overlap": ("largest cosine between a participant's true synergies", True),
}

#: The levels the chapter sweeps when a plan gives none: around the book's cohort, easiest first (ours).
DEFAULT_LEVELS = {
    "envelope_noise": [0.0, 0.2, 0.5],
    "nonlinearity": [0.0, 1.0, 2.0],
    "synergy_overlap": [0.3, 0.5, 0.7],
    "snr_db": [25.0, 15.0, 5.0],
}
#: Options an axis needs to act at all: the non-linearity scales the non-linear mixing mode.
AXIS_OPTIONS = {"nonlinearity": {"mixing": "nonlinear"}}


def _check(axis: str, levels: Sequence[float], n_participants: int, pairs, seeds) -> None:
    known = {f.name for f in simulate.SimulationConfig.__dataclass_fields__.values()}
    if axis not in known:
        raise ValueError(f"axis {axis!r} is not an option of the simulated cohort; options: {', '.join(sorted(known))}")
    if len(levels) < 2 or len(set(levels)) != len(levels):
        raise ValueError(f"levels {list(levels)!r} must be at least 2 distinct values of {axis!r}")
    if not (isinstance(n_participants, (int, np.integer)) and n_participants >= 2):
        raise ValueError(f"n_participants={n_participants!r} must be an integer ≥ 2 (intervals are over participants)")
    if not pairs:
        raise ValueError("pairs is empty: name at least one (encoder, decoder) pair")
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")


def sweep(dataset_options: dict, axis: str, levels: Sequence[float], *, n_participants: int = 3,
          pairs: Sequence[tuple[str, str]] = (PAPER_PAIR, ("linear", "linear")), seeds: Sequence[int] = (0,),
          preprocess: dict | None = None, n_restarts: int = 5, max_iter: int = 1000, nmf_solver: str = "mu",
          nmf_init: str = "random", chance_draws: int = 200, device: str = "auto", seed: int = 0,
          **ae_options) -> pd.DataFrame:
    """Truth recovery of NMF and of ``pairs`` at each level of ``axis``.

    Parameters
    ----------
    dataset_options : dict
        Options of the simulated cohort around which the axis is swept (the
        study's); ``n_participants`` and ``axis`` are overridden.
    axis : str
        An option of :class:`synlib.simulate.SimulationConfig`.
    levels : list of float
        Its values, easiest first.
    n_participants : int
        Participants generated at every level (the first ones of the cohort).
    pairs : list of (encoder, decoder)
        Autoencoder pairs, all trained in one batch per level.
    seeds : list of int
        Seeds per pair and participant; the model kept is the one with the
        lowest training loss (never chosen on held-out data or truth).
    preprocess : dict, optional
        Preprocessing overrides (:class:`synlib.preprocess.config.PreprocessConfig`).
    n_restarts, max_iter : int
        NMF restarts (the best training R² is kept) and iteration cap.
    nmf_solver, nmf_init : str
        NMF ``solver`` and ``init`` (:class:`synlib.nmf.NMF`; the group's multiplicative
        updates from random starts by default).
    chance_draws : int
        Shuffles for the chance level of the recovery.
    device : str
        Where NMF and the autoencoders compute (:func:`synlib.device.resolve_device`).
    **ae_options
        Passed to :func:`synlib.autoencoder.study.fit_pairs` (``epochs``, ...).

    Returns
    -------
    DataFrame
        One row per level × participant × configuration: ``axis``, ``level``,
        ``participant``, ``k_true``, ``method``, ``encoder``, ``decoder``,
        ``config``, ``truth_similarity``, ``truth_precision``, ``r2_test``,
        ``chance`` (the recovery of the same synergies shuffled across muscles).
    """
    import synlib.preprocess as prep
    from synlib.autoencoder.study import fit_pairs
    from synlib.nmf import NMF

    pairs = [tuple(p) for p in pairs]
    _check(axis, levels, n_participants, pairs, seeds)
    if axis == "nonlinearity" and dataset_options.get("mixing", "linear") == "linear":
        raise ValueError("axis 'nonlinearity' has no effect on linear mixing; set dataset_options "
                         "{'mixing': 'nonlinear'} (sensitivity.AXIS_OPTIONS)")
    rows = []
    config = prep.PreprocessConfig.from_dict(preprocess or {})
    with progress(total=len(levels), desc=f"sweep {axis}", unit="level") as bar:
        for level in levels:
            options = {"seed": seed, **dataset_options, axis: level, "n_participants": n_participants}
            data = datasets.open_dataset("simulated", options, None)
            envelopes = prep.preprocess(data, config, progress=False)
            held_out, splits = split_participants(envelopes)
            truth = envelopes.true_synergies
            ks = {p: truth[p].shape[0] for p in envelopes.participants}
            for p, (train, test) in splits.items():
                nmf = NMF(ks[p], n_restarts=n_restarts, max_iter=max_iter, random_state=seed, solver=nmf_solver,
                          init=nmf_init, device=device).fit(train.X)
                rows.append(_row(axis, level, p, ks[p], "NMF", "", "", nmf.synergies_, truth[p],
                                 metrics.r2_centred(test.X, nmf.inverse_transform(nmf.transform(test.X))),
                                 chance_draws, seed))
            fits = fit_pairs(envelopes, ks, pairs, seeds, held_out, device, **ae_options)
            for (encoder, decoder), fit in fits.items():
                kept = fit.table.loc[fit.table.groupby("participant")["final_loss"].idxmin()]
                for r in kept.itertuples():
                    W = fit.arrays[schema.fit_key(r.participant, r.k, "synergies", seed=r.seed)]
                    rows.append(_row(axis, level, r.participant, ks[r.participant], "AE", encoder, decoder, W,
                                     truth[r.participant], r.r2_test, chance_draws, seed))
            bar.update()
    return pd.DataFrame(rows)


def _row(axis, level, participant, k_true, method, encoder, decoder, W, T, r2_test, draws, seed) -> dict:
    return {"axis": axis, "level": level, "participant": participant, "k_true": k_true, "method": method,
            "encoder": encoder, "decoder": decoder, "config": tradeoff.config_label(method, encoder, decoder),
            "truth_similarity": metrics.truth_similarity(W, T), "truth_precision": metrics.truth_precision(W, T),
            "r2_test": float(r2_test),
            "chance": metrics.chance_similarity(metrics.truth_similarity, W, T, n_draws=draws, random_state=seed)}


def verdict_pairs(study: str) -> list[tuple[str, str]]:
    """The pairs the verdict names for ``study``: best reconstruction, best recovery, relu/tanh, linear/linear.

    "Best" here only picks which pairs to sweep: the pair with the highest
    median held-out R² and the one with the highest median truth recovery at
    the study's headline rank, read from the medians its trade-off chapter wrote
    (``tradeoff_intervals.csv``; that chapter says which pairs cannot be told
    apart from them).
    """
    from synlib import results

    intervals = results.read_table(study, "tradeoff_intervals")
    ae = intervals[intervals["config"] != tradeoff.NMF]
    chosen = [PAPER_PAIR, ("linear", "linear")]
    for measure in ("r2_test", "truth_similarity"):
        rows = ae[ae["measure"] == measure]
        if rows.empty:
            raise ValueError(f"study {study!r} has no autoencoder medians of {measure!r} in tradeoff_intervals.csv "
                             "to name pairs from; run its trade-off chapter first or pass pairs explicitly")
        best = rows.loc[rows["median"].idxmax(), "config"]
        chosen.insert(len(chosen) - 2, tuple(best.split("/")))
    return list(dict.fromkeys(chosen))


def level_summary(table: pd.DataFrame, measure: str = "truth_similarity", *, n_boot: int = 2000,
                  random_state: int = 0) -> pd.DataFrame:
    """Median of ``measure`` over participants with a 95 % bootstrap interval, per configuration and level.

    Adds the chance level (median over participants and configurations).
    """
    out = []
    for (config, level), rows in table.groupby(["config", "level"], sort=False):
        lo, hi = tradeoff.bootstrap_interval(rows[measure], n_boot=n_boot, random_state=random_state)
        out.append({"config": config, "level": level, "n": len(rows), "median": float(rows[measure].median()),
                    "ci_low": lo, "ci_high": hi})
    summary = pd.DataFrame(out)
    chance = table.groupby("level")["chance"].median()
    summary["chance"] = summary["level"].map(chance)
    return summary


def breakdown(summary: pd.DataFrame, levels: Sequence[float], threshold: float) -> pd.Series:
    """For each configuration, the first level (in sweep order) where its median recovery is below ``threshold``.

    NaN when it stays at or above the threshold at every level.
    """
    order = {level: i for i, level in enumerate(levels)}
    out = {}
    for config, rows in summary.groupby("config", sort=False):
        rows = rows.sort_values("level", key=lambda s: s.map(order))
        below = rows[rows["median"] < threshold]
        out[config] = below["level"].iloc[0] if len(below) else np.nan
    return pd.Series(out, name="breaks_down_at")


def beats_nmf(table: pd.DataFrame, measure: str = "truth_similarity") -> pd.DataFrame:
    """Levels and pairs where an autoencoder pair recovers the truth better than NMF for every participant.

    With a handful of participants no test can reach significance; agreement on
    every participant is the strongest statement the sweep supports.
    """
    nmf = table[table["method"] == "NMF"].set_index(["level", "participant"])[measure]
    ae = table[table["method"] == "AE"]
    out = []
    for (config, level), rows in ae.groupby(["config", "level"], sort=False):
        diff = rows.set_index("participant")[measure] - nmf.loc[level].reindex(rows["participant"]).to_numpy()
        if len(diff) and (diff > 0).all():
            out.append({"config": config, "level": level, "median_gain": float(diff.median())})
    return pd.DataFrame(out, columns=["config", "level", "median_gain"])


def resolve_pairs(pairs, reference_study: str) -> tuple[list[tuple[str, str]], str]:
    """The chapter parameter ``pairs`` as a list of (encoder, decoder), and a phrase saying where it came from.

    ``"verdict"``: :func:`verdict_pairs` of ``reference_study``; ``"all"``: the
    16 pairs; else a list of ``"encoder/decoder"`` strings or pairs.
    """
    from synlib.autoencoder.activations import ACTIVATIONS

    if pairs == "verdict":
        return verdict_pairs(reference_study), f"the pairs the verdict names for `{reference_study}`"
    if pairs == "all":
        return [(e, d) for e in ACTIVATIONS for d in ACTIVATIONS], "every pair"
    chosen = [tuple(p.split("/")) if isinstance(p, str) else tuple(p) for p in pairs]
    unknown = [p for p in chosen if len(p) != 2 or not set(p) <= set(ACTIVATIONS)]
    if unknown:
        raise ValueError(f"pairs {unknown} are not (encoder, decoder) pairs of {', '.join(ACTIVATIONS)}")
    return chosen, "the pairs asked for"


def resolve_levels(axis: str, levels) -> list[float]:
    """``levels``, or the axis's :data:`DEFAULT_LEVELS` when ``None``."""
    if levels is not None:
        return list(levels)
    if axis not in DEFAULT_LEVELS:
        raise ValueError(f"axis {axis!r} has no default levels ({', '.join(DEFAULT_LEVELS)} have); give levels")
    return list(DEFAULT_LEVELS[axis])


def describe_breakdown(broken: pd.Series, axis: str, threshold: float) -> str:
    """One sentence per :func:`breakdown`: where each configuration falls below ``threshold``."""
    phrases = [f"{config} " + ("never falls below it" if pd.isna(level) else f"falls below it at {level:g}")
               for config, level in broken.items()]
    return f"Along {axis} (median recovery below {threshold:g}): " + "; ".join(phrases) + "."


def describe_wins(wins: pd.DataFrame) -> str:
    """One sentence from :func:`beats_nmf`."""
    if wins.empty:
        return "No autoencoder pair recovers the truth better than NMF for every participant at any level."
    return "Better than NMF for every participant: " + "; ".join(
        f"{w.config} at {w.level:g} (median gain {w.median_gain:.3f})" for w in wins.itertuples()) + "."
