"""Unit commitment data, merit-order market clearing and the unit-commitment MILP oracle (seed 000).

The supply side of the supply/load game (``learners.market_env``) is a set of thermal units with the
merit-order data of ``grid/`` (cost, CO2, p_min, ramp; ``docs/grid.md`` §1.1) plus the unit-commitment
data of :data:`UC_DATA` (start-up cost, no-load cost, minimum up/down times; ``docs/market.md`` §1).

* :func:`clear_market`: one period's clearing from supply offers (segment prices) and the load's bid
  (a price-taking quantity). Committed units first run at p_min, then offered segments fill the rest
  of the demand in price order; the price is the offer of the marginal segment (uniform pricing).
* :func:`solve_uc`: the oracle, the perfect-information optimum of a day, a MILP (HiGHS) over T periods
  with binary commitment, start-up and shut-down, minimum up/down times, ramps, and the load's
  adjustment as a bounded variable that follows the same inertia dynamics as the game.
* :func:`day_cost`: the cost of any schedule, the one number oracle and learners are compared on.
* :func:`settle_period`: who pays whom in one cleared period (uniform price): each unit's profit
  (revenue - fuel - no-load - start-up - surplus and non-performance charges) and the load's payment;
  the rewards of the profit-seeking game (``docs/market.md`` §2.4).

Units: MW, MWh, $, hours; period length ``step_h``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

import grid.data as data
from grid.cases import GridCase, ThermalUnit

__all__ = [
    "CostWeights", "ClearingResult", "MarketUnit", "UCData", "UCResult", "UC_DATA", "check_uc_schedule",
    "Settlement", "clear_market", "day_cost", "market_units", "market_units_from_case", "settle_period", "solve_uc",
]

_INF = highspy.kHighsInf


@dataclass(frozen=True)
class UCData:
    """Unit-commitment data of one technology (sources in ``docs/market.md`` §1).

    Attributes:
        startup_cost_per_mw: start-up cost per MW of capacity ($/MW), warm start.
        no_load_frac: no-load fuel as a fraction of full-load fuel per hour; the no-load cost is
            ``no_load_frac * p_max_mw * cost_per_mwh`` $/h while committed.
        min_up_h: minimum up time (h).
        min_down_h: minimum down time (h).
    """

    startup_cost_per_mw: float
    no_load_frac: float
    min_up_h: float
    min_down_h: float


# Start-up costs: Lew et al. (2013), Western Wind and Solar Integration Study Phase 2, NREL/TP-5500-55588,
# Table 7 (2011 $/MW of capacity; built on Kumar et al. 2012, NREL/SR-5500-55433): coal 124, gas CC 81,
# steam 86 (our oil steam), nuclear 155 (transcribed as NREL's ReEDS-2.0 documents them,
# inputs/plant_characteristics/README.md). Minimum up/down times from the IEEE RTS-96 (Grigg et al.
# 1999, Table 7: U155 coal 8/8 h, U100 oil steam 8/8 h); gas CC 4/4 h and the nuclear, hydro, import
# times are assumptions (docs/market.md §1). No-load fraction 10 %: assumption (intercept of a
# linearised input-output curve).
UC_DATA: dict[str, UCData] = {
    "nuclear": UCData(155.0, 0.10, 24.0, 24.0),
    "coal": UCData(124.0, 0.10, 8.0, 8.0),
    "gas_cc": UCData(81.0, 0.10, 4.0, 4.0),
    "gas_cc_new": UCData(81.0, 0.10, 4.0, 4.0),
    "gas_cc_old": UCData(81.0, 0.10, 4.0, 4.0),
    "oil_steam": UCData(86.0, 0.10, 8.0, 8.0),
    "hydro": UCData(0.0, 0.0, 0.0, 0.0),
    "import": UCData(0.0, 0.0, 0.0, 0.0),
}


@dataclass(frozen=True)
class MarketUnit:
    """A thermal unit with its commitment data.

    Attributes:
        name: label.
        tech: technology key (``grid.data.FUELS`` / :data:`UC_DATA`).
        p_max_mw, p_min_mw: output limits when committed.
        ramp_mw_per_h: ramp limit, both directions.
        seg_width_mw: (S,) piecewise-linear cost segment widths (sum = p_max).
        seg_cost_per_mwh: (S,) rising marginal costs of the segments.
        co2_kg_per_mwh: direct emissions.
        startup_cost: $ per start.
        no_load_cost_per_h: $/h while committed.
        min_up_h, min_down_h: minimum up/down times (h).
        initially_on: committed before the first period (and long enough to change state).
    """

    name: str
    tech: str
    p_max_mw: float
    p_min_mw: float
    ramp_mw_per_h: float
    seg_width_mw: tuple[float, ...]
    seg_cost_per_mwh: tuple[float, ...]
    co2_kg_per_mwh: float
    startup_cost: float
    no_load_cost_per_h: float
    min_up_h: float
    min_down_h: float
    initially_on: bool = False

    def min_up_periods(self, step_h: float) -> int:
        """Minimum up time in periods (at least 1)."""
        return max(1, math.ceil(self.min_up_h / step_h - 1e-9))

    def min_down_periods(self, step_h: float) -> int:
        """Minimum down time in periods (at least 1)."""
        return max(1, math.ceil(self.min_down_h / step_h - 1e-9))

    def energy_cost(self, p_mw: float, step_h: float) -> float:
        """Fuel cost ($) of producing ``p_mw`` for one period on the convex segment curve."""
        left, cost = float(p_mw), 0.0
        for w, c in zip(self.seg_width_mw, self.seg_cost_per_mwh, strict=True):
            take = min(max(left, 0.0), w)
            cost += take * c
            left -= take
        return cost * step_h


def _from_thermal(u: ThermalUnit, initially_on: bool) -> MarketUnit:
    uc = UC_DATA.get(u.fuel, UCData(0.0, 0.0, 0.0, 0.0))
    widths, costs = u.segments()
    return MarketUnit(u.name, u.fuel, u.p_max_mw, u.p_min_mw, u.ramp_mw_per_h, tuple(map(float, widths)),
                      tuple(map(float, costs)), u.co2_kg_per_mwh, uc.startup_cost_per_mw * u.p_max_mw,
                      uc.no_load_frac * u.p_max_mw * u.cost_per_mwh, uc.min_up_h, uc.min_down_h, initially_on)


def market_units(spec: Sequence[tuple[str, str, float]], *, initially_on: Sequence[bool] | None = None
                 ) -> tuple[MarketUnit, ...]:
    """Market units from ``(name, technology, p_max_mw)`` triples with the ``grid.data.FUELS`` data.

    Raises:
        KeyError: unknown technology.
    """
    out = []
    for i, (name, tech, p_max) in enumerate(spec):
        f = data.FUELS[tech]
        tu = ThermalUnit(name, tech, -1, "gen", i, float(p_max), f.p_min_frac * p_max, f.ramp_frac_per_h * p_max,
                         f.cost_per_mwh, f.co2_kg_per_mwh, f.must_run)
        out.append(_from_thermal(tu, bool(initially_on[i]) if initially_on is not None else f.must_run))
    return tuple(out)


def market_units_from_case(case: GridCase) -> tuple[MarketUnit, ...]:
    """The thermal units of a ``GridCase`` (``grid.cases.build_case``) with commitment data.

    Units with ``p_max_mw == 0`` (synchronous condensers) are left out; must-run units start committed.
    """
    return tuple(_from_thermal(u, u.must_run) for u in case.thermal if u.p_max_mw > 0)


@dataclass(frozen=True)
class CostWeights:
    """Penalties of the day cost (``docs/market.md`` §3).

    Attributes:
        shortage_per_mwh: unserved energy; FERC Order 831 offer cap (1000 $/MWh).
        surplus_per_mwh: generation above demand that must be spilled (assumption).
        shift_per_mwh: net shifted energy left unserved/overserved at the end of the day (assumption:
            the flexible load's energy must be delivered within the day).
        price_cap_per_mwh: clearing price in a period with shortage.
        nonperformance_per_mwh: charge on a supplier per MWh of shortage, shared among its offline units
            by capacity (every offline unit, including one held off by its minimum down time; in the game
            the operator has already started every offline unit that could start, so a shortage falls on
            units that could not) (the profit-seeking game's deterrent against physical withholding;
            the initial performance payment rate of ISO New England's Pay-for-Performance, 2,000 $/MWh
            from 2018, is an order of magnitude for it; ``docs/market.md`` §2.4). A transfer out of the
            game: not in :func:`day_cost`.
    """

    shortage_per_mwh: float = 1000.0
    surplus_per_mwh: float = 200.0
    shift_per_mwh: float = 100.0
    price_cap_per_mwh: float = 1000.0
    nonperformance_per_mwh: float = 2000.0


@dataclass
class ClearingResult:
    """One period's clearing.

    Attributes:
        price_per_mwh: uniform clearing price.
        p_mw: (n_units,) dispatch.
        shortage_mw: demand not met.
        surplus_mw: committed minimum output above demand.
        marginal_unit: index of the price-setting unit (-1 with shortage or surplus).
    """

    price_per_mwh: float
    p_mw: np.ndarray
    shortage_mw: float
    surplus_mw: float
    marginal_unit: int


def clear_market(units: Sequence[MarketUnit], on: np.ndarray, demand_mw: float,
                 offer_markup: np.ndarray | None = None, cw: CostWeights | None = None) -> ClearingResult:
    """Merit-order clearing of one period (no network).

    Committed units run at least at p_min (their minimum output is not priced); every committed unit
    offers its cost segments at ``cost * (1 + markup)``, the offers above p_min are stacked in price
    order until the load's bid quantity ``demand_mw`` is met. The price is the offer of the last segment
    taken. Demand above all committed capacity: shortage at the price cap; demand below the committed
    minimum: surplus, priced at the cheapest committed offer.

    Args:
        units: the units.
        on: (n_units,) commitment (bool).
        demand_mw: the load's bid quantity (price-taking).
        offer_markup: (n_units,) markup >= 0 on each unit's segment costs (default 0: cost offers).
        cw: penalties and price cap.

    Returns:
        The clearing.

    Raises:
        ValueError: shapes or a negative markup.
    """
    cw = cw or CostWeights()
    n = len(units)
    on = np.asarray(on, dtype=bool)
    mk = np.zeros(n) if offer_markup is None else np.asarray(offer_markup, dtype=float)
    if on.shape != (n,) or mk.shape != (n,):
        raise ValueError(f"on and offer_markup must have shape ({n},)")
    if np.any(mk < 0):
        raise ValueError("offer markups must be >= 0")
    p = np.array([u.p_min_mw if o else 0.0 for u, o in zip(units, on, strict=True)])
    need = float(demand_mw) - p.sum()
    if need < -1e-9:
        cheapest = min((u.seg_cost_per_mwh[0] * (1 + m) for u, o, m in zip(units, on, mk, strict=True) if o),
                       default=0.0)
        return ClearingResult(float(cheapest), p, 0.0, -need, -1)
    offers = []  # (price, unit, quantity above p_min in this segment)
    for i, (u, o) in enumerate(zip(units, on, strict=True)):
        if not o:
            continue
        lo = 0.0
        for w, c in zip(u.seg_width_mw, u.seg_cost_per_mwh, strict=True):
            q = max(0.0, min(lo + w, u.p_max_mw) - max(lo, u.p_min_mw))
            if q > 0:
                offers.append((c * (1 + mk[i]), i, q))
            lo += w
    offers.sort(key=lambda x: (x[0], x[1]))
    price, marginal = 0.0, -1
    for c, i, q in offers:
        if need <= 1e-9:
            break
        take = min(q, need)
        p[i] += take
        need -= take
        price, marginal = c, i
    if need > 1e-9:
        return ClearingResult(cw.price_cap_per_mwh, p, need, 0.0, -1)
    if marginal < 0:  # demand exactly at committed minimum
        price = min((o[0] for o in offers), default=0.0)
    return ClearingResult(float(price), p, 0.0, 0.0, marginal)


def day_cost(units: Sequence[MarketUnit], on: np.ndarray, p_mw: np.ndarray, shortage_mw: np.ndarray,
             surplus_mw: np.ndarray, adjustment_mw: np.ndarray, step_h: float, cw: CostWeights | None = None,
             initially_on: np.ndarray | None = None) -> dict[str, float]:
    """Cost of a schedule ($): fuel on the segment curves, no-load, start-up, penalties.

    Args:
        units: the units.
        on: (T, n_units) commitment.
        p_mw: (T, n_units) output.
        shortage_mw, surplus_mw: (T,) unmet demand and spilled generation.
        adjustment_mw: (T,) the load's realised adjustment (net shifted energy is penalised).
        step_h: period length (h).
        cw: penalties.
        initially_on: (n_units,) commitment before the first period (default: the units' own).

    Returns:
        ``fuel``, ``no_load``, ``startup``, ``shortage``, ``surplus``, ``shift``, ``total`` in $, and
        ``shortage_mwh``, ``surplus_mwh``, ``starts``.
    """
    cw = cw or CostWeights()
    on = np.asarray(on, dtype=bool)
    p_mw = np.asarray(p_mw, dtype=float)
    init = np.array([u.initially_on for u in units]) if initially_on is None else np.asarray(initially_on, bool)
    starts = np.diff(np.vstack([init[None, :], on]).astype(int), axis=0) > 0
    fuel = sum(u.energy_cost(p_mw[t, g], step_h) for t in range(on.shape[0]) for g, u in enumerate(units))
    no_load = float((on * np.array([u.no_load_cost_per_h for u in units])).sum() * step_h)
    startup = float((starts * np.array([u.startup_cost for u in units])).sum())
    short = float(np.sum(shortage_mw) * step_h)
    surp = float(np.sum(surplus_mw) * step_h)
    shift = abs(float(np.sum(adjustment_mw) * step_h))
    out = {"fuel": float(fuel), "no_load": no_load, "startup": startup, "shortage": cw.shortage_per_mwh * short,
           "surplus": cw.surplus_per_mwh * surp, "shift": cw.shift_per_mwh * shift}
    out["total"] = sum(out.values())
    out.update(shortage_mwh=short, surplus_mwh=surp, starts=float(starts.sum()))
    return out


@dataclass
class Settlement:
    """One period's money flows ($) at the uniform clearing price.

    Attributes:
        revenue, cost, surplus_charge, nonperformance_charge, profit: (n_units,) per unit;
            ``profit = revenue - cost - surplus_charge - nonperformance_charge``; ``cost`` = fuel +
            no-load + start-up.
        load_payment: price x served energy.
        load_shortage_cost: ``shortage_per_mwh`` x unserved energy (the load's value of lost load).
    """

    revenue: np.ndarray
    cost: np.ndarray
    surplus_charge: np.ndarray
    nonperformance_charge: np.ndarray
    profit: np.ndarray
    load_payment: float
    load_shortage_cost: float


def settle_period(units: Sequence[MarketUnit], was_on: np.ndarray, on: np.ndarray, clr: ClearingResult,
                  demand_mw: float, step_h: float, cw: CostWeights | None = None) -> Settlement:
    """Settle one cleared period (uniform pricing; ``docs/market.md`` §2.4).

    * served energy ``E = (demand - shortage) dt``; unit i is paid ``price * p_i * min(1, served / sum p) dt``
      (with a surplus, the committed minimum output above demand is spilled and not paid, pro rata);
    * unit i's cost: fuel on its segment curve + no-load while committed + start-up if it started;
    * surplus charge: ``surplus_per_mwh * surplus dt`` shared pro rata to output (the units that
      over-committed);
    * non-performance charge: ``nonperformance_per_mwh * shortage dt`` shared among the offline units
      in proportion to their capacity (every unit's capacity is obligated, as in ISO New England's
      Pay-for-Performance, and an offline unit delivers nothing); none when every unit runs;
    * the load pays ``price * E`` and bears ``shortage_per_mwh * shortage dt``.

    Identity (tested): ``load_payment + load_shortage_cost - sum(profit) - sum(nonperformance_charge)``
    equals the period's :func:`day_cost` total (payments are transfers; the non-performance charges
    leave the game).

    Args:
        units: the units.
        was_on: (n,) commitment before the period (for start-ups).
        on: (n,) commitment in the period.
        clr: the period's clearing (:func:`clear_market`).
        demand_mw: the load's bid quantity (MW).
        step_h: period length (h).
        cw: penalties.

    Returns:
        The settlement.
    """
    cw = cw or CostWeights()
    on, was_on = np.asarray(on, bool), np.asarray(was_on, bool)
    p = np.asarray(clr.p_mw, float)
    total = float(p.sum())
    served = max(0.0, float(demand_mw) - clr.shortage_mw)
    paid_frac = min(1.0, served / total) if total > 1e-9 else 0.0
    revenue = clr.price_per_mwh * p * paid_frac * step_h
    cost = np.array([u.energy_cost(p[i], step_h) + (u.no_load_cost_per_h * step_h if on[i] else 0.0)
                     + (u.startup_cost if on[i] and not was_on[i] else 0.0) for i, u in enumerate(units)])
    surplus_charge = (cw.surplus_per_mwh * clr.surplus_mw * step_h * p / total) if total > 1e-9 and clr.surplus_mw > 0 \
        else np.zeros(len(units))
    nonperf = np.zeros(len(units))
    if clr.shortage_mw > 0:
        cap = np.array([u.p_max_mw for u in units]) * ~on
        if cap.sum() > 0:
            nonperf = cw.nonperformance_per_mwh * clr.shortage_mw * step_h * cap / cap.sum()
    return Settlement(revenue, cost, surplus_charge, nonperf, revenue - cost - surplus_charge - nonperf,
                      float(clr.price_per_mwh * served * step_h), float(cw.shortage_per_mwh * clr.shortage_mw * step_h))


def check_uc_schedule(units: Sequence[MarketUnit], on: np.ndarray, p_mw: np.ndarray, step_h: float,
                      tol: float = 1e-6) -> list[str]:
    """Violations of p_min/p_max, ramps and minimum up/down times in a schedule (empty list: feasible).

    The state before the first period is the units' ``initially_on``, held long enough to change.
    Ramps apply between consecutive committed periods (start-up and shut-down go through p_min).
    """
    on = np.asarray(on, dtype=bool)
    p_mw = np.asarray(p_mw, dtype=float)
    bad = []
    for g, u in enumerate(units):
        for t in range(on.shape[0]):
            if on[t, g] and not (u.p_min_mw - tol <= p_mw[t, g] <= u.p_max_mw + tol):
                bad.append(f"{u.name} t={t}: output {p_mw[t, g]:.3f} outside [{u.p_min_mw}, {u.p_max_mw}]")
            if not on[t, g] and abs(p_mw[t, g]) > tol:
                bad.append(f"{u.name} t={t}: output {p_mw[t, g]:.3f} while off")
            if t and on[t, g] and on[t - 1, g] and abs(p_mw[t, g] - p_mw[t - 1, g]) > u.ramp_mw_per_h * step_h + tol:
                bad.append(f"{u.name} t={t}: ramp {p_mw[t, g] - p_mw[t - 1, g]:.3f} MW")
        seq = np.r_[u.initially_on, on[:, g]].astype(int)
        changes = np.flatnonzero(np.diff(seq)) + 1  # index in seq where a new run starts
        for k, s in enumerate(changes):
            end = changes[k + 1] if k + 1 < len(changes) else None
            if end is None:
                continue  # the last run may be cut by the horizon
            run = end - s
            need = u.min_up_periods(step_h) if seq[s] else u.min_down_periods(step_h)
            if run < need:
                bad.append(f"{u.name}: {'up' if seq[s] else 'down'} run of {run} periods from t={s - 1} < {need}")
    return bad


@dataclass
class UCResult:
    """The oracle's day.

    Attributes:
        on: (T, n_units) commitment; p_mw: (T, n_units) output.
        adjustment_mw: (T,) realised load adjustment; command_mw: (T,) the command producing it.
        load_mw: (T,) served-plus-unserved load = uncontrolled load + adjustment.
        shortage_mw, surplus_mw: (T,) slacks.
        price_per_mwh: (T,) merit-order clearing prices of the schedule at cost offers.
        cost: :func:`day_cost` breakdown; objective: the MILP objective ($); mip_gap: HiGHS gap.
    """

    on: np.ndarray
    p_mw: np.ndarray
    adjustment_mw: np.ndarray
    command_mw: np.ndarray
    load_mw: np.ndarray
    shortage_mw: np.ndarray
    surplus_mw: np.ndarray
    price_per_mwh: np.ndarray
    cost: dict[str, float] = field(default_factory=dict)
    objective: float = 0.0
    mip_gap: float = 0.0


class _Rows:
    """COO row builder for a HiGHS model."""

    def __init__(self) -> None:
        self.r: list[int] = []
        self.c: list[int] = []
        self.v: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def add(self, cols: Sequence[int], vals: Sequence[float], lo: float, hi: float) -> None:
        k = len(self.lo)
        self.r += [k] * len(cols)
        self.c += list(cols)
        self.v += list(vals)
        self.lo.append(lo)
        self.hi.append(hi)


def solve_uc(units: Sequence[MarketUnit], load_mw: np.ndarray, step_h: float, *, adj_lo_mw: np.ndarray,
             adj_hi_mw: np.ndarray, inertia: float = 0.0, cw: CostWeights | None = None,
             time_limit_s: float = 30.0, mip_rel_gap: float = 1e-4) -> UCResult:
    """The perfect-information unit-commitment optimum of one day (MILP, HiGHS).

    Minimises :func:`day_cost` over commitment ``u``, start-up ``y`` and shut-down ``z`` (binary u,
    continuous y, z in [0, 1] which the equalities make integral), segment outputs, slacks and the load's
    command ``c_t in [adj_lo_t, adj_hi_t]``; the realised adjustment follows the game's inertia,
    ``a_t = rho a_{t-1} + (1 - rho) c_t`` with ``a_0 = 0``, and must stay within the same bounds:

        min  sum_t dt [sum_{g,s} c_gs p_gst + NL_g u_gt + pi_short s_t + pi_surp v_t] + sum_gt SU_g y_gt
             + pi_shift |sum_t a_t dt|
        s.t. sum_g P_gt + s_t - v_t = L_t + a_t;  p_min u <= P <= p_max u;  |P_gt - P_g,t-1| <= R dt
             y_gt - z_gt = u_gt - u_g,t-1;  sum_{k=t-UT+1..t} y_gk <= u_gt;  sum_{k=t-DT+1..t} z_gk <= 1 - u_gt

    (Carrion & Arroyo 2006 three-binary formulation; ramps apply to committed periods, start-up and
    shut-down pass through p_min.)

    Args:
        units: the units; ``initially_on`` is the state before period 0, held long enough to change.
        load_mw: (T,) uncontrolled load (known exactly: perfect information).
        step_h: period length (h).
        adj_lo_mw, adj_hi_mw: (T,) bounds of the load adjustment (negative: reduction).
        inertia: rho in [0, 1) of the load's adjustment dynamics.
        cw: penalties.
        time_limit_s, mip_rel_gap: HiGHS options.

    Returns:
        The optimal day.

    Raises:
        ValueError: shapes, bounds or inertia out of range.
        RuntimeError: HiGHS found no feasible solution (cannot happen: the slacks keep it feasible).
    """
    cw = cw or CostWeights()
    L = np.asarray(load_mw, dtype=float)
    T, G = len(L), len(units)
    lo_a, hi_a = np.asarray(adj_lo_mw, float), np.asarray(adj_hi_mw, float)
    if lo_a.shape != (T,) or hi_a.shape != (T,) or np.any(lo_a > hi_a + 1e-9):
        raise ValueError("adj_lo_mw/adj_hi_mw must be (T,) arrays with lo <= hi")
    if not 0.0 <= inertia < 1.0:
        raise ValueError(f"inertia must be in [0, 1), got {inertia}")
    S = max(len(u.seg_width_mw) for u in units)
    # column layout, per period t: u[G], y[G], z[G], p[G*S], then per t: a, c, s, v; then shift m+, m-
    per = 3 * G + G * S
    base_load = T * per
    nc = base_load + 4 * T + 2

    def U(t: int, g: int) -> int: return t * per + g
    def Y(t: int, g: int) -> int: return t * per + G + g
    def Z(t: int, g: int) -> int: return t * per + 2 * G + g
    def P(t: int, g: int, s: int) -> int: return t * per + 3 * G + g * S + s
    def A(t: int) -> int: return base_load + 4 * t
    def C(t: int) -> int: return base_load + 4 * t + 1
    def SH(t: int) -> int: return base_load + 4 * t + 2
    def SP(t: int) -> int: return base_load + 4 * t + 3

    cost = np.zeros(nc)
    lo = np.zeros(nc)
    hi = np.ones(nc)
    integ = np.zeros(nc, dtype=int)
    for t in range(T):
        for g, u in enumerate(units):
            cost[U(t, g)] = u.no_load_cost_per_h * step_h
            cost[Y(t, g)] = u.startup_cost
            integ[U(t, g)] = 1
            for s in range(S):
                w = u.seg_width_mw[s] if s < len(u.seg_width_mw) else 0.0
                hi[P(t, g, s)] = w
                cost[P(t, g, s)] = (u.seg_cost_per_mwh[s] if s < len(u.seg_cost_per_mwh) else 0.0) * step_h
        lo[A(t)], hi[A(t)] = lo_a[t], hi_a[t]
        lo[C(t)], hi[C(t)] = lo_a[t], hi_a[t]
        hi[SH(t)] = hi[SP(t)] = _INF
        cost[SH(t)] = cw.shortage_per_mwh * step_h
        cost[SP(t)] = cw.surplus_per_mwh * step_h
    hi[-2:] = _INF
    cost[-2:] = cw.shift_per_mwh
    rows = _Rows()
    for t in range(T):
        # balance: sum p + s - v - a = L
        cols = [P(t, g, s) for g in range(G) for s in range(S)]
        rows.add(cols + [SH(t), SP(t), A(t)], [1.0] * len(cols) + [1.0, -1.0, -1.0], L[t], L[t])
        # inertia: a_t - rho a_{t-1} - (1 - rho) c_t = 0
        if t:
            rows.add([A(t), A(t - 1), C(t)], [1.0, -inertia, -(1 - inertia)], 0.0, 0.0)
        else:
            rows.add([A(t), C(t)], [1.0, -(1 - inertia)], 0.0, 0.0)
        for g, u in enumerate(units):
            ps = [P(t, g, s) for s in range(S)]
            rows.add(ps + [U(t, g)], [1.0] * S + [-u.p_max_mw], -_INF, 0.0)
            rows.add(ps + [U(t, g)], [1.0] * S + [-u.p_min_mw], 0.0, _INF)
            prev_u = [U(t - 1, g)] if t else []
            rhs = 0.0 if t else (1.0 if u.initially_on else 0.0)
            # y - z - u_t + u_{t-1} = 0
            rows.add([Y(t, g), Z(t, g), U(t, g)] + prev_u, [1.0, -1.0, -1.0] + [1.0] * len(prev_u), -rhs, -rhs)
            if t:
                # ramp between committed periods: |P_t - P_{t-1}| <= R dt + p_max (2 - u_t - u_{t-1})
                big = u.p_max_mw
                r = u.ramp_mw_per_h * step_h
                pp = [P(t - 1, g, s) for s in range(S)]
                rows.add(ps + pp + [U(t, g), U(t - 1, g)], [1.0] * S + [-1.0] * S + [big, big], -_INF, r + 2 * big)
                rows.add(pp + ps + [U(t, g), U(t - 1, g)], [1.0] * S + [-1.0] * S + [big, big], -_INF, r + 2 * big)
            ut, dt_ = u.min_up_periods(step_h), u.min_down_periods(step_h)
            ks = range(max(0, t - ut + 1), t + 1)
            rows.add([Y(k, g) for k in ks] + [U(t, g)], [1.0] * len(ks) + [-1.0], -_INF, 0.0)
            ks = range(max(0, t - dt_ + 1), t + 1)
            rows.add([Z(k, g) for k in ks] + [U(t, g)], [1.0] * len(ks) + [1.0], -_INF, 1.0)
    # net shifted energy: sum_t a_t dt = m+ - m-
    rows.add([A(t) for t in range(T)] + [nc - 2, nc - 1], [step_h] * T + [-1.0, 1.0], 0.0, 0.0)
    a = sp.csc_matrix((rows.v, (rows.r, rows.c)), shape=(len(rows.lo), nc))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = nc, len(rows.lo)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lo, hi
    lp.row_lower_, lp.row_upper_ = np.array(rows.lo), np.array(rows.hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integ]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    h.run()
    if h.getInfo().primal_solution_status != 2:  # 2 = feasible
        raise RuntimeError(f"unit commitment: no feasible solution ({h.modelStatusToString(h.getModelStatus())})")
    x = np.asarray(h.getSolution().col_value)
    on = np.array([[x[U(t, g)] > 0.5 for g in range(G)] for t in range(T)])
    p = np.array([[sum(x[P(t, g, s)] for s in range(S)) for g in range(G)] for t in range(T)])
    p = np.where(on, p, 0.0)
    adj = np.array([x[A(t)] for t in range(T)])
    cmd = np.array([x[C(t)] for t in range(T)])
    short = np.array([x[SH(t)] for t in range(T)])
    surp = np.array([x[SP(t)] for t in range(T)])
    prices = np.array([clear_market(units, on[t], L[t] + adj[t], cw=cw).price_per_mwh for t in range(T)])
    res = UCResult(on, p, adj, cmd, L + adj, short, surp, prices)
    res.cost = day_cost(units, on, p, short, surp, adj, step_h, cw)
    res.objective = float(h.getInfo().objective_function_value)
    res.mip_gap = float(h.getInfo().mip_gap)
    return res
