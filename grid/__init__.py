"""Grid package: IEEE test networks, multi-period DC optimal dispatch (HiGHS), AC check, uptake metrics.

Typical use::

    from grid import build_case, dispatch_day, dispatch_metrics
    case = build_case("case39")
    result = dispatch_day(case, {28: park_mw}, ac_check=True)   # park_mw: (24,) MW net load
    print(dispatch_metrics(result))

See ``docs/grid.md`` for the data sources and the LP formulation.
"""

from grid.backend import (
    AcCheck,
    GridBackend,
    LightsimBackend,
    NetworkRefused,
    PandapowerBackend,
    check_network,
)
from grid.bound import BoundInfeasible, BoundResult, FlexEnvelope, uptake_bound
from grid.cases import CASE_NAMES, GridCase, RenewableUnit, ThermalUnit, build_case, make_case
from grid.cef import CarbonFlow, dispatch_carbon_flow, nodal_zero_carbon_index
from grid.dispatch import (
    DEFAULT_DAY_OF_YEAR,
    DEFAULT_WEATHER_FILE,
    Dispatcher,
    DispatchInfeasible,
    DispatchResult,
    dispatch_day,
    renewable_availability,
)
from grid.experiment import bound_share, parks_to_bus_mw, plot_uptake, uptake_sweep
from grid.metrics import Comparison, DispatchMetrics, compare_dispatch, dispatch_metrics, metrics_table

__all__ = [
    "CASE_NAMES",
    "DEFAULT_DAY_OF_YEAR",
    "DEFAULT_WEATHER_FILE",
    "AcCheck",
    "Comparison",
    "DispatchInfeasible",
    "DispatchMetrics",
    "DispatchResult",
    "Dispatcher",
    "GridBackend",
    "GridCase",
    "PandapowerBackend",
    "LightsimBackend",
    "NetworkRefused",
    "check_network",
    "BoundInfeasible",
    "BoundResult",
    "FlexEnvelope",
    "uptake_bound",
    "CarbonFlow",
    "dispatch_carbon_flow",
    "nodal_zero_carbon_index",
    "bound_share",
    "RenewableUnit",
    "ThermalUnit",
    "build_case",
    "compare_dispatch",
    "dispatch_day",
    "dispatch_metrics",
    "make_case",
    "metrics_table",
    "parks_to_bus_mw",
    "plot_uptake",
    "renewable_availability",
    "uptake_sweep",
]
