"""The ``vppsim`` command line: run, validate, train, bench, list, sweep, serve.

Exit codes: 0 success, 1 failure, 2 bad input (scenario file, arguments).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .progress import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    add_output_flags,
    configure,
    emit_json,
    quiet_tqdm_in_logs,
    run_fields,
)
from .schema import ScenarioError, bundled_scenarios, load, resolve
from .serve_cli import add_serve_parser
from .sweep import add_sweep_parser


def _cmd_validate(args: argparse.Namespace) -> int:
    """Check every file named (all rules of docs/scenarios.md); exit 2 if any fails, after reporting each."""
    failed = 0
    for name in args.scenarios:
        try:
            sc = load(name)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if hasattr(sc, "parks"):
            print(f"{resolve(name)}: OK ({sc.name}: {len(sc.parks)} parks, {sc.n_steps} periods of {sc.step_h:g} h)")
        else:
            print(f"{resolve(name)}: OK ({sc.name}: kind {sc.kind})")
    return 2 if failed else 0


def _cmd_list(args: argparse.Namespace) -> int:
    import learners.registry as methods

    from .kinds import kinds

    what = args.what
    if what in ("all", "scenarios"):
        print("scenarios:")
        for name in bundled_scenarios():
            sc = load(name)
            size = f"{sc.n_ders():>10,d} DERs" if hasattr(sc, "n_ders") else f"{sc.kind:>15s}"
            print(f"  {name:22s} {size}  {sc.description}")
    if what in ("all", "methods"):
        print("methods (learners.registry; use as method:, policy.kind, or vppsim train --learner):")
        for name, e in sorted(methods.entries().items()):
            print(f"  {name:12s} [{e.flags()}]  {e.description}")
    if what in ("all", "kinds"):
        print("scenario kinds (the kind: field):")
        for name, k in sorted(kinds().items()):
            print(f"  {name:18s} {k.description}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .runner import report, run_scenario

    overrides = {"seed": args.seed, "scale": args.scale}
    if args.resume:
        path = Path(args.resume) / "scenario.yaml"
        if not path.exists():
            raise ScenarioError(f"{args.resume}: not a resumable run folder (no scenario.yaml)")
    else:
        path = resolve(args.scenario)
    sc = load(path, overrides)
    out = run_scenario(
        sc,
        None if args.no_write else Path(args.out),
        source_text=path.read_text(encoding="utf-8"),
        progress=not (args.quiet or args.json),
        max_steps=args.steps,
        resume=Path(args.resume) if args.resume else None,
        plots=False if args.no_plots else None,
    )
    if args.json:
        emit_json("run", **run_fields(out))
        return 0
    print(report(out))
    if out.folder is not None:
        print(f"\nresults: {out.folder}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .training import train

    sc = load(args.scenario, {"seed": args.seed})
    der = getattr(sc, "kind", "der_aggregation") == "der_aggregation"
    # Other kinds train through their pipeline (scenarios/pipelines/<kind>.py: train), which picks the learner.
    name = args.learner or (sc.training.learner if der else None)
    folder = train(sc, Path(args.out), learner=name, episodes=args.episodes, resume=args.resume,
                   progress=not (args.quiet or args.json), checkpoint_every=args.checkpoint_every)
    name = name or folder.name.removeprefix(f"{sc.name}-")
    if args.json:
        emit_json("train", scenario=sc.name, learner=name, folder=folder, weights=folder / "weights.pt")
        return 0
    print(f"trained {name} on {sc.name}: {folder}")
    if der:
        print(f"use it with  policy: {{kind: {name}, weights: {folder / 'weights.pt'}}}")
    return 0


_BENCHES = {"table2": "table2.py", "fleet": "bench_fleet.py", "grid": "bench_grid.py",
            "hierarchy": "bench_hierarchy.py", "qmix": "bench_qmix.py", "market": "bench_market.py",
            "multi_energy": "bench_multi_energy.py", "maddpg_mpc": "bench_maddpg_mpc.py",
            "sac_lax": "bench_sac_lax.py"}


def _cmd_bench(args: argparse.Namespace) -> int:
    import runpy

    path = Path(__file__).resolve().parent.parent / "benchmarks" / _BENCHES[args.name]
    if not path.exists():
        raise ScenarioError(f"benchmark {args.name}: {path} not found (benchmarks ship with the source checkout)")
    sys.argv = [str(path), *args.rest]
    if not args.json:
        runpy.run_path(str(path), run_name="__main__")
        return 0
    import contextlib
    import time

    t0 = time.perf_counter()
    # The benchmark's own printout goes to stderr so that stdout holds only the JSON document.
    with contextlib.redirect_stdout(sys.stderr):
        runpy.run_path(str(path), run_name="__main__")
    emit_json("bench", name=args.name, args=args.rest, wall_s=time.perf_counter() - t0)
    return 0


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (bad values exit 2 with argparse's one-line message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vppsim", description="Self-organising virtual power plant simulator")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a scenario end to end and write a results folder")
    r.add_argument("scenario", nargs="?", default="three_parks_560", help="scenario file or bundled name")
    r.add_argument("--out", default="results", help="folder receiving the run's results folder")
    r.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    r.add_argument("--scale", type=float, default=None, help="override the scenario's DER count scale")
    r.add_argument("--steps", type=_positive_int, default=None,
                   help="stop after this many periods (market scenarios: caps episodes, days and samples)")
    r.add_argument("--resume", default=None, help="continue an interrupted run from its .partial folder")
    r.add_argument("--no-plots", action="store_true")
    r.add_argument("--no-write", action="store_true", help="simulate and print, write nothing")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    add_output_flags(r)
    r.set_defaults(func=_cmd_run)
    v = sub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("scenarios", nargs="+")
    v.set_defaults(func=_cmd_validate)
    t = sub.add_parser("train", help="train a registered learner on coalitions drawn from a scenario's population")
    t.add_argument("scenario", help="scenario file or bundled name")
    t.add_argument("--learner", default=None,
                   help="a trainable method of the registry (vppsim list methods); default: training.learner")
    t.add_argument("--out", default="training", help="folder receiving <name>-<learner>/")
    t.add_argument("--episodes", type=_positive_int, default=None,
                   help="total episode budget (default: training.episodes)")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--resume", action="store_true",
                   help="continue from the folder's checkpoint (an error when there is none)")
    t.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                   help="episodes between checkpoints (default: training.checkpoint_every_episodes)")
    t.add_argument("--quiet", action="store_true")
    add_output_flags(t)
    t.set_defaults(func=_cmd_train)
    b = sub.add_parser("bench", help="run a benchmark (table2: seed 003 Table 2 from 56 to 1,000,000 agents)")
    add_output_flags(b)  # before the positionals: everything after NAME goes to the benchmark
    b.add_argument("name", choices=sorted(_BENCHES))
    b.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to the benchmark")
    b.set_defaults(func=_cmd_bench)
    ls = sub.add_parser("list", help="list bundled scenarios, registered methods and scenario kinds")
    ls.add_argument("what", nargs="?", default="all", choices=["all", "scenarios", "methods", "kinds"])
    ls.set_defaults(func=_cmd_list)
    add_sweep_parser(sub)
    add_serve_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # bad arguments: argparse exits with 2
    as_json = bool(getattr(args, "json", False))
    quiet = bool(getattr(args, "quiet", False)) or as_json
    configure(quiet=quiet)
    quiet_tqdm_in_logs()  # tqdm bars of learners/benchmarks: one redraw per N s in logs
    try:
        return _run(args, as_json)
    finally:
        configure(quiet=False)  # main() may be called in-process (tests, notebooks): leave no state behind


def _run(args: argparse.Namespace, as_json: bool) -> int:
    try:
        return int(args.func(args) or 0)
    except ScenarioError as exc:
        if as_json:
            emit_json(args.command, status="error", exit_code=EXIT_BAD_INPUT, error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; completed result files are intact", file=sys.stderr)
        return 130
    except Exception as exc:  # a failed run: exit code 1, the traceback on stderr
        import traceback

        traceback.print_exc()
        if as_json:
            emit_json(args.command, status="error", exit_code=EXIT_FAILURE, error=f"{type(exc).__name__}: {exc}")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
