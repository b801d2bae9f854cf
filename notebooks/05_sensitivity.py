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
# # Where the methods break down: one difficulty axis
#
# The simulated cohort's ground truth lets us ask what no real dataset can answer: as the data get
# harder, when does each method stop recovering the true synergies, and does any autoencoder ever
# recover them better than NMF? This page sweeps one option of the generator (`axis`, at `levels`,
# every other option at the study's values) and, at each level, generates the cohort, preprocesses
# it as the preprocessing chapter does, fits NMF and the chosen autoencoder pairs at each
# participant's true number of synergies on the training repetitions, and measures truth recovery
# with the honest measure (matched cosine divided by the number of true synergies, an unmatched one
# counting 0) beside its chance level (the same synergies with their weights shuffled across the
# muscles). The study plan runs the page once per axis (`levels` = `None` takes
# `synlib.sensitivity.DEFAULT_LEVELS`), and the results go to the study's folder
# (`sensitivity_<axis>.csv`).
#
# What is ours: the axes and their levels, the participants per level, the pairs (by default the
# ones the verdict names: the best-reconstructing and best-recovering pairs of the `reference_study`
# at its headline rank, relu/tanh and linear/linear), one model kept per pair and participant by
# the lowest training loss, and the breakdown threshold. The training itself is the autoencoder
# chapter's (its `training` specification, by default the converged one, with `training_options`),
# all pairs and participants of a level in one batch.

# %% tags=["parameters"]
study = "simulated"
dataset_options = {}
axis = "synergy_overlap"
levels = None
sweep_participants = 3
reference_study = None
pairs = "verdict"
seed = 0
sweep_seeds = 1
training = "converged"
training_options = {}
n_restarts = 5
max_iter = 1000
nmf_solver = "mu"
nmf_init = "random"
chance_draws = 200
breakdown_similarity = 0.8
preprocess = {}
device = "auto"

# %%
import matplotlib.pyplot as plt
import seaborn as sns
from IPython.display import Markdown, Pretty, display
from myst_nb import glue

from synlib import results, sensitivity, text
from synlib.autoencoder.study import seed_list
from synlib.device import resolve_device
from synlib.nmf import SOLVER_NAMES
from synlib.plots import tradeoff as tradeoff_plots

sns.set_theme(style="whitegrid", context="notebook")
seeds = seed_list(seed, sweep_seeds, name="sweep_seeds")
pair_list, source = sensitivity.resolve_pairs(pairs, reference_study or study)
levels = sensitivity.resolve_levels(axis, levels)
label, _ = sensitivity.AXES.get(axis, (axis, True))
options = {**dataset_options, **sensitivity.AXIS_OPTIONS.get(axis, {})}
changed = {k: v for k, v in options.items() if dataset_options.get(k) != v}
display(Markdown(
    f"Axis **`{axis}`** ({label}) at {', '.join(f'{v:g}' for v in levels)}"
    + (f", with {changed} for the axis to act" if changed else "")
    + f"; {sweep_participants} participants per level; NMF ({n_restarts} `{nmf_init}` restarts, solver "
    f"`{nmf_solver}`: {SOLVER_NAMES[nmf_solver]}) and {source}: "
    f"{', '.join('/'.join(p) for p in pair_list)}; {sweep_seeds} seed(s) per pair and participant, "
    f"{training} training; on {resolve_device(device)}."))

# %%
table = sensitivity.sweep(options, axis, levels, n_participants=sweep_participants, pairs=pair_list,
                          seeds=seeds, preprocess=preprocess, n_restarts=n_restarts,
                          max_iter=max_iter, nmf_solver=nmf_solver, nmf_init=nmf_init, chance_draws=chance_draws,
                          device=device, seed=seed, training=training, **training_options)
results.write_table(table, study, f"sensitivity_{axis}")
summary = sensitivity.level_summary(table)

# %% [markdown]
# ## Truth recovery along the axis
#
# Median over participants with its 95 % bootstrap interval (shaded), NMF in black, relu/tanh bold;
# the grey dashed line is the chance level and the dotted one the breakdown threshold. With three
# participants an interval is wide: read the curves, not a ranking.

# %%
fig, ax = plt.subplots(figsize=(7, 4.2))
tradeoff_plots.sensitivity_curves(summary, levels, label, ax=ax, threshold=breakdown_similarity)
ax.set_title(f"Truth recovery as {axis} changes")
glue(f"sensitivity_{axis}_fig", fig, display=False)
plt.show()
display(text.table(summary.pivot(index="config", columns="level", values="median").rename(columns=lambda v: f"{v:g}"),
              f"Median truth recovery per configuration (rows) at each level of {axis} (columns).", index=True))

# %% [markdown]
# ## Where each method breaks down, and whether a decoder beats NMF
#
# A method *breaks down* at the first level where its median recovery falls below
# `breakdown_similarity` (ours). A pair *beats NMF* at a level when it recovers the truth better than
# NMF for every participant; with so few participants no test reaches significance, so agreement on
# every participant is the strongest statement the sweep supports.

# %%
broken = sensitivity.breakdown(summary, levels, breakdown_similarity)
wins = sensitivity.beats_nmf(table)
breakdown_text = sensitivity.describe_breakdown(broken, axis, breakdown_similarity)
wins_text = sensitivity.describe_wins(wins)
display(Markdown(breakdown_text + " " + wins_text))
glue(f"sensitivity_{axis}_breakdown", Pretty(breakdown_text), display=False)
glue(f"sensitivity_{axis}_beats_nmf", Pretty(wins_text), display=False)
glue(f"sensitivity_{axis}_n_wins", float(len(wins)), display=False)
