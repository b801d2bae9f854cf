"""One configuration object for every preprocessing choice.

Its fields are plain values (numbers, strings, lists, dicts) so that a study
plan or ``papermill -p`` can set them; :meth:`PreprocessConfig.from_dict` turns
a chapter's ``preprocess`` parameter into a checked configuration and rejects
unknown names, listing the allowed ones.

Whose choice each default is
----------------------------
- the authors' group (SynergyAnalyzer, see the design guide): full-wave
  rectification, zero-phase low-pass at 20 Hz, averaging into 10 ms bins, tonic
  removal by a linear ramp between the mean of [−0.4, −0.2] s before onset and of
  [+0.2, +0.4] s after offset with negatives clipped, each muscle divided by its
  maximum over the participant's trials, 100 samples per movement;
- ours: demeaning and a 4th-order zero-phase Butterworth high-pass at 20 Hz
  before rectification (raw EMG carries a DC offset and low-frequency motion
  artefact that rectification would fold into the envelope), a 4th-order
  low-pass, and segmenting by an envelope threshold when a dataset gives no
  movement onsets.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

CHOICES = {
    "filter_type": ("butterworth", "fir"),
    "zero_phase": ("scipy", "r-signal"),
    "rectify": ("fullwave", "halfwave", "none"),
    "envelope": ("lowpass", "rms"),
    "downsample": ("bin", "resample", "none"),
    "segmentation": ("auto", "speed", "onset_offset", "threshold", "events", "whole"),
    "tonic": ("ramp", "none"),
    "amplitude_norm": ("participant_max", "trial_max", "reference", "none"),
}

GROUP, OURS, R_PACKAGE = "authors' group", "ours", "off; a musclesyneRgies step (its preset)"
#: Whose choice each default is, and what the option does (shown in the book).
ABOUT = {
    "demean": (OURS, "subtract each muscle's mean from the raw EMG"),
    "highpass_hz": (OURS, "high-pass cut-off before rectification (Hz): DC offset and motion artefact"),
    "band_upper_hz": (OURS, "upper band edge; set it to make the filter a band-pass (Hz)"),
    "filter_type": (OURS, "design of the pre-rectification filter"),
    "filter_order": (OURS, "Butterworth order of the pre-rectification filter"),
    "fir_numtaps": (OURS, "taps of the FIR design"),
    "zero_phase": (OURS, "how filters run forwards and backwards (scipy or R signal's filtfilt)"),
    "rectify": (GROUP, "rectification"),
    "envelope": (GROUP, "envelope by zero-phase low-pass, or moving RMS"),
    "lowpass_hz": (GROUP, "envelope low-pass cut-off (Hz)"),
    "lowpass_order": (OURS, "envelope low-pass Butterworth order"),
    "rms_window_s": (OURS, "moving-RMS window (s), when envelope='rms'"),
    "floor_nonpositive": (R_PACKAGE, "replace envelope values ≤ 0 by the smallest positive value"),
    "subtract_min": (R_PACKAGE, "subtract each muscle's minimum over the trial"),
    "downsample": (GROUP, "average into bins, resample, or keep the raw rate"),
    "bin_s": (GROUP, "bin width / new sample period (s)"),
    "segmentation": (OURS, "movements from hand speed, else known onset/offset, else an envelope threshold"),
    "speed_fraction": (GROUP, "speed segmentation: onset and offset where hand speed crosses this fraction of its peak"),
    "threshold_fraction": (OURS, "threshold segmentation: fraction of the way from baseline to peak"),
    "threshold_min_s": (OURS, "threshold segmentation: shortest active stretch (s)"),
    "cycle_events": (R_PACKAGE, "events splitting a cycle into phases (segmentation='events')"),
    "phase_names": (R_PACKAGE, "names of the cycle phases"),
    "drop_cycles_start": (R_PACKAGE, "complete cycles dropped at the start of a trial"),
    "drop_cycles_end": (R_PACKAGE, "complete cycles dropped at the end of a trial"),
    "max_cycles": (R_PACKAGE, "cycles kept per trial"),
    "tonic": (GROUP, "tonic (anti-gravity) removal by a linear ramp"),
    "tonic_pre_s": (GROUP, "window before onset whose mean starts the ramp (s)"),
    "tonic_post_s": (GROUP, "window after offset whose mean ends the ramp (s)"),
    "clip_negative": (GROUP, "set negative values to zero (after tonic removal, or of the envelope without it)"),
    "time_points": (GROUP, "samples per movement (or per phase)"),
    "amplitude_norm": (GROUP, "divide each muscle by its maximum over the participant's trials"),
    "reference": (OURS, "muscle → reference (e.g. MVC) value for amplitude_norm='reference'"),
    "average_repetitions": (OURS, "average the repetitions of each condition (off: every repetition kept)"),
    "insert_steps": (OURS, "a fork's own steps, each put after a named step (synlib.preprocess.chain)"),
}


@dataclass(frozen=True)
class PreprocessConfig:
    """Every preprocessing choice, with the authors' group's values as defaults.

    Parameters
    ----------
    demean : bool, default True
        Subtract each muscle's mean from the raw EMG (ours).
    highpass_hz : float or None, default 20.0
        High-pass cut-off before rectification (ours); ``None`` skips the filter.
    band_upper_hz : float or None, default None
        Upper edge: with ``highpass_hz`` it makes the filter a band-pass.
    filter_type : {"butterworth", "fir"}, default "butterworth"
        Design of the pre-rectification filter.
    filter_order : int, default 4
        Butterworth order of the pre-rectification filter (each pass).
    fir_numtaps : int, default 201
        Taps of the FIR design (made odd).
    zero_phase : {"scipy", "r-signal"}, default "scipy"
        How Butterworth filters run forwards and backwards: scipy's
        ``sosfiltfilt`` (reflected padding) or the R ``signal`` package's
        ``filtfilt`` (zero padding at the end), which musclesyneRgies uses.
    rectify : {"fullwave", "halfwave", "none"}, default "fullwave"
        The group's: full-wave.
    envelope : {"lowpass", "rms"}, default "lowpass"
        Zero-phase low-pass of the rectified signal (the group's) or a moving RMS.
    lowpass_hz : float, default 20.0
        Envelope low-pass cut-off (the group's value).
    lowpass_order : int, default 4
        Envelope low-pass order (ours; musclesyneRgies uses 4 too).
    rms_window_s : float, default 0.05
        Window of the RMS envelope.
    floor_nonpositive : bool, default False
        Replace envelope values ≤ 0 by the trial's smallest positive value (musclesyneRgies).
    subtract_min : bool, default False
        Subtract each muscle's minimum over the trial (musclesyneRgies).
    downsample : {"bin", "resample", "none"}, default "bin"
        Average into bins of ``bin_s`` (the group's) or resample to ``1 / bin_s`` Hz.
    bin_s : float, default 0.01
        Bin width, or new sample period when resampling (the group's 10 ms).
    segmentation : {"auto", "speed", "onset_offset", "threshold", "events", "whole"}, default "auto"
        ``speed`` detects onset and offset from the trial's recorded hand speed
        (``Trial.kinematics["hand_speed"]``, the group's rule: ``speed_fraction``
        of its peak); ``auto`` does so when the trial has a hand speed, else uses
        the trial's ``onset``/``offset`` when both are known, else an envelope
        threshold; ``events`` cuts cycles from ``cycle_events``; ``whole`` keeps
        the whole trial as one movement.
    speed_fraction : float, default 0.10
        Speed segmentation: the movement runs from the last time before the peak
        to the first time after it that hand speed is at this fraction of its
        peak (the group's 10 %).
    threshold_fraction : float, default 0.25
        Threshold segmentation: active when the muscle-averaged envelope (each muscle
        scaled to its trial range) exceeds its 5th percentile by this fraction of
        the distance to its peak (ours).
    threshold_min_s : float, default 0.2
        Shortest active stretch that counts as movement.
    cycle_events : list of str or None, default None
        Event names that split a cycle into phases, in order (e.g.
        ``["touchdown", "liftoff"]``); a cycle runs from one first event to the next.
    phase_names : list of str or None, default None
        Names of the phases (default: ``"<event>-<next event>"``).
    drop_cycles_start, drop_cycles_end : int, default 0
        Complete cycles dropped at the start and end of a trial (filter edge effects).
    max_cycles : int or None, default None
        Cycles kept per trial after dropping.
    tonic : {"ramp", "none"}, default "ramp"
        Linear-ramp tonic removal (the group's).
    tonic_pre_s, tonic_post_s : pair of float, default (−0.4, −0.2) and (0.2, 0.4)
        Windows, relative to onset and to offset, whose means anchor the ramp (the group's).
    clip_negative : bool, default True
        Set negative phasic values to zero (the group's); without tonic removal, the
        envelope's own negative values (low-pass ringing) are set to zero (ours).
    time_points : int or list of int, default 100
        Samples per movement, or per phase (one per phase for ``events``).
    amplitude_norm : {"participant_max", "trial_max", "reference", "none"}, default "participant_max"
        Divide each muscle by its maximum over the participant's rows (the group's),
        by its maximum over the continuous trial, or by ``reference[muscle]``.
    reference : dict or None, default None
        Muscle name → reference (e.g. MVC envelope) value for ``amplitude_norm="reference"``.
    average_repetitions : bool, default False
        Average the rows of repetitions of the same condition (``repetition`` becomes 0).
    insert_steps : list of dict, default []
        Steps of a fork's own, each ``{"after": <step name>, "step": "package.module:callable",
        "options": {...}}``: the callable, called with the options, returns the step
        (:mod:`synlib.preprocess.chain`).

    Examples
    --------
    >>> config = PreprocessConfig.from_dict({"lowpass_hz": 10})
    >>> config.lowpass_hz, config.bin_s
    (10.0, 0.01)
    >>> PreprocessConfig.from_dict({"preset": "musclesyneRgies"}).time_points
    (100, 100)
    """

    demean: bool = True
    highpass_hz: float | None = 20.0
    band_upper_hz: float | None = None
    filter_type: str = "butterworth"
    filter_order: int = 4
    fir_numtaps: int = 201
    zero_phase: str = "scipy"
    rectify: str = "fullwave"
    envelope: str = "lowpass"
    lowpass_hz: float = 20.0
    lowpass_order: int = 4
    rms_window_s: float = 0.05
    floor_nonpositive: bool = False
    subtract_min: bool = False
    downsample: str = "bin"
    bin_s: float = 0.01
    segmentation: str = "auto"
    speed_fraction: float = 0.10
    threshold_fraction: float = 0.25
    threshold_min_s: float = 0.2
    cycle_events: tuple[str, ...] | None = None
    phase_names: tuple[str, ...] | None = None
    drop_cycles_start: int = 0
    drop_cycles_end: int = 0
    max_cycles: int | None = None
    tonic: str = "ramp"
    tonic_pre_s: tuple[float, float] = (-0.4, -0.2)
    tonic_post_s: tuple[float, float] = (0.2, 0.4)
    clip_negative: bool = True
    time_points: int | tuple[int, ...] = 100
    amplitude_norm: str = "participant_max"
    reference: Mapping[str, float] | None = field(default=None, hash=False)
    average_repetitions: bool = False
    insert_steps: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"preprocess option {name}={value!r} is not one of {', '.join(map(repr, allowed))}")
        for name in ("demean", "floor_nonpositive", "subtract_min", "clip_negative", "average_repetitions"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"preprocess option {name}={getattr(self, name)!r} must be true or false")
        for name in ("highpass_hz", "band_upper_hz"):
            set_(name, _positive(name, getattr(self, name), optional=True))
        for name in ("lowpass_hz", "rms_window_s", "bin_s", "threshold_min_s"):
            set_(name, _positive(name, getattr(self, name)))
        for name in ("filter_order", "lowpass_order", "fir_numtaps"):
            set_(name, _integer(name, getattr(self, name), minimum=1))
        for name in ("drop_cycles_start", "drop_cycles_end"):
            set_(name, _integer(name, getattr(self, name), minimum=0))
        if self.max_cycles is not None:
            set_("max_cycles", _integer("max_cycles", self.max_cycles, minimum=1))
        for name in ("threshold_fraction", "speed_fraction"):
            fraction = _positive(name, getattr(self, name))
            if fraction >= 1:
                raise ValueError(f"preprocess option {name}={fraction!r} must be between 0 and 1")
            set_(name, fraction)
        if self.band_upper_hz is not None:
            if self.highpass_hz is None:
                raise ValueError("preprocess option band_upper_hz needs highpass_hz (the lower band edge)")
            if self.band_upper_hz <= self.highpass_hz:
                raise ValueError(
                    f"band-pass edges highpass_hz={self.highpass_hz!r} and band_upper_hz="
                    f"{self.band_upper_hz!r} must be increasing"
                )
        for name in ("tonic_pre_s", "tonic_post_s"):
            window = tuple(float(v) for v in _sequence(name, getattr(self, name)))
            if len(window) != 2 or not window[0] < window[1]:
                raise ValueError(f"preprocess option {name}={getattr(self, name)!r} must be [start, end] with start < end (s)")
            set_(name, window)
        for name in ("cycle_events", "phase_names"):
            value = getattr(self, name)
            if value is not None:
                set_(name, tuple(str(v) for v in _sequence(name, value)))
        points = self.time_points
        points = (tuple(_integer("time_points", p, minimum=2) for p in points)
                  if isinstance(points, (list, tuple)) else _integer("time_points", points, minimum=2))
        set_("time_points", points)
        if self.reference is not None:
            if not isinstance(self.reference, Mapping):
                raise ValueError(f"preprocess option reference={self.reference!r} must map muscle names to values")
            set_("reference", {str(k): _positive(f"reference[{k!r}]", v) for k, v in self.reference.items()})
        set_("insert_steps", tuple(_inserted_step(entry) for entry in _sequence("insert_steps", self.insert_steps)))
        self._check_combinations()

    def _check_combinations(self) -> None:
        if self.segmentation == "events":
            if not self.cycle_events:
                raise ValueError("segmentation='events' needs cycle_events, e.g. ['touchdown', 'liftoff']")
            n_phases = len(self.cycle_events)
            if self.phase_names is not None and len(self.phase_names) != n_phases:
                raise ValueError(f"phase_names {list(self.phase_names)} must name the {n_phases} phases of cycle_events {list(self.cycle_events)}")
            if isinstance(self.time_points, tuple) and len(self.time_points) != n_phases:
                raise ValueError(f"time_points {list(self.time_points)} must give one number per phase of cycle_events {list(self.cycle_events)}")
            if self.tonic == "ramp":
                raise ValueError("tonic='ramp' needs rest before onset and after offset of a movement; "
                                 "with segmentation='events' (cycles) set tonic='none'")
        else:
            if isinstance(self.time_points, tuple):
                if len(self.time_points) != 1:
                    raise ValueError(f"time_points {list(self.time_points)}: a movement has one phase, give one number")
                object.__setattr__(self, "time_points", self.time_points[0])
            if self.segmentation == "whole" and self.tonic == "ramp":
                raise ValueError("tonic='ramp' needs rest before onset and after offset; "
                                 "with segmentation='whole' set tonic='none'")
        if self.amplitude_norm == "reference" and not self.reference:
            raise ValueError("amplitude_norm='reference' needs reference={muscle: value, ...}")

    # ---------------------------------------------------------------- construction
    @classmethod
    def field_names(cls) -> list[str]:
        """Names a ``preprocess`` dictionary may set (plus ``preset``)."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, options: Mapping[str, Any] | None = None) -> "PreprocessConfig":
        """Configuration from a dict of overrides (a chapter's ``preprocess`` parameter).

        The key ``preset`` picks the base (``"synergyanalyzer"``, the default, or
        ``"musclesyneRgies"``); the other keys override its fields. Unknown keys are
        rejected with the allowed names listed.
        """
        options = dict(options or {})
        preset = options.pop("preset", "synergyanalyzer")
        unknown = sorted(set(options) - set(cls.field_names()))
        if unknown:
            raise ValueError(
                f"unknown preprocess option(s) {unknown}; allowed: preset, {', '.join(cls.field_names())}"
            )
        return dataclasses.replace(cls.preset(preset), **options)

    @classmethod
    def preset(cls, name: str) -> "PreprocessConfig":
        """A named configuration: ``"synergyanalyzer"`` (defaults) or ``"musclesyneRgies"``."""
        presets = {"synergyanalyzer": cls, "musclesynergies": cls.musclesynergies}
        key = str(name).lower()
        if key not in presets:
            raise ValueError(f"unknown preprocess preset {name!r}; allowed: 'synergyanalyzer', 'musclesyneRgies'")
        return presets[key]()

    @classmethod
    def musclesynergies(cls) -> "PreprocessConfig":
        """The gait preprocessing of the R package musclesyneRgies (``filtEMG`` + ``normEMG``).

        Demean; 4th-order Butterworth high-pass at 50 Hz and, after full-wave
        rectification, low-pass at 20 Hz, both zero-phase as R's ``signal::filtfilt``;
        values ≤ 0 set to the smallest positive value; each muscle's minimum
        subtracted and the result divided by its maximum over the trial; no tonic
        removal, no downsampling; the first and last complete gait cycles dropped and
        the next three cycles time-normalised to 100 stance + 100 swing points from the
        touchdown and lift-off times.
        """
        return cls(
            highpass_hz=50.0, filter_order=4, zero_phase="r-signal", lowpass_hz=20.0, lowpass_order=4,
            floor_nonpositive=True, subtract_min=True, amplitude_norm="trial_max", downsample="none",
            segmentation="events", cycle_events=("touchdown", "liftoff"), phase_names=("stance", "swing"),
            drop_cycles_start=1, drop_cycles_end=1, max_cycles=3, tonic="none", time_points=(100, 100),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-value form (lists for tuples) that :meth:`from_dict` reads back."""
        out = {}
        for name in self.field_names():
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def describe(self) -> "pd.DataFrame":
        """One row per option: its value here, its default, whose choice the default is, what it does.

        Examples
        --------
        >>> table = PreprocessConfig(lowpass_hz=10).describe().set_index("option")
        >>> table.loc["lowpass_hz", ["value", "default", "default is"]].tolist()
        ['10.0', '20.0', "authors' group"]
        """
        import pandas as pd

        default = PreprocessConfig().to_dict()
        return pd.DataFrame([
            {"option": name, "value": _show(value), "default": _show(default[name]),
             "default is": ABOUT[name][0], "what it does": ABOUT[name][1]}
            for name, value in self.to_dict().items()
        ])

    # ---------------------------------------------------------------- checks against data
    def check_rate(self, fs: float, where: str = "") -> None:
        """Raise before any computation if a cut-off or window does not fit ``fs``.

        Examples
        --------
        >>> PreprocessConfig(lowpass_hz=600).check_rate(1000, "dataset 'x'")
        Traceback (most recent call last):
        ...
        ValueError: lowpass_hz 600.0 Hz in dataset 'x' must lie strictly between 0 and the Nyquist frequency 500 Hz (sampling rate 1000 Hz)
        """
        from synlib.preprocess.steps import check_cutoff

        if self.highpass_hz is not None:
            check_cutoff(self.highpass_hz, fs, "highpass_hz", where)
        if self.band_upper_hz is not None:
            check_cutoff(self.band_upper_hz, fs, "band_upper_hz", where)
        if self.envelope == "lowpass":
            check_cutoff(self.lowpass_hz, fs, "lowpass_hz", where)
        if self.downsample != "none" and self.bin_s * fs < 1:
            raise ValueError(f"bin_s {self.bin_s!r} s is shorter than one sample at {fs:g} Hz")
        if self.envelope == "rms" and self.rms_window_s * fs < 1:
            raise ValueError(f"rms_window_s {self.rms_window_s!r} s is shorter than one sample at {fs:g} Hz")


def _inserted_step(entry) -> dict:
    if not isinstance(entry, Mapping) or not {"after", "step"} <= set(entry) or set(entry) - {"after", "step", "options"}:
        raise ValueError(f"preprocess option insert_steps: entry {entry!r} must be "
                         "{after: <step name>, step: 'package.module:callable', options: {...}}")
    if ":" not in str(entry["step"]):
        raise ValueError(f"preprocess option insert_steps: step {entry['step']!r} must be 'package.module:callable'")
    if not isinstance(entry.get("options") or {}, Mapping):
        raise ValueError(f"preprocess option insert_steps: options of {entry['step']!r} must be a mapping")
    return {"after": str(entry["after"]), "step": str(entry["step"]), "options": dict(entry.get("options") or {})}


def _show(value) -> str:
    return "none" if value is None else str(value)


def _sequence(name: str, value) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"preprocess option {name}={value!r} must be a list")
    return tuple(value)


def _positive(name: str, value, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        allowed = "a positive number or null" if optional else "a positive number"
        raise ValueError(f"preprocess option {name}={value!r} must be {allowed}")
    return float(value)


def _integer(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value != int(value) or value < minimum:
        raise ValueError(f"preprocess option {name}={value!r} must be an integer ≥ {minimum}")
    return int(value)
