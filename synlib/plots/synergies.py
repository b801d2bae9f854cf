"""Synergy figures shared by the NMF and autoencoder chapters.

- :func:`rank_curves`: R² against the number of synergies, every restart, the
  threshold and the chosen rank, one panel per participant;
- :func:`synergy_bars`: synergy weight vectors as bar plots with muscle names,
  optionally two sets side by side with their similarity in the titles;
- :func:`activation_profiles`: activations per target and plane, averaged over
  repetitions, against normalised time.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synlib.plots.style import distinct_colors

MEASURE_LABELS = {"r2_centred": "R² (centred on muscle means)", "r2_global": "R² (about the grand mean)",
                  "vaf": "VAF (uncentred)", "r2": "R²"}


def _grid(n_panels: int, ncols: int, width: float, height: float, **kwargs):
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, axes.flat


def rank_curves(curve: pd.DataFrame, chosen: Mapping[str, int] | None = None, *, measure: str = "r2_centred",
                threshold: float | None = None, ncols: int = 5) -> plt.Figure:
    """R²-vs-k curves, one panel per participant.

    Parameters
    ----------
    curve : DataFrame
        Tidy, one row per participant × k × restart, with ``participant``, ``k``,
        ``measure`` and optionally ``best`` (the kept restart of each rank).
        Every restart is a grey dot; the best restart per rank is the line.
    chosen : mapping participant → k, optional
        Chosen rank, drawn as a vertical line.
    threshold : float, optional
        Drawn as a horizontal dashed line.

    Examples
    --------
    >>> import pandas as pd
    >>> curve = pd.DataFrame({"participant": "P01", "k": [1, 1, 2, 2], "restart": [0, 1, 0, 1],
    ...                       "r2_centred": [0.6, 0.58, 0.85, 0.86]})
    >>> fig = rank_curves(curve, {"P01": 2}, threshold=0.8)
    >>> fig.axes[0].get_xlabel()
    'number of synergies k'
    """
    participants = list(pd.unique(curve["participant"]))
    fig, axes = _grid(len(participants), ncols, 2.6, 2.3, sharex=True, sharey=True)
    for ax, participant in zip(axes, participants):
        part = curve[curve["participant"] == participant]
        ax.scatter(part["k"], part[measure], s=8, color="0.6", alpha=0.6, label="restarts")
        best = part[part["best"]] if "best" in part else part.loc[part.groupby("k")[measure].idxmax()]
        best = best.sort_values("k")
        ax.plot(best["k"], best[measure], marker="o", ms=3, color="C0", label="best restart")
        if threshold is not None:
            ax.axhline(threshold, ls="--", color="C3", lw=1, label=f"threshold {threshold:g}")
        if chosen is not None and participant in chosen:
            ax.axvline(chosen[participant], color="C2", lw=1.2, label=f"chosen k = {chosen[participant]}")
        ax.set_title(str(participant), fontsize=9)
        ax.set_xlabel("number of synergies k")
        ax.set_ylabel(MEASURE_LABELS.get(measure, measure))
        ax.label_outer()
    handles, labels = axes[0].get_legend_handles_labels()
    keep = [i for i, label in enumerate(labels) if not label.startswith("chosen")]
    fig.legend([handles[i] for i in keep], [labels[i] for i in keep], loc="lower center",
               ncol=len(keep), frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def synergy_bars(synergies, muscles: Sequence[str], *, other=None, similarity=None,
                 labels: tuple[str, str] = ("NMF", "AE"), title: str | None = None) -> plt.Figure:
    """Synergy weight vectors as bar plots, one panel per synergy, muscles on the x axis.

    Parameters
    ----------
    synergies : array (k × muscles)
    muscles : muscle names, in column order
    other : array (k × muscles), optional
        A second set, already matched row by row to ``synergies``, drawn beside it.
    similarity : array (k,), optional
        Similarity of each pair, shown in the panel titles.
    labels : names of the two sets for the legend.

    Examples
    --------
    >>> import numpy as np
    >>> fig = synergy_bars(np.eye(2, 3), ["a", "b", "c"], other=np.eye(2, 3), similarity=[1.0, 1.0])
    >>> fig.axes[0].get_title()
    'synergy 1 (similarity 1.00)'
    """
    S = np.atleast_2d(np.asarray(synergies, dtype=float))
    if S.shape[1] != len(muscles):
        raise ValueError(f"synergies have {S.shape[1]} muscles but {len(muscles)} names were given")
    sets = [S] if other is None else [S, np.atleast_2d(np.asarray(other, dtype=float))]
    if len(sets) == 2 and sets[1].shape != S.shape:
        raise ValueError(f"the two synergy sets differ in shape: {S.shape} and {sets[1].shape}")
    fig, axes = plt.subplots(S.shape[0], 1, figsize=(max(6.0, 0.45 * len(muscles)), 1.7 * S.shape[0]),
                             sharex=True, squeeze=False)
    x = np.arange(len(muscles))
    width = 0.8 / len(sets)
    for i, ax in enumerate(axes[:, 0]):
        for s, (values, label) in enumerate(zip(sets, labels)):
            ax.bar(x + (s - (len(sets) - 1) / 2) * width, values[i], width, color=f"C{s}", label=label)
        heading = f"synergy {i + 1}"
        if similarity is not None:
            heading += f" (similarity {float(similarity[i]):.2f})"
        ax.set_title(heading, fontsize=9)
        ax.set_ylabel("weight")
    axes[-1, 0].set_xticks(x, muscles, rotation=60, ha="right")
    axes[-1, 0].set_xlabel("muscle")
    if len(sets) == 2:
        axes[0, 0].legend(fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _present(rows: pd.DataFrame, preferred: str, fallback: str) -> str:
    """``preferred`` when the row table has values in it, else ``fallback``."""
    values = rows[preferred] if preferred in rows else None
    if values is not None and values.notna().any() and values.astype(str).ne("").any():
        return preferred
    return fallback


def activation_profiles(activations, rows: pd.DataFrame, *, time: str = "time", hue: str | None = None,
                        column: str | None = None, label: str = "synergy") -> plt.Figure:
    """Mean activation of each synergy against normalised time, by target (colour) and plane (column).

    Repetitions are averaged: each line is the mean over rows that share the
    ``hue``, ``column`` and ``time`` values. By default the colour is the target
    and the column the plane; datasets without them (e.g. shoulder tasks, gait)
    fall back to the condition and the phase.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rows = pd.DataFrame({"time": np.tile([0.0, 0.5, 1.0], 4), "target": np.repeat([1, 2], 6),
    ...                      "plane": "frontal"})
    >>> fig = activation_profiles(np.ones((12, 2)), rows)
    >>> len(fig.axes) >= 2
    True
    """
    C = np.atleast_2d(np.asarray(activations, dtype=float))
    hue = hue or _present(rows, "target", "condition")
    column = column or _present(rows, "plane", "phase")
    if len(rows) != C.shape[0]:
        raise ValueError(f"{C.shape[0]} activation rows but {len(rows)} rows in the table")
    for name in (time, hue, column):
        if name not in rows:
            raise ValueError(f"row table has no column {name!r}; it has {', '.join(map(str, rows.columns))}")
    frame = rows[[time, hue, column]].reset_index(drop=True).copy()
    columns = [f"{label} {j + 1}" for j in range(C.shape[1])]
    frame[columns] = C
    mean = frame.groupby([column, hue, time], observed=True)[columns].mean().reset_index()
    panels = list(pd.unique(mean[column]))
    fig, axes = plt.subplots(C.shape[1], len(panels), figsize=(2.4 * len(panels) + 1.5, 1.6 * C.shape[1]),
                             sharex=True, sharey="row", squeeze=False)
    palette = distinct_colors(mean[hue].nunique())
    for j, name in enumerate(columns):
        for p, panel in enumerate(panels):
            ax = axes[j, p]
            sns.lineplot(data=mean[mean[column] == panel], x=time, y=name, hue=hue, palette=palette,
                         ax=ax, legend=(j == 0 and p == len(panels) - 1), lw=1)
            ax.set_title(f"{column} {panel}" if j == 0 else "", fontsize=9)
            ax.set_ylabel(name if p == 0 else "")
            ax.set_xlabel("normalised time" if j == C.shape[1] - 1 else "")
    legend = axes[0, -1].get_legend()
    if legend is not None:
        sns.move_legend(axes[0, -1], "upper left", bbox_to_anchor=(1.02, 1), title=hue, frameon=False,
                        fontsize=7)
    fig.tight_layout()
    return fig


def similarity_matrix(similarity: pd.DataFrame, *, title: str = "", vmin: float = 0.0) -> plt.Figure:
    """Heat map of a square table of similarities (e.g. participant × participant), annotated.

    Examples
    --------
    >>> import pandas as pd
    >>> fig = similarity_matrix(pd.DataFrame([[1.0, 0.9], [0.9, 1.0]], index=["a", "b"], columns=["a", "b"]))
    >>> len(fig.axes)
    2
    """
    size = 0.45 * max(similarity.shape) + 2
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(similarity, vmin=vmin, vmax=1, cmap="viridis", annot=max(similarity.shape) <= 16,
                fmt=".2f", annot_kws={"fontsize": 6}, square=True, ax=ax,
                cbar_kws={"label": "mean matched cosine similarity"})
    ax.set_title(title)
    fig.tight_layout()
    return fig
