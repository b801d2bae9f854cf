"""Fitting one activation pair to every participant of a study, with held-out evaluation.

This is what the autoencoder chapter runs: split each participant's envelopes
into training and held-out repetitions, train all participants × seeds in one
batch (:func:`synlib.autoencoder.trainer.train_autoencoders`), and measure the fits the
way the NMF chapter does, so the trade-off chapter can put them side by side.
:func:`fit_pairs` does the same for several pairs at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np
import pandas as pd

from synlib import metrics
from synlib.autoencoder.effective import effective_synergies
from synlib.autoencoder.trainer import train_autoencoders

__all__ = ["StudyFit", "fit_participants", "fit_pairs", "fit_warnings"]

#: A model whose training loss still fell by more than this over the last tenth of training is flagged
#: as not converged (ours).
MAX_LOSS_DROP = 0.05


@dataclass
class StudyFit:
    """The fits of one activation pair.

    Attributes
    ----------
    table : DataFrame
        One row per participant × rank × seed with the columns of ``ae_fits_<encoder>_<decoder>.csv``.
    arrays : dict of str to ndarray
        ``<participant>.k<k>.s<seed>.<field>`` → array, the content of ``ae_<encoder>_<decoder>.npz``.
    models : dict of (str, int, int) to Autoencoder
        The fitted estimators by (participant, rank, seed).
    test_rows : dict of str to DataFrame
        The row table of each participant's held-out rows (in the order of the ``*_test`` arrays).
    """

    table: pd.DataFrame
    arrays: dict[str, np.ndarray]
    models: dict
    test_rows: dict[str, pd.DataFrame]


def _on_test(measure, X, reconstruction) -> float:
    """A fit measure on the held-out rows, NaN when there are none (single-repetition data)."""
    return measure(X, reconstruction) if len(X) else np.nan


def _ranks(n_components, participant) -> list[int]:
    ks = n_components[participant]
    ks = [ks] if np.isscalar(ks) else list(ks)
    if not ks or len(set(ks)) != len(ks):
        raise ValueError(f"participant {participant!r}: ranks {ks!r} must be distinct integers, at least one")
    return [int(k) for k in ks]


def fit_participants(envelopes, n_components: Mapping[str, int | Sequence[int]], encoder: str, decoder: str,
                     seeds: Sequence[int], test_repetitions=None, device="auto", **options) -> StudyFit:
    """Train the pair ``encoder``/``decoder`` on every participant and evaluate on held-out repetitions.

    Parameters
    ----------
    envelopes : synlib.preprocess.envelopes.Envelopes
        The study's envelopes (all participants to fit).
    n_components : dict
        Participant → number of synergies, or a list of them (one model per rank).
    encoder, decoder : str
        Activation names.
    seeds : list of int
        One model per participant, rank and seed.
    test_repetitions : int, list of int or None
        Held-out repetitions; ``None`` = :func:`synlib.preprocess.envelopes.held_out_repetitions`
        (the last one, none for single-repetition data: the test columns are then NaN).
    device, **options
        Passed to :func:`synlib.autoencoder.trainer.train_autoencoders` (epochs, lr, ...).

    Returns
    -------
    StudyFit
    """
    pair = (encoder, decoder)
    return fit_pairs(envelopes, n_components, [pair], seeds, test_repetitions, device, **options)[pair]


def _loss_drop(curve: np.ndarray) -> float:
    """Relative fall of the training loss over the last tenth of training (0 = flat)."""
    start = curve[-max(len(curve) // 10, 1) - 1] if len(curve) > 1 else curve[-1]
    return float(1.0 - curve[-1] / start) if start > 0 else 0.0


def fit_pairs(envelopes, n_components: Mapping[str, int | Sequence[int]], pairs: Sequence[tuple[str, str]],
              seeds: Sequence[int], test_repetitions=None, device="auto", **options) -> dict:
    """:func:`fit_participants` for several activation pairs, all trained in one batch.

    One batch lets the trainer keep each participant's data in cache for every
    pair, rank and seed and share the cores among all the models, which is
    faster than one call per pair. Returns a dict (encoder, decoder) →
    :class:`StudyFit`; the fits are those of :func:`fit_participants` for each
    pair (models do not interact).
    """
    participants = envelopes.participants
    missing = [p for p in participants if p not in n_components]
    if missing:
        raise ValueError(f"no number of synergies for participants {missing}; "
                         f"n_components covers {sorted(n_components)}")
    ranks = {p: _ranks(n_components, p) for p in participants}
    m = len(envelopes.muscles)
    bad = {p: [k for k in ks if not 1 <= k <= m] for p, ks in ranks.items()}
    bad = {p: ks for p, ks in bad.items() if ks}
    if bad:
        raise ValueError(f"ranks must lie in 1 … {m} (the number of muscles); out of range: {bad}")
    held_out = envelopes.held_out(test_repetitions)
    splits = {p: envelopes.select(p).split(held_out) for p in participants}
    seeds = [int(s) for s in seeds]
    pairs = [tuple(pair) for pair in pairs]
    datasets = [(p, k) for p in participants for k in ranks[p]]
    models = train_autoencoders([splits[p][0].X for p, _ in datasets], [k for _, k in datasets],
                                pairs, seeds, device=device, **options)
    fits = {pair: ([], {}, {}) for pair in pairs}
    for ((p, k), pair, seed), ae in zip(product(datasets, pairs, seeds), models):
        rows, arrays, fitted = fits[pair]
        train, test = splits[p]
        out_train, out_test = ae.reconstruct(train.X), ae.reconstruct(test.X)
        truth = envelopes.true_synergies.get(p)
        effective = effective_synergies(ae, train.X)
        rows.append({
            "participant": p, "method": "AE", "encoder": pair[0], "decoder": pair[1],
            "k": ae.n_components, "seed": seed,
            "r2_train": metrics.r2_centred(train.X, out_train), "r2_test": _on_test(metrics.r2_centred, test.X, out_test),
            "r2_global_train": metrics.r2_global(train.X, out_train),
            "r2_global_test": _on_test(metrics.r2_global, test.X, out_test),
            "vaf_train": metrics.vaf(train.X, out_train), "vaf_test": _on_test(metrics.vaf, test.X, out_test),
            "truth_similarity": metrics.truth_similarity(ae.synergies_, truth) if truth is not None else np.nan,
            "truth_precision": metrics.truth_precision(ae.synergies_, truth) if truth is not None else np.nan,
            "dead_units": metrics.dead_unit_fraction(ae.activations_),
            "effective_similarity": float(metrics.row_similarity(effective, ae.synergies_).mean()),
            "final_loss": float(np.mean((out_train - train.X) ** 2)), "epochs": ae.n_epochs_,
            "loss_drop_last_tenth": _loss_drop(ae.loss_curve_),
            "backend": ae.backend_,
        })
        prefix = f"{p}.k{k}.s{seed}."
        arrays.update({
            prefix + "synergies": ae.synergies_, prefix + "activations_train": ae.activations_,
            prefix + "activations_test": ae.transform(test.X), prefix + "hidden_test": ae.hidden(test.X),
            prefix + "output_test": out_test, prefix + "loss_curve": ae.loss_curve_,
            prefix + "effective_synergies": effective,
        })
        fitted[(p, k, seed)] = ae
    test_rows = {p: splits[p][1].rows for p in participants}
    return {pair: StudyFit(table=pd.DataFrame(rows), arrays=arrays, models=fitted, test_rows=test_rows)
            for pair, (rows, arrays, fitted) in fits.items()}


def fit_warnings(table: pd.DataFrame, max_loss_drop: float = MAX_LOSS_DROP) -> list[str]:
    """Sentences (Markdown) that say which fits of ``table`` are not to be trusted, or an empty list.

    Flags models whose training loss still fell by more than ``max_loss_drop``
    over the last tenth of training (not converged within the epochs) and
    models whose held-out R² is ≤ 0 (no better than each muscle's mean).
    ``table`` has the columns of ``ae_fits_<encoder>_<decoder>.csv``.

    Examples
    --------
    >>> t = pd.DataFrame({"encoder": ["relu"] * 2, "decoder": ["tanh"] * 2, "participant": ["P01", "P02"],
    ...                   "loss_drop_last_tenth": [0.01, 0.2], "r2_test": [0.8, -0.1]})
    >>> for line in fit_warnings(t): print(line)
    **Not converged:** 1 of 2 models (relu/tanh) still lost more than 5% of their training loss over the last tenth of training; more epochs would change them.
    **No better than the mean:** 1 of 2 models (relu/tanh: P02) have a held-out R² ≤ 0.
    """
    notes = []
    labels = table["encoder"].astype(str) + "/" + table["decoder"].astype(str)
    falling = table["loss_drop_last_tenth"] > max_loss_drop
    if falling.any():
        notes.append(f"**Not converged:** {int(falling.sum())} of {len(table)} models "
                     f"({', '.join(dict.fromkeys(labels[falling]))}) still lost more than {max_loss_drop:.0%} "
                     "of their training loss over the last tenth of training; more epochs would change them.")
    poor = table["r2_test"] <= 0
    if poor.any():
        where = "; ".join(f"{label}: {', '.join(dict.fromkeys(table.loc[poor & (labels == label), 'participant']))}"
                          for label in dict.fromkeys(labels[poor]))
        notes.append(f"**No better than the mean:** {int(poor.sum())} of {len(table)} models ({where}) have a "
                     "held-out R² ≤ 0.")
    return notes
