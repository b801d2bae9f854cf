"""Figures of the data chapter: raw EMG, true envelopes, true synergies, activation profiles, design."""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synlib.data import Trial
from synlib.plots.style import distinct_colors


def _stacked(ax: plt.Axes, time: np.ndarray, traces: np.ndarray, muscles: Sequence[str], spacing: float,
             **style) -> None:
    """Draw each column of ``traces`` on its own baseline, first muscle on top."""
    n = traces.shape[1]
    for column in range(n):
        baseline = (n - 1 - column) * spacing
        ax.plot(time, traces[:, column] + baseline, **style)
    ax.set_yticks([(n - 1 - c) * spacing for c in range(n)], list(muscles))
    ax.set_ylim(-spacing, n * spacing)


def _mark_movement(ax: plt.Axes, trial: Trial) -> None:
    for key, style in (("onset", "--"), ("offset", ":")):
        value = float(trial.meta.get(key, math.nan))
        if math.isfinite(value):
            ax.axvline(value, color="black", linestyle=style, linewidth=1, label=f"movement {key}")
    colours = iter(sns.color_palette("Set1"))
    for name, times in (trial.meta.get("events") or {}).items():
        colour = next(colours)
        for i, t in enumerate(np.ravel(times)):
            ax.axvline(t, color=colour, alpha=0.6, linewidth=1, label=name if i == 0 else None)


def plot_raw_emg(trial: Trial, muscles: Sequence[str], fs: float, ax: plt.Axes | None = None) -> plt.Figure:
    """Raw EMG of one trial, one trace per muscle, each scaled to its own largest deflection.

    Movement onset and offset (and any events) are marked when known.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.45 * len(muscles) + 1.2))
    emg = trial.emg - np.median(trial.emg, axis=0)
    scale = np.abs(emg).max(axis=0)
    scaled = emg / np.where(scale > 0, 2.2 * scale, 1.0)
    time = np.arange(emg.shape[0]) / fs
    _stacked(ax, time, scaled, muscles, spacing=1.0, color="0.2", linewidth=0.4)
    _mark_movement(ax, trial)
    ax.set_xlabel("time (s)")
    ax.set_title(f"Raw EMG, participant {trial.meta['participant']}, trial {trial.meta['trial']}\n"
                 "(each muscle scaled to its largest deflection)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.set_xlim(time[0], time[-1])
    return ax.figure


def plot_envelopes(trial: Trial, muscles: Sequence[str], fs: float, units: str = "",
                   ax: plt.Axes | None = None) -> plt.Figure:
    """True envelope (tonic + phasic, filled) and its synergy-driven phasic part of one trial.

    All muscles share one amplitude scale, so their sizes can be compared.
    """
    truth = trial.truth or {}
    if "envelope" not in truth:
        raise ValueError(f"{trial.label} has no true envelope (only simulated data carry truth)")
    envelope = np.asarray(truth["envelope"])
    phasic = np.asarray(truth["phasic"]) if "phasic" in truth else None
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.45 * len(muscles) + 1.2))
    spacing = 1.1 * envelope.max()
    time = np.arange(envelope.shape[0]) / fs
    n = envelope.shape[1]
    for column in range(n):
        baseline = (n - 1 - column) * spacing
        ax.fill_between(time, baseline, envelope[:, column] + baseline, color="tab:blue", alpha=0.35,
                        linewidth=0, label="envelope (tonic + phasic)" if column == 0 else None)
        if phasic is not None:
            ax.plot(time, phasic[:, column] + baseline, color="tab:orange", linewidth=1,
                    label="phasic (synergy-driven)" if column == 0 else None)
    ax.set_yticks([(n - 1 - c) * spacing for c in range(n)], list(muscles))
    ax.set_ylim(-0.2 * spacing, n * spacing)
    _mark_movement(ax, trial)
    ax.set_xlabel("time (s)")
    ax.set_xlim(time[0], time[-1])
    ax.set_title(f"True envelopes, participant {trial.meta['participant']}, trial {trial.meta['trial']}\n"
                 f"(one scale for all muscles; tick spacing {spacing:.3g} {units})".rstrip())
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return ax.figure


def plot_synergies(synergies: np.ndarray, muscles: Sequence[str], names: Sequence[str] | None = None,
                   title: str = "Synergies", color: str = "tab:blue") -> plt.Figure:
    """Synergy weights (k × muscles) as one bar plot per synergy, muscles on the x axis."""
    synergies = np.asarray(synergies)
    k = synergies.shape[0]
    names = list(names) if names is not None else [f"S{j + 1}" for j in range(k)]
    fig, axes = plt.subplots(k, 1, figsize=(max(6, 0.45 * len(muscles)), 1.5 * k + 0.8), sharex=True,
                             sharey=True, squeeze=False)
    for j, ax in enumerate(axes[:, 0]):
        ax.bar(range(len(muscles)), synergies[j], color=color)
        ax.set_ylabel(names[j], rotation=0, ha="right", va="center")
        ax.set_ylim(0, max(1.0, synergies.max()) * 1.05)
    axes[-1, 0].set_xticks(range(len(muscles)), list(muscles), rotation=60, ha="right")
    axes[-1, 0].set_xlabel("muscle")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def synergies_table(synergies_by_participant: dict[str, np.ndarray], muscles: Sequence[str],
                    names: Sequence[str] | dict[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """Tidy table (participant, synergy, muscle, weight) of several participants' synergies.

    ``names`` labels the synergies: one list for every participant, or a dict
    participant → list when participants have different synergies (merged or
    split ones in a simulated cohort); default ``S1``, ``S2``, ...
    """
    rows = []
    for participant, synergies in synergies_by_participant.items():
        own = names.get(participant) if isinstance(names, dict) else names
        labels = list(own) if own is not None else [f"S{j + 1}" for j in range(len(synergies))]
        for j, row in enumerate(np.asarray(synergies)):
            rows += [{"participant": participant, "synergy": labels[j], "muscle": m, "weight": w}
                     for m, w in zip(muscles, row)]
    return pd.DataFrame(rows)


def plot_synergies_across_participants(table: pd.DataFrame, muscles: Sequence[str]) -> sns.FacetGrid:
    """Mean weight and spread (SD) across participants of each synergy, from :func:`synergies_table`."""
    grid = sns.catplot(data=table, x="muscle", y="weight", row="synergy", kind="bar", errorbar="sd",
                       order=list(muscles), height=1.5, aspect=5, color="tab:blue")
    grid.set_titles("{row_name}")
    grid.set_axis_labels("muscle", "weight")
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", rotation=60)
    grid.figure.suptitle("True synergies across participants (mean ± SD)", y=1.01)
    return grid


def true_activation_profiles(trials: Sequence[Trial], fs: float, n_points: int = 50,
                        names: Sequence[str] | None = None) -> pd.DataFrame:
    """True activations time-normalised between movement onset and offset, one tidy row per point.

    Columns: participant, trial, target, plane, repetition, synergy, time (0..1), activation.
    """
    frames = []
    grid = np.linspace(0.0, 1.0, n_points)
    for trial in trials:
        activations = np.asarray(trial.truth["activations"])
        seconds = np.arange(activations.shape[0]) / fs
        onset, offset = trial.meta["onset"], trial.meta["offset"]
        at = onset + grid * (offset - onset)
        labels = list(names) if names is not None else [f"S{j + 1}" for j in range(activations.shape[1])]
        for j, label in enumerate(labels):
            frames.append(pd.DataFrame({
                "participant": trial.meta["participant"], "trial": trial.meta["trial"],
                "target": trial.meta.get("target"), "plane": trial.meta.get("plane"),
                "repetition": trial.meta["repetition"], "synergy": label, "time": grid,
                "activation": np.interp(at, seconds, activations[:, j])}))
    return pd.concat(frames, ignore_index=True)


def plot_true_activation_profiles(profiles: pd.DataFrame) -> plt.Figure:
    """Mean activation over repetitions, by target (colour), plane (column) and synergy (row).

    ``profiles`` is the table of :func:`true_activation_profiles`.
    """
    means = profiles.groupby(["synergy", "plane", "target", "time"])["activation"].mean()
    synergies = list(dict.fromkeys(profiles["synergy"]))
    planes = list(dict.fromkeys(profiles["plane"]))
    targets = sorted(profiles["target"].unique())
    colours = dict(zip(targets, distinct_colors(len(targets))))
    fig, axes = plt.subplots(len(synergies), len(planes), figsize=(2.1 * len(planes) + 1.2, 1.5 * len(synergies) + 0.8),
                             sharex=True, sharey="row", squeeze=False)
    for row, synergy in enumerate(synergies):
        for column, plane in enumerate(planes):
            ax = axes[row, column]
            for target in targets:
                curve = means.loc[(synergy, plane, target)]
                ax.plot(curve.index, curve.to_numpy(), color=colours[target], linewidth=1.2,
                        label=f"target {target}" if row == column == 0 else None)
            if row == 0:
                ax.set_title(plane)
            if column == 0:
                ax.set_ylabel(synergy, rotation=0, ha="right", va="center")
            if row == len(synergies) - 1:
                ax.set_xlabel("movement time")
    fig.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small", title="target")
    fig.suptitle("True activations between movement onset (0) and offset (1), mean over repetitions")
    fig.tight_layout()
    return fig


def plot_target_layout(targets: pd.DataFrame, start: Sequence[float] | None = None) -> plt.Figure:
    """Target positions (x lateral, y forward, z up, m from the shoulder): top and side views."""
    fig, (top, side) = plt.subplots(1, 2, figsize=(9, 4))
    sns.scatterplot(data=targets, x="x", y="y", hue="plane", style="plane", ax=top, s=50)
    sns.scatterplot(data=targets, x="y", y="z", hue="plane", style="plane", ax=side, s=50, legend=False)
    if start is not None:
        top.scatter(start[0], start[1], marker="*", s=150, color="black", label="start")
        side.scatter(start[1], start[2], marker="*", s=150, color="black")
    for ax in (top, side):
        ax.scatter(0, 0, marker="o", s=80, facecolor="none", edgecolor="black")
        ax.set_aspect("equal")
    top.set(xlabel="x: lateral (m)", ylabel="y: forward (m)", title="Seen from above (circle: shoulder)")
    side.set(xlabel="y: forward (m)", ylabel="z: up (m)", title="Seen from the side")
    top.legend(fontsize="small", loc="lower left")
    fig.tight_layout()
    return fig


def plot_trial_durations(table: pd.DataFrame, fs: float) -> plt.Figure:
    """Trial length and, when onsets are known, movement duration, by plane (or condition)."""
    table = table.assign(trial_s=table["n_samples"] / fs)
    group = "plane" if "plane" in table and table["plane"].notna().all() else "condition"
    has_movement = {"onset", "offset"} <= set(table) and table[["onset", "offset"]].notna().all().all()
    fig, axes = plt.subplots(1, 2 if has_movement else 1, figsize=(9 if has_movement else 5, 3.5), squeeze=False)
    sns.boxplot(data=table, x=group, y="trial_s", ax=axes[0, 0], color="tab:blue")
    axes[0, 0].set(ylabel="trial length (s)", title="Recorded trial length")
    if has_movement:
        table = table.assign(movement_s=table["offset"] - table["onset"])
        sns.boxplot(data=table, x=group, y="movement_s", ax=axes[0, 1], color="tab:orange")
        axes[0, 1].set(ylabel="movement duration (s)", title="Movement onset to offset")
    for ax in axes.flat:
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig
