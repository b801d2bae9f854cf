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
# # Square

# %% tags=["parameters"]
study = "runner-test"
value = 2
fail = False

# %%
from synlib import results
import pandas as pd

if fail:
    raise ValueError(f"asked to fail with value={value}")
results.write_table(pd.DataFrame({"value": [value], "square": [value**2]}), study, f"square_{value}")
print(value**2)
