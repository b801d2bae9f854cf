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
# # Preprocessing: from raw EMG to envelopes
#
# Synergy extraction does not see raw EMG. It sees, for each participant, a matrix whose rows are
# time samples of every movement and whose columns are muscles, holding non-negative envelopes of
# muscle activity. This chapter builds that matrix from the raw recordings with `synlib.preprocess`,
# shows every step on one trial, and — when the dataset is simulated — checks the result against the
# envelopes the simulator used to make the raw EMG.

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
participants = None
seed = 0
preprocess = {}
example_participant = None
example_trial = None

# %%
import matplotlib.pyplot as plt
import seaborn as sns
from IPython.display import Markdown, display
from myst_nb import glue

import synlib.preprocess as prep
from synlib import datasets, results, text
from synlib.plots import preprocessing as plots
from synlib.preprocess.chain import steps_table

sns.set_theme(style="whitegrid", context="notebook")

config = prep.PreprocessConfig.from_dict(preprocess)
# A dataset that is generated from a seed (the simulated cohort) takes the chapter's seed
# unless the study plan sets one in dataset_options.
if dataset in datasets.available() and "seed" in datasets.options(dataset):
    dataset_options = {"seed": seed, **dataset_options}
data = datasets.open_dataset(dataset, dataset_options, participants)
display(Markdown(
    f"Dataset **{data.name}**: {len(data.participants)} participant(s), {len(data.muscles)} muscles "
    f"({', '.join(data.muscles)}), raw EMG at {data.fs:g} Hz."
))

# %% [markdown]
# ## The steps and whose choice each one is
#
# Each step is a small function over samples × muscles arrays (`synlib.preprocess.steps`), and one
# configuration object (`PreprocessConfig`) holds every choice; the configuration builds the list of
# named steps that runs on every trial (`synlib.preprocess.chain`). The chapter parameter `preprocess`
# is a dictionary of overrides (for example `{"lowpass_hz": 10}` or `{"preset": "musclesyneRgies"}`);
# a misspelt name is refused with the list of allowed ones.
#
# The defaults follow the authors' group (their SynergyAnalyzer toolbox, as described in the design
# guide; the paper itself does not give its preprocessing): full-wave rectification, a zero-phase
# low-pass at 20 Hz, averaging into 10 ms bins, removal of the tonic (anti-gravity) part by a linear
# ramp between the mean of [−0.4, −0.2] s before movement onset and the mean of [+0.2, +0.4] s after
# its end with negative values set to zero, 100 samples per movement, and each muscle divided by its
# maximum over all of a participant's trials. Ours are the steps before rectification — removing
# each muscle's mean and a 4th-order zero-phase Butterworth high-pass at 20 Hz, because raw EMG
# carries a DC offset and slow motion artefact that rectification would fold into the envelope —,
# the order of the low-pass filter, and the order in which movement onset and offset are found:
# from the recorded hand speed where the dataset has one (at 10 % of its peak, the group's rule; the
# simulated cohort records it), else from the onsets the dataset gives, else where the
# muscle-averaged envelope rises above its baseline by a quarter of the way to its peak. The table
# lists every option with the value used here.

# %%
choices = config.describe()
display(text.table(choices, "Every preprocessing option; in bold, those this plan changed from the default.").apply(
    lambda row: ["font-weight: bold" if row["value"] != row["default"] else "" for _ in row], axis=1))

# %%
envelopes = prep.preprocess(data, config)
rows_per_participant = envelopes.rows.groupby("participant").size()
glue("preprocess_n_rows", float(envelopes.X.shape[0]), display=False)
glue("preprocess_n_participants", float(len(envelopes.participants)), display=False)
glue("preprocess_n_muscles", float(len(envelopes.muscles)), display=False)
glue("preprocess_rows_per_participant", float(rows_per_participant.median()), display=False)
display(Markdown(
    f"The matrix has **{envelopes.X.shape[0]} rows × {len(envelopes.muscles)} muscles**: "
    f"{len(envelopes.participants)} participant(s), a median of {rows_per_participant.median():.0f} rows "
    f"each ({envelopes.rows.groupby('participant')['trial'].nunique().median():.0f} trials)."
))

# %% [markdown]
# These are the steps that ran, in order, with their parameters: first on each trial alone, then on
# each participant's trials together. The list is saved with the envelopes (`preprocess_steps.csv`),
# so a later chapter or another lab can tell how its matrix was made. A fork that needs a step of
# its own (a notch filter, an artefact rejection) names it in the `insert_steps` option, after one
# of these, without editing this chapter.

# %%
display(text.table(steps_table(envelopes.preprocessing), "One step that made the envelopes, in the order they ran."))

# %% [markdown]
# ## Every step on one trial
#
# The panels follow one raw trial through the steps, top to bottom, for the four muscles whose
# envelope rises most above its median in this trial. The shaded span is the movement (or each
# phase of a cycle) that time normalisation turns into rows. In the tonic panel the grey line is the
# envelope and the red line the ramp estimated from the rest before and after the movement; what is
# left above the ramp is the phasic part, divided by the participant's per-muscle maximum in the
# last panel.

# %%
participant = envelopes.participants[0] if example_participant is None else str(example_participant)
trace = prep.trace_trial(data, participant, example_trial, config,
                         scale=envelopes.amplitude_scale.get(participant))
fig = plots.plot_steps(trace, data.muscles)
fig.suptitle(f"participant {participant}, trial {trace.row_columns['trial'][0]} "
             f"(units: {data.info.get('units', 'not stated')})", y=1.01)
plt.show()

# %% [markdown]
# ## The matrix of one participant
#
# Each column of the heat map is one row of the matrix the extractors take; the movements follow
# each other, grouped as the dataset lists them. Below it, each muscle's mean profile over the
# movement, one line per group: the directional tuning of the muscles is what synergies will have to
# explain.

# %%
plots.plot_matrix(envelopes, participant)
plt.show()
plots.plot_profiles(envelopes, participant)
plt.show()

# %% [markdown]
# ## Are the true envelopes recovered?
#
# A simulated cohort carries the envelopes its raw EMG was made from. Its truth went through the
# same segmentation and time normalisation as the EMG (not through the filters), so each row of the
# matrix has a true counterpart. The true *phasic* envelope — the part driven by the synergies, the
# tonic part excluded — is what synergy extraction should see. For each participant and muscle,
# the Pearson correlation between the preprocessed and the true phasic envelope over all rows
# measures how much of it survives filtering, binning and tonic removal; correlation ignores the
# amplitude normalisation.

# %%
if envelopes.truth:
    recovery = prep.envelope_recovery(envelopes)
    median_r = float(recovery["r"].median())
    glue("preprocess_recovery_median_r", median_r, display=False)
    glue("preprocess_recovery_min_r", float(recovery["r"].min()), display=False)
    glue("preprocess_recovery_share_above_095", float((recovery["r"] >= 0.95).mean()), display=False)
    recovery_fig = plots.plot_recovery(recovery, threshold=0.95)
    glue("preprocess_recovery_fig", recovery_fig, display=False)
    plt.show()
    worst = recovery.nsmallest(3, "r")
    display(Markdown(
        f"Median r over participants × muscles: **{median_r:.3f}** (lowest "
        + ", ".join(f"{w.muscle} of {w.participant}: {w.r:.3f}" for w in worst.itertuples())
        + "). Below, the true and preprocessed envelopes of the example participant's worst- and "
        "best-recovered muscles over its first movements, each scaled to its maximum."
    ))
    ranked = recovery[recovery["participant"] == participant].sort_values("r")["muscle"]
    plots.plot_recovered_vs_true(envelopes, participant, muscles=[ranked.iloc[0], ranked.iloc[-1]])
    plt.show()
else:
    display(Markdown("This dataset carries no ground truth (real recordings): there is nothing to compare "
                     "the envelopes with, which is why the book validates the steps on the simulated cohort "
                     "and against the musclesyneRgies reference."))

# %% [markdown]
# ## Movement onset and offset, detected
#
# Where a trial's onset and offset are known (on the simulated cohort, the generator's: where the
# hand starts and stops) and the movement was cut at detected ones, the difference is the detection
# error (detected minus known, positive = later). A threshold at 10 % of peak speed starts the
# movement after the hand starts moving and ends it before it stops: for a minimum-jerk reach, 8.6 %
# of the movement time at each end. Every window of the tonic removal moves with the detected onset
# and offset.

# %%
table = data.trial_table()
known = {"onset", "offset"} <= set(table) and table[["onset", "offset"]].notna().all().all()
errors = prep.detection_errors(envelopes.rows, table) if known else None
if errors is not None and len(errors) and errors[["onset_error_s", "offset_error_s"]].abs().to_numpy().max() > 0:
    summary = (errors[["onset_error_s", "offset_error_s"]] * 1000).describe(percentiles=[0.05, 0.5, 0.95])
    display(text.table(summary.loc[["count", "mean", "5%", "50%", "95%"]].rename(
        columns={"onset_error_s": "onset error (ms)", "offset_error_s": "offset error (ms)"}).rename_axis("statistic"),
        "Found movement onsets and offsets against the dataset's, in ms.", digits=1, index=True))
    glue("onset_error_median_ms", float(errors["onset_error_s"].median() * 1000), display=False)
    glue("offset_error_median_ms", float(errors["offset_error_s"].median() * 1000), display=False)
else:
    display(Markdown("The movements were cut at the onsets and offsets the dataset gives (or the dataset "
                     "gives none to compare with): there is no detection error to report."))

# %% [markdown]
# ## Saved for the next chapters
#
# The matrix, its row table (participant, trial, condition, target, plane, repetition, segment, phase,
# normalised time and the trials' other metadata) and, when simulated, the aligned truth and the true
# synergies are written to the study's results; the NMF and autoencoder chapters read them from there.

# %%
results.save_envelopes(envelopes, study)
envelopes.rows.head()
