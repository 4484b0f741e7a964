"""Grid benchmarks on case39, 24 periods: DC dispatch, AC check, carbon emission flow, uptake bound LP.

Run: ``python benchmarks/bench_grid.py``. Targets on the 2-core reference machine (issues 3 and 17):
dispatch <= 100 ms after warm-up, AC check of 24 hours <= 2 ms (lightsim2grid ``TimeSeriesCPP``),
carbon emission flow of 24 hours <= 5 ms, uptake bound LP <= 0.5 s; with ``--closed-loop``, one
closed-loop day of three_parks_560 on case39 <= 3x the open-loop day; with ``--end-to-end``,
``vppsim run ieee39_uptake`` <= 6 min (run once, it takes minutes). The AC check is compared with
pandapower's own ``run_timeseries`` (DFData + ConstControl) doing the same 24 AC power flows, and with
the reference backend (``runpp`` with ``recycle`` per hour).
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import time
import warnings

import numpy as np
import pandapower as pp
import pandas as pd
from pandapower.control import ConstControl
from pandapower.timeseries import DFData, OutputWriter, run_timeseries

from grid import build_case, dispatch_day
from grid.backend import LightsimBackend, PandapowerBackend
from grid.bound import FlexEnvelope, UptakeBound, uptake_bound
from grid.cef import dispatch_carbon_flow
from grid.dispatch import ac_setpoints, get_dispatcher


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time in ms over ``repeats`` calls (after one warm-up call) and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), out


def timeseries_ms(net: pp.pandapowerNet, gen, sgen, lp, lq) -> tuple[float, np.ndarray]:
    """pandapower run_timeseries with constant controllers reading the same set-points."""
    net = copy.deepcopy(net)
    n_t = gen.shape[0]
    for element, variable, values in (
        ("gen", "p_mw", gen),
        ("sgen", "p_mw", sgen),
        ("load", "p_mw", lp),
        ("load", "q_mvar", lq),
    ):
        cols = [f"{element}_{variable}_{k}" for k in range(values.shape[1])]
        ds = DFData(pd.DataFrame(values, columns=cols))
        ConstControl(
            net,
            element=element,
            variable=variable,
            element_index=net[element].index,
            data_source=ds,
            profile_name=cols,
        )
    ow = OutputWriter(net, time_steps=range(n_t), output_path=None, log_variables=[("res_bus", "vm_pu")])
    logging.getLogger("pandapower").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    run_timeseries(net, time_steps=range(n_t), verbose=False, numba=False)
    elapsed = (time.perf_counter() - t0) * 1e3
    return elapsed, ow.output["res_bus.vm_pu"].to_numpy()


def bound_table() -> None:
    """Dispatch vs uptake bound on day 196, parks flat at the first three park buses, 0..3x, same energy."""
    for name in ("case14", "case30", "case39"):
        case = build_case(name)
        peak = case.net.load.p_mw.sum()
        buses = case.park_buses[:3]
        for frac in (0.01, 0.05, 0.2):
            p = np.full((24, 3), frac * peak / 3)
            park = {b: p[:, k] for k, b in enumerate(buses)}
            try:
                r = dispatch_day(case, park, day_of_year=196)
            except Exception as err:  # infeasible plain dispatch: say so and go on
                print(f"{name} parks {frac * peak:.1f} MW: {err}")
                continue
            used = r.renewable_p_mw.sum() / r.renewable_avail_mw.sum()
            env = FlexEnvelope(tuple(buses), np.zeros_like(p), 3 * p, p.sum(0), p.sum(0))
            b = uptake_bound(case, env, day_of_year=196)
            u = uptake_bound(case, env, day_of_year=196, objective="uptake")
            print(
                f"{name} parks {frac * peak:7.1f} MW: dispatch {used:.4f} / {r.co2_kg.sum() / 1e3:.0f} t | "
                f"bound cost {b.renewable_utilisation:.4f} / {b.co2_t:.0f} t, least CO2 {b.co2_min_t:.0f} t | "
                f"bound uptake {u.renewable_utilisation:.4f} / {u.co2_t:.0f} t"
            )


def closed_loop_day() -> None:
    """Open-loop vs closed-loop day of three_parks_560 on case39 (nodal index, QMIX self-organisation).

    Both include the uncontrolled day (envelope) and the dispatches; the closed loop adds passes until
    the park loads move by less than the tolerance.
    """
    from scenarios.build import controlled_for, weather_for
    from scenarios.closed_loop import groups_for, run_closed_loop, run_uncontrolled
    from scenarios.gridcase import case_for
    from scenarios.gridcase import day_dispatch as _dispatch
    from scenarios.schema import load

    sc = load("ieee39_uptake")
    case, weather = case_for(sc), weather_for(sc)
    controlled = lambda: controlled_for(sc)  # noqa: E731
    base = _dispatch(sc, case, {})
    run_closed_loop(sc, case, *_groups_days(sc, case, weather, groups_for, run_uncontrolled), weather, controlled,
                    lambda mw: _dispatch(sc, case, mw), base)  # warm-up: torch, weights, organiser
    times, its = {}, {}
    for enabled in (False, True):
        s = sc.model_copy(update={"grid": sc.grid.model_copy(update={
            "closed_loop": sc.grid.closed_loop.model_copy(update={"enabled": enabled})})})
        t0 = time.perf_counter()
        groups, days = _groups_days(s, case, weather, groups_for, run_uncontrolled)
        base = _dispatch(s, case, {})
        res = run_closed_loop(s, case, groups, days, weather, controlled, lambda mw, s=s: _dispatch(s, case, mw), base)
        _dispatch(s, case, dict(zip([g.bus for g in groups], res.final_mw, strict=True)), ac=True)
        times[enabled], its[enabled] = time.perf_counter() - t0, res.iterations
    ratio = times[True] / times[False]
    print(f"three_parks_560 on case39, one day: open loop {times[False]:.2f} s, closed loop {times[True]:.2f} s "
          f"({its[True]} passes), ratio {ratio:.2f} (target <= 3: {'yes' if ratio <= 3 else 'NO'})")


def _groups_days(sc, case, weather, groups_for, run_uncontrolled):
    groups, _ = groups_for(sc, case, 560)
    return groups, [run_uncontrolled(sc, g, weather) for g in groups]


def end_to_end(scenario: str = "ieee39_uptake") -> None:
    """Wall and CPU time of ``vppsim run <scenario>`` into a temporary folder (target <= 6 min on 2 cores).

    CPU is user + sys of the run and its worker processes (``VPPSIM_WORKERS``, default the CPUs);
    the load average before and after says how shared the machine was.
    """
    import os
    import resource
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    exe = Path(sys.executable).with_name("vppsim")
    load0 = os.getloadavg()[0]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([str(exe), "run", scenario, "--out", out, "--quiet"], check=True, stdout=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(f"vppsim run {scenario}: wall {dt / 60:.1f} min, CPU (user+sys, workers included) {cpu / 60:.1f} min, "
          f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f} (target <= 6 min wall: "
          f"{'yes' if dt <= 360 else 'NO'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--bound-table", action="store_true", help="print the bound table of docs/grid.md 2.3"
    )
    parser.add_argument("--closed-loop", action="store_true", help="time one closed-loop day vs the open loop")
    parser.add_argument("--end-to-end", action="store_true", help="time vppsim run SCENARIO once (wall and CPU)")
    parser.add_argument("--scenario", default="ieee39_uptake", help="scenario of --end-to-end")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.bound_table:
        bound_table()
        return
    if args.closed_loop:
        closed_loop_day()
        return
    if args.end_to_end:
        end_to_end(args.scenario)
        return

    case = build_case("case39")
    result = dispatch_day(case)  # warm-up: weather, backend, LP matrices
    disp = get_dispatcher(case, 24, 1.0)
    park = {28: np.full(24, 150.0), 25: np.full(24, 80.0)}
    t_dispatch, res = timed(lambda: dispatch_day(case, park), args.repeats)
    t_highs = statistics.median(dispatch_day(case, park).solve_time_s * 1e3 for _ in range(args.repeats))

    gen, sgen, lp, lq = ac_setpoints(case, res)
    fast = LightsimBackend(case.net)
    ref = PandapowerBackend(case.net)
    t_fast, ac = timed(lambda: fast.ac_check(gen, sgen, lp, lq), args.repeats)
    t_ref, ac_ref = timed(lambda: ref.ac_check(gen, sgen, lp, lq), max(3, args.repeats // 5))
    t_ts, vm_ts = timeseries_ms(case.net, gen, sgen, lp, lq)
    t_cef, _ = timed(lambda: dispatch_carbon_flow(case, res), args.repeats)

    # uptake bound: the parks at the six first park buses, 30 MW each, free to move 0..90 MW per hour
    # with the same daily energy
    buses = case.park_buses[:6]
    p = np.full((24, len(buses)), 30.0)
    env = FlexEnvelope(tuple(buses), np.zeros_like(p), 3.0 * p, p.sum(axis=0), p.sum(axis=0))
    t0 = time.perf_counter()
    UptakeBound(case, buses, 24)
    t_bound_build = (time.perf_counter() - t0) * 1e3
    t_bound, bound = timed(lambda: uptake_bound(case, env), max(3, args.repeats // 4))

    rows, cols = disp.a.shape
    print(
        f"case39, 24 periods, LP {rows} rows x {cols} cols, {disp.a.nnz} nonzeros "
        f"({res.binding.any(axis=1).sum()} congested hours, utilisation "
        f"{res.renewable_p_mw.sum() / res.renewable_avail_mw.sum():.3f})"
    )
    table = pd.DataFrame(
        [
            ("DC dispatch, dispatch_day (warm)", t_dispatch, 100.0, ""),
            ("  of which HiGHS solve", t_highs, None, ""),
            (
                "AC check 24 h, LightsimBackend (TimeSeriesCPP)",
                t_fast,
                2.0,
                f"{t_ts / t_fast:.0f}x faster than run_timeseries",
            ),
            (
                "AC check 24 h, PandapowerBackend (runpp+recycle)",
                t_ref,
                None,
                f"{t_ts / t_ref:.1f}x faster than run_timeseries",
            ),
            ("AC 24 h, pandapower run_timeseries (ConstControl)", t_ts, None, "reference"),
            ("carbon emission flow 24 h (dispatch_carbon_flow)", t_cef, 5.0, ""),
            (
                "uptake bound LP, 3 solves (uptake_bound, warm)",
                t_bound,
                500.0,
                f"{bound.solve_time_s * 1e3:.0f} ms HiGHS",
            ),
            ("uptake bound, building the model (once)", t_bound_build, None, ""),
        ],
        columns=["what", "ms", "target_ms", "note"],
    )
    table["ok"] = [
        "" if pd.isna(g) else ("yes" if t <= g else "NO")
        for t, g in zip(table.ms, table.target_ms, strict=True)
    ]
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(
        f"bound: utilisation {bound.renewable_utilisation:.3f}, CO2 {bound.co2_t:.0f} t, "
        f"least CO2 {bound.co2_min_t:.0f} t\n"
        f"max |vm| difference lightsim2grid vs run_timeseries: {np.nanmax(np.abs(ac.vm_pu - vm_ts)):.2e} pu; "
        f"vs runpp: {np.nanmax(np.abs(ac.vm_pu - ac_ref.vm_pu)):.2e} pu; "
        f"first warm dispatch objective {result.objective:.0f} $"
    )


if __name__ == "__main__":
    main()
