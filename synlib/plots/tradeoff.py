"""Figures of the trade-off chapter: pair heat maps, the Pareto plot, per-participant spread."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from synlib import tradeoff


def _label(measure: str) -> str:
    spec = tradeoff.MEASURES.get(measure)
    return spec.label if spec else measure


def _colormap(measure: str) -> str:
    # The same colour always means "better", whichever way a measure points.
    better = tradeoff.MEASURES[measure].better if measure in tradeoff.MEASURES else None
    return {"higher": "viridis", "lower": "viridis_r"}.get(better, "cividis")


def pair_grid(summary: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Encoder (rows) × decoder (columns) grid of ``measure`` from a configuration summary."""
    pairs = summary[summary["method"] != tradeoff.NMF]
    grid = pairs.pivot(index="encoder", columns="decoder", values=measure)
    return grid.loc[tradeoff.activation_order(grid.index), tradeoff.activation_order(grid.columns)]


def pair_heatmap(summary: pd.DataFrame, measure: str, ax=None, fmt: str = ".2f"):
    """Annotated 4 × 4 heat map of one measure, encoder activations as rows, decoder as columns.

    ``summary`` is :func:`synlib.tradeoff.config_summary`; better values are
    always brighter (the colour map is reversed for a "lower is better" measure).
    """
    ax = ax or plt.gca()
    sns.heatmap(pair_grid(summary, measure), annot=True, fmt=fmt, cmap=_colormap(measure),
                square=True, cbar_kws={"shrink": 0.8}, ax=ax)
    ax.set(title=_label(measure), xlabel="decoder activation", ylabel="encoder activation")
    ax.tick_params(axis="y", rotation=0)
    return ax


def pair_heatmaps(summary: pd.DataFrame, measures, ncols: int = 3, size: float = 3.6):
    """One :func:`pair_heatmap` per measure, in a grid of ``ncols`` columns."""
    measures = list(measures)
    nrows = -(-len(measures) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size * 1.2, nrows * size), squeeze=False)
    for ax, measure in zip(axes.flat, measures):
        pair_heatmap(summary, measure, ax=ax)
    for ax in axes.flat[len(measures):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def pareto_plot(summary: pd.DataFrame, x: str, y: str, ax=None, maximize=(True, True)):
    """Configurations on reconstruction (``x``) against interpretability (``y``).

    Autoencoder pairs are labelled dots; those on the Pareto front
    (:func:`synlib.tradeoff.pareto_front`, over the pairs) are highlighted and
    joined; NMF is a reference star.
    """
    ax = ax or plt.gca()
    pairs = tradeoff.pareto_front(summary[summary["method"] != tradeoff.NMF], x, y, maximize=maximize)
    dominated, front = pairs[~pairs["pareto"]], pairs[pairs["pareto"]].sort_values(x)
    ax.scatter(dominated[x], dominated[y], color="0.6", label="autoencoder pair", zorder=2)
    ax.plot(front[x], front[y], "o-", color="C3", label="Pareto front", zorder=3)
    for _, row in pairs.iterrows():
        ax.annotate(row["config"], (row[x], row[y]), xytext=(4, 3), textcoords="offset points", fontsize=8)
    nmf = summary[summary["method"] == tradeoff.NMF]
    if len(nmf):
        ax.scatter(nmf[x], nmf[y], marker="*", s=250, color="C0", label="NMF", zorder=4)
    ax.set(xlabel=_label(x), ylabel=_label(y))
    ax.legend(loc="best", fontsize=8)
    return ax


def participant_spread(table: pd.DataFrame, measure: str, ax=None):
    """Each participant's value (mean over seeds) per configuration.

    Points are participants; the grey diamond and bar are the median and the
    interquartile range over participants.
    """
    ax = ax or plt.gca()
    per_participant = (table.groupby(["config", "participant"], sort=False)[measure].mean()
                       .dropna().reset_index())
    order = tradeoff.config_order(per_participant["config"])
    sns.pointplot(data=per_participant, x=measure, y="config", order=order, estimator="median",
                  errorbar=("pi", 50), color="0.3", marker="D", markersize=5, linestyle="none",
                  err_kws={"linewidth": 2.5}, ax=ax)
    # Colours name up to ten participants; beyond that a legend would hide the plot.
    few = per_participant["participant"].nunique() <= 10
    sns.stripplot(data=per_participant, x=measure, y="config", order=order,
                  hue="participant" if few else None, color=None if few else "C0",
                  size=4, jitter=0.15, ax=ax)
    ax.set(xlabel=_label(measure), ylabel="configuration (encoder/decoder)")
    if few:
        ax.legend(title="participant", fontsize=7, loc="best")
    return ax
