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
# # Muscle synergies by non-negative matrix factorisation
#
# Non-negative matrix factorisation (NMF) writes each participant's envelopes, a samples × muscles
# matrix $X$, as $X \approx C\,S$: $S$ holds k **synergies** (k × muscles, each a unit-length vector of
# muscle weights) and $C$ their **activations** (samples × k), both non-negative. In the field's
# notation $V \approx W\,C$ this is $W = S^\top$. NMF is the reference against which the paper judges
# the autoencoders, and its rank k is the number of synergies the autoencoders are then given.
#
# What comes from where:
#
# - **the authors' group**: multiplicative updates (Lee & Seung), random restarts keeping the best
#   fit, the rank as the smallest k whose R² reaches 0.80 (0.85 and 0.90 also used), R² centred on
#   each muscle's mean, NMF
#   fitted on the training repetitions (9 of 10) and evaluated on the held-out one;
# - **musclesyneRgies** (Santuz 2022): the R²-plateau stopping rule over 20 iterations and the
#   "linearity" rank rule (`rank_method="linearity"`);
# - **ours**: the batched solver (every restart of a rank updated together as one stack of tensors,
#   with ten cheap synergy updates per activation update, in float32), the absolute tolerance of
#   the plateau rule, the held-out activations as exact non-negative least squares on the fixed
#   synergies, the cross-validated rank rule (`"cv"`, bi-cross-validation on held-out
#   repetitions), and the rank design: the headline rank rule (`rank_rule`; on simulated data the
#   true number of synergies, `"truth"`, so that no method is judged at a rank that merges
#   synergies), the further rules and the offsets around the headline rank (`rank_rules`,
#   `rank_offsets`) fitted for the rank sensitivity on the first `sensitivity_participants`, and the
#   rules only reported (`reported_rules`: what they would pick, beside the fitted ranks, without
#   fitting the autoencoders there);
# - **ours, offered but not the book's default**: the coordinate-descent solver HALS
#   (`nmf_solver="hals"`, Cichocki & Phan 2009: scikit-learn's default solver, batched like ours)
#   and the deterministic NNDSVD starts (`nmf_init="nndsvda"`, Boutsidis & Gallopoulos 2008). The
#   group extracted with multiplicative updates, and the book keeps their method unless HALS fits at
#   least as well at every rank of every dataset, which has not been shown; `benchmarks/bench_nmf.py`
#   compares both against scikit-learn, and the validation page against musclesyneRgies.
#
# The extractor is `synlib.nmf.NMF` (a scikit-learn estimator) and `synlib.nmf.rank_sweep`; the
# test suite checks it against `sklearn.decomposition.NMF` and against the musclesyneRgies
# results on 15 real gait participants (see the validation page).

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
participants = None
seed = 0
n_restarts = 10
max_iter = 1000
nmf_solver = "mu"
nmf_init = "random"
rank_rule = "r2_0.80"
rank_rules = []
rank_offsets = [-1, 1]
sensitivity_participants = None
reported_rules = []
max_rank = None
test_repetitions = None
device = "auto"

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from myst_nb import glue

from synlib import metrics, ranks as rank_rules_module, results, text
from synlib.device import resolve_device
from synlib.nmf import SOLVER_NAMES, fit_participants
from synlib.plots import synergies as plots
from synlib.tradeoff import select_participants

sns.set_theme(style="whitegrid", context="notebook")
for rule in [rank_rule, *rank_rules, *reported_rules]:
    rank_rules_module.check_rule(rule)

envelopes = results.load_envelopes(study)
chosen_participants = select_participants(envelopes.participants, participants)
muscles = list(envelopes.muscles)
repetitions = sorted(int(r) for r in envelopes.rows["repetition"].unique())
held_out = envelopes.held_out(test_repetitions)
ranks = range(1, min(max_rank or len(muscles), len(muscles)) + 1)
sensitivity = select_participants(chosen_participants, sensitivity_participants)
display(Markdown(
    f"Envelopes of study `{study}` (dataset `{dataset}`): {len(chosen_participants)} participant(s), "
    f"{len(muscles)} muscles, repetitions {repetitions}. Held out for testing: "
    f"{held_out or 'none (a single repetition: test columns stay empty)'}. Ranks swept: "
    f"1–{ranks[-1]}, {n_restarts} restarts each, at most {max_iter} iterations per restart; solver "
    f"`{nmf_solver}` ({SOLVER_NAMES[nmf_solver]}) from `{nmf_init}` starts. Headline rank "
    f"rule `{rank_rule}`; rank sensitivity (rules {rank_rules or 'none'}, offsets {rank_offsets}) on "
    f"{len(sensitivity)} participant(s)."))

# %% [markdown]
# ## The rank sweep
#
# For every participant, NMF is fitted on the training repetitions at every rank, each rank from
# `n_restarts` starts (random unless `nmf_init` says otherwise). Each restart stops when its R² gains less than 10⁻⁴ over 20
# iterations (musclesyneRgies' plateau rule), or at `max_iter`. Each rank rule then picks its rank,
# and NMF is kept at every rank the study fits (`nmf_ranks`: the headline rank, the other rules'
# picks and the offsets).

# %%
started = time.perf_counter()
study_fit = fit_participants(envelopes, participants=chosen_participants, ranks=ranks, n_restarts=n_restarts,
                             max_iter=max_iter, rank_rule=rank_rule, rank_rules=rank_rules,
                             rank_offsets=rank_offsets, sensitivity_participants=sensitivity,
                             test_repetitions=held_out, random_state=seed, solver=nmf_solver, init=nmf_init,
                             device=device)
elapsed = time.perf_counter() - started
curve = study_fit.curve
fits = study_fit.headline()
models = {p: study_fit.sweeps[p].models[k] for p, k in zip(fits["participant"], fits["k"])}
results.write_table(curve, study, "nmf_rank_curve")
results.write_table(study_fit.table, study, "nmf_fits")
results.write_table(study_fit.ranks, study, "nmf_ranks")
results.write_arrays(study, "nmf_synergies", **study_fit.arrays)
display(Markdown(f"{len(curve)} factorisations in {elapsed:.1f} s on {resolve_device(device)}."))

# %% [markdown]
# ## R² against the number of synergies
#
# Each grey dot is one restart, the line joins the best restart of each rank; the dashed line is
# the threshold and the vertical line the chosen rank. The restarts of a rank lie close together,
# so the best-of-restarts curve is not a lucky draw.

# %%
chosen = dict(zip(fits["participant"], fits["k"]))
threshold_line = float(rank_rule[3:]) if rank_rule.startswith("r2_") else None
fig = plots.rank_curves(curve, chosen, threshold=threshold_line)
plt.show()

# %% [markdown]
# The rank each rule picks for each participant (the headline rule first); the autoencoder chapters
# are fitted at the same ranks. Rules that are only reported (marked "not fitted") show what they
# would pick.

# %%
picked = study_fit.ranks.pivot_table(index="participant", columns="rule", values="k", aggfunc="first")
picked = picked[[rank_rule] + [c for c in picked.columns if c != rank_rule]].reindex(chosen_participants)
picked = picked.astype("Int64")  # ranks are counts; a rule not fitted for a participant leaves a gap
true_k = {p: w.shape[0] for p, w in envelopes.true_synergies.items()}
for rule in reported_rules:
    picked[f"{rule} (not fitted)"] = [rank_rules_module.rule_rank(study_fit.sweeps[p], rule, true_k.get(p))
                                      for p in picked.index]
display(text.table(picked, "The rank each rule picks, per participant.", index=True))
if reported_rules and true_k:
    first = reported_rules[0]
    gap = picked[f"{first} (not fitted)"] - pd.Series(true_k).reindex(picked.index)
    display(Markdown(f"The `{first}` rule picks the true number of synergies for {int((gap == 0).sum())} of "
                     f"{len(gap)} participants (median difference {gap.median():+g})."))
    glue("reported_rule_exact_share", float((gap == 0).mean()), display=False)
glue("nmf_k_median", float(fits["k"].median()), display=False)
glue("nmf_r2_train_mean", float(fits["r2_train"].mean()), display=False)

# %% [markdown]
# ## Fit on training and held-out repetitions
#
# On the held-out repetition, the synergies are fixed and only their activations are estimated
# (non-negative least squares), so the held-out R² measures how well the synergies generalise.

# %%
display(text.table(fits[["participant", "k", "r2_train", "r2_test", "r2_global_train", "r2_global_test", "vaf_train",
                    "vaf_test", "truth_similarity", "truth_precision"]],
              "NMF at each fitted rank: fit on the training and held-out repetitions, and recovery of the "
              "true synergies (simulated data)."))
if fits["r2_test"].notna().any():
    glue("nmf_r2_test_mean", float(fits["r2_test"].mean()), display=False)
    long = fits.melt(id_vars="participant", value_vars=["r2_train", "r2_test"], var_name="data", value_name="R²")
    fig, ax = plt.subplots(figsize=(7, 3))
    sns.pointplot(data=long, x="participant", y="R²", hue="data", linestyle="none", ax=ax)
    ax.set_ylabel("R² (centred on muscle means)")
    ax.tick_params(axis="x", rotation=60)
    plt.show()

# %% [markdown]
# ## The synergies of one participant
#
# Bar heights are muscle weights (each synergy has unit length). When the data are simulated, the
# true synergy matched to each extracted one (Hungarian assignment on cosine similarity) is drawn
# beside it, with their similarity in the panel title.

# %%
example = chosen_participants[0]
model = models[example]
truth = envelopes.true_synergies.get(example)
if truth is not None:
    other, similarity = metrics.matched_reference(model.synergies_, truth)
    fig = plots.synergy_bars(model.synergies_, muscles, other=other, similarity=similarity,
                             labels=("NMF", "true"), title=f"participant {example}")
else:
    fig = plots.synergy_bars(model.synergies_, muscles, title=f"participant {example}")
plt.show()

# %% [markdown]
# ## Their activations
#
# The activations of the training repetitions, averaged over repetitions, against time normalised
# within each movement; one colour per target, one column per plane (or, for data without targets
# and planes, per condition and phase).

# %%
rows = envelopes.select(example).rows
rows = rows[~rows["repetition"].astype(int).isin(held_out)]
fig = plots.activation_profiles(model.activations_, rows)
plt.show()

# %% [markdown]
# ## Are the synergies shared across participants?
#
# Each cell is the mean cosine similarity of two participants' synergies after Hungarian matching
# (when their ranks differ, the smaller set is matched).

# %%
if len(chosen_participants) > 1:
    pairs = metrics.cross_participant_similarity({p: models[p].synergies_ for p in chosen_participants})
    fig = plots.similarity_matrix(metrics.similarity_square(pairs), title="NMF synergies, participant × participant")
    plt.show()
    glue("nmf_cross_similarity_mean", float(pairs["similarity"].mean()), display=False)
else:
    display(Markdown("One participant only: nothing to compare across participants."))

# %% [markdown]
# ## Recovery of the true synergies
#
# On simulated data the true synergies are known. Each extracted synergy is paired with a true one
# (Hungarian assignment on cosine similarity). The *recovery* divides the summed similarity of the
# pairs by the number of true synergies, so a true synergy that nothing matches counts 0; the
# *precision* divides it by the number of extracted synergies. Beside each is its chance level: the
# same synergies with their weights shuffled across the muscles (same sparseness), matched the same
# way. The strip plot shows each true synergy's similarity to its partner at the headline rank.

# %%
truth_rows = fits[fits["truth_similarity"].notna()]
if len(truth_rows):
    extracted = {participant: fitted.synergies_ for participant, fitted in models.items()}
    recovery = metrics.truth_recovery_table(extracted, envelopes.true_synergies)
    fig, ax = plt.subplots(figsize=(7, 3))
    sns.stripplot(data=recovery, x="participant", y="similarity", hue="true synergy", ax=ax, size=5)
    ax.set_ylabel("cosine similarity to the true synergy")
    ax.tick_params(axis="x", rotation=60)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    plt.show()
    chance = {m: metrics.median_chance(getattr(metrics, m), extracted, envelopes.true_synergies)
              for m in ("truth_similarity", "truth_precision")}
    median = float(truth_rows["truth_similarity"].median())
    glue("nmf_truth_similarity_median", median, display=False)
    glue("nmf_truth_precision_median", float(truth_rows["truth_precision"].median()), display=False)
    glue("nmf_truth_similarity_chance", float(chance["truth_similarity"]), display=False)
    glue("nmf_truth_precision_chance", float(chance["truth_precision"]), display=False)
    display(Markdown(f"At the headline rank (`{rank_rule}`), NMF's median recovery over participants is "
                     f"**{median:.3f}** (chance {chance['truth_similarity']:.3f}) and its median precision "
                     f"{truth_rows['truth_precision'].median():.3f} (chance {chance['truth_precision']:.3f})."))
else:
    display(Markdown("These data carry no true synergies, so recovery cannot be measured."))
