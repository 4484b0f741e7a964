"""Renewable uptake vs agent scale (seed 003 §5.3(2), Fig. 10), parks on their buses, grid in the loop.

Reading used here (``docs/grid.md`` section 6): participating DERs are existing consumers, so the
network's bus loads already contain their uncontrolled consumption; the grid sees the *change*
control makes at the buses where the parks sit. For each agent count N:

1. the placement rule (:func:`scenarios.closed_loop.groups_for`) puts whole replicated parks on buses;
2. every bus group's uncontrolled day gives the reference load and the flexibility envelope;
3. the DERs respond to the zero-carbon index of the dispatch without their change (open loop) and,
   with ``grid.closed_loop.enabled``, dispatch and DERs iterate to a fixed point (closed loop);
4. the uptake bound (:func:`grid.bound.uptake_bound`, :func:`bounds_for`) gives what the best control
   inside the envelope could reach under the operator's least-cost dispatch, and the physical ceiling;
   every row reports the share of the bound's gain.

Rows: ``uncontrolled`` (the case itself at every N), ``open_loop`` and ``closed_loop``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import results
from .closed_loop import GroupPool, envelope_excess, group_ders, groups_for, run_closed_loop, run_uncontrolled
from .gridcase import _grid, base_dispatch, case_for, grid_signal
from .gridcase import day_dispatch as _dispatch
from .schema import Scenario

__all__ = ["base_dispatch", "bounds_for", "case_for", "envelope_for", "grid_signal", "run_sweep", "sweep_rows"]


def envelope_for(groups, days, step_h: float):
    """The bus groups' envelopes (kW per group) as one :class:`grid.bound.FlexEnvelope` (MW)."""
    from grid.bound import FlexEnvelope

    env = [d.envelope for d in days]
    return FlexEnvelope(
        tuple(int(g.bus) for g in groups),
        np.column_stack([e.p_min_kw for e in env]) / 1000.0,
        np.column_stack([e.p_max_kw for e in env]) / 1000.0,
        np.array([e.energy_min_kwh for e in env]) / 1000.0,
        np.array([e.energy_max_kwh for e in env]) / 1000.0,
        np.column_stack([e.cum_min_kwh for e in env]) / 1000.0,
    )


def bounds_for(sc: Scenario, case, groups, days) -> dict[str, float]:
    """The uptake bound of the groups' envelope, two ways (``docs/grid.md`` section 6.1).

    ``bound_*``: objective ``"cost"`` -- the operator's least-cost dispatch with the DERs' change as
    decision variables inside the envelope: what the best control of these DERs could buy from this
    operator (a zero-width envelope gives the dispatch back). ``ceiling_*``: objective ``"uptake"``
    and LP 3 -- the physical most uptake and least CO2, which also redispatch thermal units at any
    cost (reached largely without the DERs, so not attributable to them). Shares use ``bound_*``.
    """
    g = _grid()
    env = envelope_for(groups, days, sc.step_h)
    kw = {"day_of_year": sc.start_day_of_year, "weather_file": sc.weather.file, "step_h": sc.step_h}
    try:
        cost = g.uptake_bound(case, env, None, objective="cost", **kw)
        up = g.uptake_bound(case, env, None, objective="uptake", **kw)
    except g.BoundInfeasible as exc:
        return {"bound_status": f"infeasible: {exc}"}
    return {
        "bound_renewable_utilisation": cost.renewable_utilisation, "bound_curtailed_mwh": cost.curtailed_mwh,
        "bound_cost": cost.cost, "bound_co2_t": cost.co2_t,
        "ceiling_renewable_utilisation": up.renewable_utilisation, "ceiling_co2_min_t": up.co2_min_t,
    }


def _metrics(result) -> dict[str, float]:
    g = _grid()
    row = g.dispatch_metrics(result).as_dict()
    row["status"] = "optimal" if not result.notes else "; ".join(result.notes)
    return row


def _share(row: dict, base: dict) -> None:
    g = _grid()
    ub = row.get("bound_renewable_utilisation", np.nan)
    cb = row.get("bound_co2_t", np.nan)
    row["share_utilisation"] = g.bound_share(row["renewable_utilisation"], base["renewable_utilisation"], ub)
    # CO2 falls when control helps: the share of the possible reduction.
    row["share_co2"] = g.bound_share(-row["co2_t"], -base["co2_t"], -cb)


def sweep_rows(sc: Scenario, n_agents: int, case, base_result, *, weather, controlled, bar=None,
               pool: GroupPool | None = None) -> list[dict]:
    """The uncontrolled, open-loop and closed-loop rows of one agent count (bound columns included).

    ``pool`` runs the bus groups' days (serial when None); the rows are the same either way.
    """
    g = _grid()
    ac = sc.grid.ac_check
    base = _metrics(base_result if not ac or base_result.ac is not None else _dispatch(sc, case, {}, ac=True))
    common = {"n_agents": n_agents}
    rows = [{"mode": "uncontrolled", **common, **base, "iterations": 0}]
    if n_agents == 0:
        for mode in ("open_loop", "closed_loop") if sc.grid.closed_loop.enabled else ("open_loop",):
            rows.append({"mode": mode, **common, **base, "iterations": 0})
        return rows
    t0 = time.perf_counter()
    groups, placement = groups_for(sc, case, n_agents)
    tick = (lambda k: bar.update(k)) if bar is not None else None
    pool = GroupPool(workers=1) if pool is None else pool
    days = pool.map(run_uncontrolled, [(sc, grp, weather) for grp in groups], [group_ders(sc, g) for g in groups], tick)
    loop = run_closed_loop(
        sc, case, groups, days, weather, controlled,
        lambda bus_mw: _dispatch(sc, case, bus_mw), base_result, progress=tick, pool=pool,
    )
    sim_s = time.perf_counter() - t0
    where = ", ".join(f"{grp.bus}:{grp.replicas or grp.scale:g}" for grp in groups)
    info = {
        "placement": where, "over_capacity": placement.over_capacity if placement is not None else 0,
        "n_ders": int(sum(d.n_ders for d in days)), "simulation_s": sim_s,
    }
    bound = bounds_for(sc, case, groups, days) if sc.grid.bound else {}
    rows[0].update(bound)
    passes = [("open_loop", loop.open_mw, 1, [], True)]
    if sc.grid.closed_loop.enabled:
        passes.append(("closed_loop", loop.final_mw, loop.iterations, loop.residuals_mw, loop.converged))
    buses = [grp.bus for grp in groups]
    for mode, mw, its, resid, conv in passes:
        row: dict = {"mode": mode, **common, "iterations": its,
                     "residual_mw": resid[-1] if resid else np.nan, "converged": conv, **info, **bound,
                     "outside_envelope": envelope_excess(days, mw, sc.step_h)}
        try:
            row.update(_metrics(_dispatch(sc, case, dict(zip(buses, mw, strict=True)), ac=ac)))
        except g.DispatchInfeasible as exc:
            row["status"] = f"infeasible: {exc}"
        if mode == "closed_loop" and loop.notes:
            row["status"] = "; ".join([str(row.get("status", "")), *loop.notes])
        if "co2_t" in row:
            _share(row, base)
        rows.append(row)
    return rows


def run_sweep(sc: Scenario, folder: Path | None, *, weather, signal=None, controlled, progress: bool,
              workers: int | None = None) -> pd.DataFrame:
    """Every agent count of ``sc.grid.sweep_agents``: rows of :func:`sweep_rows`; writes table and plot.

    ``signal`` is unused (each bus group gets its own from the dispatch); kept for the pipeline's call.
    ``workers``: processes for the bus groups' days (default ``VPPSIM_WORKERS``, else the CPUs;
    :class:`scenarios.closed_loop.GroupPool`); the table is the same for any number.
    """
    from tqdm.auto import tqdm

    g = _grid()
    case = case_for(sc)
    base_result = _dispatch(sc, case, {}, ac=sc.grid.ac_check)  # its AC check serves every N's base row
    sizes = sorted(set(sc.grid.sweep_agents))
    rows: list[dict] = []
    with (tqdm(desc=f"{sc.name} sweep", unit="group-day", delay=2.0, disable=not progress) as bar,
          GroupPool(workers) as pool):
        for n in sizes:
            rows.extend(sweep_rows(sc, n, case, base_result, weather=weather, controlled=controlled, bar=bar,
                                   pool=pool))
            if folder is not None:  # rows done so far survive an interrupted sweep (large N take minutes)
                results.write_table(folder / "uptake", pd.DataFrame(rows))
    df = pd.DataFrame(rows)
    if folder is not None:
        results.write_table(folder / "uptake", df)
        if sc.output.plots:
            g.plot_uptake(df[~df["status"].astype(str).str.startswith("infeasible")], folder / "uptake.png",
                          title=f"{sc.grid.case}: renewable uptake vs participating agents ({sc.name})")
    return df
