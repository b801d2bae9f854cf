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
# # The same pipeline on the other mixing mode
#
# The next chapter asks which method recovers the true synergies, in both of the simulator's mixing
# modes:
#
# - **linear**: each muscle's envelope is the weighted sum of the synergy activations, exactly the
#   model NMF assumes;
# - **nonlinear**: each muscle has a recruitment threshold and saturates (see the data chapter), so
#   the linear model is wrong by construction, as it probably is for real muscles.
#
# The study's own chapters give one mode, the one its `dataset_options` ask for. This page runs the
# same pipeline on the other mode: preprocessing, NMF with the same rank rule, and every activation
# pair with the same training protocol, with the functions the earlier chapters use and the
# study's seed. It uses `other_participants` participants (5 by default, to keep the book's build
# time in bounds; any number up to the cohort's can be asked for) and writes to the results folder
# `<study>-<mode>`. It needs nothing from the other chapters, so the runner starts it at once,
# beside the preprocessing chapter.

# %% tags=["parameters"]
study = "simulated"
dataset = "simulated"
dataset_options = {}
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
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from myst_nb import glue

from synlib import datasets, results, tradeoff
from synlib import preprocess as prep
from synlib.autoencoder.study import fit_pairs
from synlib.nmf import fit_participants as fit_nmf
from synlib.plots import tradeoff as plots

sns.set_theme(style="whitegrid", context="notebook")
modes = tradeoff.mixing_modes(study, dataset, dataset_options)
pairs = [(e, d) for e in tradeoff.ACTIVATIONS for d in tradeoff.ACTIVATIONS]
display(Markdown(f"The study `{study}` uses **{modes.study}** mixing; this page runs the pipeline on "
                 f"**{modes.other}** mixing into the results folder `{modes.other_study}`."))

# %% [markdown]
# ## Preprocessing
#
# The simulator knows each muscle's true envelope; the Pearson correlation between the
# preprocessed envelope and the true one shows what the preprocessing keeps, participant by
# participant (median over the 16 muscles, and the worst muscle).

# %%
started = time.perf_counter()
other_options = {**dataset_options, "mixing": modes.other, "n_participants": other_participants}
data = datasets.open_dataset(dataset, other_options, participants=None, seed=seed)
envelopes = prep.preprocess(data, preprocess, progress=False)
envelopes.save(modes.other_study)
recovery = prep.envelope_recovery(envelopes)
display(recovery.groupby("participant")["r"].agg(["median", "min"]).round(3))
glue("other_mixing_envelope_median_r", float(recovery["r"].median()), display=False)

# %% [markdown]
# ## NMF
#
# Ranks are swept and chosen with the study's rule (smallest rank whose R² reaches the threshold),
# on the training repetitions; the held-out repetition is reconstructed from the fixed synergies.

# %%
ranks = range(1, min(max_rank or len(envelopes.muscles), len(envelopes.muscles)) + 1)
nmf = fit_nmf(envelopes, ranks=ranks, n_restarts=n_restarts, max_iter=max_iter, threshold=r2_threshold,
              test_repetitions=test_repetitions, random_state=seed)
results.write_table(nmf.table, modes.other_study, "nmf_fits")
results.write_arrays(modes.other_study, "nmf_synergies", **nmf.arrays)
display(nmf.table.set_index("participant")[["k", "r2_train", "r2_test", "truth_similarity"]].round(3))
glue("other_mixing_nmf_median_k", float(nmf.table["k"].median()), display=False)

# %% [markdown]
# ## Every activation pair
#
# All 16 pairs and all participants are trained in one batch, with the number of synergies NMF
# chose for each participant. The heat maps give the median over participants of the held-out R²
# and of the similarity of the synergies to the true ones; the next chapter sets them against the
# study's own mode.

# %%
ranks = nmf.table.set_index("participant")["k"].astype(int).to_dict()
fits = fit_pairs(envelopes, ranks, pairs, [seed], test_repetitions=test_repetitions, epochs=epochs)
for (encoder, decoder), fit in fits.items():
    results.write_table(fit.table, modes.other_study, f"ae_fits_{encoder}_{decoder}")
    results.write_arrays(modes.other_study, f"ae_{encoder}_{decoder}", **fit.arrays)
seconds = time.perf_counter() - started
display(Markdown(f"{len(envelopes.participants)} participants, NMF and {len(pairs)} activation pairs in "
                 f"{seconds:.0f} s."))

summary = tradeoff.config_summary(tradeoff.load_study_table(modes.other_study),
                                  ["r2_test", "truth_similarity"], statistic="median")
fig = plots.pair_heatmaps(summary, ["r2_test", "truth_similarity"], ncols=2)
nmf_row = summary[summary["method"] == tradeoff.NMF].iloc[0]
fig.suptitle(f"{modes.other} mixing: NMF held-out R² {nmf_row['r2_test']:.3f}, "
             f"truth similarity {nmf_row['truth_similarity']:.3f}", y=1.02)
plt.show()
display(summary.set_index("config")[["n_participants", "r2_test", "truth_similarity"]].round(3))
