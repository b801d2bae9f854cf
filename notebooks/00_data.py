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
# What the extractors will be given: the dataset and its licence, the muscles, the study design,
# the trials, raw EMG and — when the dataset is simulated — the model that generated it and its
# ground truth.

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

from synlib import datasets, metrics, text
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
muscles = pd.DataFrame({"muscle": data.muscles})
if muscle_names:   # a dataset without names has only its column labels
    muscles["name"] = [muscle_names.get(m, "") for m in data.muscles]
display(text.table(muscles, "The muscles, in the column order of every synergy."))

# %% [markdown]
# ## Study design and trials
#
# When the dataset documents its target positions, they are drawn below.

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
display(text.table(table[summary_columns].head(12), f"The first 12 of {len(table)} trials."))
plots.plot_trial_durations(table, data.fs);

glue("n_participants", float(len(data.participants)), display=False)
glue("n_trials", float(len(table)), display=False)
glue("n_conditions", float(conditions), display=False)
glue("n_muscles", float(len(data.muscles)), display=False)
glue("fs_hz", float(data.fs), display=False)
# the facts the part's opening page (synlib.book) shows
glue("dataset_facts", Markdown(datasets.facts_markdown(data, table)), display=False)

# %% [markdown]
# ## How the data were made
#
# A generated dataset lists the options of its generative model here (the simulated cohort's model
# is described on the page before this chapter); a recording has none.

# %%
if "config" in info:
    display(text.table(pd.Series({k: str(v) for k, v in info["config"].items()}, name="value").rename_axis("option"),
                       "The generative model's options for this run.", index=True))
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
    profiles = plots.true_activation_profiles(trials, data.fs, names=info.get("synergy_names"))
    plots.plot_true_activation_profiles(profiles);

# %% [markdown]
# The next chapter turns the raw EMG into envelopes with the authors' group's preprocessing and, for
# the simulated cohort, measures how close they come to the true envelopes shown here.
