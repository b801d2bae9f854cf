"""Chapters are narration: no notebook defines a function or a class, and each results file has one writer."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))
# results.write_table(frame, study, "<name>") / results.write_arrays(study, "<name>", ...) /
# results.save_envelopes(envelopes, study)
WRITERS = {"write_table": 2, "write_arrays": 1}


def _code(path: Path) -> ast.Module:
    cells = jupytext.read(path).cells
    return ast.parse("\n".join(c.source for c in cells if c.cell_type == "code" and not c.source.startswith("%")))


def _written(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in WRITERS and len(node.args) > WRITERS[node.func.attr]:
                arg = node.args[WRITERS[node.func.attr]]
                # an f-string's literal part names the file family (e.g. "ae_fits_{encoder}_{decoder}")
                names.add(ast.unparse(arg).strip("'\"f"))
            elif node.func.attr == "save_envelopes":
                names.add("envelopes")
    return names


def test_no_notebook_defines_a_function_or_a_class():
    for path in NOTEBOOKS:
        defined = [f"{type(n).__name__} {n.name} (line {n.lineno})" for n in ast.walk(_code(path))
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        assert not defined, f"{path.name} defines {defined}: chapter logic belongs in synlib"


def test_no_two_notebooks_write_the_same_results_file():
    writers: dict[str, list[str]] = {}
    for path in NOTEBOOKS:
        for name in _written(_code(path)):
            writers.setdefault(name, []).append(path.name)
    assert writers, "the check found no writer at all: the pattern no longer matches the chapters"
    shared = {name: who for name, who in writers.items() if len(who) > 1}
    assert not shared, f"results files with more than one writer: {shared}"
    assert re.search("nmf_fits", " ".join(writers)), writers


def test_every_results_file_a_notebook_writes_is_declared_with_that_notebook_as_writer():
    from synlib import schema

    declared = {spec.pattern: spec.writer for spec in [*schema.TABLES.values(), *schema.ARRAYS.values()]}
    found = {}
    for path in NOTEBOOKS:
        for name in _written(_code(path)):
            # save_envelopes writes the envelope matrix, its row table and the steps that made it
            for written in (["envelopes", "envelope_rows", "preprocess_steps"] if name == "envelopes" else [name]):
                found[written] = path.stem
    undeclared = sorted(set(found) - set(declared))
    assert not undeclared, f"written by notebooks but not declared in synlib.schema: {undeclared}"
    wrong = {name: (found[name], declared[name]) for name in found if found[name] != declared[name]}
    assert not wrong, f"(notebook, declared writer) disagree: {wrong}"
    assert set(declared) <= set(found), f"declared but written by no notebook: {sorted(set(declared) - set(found))}"
