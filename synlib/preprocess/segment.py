"""Where the movements (or the phases of cycles) are in a trial.

A segmentation is a list of :class:`Segment`, each a time span that time
normalisation turns into a fixed number of rows. Movements come from a trial's
known ``onset``/``offset``, from an envelope threshold when the dataset has none,
or are the whole trial; cycles come from event times (e.g. gait touchdown and
lift-off), each cycle split into phases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Segment:
    """A span of a trial that becomes ``n_points`` rows.

    ``start`` and ``end`` are seconds from the trial's first sample; the segment
    holds the samples with ``start ≤ t < end``. ``index`` numbers the movements or
    cycles of the trial from 1; ``phase`` names the part of the cycle.
    """

    start: float
    end: float
    phase: str
    index: int
    n_points: int


def _in(where: str) -> str:
    return f" in {where}" if where else ""


def check_span(onset: float, offset: float, duration: float, where: str = "") -> None:
    """Raise unless ``0 ≤ onset < offset ≤ duration`` (seconds)."""
    if not (np.isfinite(onset) and np.isfinite(offset)):
        raise ValueError(f"movement onset {onset!r} / offset {offset!r} s{_in(where)} must be known numbers")
    if not (0.0 <= onset < offset <= duration + 1e-9):
        raise ValueError(
            f"movement onset {onset:.4g} s and offset {offset:.4g} s{_in(where)} must satisfy "
            f"0 ≤ onset < offset ≤ {duration:.4g} s (the trial's length)"
        )


def movement(onset: float, offset: float, duration: float, n_points: int, where: str = "") -> list[Segment]:
    """One movement from its onset to its offset (checked against the trial length).

    Examples
    --------
    >>> movement(0.5, 1.5, 2.0, 100)
    [Segment(start=0.5, end=1.5, phase='movement', index=1, n_points=100)]
    """
    check_span(float(onset), float(offset), duration, where)
    return [Segment(float(onset), float(offset), "movement", 1, int(n_points))]


def speed_onset_offset(speed, times, fraction: float = 0.10, where: str = "") -> tuple[float, float]:
    """Movement onset and offset where hand speed crosses ``fraction`` of its peak (the group's 10 %).

    The onset is the last time before the speed peak, and the offset the first
    time after it, that the speed is at ``fraction`` of the peak, interpolated
    linearly between samples.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(301) / 100
    >>> speed = np.clip(1 - np.abs(t - 1.5) / 0.5, 0, None)      # a triangle from 1 s to 2 s
    >>> [round(x, 3) for x in speed_onset_offset(speed, t)]
    [1.05, 1.95]
    """
    speed = np.asarray(speed, dtype=float)
    times = np.asarray(times, dtype=float)
    if speed.ndim != 1 or speed.shape != times.shape or speed.size < 3:
        raise ValueError(f"hand speed{_in(where)} must be one value per sample (got shape {speed.shape} "
                         f"for {times.size} samples)")
    if not np.isfinite(speed).all():
        raise ValueError(f"hand speed{_in(where)} has {int((~np.isfinite(speed)).sum())} missing or infinite values")
    peak = int(np.argmax(speed))
    level = fraction * speed[peak]
    below = speed <= level
    before, after = np.flatnonzero(below[:peak]), peak + np.flatnonzero(below[peak:])
    if speed[peak] <= 0 or not before.size or not after.size:
        raise ValueError(f"hand speed{_in(where)} does not rise from and fall back to {fraction:g} of its peak "
                         f"({speed[peak]:.3g}) within the trial: the movement is cut off, or lower speed_fraction")

    def crossing(i: int, j: int) -> float:
        # the time between samples i and j where the speed equals the level
        return float(times[i] + (level - speed[i]) / (speed[j] - speed[i]) * (times[j] - times[i]))

    return crossing(before[-1], before[-1] + 1), crossing(after[0] - 1, after[0])


def threshold_onset_offset(envelope, times, fraction: float = 0.25, min_active_s: float = 0.2,
                           where: str = "") -> tuple[float, float]:
    """Onset and offset of the activity of a trial from its envelope.

    Each muscle is scaled to its range over the trial (flat muscles are left
    out) and the muscles are averaged. The trial is active where this mean
    exceeds its 5th percentile by ``fraction`` of the distance to its peak;
    active stretches shorter than ``min_active_s`` are ignored. The onset is the
    start of the first remaining stretch and the offset the end of the last.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(300) / 100
    >>> env = np.c_[np.where((t >= 1) & (t < 2), 1.0, 0.1)]
    >>> threshold_onset_offset(env, t)
    (1.0, 2.0)
    """
    envelope = np.asarray(envelope, dtype=float)
    times = np.asarray(times, dtype=float)
    low, high = envelope.min(axis=0), envelope.max(axis=0)
    varying = high > low
    if not varying.any():
        raise ValueError(f"every muscle is flat{_in(where)}: there is no activity to segment by threshold")
    mean = ((envelope[:, varying] - low[varying]) / (high - low)[varying]).mean(axis=1)
    baseline, peak = np.percentile(mean, 5), mean.max()
    active = mean > baseline + fraction * (peak - baseline)
    step = float(np.median(np.diff(times))) if times.size > 1 else 1.0
    edges = np.flatnonzero(np.diff(np.r_[0, active.astype(int), 0]))
    runs = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if (b - a) * step >= min_active_s - 1e-12]
    if not runs:
        raise ValueError(
            f"no active stretch of at least {min_active_s} s{_in(where)} above the threshold "
            f"(fraction {fraction} of the way from baseline to peak); lower threshold_fraction or "
            "threshold_min_s, give the trial an onset and offset, or — when each trial is already one "
            "pre-cut movement or cycle — use segmentation='whole' (with tonic='none', which needs no rest)"
        )
    onset = float(times[runs[0][0]])
    offset = float(times[runs[-1][1] - 1] + step)
    return onset, offset


def cycles(events: Mapping[str, Sequence[float]], cycle_events: Sequence[str], time_points,
           duration: float, phase_names: Sequence[str] | None = None, drop_start: int = 0,
           drop_end: int = 0, max_cycles: int | None = None, where: str = "") -> list[Segment]:
    """Phases of the complete cycles marked by event times.

    A cycle runs from one time of the first event in ``cycle_events`` to the
    next; in between, each later event of ``cycle_events`` (first occurrence after
    the previous boundary) starts the next phase. ``drop_start`` and ``drop_end``
    complete cycles are dropped at the trial's ends and at most ``max_cycles`` are
    kept.

    Examples
    --------
    >>> segs = cycles({"td": [0.0, 1.0, 2.0], "lo": [0.6, 1.6]}, ["td", "lo"], 100, 3.0,
    ...               phase_names=["stance", "swing"])
    >>> [(s.start, s.end, s.phase, s.index) for s in segs]
    [(0.0, 0.6, 'stance', 1), (0.6, 1.0, 'swing', 1), (1.0, 1.6, 'stance', 2), (1.6, 2.0, 'swing', 2)]
    """
    names = list(cycle_events)
    missing = [name for name in names if name not in events]
    if missing:
        raise ValueError(f"event(s) {missing}{_in(where)} are not recorded; the trial has {sorted(events)}")
    times = {name: np.sort(np.asarray(events[name], dtype=float).ravel()) for name in names}
    for name, values in times.items():
        outside = values[(values < 0) | (values > duration + 1e-9) | ~np.isfinite(values)]
        if outside.size:
            raise ValueError(
                f"event {name!r} at {outside.tolist()} s{_in(where)} lies outside the trial (0–{duration:.4g} s)"
            )
    starts = times[names[0]]
    if starts.size < 2:
        raise ValueError(f"{starts.size} {names[0]!r} event(s){_in(where)}: a complete cycle needs two")
    points = list(time_points) if isinstance(time_points, (list, tuple)) else [int(time_points)] * len(names)
    labels = list(phase_names) if phase_names else [f"{a}-{b}" for a, b in zip(names, names[1:] + names[:1])]
    complete = []
    for number, (begin, finish) in enumerate(zip(starts[:-1], starts[1:]), start=1):
        bounds = [float(begin)]
        for name in names[1:]:
            later = times[name][(times[name] > bounds[-1]) & (times[name] < finish)]
            if later.size == 0:
                raise ValueError(
                    f"cycle {number} ({begin:.4g}–{finish:.4g} s){_in(where)} has no {name!r} event "
                    f"between {bounds[-1]:.4g} s and the next {names[0]!r}"
                )
            bounds.append(float(later[0]))
        bounds.append(float(finish))
        complete.append(bounds)
    kept = complete[drop_start: len(complete) - drop_end]
    if max_cycles is not None:
        kept = kept[:max_cycles]
    if not kept:
        raise ValueError(
            f"{len(complete)} complete cycle(s){_in(where)}, none left after dropping {drop_start} at the "
            f"start and {drop_end} at the end"
        )
    return [
        Segment(float(bounds[p]), float(bounds[p + 1]), labels[p], number, points[p])
        for number, bounds in enumerate(kept, start=1)
        for p in range(len(names))
    ]


def detection_errors(rows: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """How far the movements were cut from each trial's known onset and offset.

    Parameters
    ----------
    rows : DataFrame
        The row table of preprocessed envelopes (``Envelopes.rows``), with
        ``segment_start`` and ``segment_end``.
    trials : DataFrame
        The dataset's trial table (``Dataset.trial_table()``) with the known
        ``onset`` and ``offset`` (on simulated data the generator's).

    Returns
    -------
    DataFrame
        One row per movement: participant, trial, ``onset_error_s`` and
        ``offset_error_s`` (detected minus known; positive = later).

    Examples
    --------
    >>> rows = pd.DataFrame({"participant": ["p"] * 2, "trial": ["t"] * 2, "segment": [1, 1],
    ...                      "segment_start": [1.1, 1.1], "segment_end": [1.9, 1.9]})
    >>> trials = pd.DataFrame({"participant": ["p"], "trial": ["t"], "onset": [1.0], "offset": [2.0]})
    >>> detection_errors(rows, trials).round(3).to_dict("records")
    [{'participant': 'p', 'trial': 't', 'onset_error_s': 0.1, 'offset_error_s': -0.1}]
    """
    missing = [c for c in ("participant", "trial", "segment_start", "segment_end") if c not in rows]
    missing += [c for c in ("onset", "offset") if c not in trials]
    if missing:
        raise ValueError(f"detection errors need the columns {missing}")
    cut = rows.drop_duplicates(["participant", "trial", "segment"])[["participant", "trial", "segment_start",
                                                                      "segment_end"]]
    known = trials[["participant", "trial", "onset", "offset"]].astype({"participant": str, "trial": str})
    both = cut.astype({"participant": str, "trial": str}).merge(known, on=["participant", "trial"], how="inner")
    return pd.DataFrame({"participant": both["participant"], "trial": both["trial"],
                         "onset_error_s": both["segment_start"] - both["onset"],
                         "offset_error_s": both["segment_end"] - both["offset"]})
