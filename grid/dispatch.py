"""Multi-period DC optimal dispatch as one sparse linear program solved by HiGHS.

The LP (equations in ``docs/grid.md``) has, per period t, piecewise-linear thermal segments, renewable
output in [0, available], and optional per-bus slack (load shedding / spilling); balance and PTDF line
limits per period; ramp limits between periods; daily energy limits for hydro. The constraint matrix
is built once per (case, number of periods); each call only sets bounds and right-hand sides.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

import grid.data as data
from grid.backend import AcCheck, GridBackend, LightsimBackend
from grid.cases import GridCase, build_case

DEFAULT_WEATHER_FILE = "12839.tm2"
DEFAULT_DAY_OF_YEAR = 196
# Penalty on shed or spilled energy: far above any marginal cost, so slack is used only when
# nothing else is feasible (order of the 5,000-10,000 $/MWh offer caps of US markets).
SLACK_PENALTY_PER_MWH = 10_000.0
_TOL_MW = 1e-6
_UNLIMITED_MVA = 1e5


class DispatchInfeasible(RuntimeError):
    """The dispatch cannot meet demand within unit and network limits.

    Attributes:
        hour: index of the period with the largest shortfall (0-based).
        shortfall_mw: that period's unserved demand (positive) or unabsorbable surplus (negative).
        shed_mw: (T, n_bus) minimum load shedding found by the slack LP.
        spill_mw: (T, n_bus) minimum generation spilling found by the slack LP.
    """

    def __init__(
        self, message: str, hour: int, shortfall_mw: float, shed_mw: np.ndarray, spill_mw: np.ndarray
    ) -> None:
        super().__init__(message)
        self.hour = hour
        self.shortfall_mw = shortfall_mw
        self.shed_mw = shed_mw
        self.spill_mw = spill_mw


@dataclass
class DispatchResult:
    """Dispatch of T periods. Arrays are (T, ...) with units in their names.

    Attributes:
        case_name: case label.
        period_start: (T,) period start times (tz-aware) or a RangeIndex.
        step_h: period length in hours.
        unit_names, renewable_names, branch_names, bus_index: labels of the columns.
        thermal_p_mw: (T, n_units) output of each dispatchable unit.
        unit_co2_kg_per_mwh: (n_units,) emission factors.
        renewable_avail_mw, renewable_p_mw: (T, n_renewables) available and dispatched power.
        demand_mw: (T, n_bus) demand per bus incl. parks; park_mw: the park part.
        flows_mw: (T, n_line) DC flows; rating_mw: (n_line,) DC limits.
        cost: (T,) fuel cost per period ($), without slack penalties.
        co2_kg: (T,) emissions per period.
        shed_mw, spill_mw: (T, n_bus) load shed / generation spilled (zero unless shedding allowed).
        objective: LP objective incl. penalties.
        solve_time_s: HiGHS wall time.
        load_profile: (T,) case load as a fraction of its peak (base loads = profile x peak).
        ac: AC check, if requested.
        notes: human-readable warnings (shedding, AC problems).
    """

    case_name: str
    period_start: pd.Index
    step_h: float
    unit_names: list[str]
    renewable_names: list[str]
    branch_names: list[str]
    bus_index: np.ndarray
    thermal_p_mw: np.ndarray
    unit_co2_kg_per_mwh: np.ndarray
    renewable_avail_mw: np.ndarray
    renewable_p_mw: np.ndarray
    demand_mw: np.ndarray
    park_mw: np.ndarray
    flows_mw: np.ndarray
    rating_mw: np.ndarray
    cost: np.ndarray
    co2_kg: np.ndarray
    shed_mw: np.ndarray
    spill_mw: np.ndarray
    objective: float
    solve_time_s: float
    load_profile: np.ndarray
    ac: AcCheck | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_periods(self) -> int:
        return self.thermal_p_mw.shape[0]

    @property
    def curtailment_mw(self) -> np.ndarray:
        """(T, n_renewables) available minus dispatched renewable power."""
        return np.clip(self.renewable_avail_mw - self.renewable_p_mw, 0.0, None)

    @property
    def total_generation_mw(self) -> np.ndarray:
        """(T,) thermal plus dispatched renewable output."""
        return self.thermal_p_mw.sum(axis=1) + self.renewable_p_mw.sum(axis=1)

    @property
    def eta_gi(self) -> np.ndarray:
        """(T,) system zero-carbon index: renewable power used / total generation."""
        total = self.total_generation_mw
        used = self.renewable_p_mw.sum(axis=1)
        return np.divide(used, total, out=np.zeros_like(used), where=total > _TOL_MW)

    @property
    def loading_percent(self) -> np.ndarray:
        """(T, n_line) |DC flow| relative to the DC limit."""
        return 100.0 * np.abs(self.flows_mw) / self.rating_mw[None, :]

    @property
    def binding(self) -> np.ndarray:
        """(T, n_line) True where the DC flow sits at its limit."""
        return np.abs(self.flows_mw) >= self.rating_mw[None, :] * (1.0 - 1e-6) - 1e-6

    @property
    def shed_total_mw(self) -> np.ndarray:
        return self.shed_mw.sum(axis=1)

    def hourly(self) -> pd.DataFrame:
        """Per-period table: demand, thermal/renewable totals, curtailment, cost, CO2, eta_GI, congestion."""
        return pd.DataFrame(
            {
                "demand_mw": self.demand_mw.sum(axis=1),
                "park_mw": self.park_mw.sum(axis=1),
                "thermal_mw": self.thermal_p_mw.sum(axis=1),
                "renewable_avail_mw": self.renewable_avail_mw.sum(axis=1),
                "renewable_mw": self.renewable_p_mw.sum(axis=1),
                "curtailment_mw": self.curtailment_mw.sum(axis=1),
                "cost": self.cost,
                "co2_kg": self.co2_kg,
                "eta_gi": self.eta_gi,
                "n_binding_lines": self.binding.sum(axis=1),
                "max_loading_percent": self.loading_percent.max(axis=1, initial=0.0),
                "shed_mw": self.shed_total_mw,
            },
            index=self.period_start,
        )

    def unit_dispatch(self) -> pd.DataFrame:
        """(T, units + renewables) dispatch table in MW."""
        return pd.DataFrame(
            np.hstack([self.thermal_p_mw, self.renewable_p_mw]),
            index=self.period_start,
            columns=self.unit_names + self.renewable_names,
        )


@dataclass
class _Layout:
    n_t: int
    n_g: int
    n_s: int
    n_r: int
    n_b: int
    n_l: int

    @property
    def per_t(self) -> int:
        return self.n_g * self.n_s + self.n_r + 2 * self.n_b

    @property
    def ren0(self) -> int:
        return self.n_g * self.n_s

    @property
    def shed0(self) -> int:
        return self.ren0 + self.n_r

    @property
    def spill0(self) -> int:
        return self.shed0 + self.n_b


class Dispatcher:
    """Builds the LP matrices of a case once for T periods and solves it for given demand and weather.

    Args:
        case: the grid case.
        n_periods: number of periods T.
        step_h: period length in hours.
        backend: power-flow backend for PTDF flows and the AC check (default: :class:`LightsimBackend`).
    """

    def __init__(
        self, case: GridCase, n_periods: int, step_h: float = 1.0, backend: GridBackend | None = None
    ) -> None:
        if n_periods < 1:
            raise ValueError("n_periods must be >= 1")
        self.case = case
        self.step_h = float(step_h)
        self.backend = backend if backend is not None else _default_backend(case)
        ptdf = getattr(self.backend, "ptdf", None)
        if ptdf is None:
            # Any backend can provide the PTDF: flows for unit injections at each bus.
            ptdf = self.backend.dc_flows_mw(np.eye(case.n_bus)) - self.backend.dc_flows_mw(
                np.zeros((1, case.n_bus))
            )
            ptdf = ptdf.T
        self.ptdf = np.asarray(ptdf, dtype=float)
        self.flow_offset_mw = np.asarray(self.backend.dc_flows_mw(np.zeros((1, case.n_bus)))[0], dtype=float)
        self.rating_mw = case.branch_rating_mva()
        self.monitored = np.flatnonzero(self.rating_mw < _UNLIMITED_MVA)
        units = case.thermal
        n_s = max((len(u.segment_cost_factors) for u in units), default=1)
        self.lay = _Layout(n_periods, len(units), n_s, len(case.renewables), case.n_bus, len(self.monitored))
        seg = [u.segments() for u in units]
        self.seg_width_mw = np.array([np.pad(w, (0, n_s - len(w))) for w, _ in seg]).reshape(-1, n_s)
        self.seg_cost = np.array(
            [np.pad(c, (0, n_s - len(c)), constant_values=c[-1]) for _, c in seg]
        ).reshape(-1, n_s)
        self.unit_bus = case.bus_position([u.bus for u in units]) if units else np.zeros(0, dtype=int)
        self.ren_bus = (
            case.bus_position([r.bus for r in case.renewables]) if case.renewables else np.zeros(0, dtype=int)
        )
        self.energy_units = np.array(
            [k for k, u in enumerate(units) if u.energy_mwh_per_day is not None], dtype=int
        )
        self._build_matrix()
        self._highs = highspy.Highs()
        self._highs.setOptionValue("output_flag", False)
        # Dual simplex without presolve was fastest on these dense-row LPs (about 2x); see docs/grid.md.
        self._highs.setOptionValue("presolve", "off")
        self._highs.setOptionValue("solver", "simplex")
        self._pass_model()

    def _build_matrix(self) -> None:
        lay = self.lay
        n_b, n_g, n_s = lay.n_b, lay.n_g, lay.n_s
        c_unit = np.zeros((n_b, n_g * n_s))
        for g in range(n_g):
            c_unit[self.unit_bus[g], g * n_s : (g + 1) * n_s] = 1.0
        c_ren = np.zeros((n_b, lay.n_r))
        c_ren[self.ren_bus, np.arange(lay.n_r)] = 1.0
        # injection per bus = C x; balance row = sum of injections; line rows = PTDF_monitored @ C x
        c_all = np.hstack([c_unit, c_ren, np.eye(n_b), -np.eye(n_b)])
        h = self.ptdf[self.monitored]
        block = np.vstack([c_all.sum(axis=0, keepdims=True), h @ c_all])
        block[np.abs(block) < 1e-10] = 0.0
        a_periods = sp.kron(sp.eye(lay.n_t, format="csr"), sp.csr_matrix(block), format="csr")
        # ramp rows: unit output at t minus output at t-1 (t = 0 compares with an optional initial output)
        unit_sum = sp.csr_matrix(
            np.hstack([np.kron(np.eye(n_g), np.ones((1, n_s))), np.zeros((n_g, lay.per_t - n_g * n_s))])
        )
        diff = sp.eye(lay.n_t, format="csr") - sp.eye(lay.n_t, k=-1, format="csr")
        a_ramp = sp.kron(diff, unit_sum, format="csr")
        energy_rows = [
            sp.kron(np.ones((1, lay.n_t)), unit_sum[g], format="csr") * self.step_h for g in self.energy_units
        ]
        self.n_rows_period = 1 + lay.n_l
        self.a = sp.vstack([a_periods, a_ramp] + energy_rows, format="csc")
        self.a.sort_indices()
        self.cost = (
            np.tile(
                np.r_[self.seg_cost.ravel(), np.zeros(lay.n_r), np.full(2 * n_b, SLACK_PENALTY_PER_MWH)],
                lay.n_t,
            )
            * self.step_h
        )

    def _bounds(
        self, demand_mw: np.ndarray, avail_mw: np.ndarray, open_slack: bool, p_initial_mw: np.ndarray | None
    ) -> tuple[np.ndarray, ...]:
        lay = self.lay
        units = self.case.thermal
        col_lo = np.zeros((lay.n_t, lay.per_t))
        col_hi = np.zeros((lay.n_t, lay.per_t))
        seg_lo = np.zeros((lay.n_g, lay.n_s))
        seg_lo[:, 0] = [u.p_min_mw if u.must_run else 0.0 for u in units]
        col_lo[:, : lay.ren0] = seg_lo.ravel()
        col_hi[:, : lay.ren0] = self.seg_width_mw.ravel()
        col_hi[:, lay.ren0 : lay.shed0] = avail_mw
        if open_slack:
            col_hi[:, lay.shed0 : lay.spill0] = np.clip(demand_mw, 0.0, None)
            col_hi[:, lay.spill0 :] = highspy.kHighsInf
        d_tot = demand_mw.sum(axis=1)
        h = self.ptdf[self.monitored]
        pre = demand_mw @ h.T - self.flow_offset_mw[self.monitored][None, :]
        lim = self.rating_mw[self.monitored][None, :]
        row_lo = np.hstack([d_tot[:, None], pre - lim]).ravel()
        row_hi = np.hstack([d_tot[:, None], pre + lim]).ravel()
        ramp = np.array([u.ramp_mw_per_h for u in units]) * self.step_h
        ramp_lo = np.tile(-ramp, lay.n_t)
        ramp_hi = np.tile(ramp, lay.n_t)
        if p_initial_mw is None:
            ramp_lo[: lay.n_g], ramp_hi[: lay.n_g] = -highspy.kHighsInf, highspy.kHighsInf
        else:
            p0 = np.asarray(p_initial_mw, dtype=float)
            ramp_lo[: lay.n_g], ramp_hi[: lay.n_g] = p0 - ramp, p0 + ramp
        horizon_days = lay.n_t * self.step_h / 24.0
        e_hi = np.array([units[g].energy_mwh_per_day * horizon_days for g in self.energy_units])
        return (
            col_lo.ravel(),
            col_hi.ravel(),
            np.r_[row_lo, ramp_lo, np.full(len(e_hi), -highspy.kHighsInf)],
            np.r_[row_hi, ramp_hi, e_hi],
        )

    def _pass_model(self) -> None:
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.a.shape[1], self.a.shape[0]
        lp.col_cost_ = self.cost
        lp.col_lower_ = np.zeros(self.a.shape[1])
        lp.col_upper_ = np.zeros(self.a.shape[1])
        lp.row_lower_ = np.zeros(self.a.shape[0])
        lp.row_upper_ = np.zeros(self.a.shape[0])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = self.a.shape[1], self.a.shape[0]
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = (
            self.a.indptr,
            self.a.indices,
            self.a.data,
        )
        self._highs.passModel(lp)
        self._all_cols = np.arange(self.a.shape[1], dtype=np.int32)
        self._all_rows = np.arange(self.a.shape[0], dtype=np.int32)

    def _run(
        self, bounds: tuple[np.ndarray, ...]
    ) -> tuple[highspy.HighsModelStatus, np.ndarray, float, float]:
        col_lo, col_hi, row_lo, row_hi = bounds
        h = self._highs
        h.changeColsBounds(len(self._all_cols), self._all_cols, col_lo, col_hi)
        h.changeRowsBounds(len(self._all_rows), self._all_rows, row_lo, row_hi)
        # Dropping the basis makes every solve start cold, so results do not depend on earlier calls.
        h.clearSolver()
        t0 = time.perf_counter()
        h.run()
        elapsed = time.perf_counter() - t0
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            return status, np.zeros(0), np.nan, elapsed
        x = np.asarray(h.getSolution().col_value, dtype=float)
        return status, x, float(h.getInfo().objective_function_value), elapsed

    def solve(
        self,
        demand_mw: np.ndarray,
        renewable_avail_mw: np.ndarray,
        *,
        allow_shedding: bool = False,
        p_initial_mw: np.ndarray | None = None,
    ) -> dict[str, np.ndarray | float | list[str]]:
        """Solve the dispatch.

        Args:
            demand_mw: (T, n_bus) demand per bus (may be negative where parks export).
            renewable_avail_mw: (T, n_renewables) available renewable power.
            allow_shedding: return a solution with load shedding/spilling instead of raising.
            p_initial_mw: (n_units,) output before the first period, for its ramp limit.

        Returns:
            dict with thermal_p_mw, renewable_p_mw, shed_mw, spill_mw, objective, solve_time_s, notes.

        Raises:
            DispatchInfeasible: demand cannot be met and ``allow_shedding`` is False.
        """
        lay = self.lay
        demand_mw = np.asarray(demand_mw, dtype=float)
        avail = np.asarray(renewable_avail_mw, dtype=float).reshape(lay.n_t, lay.n_r)
        if demand_mw.shape != (lay.n_t, lay.n_b):
            raise ValueError(f"demand_mw must be ({lay.n_t}, {lay.n_b}), got {demand_mw.shape}")
        if np.any(avail < 0) or not np.all(np.isfinite(avail)) or not np.all(np.isfinite(demand_mw)):
            raise ValueError("renewable availability must be finite and >= 0, demand finite")
        notes: list[str] = []
        status, x, obj, elapsed = self._run(self._bounds(demand_mw, avail, allow_shedding, p_initial_mw))
        total_time = elapsed
        if status != highspy.HighsModelStatus.kOptimal and not allow_shedding:
            if status not in (
                highspy.HighsModelStatus.kInfeasible,
                highspy.HighsModelStatus.kUnboundedOrInfeasible,
            ):
                raise RuntimeError(f"HiGHS returned {self._highs.modelStatusToString(status)}")
            status, x, obj, elapsed = self._run(self._bounds(demand_mw, avail, True, p_initial_mw))
            total_time += elapsed
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(
                    f"slack LP failed: HiGHS returned {self._highs.modelStatusToString(status)}"
                )
            shed, spill = self._slacks(x)
            raise _infeasible(shed, spill, self.step_h)
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"HiGHS returned {self._highs.modelStatusToString(status)}")
        xt = x.reshape(lay.n_t, lay.per_t)
        seg = xt[:, : lay.ren0].reshape(lay.n_t, lay.n_g, lay.n_s)
        shed, spill = self._slacks(x)
        if shed.sum() + spill.sum() > _TOL_MW:
            err = _infeasible(shed, spill, self.step_h)
            notes.append(f"LOAD SHEDDING/SPILLING USED: {err}")
            warnings.warn(f"dispatch used slack: {err}", RuntimeWarning, stacklevel=3)
        return {
            "thermal_p_mw": seg.sum(axis=2),
            "segment_mw": seg,
            "renewable_p_mw": np.minimum(xt[:, lay.ren0 : lay.shed0], avail),
            "shed_mw": shed,
            "spill_mw": spill,
            "objective": obj,
            "solve_time_s": total_time,
            "notes": notes,
        }

    def _slacks(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xt = x.reshape(self.lay.n_t, self.lay.per_t)
        shed = xt[:, self.lay.shed0 : self.lay.spill0]
        spill = xt[:, self.lay.spill0 :]
        return np.where(shed > _TOL_MW, shed, 0.0), np.where(spill > _TOL_MW, spill, 0.0)


def _infeasible(shed: np.ndarray, spill: np.ndarray, step_h: float) -> DispatchInfeasible:
    net_short = shed.sum(axis=1) - spill.sum(axis=1)
    size = np.maximum(shed.sum(axis=1), spill.sum(axis=1))
    hour = int(np.argmax(size))
    hours = np.flatnonzero(size > _TOL_MW)
    if shed[hour].sum() >= spill[hour].sum():
        buses = np.flatnonzero(shed[hour]).tolist()
        what = f"short of {shed[hour].sum():.1f} MW (load shedding needed at buses {buses})"
        shortfall = float(shed[hour].sum())
    else:
        what = (
            f"{spill[hour].sum():.1f} MW of surplus that cannot be absorbed "
            f"(generation spilled at buses {np.flatnonzero(spill[hour]).tolist()})"
        )
        shortfall = -float(spill[hour].sum())
    msg = (
        f"dispatch infeasible: period {hour} is {what}; {len(hours)} period(s) affected: {hours.tolist()}; "
        f"unserved energy {shed.sum() * step_h:.1f} MWh, spilled {spill.sum() * step_h:.1f} MWh"
    )
    if abs(net_short[hour]) < _TOL_MW and shed[hour].sum() > _TOL_MW:
        msg += " (shedding and spilling cancel: a network limit, not capacity, is the cause)"
    return DispatchInfeasible(msg, hour, shortfall, shed, spill)


def _default_backend(case: GridCase) -> LightsimBackend:
    if "backend" not in case._cache:
        case._cache["backend"] = LightsimBackend(case.net)
    return case._cache["backend"]


def get_dispatcher(
    case: GridCase, n_periods: int, step_h: float = 1.0, backend: GridBackend | None = None
) -> Dispatcher:
    """Dispatcher cached on the case per (T, step_h, backend)."""
    key = ("dispatcher", n_periods, float(step_h), id(backend))
    if key not in case._cache:
        case._cache[key] = Dispatcher(case, n_periods, step_h, backend)
    return case._cache[key]


def park_demand_mw(
    case: GridCase, park_bus_p_mw: Mapping[int, np.ndarray] | np.ndarray | None, n_periods: int
) -> np.ndarray:
    """Park net load per bus (T, n_bus) in MW from a {bus: (T,)} mapping or an (n_bus, T) array."""
    out = np.zeros((n_periods, case.n_bus))
    if park_bus_p_mw is None:
        return out
    if isinstance(park_bus_p_mw, Mapping):
        for bus, p in park_bus_p_mw.items():
            p = np.asarray(p, dtype=float).ravel()
            if p.shape != (n_periods,):
                raise ValueError(f"park profile at bus {bus} has {p.size} values, expected {n_periods}")
            out[:, case.bus_position([bus])[0]] += p
        return out
    arr = np.asarray(park_bus_p_mw, dtype=float)
    if arr.shape != (case.n_bus, n_periods):
        raise ValueError(f"park array must be (n_bus={case.n_bus}, T={n_periods}), got {arr.shape}")
    return arr.T.copy()


def _n_periods(park_bus_p_mw, n_periods: int | None, step_h: float) -> int:
    if n_periods is not None:
        return int(n_periods)
    if isinstance(park_bus_p_mw, Mapping) and park_bus_p_mw:
        return int(np.asarray(next(iter(park_bus_p_mw.values()))).size)
    if isinstance(park_bus_p_mw, np.ndarray) and park_bus_p_mw.ndim == 2:
        return int(park_bus_p_mw.shape[1])
    return int(round(24.0 / step_h))


def renewable_availability(
    case: GridCase,
    n_periods: int,
    *,
    day_of_year: int = DEFAULT_DAY_OF_YEAR,
    weather_file: str = DEFAULT_WEATHER_FILE,
    step_h: float = 1.0,
) -> tuple[np.ndarray, pd.Index]:
    """Available power (T, n_renewables) of the case's plants from the weather file, and period starts."""
    from grid.renewables import availability_mw
    from grid.weather import load_weather

    key = ("availability", int(day_of_year), weather_file, int(n_periods), float(step_h))
    if key not in case._cache:
        weather = load_weather(weather_file, day_of_year, n_periods, step_h)
        kinds = [r.kind for r in case.renewables]
        caps = np.array([r.p_mw for r in case.renewables])
        case._cache[key] = (availability_mw(kinds, caps, weather, step_h), weather.index)
    avail, index = case._cache[key]
    return avail.copy(), index


def day_inputs(
    case: GridCase,
    park_mw: np.ndarray,
    *,
    day_of_year: int = DEFAULT_DAY_OF_YEAR,
    weather_file: str = DEFAULT_WEATHER_FILE,
    step_h: float = 1.0,
    renewable_avail_mw: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, pd.Index, np.ndarray]:
    """Bus demand and renewable availability of a day, as :func:`dispatch_day` dispatches them.

    Args:
        park_mw: (T, n_bus) park load (from :func:`park_demand_mw`).
        day_of_year, weather_file, step_h, renewable_avail_mw: as :func:`dispatch_day`.

    Returns:
        (demand (T, n_bus): park plus base load on the RTS load shape of ``day_of_year``,
        availability (T, n_renewables), period starts, the load profile).
    """
    n_t = park_mw.shape[0]
    profile = data.load_profile(day_of_year, n_t, step_h)
    base_p, _ = case.base_load_mw(profile)
    demand = park_mw.copy()
    np.add.at(demand.T, case.base_load_bus_position(), base_p.T)
    if renewable_avail_mw is None:
        avail, index = renewable_availability(
            case, n_t, day_of_year=day_of_year, weather_file=weather_file, step_h=step_h
        )
    else:
        avail = np.asarray(renewable_avail_mw, dtype=float).reshape(n_t, len(case.renewables))
        index = pd.RangeIndex(n_t, name="period")
    return demand, avail, index, profile


def dispatch_day(
    case: GridCase | str,
    park_bus_p_mw: Mapping[int, np.ndarray] | np.ndarray | None = None,
    *,
    day_of_year: int = DEFAULT_DAY_OF_YEAR,
    weather_file: str = DEFAULT_WEATHER_FILE,
    step_h: float = 1.0,
    n_periods: int | None = None,
    renewable_avail_mw: np.ndarray | None = None,
    allow_shedding: bool = False,
    ac_check: bool = False,
    backend: GridBackend | None = None,
    p_initial_mw: np.ndarray | None = None,
) -> DispatchResult:
    """Dispatch a day (T periods) of a case with parks added to bus demand.

    Args:
        case: a :class:`GridCase` or a case name for :func:`grid.cases.build_case`.
        park_bus_p_mw: park net load in MW, {pandapower bus: (T,)} or (n_bus, T); may be negative.
        day_of_year: first day, selects weather and the RTS load-shape season.
        weather_file: bundled weather file for :func:`grid.weather.load_weather`.
        step_h: period length in hours.
        n_periods: number of periods; by default inferred from the park profiles, else 24 / step_h.
        renewable_avail_mw: (T, n_renewables) availability overriding the weather model.
        allow_shedding: return a result with load shedding instead of raising (it is reported loudly).
        ac_check: also run the AC power flow of each period.
        backend: power-flow backend; default the case's :class:`grid.backend.LightsimBackend`.
        p_initial_mw: unit outputs before the first period (ramp limit of period 0).

    Returns:
        A :class:`DispatchResult`.

    Raises:
        DispatchInfeasible: demand cannot be met (hour and shortfall in the message).
    """
    if isinstance(case, str):
        case = build_case(case)
    n_t = _n_periods(park_bus_p_mw, n_periods, step_h)
    park = park_demand_mw(case, park_bus_p_mw, n_t)
    bad = [int(b) for b in case.bus_index[np.any(park != 0.0, axis=0)] if int(b) not in case.park_load_index]
    if bad:
        raise ValueError(
            f"park demand at buses {bad}, which are not park buses of {case.name!r} "
            f"({list(case.park_load_index)}); pass park_buses= to build_case"
        )
    demand, avail, index, profile = day_inputs(
        case, park, day_of_year=day_of_year, weather_file=weather_file, step_h=step_h,
        renewable_avail_mw=renewable_avail_mw,
    )
    disp = get_dispatcher(case, n_t, step_h, backend)
    sol = disp.solve(demand, avail, allow_shedding=allow_shedding, p_initial_mw=p_initial_mw)
    thermal, ren = sol["thermal_p_mw"], sol["renewable_p_mw"]
    inj = demand * -1.0 + sol["shed_mw"] - sol["spill_mw"]
    np.add.at(inj.T, disp.unit_bus, thermal.T)
    np.add.at(inj.T, disp.ren_bus, ren.T)
    flows = disp.backend.dc_flows_mw(inj)
    seg_cost = (sol["segment_mw"] * disp.seg_cost[None, :, :]).sum(axis=(1, 2)) * step_h
    co2_factor = np.array([u.co2_kg_per_mwh for u in case.thermal])
    result = DispatchResult(
        case_name=case.name,
        period_start=index,
        step_h=float(step_h),
        unit_names=[u.name for u in case.thermal],
        renewable_names=[r.name for r in case.renewables],
        branch_names=case.branch_names(),
        bus_index=case.bus_index,
        thermal_p_mw=thermal,
        unit_co2_kg_per_mwh=co2_factor,
        renewable_avail_mw=avail,
        renewable_p_mw=ren,
        demand_mw=demand,
        park_mw=park,
        flows_mw=flows,
        rating_mw=disp.rating_mw,
        cost=seg_cost,
        co2_kg=thermal @ co2_factor * step_h,
        shed_mw=sol["shed_mw"],
        spill_mw=sol["spill_mw"],
        objective=float(sol["objective"]),
        solve_time_s=float(sol["solve_time_s"]),
        load_profile=profile,
        notes=list(sol["notes"]),
    )
    if ac_check:
        result.ac = run_ac_check(case, result, disp.backend)
        bad_t = np.flatnonzero(~result.ac.converged)
        if len(bad_t):
            result.notes.append(
                f"AC power flow did not converge in periods {bad_t.tolist()}: "
                f"{result.ac.cause[int(bad_t[0])]}"
            )
    return result


def ac_setpoints(
    case: GridCase, result: DispatchResult
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Element set-points (gen P, sgen P, load P, load Q), rows per period, from a dispatch of ``case``.

    Shed load is removed from the park/base load of its bus in proportion; parks are at unity power factor.
    """
    net = case.net
    n_t = result.n_periods
    base_p_mw, base_q_mvar = case.base_load_mw(result.load_profile)
    gen_p = np.zeros((n_t, len(net.gen)))
    gen_pos = {idx: k for k, idx in enumerate(net.gen.index)}
    for g, unit in enumerate(case.thermal):
        if unit.element == "gen":
            gen_p[:, gen_pos[unit.element_index]] = result.thermal_p_mw[:, g]
    sgen_p = np.zeros((n_t, len(net.sgen)))
    sgen_pos = {idx: k for k, idx in enumerate(net.sgen.index)}
    for r, unit in enumerate(case.renewables):
        sgen_p[:, sgen_pos[unit.sgen_index]] = result.renewable_p_mw[:, r]
    load_pos = {idx: k for k, idx in enumerate(net.load.index)}
    load_p = np.zeros((n_t, len(net.load)))
    load_q = np.zeros((n_t, len(net.load)))
    base_cols = [load_pos[i] for i in case.base_load_index]
    load_p[:, base_cols] = base_p_mw
    load_q[:, base_cols] = base_q_mvar
    for bus, idx in case.park_load_index.items():
        load_p[:, load_pos[idx]] = result.park_mw[:, case.bus_position([bus])[0]]
    if result.shed_mw.any():
        bus_of_load = case.bus_position(net.load.bus)
        bus_total = np.zeros((n_t, case.n_bus))
        np.add.at(bus_total.T, bus_of_load, load_p.T)
        frac = np.divide(result.shed_mw, bus_total, out=np.zeros_like(bus_total), where=bus_total > _TOL_MW)
        keep = 1.0 - frac[:, bus_of_load]
        load_p, load_q = load_p * keep, load_q * keep
    return gen_p, sgen_p, load_p, load_q


def run_ac_check(case: GridCase, result: DispatchResult, backend: GridBackend | None = None) -> AcCheck:
    """AC power flow of every dispatched period through the backend (default: the case's LightsimBackend)."""
    backend = backend if backend is not None else _default_backend(case)
    return backend.ac_check(*ac_setpoints(case, result))
