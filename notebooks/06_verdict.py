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
# # The verdict on the paper's two claims
#
# Brambilla et al. (2025) claim that (1) the encoder/decoder pairs that reconstruct EMG best are not
# the pairs whose synergies make physiological sense, and (2) a ReLU encoder with a tanh decoder gave
# the most physiological synergies. Each dataset's trade-off chapter judged both claims at every rank
# of its design and on every measure that has a better side (`synlib.tradeoff.claims_table`):
#
# - claim 1 is *reproduced* when the set of pairs that cannot be told apart from the best
#   reconstruction (Holm-corrected Wilcoxon against the best median) and the same set on the
#   interpretability measure share no pair, *not reproduced* when they share one, and *not
#   distinguishable* when either set holds all sixteen pairs;
# - claim 2 is *reproduced* when relu/tanh is alone in the top set on the measure, *not reproduced*
#   when it is outside that set, *not distinguishable* when it shares it.
#
# This page gathers them: one table per dataset at its headline rank and headline measure, with the
# numbers and intervals behind each verdict, relu/tanh's rank on every measure, and a specification
# curve over every analytic choice. The decision rules are ours.

# %% tags=["parameters"]
study = "verdict"
seed = 0
studies = ["simulated", "simulated-nonlinear", "shoulder", "gait"]

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, Pretty, display
from myst_nb import glue

from synlib import text, tradeoff
from synlib.plots import tradeoff as tradeoff_plots

sns.set_theme(style="whitegrid", context="notebook")
if not studies:
    raise ValueError("studies is empty: name the studies whose trade-off chapters this page gathers")
claims = tradeoff.read_claims(studies)
display(Markdown(f"{len(claims)} specifications from {claims['study'].nunique()} datasets: "
                 + ", ".join(f"`{s}` ({n})" for s, n in claims.groupby("study", sort=False).size().items()) + "."))

# %% [markdown]
# ## Dataset by dataset
#
# At each dataset's headline rank rule: for every interpretability measure, the two verdicts, the
# pairs that cannot be told apart from the best (reconstruction, then the measure), relu/tanh's rank
# and its median with a 95 % bootstrap interval over participants.

# %%
summary = tradeoff.verdict_summary(claims)
glue("verdict_summary", summary.set_index("dataset"), display=True)

# %% [markdown]
# Every measure of each dataset at its headline rank:

# %%
for name in dict.fromkeys(claims["study"]):
    table = tradeoff.verdict_table(claims[claims["study"] == name])
    display(Markdown(f"### `{name}`"))
    glue(f"verdict_{name.replace('-', '_')}", table.set_index("measure"), display=True)
    headline = tradeoff.headline_claims(claims[claims["study"] == name])
    for key in ("claim1", "claim2"):
        glue(f"{name.replace('-', '_')}_{key}", Pretty(headline[key]), display=False)
    glue(f"{name.replace('-', '_')}_pair_rank", float(headline["pair_rank"]), display=False)
    glue(f"{name.replace('-', '_')}_measure", Pretty(tradeoff.MEASURES[headline["interpretability"]].label),
         display=False)

# %% [markdown]
# ## Across every choice: the specification curve
#
# Each point is one combination of choices — dataset, training specification (`converged`, ours, or
# the group's fixed budget of 2000 RMSprop steps, trained on the linear simulated cohort for this
# comparison), rank rule (and offset around the headline rank) and interpretability measure. The upper panel is the Spearman correlation, over the sixteen
# pairs, between their median reconstruction and their median score on the measure (ρ > 0: the pairs
# that reconstruct better also score better; claim 1 expects ρ ≤ 0), coloured by the verdict on
# claim 1; the second figure is relu/tanh's rank among the pairs (1 = best), coloured by the verdict on
# claim 2. The marks below each curve show the choices.

# %%
choices = ["study", "training", "rule", "interpretability"]
fig = tradeoff_plots.specification_curve(claims, "rho", choices, verdict="claim1",
                                         effect_label="Spearman ρ (reconstruction, measure)")
glue("spec_curve_claim1", fig, display=False)
plt.show()
fig = tradeoff_plots.specification_curve(claims, "pair_rank", choices, verdict="claim2",
                                         effect_label=f"rank of {tradeoff.PAPER_PAIR}")
glue("spec_curve_claim2", fig, display=False)
plt.show()

# %%
shares = tradeoff.verdict_shares(claims)
display(text.table(shares, "Share of specifications giving each verdict, per claim.", index=True))
for claim in ("claim1", "claim2"):
    for verdict in (tradeoff.REPRODUCED, tradeoff.NOT_REPRODUCED, tradeoff.NOT_DISTINGUISHABLE):
        glue(f"share_{claim}_{verdict.replace(' ', '_')}", float(shares.loc[claim, verdict]), display=False)
glue("n_specifications", float(len(claims)), display=False)
display(Markdown(tradeoff.describe_shares(shares, len(claims))))
