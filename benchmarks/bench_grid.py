"""Grid benchmarks: 24-hour DC dispatch of case39 and the AC check of its 24 hours.

Run: ``python benchmarks/bench_grid.py``. Targets on the 2-core reference machine: dispatch
<= 100 ms after warm-up, AC check of 24 hours <= 200 ms. The AC check is compared with pandapower's
own ``run_timeseries`` (DFData + ConstControl) doing the same 24 AC power flows, and with the
reference backend (``runpp`` with ``recycle`` per hour).
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
from grid.backend import PandapowerBackend, PtdfBackend
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    case = build_case("case39")
    result = dispatch_day(case)  # warm-up: weather, backend, LP matrices
    disp = get_dispatcher(case, 24, 1.0)
    park = {28: np.full(24, 150.0), 25: np.full(24, 80.0)}
    t_dispatch, res = timed(lambda: dispatch_day(case, park), args.repeats)
    t_highs = statistics.median(dispatch_day(case, park).solve_time_s * 1e3 for _ in range(args.repeats))

    gen, sgen, lp, lq = ac_setpoints(case, res)
    fast = PtdfBackend(case.net)
    ref = PandapowerBackend(case.net)
    t_fast, ac = timed(lambda: fast.ac_check(gen, sgen, lp, lq), args.repeats)
    t_ref, ac_ref = timed(lambda: ref.ac_check(gen, sgen, lp, lq), max(3, args.repeats // 5))
    t_ts, vm_ts = timeseries_ms(case.net, gen, sgen, lp, lq)

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
                "AC check 24 h, PtdfBackend (batched NR)",
                t_fast,
                200.0,
                f"{t_ts / t_fast:.0f}x faster than run_timeseries",
            ),
            (
                "AC check 24 h, PandapowerBackend (runpp+recycle)",
                t_ref,
                None,
                f"{t_ts / t_ref:.1f}x faster than run_timeseries",
            ),
            ("AC 24 h, pandapower run_timeseries (ConstControl)", t_ts, None, "reference"),
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
        f"max |vm| difference batched NR vs run_timeseries: {np.nanmax(np.abs(ac.vm_pu - vm_ts)):.2e} pu; "
        f"vs runpp: {np.nanmax(np.abs(ac.vm_pu - ac_ref.vm_pu)):.2e} pu; "
        f"first warm dispatch objective {result.objective:.0f} $"
    )


if __name__ == "__main__":
    main()
