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
# The study's own chapters give one mode; the previous page ran the same pipeline on the other.
# Similarity to the truth is the mean cosine similarity of Hungarian-matched synergies; for
# activations, the mean Pearson correlation of the matched held-out activation time courses.

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
participants = None
test_repetitions = None

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, Pretty, display
from myst_nb import glue

from synlib import tradeoff
from synlib.nmf import held_out_repetitions
from synlib.plots import tradeoff as plots
from synlib.preprocess import Envelopes

sns.set_theme(style="whitegrid", context="notebook")
modes = tradeoff.mixing_modes(study, dataset, dataset_options)
study_mixing, other_mixing = modes.study, modes.other
display(Markdown(f"The study `{study}` uses **{study_mixing}** mixing; the other mode, **{other_mixing}**, "
                 f"is in the results folder `{modes.other_study}`."))

# %% [markdown]
# ## Recovery of the truth in both modes
#
# For every configuration and participant: similarity of the synergies to the true ones and
# correlation of the held-out activations with the true activations.

# %%
def truth_table(name: str, chosen) -> pd.DataFrame:
    study_envelopes = Envelopes.load(name)
    _, test = study_envelopes.split(held_out_repetitions(study_envelopes.rows["repetition"], test_repetitions))
    true_synergies, true_activations = tradeoff.truth_of_test_rows(test)
    table = tradeoff.load_study_table(name, chosen, true_synergies=true_synergies,
                                      true_activations_test=true_activations)
    return table


tables = {study_mixing: truth_table(study, participants), other_mixing: truth_table(modes.other_study, None)}
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
