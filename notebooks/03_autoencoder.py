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
#   decoder weights clipped at 0 after every update, mean squared error on the raw envelopes,
#   RMSprop at a learning rate of 1e-3 with the Keras defaults (rho 0.9, eps 1e-7), 2000 full-batch
#   epochs, synergies = decoder weight vectors scaled to unit length, 9 repetitions to train on and
#   the 10th held out, R² centred on each muscle's mean;
# - **the paper**: the 16 activation pairs and the comparison with NMF at the rank NMF chose;
# - **ours**: Keras' other defaults where the group's code is silent (Glorot-uniform initial
#   weights, biases in both layers, batch-norm epsilon 1e-3), the seeds, and the batched trainer
#   that fits every participant at once (same maths as a plain Keras/PyTorch loop, checked by the
#   test suite and `benchmarks/bench_ae.py`). Every one of these is a parameter of
#   `synlib.autoencoder.Autoencoder`.

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
participants = None
seed = 0
seeds = 1
encoder = "relu"
decoder = "tanh"
epochs = 2000
k_source = "nmf"
test_repetitions = None
device = "auto"
training = {}
example_participant = None

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from myst_nb import glue

from synlib import metrics, results
from synlib.autoencoder import ACTIVATIONS, resolve_device
from synlib.autoencoder.study import default_test_repetitions, fit_participants
from synlib.plots import synergies as synergy_plots
from synlib.plots import training as plots
from synlib.preprocess import Envelopes
from synlib.tradeoff import select_participants

sns.set_theme(style="whitegrid", context="notebook")
label = f"{encoder}/{decoder}"
for role, name in (("encoder", encoder), ("decoder", decoder)):
    if name not in ACTIVATIONS:
        raise ValueError(f"{role}={name!r} is not a registered activation; allowed: {', '.join(ACTIVATIONS)}")
if not (isinstance(seeds, int) and seeds >= 1):
    raise ValueError(f"seeds={seeds!r}: give the number of seeds (an integer ≥ 1)")

envelopes = Envelopes.load(study)
nmf_fits = results.read_table(study, "nmf_fits")
nmf_arrays = results.read_arrays(study, "nmf_synergies")
keep = select_participants(envelopes.participants, participants)
envelopes = envelopes.select(mask=envelopes.rows["participant"].isin(keep).to_numpy())
if k_source == "nmf":
    n_components = nmf_fits.drop_duplicates("participant").set_index("participant")["k"].astype(int).to_dict()
elif isinstance(k_source, int):
    n_components = {p: k_source for p in keep}
else:
    raise ValueError(f"k_source={k_source!r}: use 'nmf' (the rank chosen in the NMF chapter) or an integer")
held_out = default_test_repetitions(envelopes) if test_repetitions is None else test_repetitions
seed_list = [seed + i for i in range(seeds)]
display(Markdown(
    f"Study **{study}**: {len(keep)} participant(s), {len(envelopes.muscles)} muscles, "
    f"{envelopes.X.shape[0]} samples. Held-out repetition(s): {held_out}. Synergies per participant "
    f"({'the rank NMF chose' if k_source == 'nmf' else 'fixed'}): "
    + ", ".join(f"{p}: {n_components[p]}" for p in keep) + f". Seeds: {seed_list}."
))

# %% [markdown]
# ## Training
#
# All participants and seeds of this pair are trained together in one batch; each model is
# independent of the others (the test suite checks that a model trained in a batch is bit for bit
# the model trained alone).

# %%
started = time.perf_counter()
fit = fit_participants(envelopes, n_components, encoder, decoder, seed_list, test_repetitions=held_out,
                       device=device, epochs=epochs, **training)
train_seconds = time.perf_counter() - started
results.write_table(fit.table, study, f"ae_fits_{encoder}_{decoder}")
results.write_arrays(study, f"ae_{encoder}_{decoder}", **fit.arrays)
model_epochs = int(fit.table["epochs"].sum())
display(Markdown(
    f"Trained {len(fit.table)} model(s) ({model_epochs} model-epochs) in {train_seconds:.1f} s on "
    f"{resolve_device(device)} with the {fit.table['backend'].iloc[0]} backend "
    f"({1e3 * train_seconds / model_epochs:.2f} ms per model and epoch, evaluation included)."
))

# %% [markdown]
# The training loss of each model, epoch by epoch (the value Keras would report: the loss before
# that epoch's update). A curve still falling at the last epoch means the network had not
# converged within the group's 2000 epochs.

# %%
curves = pd.concat([
    pd.DataFrame({"participant": p, "seed": s, "epoch": np.arange(1, len(ae.loss_curve_) + 1), "loss": ae.loss_curve_})
    for (p, s), ae in fit.models.items()
])
ax = plots.loss_curves(curves)
ax.set_title(f"{label}: training loss")
plt.show()
last_drop = np.median([1 - ae.loss_curve_[-1] / ae.loss_curve_[-len(ae.loss_curve_) // 10 - 1]
                       for ae in fit.models.values()])
glue("loss_drop_last_tenth", float(last_drop), display=False)
display(Markdown(f"Median relative fall of the loss over the last tenth of training: {last_drop:.2%}."))

# %% [markdown]
# ## Reconstruction against NMF
#
# R² centred on each muscle's mean (the group's definition) on the training repetitions and on the
# held-out repetition, for this pair and for NMF at the same rank.

# %%
nmf_rows = nmf_fits[nmf_fits["participant"].isin(keep)]
both = pd.concat([fit.table, nmf_rows], ignore_index=True)
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
    spread = fit.table.groupby("participant")[["r2_train", "r2_test", "final_loss"]].agg(["mean", "std", "min", "max"])
    display(spread.round(4))
    seed_similarity = []
    for p in keep:
        W0 = fit.models[(p, seed_list[0])].synergies_
        for s in seed_list[1:]:
            match = metrics.match_synergies(W0, fit.models[(p, s)].synergies_)
            seed_similarity.append({"participant": p, "seed": s, "similarity to first seed": match.mean})
    display(pd.DataFrame(seed_similarity).round(3))
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
matchings, similarity_rows = {}, []
for p in keep:
    W_nmf = nmf_arrays[f"{p}.synergies"]
    for s in seed_list:
        m = metrics.match_synergies_greedy(fit.models[(p, s)].synergies_, W_nmf)
        matchings[(p, s)] = m
        similarity_rows.append({"participant": p, "seed": s, "k": len(m.rows), "mean similarity": m.mean,
                                "lowest similarity": float(m.similarity.min())})
similarity = pd.DataFrame(similarity_rows)
display(similarity.round(3))
glue("nmf_similarity", float(similarity["mean similarity"].mean()), display=False)

shown = example_participant or keep[0]
if shown not in keep:
    raise ValueError(f"example_participant={shown!r} is not among the participants {keep}")
ae_shown = fit.models[(shown, seed_list[0])]
fig = plots.synergy_pairs(ae_shown.synergies_, nmf_arrays[f"{shown}.synergies"], matchings[(shown, seed_list[0])],
                          envelopes.muscles, label, title=f"participant {shown}, seed {seed_list[0]}")
plt.show()

# %% [markdown]
# When the data are simulated, the true synergies are known: the mean similarity of the
# autoencoder's synergies to them (Hungarian pairing) is in the fit table.

# %%
if fit.table["truth_similarity"].notna().any():
    truth = fit.table.groupby("participant")["truth_similarity"].mean()
    glue("truth_similarity", float(truth.mean()), display=False)
    display(Markdown(f"Mean similarity to the true synergies: {truth.mean():.3f} "
                     f"(from {truth.min():.3f} to {truth.max():.3f} across participants)."))
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
# Muscle activity and synergy weights are non-negative; some activations produce values that are
# not (negative activations from a linear or tanh encoder), or that sit at the bound of the
# activation, where the gradient vanishes (ReLU outputs at 0, sigmoid at 0 or 1, tanh at ±1;
# `synlib.metrics.saturation_fraction`). Counted on the held-out repetition.

# %%
problem_rows = []
for (p, s), ae in fit.models.items():
    prefix = f"{p}.s{s}."
    counts = {
        "negative synergy weights": metrics.negative_fraction(ae.synergies_),
        "negative activations": metrics.negative_fraction(fit.arrays[prefix + "activations_test"]),
        f"saturated encoder outputs ({encoder})": metrics.saturation_fraction(fit.arrays[prefix + "hidden_test"], encoder),
        f"saturated decoder outputs ({decoder})": metrics.saturation_fraction(fit.arrays[prefix + "output_test"], decoder),
    }
    problem_rows += [{"participant": p, "seed": s, "measure": k, "fraction": v} for k, v in counts.items()]
problems = pd.DataFrame(problem_rows)
grid = plots.value_problems(problems)
grid.figure.suptitle(label, y=1.02)
plt.show()
means = problems.groupby("measure")["fraction"].mean()
glue("negative_activations", float(means["negative activations"]), display=False)
glue("hidden_saturation", float(means[f"saturated encoder outputs ({encoder})"]), display=False)
glue("output_saturation", float(means[f"saturated decoder outputs ({decoder})"]), display=False)
display(Markdown("Mean fractions over participants: " + "; ".join(f"{k} {v:.1%}" for k, v in means.items()) + "."))
