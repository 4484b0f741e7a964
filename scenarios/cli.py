"""The ``vppsim`` command line: run, validate, list."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .schema import ScenarioError, bundled_scenarios, load, resolve


def _cmd_validate(args: argparse.Namespace) -> int:
    for name in args.scenarios:
        sc = load(name)
        print(f"{resolve(name)}: OK ({sc.name}: {len(sc.parks)} parks, {sc.n_steps} periods of {sc.step_h:g} h)")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    for name in bundled_scenarios():
        sc = load(name)
        n = sc.n_ders()
        print(f"{name:22s} {n:>10,d} DERs  {sc.description}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .runner import format_summary, run_scenario

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
        progress=not args.quiet,
        max_steps=args.steps,
        resume=Path(args.resume) if args.resume else None,
        plots=False if args.no_plots else None,
    )
    print(f"\n{sc.name}: {sum(m.fleet.n_ders for m in out.models.values()) // len(out.models):,d} DERs, "
          f"{out.wall_s:.2f} s")
    print(format_summary(out.summary))
    if "uptake" in out.extras:
        cols = ["mode", "n_agents", "renewable_utilisation", "curtailment_rate", "co2_t", "cost",
                "congestion_hours", "ac_violation_hours", "status"]
        up = out.extras["uptake"].copy()
        up["n_agents"] = up["n_agents"].astype(int)
        print(f"\nrenewable uptake on {sc.grid.case} (controlled DERs shift load; baseline = the case itself):")
        print(up[[c for c in cols if c in up]].to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    if out.folder is not None:
        print(f"\nresults: {out.folder}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .training import train

    sc = load(args.scenario, {"seed": args.seed})
    folder = train(sc, Path(args.out), episodes=args.episodes, resume=args.resume, progress=not args.quiet)
    print(f"trained QMIX on {sc.name}: {folder}")
    print(f"use it with  policy: {{kind: qmix, weights: {folder / 'weights.pt'}}}")
    return 0


_BENCHES = {"table2": "table2.py", "fleet": "bench_fleet.py", "grid": "bench_grid.py",
            "hierarchy": "bench_hierarchy.py", "qmix": "bench_qmix.py"}


def _cmd_bench(args: argparse.Namespace) -> int:
    import runpy

    path = Path(__file__).resolve().parent.parent / "benchmarks" / _BENCHES[args.name]
    if not path.exists():
        raise ScenarioError(f"benchmark {args.name}: {path} not found (benchmarks ship with the source checkout)")
    sys.argv = [str(path), *args.rest]
    runpy.run_path(str(path), run_name="__main__")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vppsim", description="Self-organising virtual power plant simulator")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a scenario end to end and write a results folder")
    r.add_argument("scenario", nargs="?", default="three_parks_560", help="scenario file or bundled name")
    r.add_argument("--out", default="results", help="folder receiving the run's results folder")
    r.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    r.add_argument("--scale", type=float, default=None, help="override the scenario's DER count scale")
    r.add_argument("--steps", type=int, default=None, help="stop after this many periods")
    r.add_argument("--resume", default=None, help="continue an interrupted run from its .partial folder")
    r.add_argument("--no-plots", action="store_true")
    r.add_argument("--no-write", action="store_true", help="simulate and print, write nothing")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=_cmd_run)
    v = sub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("scenarios", nargs="+")
    v.set_defaults(func=_cmd_validate)
    t = sub.add_parser("train", help="train QMIX on coalitions drawn from a scenario's population")
    t.add_argument("scenario", help="scenario file or bundled name")
    t.add_argument("--out", default="training", help="folder receiving <name>-qmix/")
    t.add_argument("--episodes", type=int, default=None, help="total episode budget (default: training.episodes)")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--resume", action="store_true", help="continue from the folder's checkpoint")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=_cmd_train)
    b = sub.add_parser("bench", help="run a benchmark (table2: seed 003 Table 2 from 56 to 1,000,000 agents)")
    b.add_argument("name", choices=sorted(_BENCHES))
    b.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to the benchmark")
    b.set_defaults(func=_cmd_bench)
    ls = sub.add_parser("list", help="list bundled scenarios")
    ls.set_defaults(func=_cmd_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; completed result files are intact", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
