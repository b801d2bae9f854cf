"""Figures of the trade-off chapter: pair heat maps, the Pareto plot, per-participant spread."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from synlib import tradeoff
from synlib.plots.style import distinct_colors, place_labels


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
    nmf = summary[summary["method"] == tradeoff.NMF]
    if len(nmf):
        ax.scatter(nmf[x], nmf[y], marker="*", s=250, color="C0", label="NMF", zorder=4)
    ax.set(xlabel=_label(x), ylabel=_label(y))
    ax.margins(0.12)   # room for the labels of the outermost pairs
    ax.figure.canvas.draw()
    place_labels(ax, pairs[x].to_numpy(), pairs[y].to_numpy(), pairs["config"].to_numpy())
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


def interval_plot(intervals: pd.DataFrame, measure: str, ax=None, chance: float | None = None, top=()):
    """Median and 95 % bootstrap interval of ``measure`` for every configuration (one row each).

    ``intervals`` is :func:`synlib.tradeoff.interval_summary`; configurations in ``top``
    (the top set) are drawn in colour, the others in grey; ``chance`` draws the chance level.
    """
    rows = intervals[intervals["measure"] == measure].reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(rows) + 1.2))
    y = range(len(rows))
    colours = ["C0" if c in set(top) else "0.6" for c in rows["config"]]
    ax.hlines(y, rows["ci_low"], rows["ci_high"], colors=colours, lw=2)
    ax.scatter(rows["median"], y, c=colours, zorder=3, s=18)
    ax.set_yticks(list(y), rows["config"])
    ax.invert_yaxis()
    if chance is not None:
        ax.axvline(chance, color="0.3", ls="--", lw=1, label=f"chance {chance:.2f}")
        ax.legend(loc="lower right", frameon=False, fontsize="small")
    ax.set_xlabel(f"{_label(measure)}: median, 95 % interval")
    return ax


def rank_lines(sensitivity: pd.DataFrame, measure: str, ax=None, highlight=(tradeoff.PAPER_PAIR,)):
    """How the ranking of the pairs on ``measure`` moves with the rank: one line per pair.

    ``sensitivity`` is :func:`synlib.tradeoff.rank_sensitivity`; x is the rank rule
    label in the order given, y the pair's rank among the pairs (1 = best).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5))
    rules = list(dict.fromkeys(sensitivity["rule"]))
    position = {r: i for i, r in enumerate(rules)}
    for config, rows in sensitivity.groupby("config", sort=False):
        strong = config in set(highlight)
        ax.plot(rows["rule"].map(position), rows["rank"], marker="o", lw=2.5 if strong else 1,
                color="C3" if strong else "0.65", zorder=3 if strong else 2, label=config if strong else None)
        last = rows.iloc[-1]
        ax.annotate(config, (position[last["rule"]], last["rank"]), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=7, color="C3" if strong else "0.35")
    ax.set_xticks(range(len(rules)), rules)
    ax.set_xlim(-0.3, len(rules) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("rank (rule label)")
    ax.set_ylabel(f"rank of the pair on {_label(measure)}")
    return ax


def specification_curve(specs: pd.DataFrame, effect: str, choices, *, verdict: str | None = None,
                        effect_label: str | None = None):
    """A specification curve (Simonsohn, Simmons & Nelson 2020): one point per combination of choices.

    The top panel shows ``effect`` for every row of ``specs``, sorted; the panel
    below marks, for each column of ``choices``, which value each specification
    took. Points are coloured by ``verdict`` when given.
    """
    specs = specs.sort_values(effect, kind="stable").reset_index(drop=True)
    levels = [(c, v) for c in choices for v in dict.fromkeys(specs[c])]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(7.0, 0.16 * len(specs) + 3), 3 + 0.22 * len(levels)),
                                      sharex=True, gridspec_kw={"height_ratios": [2.2, 0.25 * len(levels) + 0.6]})
    x = range(len(specs))
    if verdict:
        palette = dict(zip(sorted(specs[verdict].unique()), sns.color_palette("colorblind")))
        for value, rows in specs.groupby(verdict):
            top.scatter(rows.index, rows[effect], s=16, color=palette[value], label=value, zorder=3)
        top.legend(frameon=False, fontsize="small", loc="upper left")
    else:
        top.scatter(x, specs[effect], s=16, zorder=3)
    top.axhline(0, color="0.4", lw=0.8)
    top.set_ylabel(effect_label or effect)
    for row, (column, value) in enumerate(levels):
        chosen = specs.index[specs[column] == value]
        bottom.scatter(chosen, [row] * len(chosen), marker="|", s=40, color="0.2")
    bottom.set_yticks(range(len(levels)), [f"{c}: {v}" for c, v in levels], fontsize=7)
    bottom.invert_yaxis()
    bottom.set_xlabel("specification (sorted by effect)")
    fig.tight_layout()
    return fig


def sensitivity_curves(summary: pd.DataFrame, levels, label: str, ax=None, highlight=("NMF", tradeoff.PAPER_PAIR),
                       threshold: float | None = None):
    """Median truth recovery (95 % interval over participants) of each configuration along one axis.

    ``summary`` is :func:`synlib.sensitivity.level_summary`; the chance level is
    the grey dashed line and ``threshold`` (the breakdown level) a dotted one.
    Levels are placed evenly in sweep order, labelled with their values.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    position = {level: i for i, level in enumerate(levels)}
    configs = tradeoff.config_order(summary["config"].unique())
    palette = dict(zip(configs, distinct_colors(len(configs))))
    for config in configs:
        rows = summary[summary["config"] == config].sort_values("level", key=lambda s: s.map(position))
        x = rows["level"].map(position).to_numpy(dtype=float)
        strong = config in highlight
        ax.plot(x, rows["median"], marker="o", lw=2.5 if strong else 1.2, color="black" if config == "NMF" else
                palette[config], label=config, zorder=3 if strong else 2)
        ax.fill_between(x, rows["ci_low"], rows["ci_high"], alpha=0.15,
                        color="black" if config == "NMF" else palette[config])
    chance = summary.drop_duplicates("level").set_index("level")["chance"].reindex(list(levels))
    ax.plot(range(len(levels)), chance.to_numpy(), ls="--", color="grey", label="chance")
    if threshold is not None:
        ax.axhline(threshold, ls=":", color="grey", lw=1)
    ax.set_xticks(range(len(levels)), [f"{level:g}" for level in levels])
    ax.set_xlabel(label)
    ax.set_ylabel("truth recovery (matched cosine ÷ true k)")
    ax.legend(fontsize="small", ncol=2, frameon=False)
    return ax
