"""A simulated reaching cohort with known muscle synergies (the book's default dataset).

The paper's recordings are not public, so the book runs on a cohort with the
paper's design and a generative model whose truth is known:

* **Design** (the paper's): 15 participants ``P01``–``P15``, the 16 upper-limb
  muscles of the authors' group (:data:`MUSCLES`), 9 targets in each of 5
  vertical planes, 10 repetitions (450 trials per participant), raw EMG at 1 kHz.
  The geometry below is ours (the paper does not publish it): the planes pass
  through the shoulder at azimuths −60°, −30°, 0°, +30°, +60° (negative =
  across the body, 0 = straight ahead, positive = lateral; x lateral, y forward,
  z up, metres, origin at the shoulder); the targets in each plane form a 3 × 3
  grid (horizontal distance 0.30/0.45/0.60 m × height −0.20/+0.05/+0.30 m;
  target 1 is low and near, 9 is high and far); every reach starts at rest with
  the hand at :data:`START_POSITION`.
* **Synergies**: :data:`TEMPLATE_SYNERGIES`, five spatial synergies (anterior
  shoulder, lateral shoulder, posterior shoulder and scapula, elbow extensors,
  elbow flexors and forearm) shared by the cohort; each participant's weights
  are the template times log-normal factors (σ = ``synergy_variability``) plus a
  small positive floor, rows rescaled to unit norm.
* **Activations**: each synergy is tuned to a movement feature *f* in [−1, 1]:
  the three shoulder synergies to the cosine between the reach direction *u*
  and their preferred direction *d_j* (individually rotated by ≈ 9°),
  ``f = u·d_j``; the elbow extensors to the extension of the arm (the change of
  the hand's distance from the shoulder, ±0.2 m → ±1) and the elbow flexors to
  its flexion (the opposite). The tuning curve is ``g = ((1 + f) / 2)²``.
  Bell-shaped synergies (the elbow ones) fire one burst over the movement;
  biphasic ones (the shoulder ones) fire an accelerating burst for reaches
  towards *d_j* and a decelerating (braking) burst, ``dec_ratio`` as large,
  ``((1 - f) / 2)²``, for reaches away from it. Each burst has the minimum-jerk velocity shape
  ``16 x² (1 - x)²`` on its support and leads the movement slightly. Amplitudes
  grow with the square root of the reach distance. Trial-to-trial variability:
  log-normal amplitude (σ = ``amplitude_variability``), burst timing
  (σ = 0.03 of the movement time) and width (σ = 0.08, log-normal), movement
  duration (0.8–1.2 s, longer for longer reaches, participant-specific speed).
* **Tonic (anti-gravity) part**: a posture-dependent muscle pattern whose size
  follows the gravitational moment arm (horizontal distance of the hand from the
  shoulder) and whose composition blends a medial, a forward and a lateral
  pattern by the hand's azimuth, plus scapular upward rotation for raised
  hands, over a floor of 4 µV in every muscle. Between the start and end postures it follows the minimum-jerk position
  profile ``10 s³ - 15 s⁴ + 6 s⁵``, so the group's linear-ramp tonic removal is a
  close but not exact model of it, as on real data.
* **Mixing**: ``linear``: ``phasic = activations @ synergies``;
  ``nonlinear``: each muscle has a sigmoid-like input–output curve,
  ``phasic_m = s_m tanh(max(0, drive_m - θ_m) / s_m)`` with
  ``drive = activations @ synergies``, a recruitment threshold
  ``θ_m = threshold × n_m × LogN(0, 0.3)`` and a saturation level
  ``s_m = saturation × n_m × LogN(0, 0.5)``, ``n_m = Σ_j α_j W_jm`` being the
  muscle's nominal drive. Both are physiological — no EMG until the first motor
  units are recruited, and output levels off as the pool reaches full
  recruitment and rate — and differ between muscles (pool size, fibre types).
  Synergies sharing a muscle then interact: their combined output is not the
  sum of their separate outputs. ``envelope = tonic + phasic`` in both modes.
* **Raw EMG**: ``emg = envelope × carrier + measurement noise + DC offset``, the
  carrier being Gaussian noise band-limited to 20–450 Hz (zero-phase 2nd-order
  Butterworth shape, applied in the frequency domain), scaled so that
  E|carrier| = 1: rectifying and low-pass filtering the raw EMG gives back the
  envelope. Measurement noise is white Gaussian (``measurement_noise`` mV RMS);
  the DC offset is drawn per trial and muscle (σ = 0.02 mV).

Every participant has its own random streams, derived from ``(seed, participant
number)``, so one participant can be generated alone and identically, and the
cohort is generated lazily, one participant at a time. The truth of each trial
(``envelope``, ``phasic``, ``activations``) is computed on access from the
trial's parameters, so it costs no memory until it is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np
import pandas as pd
import scipy.fft

from synlib.io import Dataset, Trial, check_sampling_rate

MUSCLES: tuple[str, ...] = (
    "ES", "TMaj", "Infra", "TrapLow", "TrapMid", "TrapUp", "DeltA", "DeltM",
    "DeltP", "PecMaj", "TriLong", "TriLat", "BicLong", "BicShort", "PronTer", "BrRad",
)
MUSCLE_NAMES: dict[str, str] = dict(zip(MUSCLES, (
    "erector spinae", "teres major", "infraspinatus", "lower trapezius",
    "middle trapezius", "upper trapezius", "anterior deltoid", "middle deltoid",
    "posterior deltoid", "pectoralis major", "triceps brachii, long head",
    "triceps brachii, lateral head", "biceps brachii, long head",
    "biceps brachii, short head", "pronator teres", "brachioradialis",
)))

SYNERGY_NAMES: tuple[str, ...] = (
    "anterior shoulder", "lateral shoulder", "posterior shoulder",
    "elbow extensors", "elbow flexors",
)
_M = {name: i for i, name in enumerate(MUSCLES)}


def _pattern(**weights: float) -> np.ndarray:
    row = np.zeros(len(MUSCLES))
    for muscle, weight in weights.items():
        row[_M[muscle]] = weight
    return row


def _unit_rows(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


TEMPLATE_SYNERGIES: np.ndarray = _unit_rows(np.array([
    _pattern(DeltA=1.0, PecMaj=0.6, BicLong=0.5, TrapUp=0.3, BicShort=0.25, DeltM=0.2, ES=0.15),
    _pattern(DeltM=1.0, TrapUp=0.7, Infra=0.5, DeltA=0.3, TrapMid=0.3, DeltP=0.2),
    _pattern(DeltP=1.0, TrapMid=0.6, TMaj=0.6, TriLong=0.6, TrapLow=0.5, Infra=0.4, ES=0.3),
    _pattern(TriLat=1.0, TriLong=0.7, PronTer=0.4, DeltP=0.15),
    _pattern(BicShort=1.0, BrRad=0.9, BicLong=0.8, PronTer=0.5, DeltA=0.2),
]))
"""Cohort template, k × muscles with unit-norm rows (rows: :data:`SYNERGY_NAMES`)."""

TEMPLATE_DIRECTIONS: np.ndarray = _unit_rows(np.array([
    [-0.4, 0.7, 0.6],     # forward, across the body and up
    [0.9, 0.0, 0.45],     # lateral and up
    [0.2, -0.5, -0.84],   # backward and down: brakes most reaches
    [0.0, 0.95, -0.3],    # (elbow synergies are tuned to extension/flexion instead)
    [-0.5, 0.1, 0.86],
]))
"""Preferred reach direction of each template synergy (x lateral, y forward, z up)."""

ELBOW_TUNING: np.ndarray = np.array([0, 0, 0, 1, -1])
"""+1: tuned to elbow extension (hand moves away from the shoulder), -1: to flexion, 0: to direction."""

BIPHASIC: np.ndarray = np.array([True, True, True, False, False])
"""Which synergies fire accelerating and decelerating bursts (the others one bell)."""

SYNERGY_AMPLITUDE_MV: np.ndarray = np.array([0.30, 0.25, 0.20, 0.25, 0.25])

TONIC_PATTERNS: dict[str, np.ndarray] = {
    "medial": _pattern(ES=0.5, PecMaj=1.0, DeltA=0.8, BicShort=0.3, BicLong=0.3, TrapUp=0.3),
    "forward": _pattern(ES=0.5, DeltA=1.0, PecMaj=0.5, DeltM=0.4, TrapUp=0.4, BicLong=0.3,
                        TrapMid=0.2, Infra=0.2),
    "lateral": _pattern(ES=0.5, DeltM=1.0, TrapUp=0.8, Infra=0.5, TrapMid=0.4, DeltA=0.3, DeltP=0.3),
    "raised": _pattern(TrapUp=1.0, TrapLow=0.6, DeltM=0.3, ES=0.2),
}
"""Anti-gravity muscle patterns (medial/forward/lateral hands, scapular rotation when raised)."""
_TONIC_AZIMUTHS = np.array([-60.0, 0.0, 60.0])
TONIC_LEVEL_MV = 0.05
TONIC_FLOOR_MV = 0.004

PLANE_AZIMUTHS_DEG: tuple[float, ...] = (-60.0, -30.0, 0.0, 30.0, 60.0)
PLANES: tuple[str, ...] = tuple(f"az{a:+.0f}" for a in PLANE_AZIMUTHS_DEG)
TARGET_DISTANCES_M: tuple[float, ...] = (0.30, 0.45, 0.60)
TARGET_HEIGHTS_M: tuple[float, ...] = (-0.20, 0.05, 0.30)
START_POSITION: np.ndarray = np.array([0.05, 0.20, -0.45])
"""Hand at rest before every reach (m from the shoulder)."""

# Burst supports in units of movement time (0 = onset, 1 = offset): bursts lead
# the movement a little and end before the tonic-removal windows start.
_BELL_SUPPORT = (-0.10, 1.00)
_ACC_SUPPORT = (-0.12, 0.55)
_DEC_SUPPORT = (0.40, 1.05)
_SUPPORT_LIMITS = (-0.15, 1.10)
_NOISE_CHUNK_TRIALS = 50
_DC_OFFSET_MV = 0.02
MIXINGS = ("linear", "nonlinear")


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of the simulated cohort (defaults: the paper's design, our model).

    Parameters
    ----------
    n_participants : int
        Number of participants, named ``P01``, ``P02``, ...
    n_repetitions : int
        Repetitions of each of the 45 conditions.
    mixing : {"linear", "nonlinear"}
        How synergies combine into muscle envelopes (see the module docstring).
    seed : int
        Seed of every random draw; participant *i* uses the streams ``(seed, i)``.
    fs : float
        Sampling rate of the raw EMG in Hz.
    saturation : float
        Non-linear mode: typical saturation level of a muscle, as a fraction of
        its nominal drive (smaller = stronger non-linearity).
    threshold : float
        Non-linear mode: typical recruitment threshold of a muscle, as a fraction
        of its nominal drive.
    synergy_variability : float
        σ of the log-normal factors that individualise the synergy weights.
    amplitude_variability : float
        σ of the log-normal trial-to-trial factor on each burst's amplitude.
    measurement_noise : float
        RMS of the white measurement noise in mV.
    dec_ratio : float
        Size of a biphasic synergy's decelerating burst relative to its accelerating one.
    """

    n_participants: int = 15
    n_repetitions: int = 10
    mixing: str = "linear"
    seed: int = 0
    fs: float = 1000.0
    saturation: float = 0.4
    threshold: float = 0.15
    synergy_variability: float = 0.25
    amplitude_variability: float = 0.2
    measurement_noise: float = 0.005
    dec_ratio: float = 0.7

    def __post_init__(self) -> None:
        if self.mixing not in MIXINGS:
            raise ValueError(f"mixing={self.mixing!r} is not known; use one of {', '.join(MIXINGS)}")
        for name in ("n_participants", "n_repetitions"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed={self.seed!r} must be a non-negative integer")
        for name in ("saturation", "dec_ratio"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be positive")
        for name in ("synergy_variability", "amplitude_variability", "measurement_noise", "threshold"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be zero or positive")
        check_sampling_rate(self.fs, 450.0, "the simulated cohort (raw EMG band 20–450 Hz)")

    @property
    def participants(self) -> list[str]:
        return [participant_id(i) for i in range(self.n_participants)]


def participant_id(index: int) -> str:
    """Identifier of the participant at 0-based ``index`` (``0 -> "P01"``)."""
    return f"P{index + 1:02d}"


def _participant_index(participant: str) -> int:
    try:
        return int(participant.lstrip("P")) - 1
    except ValueError:
        raise KeyError(f"{participant!r} is not a simulated participant id such as 'P01'") from None


def _rng(seed: int, index: int, stream: int, bit_generator=np.random.PCG64) -> np.random.Generator:
    return np.random.Generator(bit_generator(np.random.SeedSequence(seed, spawn_key=(index, stream))))


def target_positions() -> pd.DataFrame:
    """The 45 conditions: plane, azimuth, target number and hand position (m).

    Examples
    --------
    >>> table = target_positions()
    >>> table.shape[0], int(table["target"].max())
    (45, 9)
    """
    rows = []
    for plane, azimuth in zip(PLANES, PLANE_AZIMUTHS_DEG):
        phi = np.deg2rad(azimuth)
        target = 1
        for height in TARGET_HEIGHTS_M:
            for distance in TARGET_DISTANCES_M:
                rows.append({"plane": plane, "azimuth_deg": azimuth, "target": target,
                             "x": distance * np.sin(phi), "y": distance * np.cos(phi), "z": height})
                target += 1
    return pd.DataFrame(rows)


def _tonic_pattern(position: np.ndarray) -> np.ndarray:
    """Anti-gravity pattern (mV) of each muscle while holding the hand at ``position`` (…, 3)."""
    position = np.atleast_2d(position)
    horizontal = np.hypot(position[:, 0], position[:, 1])
    azimuth = np.rad2deg(np.arctan2(position[:, 0], position[:, 1]))
    anchors = np.stack([TONIC_PATTERNS["medial"], TONIC_PATTERNS["forward"], TONIC_PATTERNS["lateral"]])
    blend = np.stack([np.interp(azimuth, _TONIC_AZIMUTHS, np.eye(3)[i]) for i in range(3)], axis=1)
    moment = 0.2 + horizontal / 0.65
    raised = np.clip((position[:, 2] + 0.25) / 0.55, 0.0, 1.0)
    pattern = moment[:, None] * (blend @ anchors) + raised[:, None] * TONIC_PATTERNS["raised"]
    return TONIC_FLOOR_MV + TONIC_LEVEL_MV * pattern


@dataclass(frozen=True)
class ParticipantModel:
    """One participant's synergies, tuning and tonic patterns (all drawn from the seed)."""

    participant: str
    synergies: np.ndarray          # k × muscles, unit-norm rows
    directions: np.ndarray         # k × 3 preferred directions
    amplitudes: np.ndarray         # k, mV
    tonic_scale: np.ndarray        # muscles, individual factor on the tonic patterns
    speed: float                   # factor on movement duration
    saturation_level: np.ndarray   # muscles, mV (non-linear mixing)
    threshold_level: np.ndarray    # muscles, mV (non-linear mixing)


def participant_model(config: SimulationConfig, participant: str) -> ParticipantModel:
    """The individual synergies and tuning of ``participant`` (no trials, no noise).

    Examples
    --------
    >>> model = participant_model(SimulationConfig(), "P01")
    >>> model.synergies.shape
    (5, 16)
    """
    index = _participant_index(participant)
    rng = _rng(config.seed, index, 0)
    k, m = TEMPLATE_SYNERGIES.shape
    weights = TEMPLATE_SYNERGIES * rng.lognormal(0.0, config.synergy_variability, (k, m))
    weights += 0.03 * rng.random((k, m))
    synergies = _unit_rows(weights)
    directions = _unit_rows(TEMPLATE_DIRECTIONS + rng.normal(0.0, 0.15, (k, 3)))
    amplitudes = SYNERGY_AMPLITUDE_MV * rng.lognormal(0.0, 0.15, k)
    tonic_scale = rng.lognormal(0.0, 0.2, m)
    speed = float(rng.lognormal(0.0, 0.06))
    nominal_drive = amplitudes @ synergies
    saturation_level = config.saturation * nominal_drive * rng.lognormal(0.0, 0.5, m)
    threshold_level = config.threshold * nominal_drive * rng.lognormal(0.0, 0.3, m)
    return ParticipantModel(participant, synergies, directions, amplitudes, tonic_scale, speed,
                            saturation_level, threshold_level)


def _tuning_feature(direction: np.ndarray, end: np.ndarray, preferred: np.ndarray) -> np.ndarray:
    """What each synergy is tuned to, in [-1, 1] (trials × k).

    Shoulder synergies: the cosine between the reach direction and their
    preferred direction. Elbow synergies: the change of the hand's distance from
    the shoulder (±0.2 m → ±1), positive for the extensors when the arm extends
    and for the flexors when it flexes.
    """
    cosine = direction @ preferred.T
    radial = np.clip((np.linalg.norm(end, axis=1) - np.linalg.norm(START_POSITION)) / 0.2, -1.0, 1.0)
    return np.where(ELBOW_TUNING == 0, cosine, ELBOW_TUNING * radial[:, None])


def _trial_design(config: SimulationConfig, model: ParticipantModel) -> tuple[pd.DataFrame, dict]:
    """Trial table (condition, timing) and per-trial arrays (bursts, postures, DC offsets)."""
    index = _participant_index(model.participant)
    rng = _rng(config.seed, index, 1)
    targets = target_positions()
    design = targets.loc[targets.index.repeat(config.n_repetitions)].reset_index(drop=True)
    design["repetition"] = np.tile(np.arange(1, config.n_repetitions + 1), len(targets))
    n = len(design)
    k, m = model.synergies.shape

    end = design[["x", "y", "z"]].to_numpy()
    reach = end - START_POSITION
    distance = np.linalg.norm(reach, axis=1)
    direction = reach / distance[:, None]
    duration = np.clip(model.speed * (0.75 + 0.5 * distance) * rng.lognormal(0.0, 0.06, n), 0.8, 1.2)
    rest_before = rng.uniform(0.65, 0.9, n)
    rest_after = rng.uniform(0.65, 0.9, n)

    feature = _tuning_feature(direction, end, model.directions)             # n × k, in [-1, 1]
    size = model.amplitudes * np.sqrt(distance / 0.5)[:, None]
    acc_gain = ((1.0 + feature) / 2.0) ** 2
    dec_gain = np.where(BIPHASIC, config.dec_ratio * ((1.0 - feature) / 2.0) ** 2, 0.0)
    amplitude = np.stack([size * acc_gain, size * dec_gain], axis=2)          # n × k × 2
    amplitude *= rng.lognormal(0.0, config.amplitude_variability, amplitude.shape)

    nominal = np.array([[_ACC_SUPPORT if b else _BELL_SUPPORT, _DEC_SUPPORT] for b in BIPHASIC])
    centre = nominal.mean(axis=2) + rng.normal(0.0, 0.03, (n, k, 2))
    half_width = np.diff(nominal, axis=2)[..., 0] / 2 * rng.lognormal(0.0, 0.08, (n, k, 2))
    support = np.clip(np.stack([centre - half_width, centre + half_width], axis=3), *_SUPPORT_LIMITS)

    design["condition"] = design["plane"] + "-T" + design["target"].astype(str)
    design["trial"] = design["condition"] + "-R" + design["repetition"].map("{:02d}".format)
    design["participant"] = model.participant
    design["distance_m"] = distance
    design["onset"] = rest_before
    design["offset"] = rest_before + duration
    design["n_samples"] = np.round((rest_before + duration + rest_after) * config.fs).astype(int)
    arrays = {"amplitude": amplitude, "support": support,
              "start_tonic": _tonic_pattern(START_POSITION)[0] * model.tonic_scale,
              "end_tonic": _tonic_pattern(end) * model.tonic_scale,
              "dc": rng.normal(0.0, _DC_OFFSET_MV, (n, m))}
    return design, arrays


def _bursts(tau: np.ndarray, amplitude: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Activations (samples × k): minimum-jerk-velocity bursts ``16 x² (1 - x)²`` on their supports.

    ``tau`` is increasing (time in units of movement time), so each burst only
    touches the samples between its support's ends.
    """
    activations = np.zeros((tau.size, amplitude.shape[0]))
    for j, burst in zip(*np.nonzero(amplitude)):
        start, end = support[j, burst]
        first, last = np.searchsorted(tau, (start, end))
        x = (tau[first:last] - start) / (end - start)
        activations[first:last, j] += amplitude[j, burst] * 16.0 * x**2 * (1.0 - x) ** 2
    return activations


def _mix(activations: np.ndarray, model: ParticipantModel, mixing: str) -> np.ndarray:
    drive = activations @ model.synergies
    if mixing == "linear":
        return drive
    level = model.saturation_level
    return level * np.tanh(np.maximum(drive - model.threshold_level, 0.0) / level)


@dataclass(frozen=True)
class _TrialRecipe:
    """Everything needed to recompute one trial's noiseless signals."""

    n_samples: int
    fs: float
    onset: float
    duration: float
    amplitude: np.ndarray      # k × 2
    support: np.ndarray        # k × 2 × 2
    start_tonic: np.ndarray    # muscles
    end_tonic: np.ndarray      # muscles
    model: ParticipantModel
    mixing: str

    def signals(self) -> dict[str, np.ndarray]:
        tau = (np.arange(self.n_samples) / self.fs - self.onset) / self.duration
        activations = _bursts(tau, self.amplitude, self.support)
        phasic = _mix(activations, self.model, self.mixing)
        s = np.clip(tau, 0.0, 1.0)
        progress = 10 * s**3 - 15 * s**4 + 6 * s**5
        tonic = self.start_tonic + progress[:, None] * (self.end_tonic - self.start_tonic)
        return {"envelope": tonic + phasic, "phasic": phasic, "activations": activations}


class SimulatedTruth(Mapping):
    """A trial's ground truth, computed on access (``envelope``, ``phasic``, ``activations``).

    Recomputing costs well under a millisecond per trial and keeps a cohort's
    truth out of memory until a chapter reads it.
    """

    _KEYS = ("envelope", "phasic", "activations")

    def __init__(self, recipe: _TrialRecipe) -> None:
        self._recipe = recipe

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._KEYS:
            raise KeyError(f"simulated truth has {', '.join(self._KEYS)}, not {key!r}")
        value = self._recipe.signals()[key]
        value.flags.writeable = False
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)


def _carrier_gain(n_fft: int, fs: float) -> np.ndarray:
    """Zero-phase band-pass (20–450 Hz, 2nd-order Butterworth shape), unit output variance."""
    f = scipy.fft.rfftfreq(n_fft, 1.0 / fs)
    with np.errstate(divide="ignore"):
        gain = 1.0 / np.sqrt((1.0 + (f / 450.0) ** 4) * (1.0 + (20.0 / f) ** 4))
    gain[0] = 0.0
    power = gain**2
    two_sided = power[0] + 2 * power[1:].sum() - (power[-1] if n_fft % 2 == 0 else 0.0)
    # Unit variance, then E|carrier| = 1 so that rectifying recovers the envelope.
    return (gain / np.sqrt(two_sided / n_fft) * np.sqrt(np.pi / 2)).astype(np.float32)


def _participant_trials(config: SimulationConfig, participant: str) -> list[Trial]:
    model = participant_model(config, participant)
    design, extra = _trial_design(config, model)
    onsets = design["onset"].to_numpy()
    durations = design["offset"].to_numpy() - onsets
    metas = design[list(_META_COLUMNS)].to_dict("records")
    n_samples = design["n_samples"].to_numpy()
    m = len(MUSCLES)

    noise_rng = _rng(config.seed, _participant_index(participant), 2, np.random.SFC64)
    emg = np.empty((int(n_samples.sum()), m))
    starts = np.concatenate([[0], np.cumsum(n_samples)])
    trials = []
    for first in range(0, len(design), _NOISE_CHUNK_TRIALS):
        chunk = range(first, min(first + _NOISE_CHUNK_TRIALS, len(design)))
        stream = slice(starts[chunk.start], starts[chunk.stop])
        length = stream.stop - stream.start
        # One band-limited stream per chunk of consecutive trials (time on the last
        # axis so that the FFT runs over contiguous memory); it wraps around only
        # at the chunk's ends, which fall between trials.
        # The spectrum of white noise is drawn directly (complex Gaussian, the
        # variance of rfft(white)), which saves the forward transform.
        n_fft = scipy.fft.next_fast_len(length, real=True)
        spectrum = noise_rng.standard_normal((m, n_fft // 2 + 1, 2), dtype=np.float32).view(np.complex64)[..., 0]
        spectrum *= np.float32(np.sqrt(n_fft / 2)) * _carrier_gain(n_fft, config.fs)
        carrier = scipy.fft.irfft(spectrum, n=n_fft)[:, :length].T
        measurement = noise_rng.standard_normal((length, m), dtype=np.float32)
        for i in chunk:
            n = int(n_samples[i])
            recipe = _TrialRecipe(
                n_samples=n, fs=config.fs, onset=float(onsets[i]),
                duration=float(durations[i]), amplitude=extra["amplitude"][i],
                support=extra["support"][i], start_tonic=extra["start_tonic"],
                end_tonic=extra["end_tonic"][i], model=model, mixing=config.mixing)
            envelope = recipe.signals()["envelope"]
            local = slice(starts[i] - stream.start, starts[i + 1] - stream.start)
            out = emg[starts[i]:starts[i + 1]]
            np.multiply(envelope, carrier[local], out=out)
            out += config.measurement_noise * measurement[local]
            out += extra["dc"][i]
            out.flags.writeable = False
            trials.append(Trial(emg=out, meta=_plain(metas[i]), source=f"simulated cohort, seed {config.seed}",
                                truth=SimulatedTruth(recipe)))
    return trials


_META_COLUMNS = ("participant", "trial", "condition", "target", "plane", "repetition", "onset",
                 "offset", "azimuth_deg", "distance_m")


def _plain(meta: dict) -> dict:
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in meta.items()}


def trial_table(config: SimulationConfig, participant: str) -> pd.DataFrame:
    """The trial table of ``participant`` without generating any signal."""
    design, _ = _trial_design(config, participant_model(config, participant))
    table = design[list(_META_COLUMNS) + ["n_samples"]].copy()
    table["source"] = f"simulated cohort, seed {config.seed}"
    return table


def simulate_cohort(n_participants: int = 15, mixing: str = "linear", seed: int = 0,
                    n_repetitions: int = 10, **options) -> Dataset:
    """The simulated reaching cohort as a lazy :class:`~synlib.io.Dataset` with ground truth.

    Parameters
    ----------
    n_participants, mixing, seed, n_repetitions, **options
        See :class:`SimulationConfig`.

    Returns
    -------
    Dataset
        Trials are generated when ``dataset.trials(participant)`` is called;
        ``dataset.truth_synergies(participant)`` gives the k × muscles truth.

    Examples
    --------
    >>> cohort = simulate_cohort(n_participants=2, n_repetitions=1)
    >>> cohort.participants, cohort.fs, len(cohort.muscles)
    (['P01', 'P02'], 1000.0, 16)
    >>> trials = cohort.trials("P02")
    >>> len(trials), trials[0].truth["activations"].shape[1]
    (45, 5)
    """
    config = SimulationConfig(n_participants=n_participants, mixing=mixing, seed=seed,
                              n_repetitions=n_repetitions, **options)
    return Dataset(
        name="simulated" if mixing == "linear" else f"simulated-{mixing}",
        fs=config.fs,
        muscles=MUSCLES,
        participants=config.participants,
        load_participant=lambda participant: _participant_trials(config, participant),
        info=_info(config),
        truth_synergies=lambda participant: participant_model(config, participant).synergies,
        trial_metadata=lambda participant: trial_table(config, participant),
    )


def _info(config: SimulationConfig) -> dict:
    return {
        "description": (
            f"Simulated reaching cohort ({config.mixing} mixing): 16 upper-limb muscles, 9 targets × 5 planes "
            f"× {config.n_repetitions} repetitions per participant, raw EMG at {config.fs:g} Hz with known "
            "synergies, activations and envelopes (synlib.simulate)."),
        "units": "mV",
        "licence": "CC0-1.0 (generated by synlib)",
        "citation": ("Design after Brambilla C, Moscatelli N, Lanzani V, Molinari Tosatti L, "
                     "Brusaferri A, Scano A (2025) Front. Hum. Neurosci. 19, "
                     "doi:10.3389/fnhum.2025.1699799; generative model: synlib.simulate."),
        "muscle_names": dict(MUSCLE_NAMES),
        "synergy_names": list(SYNERGY_NAMES),
        "k_true": int(TEMPLATE_SYNERGIES.shape[0]),
        "planes": list(PLANES),
        "targets": [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
                    for row in target_positions().to_dict("records")],
        "start_position": START_POSITION.tolist(),
        "config": asdict(config),
    }


def rescale_synergies(synergies: np.ndarray, muscle_scale: np.ndarray) -> np.ndarray:
    """True synergies as they appear after dividing each muscle by ``muscle_scale``.

    Preprocessing normalises each muscle (e.g. by its maximum); the synergies an
    extractor can find in the normalised data are the true ones with each
    column divided by that muscle's factor, rows rescaled to unit norm.

    Examples
    --------
    >>> w = np.array([[1.0, 1.0]])
    >>> rescale_synergies(w, np.array([1.0, 2.0])).round(3)
    array([[0.894, 0.447]])
    """
    scaled = np.asarray(synergies, float) / np.asarray(muscle_scale, float)
    return _unit_rows(scaled)
