"""``synlib new-study NAME --dataset PATH``: a study plan that runs every chapter on a dataset.

The plan it writes has no key that belongs to another dataset (no narrative
page of the shoulder part, no simulator option), so it builds alone:
``make book STUDIES=NAME``. Its comments say what a lab changes first.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from synlib import paths
from synlib.plan import PlanError, load_plan
from synlib.results import atomic_write_bytes
from synlib.text import yaml_flow

__all__ = ["plan_text", "write_plan"]

#: The activations of the paper; the plan trains every encoder × decoder pair of those it is given.
ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")

#: Preprocessing for trials that each hold one movement with rest around it, and for pre-cut ones.
PREPROCESS = {"rest": {"segmentation": "auto", "tonic": "none"},
              "pre-cut": {"segmentation": "whole", "tonic": "none"}}

_TEMPLATE = """\
# Written by `python -m synlib new-study {name} --dataset {dataset}`: every chapter of the book on
# this dataset. Check it first (`python -m synlib check {location}`), then build its part alone
# (`make book STUDIES={name}`). The keys are documented in book/own_data.md.
name: {name}
title: {title}
description: >
  {description}
parameters:
  dataset: {dataset_yaml}
  dataset_options: {{}}
  participants: null      # null: all; a number: the first n; a list: those ids
  seed: 0
  # synlib.preprocess.PreprocessConfig. Trials that are one pre-cut movement or cycle each:
  # {{segmentation: whole, tonic: none}}; trials with rest around one movement: {{segmentation: auto}}
  # (hand speed, else the onsets the data give, else an envelope threshold); tonic: ramp removes the
  # group's anti-gravity ramp, which needs rest before and after the movement.
  preprocess: {preprocess}
  test_repetitions: null  # null: the last repetition is held out (none when there is only one)
  rank_rule: r2_0.80      # the group's rule; rank_rules adds others (r2_0.85, linearity, cv)
  rank_offsets: [-1, 1]
  # NMF restarts and autoencoder seeds: the same number of starts, each keeping its best by training loss
  n_restarts: 3
  seeds: 3
  # autoencoders trained until their loss stops falling (ours); group: the group's 2000 RMSprop steps
  training: converged
  interpretability: {interpretability}
profiles:
  smoke: {{n_restarts: 2, max_iter: 100, training_options: {{warm_steps: 10, max_passes: 40, window: 10, tol: 1.0}},
          seeds: 2, chance_draws: 5}}
runs:
  - {{id: 00_data, notebook: 00_data}}
  - {{id: 01_preprocessing, notebook: 01_preprocessing}}
  - {{id: 02_nmf, notebook: 02_nmf, needs: [01_preprocessing]}}
  - id: "03_ae_{{encoder}}_{{decoder}}"
    notebook: 03_autoencoder
    group: "Autoencoders: every activation pair"
    needs: [02_nmf]
    matrix:
      encoder: {activations}
      decoder: {activations}
  - {{id: 04_tradeoff, notebook: 04_tradeoff, needs: [02_nmf, "03_ae_*"]}}
book:
  part: {title}
"""


def plan_text(name: str, dataset: str, *, title: str | None = None, pre_cut: bool = False,
              activations=ACTIVATIONS, n_participants: int | None = None, location: str | None = None) -> str:
    """The YAML of a new study plan (see the module docstring).

    Parameters
    ----------
    name : str
        Study name: the results folder and the plan's file name (letters, digits, ``-``, ``_``).
    dataset : str
        A registered dataset name or the path of a dataset folder.
    title : str, optional
        The part's title (default: from the name).
    pre_cut : bool
        Each trial is one pre-cut movement or cycle: ``segmentation: whole``.
    activations : sequence of str
        The plan trains every encoder × decoder pair of these.
    n_participants : int, optional
        With one participant, synergies are judged by their likeness to NMF's
        (``nmf_similarity``) rather than by consistency across participants.
    location : str, optional
        Where the plan is written, for its opening comment (default ``studies/<name>.yml``).
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        raise PlanError(f"study name {name!r}: use letters, digits, '-' and '_' (it names a folder and a file)")
    unknown = [a for a in activations if a not in ACTIVATIONS]
    if unknown or not activations:
        raise PlanError(f"activations {list(activations)}: choose among {', '.join(ACTIVATIONS)}")
    title = title or name.replace("-", " ").replace("_", " ").capitalize()
    return _TEMPLATE.format(
        name=name, dataset=dataset, dataset_yaml=yaml_flow(str(dataset)), title=yaml_flow(title),
        location=location or f"studies/{name}.yml",
        description=f"Every chapter of the book on the dataset {dataset}.",
        preprocess=yaml_flow(PREPROCESS["pre-cut" if pre_cut else "rest"]),
        interpretability=("nmf_similarity   # one participant: no consistency across participants to judge by"
                          if n_participants == 1 else "consistency"),
        activations=yaml_flow(list(activations)))


def write_plan(name: str, dataset: str, *, folder: Path = paths.STUDIES, force: bool = False, **options) -> Path:
    """Open ``dataset``, write ``<folder>/<name>.yml`` from :func:`plan_text` and check it loads.

    An existing plan is not overwritten unless ``force``. The dataset is opened
    (not preprocessed) so that a wrong path fails here, with the loader's message.
    """
    from synlib import datasets

    path = Path(folder) / f"{name}.yml"
    if path.exists() and not force:
        raise PlanError(f"{path} exists; choose another name or pass --force to replace it")
    try:
        data = datasets.load(dataset)
    except (KeyError, OSError, ValueError) as exc:
        raise PlanError(f"dataset {dataset!r}: {exc.args[0] if isinstance(exc, KeyError) else exc}") from exc
    source = dataset if dataset in datasets.available() else os.fspath(Path(dataset).resolve())
    shown = path.relative_to(paths.ROOT) if path.resolve().is_relative_to(paths.ROOT) else path
    atomic_write_bytes(path, plan_text(name, source, n_participants=len(data.participants), location=str(shown),
                                       **options).encode())
    load_plan(path)
    return path
