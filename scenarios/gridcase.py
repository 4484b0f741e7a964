"""A scenario's grid case and the eta_GI signal of its base dispatch (no DER involved).

Separate from :mod:`scenarios.uptake` so that building a model (which may need
the grid signal) and the uptake sweep (which builds models) do not import each other.
"""

from __future__ import annotations

import functools

import numpy as np

from aggregation.model import SystemSignal

from .base import ScenarioBase, ScenarioError

__all__ = ["base_dispatch", "case_for", "grid_signal"]


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
        raise ScenarioError(f"scenario {sc.name}: system_index.source 'grid' needs a 'grid' block")
    buses = tuple(p.bus for p in sc.parks if p.bus is not None)
    try:
        return _case(sc.grid.case, buses or None)
    except ValueError as exc:
        raise ScenarioError(f"scenario {sc.name}: grid: {exc}") from None


def base_dispatch(sc: ScenarioBase):
    """Dispatch of the case without any participating DER.

    Raises:
        ScenarioError: the dispatch is infeasible.
    """
    g = _grid()
    try:
        return g.dispatch_day(
            case_for(sc), None, day_of_year=sc.start_day_of_year, weather_file=sc.weather.file,
            step_h=sc.step_h, n_periods=sc.n_steps,
        )
    except g.DispatchInfeasible as exc:
        raise ScenarioError(f"scenario {sc.name}: the base dispatch is infeasible: {exc}") from None


def grid_signal(sc: ScenarioBase) -> SystemSignal:
    """eta_GI from the base dispatch: renewable energy used / total generation per period (MWh)."""
    r = base_dispatch(sc)
    e_res = r.renewable_p_mw.sum(axis=1) * sc.step_h
    e_tot = r.total_generation_mw * sc.step_h
    return SystemSignal(np.minimum(e_res, e_tot), e_tot)
