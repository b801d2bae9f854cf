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
from dataclasses import dataclass
from typing import Any, Mapping

from synlib import declared
from synlib.declared import choice, flag, fraction, integer, mapping, names, option, points, positive, window

GROUP, OURS, R_PACKAGE = "authors' group", "ours", "off; a musclesyneRgies step (its preset)"

_HEADER = """Every preprocessing choice, with the authors' group's values as defaults.

Each field is declared once (:func:`synlib.declared.option`): its check, default, whose choice the
default is and what it does; the list below and the book's table of choices are written from
those declarations."""

_EXAMPLES = """Examples
--------
>>> config = PreprocessConfig.from_dict({"lowpass_hz": 10})
>>> config.lowpass_hz, config.bin_s
(10.0, 0.01)
>>> PreprocessConfig.from_dict({"preset": "musclesyneRgies"}).time_points
(100, 100)"""


def _inserted_step(entry) -> dict:
    if not isinstance(entry, Mapping) or not {"after", "step"} <= set(entry) or set(entry) - {"after", "step", "options"}:
        raise ValueError(f"preprocess option insert_steps: entry {entry!r} must be "
                         "{after: <step name>, step: 'package.module:callable', options: {...}}")
    if ":" not in str(entry["step"]):
        raise ValueError(f"preprocess option insert_steps: step {entry['step']!r} must be 'package.module:callable'")
    if not isinstance(entry.get("options") or {}, Mapping):
        raise ValueError(f"preprocess option insert_steps: options of {entry['step']!r} must be a mapping")
    return {"after": str(entry["after"]), "step": str(entry["step"]), "options": dict(entry.get("options") or {})}


@declared.documented(_HEADER, _EXAMPLES)
@dataclass(frozen=True)
class PreprocessConfig:
    demean: bool = option(True, flag(), OURS, "Subtract each muscle's mean from the raw EMG.")
    highpass_hz: float | None = option(
        20.0, positive(optional=True), OURS,
        "High-pass cut-off before rectification (Hz): DC offset and motion artefact. ``None`` skips the filter.")
    band_upper_hz: float | None = option(
        None, positive(optional=True), OURS,
        "Upper band edge (Hz); with ``highpass_hz`` it makes the filter a band-pass.")
    filter_type: str = option("butterworth", choice("butterworth", "fir"), OURS,
                              "Design of the pre-rectification filter.")
    filter_order: int = option(4, integer(1), OURS,
                               "Butterworth order of the pre-rectification filter (each pass).")
    fir_numtaps: int = option(201, integer(1), OURS, "Taps of the FIR design (made odd).")
    zero_phase: str = option(
        "scipy", choice("scipy", "r-signal"), OURS,
        "How filters run forwards and backwards (scipy or R signal's filtfilt). With ``scipy``, ``sosfiltfilt`` "
        "pads by reflection; the R ``signal`` package's ``filtfilt``, which musclesyneRgies uses, pads "
        "with zeros at the end.")
    rectify: str = option("fullwave", choice("fullwave", "halfwave", "none"), GROUP, "Rectification.")
    envelope: str = option("lowpass", choice("lowpass", "rms"), GROUP,
                           "Envelope by zero-phase low-pass of the rectified signal, or moving RMS.")
    lowpass_hz: float = option(20.0, positive(), GROUP, "Envelope low-pass cut-off (Hz).")
    lowpass_order: int = option(4, integer(1), OURS,
                                "Envelope low-pass Butterworth order. musclesyneRgies uses 4 too.")
    rms_window_s: float = option(0.05, positive(), OURS, "Moving-RMS window (s), when ``envelope='rms'``.")
    floor_nonpositive: bool = option(False, flag(), R_PACKAGE,
                                     "Replace envelope values ≤ 0 by the trial's smallest positive value.")
    subtract_min: bool = option(False, flag(), R_PACKAGE, "Subtract each muscle's minimum over the trial.")
    downsample: str = option(
        "bin", choice("bin", "resample", "none"), GROUP,
        "Average into bins of ``bin_s``, resample to ``1 / bin_s`` Hz, or keep the raw rate.")
    bin_s: float = option(0.01, positive(), GROUP, "Bin width / new sample period (s).")
    segmentation: str = option(
        "auto", choice("auto", "speed", "onset_offset", "threshold", "events", "whole"), OURS,
        "Movements from hand speed, else known onset/offset, else an envelope threshold. ``speed`` "
        "detects onset and offset from the trial's recorded hand speed (``Trial.kinematics['hand_speed']``, "
        "the group's rule: ``speed_fraction`` of its peak); ``auto`` does so when the trial has a hand "
        "speed, else uses the trial's ``onset``/``offset`` when both are known, else an envelope "
        "threshold; ``events`` cuts cycles from ``cycle_events``; ``whole`` keeps the whole trial as one "
        "movement.")
    speed_fraction: float = option(
        0.10, fraction(), GROUP,
        "Speed segmentation: onset and offset where hand speed crosses this fraction of its peak. The "
        "movement runs from the last time before the peak to the first time after it that hand speed is "
        "at this fraction of its peak.")
    threshold_fraction: float = option(
        0.25, fraction(), OURS,
        "Threshold segmentation: fraction of the way from baseline to peak. Active when the "
        "muscle-averaged envelope (each muscle scaled to its trial range) exceeds its 5th percentile by "
        "this fraction of the distance to its peak.")
    threshold_min_s: float = option(0.2, positive(), OURS,
                                    "Threshold segmentation: shortest active stretch (s).")
    cycle_events: tuple[str, ...] | None = option(
        None, names(), R_PACKAGE,
        "Events splitting a cycle into phases (``segmentation='events'``), in order, e.g. "
        "``['touchdown', 'liftoff']``; a cycle runs from one first event to the next.")
    phase_names: tuple[str, ...] | None = option(
        None, names(), R_PACKAGE, "Names of the cycle phases. Default: ``'<event>-<next event>'``.")
    drop_cycles_start: int = option(0, integer(0), R_PACKAGE,
                                    "Complete cycles dropped at the start of a trial (filter edge effects).")
    drop_cycles_end: int = option(0, integer(0), R_PACKAGE, "Complete cycles dropped at the end of a trial.")
    max_cycles: int | None = option(None, integer(1, optional=True), R_PACKAGE,
                                    "Cycles kept per trial (after dropping).")
    tonic: str = option("ramp", choice("ramp", "none"), GROUP, "Tonic (anti-gravity) removal by a linear ramp.")
    tonic_pre_s: tuple[float, float] = option((-0.4, -0.2), window(), GROUP,
                                              "Window before onset whose mean starts the ramp (s).")
    tonic_post_s: tuple[float, float] = option((0.2, 0.4), window(), GROUP,
                                               "Window after offset whose mean ends the ramp (s).")
    clip_negative: bool = option(
        True, flag(), GROUP,
        "Set negative values to zero (after tonic removal, or of the envelope without it). Without "
        "tonic removal the envelope's own negative values (low-pass ringing) are set to zero (ours).")
    time_points: int | tuple[int, ...] = option(100, points(2), GROUP,
                                                "Samples per movement (or per phase, one number each).")
    amplitude_norm: str = option(
        "participant_max", choice("participant_max", "trial_max", "reference", "none"), GROUP,
        "Divide each muscle by its maximum over the participant's trials. ``trial_max`` divides by its "
        "maximum over the continuous trial, ``reference`` by ``reference[muscle]``.")
    reference: Mapping[str, float] | None = option(
        None, mapping(), OURS, "Muscle → reference (e.g. MVC) value for ``amplitude_norm='reference'``.",
        hash=False)
    average_repetitions: bool = option(
        False, flag(), OURS,
        "Average the repetitions of each condition (off: every repetition kept). ``repetition`` becomes 0.")
    insert_steps: tuple[Mapping[str, Any], ...] = option(
        (), declared.entries(_inserted_step, "list of dict", "a list of {after, step, options}"), OURS,
        "A fork's own steps, each put after a named step (:mod:`synlib.preprocess.chain`). Each entry is "
        "``{'after': <step name>, 'step': 'package.module:callable', 'options': {...}}``; the callable, "
        "called with the options, returns the step.", hash=False)

    def __post_init__(self) -> None:
        declared.check_fields(self, "preprocess option")
        if self.band_upper_hz is not None:
            if self.highpass_hz is None:
                raise ValueError("preprocess option band_upper_hz needs highpass_hz (the lower band edge)")
            if self.band_upper_hz <= self.highpass_hz:
                raise ValueError(
                    f"band-pass edges highpass_hz={self.highpass_hz!r} and band_upper_hz="
                    f"{self.band_upper_hz!r} must be increasing"
                )
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

        default, about = PreprocessConfig().to_dict(), declared.about(PreprocessConfig)
        return pd.DataFrame([
            {"option": name, "value": _show(value), "default": _show(default[name]),
             "default is": about[name][0], "what it does": about[name][1]}
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



def _show(value) -> str:
    return "none" if value is None else str(value)
