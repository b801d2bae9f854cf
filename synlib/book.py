"""Assemble and build the Jupyter Book from the executed notebooks of one or more study plans.

The table of contents is written from ``book/outline.yml`` (front and back
matter) and the plans (one part per plan), so that a book built from the
simulated plan alone, or with a fork's plan added, has exactly the pages that
were run. The build uses Jupyter Book 1 with execution off: papermill already
executed every notebook.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from synlib import declared, paths
from synlib.plan import BOOK_SCHEMA, Plan, PlanError, Run
from synlib.results import atomic_write_bytes, os_error_reason
from synlib.text import yaml_flow

RECORDED_PACKAGES = (
    "synlib", "numpy", "scipy", "pandas", "scikit-learn", "torch", "matplotlib", "seaborn",
    "papermill", "jupytext", "myst-nb", "jupyter-book", "sphinx", "dask",
)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _doc(plan: Plan, run: Run) -> str:
    return f"_generated/{plan.name}/{run.id}"


def _group_page(plan: Plan, group: str, runs: list[Run], source: Path) -> str:
    """Write the index page of a group of runs (e.g. the 16 activation pairs); return its docname."""
    varying = [k for k in runs[0].parameters if len({json.dumps(r.parameters.get(k), default=str) for r in runs}) > 1]
    lines = [f"# {group}", "", f"One page per run of `{runs[0].notebook.name}`, differing only in "
             + ", ".join(f"`{k}`" for k in varying) + ":", ""]
    for run in runs:
        label = " / ".join(str(run.parameters[k]) for k in varying)
        lines.append(f"- {{doc}}`{label} <{run.id}>`")
    name = f"group-{_slug(group)}"
    atomic_write_bytes(source / "_generated" / plan.name / f"{name}.md", ("\n".join(lines) + "\n").encode())
    return f"_generated/{plan.name}/{name}"


def _about_page(plan: Plan, source: Path) -> str:
    """Write the page that opens ``plan``'s part: what it is, its data and the choices it ran with."""
    lines = [f"# {plan.title}", ""]
    if plan.description:
        lines += [plan.description.strip(), ""]
    location = plan.path.relative_to(paths.ROOT) if plan.path.is_relative_to(paths.ROOT) else plan.path
    data_run = next((r for r in plan.runs if r.notebook.stem == "00_data"), None)
    if data_run is not None:
        facts = glued(paths.generated_root() / plan.name / f"{data_run.id}.ipynb", "dataset_facts")
        lines += ["## The data", "", facts, "", f"The data chapter ({{doc}}`{data_run.id}`) shows them in full.", ""]
    common = plan.runs[0].common
    lines += ["## The choices it ran with", "",
              f"The plan `{location}` gives every chapter that declares them these parameters (a chapter's "
              "own values, and the profile it was run with, are in the *rerun this chapter* note of its page):",
              "", "| parameter | value |", "| --- | --- |"]
    lines += [f"| `{name}` | `{yaml_flow(value).replace('|', '/')}` |" for name, value in common.items()]
    lines += ["", f"It runs {len(plan.runs)} chapter page(s); to rebuild this part alone: "
              f"`make book STUDIES={plan.path.stem}` (or `python -m synlib run {location}` then "
              f"`python -m synlib book {location}`).", ""]
    atomic_write_bytes(source / "_generated" / plan.name / "about.md", "\n".join(lines).encode())
    return f"_generated/{plan.name}/about"


def glued(notebook: Path, key: str, mime: str = "text/markdown") -> str:
    """The ``mime`` content that an executed ``notebook`` glued under ``key`` (``myst_nb.glue``).

    The part's opening page copies it at build time: myst-nb's Markdown glue
    directive reads only the page's own notebook.
    """
    cells = json.loads(Path(notebook).read_text())["cells"]
    for output in (o for cell in cells for o in cell.get("outputs", [])):
        record = output.get("metadata", {}).get("scrapbook", {})
        if record.get("name") == key:
            found = output["data"].get(record.get("mime_prefix", "") + mime)
            if found is not None:
                return "".join(found) if isinstance(found, list) else found
    raise PlanError(f"{notebook} glued no {mime} under {key!r}; run its chapter again (python -m synlib run ...)")


def check_book_section(plan: Plan, plans: list[Plan], source: Path = paths.BOOK) -> None:
    """Refuse a plan's ``book:`` section that would break the build, saying why and what to do.

    Unknown keys, pages that do not exist, and pages that show the results of a study
    this build does not include (a copy of ``studies/shoulder.yml`` that keeps
    ``before: [shoulder]``, say) are each named with the plan file.
    """
    where = f"{plan.path.name}, book:"
    try:
        declared.check_document(plan.book, BOOK_SCHEMA, f"{plan.path.name}, book")
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    built = {p.name for p in plans}
    for key in ("before", "after"):
        for page in plan.book.get(key) or []:
            path = source / f"{page}.md"
            if not path.is_file():
                raise PlanError(f"{where} {key} names page {page!r}, but {path} does not exist")
            shown = sorted(set(re.findall(r"_generated/([A-Za-z0-9_.-]+)/", path.read_text())) - built)
            if shown:
                raise PlanError(
                    f"{where} {key} names page {page!r}, which shows results of the study {shown[0]!r} "
                    f"({path.name} refers to _generated/{shown[0]}/), but this build does not include that "
                    f"study: remove {page!r} from {key} (a page of your own may describe your data) or build "
                    f"studies/{shown[0]}.yml too")


def parts_summary(plans: list[Plan], source: Path = paths.BOOK) -> Path:
    """Write ``_generated/parts.md``, the introduction's list of this build's parts."""
    lines = [f"- **{p.book.get('part', p.title)}** {' '.join(str(p.book['summary']).split())}"
             if p.book.get("summary") else f"- **{p.book.get('part', p.title)}**: {' '.join(p.description.split())}"
             for p in plans]
    return atomic_write_bytes(source / "_generated" / "parts.md", ("\n".join(lines) + "\n").encode())


ABOUT_ENTRY = "About this part"
"""Navigation title of a part's opening page when the part's caption is already the plan's title."""


def _plan_part(plan: Plan, source: Path) -> dict:
    caption = plan.book.get("part", plan.title)
    about = {"file": _about_page(plan, source)}
    if caption == plan.title:  # the sidebar would show the same words twice, caption over page
        about["title"] = ABOUT_ENTRY
    chapters: list[dict] = [about]
    chapters += [{"file": page} for page in plan.book.get("before", [])]
    seen_groups: set[str] = set()
    for run in plan.runs:
        if run.group is None:
            chapters.append({"file": _doc(plan, run)})
        elif run.group not in seen_groups:
            seen_groups.add(run.group)
            members = [r for r in plan.runs if r.group == run.group]
            chapters.append({"file": _group_page(plan, run.group, members, source),
                             "sections": [{"file": _doc(plan, r)} for r in members]})
    chapters += [{"file": page} for page in plan.book.get("after", [])]
    return {"caption": caption, "chapters": chapters}


def missing_outputs(plan: Plan) -> list[Run]:
    """Runs of ``plan`` whose executed notebook has not been published."""
    return [r for r in plan.runs if not (paths.generated_root() / plan.name / f"{r.id}.ipynb").exists()]


def write_toc(plans: list[Plan], source: Path = paths.BOOK) -> Path:
    """Write ``<source>/_toc.yml``: outline front matter, one part per plan, outline back matter."""
    if paths.generated_root() != source / "_generated":
        raise PlanError(f"the book in {source} is built from notebooks published to {source / '_generated'}, "
                        f"but SYNLIB_GENERATED points at {paths.generated_root()}")
    outline = yaml.safe_load((source / "outline.yml").read_text())
    for plan in plans:
        check_book_section(plan, plans, source)
        missing = missing_outputs(plan)
        if missing:
            raise PlanError(
                f"study {plan.name!r} has not been run: no executed notebook for "
                f"{', '.join(r.id for r in missing[:5])}{' …' if len(missing) > 5 else ''}; "
                f"run `python -m synlib run {plan.path.relative_to(paths.ROOT) if plan.path.is_relative_to(paths.ROOT) else plan.path}` first"
            )
    parts_summary(plans, source)
    parts = list(outline.get("before", [])) + [_plan_part(p, source) for p in plans] + list(outline.get("after", []))
    toc = {"format": "jb-book", "root": outline["root"], "parts": parts}
    return atomic_write_bytes(source / "_toc.yml", yaml.safe_dump(toc, sort_keys=False).encode())


def _git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" (with uncommitted changes)" if dirty else "")


def environment_record(plans: list[Plan]) -> dict:
    """Package versions, Python, platform, git commit, and each plan's hash and seed."""
    versions = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "packages": versions,
        "studies": [
            {"name": p.name, "plan": str(p.path.name), "plan_sha256": p.digest,
             "seed": p.runs[0].parameters.get("seed", "not set")}
            for p in plans
        ],
    }


def write_environment(plans: list[Plan], source: Path = paths.BOOK) -> Path:
    """Write the environment record as JSON and as a Markdown table the book includes."""
    record = environment_record(plans)
    folder = source / "_generated"
    atomic_write_bytes(folder / "environment.json", json.dumps(record, indent=1).encode())
    lines = ["| what | value |", "| --- | --- |",
             f"| Python | {record['python']} |", f"| platform | {record['platform']} |",
             f"| git commit | `{record['git_commit']}` |"]
    lines += [f"| {name} | {version} |" for name, version in record["packages"].items()]
    lines += ["", "| study | plan | plan SHA-256 | seed |", "| --- | --- | --- | --- |"]
    lines += [f"| {s['name']} | `studies/{s['plan']}` | `{s['plan_sha256'][:16]}…` | {s['seed']} |"
              for s in record["studies"]]
    return atomic_write_bytes(folder / "environment.md", ("\n".join(lines) + "\n").encode())


def build(plans: list[Plan], *, strict: bool = True, source: Path = paths.BOOK,
          output: Path = paths.ROOT) -> Path:
    """Write the table of contents and the environment record, then build the HTML book.

    ``source`` holds the narrative pages and ``_generated/``; the HTML goes to
    ``<output>/_build/html``, whose path is returned. ``strict`` turns warnings
    into errors and broken references into failures (``-W -n --keep-going``).
    """
    source, output = Path(source), Path(output)
    build_folder = output / "_build"
    try:  # here rather than as a traceback from deep inside Sphinx
        build_folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the book's output folder {build_folder}: {os_error_reason(exc)}") from exc
    write_toc(plans, source)
    write_environment(plans, source)
    completed = subprocess.run(build_command(source, source / "_toc.yml", output, strict=strict), cwd=paths.ROOT)
    if completed.returncode != 0:
        raise RuntimeError(f"the book build failed (exit {completed.returncode}); see the warnings above")
    return output / "_build" / "html"


def build_command(source: Path, toc: Path, output: Path, *, strict: bool = True) -> list[str]:
    """The ``jupyter-book build`` command line of the book (``_config.yml``), for any source and toc."""
    command = [_jupyter_book(), "build", str(source), "--config", str(paths.ROOT / "_config.yml"),
               "--toc", str(toc), "--path-output", str(output), "--all"]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    return command


def _jupyter_book() -> str:
    beside = Path(sys.executable).parent / "jupyter-book"
    found = str(beside) if beside.exists() else shutil.which("jupyter-book")
    if not found:
        raise RuntimeError("jupyter-book is not installed: pip install 'jupyter-book>=1.0.4,<2'")
    return found


# --- Sphinx extension (listed in _config.yml under sphinx.extra_extensions) -------------------


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    # Sphinx 7.4 lists an inline script added both before and after the builder started twice
    # (once with filename "" and once with None), so sphinx-thebe's `const THEBE_JS_URL` is
    # declared twice and every page logs "Identifier 'THEBE_JS_URL' has already been declared".
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set = set()
    unique = []
    for script in scripts:
        key = (getattr(script, "filename", script) or "", getattr(script, "priority", None),
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def _add_stylesheet_folder(app, config) -> None:
    config.html_static_path.append(str(Path(__file__).with_name("book_static")))


def setup(app) -> dict:
    """Sphinx hook: the book's stylesheet (``book_static/synlib.css``) and one copy of each script per page."""
    app.connect("config-inited", _add_stylesheet_folder)
    app.add_css_file("synlib.css")
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
