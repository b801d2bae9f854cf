"""Fitting one activation pair to every participant of a study, with held-out evaluation.

This is what the autoencoder chapter runs: split each participant's envelopes
into training and held-out repetitions, train all participants × seeds in one
batch (:func:`synlib.autoencoder.train_autoencoders`), and measure the fits the
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
from synlib.autoencoder.trainer import train_autoencoders

__all__ = ["StudyFit", "fit_participants", "fit_pairs", "default_test_repetitions"]


@dataclass
class StudyFit:
    """The fits of one activation pair.

    Attributes
    ----------
    table : DataFrame
        One row per participant × seed with the columns of ``ae_fits_<encoder>_<decoder>.csv``.
    arrays : dict of str to ndarray
        ``<participant>.s<seed>.<field>`` → array, the content of ``ae_<encoder>_<decoder>.npz``.
    models : dict of (str, int) to Autoencoder
        The fitted estimators by (participant, seed).
    test_rows : dict of str to DataFrame
        The row table of each participant's held-out rows (in the order of the ``*_test`` arrays).
    """

    table: pd.DataFrame
    arrays: dict[str, np.ndarray]
    models: dict
    test_rows: dict[str, pd.DataFrame]


def default_test_repetitions(envelopes) -> list[int]:
    """The last repetition, the group's held-out repetition (the 10th of 10)."""
    return [int(envelopes.rows["repetition"].max())]


def fit_participants(envelopes, n_components: Mapping[str, int], encoder: str, decoder: str,
                     seeds: Sequence[int], test_repetitions=None, device="auto", **options) -> StudyFit:
    """Train the pair ``encoder``/``decoder`` on every participant and evaluate on held-out repetitions.

    Parameters
    ----------
    envelopes : synlib.preprocess.Envelopes
        The study's envelopes (all participants to fit).
    n_components : dict
        Participant → number of synergies (e.g. the rank NMF chose).
    encoder, decoder : str
        Activation names.
    seeds : list of int
        One model per participant and seed.
    test_repetitions : int, list of int or None
        Held-out repetitions; ``None`` = the last one.
    device, **options
        Passed to :func:`synlib.autoencoder.train_autoencoders` (epochs, lr, ...).

    Returns
    -------
    StudyFit
    """
    pair = (encoder, decoder)
    return fit_pairs(envelopes, n_components, [pair], seeds, test_repetitions, device, **options)[pair]


def fit_pairs(envelopes, n_components: Mapping[str, int], pairs: Sequence[tuple[str, str]],
              seeds: Sequence[int], test_repetitions=None, device="auto", **options) -> dict:
    """:func:`fit_participants` for several activation pairs, all trained in one batch.

    One batch lets the trainer keep each participant's data in cache for every
    pair and share the cores among all the models, which is faster than one call
    per pair. Returns a dict (encoder, decoder) → :class:`StudyFit`; the fits are
    those of :func:`fit_participants` for each pair (models do not interact).
    """
    participants = envelopes.participants
    missing = [p for p in participants if p not in n_components]
    if missing:
        raise ValueError(f"no number of synergies for participants {missing}; "
                         f"n_components covers {sorted(n_components)}")
    if test_repetitions is None:
        test_repetitions = default_test_repetitions(envelopes)
    splits = {p: envelopes.select(p).split(test_repetitions) for p in participants}
    seeds = [int(s) for s in seeds]
    pairs = [tuple(pair) for pair in pairs]
    models = train_autoencoders([splits[p][0].X for p in participants], [int(n_components[p]) for p in participants],
                                pairs, seeds, device=device, **options)
    fits = {pair: ([], {}, {}) for pair in pairs}
    for (p, pair, seed), ae in zip(product(participants, pairs, seeds), models):
        rows, arrays, fitted = fits[pair]
        train, test = splits[p]
        out_train, out_test = ae.reconstruct(train.X), ae.reconstruct(test.X)
        truth = envelopes.true_synergies.get(p)
        rows.append({
            "participant": p, "method": "AE", "encoder": pair[0], "decoder": pair[1],
            "k": ae.n_components, "seed": seed,
            "r2_train": metrics.r2_centred(train.X, out_train), "r2_test": metrics.r2_centred(test.X, out_test),
            "r2_global_train": metrics.r2_global(train.X, out_train),
            "r2_global_test": metrics.r2_global(test.X, out_test),
            "vaf_train": metrics.vaf(train.X, out_train), "vaf_test": metrics.vaf(test.X, out_test),
            "truth_similarity": metrics.truth_similarity(ae.synergies_, truth) if truth is not None else np.nan,
            "final_loss": float(np.mean((out_train - train.X) ** 2)), "epochs": ae.n_epochs_,
            "backend": ae.backend_,
        })
        prefix = f"{p}.s{seed}."
        arrays.update({
            prefix + "synergies": ae.synergies_, prefix + "activations_train": ae.activations_,
            prefix + "activations_test": ae.transform(test.X), prefix + "hidden_test": ae.hidden(test.X),
            prefix + "output_test": out_test, prefix + "loss_curve": ae.loss_curve_,
        })
        fitted[(p, seed)] = ae
    test_rows = {p: splits[p][1].rows for p in participants}
    return {pair: StudyFit(table=pd.DataFrame(rows), arrays=arrays, models=fitted, test_rows=test_rows)
            for pair, (rows, arrays, fitted) in fits.items()}
