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
# # The trade-off
#
# The NMF chapter and the sixteen autoencoder chapters each fitted synergies to every participant and
# wrote their fits to the study's result tables. This chapter puts them side by side: how well each
# configuration reconstructs the held-out EMG envelopes, and how physiologically interpretable its
# synergies are. The paper's claim is that the two do not go together — the encoder/decoder pairs
# that reconstruct best are not those whose synergies make sense, and a ReLU encoder with a tanh
# decoder gave the most interpretable ones. Here the claim is checked on this study's data with
# every measure computed from the saved arrays.

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
participants = None
seed = 0
interpretability = "nmf_similarity"
reconstruction = "r2_test"

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, Pretty, display
from myst_nb import glue

from synlib import tradeoff
from synlib.plots import tradeoff as tradeoff_plots

sns.set_theme(style="whitegrid", context="notebook")

for name, role in ((reconstruction, "reconstruction"), (interpretability, "interpretability")):
    if name not in tradeoff.MEASURES or tradeoff.MEASURES[name].better is None:
        raise ValueError(f"{role}={name!r} must be a measure with a better side; choose from "
                         f"{[m for m, s in tradeoff.MEASURES.items() if s.better]}")

# %% [markdown]
# ## The measures
#
# One row per participant, configuration and seed: the fit tables of the upstream chapters, plus
# measures computed here from their synergies and held-out activations (`synlib.tradeoff.load_study_table`).
#
# - **Reconstruction**: R² on the held-out repetition, centred on each muscle's mean (the authors'
#   group's definition), and on the training repetitions.
# - **Similarity to NMF**: each autoencoder synergy is paired with one of the same participant's NMF
#   synergies by the Hungarian method on cosine similarity, and the matched similarities are averaged
#   (the group paired greedily by largest dot product; that pairing is kept as a second column for
#   comparison). The matched activation coefficients are compared by Pearson correlation, as the
#   group did. NMF compared with itself scores 1 by construction: it is the reference.
# - **Sparseness**: Hoyer's (2004) measure of each synergy vector, 0 when all muscles weigh the same and
#   1 when a single muscle carries it, averaged over a participant's synergies. It describes the
#   synergies; the physiology does not say how sparse they should be, so it names no "best" pair.
# - **Negative values**: the fractions of negative synergy weights and of negative activation samples —
#   a muscle cannot be inhibited below rest by a synergy, nor a synergy be recruited negatively.
# - **Saturation**: the share of encoder outputs (before scaling) and of decoder outputs at the
#   bounds of their activation — sigmoid within 10⁻³ of 0 or 1, tanh of ±1, ReLU exactly 0 (a dead
#   unit); a linear unit never saturates. A saturated unit has lost its graded response.
# - **Consistency across participants**: the mean matched similarity of a participant's synergies to
#   every other participant's, for the same configuration and seed.
# - **Recovery of the truth**, on simulated data only: mean matched similarity to the true synergies.
#
# The Hungarian pairing, the sparseness, saturation and consistency measures and the statistics below
# are our choices; the paper's own comparison rests on similarity and correlation with NMF.

# %%
table = tradeoff.load_study_table(study, participants)
measures = tradeoff.measures_in(table)
interpretability_measures = tradeoff.measures_in(table, "interpretability")
truth_measures = tradeoff.measures_in(table, "truth")
missing = [m for m in (reconstruction, interpretability) if m not in measures]
if missing:
    raise ValueError(f"study {study!r} has no values of {missing}; it has {measures}")
summary = tradeoff.config_summary(table, measures)
n_participants = table["participant"].nunique()
print(f"study {study!r} (dataset {dataset!r}): {n_participants} participants, "
      f"{table['config'].nunique()} configurations, seeds {sorted(table['seed'].unique().tolist())}")
glue("n_participants", float(n_participants), display=False)
summary.round(3)

# %% [markdown]
# ## Each measure over the sixteen pairs
#
# Each heat map shows the median over participants (each participant's value averaged over seeds) for
# every encoder activation (rows) and decoder activation (columns). Brighter is better in every
# panel: the colour scale is reversed for measures where less is better.

# %%
tradeoff_plots.pair_heatmaps(summary, [m for m in measures if tradeoff.MEASURES[m].kind == "reconstruction"],
                             ncols=2)
plt.show()

# %%
tradeoff_plots.pair_heatmaps(summary, interpretability_measures, ncols=3)
plt.show()

# %% [markdown]
# ## Reconstruction against interpretability
#
# Each dot is an autoencoder pair, placed by its median reconstruction and its median score on the
# chosen interpretability measure. The pairs on the Pareto front are those that no other pair beats on
# both at once; every other pair gives up something for nothing. The star is NMF.

# %%
maximize = (True, tradeoff.MEASURES[interpretability].better == "higher")
fig, ax = plt.subplots(figsize=(7.5, 5.5))
tradeoff_plots.pareto_plot(summary, reconstruction, interpretability, ax=ax, maximize=maximize)
glue("pareto_fig", fig, display=False)
plt.show()
front = tradeoff.pareto_front(summary[summary["method"] != tradeoff.NMF], reconstruction, interpretability,
                              maximize=maximize)
front = front[front["pareto"]].sort_values(reconstruction)
glue("n_pareto_pairs", float(len(front)), display=False)
front[["config", reconstruction, interpretability]].round(3)

# %% [markdown]
# ## Participant by participant
#
# The medians hide how much participants differ. Each coloured point below is one participant; the
# grey diamond and bar are the median and the interquartile range over participants.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 0.35 * summary.shape[0] + 1.5), sharey=True)
tradeoff_plots.participant_spread(table, reconstruction, ax=axes[0])
tradeoff_plots.participant_spread(table, interpretability, ax=axes[1])
axes[1].set_ylabel("")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Statistics across participants
#
# Participants are the blocks. For each measure the Friedman test asks whether the configurations
# differ at all, and Kendall's W (0 to 1) says how consistently participants rank them. The Spearman
# correlation ρ compares the ranking of the pairs by reconstruction with their ranking by each
# interpretability measure, oriented so that ρ > 0 means "better reconstruction goes with better
# interpretability" (measures where less is better are reversed).

# %%
friedman = tradeoff.friedman_test(table, measures)
agreement = tradeoff.rank_agreement(summary, reconstruction, interpretability_measures + truth_measures)
spearman = agreement.rename(columns={"rho": "spearman_rho", "pvalue": "spearman_pvalue",
                                     "n_configurations": "spearman_n_pairs"})
statistics = friedman.merge(spearman, on="measure", how="left")
statistics.insert(1, "label", [tradeoff.MEASURES[m].label for m in statistics["measure"]])
display(statistics.round(4))
rho = agreement.set_index("measure").loc[interpretability, "rho"]
friedman_by_measure = friedman.set_index("measure")
glue("rank_correlation_rho", float(rho), display=False)
glue("friedman_reconstruction_pvalue", float(friedman_by_measure.loc[reconstruction, "pvalue"]), display=False)
glue("friedman_interpretability_pvalue", float(friedman_by_measure.loc[interpretability, "pvalue"]),
     display=False)
glue("kendalls_w_reconstruction", float(friedman_by_measure.loc[reconstruction, "kendalls_w"]), display=False)
glue("kendalls_w_interpretability", float(friedman_by_measure.loc[interpretability, "kendalls_w"]),
     display=False)

# %% [markdown]
# Post hoc, every pair of configurations is compared with a Wilcoxon signed-rank test over participants,
# with Holm's correction over all pairs of a measure; the effect size is the matched-pairs
# rank-biserial correlation (+1 when the first configuration is better for every participant, −1 when
# worse). The table lists the comparisons that involve the best pair on either axis.

# %%
h = tradeoff.headline(summary, reconstruction, interpretability)
best_pairs = {h["best_reconstruction_pair"], h["best_interpretability_pair"], tradeoff.NMF}
pairwise = (tradeoff.pairwise_wilcoxon(table, reconstruction), tradeoff.pairwise_wilcoxon(table, interpretability))
posthoc = (pd.concat(pairwise, ignore_index=True)
           .query("config_a in @best_pairs and config_b in @best_pairs"))
posthoc.round(4)

# %% [markdown]
# ## What this dataset says

# %%
display(Markdown(tradeoff.describe_headline(h)))
for key in ("best_reconstruction_pair", "best_interpretability_pair"):
    glue(key, h[key], display=False)
    glue(f"{key}_label", Pretty(h[key]), display=False)
for key, value in h.items():
    if key.startswith(("best_", "nmf_")) and not key.endswith("_pair"):
        glue(key, float(value), display=False)

# %% [markdown]
# ## Recovery of the ground truth
#
# On simulated data the true synergies are known. Each configuration's synergies are paired with the
# true ones (Hungarian, cosine similarity) and the matched similarities averaged, a true synergy left
# without a partner counting 0. This section is empty for recorded data.

# %%
if truth_measures:
    tradeoff_plots.pair_heatmaps(summary, truth_measures, ncols=2)
    plt.show()
    best_truth = tradeoff.best_configuration(summary, "truth_similarity")
    nmf_truth = summary.set_index("config").loc[tradeoff.NMF, "truth_similarity"]
    glue("best_truth_pair", best_truth["config"], display=False)
    glue("best_truth_pair_label", Pretty(best_truth["config"]), display=False)
    glue("best_truth_value", float(best_truth["truth_similarity"]), display=False)
    glue("nmf_truth_similarity", float(nmf_truth), display=False)
    display(Markdown(f"The pair closest to the true synergies is **{best_truth['config']}** (median "
                     f"similarity {best_truth['truth_similarity']:.3f}); NMF reaches {nmf_truth:.3f}."))
else:
    display(Markdown("This study has no ground truth."))
