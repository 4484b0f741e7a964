"""Grid package: IEEE test networks, multi-period DC optimal dispatch (HiGHS), AC check, uptake metrics.

Typical use::

    from grid import build_case, dispatch_day, dispatch_metrics
    case = build_case("case39")
    result = dispatch_day(case, {28: park_mw}, ac_check=True)   # park_mw: (24,) MW net load
    print(dispatch_metrics(result))

See ``docs/grid.md`` for the data sources and the LP formulation.

The names below load their module on first use (PEP 562), so that the shared data
modules (``grid.weather``, ``grid.profiles``, ``grid.solar``) import without
pandapower and lightsim2grid.
"""

from __future__ import annotations

from .lazy import lazy_module_attrs

_WHERE: dict[str, str] = {
    **dict.fromkeys(("AcCheck", "GridBackend", "LightsimBackend", "NetworkRefused", "PandapowerBackend",
                     "check_network"), "grid.backend"),
    **dict.fromkeys(("BoundInfeasible", "BoundResult", "FlexEnvelope", "uptake_bound"), "grid.bound"),
    **dict.fromkeys(("CASE_NAMES", "GridCase", "RenewableUnit", "ThermalUnit", "build_case", "make_case"),
                    "grid.cases"),
    **dict.fromkeys(("CarbonFlow", "dispatch_carbon_flow", "nodal_zero_carbon_index"), "grid.cef"),
    **dict.fromkeys(("DEFAULT_DAY_OF_YEAR", "DEFAULT_WEATHER_FILE", "Dispatcher", "DispatchInfeasible",
                     "DispatchResult", "dispatch_day", "renewable_availability"), "grid.dispatch"),
    **dict.fromkeys(("bound_share", "parks_to_bus_mw", "plot_uptake", "uptake_sweep"), "grid.experiment"),
    **dict.fromkeys(("Comparison", "DispatchMetrics", "compare_dispatch", "dispatch_metrics", "metrics_table"),
                    "grid.metrics"),
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_module_attrs(__name__, _WHERE)
