"""Metrics of a dispatch and baseline-vs-controlled comparisons (definitions in ``docs/grid.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from grid.dispatch import DispatchResult


@dataclass(frozen=True)
class DispatchMetrics:
    """Energy and emission figures of one dispatch (all floats).

    Attributes:
        renewable_available_mwh: wind+PV energy available from the weather.
        renewable_used_mwh: wind+PV energy dispatched.
        renewable_utilisation: used / available (1.0 when nothing is available).
        curtailment_rate: 1 - utilisation.
        curtailed_mwh: available minus used.
        demand_mwh: served demand incl. parks (shed load excluded).
        park_mwh: park net energy.
        generation_mwh: thermal + renewable generation.
        eta_gi: energy-weighted zero-carbon index, renewable used / total generation.
        co2_t: emissions.
        co2_intensity_kg_per_mwh: emissions per MWh of served demand.
        cost: fuel cost ($) without slack penalties.
        net_load_peak_to_valley_mw: max - min of (demand - renewable used).
        demand_peak_to_valley_mw: max - min of demand.
        congestion_hours: hours with at least one DC line at its limit.
        shed_mwh: load shed (only with ``allow_shedding``).
        ac_violation_hours: hours with an AC voltage/loading violation or no convergence
            (NaN without AC check).
        ac_nonconverged_periods: periods whose AC power flow failed (NaN without AC check).
    """

    renewable_available_mwh: float
    renewable_used_mwh: float
    renewable_utilisation: float
    curtailment_rate: float
    curtailed_mwh: float
    demand_mwh: float
    park_mwh: float
    generation_mwh: float
    eta_gi: float
    co2_t: float
    co2_intensity_kg_per_mwh: float
    cost: float
    net_load_peak_to_valley_mw: float
    demand_peak_to_valley_mw: float
    congestion_hours: float
    shed_mwh: float
    ac_violation_hours: float
    ac_nonconverged_periods: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def dispatch_metrics(result: DispatchResult) -> DispatchMetrics:
    """Compute :class:`DispatchMetrics` of a dispatch."""
    dt = result.step_h
    avail = float(result.renewable_avail_mw.sum() * dt)
    used = float(result.renewable_p_mw.sum() * dt)
    util = used / avail if avail > 1e-9 else 1.0
    demand_t = result.demand_mw.sum(axis=1) - result.shed_total_mw
    gen = float(result.total_generation_mw.sum() * dt)
    co2_t = float(result.co2_kg.sum() / 1000.0)
    demand = float(demand_t.sum() * dt)
    net_load = demand_t - result.renewable_p_mw.sum(axis=1)
    if result.ac is not None:
        s = result.ac.summary()
        bad = (~s.converged) | (s.n_vm_low > 0) | (s.n_vm_high > 0) | (s.n_overloaded > 0)
        ac_hours, ac_fail = float(bad.sum() * dt), float((~s.converged).sum())
    else:
        ac_hours = ac_fail = float("nan")
    return DispatchMetrics(
        renewable_available_mwh=avail,
        renewable_used_mwh=used,
        renewable_utilisation=util,
        curtailment_rate=1.0 - util,
        curtailed_mwh=avail - used,
        demand_mwh=demand,
        park_mwh=float(result.park_mw.sum() * dt),
        generation_mwh=gen,
        eta_gi=used / gen if gen > 1e-9 else 0.0,
        co2_t=co2_t,
        co2_intensity_kg_per_mwh=co2_t * 1000.0 / demand if demand > 1e-9 else float("nan"),
        cost=float(result.cost.sum()),
        net_load_peak_to_valley_mw=float(np.ptp(net_load)),
        demand_peak_to_valley_mw=float(np.ptp(demand_t)),
        congestion_hours=float(result.binding.any(axis=1).sum() * dt),
        shed_mwh=float(result.shed_mw.sum() * dt),
        ac_violation_hours=ac_hours,
        ac_nonconverged_periods=ac_fail,
    )


@dataclass(frozen=True)
class Comparison:
    """Baseline vs controlled metrics; ``delta`` is controlled minus baseline."""

    baseline: DispatchMetrics
    controlled: DispatchMetrics

    @property
    def delta(self) -> dict[str, float]:
        b, c = self.baseline.as_dict(), self.controlled.as_dict()
        return {k: c[k] - b[k] for k in b}

    def to_frame(self) -> pd.DataFrame:
        """Rows per metric; columns baseline, controlled, delta, relative change."""
        b, c = self.baseline.as_dict(), self.controlled.as_dict()
        frame = pd.DataFrame({"baseline": b, "controlled": c})
        frame["delta"] = frame.controlled - frame.baseline
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["relative"] = np.where(
                frame.baseline.abs() > 1e-12, frame.delta / frame.baseline.abs(), np.nan
            )
        return frame


def compare_dispatch(baseline: DispatchResult, controlled: DispatchResult) -> Comparison:
    """Compare two dispatches of the same case and day (e.g. parks without and with control)."""
    if baseline.case_name != controlled.case_name or baseline.n_periods != controlled.n_periods:
        raise ValueError("baseline and controlled must be the same case and number of periods")
    return Comparison(dispatch_metrics(baseline), dispatch_metrics(controlled))


def metrics_table(results: Mapping[str, DispatchResult]) -> pd.DataFrame:
    """One row of :class:`DispatchMetrics` per labelled dispatch."""
    return pd.DataFrame({label: dispatch_metrics(r).as_dict() for label, r in results.items()}).T
