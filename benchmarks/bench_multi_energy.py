"""Speed of the multi-energy stack (issue targets: env step <= 50 us, 24-h oracle <= 50 ms, MPC step <= 50 ms).

    .venv/bin/python benchmarks/bench_multi_energy.py [--scenario industrial_mevpp] [--repeats 5]

Prints one line per measurement (median over repeats) for the bundled scenario's real day.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np


def _median_time(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="industrial_mevpp")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    from aggregation.multi_energy import MultiEnergySim
    from learners.mpc import RollingMPC
    from learners.multi_energy_env import MultiEnergyEnv
    from learners.oracle import oracle
    from scenarios.multi_energy import build_day, load_scenario

    root = Path(__file__).resolve().parents[1]
    sc = load_scenario(root / "scenarios" / f"{args.scenario}.yaml")
    cfg, data, _ = build_day(sc)
    T = data.n_periods

    sim = MultiEnergySim(cfg, data)
    a = (sim.range_lo + sim.range_hi) / 2

    def sim_day() -> None:
        sim.reset()
        for _ in range(T):
            sim.step(a)

    t = _median_time(sim_day, args.repeats) / T
    print(f"simulator step          {t * 1e6:8.1f} us")

    env = MultiEnergyEnv(cfg, data)
    env.reset(seed=0)
    act = np.zeros(env.action_space.shape, dtype=np.float32)

    def env_day() -> None:
        env.reset()
        for _ in range(T):
            env.step(act)

    n_days = 200
    t = _median_time(lambda: [env_day() for _ in range(n_days)], args.repeats) / (n_days * T)
    print(f"gymnasium env step      {t * 1e6:8.1f} us  (reset amortised, no projection; target 50 us)")

    for model in ("milp", "inner"):
        t = _median_time(lambda m=model: oracle(cfg, data, ramp_model=m), args.repeats)
        print(f"24-h oracle ({model:5s})     {t * 1e3:8.1f} ms  (incl. replay; target 50 ms)")
    res = oracle(cfg, data)
    print(f"  oracle solves {res.plan.iterations}, LP/MILP time {res.plan.solve_s * 1e3:.1f} ms, "
          f"replay gap {res.replay_gap:.2e}")

    for err in (0.0, 0.2):
        m = RollingMPC(cfg, sc.mpc.horizon_h, err, np.random.default_rng(0)).run(data)
        print(f"MPC step H={sc.mpc.horizon_h:g} h err {err:.0%}  median {np.median(m.solve_s) * 1e3:6.1f} ms, "
              f"max {m.solve_s.max() * 1e3:6.1f} ms  (target 50 ms; seed 002 reports 2.1 s)")


if __name__ == "__main__":
    main()
