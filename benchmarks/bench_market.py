"""Market benchmark (issue 15): MADDPG, DROMARL, the rule baseline and the oracle on the supply/load game.

Run: ``python benchmarks/bench_market.py`` (shipped weights), ``--train 300`` (train both learners now
for 300 episodes each instead), ``--quick`` (smoke run: 2 episodes, 2 days). Writes the scenario's results
folder (``--out``, default ``results/bench_market``) and prints:

* per method: mean day cost ($) over the evaluation days, gap to the oracle (%), shortage and surplus
  energy (MWh/day), training episodes and time, median decision latency per joint decision (ms, one
  torch thread; goal <= 5 ms);
* the day-ahead high-price probability per period;
* the robustness table: mean cost and shortage/surplus on shifted load/weather distributions
  (mean +10 %, variance x2, heavy tails; ``docs/market.md`` §4).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from scenarios.vpp_market import load_scenario, run

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {"supply_load_game": ROOT / "scenarios" / "supply_load_game.yaml",
             "vpp_market_case14": ROOT / "scenarios" / "vpp_market_case14.yaml"}


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run every scenario, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    ap.add_argument("--train", type=int, help="train both learners for this many episodes (ignore shipped weights)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "results" / "bench_market"))
    a = ap.parse_args(argv)
    for name in a.scenario or sorted(SCENARIOS):
        sc = load_scenario(SCENARIOS[name])
        if a.train is not None:
            sc = sc.model_copy(update={"training": sc.training.model_copy(
                update={"use_shipped_weights": False, "n_episodes": a.train})})
        folder = Path(a.out) / name
        t0 = time.perf_counter()
        summary = run(sc, folder, progress=print, max_steps=2 if a.quick else None)
        pd.set_option("display.width", 200)
        print(f"\n== {name} ({time.perf_counter() - t0:.1f} s) -> {folder}")
        print(summary.to_string(float_format=lambda v: f"{v:,.4g}"))
        print("\nhigh-price probability per period")
        print(pd.read_csv(folder / "high_price_probability.csv").to_string(index=False, float_format="%.2f"))
        print("\nrobustness (mean over the evaluation days)")
        rob = pd.read_csv(folder / "robustness.csv")
        print(rob.pivot(index="shift", columns="method", values="cost_mean").to_string(float_format="{:,.0f}".format))
        print(rob.to_string(index=False, float_format="{:,.1f}".format))
        if (folder / "case14_dispatch.csv").exists():
            print("\ncase14 re-dispatch (DC LP + AC check), uncontrolled vs the game's day through the hierarchy")
            print(pd.read_csv(folder / "case14_dispatch.csv", index_col=0).T.to_string(float_format="{:,.3f}".format))
            t = pd.read_csv(folder / "case14_targets.csv").groupby("hour")[["planned_adjustment_mw",
                                                                          "realised_adjustment_mw"]].sum()
            print("\nplanned vs realised adjustment per hour (MW)")
            print(t.T.to_string(float_format="{:,.1f}".format))


if __name__ == "__main__":
    main()
