"""Foundation benchmarks: fleet step time, model build time and memory, cold end-to-end run.

Run: ``python benchmarks/bench_fleet.py`` (after ``make install``). Targets on
the 2-core reference machine: fleet step <= 1 ms at 56,000 DERs and <= 20 ms at
1,000,000; building the 1,000,000-DER model with Mesa handles <= 10 s and
<= 600 bytes per DER; ``vppsim run three_parks_560`` cold <= 20 s.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import tempfile
import time

import numpy as np

from scenarios.runner import build_model, system_signal, weather_for
from scenarios.schema import load


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def fleet_step_ms(name: str, repeats: int = 50) -> tuple[int, float]:
    """Median time of one vectorised device update (AC thermal step + EV charging step + park sums)."""
    sc = load(name)
    m = build_model(sc, handles=False)
    f = m.fleet
    ctx = m.context(12)
    ac_mode = f.ac.usual_mode(ctx.hour_of_day)
    ev_act = np.full(f.count("ev"), 2, dtype=np.int64)
    occ = f.ac.user_on(ctx.hour_of_day)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        p_ac = f.ac.step(ac_mode, ctx.t_out_c, ctx.dt_h, occ)
        p_ev, _ = f.ev.step(ev_act, ctx.t_h, ctx.dt_h)
        f.park_sum("ac", p_ac)
        f.park_sum("ev", p_ev)
        times.append(time.perf_counter() - t0)
    return f.n_ders, 1000 * float(np.median(times))


def build_1m() -> tuple[int, float, float]:
    sc = load("three_parks_1m")
    weather, signal = weather_for(sc), system_signal(sc)  # file reads excluded: cached per process
    gc.collect()
    r0 = rss_bytes()
    t0 = time.perf_counter()
    m = build_model(sc, weather=weather, signal=signal)
    dt = time.perf_counter() - t0
    per = (rss_bytes() - r0) / m.fleet.n_ders
    n = m.fleet.n_ders
    assert len(m.agents) == n
    return n, dt, per


def cold_run_s() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "scenarios.cli", "run", "three_parks_560", "--out", tmp, "--quiet"],
            check=True, capture_output=True,
        )
        return time.perf_counter() - t0


def main() -> None:
    rows = []
    for name, target in (("three_parks_56000", 1.0), ("three_parks_1m", 20.0)):
        n, ms = fleet_step_ms(name)
        rows.append((f"fleet step, {n:,d} DERs", f"{ms:.2f} ms", f"<= {target:g} ms"))
    n, dt, per = build_1m()
    rows.append((f"build model, {n:,d} DERs + Mesa handles", f"{dt:.2f} s", "<= 10 s"))
    rows.append(("memory per DER (RSS, arrays + handles)", f"{per:.0f} B", "<= 600 B"))
    rows.append(("vppsim run three_parks_560, cold", f"{cold_run_s():.2f} s", "<= 20 s"))
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':{w}s}  {'measured':>12s}  target")
    for r in rows:
        print(f"{r[0]:{w}s}  {r[1]:>12s}  {r[2]}")


if __name__ == "__main__":
    main()
