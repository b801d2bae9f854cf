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
# # Total

# %% tags=["parameters"]
study = "runner-test"

# %%
import pandas as pd
from synlib import paths, results

squares = sorted(paths.results_dir(study).glob("square_*.csv"))
total = sum(pd.read_csv(p)["square"].sum() for p in squares)
results.write_table(pd.DataFrame({"n": [len(squares)], "total": [total]}), study, "total")
total
