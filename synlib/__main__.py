"""Command line: ``python -m synlib run|book|list|check|new-study`` (also installed as ``synlib``)."""

from __future__ import annotations

from synlib import interrupts

if __name__ == "__main__":  # python -m synlib: a signal while the modules below import ends it cleanly too
    interrupts.exit_at_once()

import argparse
import logging
import signal
import sys
import textwrap
from pathlib import Path

import yaml

EXAMPLES = textwrap.dedent(
    """
    examples:
      synlib run studies/simulated.yml                  run the whole simulated study (cached runs skipped)
      synlib run studies/simulated.yml --jobs 2         two notebooks at a time on a local Dask cluster
      synlib run studies/simulated.yml studies/shoulder.yml --jobs 2
                                                        both studies as one workload: the second fills
                                                        the cores the first leaves idle
      synlib run studies/simulated.yml --only 02_nmf -p n_restarts 20
                                                        rerun one chapter with another parameter value
      synlib run studies/simulated.yml --only '03_ae_relu_*' --parameters my.yml
                                                        overrides from a YAML file (name: value)
      synlib run studies/simulated.yml --profile smoke  the plan's tiny parameters (seconds per notebook)
      synlib run studies/sweep.yml --scheduler tcp://10.0.0.5:8786
                                                        hand the runs to an existing Dask cluster
      synlib book studies/simulated.yml studies/shoulder.yml
                                                        build the HTML book into _build/html
      synlib list studies/simulated.yml                 each run, its parameters and whether it is current
      synlib check studies/mystudy.yml                  open the dataset, read every trial, preprocess one
                                                        participant, report what was found or every problem
      synlib new-study mylab --dataset /data/mylab --pre-cut
                                                        write studies/mylab.yml: every chapter on that dataset
                                                        folder, trials already cut to one cycle each
    """
)

CACHE = textwrap.dedent(
    """
    cache folder:
      $SYNLIB_CACHE (default <checkout>/.cache) holds downloads, the runner's records of finished
      runs and, in kernels/, the autoencoder kernel compiled for this machine. kernels/ must be
      yours: it is created with mode 0700, and one owned by another user or writable by group or
      others is refused (training then uses the slower torch backend, with a warning). While
      nothing runs, deleting the folder or any part of it is safe: it is rebuilt when needed, e.g.
        rm -rf .cache/kernels                           recompile the kernel on the next training
    """
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synlib",
        description="Run the chapter notebooks of study plans with papermill and build the Jupyter Book.",
        epilog=EXAMPLES + CACHE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute study plans (skipping unchanged runs)", epilog=EXAMPLES + CACHE,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("plans", nargs="+", type=Path, help="study plan YAML files (studies/*.yml)")
    run.add_argument("--only", nargs="+", metavar="ID", help="run ids or wildcards to run (default: all)")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="override a parameter; VALUE is read as YAML (2, 0.5, [a, b], {k: v})")
    run.add_argument("--parameters", type=Path, metavar="FILE", help="YAML file of parameter overrides")
    run.add_argument("--profile", metavar="NAME", help="apply a named set of overrides from the plan")
    run.add_argument("--jobs", type=int, default=1, metavar="N",
                     help="notebooks at a time; N > 1 starts a local Dask cluster (default 1: in-process)")
    run.add_argument("--scheduler", metavar="ADDRESS", help="use an existing Dask scheduler instead")
    run.add_argument("--force", action="store_true", help="re-execute even runs whose inputs are unchanged")

    book = sub.add_parser("book", help="build the HTML book from the executed notebooks",
                          epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    book.add_argument("plans", nargs="+", type=Path, help="study plans whose parts the book holds, in order")
    book.add_argument("--no-strict", action="store_true", help="do not turn warnings into errors")

    lst = sub.add_parser("list", help="show each run of a plan and whether its output is current")
    lst.add_argument("plans", nargs="+", type=Path)
    lst.add_argument("--profile", metavar="NAME")

    check = sub.add_parser("check", help="check that a plan's dataset can be read and preprocessed, before running",
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("plans", nargs="+", type=Path)
    check.add_argument("--profile", metavar="NAME")
    check.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                       help="override a parameter; VALUE is read as YAML")
    check.add_argument("--all", action="store_true", help="preprocess every participant, not only the first")

    new = sub.add_parser("new-study", help="write a study plan that runs every chapter on a dataset",
                         epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    new.add_argument("name", help="study name: the results folder and studies/<name>.yml")
    new.add_argument("--dataset", required=True, help="a dataset folder (with dataset.yml) or a registered name")
    new.add_argument("--title", help="title of the study's part of the book")
    new.add_argument("--pre-cut", action="store_true",
                     help="each trial is one pre-cut movement or cycle (segmentation: whole, tonic: none)")
    new.add_argument("--activations", default="linear,relu,sigmoid,tanh", metavar="A,B,...",
                     help="train every encoder × decoder pair of these (default: the paper's four)")
    new.add_argument("--folder", type=Path, default=None, help="where to write the plan (default: studies/)")
    new.add_argument("--force", action="store_true", help="replace an existing plan of that name")
    return parser


def _overrides(args, plan) -> dict:
    overrides: dict = {}
    if getattr(args, "profile", None):
        if args.profile not in plan.profiles:
            raise SystemExit(f"synlib: plan {plan.name!r} has no profile {args.profile!r}; "
                             f"it has {', '.join(plan.profiles) or 'none'}")
        overrides.update(plan.profiles[args.profile])
    if getattr(args, "parameters", None):
        data = yaml.safe_load(args.parameters.read_text()) or {}
        if not isinstance(data, dict):
            raise SystemExit(f"synlib: {args.parameters} must map parameter names to values")
        overrides.update(data)
    for name, value in getattr(args, "parameter", []):
        overrides[name] = yaml.safe_load(value)
    return overrides


def _dask_errors_only(record: logging.LogRecord) -> bool:
    # Dask logs every scheduler and worker event at INFO, and resets its loggers' levels when
    # imported, so a filter on our handler is what keeps those lines out of the runner's output.
    # Once a signal has stopped the run, what Dask and its event loop say about workers going away
    # is the interrupt seen from their side: the one-line message says it.
    if record.name.startswith(("distributed", "tornado", "asyncio")) and interrupts.received() is not None:
        return False
    return not record.name.startswith("distributed") or record.levelno >= logging.ERROR


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (128 + signal number after SIGINT or SIGTERM).

    With ``argv`` None (the command line itself) SIGINT and SIGTERM are ignored
    once the command is done, so that a signal while the interpreter exits
    prints nothing; called with arguments (from Python) their handlers are restored.
    """
    with interrupts.handled(restore=argv is not None):
        try:
            code = _main(argv)
            interrupts.quiet()  # a signal after the last step changes nothing: it is recorded, not raised
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            print(interrupts.message(signum), file=sys.stderr)
            code = 128 + signum
        return code


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("synlib: %(message)s"))
    if not args.verbose:
        handler.addFilter(_dask_errors_only)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler])
    logging.getLogger("synlib").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    from synlib import book, paths, runner
    from synlib.plan import PlanError, load_plan

    try:
        if args.command == "new-study":
            from synlib.new_study import write_plan

            path = write_plan(args.name, args.dataset, folder=args.folder or paths.STUDIES, force=args.force,
                              title=args.title, pre_cut=args.pre_cut,
                              activations=[a.strip() for a in args.activations.split(",") if a.strip()])
            shown = path.relative_to(paths.ROOT) if path.is_relative_to(paths.ROOT) else path
            print(f"synlib: wrote {shown}; next: python -m synlib check {shown}, then make book "
                  f"STUDIES={path.stem}", file=sys.stderr)
            return 0
        plans = [load_plan(p) for p in args.plans]
        if args.command == "run":
            try:
                summaries = runner.run_plans(plans, only=args.only, overrides=[_overrides(args, p) for p in plans],
                                             jobs=args.jobs, scheduler=args.scheduler, force=args.force)
                failed = []
            except runner.RunFailed as exc:
                print(f"synlib: {exc}", file=sys.stderr)
                summaries = exc.summaries
                failed = [name for name, runs in summaries.items() if any(s["status"] == "failed" for s in runs)]
            for plan in plans:
                if plan.name in failed:
                    continue
                ran = sum(s["status"] == "ok" for s in summaries[plan.name])
                skipped = sum(s["status"] == "skipped" for s in summaries[plan.name])
                print(f"synlib: study {plan.name!r}: {ran} executed, {skipped} unchanged and skipped; "
                      f"notebooks in {paths.generated_root() / plan.name}, results in {paths.results_dir(plan.name)}",
                      file=sys.stderr)
            if failed:
                print(f"synlib: failed studies: {', '.join(failed)}", file=sys.stderr)
                return 1
        elif args.command == "book":
            html = book.build(plans, strict=not args.no_strict)
            print(f"synlib: book written to {html / 'index.html'}", file=sys.stderr)
        elif args.command == "check":
            from synlib.check import check_plan

            reports = [check_plan(plan, _overrides(args, plan), all_participants=args.all) for plan in plans]
            for report in reports:
                print(report)
            if not all(r.ok for r in reports):
                return 1
        elif args.command == "list":
            for plan in plans:
                for job in runner.make_jobs(plan, plan.runs, _overrides(args, plan)):
                    state = "current" if job.is_current() else "to run"
                    print(f"{plan.name}\t{job.run_id}\t{state}\t{job.notebook.name}")
    except (PlanError, OSError, RuntimeError) as exc:
        print(f"synlib: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
