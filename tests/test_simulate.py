"""The simulated reaching cohort: design, determinism, ground truth, timing."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
from scipy import signal

from synlib.simulate import (
    MUSCLES,
    NEIGHBOURHOOD,
    PLANES,
    START_POSITION,
    TEMPLATE_DIRECTIONS,
    TEMPLATE_SYNERGIES,
    WORKSPACE_CENTRE,
    WORKSPACE_HALF_RANGE,
    SimulationConfig,
    _mix,
    _trial_design,
    cross_participant_similarity,
    largest_cosine,
    participant_model,
    simulate_cohort,
    synergies_at,
    target_positions,
    with_overlap,
)

SMALL = {"n_repetitions": 1}

# SHA-256 of the cohort as generated before the difficulty options existed (commit e71cb62):
# every option's default must reproduce it byte for byte.
# The raw EMG (noise filtered into the envelopes) is kept per instruction set, see below.
DEFAULT_P01_EMG = {"avx512": "fd5ce7c0a8fa49f767728714180cfede9c12425b67529fa52af915244db6363c",
                   "avx2": "f1daf2d3e24a444e8f4d32172529f8a9f573d6be8c8f01ddfb179dd1d397a8c9"}
DEFAULT_P01_EMG_SUMS = (8924.97080063984, 82531.84172757316, 705169.4037275813)
DEFAULT_P01_ACTIVATIONS = "8c04fc84794a8b4003e9dccf1916d152c35575af473640b1dbbf8ab23ab7e877"
DEFAULT_P01_SYNERGIES = "d3180e819642994d607c1c455522fa14935efdb080e89ae7519b3bcdae13f99d"
# The raw EMG's bytes differ between machines with and without AVX-512: the same code and package
# versions gave other bytes on an AMD EPYC without it (the true activations and synergies are the
# same; most likely the SIMD code that filters the noise rounds differently). So the bytes are
# kept per instruction set, and the sums, which agree to far below any tolerance a result depends
# on, are checked on any machine.
SMALL_P03_EMG = {
    "avx512": {"linear": "ef6b966e808d4749ea12e2f56f15bcf5fddb30b73678e46bd3768471ca1ee8ff",
               "nonlinear": "305b1742182e53fc7f2f1555548a41c960e0bf860ac97a7b08e810b3ee9cc6c1"},
    "avx2": {"linear": "685b7b7601ab032ca69086831e2d80b650431140cc0bab19fc08dd62a9319257",
             "nonlinear": "99a142d7e54f92188dee1c5f24a59fe71ac1219041c2670ddfc60b0cf5265d4a"},
}
# sum, sum of squares and sum of absolute values of P03's EMG (seen on an AMD EPYC without AVX-512)
SMALL_P03_SUMS = {"linear": (272.9005331575295, 6032.513247958817, 66597.18670580038),
                  "nonlinear": (272.89136542952747, 3056.4588646488946, 52086.715525716296)}


def _check_emg(trials, sums, digests) -> None:
    """The trials' EMG has these sums (any machine) and, on a machine whose instruction set
    has a recorded digest, these bytes."""
    X = np.concatenate([t.emg for t in trials])
    np.testing.assert_allclose([X.sum(), (X ** 2).sum(), np.abs(X).sum()], sums, rtol=1e-9)
    level = _instruction_set()
    if level is not None:
        assert digest(trials) == digests[level]


def _instruction_set() -> str | None:
    from numpy._core._multiarray_umath import __cpu_features__ as features

    if features.get("AVX512_SKX"):
        return "avx512"
    return "avx2" if features.get("AVX2") else None


def digest(trials, key=None) -> str:
    """SHA-256 of the trials' raw EMG (or of one truth array), in trial order."""
    hasher = hashlib.sha256()
    for trial in trials:
        hasher.update(np.ascontiguousarray(trial.emg if key is None else trial.truth[key]).tobytes())
    return hasher.hexdigest()


@pytest.fixture(scope="module")
def linear_trials():
    return simulate_cohort(n_participants=2, **SMALL).trials("P02")


def test_design_of_the_paper():
    cohort = simulate_cohort()
    assert cohort.participants == [f"P{i:02d}" for i in range(1, 16)]
    assert cohort.fs == 1000.0
    assert cohort.muscles == MUSCLES and len(MUSCLES) == 16
    assert cohort.muscles[:3] == ("ES", "TMaj", "Infra") and cohort.muscles[-1] == "BrRad"
    table = cohort.subset(["P03"]).trial_table()
    assert len(table) == 450
    assert sorted(table["plane"].unique()) == sorted(PLANES)
    assert sorted(table["target"].unique()) == list(range(1, 10))
    assert (table.groupby("condition")["repetition"].apply(sorted) == [list(range(1, 11))] * 45).all()
    assert table["trial"].is_unique


def test_the_default_cohort_is_the_one_before_the_difficulty_options():
    cohort = simulate_cohort()
    trials = cohort.trials("P01")
    _check_emg(trials, DEFAULT_P01_EMG_SUMS, DEFAULT_P01_EMG)
    assert digest(trials, "activations") == DEFAULT_P01_ACTIVATIONS
    assert hashlib.sha256(cohort.truth_synergies("P01").tobytes()).hexdigest() == DEFAULT_P01_SYNERGIES


@pytest.mark.parametrize("mixing", ["linear", "nonlinear"])
def test_both_old_mixing_modes_are_unchanged(mixing):
    trials = simulate_cohort(n_participants=3, mixing=mixing, **SMALL).trials("P03")
    _check_emg(trials, SMALL_P03_SUMS[mixing], {level: hashes[mixing] for level, hashes in SMALL_P03_EMG.items()})


def test_same_seed_same_cohort_byte_for_byte():
    options = {"n_participants": 2, "seed": 7, **SMALL}
    assert digest(simulate_cohort(**options).trials("P02")) == digest(simulate_cohort(**options).trials("P02"))


def test_trial_table_matches_generated_trials(linear_trials):
    table = simulate_cohort(n_participants=2, **SMALL).subset(["P02"]).trial_table()
    assert list(table["trial"]) == [t.meta["trial"] for t in linear_trials]
    assert list(table["n_samples"]) == [t.emg.shape[0] for t in linear_trials]
    assert list(table["onset"]) == [t.meta["onset"] for t in linear_trials]


def test_a_participant_alone_is_identical_and_seeds_differ(linear_trials):
    alone = simulate_cohort(n_participants=5, **SMALL).trials("P02")
    assert all(np.array_equal(a.emg, b.emg) for a, b in zip(alone, linear_trials))
    other_seed = simulate_cohort(n_participants=2, seed=1, **SMALL).trials("P02")
    assert not np.array_equal(other_seed[0].emg[:100], linear_trials[0].emg[:100])
    other_participant = simulate_cohort(n_participants=2, **SMALL).trials("P01")
    assert not np.array_equal(other_participant[0].emg[:100], linear_trials[0].emg[:100])


def test_linear_truth_reconstructs_the_noiseless_envelope(linear_trials):
    cohort = simulate_cohort(n_participants=2, **SMALL)
    synergies = cohort.truth_synergies("P02")
    np.testing.assert_allclose(np.linalg.norm(synergies, axis=1), 1.0)
    for trial in linear_trials[::7]:
        truth = trial.truth
        np.testing.assert_allclose(truth["activations"] @ synergies, truth["phasic"], rtol=1e-12, atol=1e-15)
        tonic = truth["envelope"] - truth["phasic"]
        assert tonic.min() > 0
        assert truth["activations"].min() >= 0 and truth["activations"].max() > 0.01


def test_nonlinear_mixing_saturates_the_same_drive(linear_trials):
    nonlinear = simulate_cohort(n_participants=2, mixing="nonlinear", **SMALL).trials("P02")
    synergies = participant_model(SimulationConfig(), "P02").synergies
    lin, non = linear_trials[40].truth, nonlinear[40].truth
    np.testing.assert_array_equal(lin["activations"], non["activations"])
    drive = non["activations"] @ synergies
    assert np.all(non["phasic"] <= drive + 1e-15)
    assert np.abs(non["phasic"] - drive).max() > 0.1 * drive.max()


def test_rest_and_movement_timing(linear_trials):
    for trial in linear_trials:
        onset, offset = trial.meta["onset"], trial.meta["offset"]
        duration = trial.emg.shape[0] / 1000.0
        assert onset >= 0.6 and duration - offset >= 0.6
        assert 0.8 - 1e-9 <= offset - onset <= 1.2 + 1e-9
        t = np.arange(trial.emg.shape[0]) / 1000.0
        activations = trial.truth["activations"]
        quiet = ((t >= onset - 0.4) & (t <= onset - 0.2)) | ((t >= offset + 0.2) & (t <= offset + 0.4))
        assert activations[quiet].max() == 0.0
        tonic = trial.truth["envelope"] - trial.truth["phasic"]
        before, after = tonic[t < onset], tonic[t > offset]
        assert np.ptp(before, axis=0).max() < 1e-12 and np.ptp(after, axis=0).max() < 1e-12


def test_rectified_raw_emg_gives_back_the_envelope(linear_trials):
    trial = linear_trials[22]
    sos = signal.butter(4, 20, fs=1000, output="sos")
    rectified = np.abs(trial.emg - trial.emg.mean(axis=0))
    smooth = signal.sosfiltfilt(sos, rectified, axis=0)
    envelope = trial.truth["envelope"]
    active = envelope.max(axis=0) > 0.05
    for m in np.flatnonzero(active):
        assert np.corrcoef(smooth[:, m], envelope[:, m])[0, 1] > 0.9, MUSCLES[m]
        assert 0.8 < smooth[:, m].mean() / envelope[:, m].mean() < 1.25, MUSCLES[m]


def test_raw_emg_is_band_limited(linear_trials):
    f, power = signal.welch(np.stack([t.emg[:2000] for t in linear_trials[:10]]), fs=1000, nperseg=512, axis=1)
    power = power.mean(axis=(0, 2))
    assert power[(f > 60) & (f < 300)].mean() > 20 * power[(f > 1) & (f < 8)].mean()


def test_activations_are_tuned_to_the_reach(linear_trials):
    peaks = np.array([t.truth["activations"].max(axis=0) for t in linear_trials])   # conditions × k
    planes = np.array([t.meta["plane"] for t in linear_trials])
    targets = np.array([t.meta["target"] for t in linear_trials])
    lateral, medial = peaks[planes == PLANES[-1]].mean(axis=0), peaks[planes == PLANES[0]].mean(axis=0)
    assert lateral[1] > 1.5 * medial[1]      # lateral-shoulder synergy: lateral reaches
    assert medial[0] > 1.5 * lateral[0]      # anterior shoulder: forward reaches across the body
    far, near = peaks[targets == 9].mean(axis=0), peaks[targets == 4].mean(axis=0)
    assert far[3] > 5 * near[3]              # elbow extensors: the arm extends to far targets
    assert near[4] > 5 * far[4]              # elbow flexors: the hand comes closer


def test_individual_synergies_vary_around_the_template():
    similarity = []
    for participant in ("P01", "P02", "P03"):
        synergies = participant_model(SimulationConfig(), participant).synergies
        similarity.append(np.sum(synergies * TEMPLATE_SYNERGIES, axis=1))
    similarity = np.array(similarity)
    assert similarity.min() > 0.8 and similarity.max() < 0.9999
    assert not np.allclose(similarity[0], similarity[1])


@pytest.mark.parametrize("options, message", [
    ({"mixing": "quadratic"}, "mixing='quadratic' is not known; use one of linear, nonlinear, multiplicative, "
                              "posture"),
    ({"n_participants": 0}, "n_participants=0 must be a positive integer"),
    ({"fs": 600.0}, "sampling rate 600 Hz is too low for a 450 Hz cutoff"),
    ({"measurement_noise": -0.001}, r"measurement_noise=-0.001 must be zero or positive"),
    ({"envelope_noise": -0.1}, r"envelope_noise=-0.1 must be zero or positive"),
    ({"snr_db": float("nan")}, r"snr_db=nan must be a finite number of decibels"),
    ({"synergy_overlap": 1.0}, r"synergy_overlap=1.0 must be in \[0, 1\)"),
    ({"synergy_overlap": -0.1}, r"synergy_overlap=-0.1 must be in \[0, 1\)"),
    ({"k_range": 17}, r"k_range=17: the number of synergies must be between 1 and the 16 muscles"),
    ({"k_range": (0, 5)}, r"k_range=\(0, 5\): the number of synergies must be between 1 and the 16 muscles"),
    ({"k_range": (6, 4)}, r"k_range=\(6, 4\): .* smallest first"),
    ({"k_range": (4.5, 6)}, r"k_range=\(4.5, 6\) must be an integer or a pair"),
    ({"crosstalk": -0.1}, r"crosstalk=-0.1 must be in \[0, 1\)"),
    ({"crosstalk": 1.0}, r"crosstalk=1.0 must be in \[0, 1\)"),
    ({"muscle_specific": -0.5}, r"muscle_specific=-0.5 must be zero or positive"),
    ({"burst_leak": 0.8}, r"burst_leak=0.8 must be in \[0, 0.5\]"),
    ({"nonlinearity": -1.0}, r"nonlinearity=-1.0 must be zero or positive"),
    ({"tuning_variability": -0.2}, r"tuning_variability=-0.2 must be zero or positive"),
    ({"interaction": float("inf")}, r"interaction=inf must be zero or positive"),
    ({"posture_drift": -0.5}, r"posture_drift=-0.5 must be zero or positive"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        simulate_cohort(**options)


# --------------------------------------------------------------------------- difficulty options

EVERY_AXIS = {"synergy_overlap": 0.6, "synergy_variability": 0.6, "tuning_variability": 0.3, "k_range": (4, 6),
              "crosstalk": 0.15, "muscle_specific": 0.2, "burst_leak": 0.2, "snr_db": 20.0,
              "envelope_noise": 0.2}


def test_same_seed_same_cohort_with_every_option_on():
    for mixing in ("multiplicative", "posture"):
        options = {"n_participants": 2, "mixing": mixing, **EVERY_AXIS, **SMALL}
        first, second = simulate_cohort(**options), simulate_cohort(**options)
        assert digest(first.trials("P01")) == digest(second.trials("P01"))
        assert digest(first.trials("P01"), "phasic") == digest(second.trials("P01"), "phasic")
        assert digest(first.trials("P01")) != digest(simulate_cohort(**{**options, "seed": 1}).trials("P01"))


@pytest.mark.parametrize("overlap", [0.0, 0.2, 0.6, 0.9])
def test_overlap_gives_the_asked_largest_cosine(overlap):
    config = SimulationConfig(synergy_overlap=overlap, n_participants=6)
    reached = [largest_cosine(participant_model(config, p).synergies) for p in config.participants]
    np.testing.assert_allclose(reached, overlap, atol=1e-6)
    if overlap == 0:
        synergies = participant_model(config, "P01").synergies
        assert ((synergies > 0).sum(axis=0) <= 1).all()       # no muscle shared
        assert (synergies.max(axis=1) > 0).all()               # no synergy left empty


def test_overlap_changes_the_synergies_not_the_activations():
    default = simulate_cohort(n_participants=1, **SMALL)
    overlapping = simulate_cohort(n_participants=1, synergy_overlap=0.8, **SMALL)
    assert digest(default.trials("P01"), "activations") == digest(overlapping.trials("P01"), "activations")
    assert largest_cosine(default.truth_synergies("P01")) < 0.6
    truth = overlapping.truth_synergies("P01")
    trial = overlapping.trials("P01")[10]
    np.testing.assert_allclose(trial.truth["activations"] @ truth, trial.truth["phasic"], rtol=1e-12, atol=1e-15)


def test_with_overlap_goes_both_ways_from_the_template():
    assert largest_cosine(TEMPLATE_SYNERGIES) == pytest.approx(0.38, abs=0.005)
    np.testing.assert_allclose(with_overlap(TEMPLATE_SYNERGIES, largest_cosine(TEMPLATE_SYNERGIES)),
                               TEMPLATE_SYNERGIES, rtol=1e-12)
    lower, higher = with_overlap(TEMPLATE_SYNERGIES, 0.1), with_overlap(TEMPLATE_SYNERGIES, 0.7)
    # lowering takes shared muscles away; raising mixes in the common pattern
    assert (lower > 0).sum() <= (TEMPLATE_SYNERGIES > 0).sum()
    assert (higher > 0).all() and (higher >= 0).all() and (lower >= 0).all()


def test_synergy_variability_sets_the_similarity_across_participants():
    similarity = [cross_participant_similarity(SimulationConfig(synergy_variability=s, n_participants=6))
                  for s in (0.0, 0.25, 0.6, 1.0)]
    assert similarity == sorted(similarity, reverse=True)
    assert similarity[0] > 0.98 and 0.94 < similarity[1] < 0.99 and 0.75 < similarity[2] < 0.9


def test_tuning_variability_spreads_the_preferred_directions():
    def spread(sigma):
        config = SimulationConfig(tuning_variability=sigma, n_participants=8)
        template = TEMPLATE_DIRECTIONS[:3]
        angles = [np.degrees(np.arccos(np.clip(np.sum(participant_model(config, p).directions[:3] * template,
                                                          axis=1), -1, 1))) for p in config.participants]
        return float(np.mean(angles))
    assert spread(0.0) < 1e-6
    assert 5 < spread(0.15) < 15          # the documented ≈ 9°
    assert spread(0.45) > 2.5 * spread(0.15)


def test_participant_k_varies_and_the_truth_is_that_participants_set():
    cohort = simulate_cohort(n_participants=15, k_range=(4, 6), **SMALL)
    ks = cohort.info["k_by_participant"]
    assert set(ks.values()) == {4, 5, 6}
    default = simulate_cohort(n_participants=15, **SMALL)
    for participant in ("P01", "P02", "P03", "P04"):
        truth = cohort.truth_synergies(participant)
        assert truth.shape == (ks[participant], len(MUSCLES))
        assert len(cohort.info["synergy_names_by_participant"][participant]) == ks[participant]
        trial = cohort.trials(participant)[30]
        assert trial.truth["activations"].shape[1] == ks[participant]
        np.testing.assert_allclose(trial.truth["activations"] @ truth, trial.truth["phasic"], rtol=1e-12, atol=1e-15)
        same = digest(cohort.trials(participant)) == digest(default.trials(participant))
        assert same == (ks[participant] == 5)       # a participant who keeps k = 5 is unchanged


def test_merged_and_split_synergies():
    merged = participant_model(SimulationConfig(k_range=4), "P02")
    assert merged.k == 4 and sum(" + " in name for name in merged.names) == 1
    assert len(merged.amplitudes) == 5 and np.bincount(merged.groups).max() == 2   # two components, one synergy
    split = participant_model(SimulationConfig(k_range=6, synergy_variability=0.0), "P02")
    fractions = [i for i, name in enumerate(split.names) if "(fraction" in name]
    assert split.k == 6 and len(fractions) == 2
    # fractions of one template synergy sit on disjoint muscles (over the small positive floor)
    big = split.synergies[fractions] > 0.1
    assert not (big[0] & big[1]).any()
    for k in (1, 16):
        assert participant_model(SimulationConfig(k_range=k), "P01").synergies.shape == (k, len(MUSCLES))


def test_crosstalk_adds_the_neighbours_raw_emg():
    quiet = {"n_participants": 1, "measurement_noise": 0.0, **SMALL}
    clean = simulate_cohort(**quiet).trials("P01")[20].emg
    mixed = simulate_cohort(crosstalk=0.2, **quiet).trials("P01")[20].emg
    es, delt_a = MUSCLES.index("ES"), MUSCLES.index("DeltA")
    np.testing.assert_array_equal(mixed[:, es], clean[:, es])          # the erector spinae has no neighbour
    neighbours = NEIGHBOURHOOD[delt_a] > 0
    assert {MUSCLES[i] for i in np.flatnonzero(neighbours)} == {"DeltM", "PecMaj"}
    added = mixed[:, delt_a] - clean[:, delt_a]
    # the added signal is 0.2 times the neighbours' (DC-free) raw EMG
    neighbour = clean[:, neighbours].sum(axis=1)
    slope = np.polyfit(neighbour - neighbour.mean(), added - added.mean(), 1)[0]
    assert slope == pytest.approx(0.2, rel=1e-6)
    assert abs(np.corrcoef(mixed[:, delt_a], mixed[:, MUSCLES.index("DeltM")])[0, 1]) > \
        abs(np.corrcoef(clean[:, delt_a], clean[:, MUSCLES.index("DeltM")])[0, 1]) + 0.1


def test_muscle_specific_bursts_are_added_outside_the_synergies():
    default = simulate_cohort(n_participants=1, **SMALL)
    own = {s: simulate_cohort(n_participants=1, muscle_specific=s, **SMALL).trials("P01") for s in (0.2, 0.4)}
    synergies = default.truth_synergies("P01")
    extra = {}
    for s, trials in own.items():
        assert digest(trials, "activations") == digest(default.trials("P01"), "activations")
        extra[s] = np.concatenate([t.truth["phasic"] - t.truth["activations"] @ synergies for t in trials[:10]])
    np.testing.assert_allclose(extra[0.4], 2 * extra[0.2], rtol=1e-9, atol=1e-15)
    assert extra[0.2].min() >= 0 and (extra[0.2].max(axis=0) > 0).all()      # every muscle bursts
    model = participant_model(SimulationConfig(), "P01")
    nominal = model.synergy_amplitudes @ model.synergies
    peaks = np.array([(t.truth["phasic"] - t.truth["activations"] @ synergies).max(axis=0) for t in own[0.2]])
    typical = np.median(peaks / nominal)
    assert 0.1 < typical < 0.4                                # around 0.2 of the nominal drive


def test_burst_leak_reaches_into_the_tonic_windows():
    def windowed_peak(trials):
        peaks = []
        for trial in trials:
            onset, offset = trial.meta["onset"], trial.meta["offset"]
            t = np.arange(trial.emg.shape[0]) / 1000.0
            window = ((t >= onset - 0.4) & (t <= onset - 0.2)) | ((t >= offset + 0.2) & (t <= offset + 0.4))
            peaks.append(trial.truth["activations"][window].max() / trial.truth["activations"].max())
        return max(peaks)
    peaks = [windowed_peak(simulate_cohort(n_participants=1, burst_leak=leak, **SMALL).trials("P01"))
             for leak in (0.0, 0.1, 0.3)]
    assert peaks[0] == 0.0 and 0 < peaks[1] < peaks[2] and peaks[2] > 0.3


@pytest.mark.parametrize("snr", [0.0, 10.0, 25.0])
def test_snr_db_sets_the_measurement_noise(snr):
    quiet = {"n_participants": 1, "measurement_noise": 0.0, **SMALL}
    clean = simulate_cohort(**quiet).trials("P01")
    noisy = simulate_cohort(snr_db=snr, **quiet)
    assert noisy.info["noise"]["measurement_snr_db"] == snr
    noise = np.concatenate([a.emg - b.emg for a, b in zip(noisy.trials("P01"), clean)])
    own = np.concatenate([t.truth["envelope"] for t in clean])
    realised = 10 * np.log10(np.mean(own**2, axis=0) * np.pi / 2 / np.mean(noise**2, axis=0))
    np.testing.assert_allclose(realised, snr, atol=0.1)


def test_envelope_noise_is_a_slow_multiplicative_fluctuation():
    options = {"n_participants": 1, "measurement_noise": 0.0, **SMALL}
    clean = simulate_cohort(**options).trials("P01")[5]
    cohort = simulate_cohort(envelope_noise=0.2, **options)
    assert cohort.info["noise"]["envelope_snr_db"] == pytest.approx(-20 * np.log10(0.2))
    noisy = cohort.trials("P01")[5]
    # emg = (envelope × carrier) × (1 + ε) + dc, with the same carrier and dc
    dc = _trial_design(SimulationConfig(**options), participant_model(SimulationConfig(**options), "P01"))[1]["dc"][5]
    source = clean.emg - dc
    strong = np.abs(source) > 0.05 * np.abs(source).max()
    epsilon = (noisy.emg - clean.emg)[strong] / source[strong]
    assert np.std(epsilon) == pytest.approx(0.2, rel=0.25)
    ratio = np.where(strong, (noisy.emg - clean.emg) / np.where(strong, source, 1.0), np.nan)
    step = np.diff(ratio, axis=0)
    assert np.nanstd(step) < 0.1 * np.std(epsilon)            # slow: it hardly moves from one ms to the next
    np.testing.assert_array_equal(noisy.truth["envelope"], clean.truth["envelope"])   # noise is not truth


@pytest.mark.parametrize("mixing", ["nonlinear", "multiplicative", "posture"])
def test_nonlinearity_zero_is_the_linear_mode_exactly(mixing):
    linear = simulate_cohort(n_participants=1, **SMALL).trials("P01")
    flat = simulate_cohort(n_participants=1, mixing=mixing, nonlinearity=0.0, **SMALL).trials("P01")
    assert digest(flat) == digest(linear)


@pytest.mark.parametrize("mixing", ["nonlinear", "multiplicative", "posture"])
def test_nonlinearity_strength_grows_the_departure_from_linear(mixing):
    def departure(strength):
        trials = simulate_cohort(n_participants=1, mixing=mixing, nonlinearity=strength, **SMALL).trials("P01")
        drive = [t.truth["activations"] @ participant_model(SimulationConfig(), "P01").synergies for t in trials[::5]]
        phasic = [t.truth["phasic"] for t in trials[::5]]
        return sum(np.abs(p - d).sum() for p, d in zip(phasic, drive)) / sum(d.sum() for d in drive)
    values = [departure(s) for s in (0.0, 0.5, 1.0, 2.0)]
    assert values[0] == 0.0 and values == sorted(values) and values[2] > 0.05


def test_multiplicative_mixing_is_not_additive():
    config = SimulationConfig(mixing="multiplicative", interaction=0.8)
    model = participant_model(config, "P01")
    c = np.zeros((3, model.k))
    c[0, 0], c[1, 1] = model.synergy_amplitudes[0], model.synergy_amplitudes[1]
    c[2] = c[0] + c[1]
    out = _mix(c, model, config, None)
    np.testing.assert_allclose(out[:2], c[:2] @ model.synergies, rtol=1e-12)   # alone: the true synergy
    together = out[2] - out[0] - out[1]
    shared = model.synergies[0] * model.synergies[1]
    # each facilitates the other on the muscles they share: γ (α_0 + α_1) W_0m W_1m at nominal amplitudes
    np.testing.assert_allclose(together, 0.8 * (model.synergy_amplitudes[0] + model.synergy_amplitudes[1]) * shared,
                               rtol=1e-9)
    assert together.max() > 0.05 * out[2].max()


def test_posture_mixing_drifts_with_the_hand_and_its_truth_is_the_centre():
    config = SimulationConfig(mixing="posture", posture_drift=0.5)
    cohort = simulate_cohort(n_participants=1, mixing="posture", **SMALL)
    model = participant_model(config, "P01")
    np.testing.assert_allclose(synergies_at(model, config, WORKSPACE_CENTRE), cohort.truth_synergies("P01"),
                               rtol=1e-12)
    corner = WORKSPACE_CENTRE + WORKSPACE_HALF_RANGE
    log_ratio = np.log(synergies_at(model, config, corner) / model.synergies)
    log_ratio -= log_ratio.mean(axis=1, keepdims=True)          # take out the renormalisation
    assert 0.3 < log_ratio.std() < 0.7                           # β = 0.5 at a corner
    # the phasic output is the activations times the weights at the hand's position
    trial = cohort.trials("P01")[44]
    targets = target_positions()
    end = targets.loc[(targets["plane"] == trial.meta["plane"]) & (targets["target"] == trial.meta["target"]),
                      ["x", "y", "z"]].to_numpy()[0]
    t = np.arange(trial.emg.shape[0]) / 1000.0
    s = np.clip((t - trial.meta["onset"]) / (trial.meta["offset"] - trial.meta["onset"]), 0, 1)
    position = START_POSITION + (10 * s**3 - 15 * s**4 + 6 * s**5)[:, None] * (end - START_POSITION)
    expected = np.einsum("nk,nkm->nm", trial.truth["activations"], synergies_at(model, config, position))
    np.testing.assert_allclose(trial.truth["phasic"], expected, rtol=1e-10, atol=1e-15)


def test_info_states_the_truth_and_the_noise():
    info = simulate_cohort(n_participants=2, mixing="posture", snr_db=15.0).info
    assert "workspace centre" in info["truth_definition"]
    assert info["noise"]["measurement_snr_db"] == 15.0 and info["noise"]["measurement_noise_mv"] is None
    assert info["config"]["k_range"] == (5, 5) and info["k_by_participant"] == {"P01": 5, "P02": 5}


def test_the_dataset_adapter_passes_every_option():
    from synlib import datasets
    accepted = datasets.options("simulated")
    for option in dataclasses.fields(SimulationConfig):
        if option.name != "fs":                  # the sampling rate is the design's, not a plan's choice
            assert accepted[option.name] == option.default, option.name
    cohort = datasets.load("simulated", n_participants=1, n_repetitions=1, **EVERY_AXIS)
    assert cohort.info["config"]["crosstalk"] == 0.15 and cohort.info["config"]["k_range"] == (4, 6)


def test_hand_speed_is_a_minimum_jerk_bell_whose_ten_percent_crossings_the_detector_finds(linear_trials):
    from synlib.preprocess.segment import speed_onset_offset

    for trial in linear_trials[:5]:
        onset, offset = trial.meta["onset"], trial.meta["offset"]
        speed = trial.kinematics["hand_speed"]
        t = np.arange(len(speed)) / 1000.0
        assert speed[(t < onset) | (t > offset)].max() == 0.0
        distance = np.linalg.norm(np.array([trial.meta["distance_m"]]))
        # the path integrates to the reach distance, and the detector's error is the bell's 10 % point
        assert np.trapezoid(speed, t) == pytest.approx(distance, rel=1e-3)
        detected = speed_onset_offset(speed, t, 0.10)
        tau = 0.0860   # 30 s²(1 − s)² = 0.1 · 30/16
        assert detected[0] - onset == pytest.approx(tau * (offset - onset), abs=2e-3)
        assert offset - detected[1] == pytest.approx(tau * (offset - onset), abs=2e-3)
