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
# # Autoencoder synergies for one activation pair
#
# An autoencoder squeezes each sample of the muscle envelopes (16 muscles) through a few hidden
# units and rebuilds it. With one hidden layer, the decoder's weight vectors play the part of
# NMF's synergies and the hidden units' outputs the part of their activations. The paper trained
# one such network for each of the 16 pairs of encoder and decoder activations drawn from
# {linear, ReLU, sigmoid, tanh}; this page is one of those 16: the pair is set by the parameters
# `encoder` and `decoder`, and the study plan runs the page once per pair.
#
# What comes from where:
#
# - **the authors' group** (their published code for the predecessor study): batch normalisation of
#   each muscle at the input, a dense encoder (muscles → k) and a dense decoder (k → muscles),
#   decoder weights kept ≥ 0, mean squared error on the raw envelopes, RMSprop at a learning rate of
#   1e-3 with the Keras defaults (rho 0.9, eps 1e-7) for 2000 full-batch epochs (the *group*
#   training specification), synergies = decoder weight vectors scaled to unit length, 9 repetitions
#   to train on and the 10th held out, R² centred on each muscle's mean;
# - **the paper**: the 16 activation pairs and the comparison with NMF at the rank NMF chose;
# - **ours**: the *converged* training specification this page's headline models use (parameter
#   `training`): the same network and loss, trained until a stated test says the loss has stopped
#   falling — 1000 of the group's RMSprop steps on every 4th training row, then a batched
#   bound-constrained L-BFGS on those rows and then on all of them, until the training loss fell by
#   at most 0.01 % over the last 100 passes (or no step the float32 arithmetic can represent lowers
#   it), with a cap of 2500 passes (`synlib.autoencoder.fitting`; the options are
#   `training_options`); models that hit the cap are named and left out of the comparisons. The
#   group's 2000 steps did not finish training: the section below shows both where `group_seeds`
#   asks for the comparison. Each participant starts from its own initial weights (drawn from the
#   participant and the seed). Keras' other defaults where the group's code is silent
#   (Glorot-uniform initial weights, biases in both layers, batch-norm epsilon 1e-3); the ranks (every rank of the NMF
#   chapter's `nmf_ranks`: the headline rule's — on simulated data the true number of synergies —
#   and, on the rank-sensitivity participants, the other rules' and the offsets); the seeds
#   (`seeds` per participant and rank; the model kept is the seed with the lowest *training* loss,
#   never chosen on held-out data or truth); and the batched trainer
#   that fits every participant at once (same maths as a plain Keras/PyTorch loop, checked by the
#   test suite and `benchmarks/bench_ae.py`). Every one of these is a parameter of
#   `synlib.autoencoder.Autoencoder`.

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
participants = None
seed = 0
seeds = 3
encoder = "relu"
decoder = "tanh"
test_repetitions = None
device = "auto"
training = "converged"
training_options = {}
group_seeds = 0
group_epochs = 2000
example_participant = None

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from myst_nb import glue

from synlib import ranks as rank_rules_module, results, schema, text
from synlib.autoencoder.study import (check_pair, fit_participants, fit_warnings, loss_curves, nmf_matching,
                                      seed_list, seed_stability, training_summary, value_problems)
from synlib.device import resolve_device
from synlib.plots import synergies as synergy_plots
from synlib.plots import training as plots
from synlib.tradeoff import select_participants

sns.set_theme(style="whitegrid", context="notebook")
label = check_pair(encoder, decoder)
model_seeds = seed_list(seed, seeds)
comparison_seeds = seed_list(seed, group_seeds, "group_seeds") if group_seeds else []

envelopes = results.load_envelopes(study, truth=False)   # the true synergies only: the pages compare synergies
nmf_fits = results.read_table(study, "nmf_fits")
nmf_arrays = results.read_arrays(study, "nmf_synergies")
rank_table = results.read_table(study, "nmf_ranks")
keep = select_participants(envelopes.participants, participants)
envelopes = envelopes.select(mask=envelopes.rows["participant"].isin(keep).to_numpy())
rank_table = rank_table[rank_table["participant"].astype(str).isin(keep)]
n_components = rank_rules_module.ranks_by_participant(rank_table)
headline_k = rank_rules_module.headline_ranks(rank_table)
headline_rule = rank_table.loc[rank_table["headline"].astype(bool), "rule"].iloc[0]
held_out = envelopes.held_out(test_repetitions)
display(Markdown(
    f"Study **{study}**: {len(keep)} participant(s), {len(envelopes.muscles)} muscles, "
    f"{envelopes.X.shape[0]} samples. Held-out repetition(s): {held_out}. Ranks fitted per participant "
    f"(headline rule `{headline_rule}` in bold): "
    + ", ".join(f"{p}: " + "/".join(f"**{k}**" if k == headline_k[p] else str(k) for k in n_components[p])
                for p in keep) + f". Seeds: {model_seeds}."
))

# %% [markdown]
# ## Training
#
# All participants, ranks and seeds of this pair are trained together in one batch; each model is
# independent of the others (the test suite checks that a model trained in a batch is bit for bit
# the model trained alone). Every model records the passes over the training data it used, its final
# training loss, the value of the convergence test and whether it passed.

# %%
started = time.perf_counter()
fit = fit_participants(envelopes, test_repetitions=held_out, device=device, n_components=n_components,
                       encoder=encoder, decoder=decoder, seeds=model_seeds, training=training, **training_options)
train_seconds = time.perf_counter() - started
results.write_table(fit.table, study, f"ae_fits_{encoder}_{decoder}")
results.write_arrays(study, f"ae_{encoder}_{decoder}", **fit.arrays)
model_passes = float(fit.table["passes"].sum())
passed = int(fit.table["converged"].sum())
glue("n_models", float(len(fit.table)), display=False)
glue("n_passed", float(passed), display=False)
display(Markdown(
    f"Trained {len(fit.table)} model(s) with the **{training}** training specification in {train_seconds:.1f} s "
    f"on {resolve_device(device)} with the {fit.table['backend'].iloc[0]} backend "
    f"({1e3 * train_seconds / model_passes:.2f} ms per model and pass, evaluation included). "
    f"**{passed} of {len(fit.table)} passed the convergence test**; median passes "
    f"{fit.table['passes'].median():.0f}, most {fit.table['passes'].max():.0f}."
))

# %% [markdown]
# ### Two training specifications
#
# With `group_seeds` > 0 the pair is also trained for the group's fixed budget (`group_epochs`
# RMSprop steps at 1e-3) at each participant's headline rank, from the same initial weights as the
# headline models of the same seeds. The curves show the training loss against the passes used:
# where a curve ends is where its model stopped. The group's models are judged by the same test on
# their last window of epochs.

# %%
group_fit = None
if comparison_seeds:
    started = time.perf_counter()
    group_fit = fit_participants(envelopes, test_repetitions=held_out, device=device, n_components=headline_k,
                                 encoder=encoder, decoder=decoder, seeds=comparison_seeds, training="group",
                                 epochs=group_epochs)
    results.write_table(group_fit.table, study, f"ae_fits_{encoder}_{decoder}_group")
    results.write_arrays(study, f"ae_{encoder}_{decoder}_group", **group_fit.arrays)
    display(Markdown(f"Group budget: {len(group_fit.table)} model(s) in {time.perf_counter() - started:.1f} s."))
curves = loss_curves(fit, headline_k)
if group_fit is not None:
    curves = pd.concat([curves[curves["seed"].isin(comparison_seeds)], loss_curves(group_fit, headline_k)],
                       ignore_index=True)
fig = plots.loss_curves(curves)
fig.suptitle(f"{label}: training loss at the headline rank", y=1.02)
plt.show()
both_specs = pd.concat([rank_rules_module.at_headline(t, headline_k) for t in
                        [fit.table, *([] if group_fit is None else [group_fit.table])]], ignore_index=True)
display(text.table(training_summary(both_specs), "The models at the headline rank, per training specification.",
                   digits=4))
for note in fit_warnings(both_specs):
    display(Markdown("> " + note))

# %% [markdown]
# ## Reconstruction against NMF
#
# R² centred on each muscle's mean (the group's definition) on the training repetitions and on the
# held-out repetition, for this pair (every seed) and for NMF at the same (headline) rank.

# %%
at_headline = rank_rules_module.at_headline
nmf_rows = at_headline(nmf_fits[nmf_fits["participant"].isin(keep)], headline_k)
both = pd.concat([at_headline(fit.table, headline_k), nmf_rows], ignore_index=True)
grid = plots.r2_against_nmf(both, label)
grid.figure.suptitle(f"{label} against NMF", y=1.03)
plt.show()
summary = both.groupby("method")[["r2_train", "r2_test"]].mean()
glue("r2_test_ae", float(summary.loc["AE", "r2_test"]), display=False)
glue("r2_test_nmf", float(summary.loc["NMF", "r2_test"]), display=False)
glue("r2_test_gap", float(summary.loc["AE", "r2_test"] - summary.loc["NMF", "r2_test"]), display=False)
display(Markdown(
    f"Mean held-out R²: {label} {summary.loc['AE', 'r2_test']:.3f}, NMF {summary.loc['NMF', 'r2_test']:.3f} "
    f"(training: {summary.loc['AE', 'r2_train']:.3f} and {summary.loc['NMF', 'r2_train']:.3f})."
))

# %% [markdown]
# ### Seeds
#
# Different initial weights can end in different networks. With more than one seed (parameter
# `seeds`), the spread of each measure across seeds is shown here rather than averaged away.

# %%
if seeds > 1:
    spread = at_headline(fit.table, headline_k).groupby("participant")[["r2_train", "r2_test", "final_loss"]].agg(["min", "max", "std"])
    spread.columns = [f"{measure} {stat}" for measure, stat in spread.columns]
    display(text.table(spread, "Spread across seeds at the headline rank, per participant.", digits=4, index=True))
    stability = seed_stability(fit, model_seeds)
    glue("seed_stability", float(stability["similarity between seeds"].median()), display=False)
    display(Markdown(f"Median matched similarity between the seeds' synergies: "
                     f"{stability['similarity between seeds'].median():.3f} (lowest "
                     f"{stability['similarity between seeds'].min():.3f})."))
else:
    display(Markdown("One seed was run (`seeds = 1`): no spread across initial weights is shown."))

# %% [markdown]
# ## Synergies side by side with NMF
#
# Each autoencoder synergy is paired with an NMF synergy of the same participant greedily, by the
# largest dot product of unit vectors (the group's procedure); the number in each title is their
# cosine similarity. Bars are weights on the muscles. The table lists the pairing of every
# participant, the figure shows one participant (parameter `example_participant`).

# %%
matchings, similarity = nmf_matching(fit, nmf_arrays, headline_k, model_seeds)
display(text.table(similarity, "Matched similarity to NMF's synergies at the headline rank, per participant and seed."))
glue("nmf_similarity", float(similarity["mean similarity"].mean()), display=False)

shown = example_participant or keep[0]
if shown not in keep:
    raise ValueError(f"example_participant={shown!r} is not among the participants {keep}")
ae_shown = fit.models[(shown, headline_k[shown], model_seeds[0])]
fig = plots.synergy_pairs(ae_shown.synergies_, nmf_arrays[schema.fit_key(shown, headline_k[shown], "synergies")],
                          matchings[(shown, model_seeds[0])],
                          envelopes.muscles, label, title=f"participant {shown}, seed {model_seeds[0]}")
plt.show()

# %% [markdown]
# When the data are simulated, the true synergies are known: the recovery of the autoencoder's
# synergies (matched similarity per true synergy, Hungarian pairing; an unmatched true synergy counts
# 0) at the headline rank is in the fit table.

# %%
if fit.table["truth_similarity"].notna().any():
    truth = at_headline(fit.table, headline_k).groupby("participant")["truth_similarity"].mean()
    glue("truth_similarity", float(truth.median()), display=False)
    display(Markdown(f"Median recovery of the true synergies: {truth.median():.3f} "
                     f"(from {truth.min():.3f} to {truth.max():.3f} across participants, seeds averaged)."))
else:
    display(Markdown("These data carry no ground truth."))

# %% [markdown]
# ## Activation profiles
#
# The activations (encoder outputs scaled by the length of their decoder weight vectors) of the
# example participant on the training repetitions, averaged over repetitions, against normalised
# movement time: one colour per target, one column per plane (per condition and phase for data
# without targets and planes).

# %%
train_rows = envelopes.select(shown).split(held_out)[0].rows
fig = synergy_plots.activation_profiles(ae_shown.activations_, train_rows)
fig.suptitle(f"{label}, participant {shown}", y=1.01)
plt.show()

# %% [markdown]
# ## Negative and saturated values
#
# Muscle activity is non-negative; some encoders produce activations that are not (a linear or tanh
# encoder), and sigmoid and tanh units can sit at the bound of their activation, where the gradient
# vanishes (`synlib.metrics.saturation_fraction`; a ReLU at 0 is a silent unit, as NMF is silent in
# untuned directions, and is not counted). A unit whose activation never varies is dead
# (`synlib.metrics.dead_unit_fraction`). The decoder weights are clipped at 0, so negative synergy
# weights are only a check (always 0). Counted on the held-out repetition at the headline rank.

# %%
problems = value_problems(fit, headline_k, encoder, decoder)
grid = plots.value_problems(problems)
grid.figure.suptitle(label, y=1.02)
plt.show()
means = problems.groupby("measure")["fraction"].mean()
glue("negative_activations", float(means["negative activations"]), display=False)
glue("hidden_saturation", float(means[f"saturated encoder outputs ({encoder})"]), display=False)
glue("output_saturation", float(means[f"saturated decoder outputs ({decoder})"]), display=False)
display(Markdown("Mean fractions over participants: " + "; ".join(f"{k} {v:.1%}" for k, v in means.items()) + "."))

# %% [markdown]
# ## What the units do: effective synergies
#
# With a non-linear decoder the decoder weights are not what a unit does to the muscles. The
# *effective synergy* of a unit is the mean Jacobian of the network's output with respect to that
# unit's activation over the training samples (`synlib.autoencoder.effective`); for a linear decoder
# it is the synergy itself. Their cosine similarity to the decoder weights, per participant and
# seed at the headline rank, says how far reading the weights as synergies can be trusted.

# %%
effective = at_headline(fit.table, headline_k)["effective_similarity"]
glue("effective_similarity", float(effective.median()), display=False)
display(Markdown(f"Median similarity of the decoder weights to the effective synergies: {effective.median():.3f} "
                 f"(lowest {effective.min():.3f})."))
