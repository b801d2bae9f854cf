"""Fitting one activation pair to every participant of a study, with held-out evaluation.

This is what the autoencoder chapter runs: split each participant's envelopes
into training and held-out repetitions, train all participants × seeds in one
batch (:func:`synlib.autoencoder.trainer.train_autoencoders`), and measure the fits the
way the NMF chapter does, so the trade-off chapter can put them side by side.
:func:`fit_pairs` does the same for several pairs at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import product

import numpy as np
import pandas as pd

from synlib import metrics, schema
from synlib.fits import StudyFit, shares_study_parameters, split_participants
from synlib.autoencoder.effective import effective_synergies
from synlib.autoencoder.refit import refit_hidden
from synlib.autoencoder.trainer import train_autoencoders

__all__ = ["check_pair", "seed_list", "fit_participants", "fit_pairs", "fit_warnings",
           "loss_curves", "training_summary", "seed_stability", "nmf_matching", "value_problems"]

def check_pair(encoder: str, decoder: str) -> str:
    """The label ``"<encoder>/<decoder>"``, once both are registered activations.

    Examples
    --------
    >>> check_pair("relu", "tanh")
    'relu/tanh'
    >>> check_pair("relu", "softmax")
    Traceback (most recent call last):
    ...
    ValueError: decoder='softmax' is not a registered activation; allowed: linear, relu, sigmoid, tanh
    """
    from synlib.autoencoder.activations import ACTIVATIONS

    for role, name in (("encoder", encoder), ("decoder", decoder)):
        if name not in ACTIVATIONS:
            raise ValueError(f"{role}={name!r} is not a registered activation; allowed: {', '.join(ACTIVATIONS)}")
    return f"{encoder}/{decoder}"


def seed_list(seed: int, seeds: int, name: str = "seeds") -> list[int]:
    """The ``seeds`` consecutive seeds from ``seed`` that a chapter trains with (``name``: the parameter's).

    Examples
    --------
    >>> seed_list(0, 3)
    [0, 1, 2]
    >>> seed_list(0, 2.5)
    Traceback (most recent call last):
    ...
    ValueError: seeds=2.5: give the number of seeds (an integer ≥ 1)
    """
    if not (isinstance(seeds, int) and not isinstance(seeds, bool) and seeds >= 1):
        raise ValueError(f"{name}={seeds!r}: give the number of seeds (an integer ≥ 1)")
    return [int(seed) + i for i in range(seeds)]


def _on_test(measure, X, reconstruction) -> float:
    """A fit measure on the held-out rows, NaN when there are none (single-repetition data)."""
    return measure(X, reconstruction) if len(X) else np.nan


def _ranks(n_components, participant) -> list[int]:
    ks = n_components[participant]
    ks = [ks] if np.isscalar(ks) else list(ks)
    if not ks or len(set(ks)) != len(ks):
        raise ValueError(f"participant {participant!r}: ranks {ks!r} must be distinct integers, at least one")
    return [int(k) for k in ks]


@shares_study_parameters
def fit_participants(envelopes, *, participants=None, test_repetitions=None, device="auto",
                     n_components: Mapping[str, int | Sequence[int]], encoder: str, decoder: str,
                     seeds: Sequence[int] = (0,), **options) -> StudyFit:
    """Train the pair ``encoder``/``decoder`` on every participant and evaluate on held-out repetitions.

    Parameters
    ----------
    {study_parameters}
    device : str, default "auto"
        PyTorch device (``"auto"``: CUDA when there is one).
    n_components : dict
        Participant → number of synergies, or a list of them (one model per rank).
    encoder, decoder : str
        Activation names.
    seeds : list of int
        One model per participant, rank and seed.
    **options
        Passed to :func:`synlib.autoencoder.trainer.train_autoencoders` (epochs, lr, ...).

    Returns
    -------
    synlib.fits.StudyFit
        The shape :func:`synlib.nmf.fit_participants` returns too.
    """
    pair = (encoder, decoder)
    return fit_pairs(envelopes, n_components, [pair], seeds, test_repetitions, device, participants=participants,
                     **options)[pair]


def fit_pairs(envelopes, n_components: Mapping[str, int | Sequence[int]], pairs: Sequence[tuple[str, str]],
              seeds: Sequence[int], test_repetitions=None, device="auto", participants=None, **options) -> dict:
    """:func:`fit_participants` for several activation pairs, all trained in one batch.

    One batch lets the trainer keep each participant's data in cache for every
    pair, rank and seed and share the cores among all the models, which is
    faster than one call per pair. Returns a dict (encoder, decoder) →
    :class:`StudyFit`; the fits are those of :func:`fit_participants` for each
    pair (models do not interact).
    """
    held_out, splits = split_participants(envelopes, participants, test_repetitions)
    participants = list(splits)
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
    seeds = [int(s) for s in seeds]
    pairs = [tuple(pair) for pair in pairs]
    datasets = [(p, k) for p in participants for k in ranks[p]]
    # each participant its own initial weights: a shared start would make participants look alike
    models = train_autoencoders([splits[p][0].X for p, _ in datasets], [k for _, k in datasets],
                                pairs, seeds, device=device, streams=[p for p, _ in datasets], **options)
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
            "r2_test_refit": _on_test(metrics.r2_centred, test.X, ae.decode(refit_hidden(ae, test.X))),
            "r2_global_train": metrics.r2_global(train.X, out_train),
            "r2_global_test": _on_test(metrics.r2_global, test.X, out_test),
            "vaf_train": metrics.vaf(train.X, out_train), "vaf_test": _on_test(metrics.vaf, test.X, out_test),
            "truth_similarity": metrics.truth_similarity(ae.synergies_, truth) if truth is not None else np.nan,
            "truth_precision": metrics.truth_precision(ae.synergies_, truth) if truth is not None else np.nan,
            "dead_units": metrics.dead_unit_fraction(ae.activations_),
            "effective_similarity": float(metrics.row_similarity(effective, ae.synergies_).mean()),
            "final_loss": float(np.mean((out_train - train.X) ** 2)), "training": ae.training,
            "passes": float(ae.loss_passes_[-1]) if len(ae.loss_passes_) else 0.0, "converged": ae.converged_,
            "stop": ae.stop_reason_, "loss_fall": ae.loss_fall_,
            "backend": ae.backend_,
        })
        arrays.update({schema.fit_key(p, k, field, seed=seed): value for field, value in {
            "synergies": ae.synergies_, "activations_train": ae.activations_,
            "activations_test": ae.transform(test.X), "hidden_test": ae.hidden(test.X),
            "output_test": out_test, "loss_curve": ae.loss_curve_, "loss_passes": ae.loss_passes_,
            "effective_synergies": effective,
        }.items()})
        fitted[(p, k, seed)] = ae
    test_rows = {p: splits[p][1].rows for p in participants}
    return {pair: StudyFit(table=pd.DataFrame(rows), arrays=arrays, models=fitted, test_repetitions=held_out,
                           test_rows=test_rows) for pair, (rows, arrays, fitted) in fits.items()}


def loss_curves(fit: StudyFit, headline_k: Mapping[str, int]) -> pd.DataFrame:
    """The training loss of each model at the headline rank, against the passes used.

    Columns ``participant``, ``seed``, ``training``, ``passes``, ``loss``.
    """
    return pd.concat([
        pd.DataFrame({"participant": p, "seed": s, "training": ae.training, "passes": ae.loss_passes_,
                      "loss": ae.loss_curve_})
        for (p, k, s), ae in fit.models.items() if k == headline_k[p]
    ], ignore_index=True)


def training_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per training specification: models, how many passed the convergence test, passes and final loss.

    Columns ``training``, ``models``, ``passed``, ``median passes``, ``most passes``,
    ``median final loss``, ``median held-out R²``.

    Examples
    --------
    >>> t = pd.DataFrame({"training": ["converged", "converged", "group"], "converged": [True, False, False],
    ...                   "passes": [600.0, 2500.0, 2000.0], "final_loss": [1e-3, 2e-3, 3e-3],
    ...                   "r2_test": [0.9, 0.8, 0.7]})
    >>> training_summary(t)[["training", "models", "passed", "median passes"]]
        training  models  passed  median passes
    0  converged       2       1         1550.0
    1      group       1       0         2000.0
    """
    grouped = table.groupby("training", sort=False)
    return pd.DataFrame({
        "training": list(grouped.groups), "models": grouped.size().to_numpy(),
        "passed": grouped["converged"].sum().astype(int).to_numpy(),
        "median passes": grouped["passes"].median().to_numpy(), "most passes": grouped["passes"].max().to_numpy(),
        "median final loss": grouped["final_loss"].median().to_numpy(),
        "median held-out R²": grouped["r2_test"].median().to_numpy(),
    })


def seed_stability(fit: StudyFit, seeds: Sequence[int]) -> pd.DataFrame:
    """How alike the seeds' synergies are, per participant and rank (:func:`synlib.metrics.set_stability`).

    Columns ``participant``, ``k``, ``similarity between seeds``.
    """
    fitted = dict.fromkeys((p, k) for p, k, _ in fit.models)
    return pd.DataFrame([{"participant": p, "k": k, "similarity between seeds": metrics.set_stability(
        {s: fit.models[(p, k, s)].synergies_ for s in seeds})} for p, k in fitted],
        columns=["participant", "k", "similarity between seeds"])


def nmf_matching(fit: StudyFit, nmf_arrays: Mapping[str, np.ndarray], headline_k: Mapping[str, int],
                 seeds: Sequence[int]) -> tuple[dict, pd.DataFrame]:
    """Each model at its participant's headline rank paired with that participant's NMF synergies.

    The pairing is :func:`synlib.metrics.match_synergies_greedy` (the group's procedure).
    Returns the matchings by (participant, seed) and a table with one row per
    participant × seed: ``k``, ``mean similarity`` and ``lowest similarity``.
    """
    matchings, rows = {}, []
    for p, k in headline_k.items():
        W_nmf = nmf_arrays[schema.fit_key(p, k, "synergies")]
        for s in seeds:
            m = matchings[(p, s)] = metrics.match_synergies_greedy(fit.models[(p, k, s)].synergies_, W_nmf)
            rows.append({"participant": p, "seed": s, "k": len(m.rows), "mean similarity": m.mean,
                         "lowest similarity": float(m.similarity.min())})
    return matchings, pd.DataFrame(rows)


def value_problems(fit: StudyFit, headline_k: Mapping[str, int], encoder: str, decoder: str) -> pd.DataFrame:
    """Negative activations, dead units and saturated outputs of each model at the headline rank.

    Counted on the held-out rows (:func:`synlib.metrics.negative_fraction`,
    :func:`~synlib.metrics.dead_unit_fraction` on the training activations,
    :func:`synlib.autoencoder.activations.saturation_fraction`). One row per
    participant × seed × measure: ``participant``, ``seed``, ``measure``, ``fraction``.
    """
    from synlib.autoencoder.activations import saturation_fraction

    rows = []
    for (p, k, s), ae in fit.models.items():
        if k != headline_k[p]:
            continue
        at = {field: fit.arrays[schema.fit_key(p, k, field, seed=s)]
              for field in ("activations_test", "hidden_test", "output_test")}
        counts = {
            "negative activations": metrics.negative_fraction(at["activations_test"]),
            "dead units": metrics.dead_unit_fraction(ae.activations_),
            f"saturated encoder outputs ({encoder})": saturation_fraction(at["hidden_test"], encoder),
            f"saturated decoder outputs ({decoder})": saturation_fraction(at["output_test"], decoder),
        }
        rows += [{"participant": p, "seed": s, "measure": name, "fraction": v} for name, v in counts.items()]
    return pd.DataFrame(rows, columns=["participant", "seed", "measure", "fraction"])


def fit_warnings(table: pd.DataFrame) -> list[str]:
    """Sentences (Markdown) that say which fits of ``table`` are not to be trusted, or an empty list.

    Names the models that did not pass the convergence test (``converged`` is
    false: still falling at the cap, or at the end of the group's budget) with
    their pair and how many of the pair's models they are, and the models whose
    held-out R² is ≤ 0 (no better than each muscle's mean). ``table`` has the
    columns of ``ae_fits_<encoder>_<decoder>.csv``.

    Examples
    --------
    >>> t = pd.DataFrame({"encoder": ["relu"] * 2, "decoder": ["tanh"] * 2, "participant": ["P01", "P02"],
    ...                   "training": ["converged"] * 2, "converged": [True, False], "r2_test": [0.8, -0.1]})
    >>> for line in fit_warnings(t): print(line)
    **Not converged:** 1 of 2 models (relu/tanh, converged training: 1 of 2) did not pass the convergence test; more training would change them, and the comparisons leave them out.
    **No better than the mean:** 1 of 2 models (relu/tanh: P02) have a held-out R² ≤ 0.
    """
    notes = []
    labels = table["encoder"].astype(str) + "/" + table["decoder"].astype(str)
    failing = ~table["converged"].astype(bool)
    if failing.any():
        where = "; ".join(
            f"{label}, {training} training: {int((failing & (labels == label) & (table['training'] == training)).sum())} "
            f"of {int(((labels == label) & (table['training'] == training)).sum())}"
            for label, training in dict.fromkeys(zip(labels[failing], table.loc[failing, "training"])))
        notes.append(f"**Not converged:** {int(failing.sum())} of {len(table)} models ({where}) did not pass the "
                     "convergence test; more training would change them, and the comparisons leave them out.")
    poor = table["r2_test"] <= 0
    if poor.any():
        where = "; ".join(f"{label}: {', '.join(dict.fromkeys(table.loc[poor & (labels == label), 'participant']))}"
                          for label in dict.fromkeys(labels[poor]))
        notes.append(f"**No better than the mean:** {int(poor.sum())} of {len(table)} models ({where}) have a "
                     "held-out R² ≤ 0.")
    return notes
