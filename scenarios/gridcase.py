"""A scenario's grid case and the eta_GI signal of its base dispatch (no DER involved).

Separate from :mod:`scenarios.uptake` so that building a model (which may need
the grid signal) and the uptake sweep (which builds models) do not import each other.
"""

from __future__ import annotations

import functools

import numpy as np

from aggregation.model import SystemSignal

from .base import ScenarioBase, ScenarioError

__all__ = ["base_dispatch", "case_for", "day_dispatch", "grid_signal", "nodal_signal", "single_bus"]


def _grid():
    import grid

    return grid


@functools.lru_cache(maxsize=4)
def _case(name: str, buses: tuple[int, ...] | None):
    return _grid().build_case(name, park_buses=list(buses) if buses else None)


def case_for(sc: ScenarioBase):
    """The scenario's grid case, with its parks' buses (if given) as park buses.

    Raises:
        ScenarioError: no ``grid`` block, or the case rejects the buses.
    """
    if getattr(sc, "grid", None) is None:
        raise ScenarioError(f"scenario {sc.name}: system_index.source 'grid'/'grid_nodal' needs a 'grid' block")
    buses = tuple(dict.fromkeys(p.bus for p in sc.parks if p.bus is not None))
    placement = getattr(sc.grid, "placement", None)
    if placement is not None and placement.buses:
        # The placement's buses must carry park load elements (the AC check sets them).
        buses = tuple(dict.fromkeys((*buses, *placement.buses)))
    try:
        return _case(sc.grid.case, buses or None)
    except ValueError as exc:
        raise ScenarioError(f"scenario {sc.name}: grid: {exc}") from None


def day_dispatch(sc: ScenarioBase, case, bus_mw: dict | None = None, *, ac: bool = False):
    """The scenario day's dispatch of ``case`` with park load changes ``{bus: (T,) MW}`` (raises on infeasible)."""
    return _grid().dispatch_day(case, bus_mw or None, day_of_year=sc.start_day_of_year, weather_file=sc.weather.file,
                                step_h=sc.step_h, n_periods=sc.n_steps, ac_check=ac)


def base_dispatch(sc: ScenarioBase):
    """Dispatch of the case without any participating DER.

    Raises:
        ScenarioError: the dispatch is infeasible.
    """
    g = _grid()
    try:
        return day_dispatch(sc, case_for(sc))
    except g.DispatchInfeasible as exc:
        raise ScenarioError(f"scenario {sc.name}: the base dispatch is infeasible: {exc}") from None


def grid_signal(sc: ScenarioBase) -> SystemSignal:
    """eta_GI from the base dispatch: renewable energy used / total generation per period (MWh)."""
    r = base_dispatch(sc)
    e_res = r.renewable_p_mw.sum(axis=1) * sc.step_h
    e_tot = r.total_generation_mw * sc.step_h
    return SystemSignal(np.minimum(e_res, e_tot), e_tot)


def single_bus(sc: ScenarioBase) -> int:
    """The bus of a one-model day: the parks' common ``bus``, else the placement's first bus.

    Raises:
        ScenarioError: the parks name several buses (one model sees one signal; the uptake sweep
            runs one model per bus group instead).
    """
    named = sorted({int(p.bus) for p in sc.parks if p.bus is not None})
    if len(named) > 1:
        raise ScenarioError(
            f"scenario {sc.name}: system_index.source 'grid_nodal' with parks on buses {named}: a single day "
            "runs one model, which sees one signal; give the parks one bus (the uptake sweep runs one model "
            "per bus group)"
        )
    if named:
        return named[0]
    pl = sc.grid.placement
    return int(pl.buses[0]) if pl.buses else int(case_for(sc).park_buses[0])


def nodal_signal(sc: ScenarioBase) -> SystemSignal:
    """The base dispatch's nodal zero-carbon index at :func:`single_bus` as (e_res, e_tot) MWh.

    e_tot is the dispatch's total generation, e_res = nodal renewable share x e_tot, so eta_GI is
    the bus's share (``docs/grid.md`` section 6.3).
    """
    from grid.cef import nodal_zero_carbon_index

    case = case_for(sc)
    r = base_dispatch(sc)
    bus = single_bus(sc)
    share = nodal_zero_carbon_index(case, r, [bus])[bus]
    e_tot = r.total_generation_mw * sc.step_h
    return SystemSignal(np.clip(share, 0.0, 1.0) * e_tot, e_tot)
