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
  elbow flexors and forearm) shared by the cohort (largest pairwise cosine
  0.38); each participant's weights are the template times log-normal factors
  (σ = ``synergy_variability``) plus a small positive floor, rows rescaled to
  unit norm (largest cosine 0.45 on average); ``synergy_overlap`` then
  reshapes each participant's set to the largest pairwise cosine asked
  (:func:`with_overlap`). With ``k_range`` a participant may have fewer synergies (two
  template synergies merged into one, activated as a unit) or more (one split
  into two fractions on disjoint muscle sets, activated separately), as
  reported for development, training and stroke (Cheung et al. 2012, PNAS
  109:14652; Cheung et al. 2020, Nat. Commun. 11:4356).
* **Activations**: each synergy is tuned to a movement feature *f* in [−1, 1]:
  the three shoulder synergies to the cosine between the reach direction *u*
  and their preferred direction *d_j* (individually perturbed, σ =
  ``tuning_variability``, ≈ 9° by default), ``f = u·d_j``; the elbow extensors
  to the extension of the arm (the change of the hand's distance from the
  shoulder, ±0.2 m → ±1) and the elbow flexors to its flexion (the opposite).
  The tuning curve is ``g = ((1 + f) / 2)²``.
  Bell-shaped synergies (the elbow ones) fire one burst over the movement;
  biphasic ones (the shoulder ones) fire an accelerating burst for reaches
  towards *d_j* and a decelerating (braking) burst, ``dec_ratio`` as large,
  ``((1 - f) / 2)²``, for reaches away from it. Each burst has the minimum-jerk velocity shape
  ``16 x² (1 - x)²`` on its support and leads the movement slightly; by
  default the bursts end before the tonic-removal windows start, and
  ``burst_leak`` stretches them into those windows. Amplitudes
  grow with the square root of the reach distance. Trial-to-trial variability:
  log-normal amplitude (σ = ``amplitude_variability``), burst timing
  (σ = 0.03 of the movement time) and width (σ = 0.08, log-normal), movement
  duration (0.8–1.2 s, longer for longer reaches, participant-specific speed).
* **Muscle-specific activity** (``muscle_specific``, off by default): one
  burst per trial and muscle, independent of the synergies in size and timing,
  added to the muscle's output.
* **Tonic (anti-gravity) part**: a posture-dependent muscle pattern whose size
  follows the gravitational moment arm (horizontal distance of the hand from the
  shoulder) and whose composition blends a medial, a forward and a lateral
  pattern by the hand's azimuth, plus scapular upward rotation for raised
  hands, over a floor of 4 µV in every muscle. Between the start and end postures it follows the minimum-jerk position
  profile ``10 s³ - 15 s⁴ + 6 s⁵``, so the group's linear-ramp tonic removal is a
  close but not exact model of it, as on real data.
* **Mixing** (``mixing``), with ``drive = activations @ synergies`` and a
  common strength multiplier ``nonlinearity`` (0 gives the linear mode exactly,
  1 the default strength of each mode):

  - ``linear``: ``phasic = drive``.
  - ``nonlinear``: each muscle has a sigmoid-like input–output curve,
    ``phasic_m = s_m tanh(max(0, drive_m - θ_m) / s_m)``, a recruitment
    threshold ``θ_m = threshold × n_m × LogN(0, 0.3)`` and a saturation level
    ``s_m = saturation × n_m × LogN(0, 0.5)``, ``n_m = Σ_j α_j W_jm`` being the
    muscle's nominal drive (``nonlinearity`` multiplies θ and divides s).
    Both are physiological — no EMG until the first motor units are recruited,
    and output levels off as the pool reaches full recruitment and rate — and
    differ between muscles (pool size, fibre types). It is a monotone map per
    muscle of the summed drive.
  - ``multiplicative``: synergies sharing a muscle facilitate each other,
    ``phasic_m = Σ_j c_j W_jm (1 + γ Σ_{l≠j} (c_l / α_l) W_lm)``, with
    γ = ``interaction`` × ``nonlinearity`` and α_l the synergy's nominal
    amplitude: a product of synergies, which no per-muscle map of the summed
    drive represents.
  - ``posture``: the synergy weights drift smoothly with the hand position
    *x(t)* along the reach, ``W_j(x) = normalise(W_j ⊙ exp(β G_j x̃))``,
    ``x̃`` the position relative to the workspace centre in units of the
    workspace half-range, ``G_j`` (muscles × 3) a participant's N(0, 1/3)
    gradients (so that β is the standard deviation of the log-weight change at
    a corner of the workspace), β = ``posture_drift`` × ``nonlinearity``.

  **The truth** (``truth_synergies``, trial ``truth["activations"]``) is the
  participant's synergies ``W`` and activations ``c`` in every mode: in
  ``nonlinear`` and ``multiplicative`` mixing, the muscle pattern each synergy
  produces alone at small activation (the derivative of the output with
  respect to ``c_j`` at rest, up to the recruitment threshold); in
  ``posture`` mixing, the weights at the workspace centre (``x̃ = 0``;
  :func:`synergies_at` gives them anywhere else). ``envelope = tonic +
  phasic`` in every mode, ``phasic`` holding all movement-related activity
  (the mixed synergies and any muscle-specific bursts).
* **Raw EMG**: ``emg = crosstalk(envelope × (1 + ε) × carrier) + measurement
  noise + DC offset``, the carrier being Gaussian noise band-limited to
  20–450 Hz (zero-phase 2nd-order Butterworth shape, applied in the frequency
  domain), scaled so that E|carrier| = 1: rectifying and low-pass filtering the
  raw EMG gives back the envelope. ``ε`` is a slow (≤ 10 Hz) Gaussian
  fluctuation of the envelope (σ = ``envelope_noise``, off by default), a
  signal-dependent noise; cross-talk adds ``crosstalk`` times the raw EMG of
  each neighbouring electrode site (:data:`MUSCLE_NEIGHBOURS`, off by
  default). Measurement noise is white Gaussian (``measurement_noise`` mV RMS,
  or the level that gives ``snr_db``); the DC offset is drawn per trial and
  muscle (σ = 0.02 mV). Cross-talk and noise are recording artefacts: the
  truth is the muscles' own activity without them.

Every option defaults to the cohort as it was before the difficulty options
were added, byte for byte; the book chooses its own settings in its study
plans. Every participant has its own random streams, derived from ``(seed,
participant number, stream)``, one stream per purpose, so one participant can
be generated alone and identically, and turning one option on leaves the draws
of the others unchanged. The cohort is generated lazily, one participant at a
time. The truth of each trial (``envelope``, ``phasic``, ``activations``) is
computed on access from the trial's parameters, so it costs no memory until it
is used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np
import pandas as pd
import scipy.fft

from synlib.data import Dataset, Trial, check_sampling_rate

#: The 16 upper-limb muscles of the authors' group, in their order (abbreviations).
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

#: Names of the template synergies, in the order of the template's rows.
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
MIXINGS = ("linear", "nonlinear", "multiplicative", "posture")
_ENVELOPE_NOISE_HZ = 10.0
_PRIVATE_AMPLITUDE_SIGMA = 0.5
_PRIVATE_HALF_WIDTH = (0.15, 0.35)
_SPLIT_DIRECTION_SIGMA = 0.25
_SPLIT_LAG = 0.08
_MAX_BURST_LEAK = 0.5

MUSCLE_NEIGHBOURS: tuple[tuple[str, str], ...] = (
    ("DeltA", "DeltM"), ("DeltM", "DeltP"), ("DeltA", "PecMaj"),
    ("TrapUp", "TrapMid"), ("TrapMid", "TrapLow"), ("TrapMid", "Infra"), ("TrapLow", "Infra"),
    ("Infra", "TMaj"), ("Infra", "DeltP"), ("TMaj", "TriLong"),
    ("TriLong", "TriLat"), ("BicLong", "BicShort"), ("PronTer", "BrRad"),
)
"""Pairs of muscles whose electrode sites are adjacent (ours, from the usual placements):
the pairs between which ``crosstalk`` acts. The erector spinae has no neighbour."""


def _neighbourhood() -> np.ndarray:
    adjacency = np.zeros((len(MUSCLES), len(MUSCLES)))
    for a, b in MUSCLE_NEIGHBOURS:
        adjacency[_M[a], _M[b]] = adjacency[_M[b], _M[a]] = 1.0
    return adjacency


NEIGHBOURHOOD: np.ndarray = _neighbourhood()
"""Muscles × muscles, 1 where two electrode sites are neighbours (:data:`MUSCLE_NEIGHBOURS`)."""


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of the simulated cohort (defaults: the paper's design, our model).

    Every difficulty option (from ``synergy_overlap`` on) defaults to the value
    that gives the cohort as it was before the option existed, byte for byte;
    the literature values quoted are where a study plan might set it.

    Parameters
    ----------
    n_participants : int
        Number of participants, named ``P01``, ``P02``, ...
    n_repetitions : int
        Repetitions of each of the 45 conditions.
    mixing : {"linear", "nonlinear", "multiplicative", "posture"}
        How synergies combine into muscle envelopes (see the module docstring,
        which also says what the true synergies are in each mode).
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
        σ of the log-normal factors that individualise the synergy weights
        (ours). :func:`cross_participant_similarity` measures what a setting
        gives: 0.25 gives about 0.97, 0.5 about 0.88, 0.75 about 0.77. Real
        reaching cohorts have similar but individual synergies (d'Avella et al.
        2006, J. Neurosci. 26:7791; Cheung et al. 2012, PNAS 109:14652); issue 14
        takes their matched similarity to be about 0.8–0.9 (a figure we have not
        checked against one paper).
    amplitude_variability : float
        σ of the log-normal trial-to-trial factor on each burst's amplitude.
    measurement_noise : float
        RMS of the white measurement noise in mV (used unless ``snr_db`` is set).
    dec_ratio : float
        Size of a biphasic synergy's decelerating burst relative to its accelerating one.
    synergy_overlap : float in [0, 1) or None
        Largest pairwise cosine of each participant's true synergies.
        ``None`` (the default) leaves them as individual variability makes them
        (0.45 on average, 0.36–0.56); a value mixes every synergy towards the
        set's mean pattern (larger overlap) or takes shared muscles away from
        the synergies that weight them less (smaller; at 0 no two synergies
        share a muscle), solving for the exact value (:func:`with_overlap`).
        No literature default: published synergy sets usually have some pairs
        sharing muscles, i.e. a largest cosine well above 0.
    tuning_variability : float
        σ of the Gaussian perturbation of each synergy's preferred direction (a
        unit vector) across participants; 0.15 (the default) is about 9° (ours).
    k_range : int or (int, int)
        Smallest and largest number of synergies of a participant, each
        participant drawing its k uniformly from that range: fewer than 5 by
        merging random pairs of template synergies, more by splitting random
        synergies into two fractions. ``(5, 5)`` (the default) gives every
        participant the template's 5. Between 1 and the number of muscles.
        d'Avella et al. (2006) extracted 4 or 5 synergies per participant for
        fast reaching in two vertical planes.
    crosstalk : float in [0, 1)
        Fraction of the raw EMG of each neighbouring electrode site
        (:data:`MUSCLE_NEIGHBOURS`) added to a muscle's recording. 0 (the
        default) adds none. Cross-talk "typically does not exceed 10–15 %" of
        the signal (Konrad 2005, The ABC of EMG, Noraxon); in cat muscles it
        stayed below 5 % of the maximal value but reached about 20 % over
        subcutaneous fat (Solomonow et al. 1994, J. Electromyogr. Kinesiol.
        4:131); see Farina et al. (2004, Methods Inf. Med. 43:30) on its origin.
        Independent carriers add in power, so 0.15 adds about 2 % of each
        neighbour's envelope power.
    muscle_specific : float
        Size of each muscle's own burst per trial (independent timing, one per
        muscle and trial, log-normal size with σ = 0.5), as a fraction of the
        muscle's nominal synergy drive ``n_m``. 0 (the default) adds none (ours).
    burst_leak : float in [0, 0.5]
        How far (in movement times, ≈ seconds) the first burst of each synergy
        starts earlier and the last ends later, reaching into the tonic-removal
        windows at ±0.2–0.4 s around onset and offset. 0 (the default) keeps
        the bursts out of those windows (ours).
    snr_db : float or None
        If set, the white measurement noise of each muscle has the level that
        gives this signal-to-noise ratio, signal being the power of the muscle's
        own raw EMG averaged over the participant's recording; it replaces
        ``measurement_noise``. Surface EMG is commonly quoted at about 10–30 dB
        (a range from issue 14 we have not checked against one source).
        ``None`` (the default) uses ``measurement_noise``.
    envelope_noise : float
        σ of the slow (≤ 10 Hz) multiplicative fluctuation of each envelope, a
        signal-dependent noise with SNR ``−20 log10(σ)`` dB (stated in the
        dataset's ``info["noise"]``). 0 (the default) adds none (ours).
    nonlinearity : float
        Strength multiplier of the mixing mode's non-linearity: 0 gives the
        linear mode exactly, 1 (the default) each mode's own strength below.
    interaction : float
        Multiplicative mode: the facilitation γ between synergies sharing a muscle
        (1: two synergies at nominal amplitude on a muscle both weight at 1
        double each other's output there; ours).
    posture_drift : float
        Posture mode: β, the standard deviation of the log-change of the synergy
        weights at a corner of the workspace (0.5: about ×1.6 either way; ours).
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
    synergy_overlap: float | None = None
    tuning_variability: float = 0.15
    k_range: int | tuple[int, int] = (5, 5)
    crosstalk: float = 0.0
    muscle_specific: float = 0.0
    burst_leak: float = 0.0
    snr_db: float | None = None
    envelope_noise: float = 0.0
    nonlinearity: float = 1.0
    interaction: float = 1.0
    posture_drift: float = 0.5

    def __post_init__(self) -> None:
        if self.mixing not in MIXINGS:
            raise ValueError(f"mixing={self.mixing!r} is not known; use one of {', '.join(MIXINGS)}")
        for name in ("n_participants", "n_repetitions"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if not _is_int(self.seed) or self.seed < 0:
            raise ValueError(f"seed={self.seed!r} must be a non-negative integer")
        for name in ("saturation", "dec_ratio"):
            if not _finite(getattr(self, name)) or not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be positive")
        for name in ("synergy_variability", "amplitude_variability", "measurement_noise", "threshold",
                     "tuning_variability", "muscle_specific", "envelope_noise", "nonlinearity",
                     "interaction", "posture_drift"):
            value = getattr(self, name)
            if not _finite(value) or not value >= 0:
                raise ValueError(f"{name}={value!r} must be zero or positive")
        for name, upper in (("crosstalk", "below 1"), ("synergy_overlap", "below 1")):
            value = getattr(self, name)
            if value is None and name == "synergy_overlap":
                continue
            if not _finite(value) or not 0 <= value < 1:
                raise ValueError(f"{name}={value!r} must be in [0, 1): zero or positive and {upper}")
        if not _finite(self.burst_leak) or not 0 <= self.burst_leak <= _MAX_BURST_LEAK:
            raise ValueError(f"burst_leak={self.burst_leak!r} must be in [0, {_MAX_BURST_LEAK}] movement times")
        if self.snr_db is not None and not _finite(self.snr_db):
            raise ValueError(f"snr_db={self.snr_db!r} must be a finite number of decibels or None")
        object.__setattr__(self, "k_range", _check_k_range(self.k_range))
        check_sampling_rate(self.fs, 450.0, "the simulated cohort (raw EMG band 20–450 Hz)")

    @property
    def participants(self) -> list[str]:
        return [participant_id(i) for i in range(self.n_participants)]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _finite(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _check_k_range(k_range) -> tuple[int, int]:
    pair = (k_range, k_range) if _is_int(k_range) else k_range
    n_muscles = len(MUSCLES)
    if (not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2
            or not all(_is_int(k) for k in pair)):
        raise ValueError(f"k_range={k_range!r} must be an integer or a pair (smallest, largest) of integers")
    low, high = int(pair[0]), int(pair[1])
    if not 1 <= low <= high <= n_muscles:
        raise ValueError(f"k_range={k_range!r}: the number of synergies must be between 1 and the "
                         f"{n_muscles} muscles, smallest first")
    return low, high


def participant_id(index: int) -> str:
    """Identifier of the participant at 0-based ``index`` (``0 -> "P01"``)."""
    return f"P{index + 1:02d}"


def _participant_index(participant: str) -> int:
    try:
        return int(participant.lstrip("P")) - 1
    except ValueError:
        raise KeyError(f"{participant!r} is not a simulated participant id such as 'P01'") from None


# One random stream per purpose, so that turning an option on leaves the other draws alone.
_MODEL_STREAM, _DESIGN_STREAM, _NOISE_STREAM, _STRUCTURE_STREAM, _PRIVATE_STREAM, _ENVELOPE_STREAM, \
    _POSTURE_STREAM = range(7)


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


def _workspace() -> tuple[np.ndarray, np.ndarray]:
    """Centre (the mean reach midpoint) and half-range (per axis) of the hand's workspace."""
    ends = target_positions()[["x", "y", "z"]].to_numpy()
    points = np.vstack([ends, START_POSITION])
    return (START_POSITION + ends.mean(axis=0)) / 2, np.ptp(points, axis=0) / 2


#: Centre and half-range (x, y, z, metres) of the reach workspace: start position and targets.
WORKSPACE_CENTRE, WORKSPACE_HALF_RANGE = _workspace()


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


def largest_cosine(synergies: np.ndarray) -> float:
    """Largest cosine between two different rows of ``synergies`` (k × muscles); 0 when k = 1.

    Examples
    --------
    >>> largest_cosine(np.array([[1.0, 0.0], [1.0, 1.0]])).__round__(4)
    0.7071
    """
    rows = _unit_rows(np.asarray(synergies, float))
    cosine = rows @ rows.T
    np.fill_diagonal(cosine, -np.inf)
    return float(max(cosine.max(), 0.0)) if len(rows) > 1 else 0.0


def _towards_mean(synergies: np.ndarray, t: float) -> np.ndarray:
    return _unit_rows((1.0 - t) * synergies + t * _unit_rows(synergies.mean(axis=0)))


def _owners(synergies: np.ndarray) -> np.ndarray:
    """0/1 (k × muscles): which synergy owns each muscle, every synergy owning at least one."""
    from scipy.optimize import linear_sum_assignment   # here: scipy.optimize adds ~25 MiB to every import

    owner = synergies.argmax(axis=0)
    rows, muscles = linear_sum_assignment(-synergies)   # one distinct muscle per synergy first
    owner[muscles] = rows
    return (owner[None, :] == np.arange(len(synergies))[:, None]).astype(float)


def _compete(synergies: np.ndarray, owners: np.ndarray, s: float) -> np.ndarray:
    # Weights on muscles another synergy owns shrink by s: 1 leaves the synergies as
    # they are, 0 gives disjoint muscle sets (no two synergies share a muscle).
    return _unit_rows(synergies * (owners + s * (1.0 - owners)))


def with_overlap(synergies: np.ndarray, overlap: float) -> np.ndarray:
    """Synergies reshaped so that their largest pairwise cosine is ``overlap``.

    A larger overlap than the synergies have mixes every row towards the rows'
    common mean pattern, ``normalise((1 − t) W_j + t mean(W))``; a smaller one
    shrinks, by a factor s, each weight on a muscle that another synergy owns
    (each muscle is owned by the synergy that weights it most, every synergy
    owning at least one), ``normalise(W_j ⊙ (owned + s · not owned))``, down
    to disjoint muscle sets at 0. ``t`` or ``s`` is solved for, so the largest
    cosine is ``overlap`` to 1e-9 (a single synergy is returned as it is).

    Parameters
    ----------
    synergies : ndarray of shape (k, n_muscles)
        Non-negative synergies.
    overlap : float in [0, 1)
        The largest pairwise cosine asked for.

    Returns
    -------
    ndarray of shape (k, n_muscles)
        Unit-norm, non-negative rows.

    Examples
    --------
    >>> shaped = [with_overlap(TEMPLATE_SYNERGIES, target) for target in (0.0, 0.2, 0.7)]
    >>> [round(largest_cosine(w), 6) for w in shaped]
    [0.0, 0.2, 0.7]
    """
    from scipy.optimize import brentq   # here: scipy.optimize adds ~25 MiB to every import

    if not 0 <= overlap < 1:
        raise ValueError(f"synergy_overlap={overlap!r} must be in [0, 1)")
    synergies = _unit_rows(np.asarray(synergies, float))
    present = largest_cosine(synergies)
    if len(synergies) < 2 or overlap == present:
        return synergies
    if overlap > present:
        t = brentq(lambda t: largest_cosine(_towards_mean(synergies, t)) - overlap, 0.0, 1.0, xtol=1e-12)
        return _towards_mean(synergies, t)
    owners = _owners(synergies)
    if overlap == 0:
        return _compete(synergies, owners, 0.0)
    s = brentq(lambda s: largest_cosine(_compete(synergies, owners, s)) - overlap, 0.0, 1.0, xtol=1e-12)
    return _compete(synergies, owners, s)


@dataclass(frozen=True)
class ParticipantModel:
    """One participant's synergies, tuning and tonic patterns (all drawn from the seed).

    A participant has k synergies driven by n tuned *components* (a template
    synergy's burst generator): n = k unless two synergies merged, whose
    components then drive one synergy together (``groups``).
    """

    participant: str
    synergies: np.ndarray          # k × muscles, unit-norm rows
    directions: np.ndarray         # components × 3 preferred directions
    amplitudes: np.ndarray         # components, mV
    tonic_scale: np.ndarray        # muscles, individual factor on the tonic patterns
    speed: float                   # factor on movement duration
    saturation_level: np.ndarray   # muscles, mV (non-linear mixing)
    threshold_level: np.ndarray    # muscles, mV (non-linear mixing)
    names: tuple[str, ...]         # k
    elbow_tuning: np.ndarray       # components: +1 extension, -1 flexion, 0 direction
    biphasic: np.ndarray           # components
    lag: np.ndarray                # components, burst delay in movement times
    groups: np.ndarray             # components: the synergy each one drives
    posture_gradient: np.ndarray | None   # k × muscles × 3 (posture mixing only)

    @property
    def k(self) -> int:
        return self.synergies.shape[0]

    @property
    def synergy_amplitudes(self) -> np.ndarray:
        """Nominal amplitude of each synergy (mV): the sum of its components'."""
        return np.bincount(self.groups, weights=self.amplitudes, minlength=self.k)


@dataclass
class _Structure:
    """A participant's synergy set before individual variability (template rows, components)."""

    weights: list[np.ndarray]
    names: list[str]
    groups: list[int]
    directions: list[np.ndarray]
    elbow: list[int]
    biphasic: list[bool]
    amplitudes: list[float]
    lag: list[float]


def _k_and_stream(config: SimulationConfig, index: int) -> tuple[int, np.random.Generator]:
    """A participant's k and the structure stream, advanced past the draw of k."""
    rng = _rng(config.seed, index, _STRUCTURE_STREAM)
    low, high = config.k_range
    return (low if low == high else int(rng.integers(low, high + 1))), rng


def participant_k(config: SimulationConfig, participant: str) -> int:
    """How many synergies ``participant`` has (drawn uniformly from ``config.k_range``).

    Examples
    --------
    >>> participant_k(SimulationConfig(), "P03"), participant_k(SimulationConfig(k_range=4), "P03")
    (5, 4)
    """
    return _k_and_stream(config, _participant_index(participant))[0]


def _structure(config: SimulationConfig, participant: str) -> _Structure:
    template = TEMPLATE_SYNERGIES
    s = _Structure(weights=list(template), names=list(SYNERGY_NAMES), groups=list(range(len(template))),
                   directions=list(TEMPLATE_DIRECTIONS), elbow=list(ELBOW_TUNING), biphasic=list(BIPHASIC),
                   amplitudes=list(SYNERGY_AMPLITUDE_MV), lag=[0.0] * len(template))
    k, rng = _k_and_stream(config, _participant_index(participant))
    while len(s.weights) > k:
        _merge(s, *sorted(int(j) for j in rng.choice(len(s.weights), 2, replace=False)))
    while len(s.weights) < k:
        single = [j for j in range(len(s.weights))
                  if s.groups.count(j) == 1 and np.count_nonzero(s.weights[j]) >= 2]
        _split(s, int(rng.choice(single)), rng)
    return s


def _merge(s: _Structure, i: int, j: int) -> None:
    """Synergies i < j become one, driven by the components of both (merging)."""
    amplitude = [sum(a for a, g in zip(s.amplitudes, s.groups) if g == row) for row in (i, j)]
    s.weights[i] = _unit_rows(amplitude[0] * s.weights[i] + amplitude[1] * s.weights[j])
    s.names[i] = f"{s.names[i]} + {s.names[j]}"
    del s.weights[j], s.names[j]
    s.groups = [i if g == j else g - (g > j) for g in s.groups]


def _split(s: _Structure, j: int, rng: np.random.Generator) -> None:
    """Synergy j (one component) becomes two fractions on disjoint muscles, tuned apart (fractionation)."""
    parent, name = s.weights[j], s.names[j]
    # A fraction of a fraction is numbered like a section: "... (fraction 2.1)".
    base, path = name[:-1].rsplit(" (fraction ", 1) if name.endswith(")") and " (fraction " in name \
        else (name, "")
    prefix = f"{base} (fraction {path + '.' if path else ''}"
    muscles = rng.permutation(np.flatnonzero(parent))
    cut = int(rng.integers(1, muscles.size))
    fractions = []
    for muscle_set in (muscles[:cut], muscles[cut:]):
        fraction = np.zeros_like(parent)
        fraction[muscle_set] = parent[muscle_set]
        fractions.append(fraction)
    norms = [float(np.linalg.norm(f)) for f in fractions]
    c = s.groups.index(j)
    # Each fraction keeps its share of the parent's output (c W = c |W_1| W_1/|W_1| + ...),
    # and gets its own preferred direction and timing, so the two are not activated as one.
    tuning = [(_unit_rows(s.directions[c] + rng.normal(0.0, _SPLIT_DIRECTION_SIGMA, 3)),
               float(rng.uniform(-_SPLIT_LAG, _SPLIT_LAG))) for _ in fractions]
    amplitude = s.amplitudes[c]
    s.weights[j], s.names[j] = fractions[0] / norms[0], f"{prefix}1)"
    s.directions[c], s.lag[c] = tuning[0]
    s.amplitudes[c] = amplitude * norms[0]
    s.weights.append(fractions[1] / norms[1])
    s.names.append(f"{prefix}2)")
    s.groups.append(len(s.weights) - 1)
    s.directions.append(tuning[1][0])
    s.lag.append(tuning[1][1])
    s.elbow.append(s.elbow[c])
    s.biphasic.append(s.biphasic[c])
    s.amplitudes.append(amplitude * norms[1])


def participant_model(config: SimulationConfig, participant: str) -> ParticipantModel:
    """The individual synergies and tuning of ``participant`` (no trials, no noise).

    Examples
    --------
    >>> model = participant_model(SimulationConfig(), "P01")
    >>> model.synergies.shape
    (5, 16)
    >>> participant_model(SimulationConfig(k_range=4), "P02").names
    ('anterior shoulder', 'lateral shoulder', 'posterior shoulder + elbow extensors', 'elbow flexors')
    """
    index = _participant_index(participant)
    s = _structure(config, participant)
    rng = _rng(config.seed, index, _MODEL_STREAM)
    template = np.array(s.weights)
    k, m = template.shape
    n_components = len(s.groups)
    weights = template * rng.lognormal(0.0, config.synergy_variability, (k, m))
    weights += 0.03 * rng.random((k, m))
    synergies = _unit_rows(weights)
    if config.synergy_overlap is not None:
        synergies = with_overlap(synergies, config.synergy_overlap)
    directions = _unit_rows(np.array(s.directions) + rng.normal(0.0, config.tuning_variability, (n_components, 3)))
    amplitudes = np.array(s.amplitudes) * rng.lognormal(0.0, 0.15, n_components)
    tonic_scale = rng.lognormal(0.0, 0.2, m)
    speed = float(rng.lognormal(0.0, 0.06))
    groups = np.array(s.groups)
    nominal_drive = np.bincount(groups, weights=amplitudes, minlength=k) @ synergies
    saturation_level = config.saturation * nominal_drive * rng.lognormal(0.0, 0.5, m)
    threshold_level = config.threshold * nominal_drive * rng.lognormal(0.0, 0.3, m)
    gradient = None
    if config.mixing == "posture":
        gradient = _rng(config.seed, index, _POSTURE_STREAM).normal(0.0, 1.0 / np.sqrt(3.0), (k, m, 3))
    for array in (synergies, directions, amplitudes):
        array.flags.writeable = False
    return ParticipantModel(participant, synergies, directions, amplitudes, tonic_scale, speed,
                            saturation_level, threshold_level, names=tuple(s.names),
                            elbow_tuning=np.array(s.elbow), biphasic=np.array(s.biphasic, bool),
                            lag=np.array(s.lag), groups=groups, posture_gradient=gradient)


def synergies_at(model: ParticipantModel, config: SimulationConfig, position: np.ndarray) -> np.ndarray:
    """The participant's synergy weights with the hand at ``position`` (…, 3), in ``config``'s mixing.

    Only ``posture`` mixing moves them: ``normalise(W ⊙ exp(β G x̃))``. At the
    workspace centre (:data:`WORKSPACE_CENTRE`) they are the true synergies.

    Returns
    -------
    ndarray of shape (…, k, muscles)
        Unit-norm rows.

    Examples
    --------
    >>> config = SimulationConfig(mixing="posture")
    >>> model = participant_model(config, "P01")
    >>> bool(np.allclose(synergies_at(model, config, WORKSPACE_CENTRE), model.synergies))
    True
    """
    position = np.asarray(position, float)
    beta = config.posture_drift * config.nonlinearity
    if config.mixing != "posture" or beta == 0:
        return np.broadcast_to(model.synergies, position.shape[:-1] + model.synergies.shape)
    relative = (position - WORKSPACE_CENTRE) / WORKSPACE_HALF_RANGE
    k, m, _ = model.posture_gradient.shape
    weights = relative @ (beta * model.posture_gradient.reshape(k * m, 3).T)
    np.exp(weights, out=weights)
    weights = weights.reshape(position.shape[:-1] + (k, m))
    weights *= model.synergies
    weights /= np.sqrt(np.einsum("...km,...km->...k", weights, weights))[..., None]
    return weights


def cross_participant_similarity(config: SimulationConfig, participants: Sequence[str] | None = None) -> float:
    """Median over pairs of participants of the mean cosine of their matched true synergies.

    The synergies of two participants are paired one to one (Hungarian
    assignment on the cosine, the smaller set all matched), which is how
    inter-participant similarity is usually reported; use it to set
    ``synergy_variability`` against a cohort's published value.

    Examples
    --------
    >>> config = SimulationConfig(n_participants=4)
    >>> cross_participant_similarity(config) > cross_participant_similarity(
    ...     SimulationConfig(n_participants=4, synergy_variability=1.0))
    True
    """
    from scipy.optimize import linear_sum_assignment

    chosen = list(participants or config.participants)
    sets = [participant_model(config, p).synergies for p in chosen]
    scores = []
    for a in range(len(sets)):
        for b in range(a + 1, len(sets)):
            cosine = sets[a] @ sets[b].T
            rows, cols = linear_sum_assignment(-cosine)
            scores.append(float(cosine[rows, cols].mean()))
    if not scores:
        raise ValueError(f"cross-participant similarity needs two participants or more, got {chosen}")
    return float(np.median(scores))


def _tuning_feature(direction: np.ndarray, end: np.ndarray, preferred: np.ndarray,
                    elbow: np.ndarray) -> np.ndarray:
    """What each component is tuned to, in [-1, 1] (trials × components).

    Shoulder synergies: the cosine between the reach direction and their
    preferred direction. Elbow synergies: the change of the hand's distance from
    the shoulder (±0.2 m → ±1), positive for the extensors when the arm extends
    and for the flexors when it flexes.
    """
    cosine = direction @ preferred.T
    radial = np.clip((np.linalg.norm(end, axis=1) - np.linalg.norm(START_POSITION)) / 0.2, -1.0, 1.0)
    return np.where(elbow == 0, cosine, elbow * radial[:, None])


def _nominal_supports(config: SimulationConfig, model: ParticipantModel) -> tuple[np.ndarray, tuple]:
    """Each component's two burst supports (components × 2 × 2, movement times) and their limits."""
    nominal = np.array([[_ACC_SUPPORT if b else _BELL_SUPPORT, _DEC_SUPPORT] for b in model.biphasic])
    limits = _SUPPORT_LIMITS
    if config.burst_leak:
        leak = config.burst_leak
        # The first burst starts earlier and the last (a bell's only one) ends later.
        nominal[:, 0, 0] -= leak
        last = np.where(model.biphasic, 1, 0)
        nominal[np.arange(len(nominal)), last, 1] += leak
        limits = (limits[0] - leak, limits[1] + leak)
    if np.any(model.lag):
        nominal += model.lag[:, None, None]
    return nominal, limits


def _trial_design(config: SimulationConfig, model: ParticipantModel) -> tuple[pd.DataFrame, dict]:
    """Trial table (condition, timing) and per-trial arrays (bursts, postures, DC offsets)."""
    index = _participant_index(model.participant)
    rng = _rng(config.seed, index, _DESIGN_STREAM)
    targets = target_positions()
    design = targets.loc[targets.index.repeat(config.n_repetitions)].reset_index(drop=True)
    design["repetition"] = np.tile(np.arange(1, config.n_repetitions + 1), len(targets))
    n = len(design)
    k = len(model.amplitudes)
    m = len(MUSCLES)

    end = design[["x", "y", "z"]].to_numpy()
    reach = end - START_POSITION
    distance = np.linalg.norm(reach, axis=1)
    direction = reach / distance[:, None]
    duration = np.clip(model.speed * (0.75 + 0.5 * distance) * rng.lognormal(0.0, 0.06, n), 0.8, 1.2)
    rest_before = rng.uniform(0.65, 0.9, n)
    rest_after = rng.uniform(0.65, 0.9, n)

    feature = _tuning_feature(direction, end, model.directions, model.elbow_tuning)   # n × k, in [-1, 1]
    size = model.amplitudes * np.sqrt(distance / 0.5)[:, None]
    acc_gain = ((1.0 + feature) / 2.0) ** 2
    dec_gain = np.where(model.biphasic, config.dec_ratio * ((1.0 - feature) / 2.0) ** 2, 0.0)
    amplitude = np.stack([size * acc_gain, size * dec_gain], axis=2)          # n × k × 2
    amplitude *= rng.lognormal(0.0, config.amplitude_variability, amplitude.shape)

    nominal, limits = _nominal_supports(config, model)
    centre = nominal.mean(axis=2) + rng.normal(0.0, 0.03, (n, k, 2))
    half_width = np.diff(nominal, axis=2)[..., 0] / 2 * rng.lognormal(0.0, 0.08, (n, k, 2))
    support = np.clip(np.stack([centre - half_width, centre + half_width], axis=3), *limits)

    design["condition"] = design["plane"] + "-T" + design["target"].astype(str)
    design["trial"] = design["condition"] + "-R" + design["repetition"].map("{:02d}".format)
    design["participant"] = model.participant
    design["distance_m"] = distance
    design["onset"] = rest_before
    design["offset"] = rest_before + duration
    design["n_samples"] = np.round((rest_before + duration + rest_after) * config.fs).astype(int)
    arrays = {"amplitude": amplitude, "support": support, "end": end,
              "start_tonic": _tonic_pattern(START_POSITION)[0] * model.tonic_scale,
              "end_tonic": _tonic_pattern(end) * model.tonic_scale,
              "dc": rng.normal(0.0, _DC_OFFSET_MV, (n, m)),
              "private_amplitude": None, "private_support": None}
    if config.muscle_specific:
        private = _rng(config.seed, index, _PRIVATE_STREAM)
        nominal_drive = model.synergy_amplitudes @ model.synergies
        arrays["private_amplitude"] = (config.muscle_specific * nominal_drive
                                       * private.lognormal(0.0, _PRIVATE_AMPLITUDE_SIGMA, (n, m)))[..., None]
        middle = private.uniform(0.0, 1.0, (n, m))
        half = private.uniform(*_PRIVATE_HALF_WIDTH, (n, m))
        arrays["private_support"] = np.stack([middle - half, middle + half], axis=2)[:, :, None, :]
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


def _mix(activations: np.ndarray, model: ParticipantModel, config: SimulationConfig,
         position: np.ndarray) -> np.ndarray:
    """Phasic output of each muscle (samples × muscles) from the synergy activations."""
    drive = activations @ model.synergies
    strength = config.nonlinearity
    if config.mixing == "linear" or strength == 0:
        return drive
    if config.mixing == "nonlinear":
        level = model.saturation_level / strength
        return level * np.tanh(np.maximum(drive - model.threshold_level * strength, 0.0) / level)
    if config.mixing == "multiplicative":
        relative = activations / model.synergy_amplitudes
        # Σ_j c_j W_jm Σ_{l≠j} r_l W_lm = drive_m (r @ W)_m − Σ_j c_j r_j W_jm²
        cross = drive * (relative @ model.synergies) - (activations * relative) @ model.synergies**2
        return drive + config.interaction * strength * np.maximum(cross, 0.0)
    # Only samples with some activation need the (costly) position-dependent weights.
    active = np.flatnonzero(activations.any(axis=1))
    phasic = np.zeros_like(drive)
    weights = synergies_at(model, config, position[active])
    phasic[active] = np.matmul(activations[active, None, :], weights)[:, 0]
    return phasic


@dataclass(frozen=True)
class _TrialRecipe:
    """Everything needed to recompute one trial's noiseless signals."""

    n_samples: int
    onset: float
    duration: float
    amplitude: np.ndarray      # components × 2
    support: np.ndarray        # components × 2 × 2
    start_tonic: np.ndarray    # muscles
    end_tonic: np.ndarray      # muscles
    end: np.ndarray            # 3, the target (m)
    private_amplitude: np.ndarray | None   # muscles × 1
    private_support: np.ndarray | None     # muscles × 1 × 2
    model: ParticipantModel
    config: SimulationConfig

    def signals(self) -> dict[str, np.ndarray]:
        tau = (np.arange(self.n_samples) / self.config.fs - self.onset) / self.duration
        activations = _bursts(tau, self.amplitude, self.support)
        if activations.shape[1] != self.model.k:
            merged = np.zeros((self.n_samples, self.model.k))
            np.add.at(merged.T, self.model.groups, activations.T)
            activations = merged
        s = np.clip(tau, 0.0, 1.0)
        progress = 10 * s**3 - 15 * s**4 + 6 * s**5
        position = None
        if self.config.mixing == "posture":
            position = START_POSITION + progress[:, None] * (self.end - START_POSITION)
        phasic = _mix(activations, self.model, self.config, position)
        if self.private_amplitude is not None:
            phasic = phasic + _bursts(tau, self.private_amplitude, self.private_support)
        tonic = self.start_tonic + progress[:, None] * (self.end_tonic - self.start_tonic)
        return {"envelope": tonic + phasic, "phasic": phasic, "activations": activations}

    def hand_speed(self) -> np.ndarray:
        """The hand's speed (m/s) along its minimum-jerk path from the start to the target."""
        s = np.clip((np.arange(self.n_samples) / self.config.fs - self.onset) / self.duration, 0.0, 1.0)
        distance = float(np.linalg.norm(self.end - START_POSITION))
        return distance * 30 * s**2 * (1 - s) ** 2 / self.duration


class _OnAccess(Mapping):
    """Read-only arrays of one trial, computed from its recipe when read (``_compute``)."""

    _KEYS: tuple[str, ...] = ()
    _NAME = ""

    def __init__(self, recipe: _TrialRecipe) -> None:
        self._recipe = recipe

    def _compute(self, key: str) -> np.ndarray:
        raise NotImplementedError

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._KEYS:
            raise KeyError(f"{self._NAME} {', '.join(self._KEYS)}, not {key!r}")
        value = self._compute(key)
        value.flags.writeable = False
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)


class SimulatedKinematics(_OnAccess):
    """A trial's recorded movement, computed on access: ``hand_speed`` (samples, m/s).

    The speed is noise-free; preprocessing detects onset and offset from it
    (segmentation ``"speed"``, the group's 10 % of peak speed), and the
    generator's own onset and offset (the trial's ``onset``/``offset``, where the
    speed leaves and returns to zero) serve only to measure that detection.
    """

    _KEYS = ("hand_speed",)
    _NAME = "simulated kinematics have"

    def _compute(self, key: str) -> np.ndarray:
        return self._recipe.hand_speed()


class SimulatedTruth(_OnAccess):
    """A trial's ground truth, computed on access (``envelope``, ``phasic``, ``activations``).

    ``activations`` (samples × k) and the participant's ``truth_synergies`` are
    the synergies' truth; ``phasic`` is all movement-related activity of the
    muscles (``envelope`` minus the tonic part). Recomputing costs well under a
    millisecond per trial and keeps a cohort's truth out of memory until a
    chapter reads it.
    """

    _KEYS = ("envelope", "phasic", "activations")
    _NAME = "simulated truth has"

    def _compute(self, key: str) -> np.ndarray:
        return self._recipe.signals()[key]


def _unit_variance(gain: np.ndarray, n_fft: int) -> np.ndarray:
    """``gain`` scaled so that filtered unit white noise has unit variance."""
    power = gain**2
    two_sided = power[0] + 2 * power[1:].sum() - (power[-1] if n_fft % 2 == 0 else 0.0)
    return gain / np.sqrt(two_sided / n_fft)


def _carrier_gain(n_fft: int, fs: float) -> np.ndarray:
    """Zero-phase band-pass (20–450 Hz, 2nd-order Butterworth shape), unit output variance."""
    f = scipy.fft.rfftfreq(n_fft, 1.0 / fs)
    with np.errstate(divide="ignore"):
        gain = 1.0 / np.sqrt((1.0 + (f / 450.0) ** 4) * (1.0 + (20.0 / f) ** 4))
    gain[0] = 0.0
    # Unit variance, then E|carrier| = 1 so that rectifying recovers the envelope.
    return (_unit_variance(gain, n_fft) * np.sqrt(np.pi / 2)).astype(np.float32)


def _envelope_noise_gain(n_fft: int, fs: float) -> np.ndarray:
    """Zero-phase low-pass (10 Hz, 2nd-order Butterworth shape, no DC), unit output variance."""
    f = scipy.fft.rfftfreq(n_fft, 1.0 / fs)
    gain = 1.0 / np.sqrt(1.0 + (f / _ENVELOPE_NOISE_HZ) ** 4)
    gain[0] = 0.0
    return _unit_variance(gain, n_fft).astype(np.float32)


def _band_limited(rng: np.random.Generator, gain: np.ndarray, n_fft: int, length: int, m: int) -> np.ndarray:
    """``m`` streams of Gaussian noise shaped by ``gain`` (length × m, float32).

    The spectrum of white noise is drawn directly (complex Gaussian, the
    variance of rfft(white)), which saves the forward transform; time is on the
    last axis so that the FFT runs over contiguous memory.
    """
    spectrum = rng.standard_normal((m, n_fft // 2 + 1, 2), dtype=np.float32).view(np.complex64)[..., 0]
    spectrum *= np.float32(np.sqrt(n_fft / 2)) * gain
    return scipy.fft.irfft(spectrum, n=n_fft)[:, :length].T


def _noise_sd(config: SimulationConfig, envelopes: np.ndarray) -> float | np.ndarray:
    """RMS of the white measurement noise of each muscle (mV)."""
    if config.snr_db is None:
        return config.measurement_noise
    # The muscle's own raw EMG has power envelope² E[carrier²] = envelope² π/2.
    power = np.einsum("ij,ij->j", envelopes, envelopes) / len(envelopes) * (np.pi / 2)
    return np.sqrt(power / 10.0 ** (config.snr_db / 10.0))


def _participant_trials(config: SimulationConfig, participant: str) -> list[Trial]:
    model = participant_model(config, participant)
    design, extra = _trial_design(config, model)
    onsets = design["onset"].to_numpy()
    durations = design["offset"].to_numpy() - onsets
    metas = design[list(_META_COLUMNS)].to_dict("records")
    n_samples = design["n_samples"].to_numpy()
    m = len(MUSCLES)
    index = _participant_index(participant)

    emg = np.empty((int(n_samples.sum()), m))
    starts = np.concatenate([[0], np.cumsum(n_samples)])
    recipes = []
    for i in range(len(design)):
        private = extra["private_amplitude"] is not None
        recipe = _TrialRecipe(
            n_samples=int(n_samples[i]), onset=float(onsets[i]), duration=float(durations[i]),
            amplitude=extra["amplitude"][i], support=extra["support"][i], start_tonic=extra["start_tonic"],
            end_tonic=extra["end_tonic"][i], end=extra["end"][i],
            private_amplitude=extra["private_amplitude"][i] if private else None,
            private_support=extra["private_support"][i] if private else None,
            model=model, config=config)
        # The envelopes go first into the buffer that becomes the raw EMG, so that the
        # noise level can follow the participant's signal without a second copy.
        emg[starts[i]:starts[i + 1]] = recipe.signals()["envelope"]
        recipes.append(recipe)
    noise_sd = _noise_sd(config, emg)

    noise_rng = _rng(config.seed, index, _NOISE_STREAM, np.random.SFC64)
    envelope_rng = _rng(config.seed, index, _ENVELOPE_STREAM, np.random.SFC64) if config.envelope_noise else None
    trials = []
    for first in range(0, len(design), _NOISE_CHUNK_TRIALS):
        chunk = range(first, min(first + _NOISE_CHUNK_TRIALS, len(design)))
        stream = slice(starts[chunk.start], starts[chunk.stop])
        length = stream.stop - stream.start
        # One band-limited stream per chunk of consecutive trials; it wraps around
        # only at the chunk's ends, which fall between trials.
        n_fft = scipy.fft.next_fast_len(length, real=True)
        carrier = _band_limited(noise_rng, _carrier_gain(n_fft, config.fs), n_fft, length, m)
        measurement = noise_rng.standard_normal((length, m), dtype=np.float32)
        wobble = None
        if envelope_rng is not None:
            wobble = _band_limited(envelope_rng, _envelope_noise_gain(n_fft, config.fs), n_fft, length, m)
            wobble = np.maximum(1.0 + config.envelope_noise * wobble, 0.0)
        for i in chunk:
            local = slice(starts[i] - stream.start, starts[i + 1] - stream.start)
            out = emg[starts[i]:starts[i + 1]]
            if wobble is not None:
                out *= wobble[local]
            np.multiply(out, carrier[local], out=out)
            if config.crosstalk:
                out += config.crosstalk * (out @ NEIGHBOURHOOD)
            out += noise_sd * measurement[local]
            out += extra["dc"][i]
            out.flags.writeable = False
            trials.append(Trial(emg=out, meta=_plain(metas[i]), source=f"simulated cohort, seed {config.seed}",
                                truth=SimulatedTruth(recipes[i]), kinematics=SimulatedKinematics(recipes[i])))
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
    """The simulated reaching cohort as a lazy :class:`~synlib.data.model.Dataset` with ground truth.

    Parameters
    ----------
    n_participants, mixing, seed, n_repetitions, **options
        See :class:`SimulationConfig`; options are checked before anything is generated.

    Returns
    -------
    Dataset
        Trials are generated when ``dataset.trials(participant)`` is called;
        ``dataset.truth_synergies(participant)`` gives the participant's
        k × muscles truth (see the module docstring for what it is in each
        mixing mode). ``info`` states the configuration, each participant's k
        and synergy names, the template's largest cosine and the noise levels
        in dB.

    Examples
    --------
    >>> cohort = simulate_cohort(n_participants=2, n_repetitions=1)
    >>> cohort.participants, cohort.fs, len(cohort.muscles)
    (['P01', 'P02'], 1000.0, 16)
    >>> trials = cohort.trials("P02")
    >>> len(trials), trials[0].truth["activations"].shape[1]
    (45, 5)
    >>> simulate_cohort(n_participants=4, k_range=(4, 6)).info["k_by_participant"]
    {'P01': 6, 'P02': 5, 'P03': 6, 'P04': 6}
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


TRUTH_DEFINITIONS: dict[str, str] = {
    "linear": "the synergies that generated the data (phasic = activations @ synergies)",
    "nonlinear": "the synergies whose summed drive each muscle's saturating input-output curve maps",
    "multiplicative": "each synergy's muscle pattern alone (the additive part; co-active synergies "
                      "facilitate each other on shared muscles)",
    "posture": "the synergy weights with the hand at the workspace centre (they drift with the hand's position)",
}
"""What ``truth_synergies`` is in each mixing mode."""


def _info(config: SimulationConfig) -> dict:
    models = {p: participant_model(config, p) for p in config.participants}
    envelope_snr = None if not config.envelope_noise else -20.0 * math.log10(config.envelope_noise)
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
        "k_by_participant": {p: model.k for p, model in models.items()},
        "synergy_names_by_participant": {p: list(model.names) for p, model in models.items()},
        "truth_definition": TRUTH_DEFINITIONS[config.mixing],
        "largest_cosine_by_participant": {p: largest_cosine(model.synergies) for p, model in models.items()},
        "noise": {"measurement_noise_mv": None if config.snr_db is not None else config.measurement_noise,
                  "measurement_snr_db": config.snr_db, "envelope_noise": config.envelope_noise,
                  "envelope_snr_db": envelope_snr},
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
