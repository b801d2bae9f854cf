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
# The NMF chapter and the sixteen autoencoder chapters each fitted synergies to every participant, at
# every rank of the study's rank design and, for the autoencoders, from several seeds. This chapter
# puts them side by side: how well each configuration reconstructs the held-out EMG envelopes, and
# how its synergies fare on measures that do not take NMF as their answer. The paper's claims are
# that the two do not go together — the encoder/decoder pairs that reconstruct best are not those
# whose synergies make sense — and that a ReLU encoder with a tanh decoder gave the most
# physiological synergies. Both are checked here, with intervals, on this study's data.

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
participants = None
seed = 0
test_repetitions = None
interpretability = "consistency"
reconstruction = "r2_test"
alpha = 0.05
chance_draws = 100

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, Pretty, display
from myst_nb import glue

from synlib import results, text, tradeoff
from synlib.autoencoder.study import fit_warnings
from synlib.plots import tradeoff as tradeoff_plots

sns.set_theme(style="whitegrid", context="notebook")

tradeoff.check_choices(reconstruction, interpretability, alpha=alpha, roles=["reconstruction", "interpretability"])

# %% [markdown]
# ## The measures
#
# One row per participant, configuration, rank and seed: the fit tables of the upstream chapters, plus
# measures computed here from their synergies and held-out activations (`synlib.tradeoff.load_study_table`).
#
# - **Reconstruction**: R² on the held-out repetition, centred on each muscle's mean (the authors'
#   group's definition), and on the training repetitions.
# - **NMF-likeness**: each autoencoder synergy is paired with one of the same participant's NMF
#   synergies at the same rank (Hungarian method on cosine similarity; the group's greedy pairing is a
#   second column), and the matched activations are correlated (Pearson, as the group did). NMF scores
#   1 against itself by construction, so this measures how NMF-like a pair is — the paper's own
#   comparison — not physiology; it is named so throughout.
# - **Measures that take no method as their answer** (ours): consistency across participants (mean
#   matched similarity of a participant's synergies to the other participants'); the fraction of
#   negative activations (a synergy cannot be recruited negatively); dead units (a unit whose
#   activation never varies); sigmoid/tanh outputs at their bounds (a ReLU at 0 is silence, not
#   saturation); the similarity of each decoder's weights to its *effective* synergies (mean
#   Jacobian; 1 for NMF and linear decoders); Hoyer sparseness (descriptive: physiology does not say
#   how sparse a synergy should be).
# - **Recovery of the truth**, on simulated data only: matched similarity per true synergy (an
#   unmatched true synergy counts 0), precision (per extracted synergy: an extra synergy that matches
#   nothing counts 0), correlation with the true activations and the error of each synergy's preferred
#   reach direction; each similarity beside its chance level (same synergies, muscles shuffled).
#
# The model kept for each participant, configuration and rank is the seed with the lowest
# *training* loss; held-out data and truth never choose it. NMF and every autoencoder pair get the
# same number of starts (NMF restarts, autoencoder seeds) and keep the best by training loss. A pair
# with a kept model that did not pass its convergence test (still falling at the cap) is left out
# of every comparison, and named below: a model still improving is compared at a point of its
# training, not at what it can reach. "Best" is never an arg-max: it is the set of pairs that a
# Holm-corrected Wilcoxon test against the best median cannot tell apart from it (α = `alpha`), and
# every median comes with a 95 % bootstrap interval over participants. These choices are ours.

# %%
truth = tradeoff.study_truth(study, test_repetitions)
table = tradeoff.load_study_table(study, participants, chance_draws=chance_draws, **truth)
headline_rule = table.loc[table["headline"].astype(bool), "rule"].iloc[0]
training = table.loc[table["method"] == "AE", "training"].iloc[0]
every_pair = tradeoff.headline_rows(table)
rows, left_out = tradeoff.comparable(every_pair, require=2)
measures = [m for m in tradeoff.measures_in(rows) if tradeoff.MEASURES[m].kind not in ("check", "stability")]
judged = [m for m in measures if tradeoff.MEASURES[m].better and tradeoff.MEASURES[m].kind != "reconstruction"]
tradeoff.require_measures(study, measures, reconstruction, interpretability)
summary = tradeoff.config_summary(every_pair, measures)
intervals = tradeoff.interval_summary(rows, measures, random_state=seed)
n_participants = rows["participant"].nunique()
seeds = sorted(table["seed"][table["method"] == "AE"].unique().tolist())
n_restarts = tradeoff.nmf_restarts(study)
results.write_table(intervals.assign(rule=headline_rule), study, "tradeoff_intervals")
glue("n_participants", float(n_participants), display=False)
glue("n_seeds", float(len(seeds)), display=False)
display(Markdown(
    f"Study `{study}` (dataset `{dataset}`): {n_participants} participants, {rows['config'].nunique()} "
    f"configurations at the headline rank rule `{headline_rule}` (ranks "
    f"{sorted(rows['k'].unique().tolist())}), {len(seeds)} seed(s) per pair, participant and rank "
    f"({seeds}); rank labels fitted: {sorted(table['rule'].unique().tolist())}."))
fitted = table[(table["method"] == "AE") & table["headline"].astype(bool)]
display(Markdown(
    f"Autoencoders trained with the **{training}** specification; NMF kept the best of {n_restarts} restarts "
    f"and each pair the best of {len(seeds)} seeds, both by training loss."))
convergence = tradeoff.convergence_table(fitted)
display(text.table(convergence, "Models at the headline rank that passed the convergence test, per pair "
                   "(every seed; a pair whose kept model failed is left out of the comparisons).", index=True))
glue("n_pairs_compared", float(rows.loc[rows["method"] == "AE", "config"].nunique()), display=False)
glue("n_pairs_left_out", float(len(left_out)), display=False)
glue("pairs_left_out", Pretty(", ".join(left_out) or "none"), display=False)
glue("n_models_passed", float(fitted["converged"].sum()), display=False)
glue("n_models_headline", float(len(fitted)), display=False)
display(Markdown(
    f"**{int(fitted['converged'].sum())} of {len(fitted)} models passed the convergence test.** "
    + (f"Left out of the comparisons (a kept model did not converge): **{', '.join(left_out)}**."
       if left_out else "Every pair enters the comparisons.")))
for note in fit_warnings(fitted):
    display(Markdown("> " + note))

# %% [markdown]
# ## Each measure over the sixteen pairs
#
# Each heat map shows the median over participants of the kept models at the headline rank, for
# every encoder activation (rows) and decoder activation (columns), the pairs left out of the
# comparisons included (they are described here, not compared). Brighter is better in every panel:
# the colour scale is reversed for measures where less is better.

# %%
tradeoff_plots.pair_heatmaps(summary, [m for m in measures if tradeoff.MEASURES[m].kind == "reconstruction"],
                             ncols=2)
plt.show()

# %%
tradeoff_plots.pair_heatmaps(summary, [m for m in measures if tradeoff.MEASURES[m].kind != "reconstruction"],
                             ncols=3)
plt.show()

# %% [markdown]
# ## Seeds
#
# Each pair was trained from several initial weights. The spread of the held-out R² across seeds and
# the matched similarity of the seeds' synergies (1 = every seed finds the same synergies) say whether
# a pair's result is a property of the pair or of one run. The kept model is the seed with the lowest
# training loss.

# %%
seed_rows = table[table["headline"].astype(bool) & (table["method"] == "AE")]
seed_summary = (seed_rows.groupby("config")[["seed_stability", "seed_spread_r2_test"]].median()
                .reindex(tradeoff.config_order(seed_rows["config"].unique())))
seed_summary.columns = ["median similarity between seeds", "median SD of held-out R² across seeds"]
display(text.table(seed_summary, "How much the seeds of each configuration agree.", index=True))
if len(seeds) > 1:
    glue("seed_stability_median", float(seed_rows["seed_stability"].median()), display=False)
    glue("seed_stability_lowest_pair", float(seed_summary.iloc[:, 0].min()), display=False)
    display(Markdown(f"Median similarity between seeds over all pairs: {seed_rows['seed_stability'].median():.3f}; "
                     f"lowest pair median {seed_summary.iloc[:, 0].min():.3f} "
                     f"({seed_summary.iloc[:, 0].idxmin()})."))

# %% [markdown]
# ## Reconstruction against interpretability
#
# Each dot is an autoencoder pair, placed by its median reconstruction and its median score on the
# chosen interpretability measure. The pairs on the Pareto front are those that no other pair beats on
# both at once. The star is NMF.

# %%
maximize = (True, tradeoff.MEASURES[interpretability].better == "higher")
fig, ax = plt.subplots(figsize=(7.5, 5.5))
tradeoff_plots.pareto_plot(summary, reconstruction, interpretability, ax=ax, maximize=maximize)
glue("pareto_fig", fig, display=False)
plt.show()
front = tradeoff.pareto_front(summary[summary["method"] != tradeoff.NMF], reconstruction, interpretability,
                              maximize=maximize)
glue("n_pareto_pairs", float(front["pareto"].sum()), display=False)

# %% [markdown]
# ## The best pairs, with intervals
#
# Medians and 95 % bootstrap intervals over participants; the coloured pairs are the top set, those
# that cannot be told apart from the best median (Holm-corrected Wilcoxon against it).

# %%
top_r = tradeoff.top_set(rows, reconstruction, alpha=alpha)
top_i = tradeoff.top_set(rows, interpretability, alpha=alpha)
chance_column = tradeoff.CHANCE.get(interpretability)
chance = float(rows[chance_column].median()) if chance_column in rows else None
fig, axes = plt.subplots(1, 2, figsize=(12, 0.3 * summary.shape[0] + 1.5))
tradeoff_plots.interval_plot(intervals, reconstruction, ax=axes[0], top=top_r.loc[top_r["in_top"], "config"])
tradeoff_plots.interval_plot(intervals, interpretability, ax=axes[1], chance=chance,
                             top=top_i.loc[top_i["in_top"], "config"])
fig.tight_layout()
plt.show()
smallest = tradeoff.smallest_pvalue(n_participants)
if smallest >= alpha:
    display(Markdown(f"**With {n_participants} participants no Wilcoxon test can reach p < {alpha}** (the "
                     f"smallest attainable p is {smallest:.3g}, before correction): every pair stays in the "
                     "top set, and this study cannot separate the pairs."))

# %% [markdown]
# ## Statistics across participants
#
# Participants are the blocks. For each measure the Friedman test asks whether the configurations
# differ at all, and Kendall's W (0 to 1) says how consistently participants rank them. The Spearman
# correlation ρ compares the ranking of the pairs by reconstruction with their ranking by each
# measure, oriented so that ρ > 0 means "better reconstruction goes with a better score".

# %%
friedman = tradeoff.friedman_test(rows, measures)
agreement = tradeoff.rank_agreement(summary, reconstruction, judged)
statistics = friedman.merge(agreement.rename(columns={"rho": "spearman_rho", "pvalue": "spearman_pvalue"}),
                            on="measure", how="left")
statistics.insert(1, "label", [tradeoff.MEASURES[m].label for m in statistics["measure"]])
statistics["pvalue"] = [tradeoff.format_pvalue(p) for p in statistics["pvalue"]]
display(text.table(statistics.drop(columns=["n_configurations_y"], errors="ignore"),
              "Friedman test over configurations, per measure (p-values as printed by format_pvalue)."))
glue("rank_correlation_rho", float(agreement.set_index("measure").loc[interpretability, "rho"]), display=False)

# %% [markdown]
# ## The rank
#
# A rank rule that picks fewer synergies than the data hold makes every method merge synergies. Each
# line is a pair: its rank among the sixteen on each measure, at each rank label of the study's
# design (on simulated data the true rank and one either side), on the participants fitted at every
# label.

# %%
for measure in dict.fromkeys([reconstruction, interpretability]):
    sensitivity = tradeoff.rank_sensitivity(table, measure)
    if sensitivity["rule"].nunique() > 1:
        ax = tradeoff_plots.rank_lines(sensitivity, measure)
        ax.set_title(f"{tradeoff.MEASURES[measure].label}: {sensitivity['n_participants'].iloc[0]} participants")
        plt.show()
    else:
        display(Markdown(f"Only one rank label was fitted: no rank sensitivity for {measure}."))

# %% [markdown]
# ## The paper's claims on this dataset
#
# Claim 1, "the best-reconstructing pairs are not the most interpretable", is *reproduced* when the
# top sets on reconstruction and on the interpretability measure share no pair, *not reproduced*
# when they share one, and *not distinguishable* when either top set holds every pair. Claim 2,
# "ReLU encoder + tanh decoder gives the most physiological synergies", is *reproduced* when
# relu/tanh is alone in the top set, *not reproduced* when it is outside it, and *not
# distinguishable* when it shares it. Each claim is judged on every measure and every rank label.

# %%
claims = tradeoff.claims_table(table, reconstruction, judged, alpha=alpha).assign(training=training)
if tradeoff.ae_tables_on_disk(study, "group"):
    # the same claims on the group's fixed budget, for the specification curve of the verdict
    group_table = tradeoff.load_study_table(study, participants, chance_draws=chance_draws, variant="group", **truth)
    claims = pd.concat([claims, tradeoff.claims_table(group_table, reconstruction, judged, alpha=alpha)
                        .assign(training="group")], ignore_index=True)
results.write_table(claims.assign(study=study, headline_rule=headline_rule, headline_measure=interpretability,
                                  headline_training=training), study, "tradeoff_claims")
main = claims[(claims["rule"] == headline_rule) & (claims["interpretability"] == interpretability)
              & (claims["training"] == training)].iloc[0]
display(text.table(claims[(claims["rule"] == headline_rule) & (claims["training"] == training)].drop(columns=["rule"]),
              f"The two claims at the headline rule `{headline_rule}`, on each interpretability measure."))
ranks = tradeoff.measure_ranks(rows, judged + [reconstruction])
ranks.insert(1, "label", [tradeoff.MEASURES[m].label for m in ranks["measure"]])
display(Markdown(f"Where **{tradeoff.PAPER_PAIR}** ranks among the {int(ranks['n_pairs'].max())} pairs "
                 "(1 = best median; in_top = cannot be told apart from the best):"))
display(text.table(ranks, "Rank of each pair's median on each measure."))
for measure, rank in zip(ranks["measure"], ranks["rank"]):
    glue(f"paper_pair_rank_{measure}", float(rank), display=False)
for key in ("claim1", "claim2"):
    glue(f"{key}_verdict", Pretty(main[key]), display=False)
glue("best_reconstruction_pair_label", Pretty(tradeoff.describe_set(main["top_reconstruction"], main["n_pairs"])),
     display=False)
glue("best_interpretability_pair_label", Pretty(tradeoff.describe_set(main["top_interpretability"], main["n_pairs"])),
     display=False)
display(Markdown(tradeoff.describe_claims(main, reconstruction, interpretability)))

# %% [markdown]
# ## Recovery of the ground truth
#
# On simulated data the truth says which synergies are right. Recovery and precision of every
# configuration at the headline rank, with intervals and chance levels. This section is empty for
# recorded data.

# %%
truth_measures = [m for m in ("truth_similarity", "truth_precision") if m in measures and tradeoff.CHANCE[m] in rows]
if truth_measures:
    fig, axes = plt.subplots(1, len(truth_measures), figsize=(6 * len(truth_measures), 0.3 * summary.shape[0] + 1.5))
    for ax, measure in zip(np.atleast_1d(axes), truth_measures):
        top = tradeoff.top_set(rows, measure, alpha=alpha, method=None)
        tradeoff_plots.interval_plot(intervals, measure, ax=ax, chance=float(rows[tradeoff.CHANCE[measure]].median()),
                                     top=top.loc[top["in_top"], "config"])
    fig.tight_layout()
    plt.show()
    by_config = intervals.set_index(["measure", "config"])
    nmf = by_config.loc[("truth_similarity", tradeoff.NMF)]
    top_truth = tradeoff.top_set(rows, "truth_similarity", alpha=alpha)
    glue("nmf_truth_similarity", float(nmf["median"]), display=False)
    glue("nmf_truth_similarity_low", float(nmf["ci_low"]), display=False)
    glue("nmf_truth_similarity_high", float(nmf["ci_high"]), display=False)
    glue("truth_similarity_chance", float(rows["truth_similarity_chance"].median()), display=False)
    glue("best_truth_pair_label", Pretty(tradeoff.describe_set(top_truth.loc[top_truth["in_top"], "config"],
                                                               len(top_truth))), display=False)
    glue("best_truth_encoders", Pretty(tradeoff.describe_encoders(top_truth.loc[top_truth["in_top"], "config"])),
         display=False)
    beaten = tradeoff.top_set(rows, "truth_similarity", alpha=alpha, method=None)
    glue("nmf_in_truth_top", Pretty("yes" if beaten.set_index("config").loc[tradeoff.NMF, "in_top"] else "no"),
         display=False)
    display(Markdown(f"NMF recovers the truth at a median {nmf['median']:.3f} (95 % interval "
                     f"{nmf['ci_low']:.3f}–{nmf['ci_high']:.3f}; chance {rows['truth_similarity_chance'].median():.3f}). "
                     f"The autoencoder pairs closest to the truth: "
                     f"{tradeoff.describe_set(top_truth.loc[top_truth['in_top'], 'config'], len(top_truth))}."))
else:
    display(Markdown("This study has no ground truth."))
