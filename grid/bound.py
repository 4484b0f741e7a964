"""The uptake bound: the dispatch LP with the parks' flexible load as decision variables.

The multi-period DC dispatch of :mod:`grid.dispatch` (same matrix, same bounds) is extended with one
column per flexible bus and period, the park load ``x[t, k]`` (MW) at bus ``k``, inside the
flexibility envelope the devices have:

* per period: ``p_min[t, k] <= x[t, k] <= p_max[t, k]`` (the hierarchy's flexibility);
* per day (horizon): ``E_min[k] <= sum_t x[t, k] dt <= E_max[k]`` (air-conditioner energy within
  comfort as a daily energy band);
* by deadline: ``sum_{tau <= t} x[tau, k] dt >= C_min[t, k]`` (EV energy delivered by departure as
  cumulative-energy lower bounds).

``x`` enters every period's balance row and PTDF line rows exactly as bus demand does. Three LPs are
solved with HiGHS on one model, changing only costs and one row bound (``docs/grid.md`` section 2.3):

1. the dispatch's own least cost with the flexible load co-optimised (objective ``"cost"``, the
   default: a zero-width envelope reproduces the dispatch; ``U*`` is that solution's uptake), or the
   maximum renewable uptake ``U* = max sum_{r,t} w[r, t] dt`` (objective ``"uptake"``: the physical
   ceiling, which may also redispatch thermal units against congestion at any cost and CO2);
2. least fuel cost subject to ``sum w dt >= U* - tol``: the bound's dispatch (cost, CO2, flexible load);
3. least CO2 over the envelope, ``min sum_{g,t} e_g P[g, t] dt``: the least CO2 any control could reach.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from grid.backend import GridBackend
from grid.cases import GridCase
from grid.dispatch import (
    DEFAULT_DAY_OF_YEAR,
    DEFAULT_WEATHER_FILE,
    day_inputs,
    get_dispatcher,
    park_demand_mw,
)

_INF = highspy.kHighsInf
_UPTAKE_TOL_MWH = 1e-6


class BoundInfeasible(RuntimeError):
    """The envelope cannot be met within unit and network limits (no load shedding in the bound)."""


@dataclass(frozen=True)
class FlexEnvelope:
    """Flexibility of the parks' load at some buses, over T periods of ``step_h`` hours.

    Attributes:
        buses: pandapower bus index of each flexible load (K buses, distinct).
        p_min_mw: (T, K) lowest load per period (may be negative: park export).
        p_max_mw: (T, K) highest load per period.
        energy_min_mwh: (K,) lowest energy over the horizon, or None.
        energy_max_mwh: (K,) highest energy over the horizon, or None.
        cum_energy_min_mwh: (T, K) energy that must have been drawn by the end of each period
            (EV energy by departure), or None.
    """

    buses: tuple[int, ...]
    p_min_mw: np.ndarray
    p_max_mw: np.ndarray
    energy_min_mwh: np.ndarray | None = None
    energy_max_mwh: np.ndarray | None = None
    cum_energy_min_mwh: np.ndarray | None = None

    @classmethod
    def fixed(cls, bus_p_mw: Mapping[int, np.ndarray]) -> FlexEnvelope:
        """A zero-width envelope: the given {bus: (T,) MW} loads, nothing to move."""
        buses = tuple(int(b) for b in bus_p_mw)
        p = np.column_stack([np.asarray(v, dtype=float) for v in bus_p_mw.values()])
        return cls(buses, p, p.copy())

    def validate(self, n_periods: int, step_h: float) -> None:
        """Check shapes and that the bounds are consistent.

        Raises:
            ValueError: naming the bus and the period where the envelope is empty.
        """
        k = len(self.buses)
        if len(set(self.buses)) != k:
            raise ValueError(f"envelope buses must be distinct, got {self.buses}")
        for name in ("p_min_mw", "p_max_mw", "cum_energy_min_mwh"):
            arr = getattr(self, name)
            if arr is not None and np.shape(arr) != (n_periods, k):
                raise ValueError(f"{name} must be (T={n_periods}, K={k}), got {np.shape(arr)}")
        for name in ("energy_min_mwh", "energy_max_mwh"):
            arr = getattr(self, name)
            if arr is not None and np.shape(arr) != (k,):
                raise ValueError(f"{name} must be (K={k},), got {np.shape(arr)}")
        bad = np.argwhere(np.asarray(self.p_min_mw) > np.asarray(self.p_max_mw) + 1e-9)
        if len(bad):
            t, j = bad[0]
            raise ValueError(f"envelope at bus {self.buses[j]}, period {t}: p_min_mw > p_max_mw")
        e_lo = np.asarray(self.p_min_mw).sum(axis=0) * step_h
        e_hi = np.asarray(self.p_max_mw).sum(axis=0) * step_h
        if self.energy_min_mwh is not None and np.any(np.asarray(self.energy_min_mwh) > e_hi + 1e-6):
            j = int(np.argmax(np.asarray(self.energy_min_mwh) - e_hi))
            raise ValueError(f"envelope at bus {self.buses[j]}: energy_min_mwh above what p_max_mw allows")
        if self.energy_max_mwh is not None and np.any(np.asarray(self.energy_max_mwh) < e_lo - 1e-6):
            j = int(np.argmax(e_lo - np.asarray(self.energy_max_mwh)))
            raise ValueError(f"envelope at bus {self.buses[j]}: energy_max_mwh below what p_min_mw forces")


@dataclass
class BoundResult:
    """The uptake bound of one day.

    Attributes:
        flex_buses: pandapower buses of the flexible loads (K).
        flex_p_mw: (T, K) flexible load of the bound's dispatch (max uptake, then least cost).
        thermal_p_mw: (T, n_units); renewable_p_mw, renewable_avail_mw: (T, n_renewables).
        renewable_utilisation: used / available energy at the bound (1 when nothing available).
        renewable_used_mwh, curtailed_mwh: energy used / curtailed at the bound.
        cost: fuel cost ($) of the bound's dispatch; co2_t: its emissions (t).
        co2_min_t: the least CO2 (t) over the envelope (LP 3); flex_p_mw_co2_min: (T, K) its load.
        solve_time_s: HiGHS time of the three LPs.
    """

    flex_buses: tuple[int, ...]
    flex_p_mw: np.ndarray
    thermal_p_mw: np.ndarray
    renewable_p_mw: np.ndarray
    renewable_avail_mw: np.ndarray
    renewable_utilisation: float
    renewable_used_mwh: float
    curtailed_mwh: float
    cost: float
    co2_t: float
    co2_min_t: float
    flex_p_mw_co2_min: np.ndarray
    solve_time_s: float

    def as_dict(self) -> dict[str, float]:
        """Scalar figures for a results table (``bound_`` prefix)."""
        return {
            "bound_renewable_utilisation": self.renewable_utilisation,
            "bound_curtailed_mwh": self.curtailed_mwh,
            "bound_cost": self.cost,
            "bound_co2_t": self.co2_t,
            "bound_co2_min_t": self.co2_min_t,
        }


class UptakeBound:
    """The dispatch LP of a case extended by flexible loads at ``buses``; built once, solved per envelope.

    Args:
        case: grid case.
        buses: pandapower buses of the flexible loads (K).
        n_periods: T.
        step_h: period length (h).
        backend: power-flow backend for the PTDF (default: the case's).
    """

    def __init__(
        self,
        case: GridCase,
        buses: Sequence[int],
        n_periods: int,
        step_h: float = 1.0,
        backend: GridBackend | None = None,
    ) -> None:
        self.case = case
        self.buses = tuple(int(b) for b in buses)
        self.disp = get_dispatcher(case, n_periods, step_h, backend)
        self.step_h = float(step_h)
        lay = self.disp.lay
        self.n_t, self.n_k = lay.n_t, len(self.buses)
        pos = case.bus_position(self.buses)
        h = self.disp.ptdf[self.disp.monitored][:, pos]
        block = np.vstack([-np.ones((1, self.n_k)), -h])  # balance row, line rows of one period
        block[np.abs(block) < 1e-10] = 0.0
        n_t, n_k = self.n_t, self.n_k
        a_d = self.disp.a.tocsr()
        n_rows_periods = n_t * self.disp.n_rows_period
        flex_cols = sp.vstack(
            [
                sp.kron(sp.eye(n_t), sp.csr_matrix(block), format="csr"),
                sp.csr_matrix((a_d.shape[0] - n_rows_periods, n_t * n_k)),
            ],
            format="csr",
        )
        ren_cols = np.zeros(a_d.shape[1])
        ren_cols[(np.arange(n_t)[:, None] * lay.per_t + lay.ren0 + np.arange(lay.n_r)[None, :]).ravel()] = (
            self.step_h
        )
        energy = sp.kron(np.ones((1, n_t)), sp.eye(n_k), format="csr") * self.step_h
        cum = sp.kron(sp.csr_matrix(np.tril(np.ones((n_t, n_t)))), sp.eye(n_k), format="csr") * self.step_h
        self.a = sp.vstack(
            [
                sp.hstack([a_d, flex_cols]),
                sp.hstack([sp.csr_matrix((n_k, a_d.shape[1])), energy]),
                sp.hstack([sp.csr_matrix((n_t * n_k, a_d.shape[1])), cum]),
                sp.hstack([sp.csr_matrix(ren_cols[None, :]), sp.csr_matrix((1, n_t * n_k))]),
            ],
            format="csc",
        )
        self.a.sort_indices()
        self.n_dcols = a_d.shape[1]
        self.n_drows = a_d.shape[0]
        self.cost = np.r_[self.disp.cost, np.zeros(n_t * n_k)]
        self.co2_factor = np.array([u.co2_kg_per_mwh for u in case.thermal], dtype=float)
        seg_co2 = np.repeat(self.co2_factor, lay.n_s)
        per_t = np.r_[seg_co2, np.zeros(lay.per_t - len(seg_co2))]
        self.co2 = np.r_[np.tile(per_t, n_t) * self.step_h, np.zeros(n_t * n_k)]
        self.uptake = np.r_[-ren_cols, np.zeros(n_t * n_k)]
        self._highs = highspy.Highs()
        self._highs.setOptionValue("output_flag", False)
        self._highs.setOptionValue("presolve", "off")
        self._highs.setOptionValue("solver", "simplex")
        lp = highspy.HighsLp()
        n_col, n_row = self.a.shape[1], self.a.shape[0]
        lp.num_col_, lp.num_row_ = n_col, n_row
        lp.col_cost_ = self.cost
        lp.col_lower_, lp.col_upper_ = np.zeros(n_col), np.zeros(n_col)
        lp.row_lower_, lp.row_upper_ = np.zeros(n_row), np.zeros(n_row)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_col, n_row
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = (
            self.a.indptr,
            self.a.indices,
            self.a.data,
        )
        self._highs.passModel(lp)
        self._cols = np.arange(n_col, dtype=np.int32)
        self._rows = np.arange(n_row, dtype=np.int32)

    def _solve(self, cost: np.ndarray) -> tuple[np.ndarray, float, float]:
        h = self._highs
        h.changeColsCost(len(self._cols), self._cols, cost)
        h.clearSolver()
        t0 = time.perf_counter()
        h.run()
        elapsed = time.perf_counter() - t0
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise BoundInfeasible(
                f"uptake bound LP: HiGHS returned {h.modelStatusToString(status)} "
                "(the envelope cannot be met within unit and network limits)"
            )
        return (
            np.asarray(h.getSolution().col_value, dtype=float),
            float(h.getInfo().objective_function_value),
            elapsed,
        )

    def solve(
        self,
        base_demand_mw: np.ndarray,
        renewable_avail_mw: np.ndarray,
        envelope: FlexEnvelope,
        *,
        objective: Literal["uptake", "cost"] = "cost",
        p_initial_mw: np.ndarray | None = None,
    ) -> BoundResult:
        """Solve the bound for one day.

        Args:
            base_demand_mw: (T, n_bus) demand without the flexible loads (base loads and fixed parks).
            renewable_avail_mw: (T, n_renewables) available renewable power.
            envelope: flexibility at ``self.buses`` (same order).
            objective: ``"cost"`` (default: the dispatch's least cost with the flexible load
                co-optimised, so a zero-width envelope reproduces :func:`grid.dispatch.dispatch_day`)
                or ``"uptake"`` (maximum renewable uptake first, thermal redispatch included).
            p_initial_mw: unit outputs before the first period.

        Returns:
            :class:`BoundResult`.

        Raises:
            ValueError: envelope shapes or buses do not match.
            BoundInfeasible: no dispatch meets the envelope.
        """
        if tuple(int(b) for b in envelope.buses) != self.buses:
            raise ValueError(f"envelope buses {envelope.buses} differ from the bound's {self.buses}")
        envelope.validate(self.n_t, self.step_h)
        n_t, n_k, lay = self.n_t, self.n_k, self.disp.lay
        demand = np.asarray(base_demand_mw, dtype=float)
        avail = np.asarray(renewable_avail_mw, dtype=float).reshape(n_t, lay.n_r)
        col_lo, col_hi, row_lo, row_hi = self.disp._bounds(demand, avail, False, p_initial_mw)
        e_lo = (
            -_INF * np.ones(n_k) if envelope.energy_min_mwh is None else np.asarray(envelope.energy_min_mwh)
        )
        e_hi = _INF * np.ones(n_k) if envelope.energy_max_mwh is None else np.asarray(envelope.energy_max_mwh)
        c_lo = (
            np.full(n_t * n_k, -_INF)
            if envelope.cum_energy_min_mwh is None
            else np.asarray(envelope.cum_energy_min_mwh, dtype=float).ravel()
        )
        h = self._highs
        h.changeColsBounds(
            len(self._cols),
            self._cols,
            np.r_[col_lo, np.asarray(envelope.p_min_mw, dtype=float).ravel()],
            np.r_[col_hi, np.asarray(envelope.p_max_mw, dtype=float).ravel()],
        )
        lo = np.r_[row_lo, e_lo, c_lo, -_INF]
        hi = np.r_[row_hi, e_hi, np.full(n_t * n_k, _INF), _INF]
        h.changeRowsBounds(len(self._rows), self._rows, lo, hi)
        up_row = np.array([len(self._rows) - 1], dtype=np.int32)
        t_total = 0.0
        if objective == "uptake":
            x, obj, dt = self._solve(self.uptake)
            t_total += dt
            used = -obj
        elif objective == "cost":
            x, _, dt = self._solve(self.cost)
            t_total += dt
            used = float(-self.uptake @ x)
        else:
            raise ValueError(f"objective must be 'uptake' or 'cost', got {objective!r}")
        h.changeRowsBounds(1, up_row, np.array([used - _UPTAKE_TOL_MWH]), np.array([_INF]))
        x, _, dt = self._solve(self.cost)
        t_total += dt
        h.changeRowsBounds(1, up_row, np.array([-_INF]), np.array([_INF]))
        x_co2, co2_min, dt = self._solve(self.co2)
        t_total += dt
        xt = x[: self.n_dcols].reshape(n_t, lay.per_t)
        seg = xt[:, : lay.ren0].reshape(n_t, lay.n_g, lay.n_s)
        thermal = seg.sum(axis=2)
        ren = np.minimum(xt[:, lay.ren0 : lay.shed0], avail)
        avail_mwh = float(avail.sum() * self.step_h)
        used_mwh = float(ren.sum() * self.step_h)
        return BoundResult(
            flex_buses=self.buses,
            flex_p_mw=x[self.n_dcols :].reshape(n_t, n_k),
            thermal_p_mw=thermal,
            renewable_p_mw=ren,
            renewable_avail_mw=avail,
            renewable_utilisation=used_mwh / avail_mwh if avail_mwh > 1e-9 else 1.0,
            renewable_used_mwh=used_mwh,
            curtailed_mwh=avail_mwh - used_mwh,
            cost=float((seg * self.disp.seg_cost[None]).sum() * self.step_h),
            co2_t=float((thermal @ self.co2_factor).sum() * self.step_h / 1000.0),
            co2_min_t=co2_min / 1000.0,
            flex_p_mw_co2_min=x_co2[self.n_dcols :].reshape(n_t, n_k),
            solve_time_s=t_total,
        )


def get_bound(case: GridCase, buses: Sequence[int], n_periods: int, step_h: float = 1.0) -> UptakeBound:
    """:class:`UptakeBound` cached on the case per (buses, T, step_h)."""
    key = ("bound", tuple(int(b) for b in buses), int(n_periods), float(step_h))
    if key not in case._cache:
        case._cache[key] = UptakeBound(case, buses, n_periods, step_h)
    return case._cache[key]


def uptake_bound(
    case: GridCase,
    envelope: FlexEnvelope,
    park_bus_p_mw: Mapping[int, np.ndarray] | np.ndarray | None = None,
    *,
    day_of_year: int = DEFAULT_DAY_OF_YEAR,
    weather_file: str = DEFAULT_WEATHER_FILE,
    step_h: float = 1.0,
    renewable_avail_mw: np.ndarray | None = None,
    objective: Literal["uptake", "cost"] = "cost",
    p_initial_mw: np.ndarray | None = None,
) -> BoundResult:
    """The most renewable uptake and the least CO2 any control of the flexible loads could reach.

    Demand and weather are assembled as :func:`grid.dispatch.dispatch_day` does (RTS load shape of
    ``day_of_year`` x the case's peak loads, plus fixed park loads), and the envelope's loads are added
    as decision variables at their buses.

    Args:
        case: grid case.
        envelope: flexible loads (T = ``envelope.p_min_mw.shape[0]`` periods).
        park_bus_p_mw: fixed (non-flexible) park load, {bus: (T,)} or (n_bus, T) MW, or None.
        day_of_year, weather_file, step_h: as :func:`grid.dispatch.dispatch_day`.
        renewable_avail_mw: (T, n_renewables) availability overriding the weather model.
        objective: ``"uptake"`` or ``"cost"`` (see :meth:`UptakeBound.solve`).
        p_initial_mw: unit outputs before the first period.

    Returns:
        :class:`BoundResult`.
    """
    n_t = int(np.shape(envelope.p_min_mw)[0])
    demand, avail, _, _ = day_inputs(
        case, park_demand_mw(case, park_bus_p_mw, n_t), day_of_year=day_of_year,
        weather_file=weather_file, step_h=step_h, renewable_avail_mw=renewable_avail_mw,
    )
    bound = get_bound(case, envelope.buses, n_t, step_h)
    return bound.solve(demand, avail, envelope, objective=objective, p_initial_mw=p_initial_mw)


def bound_table(results: Mapping[str, BoundResult]) -> pd.DataFrame:
    """One row of :meth:`BoundResult.as_dict` per label."""
    return pd.DataFrame({label: r.as_dict() for label, r in results.items()}).T
