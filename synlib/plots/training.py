"""Figures of the autoencoder chapter: training, fit against NMF, synergies, activation profiles."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synlib.metrics import Matching

__all__ = ["loss_curves", "r2_against_nmf", "synergy_pairs", "value_problems"]


def loss_curves(curves: pd.DataFrame):
    """Training loss against the passes over the training data (log scale), one panel per training specification.

    ``curves`` is long: participant, seed, training, passes, loss. One line per
    participant and seed, coloured by participant; the end of each line is where
    its model stopped.
    """
    specs = list(dict.fromkeys(curves["training"]))
    fig, axes = plt.subplots(1, len(specs), figsize=(6.5 * len(specs), 4), sharey=True, squeeze=False)
    palette = dict(zip(sorted(curves["participant"].unique()),
                       sns.color_palette("husl", curves["participant"].nunique())))
    for ax, spec in zip(axes.flat, specs):
        part = curves[curves["training"] == spec]
        for (participant, _), line in part.groupby(["participant", "seed"], sort=False):
            ax.plot(line["passes"], line["loss"], color=palette[participant], lw=1, alpha=0.8)
        ax.set_yscale("log")
        ax.set_title(f"{spec} training")
        ax.set_xlabel("passes over the training data")
    axes.flat[0].set_ylabel("training loss (MSE)")
    return fig


def r2_against_nmf(fits: pd.DataFrame, label: str):
    """Train and test R² of the autoencoder (``label``) and NMF for every participant.

    ``fits`` holds the rows of both fit tables (participant, method, seed, r2_train, r2_test).
    Each seed of the autoencoder is a dot; the line joins their mean.
    """
    long = fits.melt(id_vars=["participant", "method", "seed"], value_vars=["r2_train", "r2_test"],
                     var_name="data", value_name="R²")
    long["data"] = long["data"].map({"r2_train": "training repetitions", "r2_test": "held-out repetition"})
    long["model"] = long["method"].map({"AE": label, "NMF": "NMF"})
    grid = sns.catplot(data=long, x="participant", y="R²", hue="model", col="data", kind="point",
                       errorbar=None, dodge=0.3, height=3.5, aspect=1.6, markers=["o", "s"], linestyles=["-", "--"])
    for ax, (_, part) in zip(grid.axes.flat, long.groupby("data", sort=False)):
        sns.stripplot(data=part[part["model"] == label], x="participant", y="R²", color="0.3", size=3,
                      ax=ax, legend=False, dodge=False)
        ax.tick_params(axis="x", rotation=90)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("participant", "R² (centred on each muscle's mean)")
    return grid


def synergy_pairs(ae_synergies: np.ndarray, nmf_synergies: np.ndarray, matching: Matching,
                  muscles: Sequence[str], label: str, title: str = ""):
    """Each autoencoder synergy beside the NMF synergy it was paired with, as bars over the muscles.

    ``matching`` pairs rows of ``ae_synergies`` with rows of ``nmf_synergies``
    (e.g. :func:`synlib.metrics.match_synergies_greedy`); its similarity is in each panel's title.
    """
    n = len(matching.rows)
    fig, axes = plt.subplots(n, 1, figsize=(9, 1.9 * n + 0.6), sharex=True, squeeze=False)
    x = np.arange(len(muscles))
    for ax, i, j, sim in zip(axes[:, 0], matching.rows, matching.cols, matching.similarity):
        ax.bar(x - 0.2, ae_synergies[i], width=0.4, label=f"{label} synergy {i + 1}", color="C0")
        ax.bar(x + 0.2, nmf_synergies[j], width=0.4, label=f"NMF synergy {j + 1}", color="C1")
        ax.axhline(0, color="0.3", lw=0.6)
        ax.set_ylabel("weight")
        ax.set_title(f"{label} {i + 1} ↔ NMF {j + 1}: similarity {sim:.2f}", fontsize="small", loc="left")
        ax.legend(fontsize="x-small", loc="upper right")
    axes[-1, 0].set_xticks(x, muscles, rotation=60, ha="right", fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def value_problems(problems: pd.DataFrame):
    """Where a pair produces negative or saturated values, per participant.

    ``problems`` is long: participant, measure (what was counted), fraction.
    """
    grid = sns.catplot(data=problems, x="participant", y="fraction", col="measure", kind="bar", col_wrap=2,
                       height=2.8, aspect=1.6, color="C3", errorbar=None)
    grid.set_titles("{col_name}", size="small")
    grid.set_axis_labels("participant", "fraction of values")
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", rotation=90)
        ax.set_ylim(0, max(1e-3, float(problems["fraction"].max()) * 1.1))
    return grid
