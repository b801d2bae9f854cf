"""Figures of the preprocessing chapter: the steps on one trial, the matrix, the recovery of the truth."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from synlib.plots.style import distinct_colors
from synlib.preprocess import Envelopes, TrialEnvelope

STEP_LABELS = {
    "raw": "raw EMG",
    "filtered": "high-/band-pass",
    "rectified": "rectified",
    "envelope": "envelope",
    "tonic": "tonic estimate",
    "phasic": "phasic (tonic removed)",
    "normalised": "normalised",
}


def most_active_muscles(trial: TrialEnvelope, n: int, muscles: Sequence[str]) -> list[str]:
    """The ``n`` muscles with the largest envelope peak relative to their median in ``trial``."""
    _, env = trial.steps["envelope"]
    contrast = env.max(axis=0) / np.maximum(np.median(env, axis=0), np.finfo(float).tiny)
    return [muscles[j] for j in np.argsort(contrast)[::-1][:n]]


def plot_steps(trial: TrialEnvelope, muscles: Sequence[str], show: Sequence[str] | None = None,
               n_muscles: int = 4):
    """Every preprocessing step of one trial, stacked (rows: steps; columns: muscles).

    ``trial`` comes from :func:`synlib.preprocess.pipeline.process_trial` with
    ``keep_steps=True``; the movement segments are shaded. Amplitudes are in the
    dataset's units up to the normalised step.
    """
    muscles = list(muscles)
    show = list(show) if show is not None else most_active_muscles(trial, n_muscles, muscles)
    unknown = [m for m in show if m not in muscles]
    if unknown:
        raise ValueError(f"muscles {unknown} are not in the dataset; it has {muscles}")
    names = [s for s in STEP_LABELS if s in trial.steps]
    fig, axes = plt.subplots(len(names), len(show), figsize=(3.2 * len(show), 1.5 * len(names) + 0.6),
                             sharex=True, squeeze=False)
    for row, name in enumerate(names):
        times, values = trial.steps[name]
        for col, muscle in enumerate(show):
            ax = axes[row, col]
            j = muscles.index(muscle)
            ax.plot(times, values[:, j], lw=0.6 if name in ("raw", "filtered", "rectified") else 1.2,
                    color="C0" if name != "tonic" else "C3")
            if name == "tonic" and "envelope" in trial.steps:
                ax.plot(*_column(trial.steps["envelope"], j), lw=0.8, color="0.6", zorder=0)
            for s in trial.segments:
                ax.axvspan(s.start, s.end, color="C1", alpha=0.08, lw=0)
            if row == 0:
                ax.set_title(muscle)
            if col == 0:
                ax.set_ylabel(STEP_LABELS[name], fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def _column(step, j):
    times, values = step
    return times, values[:, j]


def grouping_column(rows: pd.DataFrame) -> str:
    """The row-table column that best labels blocks of rows: plane when known, else condition."""
    if "plane" in rows and (rows["plane"].astype(str) != "").any():
        return "plane"
    return "condition"


def plot_matrix(envelopes: Envelopes, participant: str, by: str | None = None):
    """Heat map of one participant's matrix (muscles × rows), blocks of ``by`` marked."""
    env = envelopes.select(participant)
    by = by or grouping_column(env.rows)
    fig, ax = plt.subplots(figsize=(11, 0.28 * len(env.muscles) + 1.2))
    image = ax.imshow(env.X.T, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0)
    ax.set_yticks(range(len(env.muscles)), env.muscles)
    labels = env.rows[by].astype(str).to_numpy() if by in env.rows else np.full(len(env.rows), "")
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ax.set_xticks(starts, [f"{by} {labels[s]}" for s in starts], rotation=90, fontsize=7)
    for s in starts[1:]:
        ax.axvline(s - 0.5, color="w", lw=0.6)
    ax.set_xlabel(f"row of the matrix (blocks of {by})")
    ax.set_title(f"participant {participant}: {env.X.shape[0]} rows × {env.X.shape[1]} muscles")
    fig.colorbar(image, ax=ax, label="normalised envelope", pad=0.01)
    fig.tight_layout()
    return fig


def plot_profiles(envelopes: Envelopes, participant: str, hue: str | None = None, ncols: int = 4):
    """Mean time profile of each muscle for one participant, one line per value of ``hue``."""
    env = envelopes.select(participant)
    hue = hue or grouping_column(env.rows)
    frame = pd.DataFrame(env.X, columns=env.muscles)
    frame["hue"] = env.rows[hue].astype(str).to_numpy() if hue in env.rows else ""
    frame["phase"] = env.rows["phase"].to_numpy()
    frame["time"] = env.rows["time"].to_numpy()
    phases = list(pd.unique(frame["phase"]))
    # Phases follow each other on the x-axis (e.g. stance then swing), each spanning one unit.
    frame["x"] = frame["time"] + frame["phase"].map({p: i for i, p in enumerate(phases)})
    levels = list(pd.unique(frame["hue"]))
    means = frame.groupby(["hue", "x"], sort=True)[list(env.muscles)].mean()
    nrows = int(np.ceil(len(env.muscles) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 2.1 * nrows), sharex=True, squeeze=False)
    colours = distinct_colors(len(levels))
    for ax, muscle in zip(axes.flat, env.muscles):
        for colour, level in zip(colours, levels):
            block = means[muscle].xs(level, level="hue")
            ax.plot(block.index, block.to_numpy(), lw=1.2, color=colour, label=str(level))
        ax.set_title(muscle, fontsize=9)
    for ax in axes.flat[len(env.muscles):]:
        ax.set_visible(False)
    xlabel = "normalised time" if len(phases) == 1 else "normalised time (" + " | ".join(phases) + ")"
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel("envelope")
    axes.flat[0].legend(title=hue, fontsize=7, title_fontsize=7)
    fig.tight_layout()
    return fig


def plot_recovery(table: pd.DataFrame, threshold: float = 0.95):
    """Pearson r between recovered and true phasic envelopes, per muscle across participants."""
    fig, ax = plt.subplots(figsize=(9, 3.4))
    muscles = list(pd.unique(table["muscle"]))
    data = [table.loc[table["muscle"] == m, "r"].dropna().to_numpy() for m in muscles]
    ax.boxplot(data, showfliers=False, widths=0.5)
    for i, values in enumerate(data, start=1):
        ax.scatter(np.full(values.size, i) + np.linspace(-0.12, 0.12, values.size), values, s=10,
                   color="C0", zorder=3)
    ax.axhline(threshold, color="C3", ls="--", lw=1, label=f"r = {threshold}")
    median = float(table["r"].median())
    ax.axhline(median, color="0.3", lw=1, label=f"median over participants × muscles = {median:.3f}")
    ax.set_xticks(range(1, len(muscles) + 1), muscles, rotation=45, ha="right")
    ax.set_ylabel("Pearson r, recovered vs true")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_recovered_vs_true(envelopes: Envelopes, participant: str, muscles: Sequence[str] | None = None,
                           n_movements: int = 5, truth: str = "phasic"):
    """Recovered and true envelopes of the first movements of a participant, each scaled to its maximum."""
    env = envelopes.select(participant)
    show = list(muscles) if muscles is not None else list(env.muscles[:4])
    first = env.rows[["trial", "segment"]].drop_duplicates().head(n_movements)
    keep = env.rows.set_index(["trial", "segment"]).index.isin(first.set_index(["trial", "segment"]).index)
    fig, axes = plt.subplots(len(show), 1, figsize=(10, 1.6 * len(show) + 0.6), sharex=True, squeeze=False)
    x = np.arange(keep.sum())
    for ax, muscle in zip(axes[:, 0], show):
        j = env.muscles.index(muscle)
        recovered = env.X[keep, j] / max(env.X[:, j].max(), np.finfo(float).tiny)
        true = env.truth[truth][keep, j] / max(env.truth[truth][:, j].max(), np.finfo(float).tiny)
        ax.plot(x, true, color="0.2", lw=1.5, label=f"true {truth}")
        ax.plot(x, recovered, color="C1", lw=1.2, label="preprocessed")
        ax.set_ylabel(muscle)
    axes[0, 0].legend(fontsize=8, ncol=2, loc="upper right")
    axes[-1, 0].set_xlabel(f"row ({n_movements} movements, time-normalised)")
    fig.tight_layout()
    return fig
