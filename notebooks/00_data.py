# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The data
#
# The paper analyses surface EMG of 16 upper-limb muscles recorded from 15 participants who reached
# to 9 targets in each of 5 planes. Those recordings are not public. This book therefore runs by
# default on a **simulated cohort with the same design** whose muscle synergies, activations and
# envelopes are known, so that every method can be scored against the truth as well as by how well
# it reconstructs the data. The same chapters run unchanged on real public recordings (a second part
# of the book uses shoulder recordings) and on a lab's own data (see "Use your own data").
#
# This chapter shows what the extractors will be given: the study design, the trials, raw EMG and —
# when the dataset is simulated — the model that generated it and its ground truth.

# %% [markdown]
# Parameters: `dataset` is a registered name (`simulated`, `shoulder`, `gait`, `pyomeca-c3d`) or the
# path of a dataset folder; `dataset_options` are that dataset's options — for the simulated cohort
# `{"mixing": "nonlinear"}` switches to non-linear mixing, and `n_participants`, `n_repetitions`,
# `saturation`, ... are listed in `synlib.simulate.SimulationConfig`; `participants` keeps all
# (`None`), the first *n* or a list of ids; `seed` seeds the simulated cohort unless
# `dataset_options` sets its own `seed`, and picks the example trial; `example_participant` is the
# participant shown (`None`: the first).

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
participants = None
seed = 0
example_participant = None

# %%
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from myst_nb import glue

from synlib import datasets, metrics
from synlib.text import span
from synlib.plots import data as plots

sns.set_theme(style="whitegrid", context="notebook")

data = datasets.open_dataset(dataset, dataset_options, participants, seed=seed)
info = data.info
muscle_names = info.get("muscle_names", {})
display(Markdown(
    f"Dataset **{data.name}**: {len(data.participants)} participant(s), {len(data.muscles)} muscles, "
    f"raw EMG at {data.fs:g} Hz, units {info.get('units', 'not stated')}.\n\n"
    f"{info.get('description', '')}\n\n"
    f"**Licence:** {info.get('licence', 'not stated')}. **Cite:** {info.get('citation', 'not stated')}"
))
display(pd.DataFrame({"muscle": data.muscles,
                      "name": [muscle_names.get(m, "") for m in data.muscles]}).set_index("muscle").T)

# %% [markdown]
# ## Study design and trials
#
# The paper's design: each participant reaches from a rest position to 9 targets in each of 5
# planes, 10 repetitions per target, while 16 muscles of the trunk, shoulder, arm and forearm are
# recorded; the authors' group trains on 9 repetitions and tests on the held-out one. The simulated
# cohort copies that design. Where the paper does not publish a detail, the simulator makes a
# choice of ours and says so: the planes are vertical, through the shoulder, at azimuths −60°, −30°,
# 0°, +30° and +60° (negative across the body, positive lateral), and the 9 targets of a plane form
# a 3 × 3 grid of distances from the shoulder (0.30, 0.45, 0.60 m) and heights (−0.20, +0.05,
# +0.30 m); target 1 is low and near, target 9 high and far. When the dataset documents its target
# positions, they are drawn below.

# %%
if "targets" in info:
    plots.plot_target_layout(pd.DataFrame(info["targets"]), info.get("start_position"))
else:
    display(Markdown("This dataset does not document target positions."))

# %% [markdown]
# Every chapter reads the trials through one table: one row per trial with its participant,
# condition, target and plane (when the task has them), repetition, movement onset and offset (when
# known) and length.

# %%
table = data.trial_table()
per_participant = table.groupby("participant", sort=False).size()
conditions = table["condition"].nunique()
repetitions = table.groupby(["participant", "condition"])["repetition"].nunique()

display(Markdown(
    f"{len(table)} trials: {conditions} conditions, {span(repetitions)} repetition(s) per condition, "
    f"{span(per_participant)} trials per participant."))
summary_columns = [c for c in ("participant", "trial", "condition", "target", "plane", "repetition", "onset",
                               "offset", "n_samples") if c in table]
display(table[summary_columns].head(12))
plots.plot_trial_durations(table, data.fs);

glue("n_participants", float(len(data.participants)), display=False)
glue("n_trials", float(len(table)), display=False)
glue("n_conditions", float(conditions), display=False)
glue("n_muscles", float(len(data.muscles)), display=False)
glue("fs_hz", float(data.fs), display=False)

# %% [markdown]
# ## The generative model of the simulated cohort
#
# The simulated cohort (`synlib.simulate`) builds each trial's raw EMG from a model a motor-control
# reader will recognise. For a participant with $k$ synergies $W$ ($k$ × muscles, unit-norm rows,
# the cohort's template times individual log-normal factors) and a trial with movement onset
# $t_0$ and duration $D$ (normalised time $\tau = (t - t_0)/D$):
#
# - **Activations.** Synergy $j$ is tuned to a feature $f_j \in [-1, 1]$ of the reach: the cosine
#   between the reach direction and its preferred direction (shoulder synergies), or the extension
#   (elbow extensors) or flexion (elbow flexors) of the arm. Its bursts have the shape of the
#   minimum-jerk velocity profile, $b(x) = 16x^2(1-x)^2$ on a support that leads the movement a
#   little:
#
#   $$c_j(\tau) = \alpha_j \sqrt{d/0.5}\,\Big[\epsilon\,g_+(f_j)\,b_{\text{acc}}(\tau)
#     + \rho\,\epsilon'\,g_-(f_j)\,b_{\text{dec}}(\tau)\Big],\qquad g_\pm(f) = \big((1 \pm f)/2\big)^2,$$
#
#   with $d$ the reach distance, $\epsilon, \epsilon'$ log-normal trial-to-trial factors, and
#   jittered burst timing and width. Shoulder synergies are *biphasic*: an accelerating burst for
#   reaches towards their preferred direction and a decelerating (braking) burst, $\rho$ times as
#   large, for reaches away from it. Elbow synergies fire one *bell-shaped* burst ($\rho = 0$).
# - **Mixing.** `linear`: $p(t) = c(t)\,W$. `nonlinear`: each muscle has its own sigmoid-like
#   input–output curve, $p_m(t) = s_m \tanh\big(\max(0, (c(t)W)_m - \theta_m) / s_m\big)$, with a
#   recruitment threshold $\theta_m$ (no EMG until the first motor units are recruited) and a
#   saturation level $s_m$ (output levels off as the pool reaches full recruitment and rate), both
#   muscle-specific fractions (`threshold`, `saturation`) of the muscle's nominal drive. Synergies
#   sharing a muscle then interact: together they give less, or more, than the sum of their separate
#   outputs. The mode is a dataset option: `dataset_options={"mixing": "nonlinear"}`.
# - **Tonic (anti-gravity) part.** $T(t) = T_{\text{start}} + \big(T_{\text{end}} - T_{\text{start}}\big)
#   \,(10s^3 - 15s^4 + 6s^5)$ with $s = \text{clip}(\tau, 0, 1)$: a posture-dependent pattern whose
#   size follows the gravitational moment arm of the arm, moving along the minimum-jerk position
#   profile between the start and end postures (so the group's linear-ramp removal is close to, not
#   exactly, the model — as on real data).
# - **Raw EMG.** $e(t) = \big(T(t) + p(t)\big)\,n(t) + \sigma\,w(t) + o$, where $n$ is Gaussian noise
#   band-limited to 20–450 Hz and scaled so that $E|n| = 1$ (rectifying and smoothing the raw EMG
#   gives back the envelope), $w$ white measurement noise and $o$ a small DC offset per trial and
#   muscle.
#
# - **Hand speed.** Each trial also records the hand's speed along its minimum-jerk path,
#   $v(t) = d \cdot 30 s^2 (1-s)^2 / D$; the preprocessing chapter detects movement onset and offset
#   from it (10 % of peak speed, the group's rule), as a lab would, and the generator's $t_0$ and
#   $t_0 + D$ serve only to measure that detection.
# - **What makes it hard** (each a dataset option of `synlib.simulate.SimulationConfig`, documented
#   there with the literature value where one exists; the study plan sets the book's values, shown
#   in the table below): individual synergies (`synergy_variability`) and preferred directions
#   (`tuning_variability`); overlap between a participant's synergies (`synergy_overlap`, the
#   largest cosine); a participant-specific number of synergies (`k_range`, by merging or splitting
#   template synergies); cross-talk from neighbouring muscles (`crosstalk`); bursts of single
#   muscles outside any synergy (`muscle_specific`); bursts reaching into the tonic-removal windows
#   (`burst_leak`); white noise at a stated SNR (`snr_db`) and a slow signal-dependent fluctuation
#   of each envelope (`envelope_noise`).
#
# Each trial has at least 0.65 s of rest before the movement and after it. The ground truth — true
# envelope $T + p$, phasic part $p$, activations $c$ and synergies $W$ — travels with every
# simulated trial. The parameters of this run:

# %%
if "config" in info:
    display(pd.Series(info["config"], name="value").to_frame())
else:
    display(Markdown("This dataset is a recording, not generated: it has no generative model."))

# %% [markdown]
# ## One participant's raw EMG
#
# One trial of the example participant, raw as the preprocessing chapter receives it: each muscle is
# scaled to its own largest deflection so that every trace is visible; dashed and dotted lines mark
# movement onset and offset when the dataset gives them.

# %%
participant = example_participant if example_participant is not None else data.participants[0]
trials = data.trials(participant)
example = trials[np.random.default_rng(seed).integers(len(trials))]
plots.plot_raw_emg(example, data.muscles, data.fs);

# %% [markdown]
# ## Ground truth
#
# When the dataset is simulated, the noiseless envelopes behind the raw EMG are known. The filled
# area is the total envelope (tonic + phasic) on one scale for all muscles; the orange line is the
# synergy-driven phasic part that the extractors are meant to explain.

# %%
has_truth = bool(example.truth) and data.truth_synergies is not None
if has_truth:
    plots.plot_envelopes(example, data.muscles, data.fs, units=info.get("units", ""))
else:
    display(Markdown(f"Dataset **{data.name}** carries no ground truth: the truth figures are skipped."))

# %% [markdown]
# The example participant's true synergies (unit-norm weight vectors), then the spread of each
# synergy's weights across the participants of the study: shared structure with individual
# variation.

# %%
if has_truth:
    names = info.get("synergy_names_by_participant") or {p: info.get("synergy_names") for p in data.participants}
    truth = data.truth_synergies(participant)
    plots.plot_synergies(truth, data.muscles, names[participant], title=f"True synergies of participant {participant}")
    by_participant = {p: data.truth_synergies(p) for p in data.participants}
    plots.plot_synergies_across_participants(
        plots.synergies_table(by_participant, data.muscles, names), data.muscles)
    ks = pd.Series({p: w.shape[0] for p, w in by_participant.items()}, name="k")
    pairs = metrics.cross_participant_similarity(by_participant) if len(by_participant) > 1 else None
    similarity = float(pairs["similarity"].median()) if pairs is not None else float("nan")
    display(Markdown(
        f"True synergies per participant: {span(ks)} (median {ks.median():g}). Matched similarity of "
        f"the true synergies between participants (mean cosine of one-to-one matched pairs, median over "
        f"pairs of participants): {similarity:.3f}."))
    glue("k_true", float(truth.shape[0]), display=False)
    glue("k_true_range", span(ks), display=False)
    glue("truth_similarity_between_participants", float(similarity), display=False)

# %% [markdown]
# How the true activations depend on the reach: the mean over repetitions of each synergy's
# activation between movement onset (0) and offset (1), one colour per target, one column per plane.
# Biphasic shoulder synergies show their accelerating and braking bursts; the elbow synergies follow
# how far the arm extends or flexes.

# %%
if has_truth and {"target", "plane"} <= set(table) and table[["onset", "offset"]].notna().all().all():
    profiles = plots.activation_profiles(trials, data.fs, names=info.get("synergy_names"))
    plots.plot_activation_profiles(profiles);

# %% [markdown]
# The next chapter turns the raw EMG into envelopes with the authors' group's preprocessing and, for
# the simulated cohort, measures how close they come to the true envelopes shown here.
