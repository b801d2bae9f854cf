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
# # Ground truth: which method recovers the true synergies?
#
# The paper could only argue which synergies are "physiologically meaningful": with real EMG the
# true synergies are unknown. The simulated cohort knows them. This chapter asks, for NMF and for
# each of the 16 autoencoder activation pairs, how close the extracted synergies and activations
# come to the truth, in two mixing modes:
#
# - **linear**: each muscle's envelope is the weighted sum of the synergy activations, exactly the
#   model NMF assumes;
# - **nonlinear**: each muscle has a recruitment threshold and saturates (see the data chapter), so
#   the linear model is wrong by construction, as it probably is for real muscles.
#
# The study's own chapters give one mode (the one its `dataset_options` ask for); this chapter runs
# the same pipeline — preprocessing, NMF with the same rank rule, every activation pair with the
# same training protocol — on the other mode, with `other_participants` participants (5 by default,
# to keep the book's build time in bounds; any number up to the cohort's can be asked for), and
# compares. Similarity to the truth is the mean cosine similarity of Hungarian-matched synergies;
# for activations, the mean Pearson correlation of the matched held-out activation time courses.

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
participants = None
seed = 0
preprocess = {}
other_participants = 5
epochs = 2000
n_restarts = 10
max_iter = 1000
max_rank = None
r2_threshold = 0.80
test_repetitions = None

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, Pretty, display
from myst_nb import glue

from synlib import datasets, results, tradeoff
from synlib.autoencoder.study import fit_pairs as fit_autoencoder_pairs
from synlib.nmf import fit_participants as fit_nmf
from synlib.plots import tradeoff as plots
from synlib.preprocess import Envelopes
from synlib.preprocess import preprocess as run_preprocessing

sns.set_theme(style="whitegrid", context="notebook")
accepted = datasets.options(dataset)
if "mixing" not in accepted:
    raise ValueError(f"this chapter compares mixing modes of a simulated dataset; dataset {dataset!r} "
                     f"takes no 'mixing' option (it takes {', '.join(accepted) or 'none'})")
study_mixing = dataset_options.get("mixing", accepted["mixing"])
other_mixing = {"linear": "nonlinear", "nonlinear": "linear"}[study_mixing]
other_study = f"{study}-{other_mixing}"
pairs = [(e, d) for e in tradeoff.ACTIVATIONS for d in tradeoff.ACTIVATIONS]
display(Markdown(f"The study `{study}` uses **{study_mixing}** mixing; this chapter runs the same pipeline "
                 f"on **{other_mixing}** mixing into the results folder `{other_study}`."))

# %% [markdown]
# ## The same study on the other mixing mode
#
# Everything below uses the functions the earlier chapters use, with their defaults and this
# page's parameters; the seed is the study's.

# %%
started = time.perf_counter()
other_options = {**dataset_options, "mixing": other_mixing, "n_participants": other_participants}
data = datasets.open_dataset(dataset, other_options, participants=None, seed=seed)
envelopes = run_preprocessing(data, preprocess, progress=False)
envelopes.save(other_study)
ranks = range(1, min(max_rank or len(envelopes.muscles), len(envelopes.muscles)) + 1)
nmf = fit_nmf(envelopes, ranks=ranks, n_restarts=n_restarts, max_iter=max_iter, threshold=r2_threshold,
              test_repetitions=test_repetitions, random_state=seed)
results.write_table(nmf.table, other_study, "nmf_fits")
results.write_arrays(other_study, "nmf_synergies", **nmf.arrays)
ranks = nmf.table.set_index("participant")["k"].astype(int).to_dict()
fits = fit_autoencoder_pairs(envelopes, ranks, pairs, [seed], test_repetitions=test_repetitions, epochs=epochs)
for (encoder, decoder), fit in fits.items():
    results.write_table(fit.table, other_study, f"ae_fits_{encoder}_{decoder}")
    results.write_arrays(other_study, f"ae_{encoder}_{decoder}", **fit.arrays)
other_seconds = time.perf_counter() - started
display(Markdown(f"{len(envelopes.participants)} participants, NMF and 16 activation pairs in "
                 f"{other_seconds:.0f} s."))

# %% [markdown]
# ## Recovery of the truth in both modes
#
# For every configuration and participant: similarity of the synergies to the true ones and
# correlation of the held-out activations with the true activations.

# %%
def truth_table(name: str, chosen) -> pd.DataFrame:
    study_envelopes = Envelopes.load(name)
    held_out = nmf.test_repetitions if test_repetitions is None else test_repetitions
    _, test = study_envelopes.split(held_out)
    true_synergies, true_activations = tradeoff.truth_of_test_rows(test)
    table = tradeoff.load_study_table(name, chosen, true_synergies=true_synergies,
                                      true_activations_test=true_activations)
    return table


tables = {study_mixing: truth_table(study, participants), other_mixing: truth_table(other_study, None)}
both = pd.concat([t.assign(mixing=mode) for mode, t in tables.items()], ignore_index=True)
measures = ["r2_test", "truth_similarity", "truth_activation_correlation"]
summary = pd.concat([tradeoff.config_summary(t, measures, statistic="median").assign(mixing=mode)
                     for mode, t in tables.items()], ignore_index=True)
display(summary.pivot(index="config", columns="mixing", values=["truth_similarity", "r2_test"])
        .round(3).sort_values(("truth_similarity", study_mixing), ascending=False))

# %% [markdown]
# ### Synergies and activations against the truth, encoder × decoder
#
# Median over participants: similarity of the synergies to the true synergies (top) and
# correlation of the held-out activations with the true activations (bottom). NMF's value is in
# each title.

# %%
truth_measures = {"truth_similarity": "similarity to the true synergies",
                  "truth_activation_correlation": "correlation with the true activations"}
fig, axes = plt.subplots(2, 2, figsize=(11, 8.8))
for row, (measure, title) in zip(axes, truth_measures.items()):
    for ax, mode in zip(row, ("linear", "nonlinear")):
        part = summary[summary["mixing"] == mode]
        nmf_value = float(part.loc[part["method"] == "NMF", measure].iloc[0])
        plots.pair_heatmap(part[part["method"] == "AE"], measure, ax=ax)
        ax.set_title(f"{title}\n{mode} mixing (NMF: {nmf_value:.3f})")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Does the best reconstruction recover the truth best?
#
# Each point is a configuration (median over participants): held-out reconstruction against
# similarity to the true synergies. If reconstructing well meant recovering the truth, the points
# would rise from left to right.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=False)
rows = []
for ax, mode in zip(axes, ("linear", "nonlinear")):
    part = summary[summary["mixing"] == mode].copy()
    plots.pareto_plot(part, "r2_test", "truth_similarity", ax=ax)
    ax.set_title(f"{mode} mixing")
    autoencoders = part[part["method"] == "AE"]
    best_r2 = autoencoders.loc[autoencoders["r2_test"].idxmax()]
    best_truth = autoencoders.loc[autoencoders["truth_similarity"].idxmax()]
    rho = autoencoders[["r2_test", "truth_similarity"]].corr(method="spearman").iloc[0, 1]
    nmf_row = part[part["method"] == "NMF"].iloc[0]
    rows.append({"mixing": mode, "best reconstruction": best_r2["config"],
                 "its truth similarity": best_r2["truth_similarity"],
                 "best truth recovery": best_truth["config"], "its truth similarity ": best_truth["truth_similarity"],
                 "its held-out R²": best_truth["r2_test"], "Spearman ρ (R², truth) over pairs": rho,
                 "NMF truth similarity": nmf_row["truth_similarity"]})
    glue(f"gt_{mode}_best_reconstruction_pair_label", Pretty(best_r2["config"]), display=False)
    glue(f"gt_{mode}_best_reconstruction_truth", float(best_r2["truth_similarity"]), display=False)
    glue(f"gt_{mode}_best_truth_pair_label", Pretty(best_truth["config"]), display=False)
    glue(f"gt_{mode}_best_truth_value", float(best_truth["truth_similarity"]), display=False)
    glue(f"gt_{mode}_rank_rho", float(rho), display=False)
    glue(f"gt_{mode}_nmf_truth", float(nmf_row["truth_similarity"]), display=False)
    glue(f"gt_{mode}_nmf_activation_truth", float(nmf_row["truth_activation_correlation"]), display=False)
fig.tight_layout()
plt.show()
verdict = pd.DataFrame(rows).set_index("mixing")
display(verdict.round(3))

# %% [markdown]
# ### Per participant
#
# The spread of truth recovery across participants, per configuration and mode.

# %%
grid = sns.catplot(data=both, x="config", y="truth_similarity", col="mixing", kind="box",
                   order=tradeoff.config_order(both["config"].unique()), height=4, aspect=2.2, color="0.85")
grid.set_xticklabels(rotation=90)
grid.set_axis_labels("configuration", "similarity to true synergies")
plt.show()

# %% [markdown]
# ## In plain words

# %%
sentences = []
for mode, row in verdict.iterrows():
    same = row["best reconstruction"] == row["best truth recovery"]
    sentences.append(
        f"With **{mode}** mixing, NMF recovers the true synergies at a median similarity of "
        f"{row['NMF truth similarity']:.3f}. Among the autoencoders, {row['best reconstruction']} reconstructs "
        f"held-out data best and reaches {row['its truth similarity']:.3f}; "
        + ("it is also the pair closest to the truth."
           if same else f"the pair closest to the truth is {row['best truth recovery']} "
           f"({row['its truth similarity ']:.3f}, held-out R² {row['its held-out R²']:.3f}).")
        + f" Across the 16 pairs, the rank correlation between reconstruction and truth recovery is "
        f"{row['Spearman ρ (R², truth) over pairs']:.2f}."
    )
display(Markdown("\n\n".join(sentences)))
