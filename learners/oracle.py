"""Perfect-foresight optimum of a multi-energy day: one LP/MILP in HiGHS (``highspy``).

The same devices and balances as :class:`aggregation.multi_energy.MultiEnergySim`, per period t::

    min  sum_t [ c_buy,t*P_buy - c_sell,t*P_sell + c_gas*P_gt/eta_e + OM_t + pen*(U_e + X_e + U_h) ] * dt + carbon
    s.t. P_gt + P_dis - P_ch + W + PV + P_buy - P_sell + U_e - X_e = L_e + P_hp           (electric)
         Q_gt + COP*P_hp + Q_dis - Q_ch + U_h - V_h = L_h                                 (heat)
         Q_gt <= chr*P_gt, Q_gt <= Q_max;  W <= W_avail, PV <= PV_avail;  grid, power limits
         E_{t+1} = E_t + eta_ch,t*P_ch*dt - P_dis*dt/eta_dis,t;  E_min <= E <= E_max;  E_T >= E_0
         ramp bands (seed 002 §3.1 ④), carbon (seed 001 §2.3)

Nonconvex pieces and the error they cause:

* **Quadratic fuel cost** a*P^2 + b*P + c (seed 002 §3.3 ⑤) is convex; it enters as the epigraph of
  ``n_tangents`` tangents (an LP, so the ramp binaries stay a MILP — HiGHS has no MIQP). The
  under-estimate is at most a*(h/2)^2 per hour with h the tangent spacing: 0.0016 $/h for the seed's
  turbine with 8 tangents. The reported cost is always the simulator's, with the exact quadratic.
* **Ramp bands** (rate depends on the previous output's band) are modelled exactly with one binary
  per band and period in disjunctive form (``ramp_model="milp"``, default); band edges are closed on the left and open on
  the right by 1e-3 kW. ``"inner"`` uses the smallest rates of all bands (an LP whose schedules are
  always feasible: an upper bound on the optimum), ``"outer"`` the largest (an LP relaxation: a lower
  bound; its schedules may be clipped by the simulator).
* **SOC-dependent efficiency** (seed 002 §3.1 ③) makes the storage dynamics bilinear; it is
  handled by a fixed point: solve with eta_t frozen, recompute eta_t = f(SOC_t) on the solution, and
  re-solve (``eta_iterations`` times, default 3; the re-solves keep the first solve's integer
  decisions, so they are LPs). When it has converged the simulator, which
  evaluates eta at the start-of-period SOC, reproduces the schedule exactly; the remaining mismatch
  is reported as ``OracleResult.replay_gap`` (simulated minus planned cost).
* **Start/stop** (``allow_shutdown``): one on/off binary per period, big-M relaxation of the running
  ramps after an off period, start capped at max(P_min, up_0*dt), stop from P <= P_min + down-rate;
  exact w.r.t. the simulator's rules.
* Simultaneous purchase and sale is excluded by one binary per period where the sale price exceeds
  the purchase price (elsewhere it is never profitable).
* Simultaneous charge and discharge is allowed in the LP (never profitable with losses unless energy
  must be dumped); the simulator applies the net power.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd

from aggregation.kinds.battery import efficiency_factor
from aggregation.multi_energy import MultiEnergySim, SiteConfig, SiteData, summarise

_INF = highspy.kHighsInf
_EDGE_EPS_KW = 1e-3


class _Builder:
    """Column/row collector for one LP/MILP (row-wise matrix)."""

    def __init__(self) -> None:
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.integ: list[np.ndarray] = []
        self.n = 0
        self.r_lo: list[float] = []
        self.r_hi: list[float] = []
        self.r_start: list[int] = [0]
        self.r_idx: list[int] = []
        self.r_val: list[float] = []
        self.extra_cost: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, size: int, lb: float | np.ndarray = 0.0, ub: float | np.ndarray = _INF,
            cost: float | np.ndarray = 0.0, integer: bool = False) -> np.ndarray:
        idx = np.arange(self.n, self.n + size)
        self.lb.append(np.broadcast_to(np.asarray(lb, float), (size,)).copy())
        self.ub.append(np.broadcast_to(np.asarray(ub, float), (size,)).copy())
        self.c.append(np.broadcast_to(np.asarray(cost, float), (size,)).copy())
        self.integ.append(np.full(size, 1 if integer else 0, dtype=np.int32))
        self.n += size
        return idx

    def add_cost(self, idx: np.ndarray, val: np.ndarray) -> None:
        """Add ``val`` to the objective coefficients of columns ``idx``."""
        self.extra_cost.append((np.asarray(idx), np.asarray(val, float)))

    def row(self, idx: list[int] | np.ndarray, val: list[float] | np.ndarray, lo: float, hi: float) -> None:
        self.r_idx.extend(int(i) for i in idx)
        self.r_val.extend(float(v) for v in val)
        self.r_start.append(len(self.r_idx))
        self.r_lo.append(lo)
        self.r_hi.append(hi)

    def solve(self, time_limit_s: float, mip_gap: float,
              fix_int: np.ndarray | None = None) -> tuple[str, float, np.ndarray, np.ndarray]:
        """Solve; ``fix_int`` (values of the integer columns) turns the MILP into an LP with them fixed.

        Returns (status, objective, x, values of the integer columns).
        """
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = len(self.r_lo)
        cost = np.concatenate(self.c)
        for idx, val in self.extra_cost:
            np.add.at(cost, idx, val)
        lp.col_cost_ = cost
        lower, upper = np.concatenate(self.lb), np.concatenate(self.ub)
        integ = np.concatenate(self.integ).astype(bool)
        if fix_int is not None and integ.any():
            lower[integ] = upper[integ] = fix_int
            integ[:] = False
        lp.col_lower_ = lower
        lp.col_upper_ = upper
        lp.row_lower_ = np.array(self.r_lo)
        lp.row_upper_ = np.array(self.r_hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(self.r_start, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(self.r_idx, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(self.r_val)
        if integ.any():
            lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integ]
        h.passModel(lp)
        h.run()
        status = h.modelStatusToString(h.getModelStatus())
        x = np.array(h.getSolution().col_value) if status == "Optimal" else np.full(self.n, np.nan)
        all_int = np.concatenate(self.integ).astype(bool)
        return status, float(h.getInfo().objective_function_value), x, np.round(x[all_int])


@dataclass
class Plan:
    """Solution of one planning problem over ``T`` periods.

    Attributes:
        schedule_kw: (T, k) set-points in ``cfg.controls`` order (generation sign; heat pump input).
        objective: optimal objective (currency; carbon included; minus terminal value if any).
        status: HiGHS model status string (``"Optimal"`` on success).
        solve_s: wall time of all solves (s).
        values: per-period primal values by name (each (T,) or (T+1,) for energies).
        iterations: number of LP/MILP solves (efficiency fixed point).
    """

    schedule_kw: np.ndarray
    objective: float
    status: str
    solve_s: float
    values: dict[str, np.ndarray] = field(default_factory=dict)
    iterations: int = 1


def solve_plan(cfg: SiteConfig, data: SiteData, *, gt_p0_kw: float | None = None, bat_e0_kwh: float | None = None,
               tes_e0_kwh: float | None = None, terminal_bat_kwh: float | None = None,
               terminal_tes_kwh: float | None = None, terminal_value_bat: float = 0.0,
               terminal_value_tes: float = 0.0, carbon_allowance_kg: float | None = None,
               ramp_model: str = "milp", eta_iterations: int = 3, n_tangents: int = 8,
               time_limit_s: float = 10.0, mip_gap: float = 1e-6) -> Plan:
    """Optimal schedule of ``data`` (any number of periods) from a given state.

    Args:
        cfg: site devices and settings.
        data: exogenous series (forecasts for MPC, realisations for the oracle).
        gt_p0_kw, bat_e0_kwh, tes_e0_kwh: state before the first period (group totals); None = initial.
        terminal_bat_kwh, terminal_tes_kwh: lower bound on the final stored energy (None = free).
        terminal_value_bat, terminal_value_tes: value per kWh of the final stored energy (currency/kWh).
        carbon_allowance_kg: quota left for these periods (None = the daily quota).
        ramp_model: ``"milp"`` (exact bands), ``"inner"`` or ``"outer"`` (see module docstring).
        eta_iterations: fixed-point solves for the SOC-dependent efficiency (>= 1).
        n_tangents: tangents of the quadratic fuel cost (>= 2).

    Returns:
        :class:`Plan`; ``status != "Optimal"`` leaves NaNs in the schedule.

    Raises:
        ValueError: unknown ``ramp_model``.
    """
    if ramp_model not in ("milp", "inner", "outer"):
        raise ValueError(f"ramp_model must be 'milp', 'inner' or 'outer', got {ramp_model!r}")
    t0 = time.perf_counter()
    T = data.n_periods
    b = cfg.battery
    eta_f = np.ones(T)
    bat_e0 = None
    if b is not None:
        bat_e0 = b.soc_init * b.capacity_kwh * b.count if bat_e0_kwh is None else bat_e0_kwh
        eta_f[:] = efficiency_factor(np.array(bat_e0 / (b.capacity_kwh * b.count)), b.soc_opt, b.soc_min, b.soc_max,
                                     b.efficiency_decay_delta if b.soc_dependent_efficiency else 0.0)
    iters = max(1, eta_iterations) if (b is not None and b.soc_dependent_efficiency) else 1
    plan = None
    fix = None
    n_solves = 0
    for _ in range(iters):
        plan, ints = _solve_once(cfg, data, eta_f, gt_p0_kw, bat_e0, tes_e0_kwh, terminal_bat_kwh, terminal_tes_kwh,
                                 terminal_value_bat, terminal_value_tes, carbon_allowance_kg, ramp_model, n_tangents,
                                 time_limit_s, mip_gap, fix)
        n_solves += 1
        if plan.status != "Optimal" or b is None:
            break
        # later fixed-point solves keep the first solve's integer decisions (ramp bands, buy-or-sell):
        # LPs, a few ms each; eta moves by < 5 %, which rarely changes a band
        fix = ints
        soc = plan.values["bat_e_kwh"][:-1] / (b.capacity_kwh * b.count)
        new = efficiency_factor(soc, b.soc_opt, b.soc_min, b.soc_max,
                                b.efficiency_decay_delta if b.soc_dependent_efficiency else 0.0)
        if np.max(np.abs(new - eta_f)) < 1e-9:
            break
        eta_f = new
    assert plan is not None
    plan.solve_s = time.perf_counter() - t0
    plan.iterations = n_solves
    return plan


def _solve_once(cfg: SiteConfig, d: SiteData, eta_f: np.ndarray, gt_p0: float | None, bat_e0: float | None,
                tes_e0: float | None, term_bat: float | None, term_tes: float | None, tv_bat: float, tv_tes: float,
                allowance: float | None, ramp_model: str, n_tangents: int, time_limit_s: float,
                mip_gap: float, fix_int: np.ndarray | None = None) -> tuple[Plan, np.ndarray]:
    T, dt = d.n_periods, d.dt_h
    B = _Builder()
    pen = cfg.imbalance_penalty_per_kwh * dt
    g = cfg.grid
    buy = B.add(T, 0.0, g.buy_max_kw, d.buy_price * dt)
    sell = B.add(T, 0.0, g.sell_max_kw, -d.sell_price * dt)
    # The simulator nets purchase and sale (P_grid = P_buy - P_sell). Where the sale price exceeds the
    # purchase price the LP would buy and sell at once (pure arbitrage); one binary per such period
    # forbids it, exactly.
    for t in np.flatnonzero(d.sell_price > d.buy_price):
        u = B.add(1, 0.0, 1.0, 0.0, integer=True)[0]
        B.row([buy[t], u], [1.0, -g.buy_max_kw], -_INF, 0.0)
        B.row([sell[t], u], [1.0, g.sell_max_kw], -_INF, g.sell_max_kw)
    wind = B.add(T, 0.0, d.wind_kw)
    pv = B.add(T, 0.0, d.pv_kw)
    ue = B.add(T, 0.0, _INF, pen)
    xe = B.add(T, 0.0, _INF, pen)
    uh = B.add(T, 0.0, _INF, pen)
    vh = B.add(T, 0.0, _INF)
    # emission coefficients per column, for the carbon row
    em_idx: list[np.ndarray] = [buy]
    em_val: list[np.ndarray] = [np.full(T, g.emission_kg_per_kwh_import * dt)]
    e_cols = {"buy": buy, "sell": sell, "wind": wind, "pv": pv, "ue": ue, "xe": xe}
    h_cols = {"uh": uh, "vh": vh}
    sched_cols: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    gt = cfg.gt
    names: dict[str, np.ndarray] = {"buy_kw": buy, "sell_kw": sell, "wind_kw": wind, "pv_kw": pv, "unserved_e_kw": ue,
                                    "excess_e_kw": xe, "unserved_h_kw": uh, "vented_h_kw": vh}
    if gt is not None:
        n = gt.count
        pmin, pmax = gt.p_min_kw * n, gt.p_max_kw * n
        lin = gt.cost_b_per_mwh / 1000.0 * dt + cfg.gas_price_per_kwh * dt / gt.eta_electric
        p = B.add(T, 0.0 if gt.allow_shutdown else pmin, pmax, lin)
        q = B.add(T, 0.0, gt.heat_max_kw * n)
        for t in range(T):
            B.row([q[t], p[t]], [1.0, -gt.heat_to_power_ratio], -_INF, 0.0)
        a2 = gt.cost_a_per_mw2h / 1e6 / n * dt  # currency per kW^2 per period
        on = None
        if gt.allow_shutdown:
            # unit commitment: on_t in {0, 1}, P_min*on <= P <= P_max*on, the O&M constant only when on
            const = 0.0
            on = B.add(T, 0.0, 1.0, gt.cost_c_per_h * n * dt, integer=True)
            p_prev0 = gt.p_init_kw * n if gt_p0 is None else gt_p0
            on0 = 1.0 if p_prev0 > 0 else 0.0
            for t in range(T):
                B.row([p[t], on[t]], [1.0, -pmax], -_INF, 0.0)
                B.row([p[t], on[t]], [1.0, -pmin], 0.0, _INF)
            if gt.start_cost > 0:  # start_t >= on_t - on_{t-1}
                st = B.add(T, 0.0, 1.0, gt.start_cost * n)
                B.row([st[0], on[0]], [1.0, -1.0], -on0, _INF)
                for t in range(1, T):
                    B.row([st[t], on[t], on[t - 1]], [1.0, -1.0, 1.0], 0.0, _INF)
        else:
            const = gt.cost_c_per_h * n * dt * T
        if a2 > 0:
            om = B.add(T, 0.0, _INF, 1.0)
            for pk in np.linspace(pmin, pmax, max(2, n_tangents)):
                for t in range(T):  # om >= a2*(2 pk p - pk^2)
                    B.row([om[t], p[t]], [1.0, -2 * a2 * pk], -a2 * pk * pk, _INF)
        _ramp_rows(B, gt, p, on, T, dt, gt_p0, ramp_model)
        em_idx.append(p)
        em_val.append(np.full(T, (gt.emission_kg_per_kwh_gas / gt.eta_electric + gt.emission_kg_per_kwh_e) * dt))
        e_cols["gt"] = p
        h_cols["gtq"] = q
        names.update(gt_p_kw=p, gt_q_kw=q)
        sched_cols.append(("gt", p, None))
    else:
        const = 0.0
    if cfg.battery is not None:
        bs = cfg.battery
        n = bs.count
        ch = B.add(T, 0.0, bs.p_charge_max_kw * n)
        dis = B.add(T, 0.0, bs.p_discharge_max_kw * n)
        e0 = bat_e0 if bat_e0 is not None else bs.soc_init * bs.capacity_kwh * n
        e = B.add(T + 1, bs.soc_min * bs.capacity_kwh * n, bs.soc_max * bs.capacity_kwh * n)
        B.lb[-1][0] = B.ub[-1][0] = e0
        if term_bat is not None:
            B.lb[-1][-1] = max(B.lb[-1][-1], min(term_bat, B.ub[-1][-1]))
        B.c[-1][-1] = -tv_bat
        for t in range(T):
            B.row([e[t + 1], e[t], ch[t], dis[t]],
                  [1.0, -1.0, -bs.eta_charge * eta_f[t] * dt, dt / (bs.eta_discharge * eta_f[t])], 0.0, 0.0)
        if bs.emission_kg_per_kwh_discharged > 0:
            em_idx.append(dis)
            em_val.append(np.full(T, bs.emission_kg_per_kwh_discharged * dt))
        e_cols["dis"], e_cols["ch"] = dis, ch
        names.update(bat_ch_kw=ch, bat_dis_kw=dis, bat_e_kwh=e)
        sched_cols.append(("battery", dis, ch))
    if cfg.tes is not None:
        ts = cfg.tes
        n = ts.count
        tch = B.add(T, 0.0, ts.q_charge_max_kw * n)
        tdis = B.add(T, 0.0, ts.q_discharge_max_kw * n)
        e0 = tes_e0 if tes_e0 is not None else ts.level_init_kwh * n
        te = B.add(T + 1, ts.level_min_kwh * n, ts.capacity_kwh * n)
        B.lb[-1][0] = B.ub[-1][0] = e0
        if term_tes is not None:
            B.lb[-1][-1] = max(B.lb[-1][-1], min(term_tes, B.ub[-1][-1]))
        B.c[-1][-1] = -tv_tes
        for t in range(T):
            B.row([te[t + 1], te[t], tch[t], tdis[t]], [1.0, -1.0, -ts.eta_charge * dt, dt / ts.eta_discharge], 0.0, 0.0)
        h_cols["tdis"], h_cols["tch"] = tdis, tch
        names.update(tes_ch_kw=tch, tes_dis_kw=tdis, tes_e_kwh=te)
        sched_cols.append(("tes", tdis, tch))
    hp = None
    if cfg.hp is not None:
        hp = B.add(T, 0.0, cfg.hp.p_max_kw * cfg.hp.count)
        names["hp_p_kw"] = hp
        if cfg.hp.emission_kg_per_kwh_e > 0:
            em_idx.append(hp)
            em_val.append(np.full(T, cfg.hp.emission_kg_per_kwh_e * dt))
        sched_cols.append(("hp", hp, None))
    esign = {"buy": 1, "sell": -1, "wind": 1, "pv": 1, "ue": 1, "xe": -1, "gt": 1, "dis": 1, "ch": -1}
    for t in range(T):
        idx = [c[t] for c in e_cols.values()]
        val = [float(esign[k]) for k in e_cols]
        if hp is not None:
            idx.append(hp[t])
            val.append(-1.0)
        B.row(idx, val, d.load_e_kw[t], d.load_e_kw[t])
    hsign = {"uh": 1, "vh": -1, "gtq": 1, "tdis": 1, "tch": -1}
    for t in range(T):
        idx = [c[t] for c in h_cols.values()]
        val = [float(hsign[k]) for k in h_cols]
        if hp is not None:
            idx.append(hp[t])
            val.append(cfg.hp.cop)
        B.row(idx, val, d.load_h_kw[t], d.load_h_kw[t])
    # carbon (seed 001 §2.3): E = sum coeffs; cost price*max(0, E - allowance) or price*E
    c = cfg.carbon
    allow = c.quota_kg_per_day if allowance is None else allowance
    ei, ev = np.concatenate(em_idx), np.concatenate(em_val)
    if c.price_per_kg > 0:
        if c.trading:
            ex = B.add(1, 0.0, _INF, c.price_per_kg)
            B.row(np.append(ei, ex[0]), np.append(ev, -1.0), -_INF, allow)
        else:
            B.add_cost(ei, c.price_per_kg * ev)
    if c.hard_cap:
        B.row(ei, ev, -_INF, allow)
    status, obj, x, ints = B.solve(time_limit_s, mip_gap, fix_int)
    sched = np.zeros((T, len(sched_cols)))
    for j, (_, pos, neg) in enumerate(sched_cols):
        sched[:, j] = x[pos] - (x[neg] if neg is not None else 0.0)
    vals = {k: x[v] for k, v in names.items()}
    return Plan(schedule_kw=sched, objective=obj + const, status=status, solve_s=0.0, values=vals), ints


def _ramp_rows(B: _Builder, gt, p: np.ndarray, on: np.ndarray | None, T: int, dt: float, p0: float | None,
               model: str) -> None:
    """Ramp-band constraints (seed 002 §3.1 ④) on the group output p (count units sharing equally).

    With start/stop (``on`` given) the running ramps are relaxed when the turbine was off, a start is
    capped at SU = max(P_min, up_0*dt), and a stop needs p_{t-1} - P_min <= down-rate (big-M rows)::

        p_t - p_{t-1} - R_up(z) <= M (1 - on_{t-1})
        p_t <= SU + M (1 - on_t + on_{t-1})
        p_{t-1} - p_t - P_min (1 - on_t) - R_dn(z) <= M (1 - on_{t-1})
    """
    n = gt.count
    edges = np.asarray(gt.ramp_band_edges_kw, float) * n
    up = np.asarray(gt.ramp_up_kw_per_h, float) * n * dt
    dn = np.asarray(gt.ramp_down_kw_per_h, float) * n * dt
    p0 = gt.p_init_kw * n if p0 is None else p0
    pmin, pmax = gt.p_min_kw * n, gt.p_max_kw * n
    big = pmax + up.max() + dn.max() + pmin
    su = max(pmin, min(pmax, up[0]))
    band0 = int((p0 >= edges).sum())
    # first period: the band of the known previous output
    if on is None:
        B.row([p[0]], [1.0], p0 - dn[band0], p0 + up[band0])
    elif p0 > 0:
        B.row([p[0]], [1.0], -_INF, p0 + up[band0])
        B.row([p[0], on[0]], [-1.0, pmin], -_INF, dn[band0] - p0 + pmin)
    else:
        B.row([p[0]], [1.0], -_INF, su)
    single = np.allclose(up, up[0]) and np.allclose(dn, dn[0])
    nb = len(up)
    lo_e = np.concatenate([[-_INF], edges])
    hi_e = np.concatenate([edges, [_INF]])
    for t in range(1, T):
        if single or model != "milp":
            ru = up[0] if single else (up.min() if model == "inner" else up.max())
            rd = dn[0] if single else (dn.min() if model == "inner" else dn.max())
            zi, zu, zd = [], [], []
            cu, cd = ru, rd
        else:
            # disjunctive (convex-hull) form, tighter than big-M: p[t-1] = sum_k y_k with
            # y_k in [lo_k, hi_k - eps] * z_k, one band chosen
            z = B.add(nb, 0.0, 1.0, 0.0, integer=True)
            y = B.add(nb, 0.0, _INF)
            B.row(z, np.ones(nb), 1.0, 1.0)
            B.row([p[t - 1], *y], [1.0, *(-np.ones(nb))], 0.0, 0.0)
            for k in range(nb):
                lo_k = max(lo_e[k], 0.0)
                hi_k = min(hi_e[k] - _EDGE_EPS_KW, pmax) if np.isfinite(hi_e[k]) else pmax
                B.row([y[k], z[k]], [1.0, -lo_k], 0.0, _INF)
                B.row([y[k], z[k]], [1.0, -hi_k], -_INF, 0.0)
            zi, zu, zd = list(z), list(-up), list(-dn)
            cu = cd = 0.0
        if on is None:
            B.row([p[t], p[t - 1], *zi], [1.0, -1.0, *zu], -_INF, cu)
            B.row([p[t - 1], p[t], *zi], [1.0, -1.0, *zd], -_INF, cd)
        else:
            B.row([p[t], p[t - 1], on[t - 1], *zi], [1.0, -1.0, big, *zu], -_INF, cu + big)
            B.row([p[t], on[t], on[t - 1]], [1.0, big, -big], -_INF, su + big)
            B.row([p[t - 1], p[t], on[t], on[t - 1], *zi], [1.0, -1.0, pmin, big, *zd], -_INF, cd + big + pmin)


@dataclass
class OracleResult:
    """The oracle day: plan, its replay through the simulator, and the day summary.

    Attributes:
        plan: the optimisation result.
        table: simulator rows of the replayed schedule (one per period).
        summary: :func:`aggregation.multi_energy.summarise` of the replay (``total_cost`` is THE oracle cost).
        replay_gap: simulated total cost minus the plan objective (currency); the linearisation error.
    """

    plan: Plan
    table: pd.DataFrame
    summary: dict[str, float]
    replay_gap: float


def oracle(cfg: SiteConfig, data: SiteData, **kwargs) -> OracleResult:
    """Perfect-foresight optimum of the day (``kwargs`` go to :func:`solve_plan`), replayed in the simulator.

    Storage ends the day at least as full as it started (so the day's cost is not bought with stored energy).

    Raises:
        RuntimeError: HiGHS did not find an optimal solution.
    """
    kw = dict(kwargs)
    if cfg.battery is not None:
        kw.setdefault("terminal_bat_kwh", cfg.battery.soc_init * cfg.battery.capacity_kwh * cfg.battery.count)
    if cfg.tes is not None:
        kw.setdefault("terminal_tes_kwh", cfg.tes.level_init_kwh * cfg.tes.count)
    plan = solve_plan(cfg, data, **kw)
    if plan.status != "Optimal":
        raise RuntimeError(f"oracle: HiGHS status {plan.status}")
    sim = MultiEnergySim(cfg, data)
    table = sim.run(plan.schedule_kw)
    summ = summarise(cfg, table, data.dt_h)
    return OracleResult(plan, table, summ, summ["total_cost"] - plan.objective)
