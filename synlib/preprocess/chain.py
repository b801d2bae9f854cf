"""A trial's preprocessing as a list of named steps, built from a :class:`PreprocessConfig`.

:func:`build_steps` turns a configuration into the steps it stands for, in
order (demean → filter → rectify → envelope → downsample → … → segment → tonic
removal → time normalisation); :func:`synlib.preprocess.pipeline.process_trial`
runs them on one trial. Each step is a small frozen dataclass whose fields are
its parameters, so that the list can be read, printed and recorded with the
envelopes (:func:`describe`), and a fork can put a step of its own into it: any
object with a ``name`` and an ``apply(signal)`` method that updates the
:class:`TrialSignal` in place (and, optionally, a ``trace``: the key under which
:func:`~synlib.preprocess.pipeline.trace_trial` keeps the signal after it). :func:`insert_step` places one after a named step;
a plan does the same through the ``insert_steps`` option of the configuration
(``{"after": "rectify", "step": "mylab.steps:Notch", "options": {...}}``).

Examples
--------
>>> from synlib.preprocess import PreprocessConfig
>>> [s.name for s in build_steps(PreprocessConfig())]
['demean', 'filter', 'rectify', 'lowpass', 'bin', 'segment', 'tonic_ramp', 'time_normalise']
>>> [s.name for s in build_steps(PreprocessConfig.preset("musclesyneRgies"))][4:8]
['floor_nonpositive', 'subtract_min', 'trial_max', 'segment']
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from synlib import schema
from synlib.data import Trial
from synlib.preprocess import segment as seg
from synlib.preprocess import steps
from synlib.preprocess.config import PreprocessConfig

__all__ = ["TrialSignal", "build_steps", "insert_step", "describe", "record", "steps_table", "check_steps", "SIMPLE_STEPS", "Simple",
           "Filter", "Rectify", "LowPassEnvelope", "RMSEnvelope", "BinAverage", "Resample", "Segment", "TonicRamp",
           "TimeNormalise", "PreprocessWarning"]


class PreprocessWarning(UserWarning):
    """Something in a trial was worked around; the message names the trial and muscle."""


@dataclass
class TrialSignal:
    """One trial on its way through the steps.

    ``x`` (samples × muscles) and ``times`` (s from the trial's first sample) are
    the signal so far; ``segments`` is set by the ``segment`` step and used by
    the steps after it; ``trace`` collects, when figures ask for it, the signal
    after each step that has a ``trace`` key.
    """

    x: np.ndarray
    times: np.ndarray
    trial: Trial
    fs: float
    muscles: tuple[str, ...]
    where: str
    duration: float
    segments: list[seg.Segment] | None = None
    trace: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def keep(self, key: str, values: np.ndarray | None = None) -> None:
        """Record ``values`` (default: the current signal) under ``key`` when tracing."""
        if self.trace is not None:
            self.trace[key] = (self.times, self.x if values is None else values)


class _Step:
    """What every step shares: its parameters are its dataclass fields."""

    name = ""
    trace: str | None = None

    def params(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def apply(self, signal: TrialSignal) -> None:  # pragma: no cover - every step overrides it
        raise NotImplementedError


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


#: The steps without parameters: name → (what it does to the signal, what it is for).
SIMPLE_STEPS = {
    "demean": (lambda s: steps.demean(s.x), "subtract each muscle's mean (the amplifier's DC offset)"),
    "floor_nonpositive": (lambda s: steps.floor_nonpositive(s.x, s.where),
                          "replace values ≤ 0 by the trial's smallest positive value (musclesyneRgies)"),
    "subtract_min": (lambda s: steps.subtract_min(s.x), "subtract each muscle's minimum over the trial "
                                                        "(musclesyneRgies)"),
    "trial_max": (lambda s: steps.divide_by(s.x, s.x.max(axis=0), s.muscles, s.where),
                  "divide each muscle by its maximum over the continuous trial"),
    "clip_negative": (lambda s: np.maximum(s.x, 0.0),
                      "set negative values to zero: a zero-phase low-pass rings slightly below zero around bursts"),
}


@dataclass(frozen=True)
class Simple(_Step):
    """A step without parameters, by its name in :data:`SIMPLE_STEPS`.

    Examples
    --------
    >>> Simple("trial_max").params()
    {}
    >>> Simple("rectfy")
    Traceback (most recent call last):
    ...
    ValueError: no step without parameters is named 'rectfy'; there are demean, floor_nonpositive, subtract_min, trial_max, clip_negative
    """

    name: str

    def __post_init__(self):
        if self.name not in SIMPLE_STEPS:
            raise ValueError(f"no step without parameters is named {self.name!r}; there are "
                             f"{', '.join(SIMPLE_STEPS)}")

    def params(self) -> dict[str, Any]:
        return {}

    def apply(self, signal):
        signal.x = SIMPLE_STEPS[self.name][0](signal)


@dataclass(frozen=True)
class Filter(_Step):
    """High- or band-pass before rectification: Butterworth (zero-phase, ``zero_phase`` style) or FIR."""

    cutoff_hz: float | tuple[float, float]
    btype: str = "highpass"
    design: str = "butterworth"
    order: int = 4
    numtaps: int = 201
    zero_phase: str = "scipy"
    name = "filter"
    trace = "filtered"

    def apply(self, signal):
        if self.design == "fir":
            signal.x = steps.fir(signal.x, signal.fs, self.cutoff_hz, self.btype, self.numtaps, signal.where)
        else:
            signal.x = steps.butterworth(signal.x, signal.fs, self.cutoff_hz, self.btype, self.order,
                                         self.zero_phase, signal.where)


@dataclass(frozen=True)
class Rectify(_Step):
    """Full-wave, half-wave or no rectification."""

    kind: str = "fullwave"
    name = "rectify"
    trace = "rectified"

    def apply(self, signal):
        signal.x = steps.rectify(signal.x, self.kind)


@dataclass(frozen=True)
class LowPassEnvelope(_Step):
    """Zero-phase Butterworth low-pass of the rectified signal."""

    cutoff_hz: float = 20.0
    order: int = 4
    zero_phase: str = "scipy"
    name = "lowpass"

    def apply(self, signal):
        signal.x = steps.butterworth(signal.x, signal.fs, self.cutoff_hz, "lowpass", self.order, self.zero_phase,
                                     signal.where)


@dataclass(frozen=True)
class RMSEnvelope(_Step):
    """Centred moving root-mean-square."""

    window_s: float = 0.05
    name = "rms"

    def apply(self, signal):
        signal.x = steps.rms_envelope(signal.x, signal.fs, self.window_s, signal.where)


@dataclass(frozen=True)
class BinAverage(_Step):
    """Average into non-overlapping bins of ``bin_s`` seconds."""

    bin_s: float = 0.01
    name = "bin"

    def apply(self, signal):
        signal.x, signal.times = steps.bin_average(signal.x, signal.fs, self.bin_s, signal.where)


@dataclass(frozen=True)
class Resample(_Step):
    """Polyphase resampling to one sample every ``period_s`` seconds."""

    period_s: float = 0.01
    name = "resample"

    def apply(self, signal):
        signal.x, signal.times = steps.resample(signal.x, signal.fs, 1.0 / self.period_s, signal.where)


@dataclass(frozen=True)
class Segment(_Step):
    """Find the movements (or cycle phases) of the trial; the signal is unchanged.

    ``method`` is the configuration's ``segmentation``; the other fields are the
    options of :mod:`synlib.preprocess.segment` it uses. The signal entering
    this step is the trial's envelope (trace ``"envelope"``).
    """

    method: str = "auto"
    time_points: int | tuple[int, ...] = 100
    speed_fraction: float = 0.10
    threshold_fraction: float = 0.25
    threshold_min_s: float = 0.2
    cycle_events: tuple[str, ...] | None = None
    phase_names: tuple[str, ...] | None = None
    drop_cycles_start: int = 0
    drop_cycles_end: int = 0
    max_cycles: int | None = None
    name = "segment"
    trace = "envelope"

    def apply(self, signal):
        signal.segments = self._segments(signal)

    def _segments(self, signal) -> list[seg.Segment]:
        meta, where, duration = signal.trial.meta, signal.where, signal.duration
        if self.method == "events":
            return seg.cycles(meta.get("events") or {}, self.cycle_events, self.time_points, duration,
                              self.phase_names, self.drop_cycles_start, self.drop_cycles_end, self.max_cycles,
                              where)
        if self.method == "whole":
            return seg.movement(0.0, duration, duration, self.time_points, where)
        speed = (signal.trial.kinematics or {}).get("hand_speed")
        if self.method == "speed" or (self.method == "auto" and speed is not None):
            if speed is None:
                raise ValueError(f"{where} has no recorded hand speed (Trial.kinematics['hand_speed']); "
                                 "use segmentation='onset_offset', 'threshold' or 'whole'")
            onset, offset = seg.speed_onset_offset(speed, np.arange(len(speed)) / signal.fs,
                                                   self.speed_fraction, where)
            return seg.movement(onset, offset, duration, self.time_points, where)
        onset, offset = float(meta.get("onset", np.nan)), float(meta.get("offset", np.nan))
        known = np.isfinite(onset) and np.isfinite(offset)
        if self.method == "onset_offset" and not known:
            raise ValueError(f"{where} has no movement onset/offset (got {onset!r}, {offset!r}); "
                             "use segmentation='threshold' or 'whole'")
        if self.method == "threshold" or not known:
            onset, offset = seg.threshold_onset_offset(signal.x, signal.times, self.threshold_fraction,
                                                       self.threshold_min_s, where)
        return seg.movement(onset, offset, duration, self.time_points, where)


@dataclass(frozen=True)
class TonicRamp(_Step):
    """Remove the tonic (anti-gravity) level: a linear ramp between the means of a window before
    onset and one after offset; negative phasic values set to zero when ``clip_negative``."""

    pre_s: tuple[float, float] = (-0.4, -0.2)
    post_s: tuple[float, float] = (0.2, 0.4)
    clip_negative: bool = True
    name = "tonic_ramp"
    trace = "phasic"

    def apply(self, signal):
        if signal.segments is None or len(signal.segments) != 1:
            raise ValueError(f"tonic_ramp needs one movement segmented before it in {signal.where} "
                             f"(got {0 if signal.segments is None else len(signal.segments)} segments)")
        (move,) = signal.segments
        pre = _tonic_level(signal, move.start, self.pre_s, before=True)
        post = _tonic_level(signal, move.end, self.post_s, before=False)
        tonic = steps.linear_ramp_tonic(signal.x, signal.times, move.start, move.end, pre, post)
        signal.keep("tonic", tonic)
        signal.x = steps.remove_tonic(signal.x, tonic, self.clip_negative)


def _tonic_level(signal: TrialSignal, anchor: float, window, before: bool) -> np.ndarray:
    env, times, duration, where = signal.x, signal.times, signal.duration, signal.where
    start, end = anchor + window[0], anchor + window[1]
    clipped = (max(start, 0.0), min(end, duration))
    level, count = steps.window_mean(env, times, *clipped)
    if count and clipped == (start, end):
        return level
    side = "onset" if before else "offset"
    if count:
        warnings.warn(f"tonic window {start:.3g}–{end:.3g} s around the {side} of {where} reaches past the "
                      f"trial; its part inside ({clipped[0]:.3g}–{clipped[1]:.3g} s) is used", PreprocessWarning,
                      stacklevel=2)
        return level
    rest = (0.0, anchor) if before else (anchor, duration)
    level, count = steps.window_mean(env, times, *rest)
    if not count:
        raise ValueError(f"tonic window {start:.3g}–{end:.3g} s around the {side} of {where} lies outside the "
                         f"trial and no rest is recorded {'before' if before else 'after'} the movement; "
                         "set tonic='none' or give the trial rest around the movement")
    warnings.warn(f"tonic window {start:.3g}–{end:.3g} s around the {side} of {where} lies outside the trial; "
                  f"the rest {rest[0]:.3g}–{rest[1]:.3g} s is used instead", PreprocessWarning, stacklevel=2)
    return level


@dataclass(frozen=True)
class TimeNormalise(_Step):
    """Interpolate each segment onto its number of points: the rows the extractors take."""

    name = "time_normalise"

    def apply(self, signal):
        if not signal.segments:
            raise ValueError(f"time_normalise needs a segment step before it in {signal.where}")
        signal.x = np.concatenate([steps.time_normalise(signal.x, signal.times, s.start, s.end, s.n_points,
                                                        signal.where) for s in signal.segments])


def build_steps(config: PreprocessConfig | None = None) -> list:
    """The steps ``config`` stands for, in the order they run (``insert_steps`` included)."""
    config = config or PreprocessConfig()
    chain: list = [Simple("demean")] if config.demean else []
    if config.highpass_hz is not None:
        banded = config.band_upper_hz is not None
        chain.append(Filter(cutoff_hz=(config.highpass_hz, config.band_upper_hz) if banded else config.highpass_hz,
                            btype="bandpass" if banded else "highpass", design=config.filter_type,
                            order=config.filter_order, numtaps=config.fir_numtaps, zero_phase=config.zero_phase))
    chain.append(Rectify(config.rectify))
    chain.append(RMSEnvelope(config.rms_window_s) if config.envelope == "rms" else
                 LowPassEnvelope(config.lowpass_hz, config.lowpass_order, config.zero_phase))
    if config.downsample == "bin":
        chain.append(BinAverage(config.bin_s))
    elif config.downsample == "resample":
        chain.append(Resample(config.bin_s))
    chain += [Simple("floor_nonpositive")] if config.floor_nonpositive else []
    chain += [Simple("subtract_min")] if config.subtract_min else []
    chain += [Simple("trial_max")] if config.amplitude_norm == "trial_max" else []
    chain.append(Segment(config.segmentation, config.time_points, config.speed_fraction,
                         config.threshold_fraction, config.threshold_min_s, config.cycle_events,
                         config.phase_names, config.drop_cycles_start, config.drop_cycles_end, config.max_cycles))
    if config.tonic == "ramp":
        chain.append(TonicRamp(config.tonic_pre_s, config.tonic_post_s, config.clip_negative))
    elif config.clip_negative:
        chain.append(Simple("clip_negative"))
    chain.append(TimeNormalise())
    for entry in config.insert_steps:
        try:
            chain = insert_step(chain, _imported_step(entry), after=entry["after"])
        except TypeError as exc:
            raise ValueError(f"preprocess option insert_steps: {entry['step']!r}: {exc}") from None
    return chain


def _imported_step(entry: Mapping[str, Any]):
    """The step an ``insert_steps`` entry names as ``"module:callable"``, called with its ``options``."""
    module_name, _, attribute = str(entry["step"]).partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"preprocess option insert_steps: cannot import step {entry['step']!r} "
                         f"(write it as 'package.module:callable'): {error}") from None
    options = dict(entry.get("options") or {})
    try:
        return factory(**options)
    except TypeError as error:
        raise ValueError(f"preprocess option insert_steps: {entry['step']!r} with options {options} "
                         f"gives no step: {error}") from None


def insert_step(chain: Sequence, step, after: str) -> list:
    """A copy of ``chain`` with ``step`` placed after the step named ``after``.

    Examples
    --------
    >>> chain = insert_step(build_steps(), Rectify("halfwave"), after="rectify")
    >>> [s.name for s in chain][2:4]
    ['rectify', 'rectify']
    """
    for attribute in ("name", "apply"):
        if not hasattr(step, attribute):
            raise TypeError(f"{step!r} is not a preprocessing step: it has no {attribute!r} "
                            "(see synlib.preprocess.chain)")
    names = [s.name for s in chain]
    if after not in names:
        raise ValueError(f"cannot insert step {step.name!r} after {after!r}: the steps are {', '.join(names)}")
    position = len(names) - names[::-1].index(after)
    return [*chain[:position], step, *chain[position:]]


def check_steps(chain: Sequence) -> None:
    """Raise unless ``chain`` segments the trial and ends with time normalisation."""
    names = [getattr(s, "name", repr(s)) for s in chain]
    if not names or names[-1] != "time_normalise":
        raise ValueError(f"the preprocessing steps must end with time_normalise; they are {', '.join(names)}")
    if "segment" not in names:
        raise ValueError(f"the preprocessing steps have no segment step; they are {', '.join(names)}")


def describe(chain: Sequence, stage: str = "trial") -> list[dict[str, Any]]:
    """One record per step, in order: its stage, name and parameters as JSON (what the envelopes keep)."""
    return [record(stage, s.name, s.params() if hasattr(s, "params") else {}) for s in chain]


def record(stage: str, step: str, parameters: Mapping[str, Any]) -> dict[str, str]:
    """One row of ``preprocess_steps.csv``: the stage, the step's name and its parameters as JSON."""
    return {"stage": stage, "step": step, "parameters": json.dumps(dict(parameters), sort_keys=True)}


def steps_table(records: Sequence[Mapping[str, Any]]) -> "pd.DataFrame":
    """The records of :func:`describe` as a page shows them: one row a step, its parameters as ``name=value``.

    Examples
    --------
    >>> steps_table(describe(build_steps())[:2])["parameters"].tolist()
    ['–', 'btype=highpass, cutoff_hz=20.0, design=butterworth, numtaps=201, order=4, zero_phase=scipy']
    """
    import pandas as pd

    def shown(parameters: str) -> str:
        values = json.loads(parameters or "{}")
        return ", ".join(f"{name}={value}" for name, value in values.items() if value is not None) or "–"

    table = pd.DataFrame(list(records), columns=schema.TABLES["preprocess_steps"].names)
    return table.assign(parameters=table["parameters"].map(shown))
