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
# # Validation against musclesyneRgies on 15 real gait participants
#
# The R package musclesyneRgies (Santuz 2022, [doi:10.21105/joss.04439](https://doi.org/10.21105/joss.04439))
# ships the NMF results of 15 participants walking on a treadmill: for each, the input matrix
# (13 lower-limb muscles × 200 time points, three gait cycles filtered and time-normalised), the
# muscle weights and activation primitives it found, their R² and the number of synergies its
# rank rule chose (4 to 6). Nobody here shaped these data, so they test synlib's NMF on real EMG
# envelopes against an independent, widely used implementation.
#
# For each participant, `synlib.nmf.NMF` is fitted at the package's rank to the same input. Two
# numbers are compared: the R² about the grand mean (the package's definition:
# 1 − SSE / Σ(x − mean of all x)²) and the cosine similarity of the two sets of synergies after
# Hungarian matching. The package stops each restart when R² gains less than 0.01 % of itself over
# 20 iterations (5 restarts, at most 1000 iterations); synlib uses the same plateau with an absolute
# gain of 10⁻⁴ (10 restarts by default), but its solver differs (restarts batched, ten synergy
# updates per activation update, float32 iterations). The test suite asserts
# what this page shows: R² at least the package's minus 0.001 and a mean matched similarity of at
# least 0.98 for every participant, with either of synlib's solvers (`solvers`): multiplicative
# updates, the group's and the book's, which the figures show, and HALS coordinate descent, which
# the last section compares.

# %% tags=["parameters"]
study = "validation"
n_restarts = 10
seed = 0
solvers = ["mu", "hals"]

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from myst_nb import glue

from synlib import results, text
from synlib.datasets import musclesynergies_reference
from synlib.metrics import matched_reference
from synlib.nmf import SOLVER_NAMES, compare_with_reference
from synlib.plots import synergies as plots

sns.set_theme(style="whitegrid", context="notebook")
reference = musclesynergies_reference()

# %%
every, fitted = compare_with_reference(reference, solvers, n_restarts=n_restarts, random_state=seed)
results.write_table(every, study, "nmf_validation")
table = every[every["solver"] == solvers[0]].reset_index(drop=True)   # the figures' and the book's
display(Markdown(f"Figures below: solver `{solvers[0]}` ({SOLVER_NAMES[solvers[0]]})."))
display(text.table(table.drop(columns="solver"), "Each gait recording: synlib's fit against musclesyneRgies'.",
                   digits=4))

# %% [markdown]
# ## R² and similarity, participant by participant
#
# Left: synlib's R² against the package's, with the identity line. Right: the mean cosine
# similarity of matched synergies (dots) and the least similar pair (crosses), with the 0.98 bar the
# test suite asserts.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
left.scatter(table["r2_musclesynergies"], table["r2_synlib"], color="C0")
both = table[["r2_musclesynergies", "r2_synlib"]].to_numpy()
bounds = [both.min() - 0.01, both.max() + 0.01]
left.plot(bounds, bounds, color="0.5", lw=1, ls="--", label="identity")
left.set_xlabel("R² musclesyneRgies (grand mean)")
left.set_ylabel("R² synlib (grand mean)")
left.legend(frameon=False)
order = np.arange(len(table))
right.scatter(order, table["similarity_mean"], color="C0", label="mean of matched pairs")
right.scatter(order, table["similarity_min"], color="C1", marker="x", label="least similar pair")
right.axhline(0.98, color="C3", ls="--", lw=1, label="0.98")
right.set_xticks(order, table["participant"], rotation=60, ha="right")
right.set_xlabel("participant")
right.set_ylabel("cosine similarity")
right.legend(frameon=False, fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()

glue("nmf_validation_min_similarity", float(table["similarity_mean"].min()), display=False)
glue("nmf_validation_min_pair_similarity", float(table["similarity_min"].min()), display=False)
glue("nmf_validation_min_r2_difference", float(table["r2_difference"].min()), display=False)
display(Markdown(
    f"Lowest mean matched similarity over the {len(table)} participants: "
    f"**{table['similarity_mean'].min():.3f}**; R² difference (synlib − musclesyneRgies) between "
    f"{table['r2_difference'].min():+.4f} and {table['r2_difference'].max():+.4f}."))

# %% [markdown]
# ## The least similar participant, synergy by synergy
#
# The participant whose synergies agree least with the package's, drawn side by side after
# matching: even there, the two implementations find the same muscle groupings.

# %%
worst = table.loc[table["similarity_mean"].idxmin()]
record = next(r for r in reference if r["participant"] == worst["participant"])
model = fitted[solvers[0], worst["participant"]]
theirs, similarity = matched_reference(model.synergies_, record["synergies"])
fig = plots.synergy_bars(model.synergies_, record["muscles"], other=theirs,
                         similarity=similarity, labels=("synlib", "musclesyneRgies"),
                         title=f"participant {worst['participant']}")
plt.show()

# %% [markdown]
# ## Both solvers against the package
#
# The same comparison for every solver in `solvers`: the worst R² difference and the lowest mean
# matched similarity over the participants, and the median iterations to the plateau. A solver that
# passes here finds the package's synergies on real EMG as well as the group's multiplicative updates
# do; the book's chapters still use the group's solver unless a study says otherwise.

# %%
summary = every.groupby("solver", sort=False).agg(
    worst_r2_difference=("r2_difference", "min"), best_r2_difference=("r2_difference", "max"),
    lowest_similarity=("similarity_mean", "min"), median_iterations=("n_iter", "median"))
summary.index = [f"{s} ({SOLVER_NAMES[s]})" for s in summary.index]
display(text.table(summary, "Agreement summarised over the recordings.", digits=4, index=True))
for solver, part in every.groupby("solver", sort=False):
    glue(f"nmf_validation_worst_r2_difference_{solver}", float(part["r2_difference"].min()), display=False)
    glue(f"nmf_validation_lowest_similarity_{solver}", float(part["similarity_mean"].min()), display=False)
