"""A fake but well-formed study results folder, for testing the chapters that read results.

:func:`write_fake_study` writes what the NMF and autoencoder chapters write
(``nmf_fits.csv``, ``nmf_ranks.csv``, ``nmf_synergies.npz``, ``ae_fits_<enc>_<dec>.csv``,
``ae_<enc>_<dec>.npz``; see CONTRIBUTING.md) through :mod:`synlib.results`, so it
lands under ``SYNLIB_RESULTS``. The numbers are invented, with a known shape: the
pairs with a linear decoder reconstruct best, ``relu/tanh`` stays closest to the
true (and NMF) synergies, ReLU encoders give dead outputs and linear encoders
negative activations. Nothing here is a result of the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
import pandas as pd

from synlib import metrics, results
from synlib.schema import fit_key

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")
_FUNCTIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
}
# Invented effects on held-out R² (reconstruction) and on synergy noise (interpretability).
_R2_BY_DECODER = {"linear": 0.06, "relu": 0.03, "sigmoid": -0.03, "tanh": 0.0}
_R2_BY_ENCODER = {"linear": 0.02, "relu": 0.0, "sigmoid": -0.02, "tanh": 0.01}


def _synergy_noise(encoder: str, decoder: str) -> float:
    if (encoder, decoder) == ("relu", "tanh"):
        return 0.03
    return 0.15 + 0.25 * (decoder == "linear") + 0.1 * (encoder == "linear") + 0.05 * (encoder == "sigmoid")


@dataclass
class FakeStudy:
    """What :func:`write_fake_study` wrote, with the truth behind it."""

    study: str
    participants: list[str]
    pairs: list[tuple[str, str]]
    seeds: tuple[int, ...]
    true_synergies: dict[str, np.ndarray]
    true_activations_test: dict[str, np.ndarray]


def _unit_rows(W: np.ndarray) -> np.ndarray:
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def _activations(rng, n: int, k: int) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    centres = rng.uniform(0.1, 0.9, size=k)
    return np.exp(-((t - centres) ** 2) / 0.01) + 0.02 * rng.random((n, k))


def _fit_row(participant, method, encoder, decoder, k, seed, r2_test, truth_similarity):
    return {"participant": participant, "method": method, "encoder": encoder, "decoder": decoder,
            "k": k, "seed": seed, "r2_train": r2_test + 0.02, "r2_test": r2_test,
            "r2_global_train": r2_test + 0.05, "r2_global_test": r2_test + 0.03,
            "vaf_train": r2_test + 0.08, "vaf_test": r2_test + 0.07,
            "truth_similarity": truth_similarity,
            "truth_precision": truth_similarity}


def write_fake_study(study: str, n_participants: int = 4, k: int = 4, n_muscles: int = 16,
                     seeds=(0,), pairs=None, n_train: int = 90, n_test: int = 30,
                     truth: bool = True, random_state: int = 0) -> FakeStudy:
    """Write a fake NMF + autoencoder results folder for ``study`` and return its truth.

    ``pairs`` defaults to all 16 encoder/decoder pairs. With ``truth=False`` the
    ``truth_similarity`` column is empty, as for real recordings.
    """
    pairs = list(product(ACTIVATIONS, ACTIVATIONS)) if pairs is None else [tuple(p) for p in pairs]
    participants = [f"P{i + 1:02d}" for i in range(n_participants)]
    base = np.abs(np.random.default_rng(random_state).normal(size=(k, n_muscles)))
    true_W, true_C = {}, {}
    nmf_rows, nmf_arrays = [], {}
    for i, p in enumerate(participants):
        rng = np.random.default_rng([random_state, i])
        # Participants share a synergy pattern up to individual variation.
        true_W[p] = _unit_rows(np.maximum(base + 0.3 * rng.normal(size=base.shape), 0.0) + 1e-3)
        true_C[p] = _activations(rng, n_test, k)
        W = _unit_rows(np.abs(true_W[p] + 0.03 * rng.normal(size=base.shape)))
        nmf_arrays[fit_key(p, k, "synergies")] = W
        nmf_arrays[fit_key(p, k, "activations_train")] = _activations(rng, n_train, k)
        nmf_arrays[fit_key(p, k, "activations_test")] = np.maximum(true_C[p] + 0.02 * rng.normal(size=true_C[p].shape), 0)
        similarity = metrics.truth_similarity(W, true_W[p]) if truth else np.nan
        nmf_rows.append(_fit_row(p, "NMF", "", "", k, 0, 0.82 + 0.02 * rng.normal(), similarity))
    results.write_table(pd.DataFrame(nmf_rows), study, "nmf_fits")
    results.write_table(pd.DataFrame({"participant": participants, "rule": "r2_0.80", "k": k, "headline": True,
                                      "offset": 0}), study, "nmf_ranks")
    results.write_arrays(study, "nmf_synergies", **nmf_arrays)

    for j, (encoder, decoder) in enumerate(pairs):
        rows, arrays = [], {}
        noise = _synergy_noise(encoder, decoder)
        for (i, p), seed in product(enumerate(participants), seeds):
            rng = np.random.default_rng([random_state, i, j, seed, 1])
            order = rng.permutation(k)  # an AE finds the synergies in any order
            W = _unit_rows(np.abs(true_W[p] + noise * rng.normal(size=base.shape)) + 1e-3)[order]
            C = true_C[p][:, order] + noise * rng.normal(size=(n_test, k))
            C = C - 0.3 * (encoder == "linear")
            z = 3 * (C - C.mean(axis=0)) / C.std(axis=0)
            hidden = _FUNCTIONS[encoder](z)
            output = _FUNCTIONS[decoder](C @ W)
            arrays.update({fit_key(p, k, field, seed=seed): value for field, value in {
                "synergies": W, "activations_train": _activations(rng, n_train, k), "activations_test": C,
                "hidden_test": hidden, "output_test": output,
                "loss_curve": 0.1 * np.exp(-np.linspace(0, 5, 50)) + 0.01,
                "loss_passes": np.arange(1.0, 51.0),
                "effective_synergies": W if decoder == "linear" else _unit_rows(W + 0.05)}.items()})
            r2 = 0.8 + _R2_BY_DECODER[decoder] + _R2_BY_ENCODER[encoder] + 0.01 * rng.normal()
            similarity = metrics.truth_similarity(W, true_W[p]) if truth else np.nan
            rows.append({**_fit_row(p, "AE", encoder, decoder, k, seed, r2, similarity),
                         "r2_test_refit": r2 + 0.01,
                         "final_loss": 0.01 + 0.001 * rng.random(), "training": "converged", "passes": 50.0,
                         "converged": True, "stop": "converged", "loss_fall": 1e-5,
                         "dead_units": 0.0, "effective_similarity": 1.0 - 0.1 * (decoder != "linear"),
                         "backend": "fake"})
        results.write_table(pd.DataFrame(rows), study, f"ae_fits_{encoder}_{decoder}")
        results.write_arrays(study, f"ae_{encoder}_{decoder}", **arrays)
    return FakeStudy(study, participants, pairs, tuple(seeds), true_W, true_C)
