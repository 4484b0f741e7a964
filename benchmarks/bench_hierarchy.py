"""Benchmark: one period's full self-organisation (all levels, to convergence).

Run: ``PYTHONPATH=. python benchmarks/bench_hierarchy.py [--sizes 56000 1m] [--repeats 3]``.

Targets on the 2-core reference machine: <= 0.5 s for 56,000 DERs and <= 10 s
for 1,000,000 (seed 003 Table 2 reports 6.20 s for 56,000 agents with QMIX).

Protocol: the scenario's model (``handles=False``) is advanced uncontrolled to
period 9; the organiser decides period 9 (so its hierarchy exists), the model
steps with those actions, and period 10 (10:00, the busiest hour for
coalitions) is decided again and timed:

* ``cold``: a fresh organiser (every DER alone) decides period 10;
* ``warm``: the organiser that decided period 9 decides period 10 (its state is
  restored before each repeat, so every repeat sees the same start).

Each time is the whole decider call (period table, policy actions,
self-organisation to convergence, per-level statistics and snapshot);
``organise`` is the self-organisation alone (the convergence time recorded per
period). Medians over the repeats; the machine is shared, so single runs vary.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time

from aggregation.hierarchy import SelfOrganiser, make_decider
from aggregation.policy import GreedyFitnessPolicy
from scenarios.runner import build_model
from scenarios.schema import load

SCENARIOS = {"56000": ("three_parks_56000", 0.5), "1m": ("three_parks_1m", 10.0)}
PERIOD = 10


def _timed_call(org: SelfOrganiser, views, policy) -> tuple[float, float, dict]:
    t0 = time.perf_counter()
    org(views, policy)
    total = time.perf_counter() - t0
    rec = org.periods[-1]
    return total, rec["convergence_time_s"], rec


def bench(size: str, repeats: int) -> dict:
    name, target_s = SCENARIOS[size]
    sc = load(name)
    spec = sc.aggregation.model_copy(update={"enabled": True})
    policy = GreedyFitnessPolicy()
    t0 = time.perf_counter()
    model = build_model(sc, policy, handles=False)
    build_s = time.perf_counter() - t0
    model.run(PERIOD - 1)
    warm_org = make_decider(spec, sc.fitness.similarity_lambda)
    model.decider = warm_org
    model.step()  # period 9, decided by the organiser
    state = warm_org.state_dict()
    views = model.views(model.context(PERIOD))
    n = sum(v.n for v in views.values())
    out: dict = {"scenario": name, "ders_controllable": n, "ders_total": model.fleet.n_ders,
                 "model_build_s": build_s, "target_s": target_s}
    for mode in ("cold", "warm"):
        totals, organise, recs = [], [], []
        for _ in range(repeats):
            if mode == "cold":
                org = make_decider(spec, sc.fitness.similarity_lambda)
            else:
                org = warm_org
                org.load_state_dict(state)
            gc.collect()
            total, conv, rec = _timed_call(org, views, policy)
            totals.append(total)
            organise.append(conv)
            recs.append(rec)
        out[mode] = {
            "decider_s_median": statistics.median(totals),
            "decider_s_all": totals,
            "organise_s_median": statistics.median(organise),
            "iterations": recs[-1]["iterations"],
            "converged": bool(recs[-1]["converged"]),
            "merges": recs[-1]["merges"],
            "splits": recs[-1]["splits"],
        }
    out["pass"] = max(out["cold"]["decider_s_median"], out["warm"]["decider_s_median"]) <= target_s
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="also write the results to this file")
    args = ap.parse_args(argv)
    results = []
    for size in args.sizes:
        r = bench(size, args.repeats)
        results.append(r)
        print(
            f"{r['scenario']:>18s} {r['ders_controllable']:>9,d} controllable DERs | "
            f"cold {r['cold']['decider_s_median']:.3f} s (organise {r['cold']['organise_s_median']:.3f} s, "
            f"{r['cold']['iterations']} it) | warm {r['warm']['decider_s_median']:.3f} s "
            f"(organise {r['warm']['organise_s_median']:.3f} s, {r['warm']['iterations']} it) | "
            f"target {r['target_s']:g} s: {'PASS' if r['pass'] else 'FAIL'}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
