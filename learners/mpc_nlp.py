"""Real-time MPC of seed 002 §4.1 ②: nonlinear device models, IPOPT through CasADi, warm-started.

Every hour t the controller solves, over the window [t, t + H) (H = 4 h, seed 002 §5.1), on the
realised state and updated forecasts::

    min  Σ_k [ C_op(t+k) + λ·E_carbon(t+k) ] + ρ·Σ_k ||u_k − u_plan,k||² − V_term(E_bat, E_tes)

with C_op = purchase − sales + gas + turbine O&M a·P² + b·P + c (exact quadratic, P in MW; seed 002
§3.3 ⑤) + imbalance penalty, the carbon term by the site's rule (trading: λ·max(0, E − allowance),
an epigraph; without trading λ·E; ``hard_cap``: E ≤ allowance), the optional day-ahead plan
tracking term ρ (the two-stage coupling, :mod:`learners.maddpg_mpc`), and the terminal value of
stored energy of :class:`learners.mpc.RollingMPC` (or E_T ≥ E_0 when the window reaches the day's end).

Nonlinear models kept (what the LP oracle linearises):

* battery dynamics with **SOC-dependent efficiency** (seed 002 §3.1 ③), evaluated at the
  start-of-period SOC as the simulator does:
  ``E_{k+1} = E_k + η_ch·f(SOC_k)·P_ch·Δt − P_dis·Δt/(η_dis·f(SOC_k))``, f = 1 − δ·((SOC − SOC_opt)/(SOC_max − SOC_min))²;
* the **quadratic** turbine O&M (the oracle uses 8 tangents, ≤ 0.0016 $/h under);
* **ramp bands** (seed 002 §3.1 ④): exact for the first period (the band of the measured output);
  later periods use a smooth band rate ``r(P) = r_0 + Σ_j (r_j − r_{j−1})·σ((P − e_j)/s)`` with a logistic
  σ of width s = 20 kW (the bands are discontinuous; IPOPT needs C²). Only the first period is
  applied, so the applied set-point always respects the exact band; the smoothing can only change
  which later trajectories are considered feasible near a band edge.

Buy and sale are separate non-negative variables (simultaneous buying and selling is never
profitable where the sale price does not exceed the purchase price, true in ``industrial_mevpp``;
where it does — campus valley hours — the NLP may plan both and the simulator nets them: a
documented limitation; the LP oracle has a binary there). Turbine start/stop (``allow_shutdown``)
is not modelled (:class:`ValueError`): neither bundled scenario uses it.

Warm start: the previous solution shifted by one period (primal and multipliers) with IPOPT's
``warm_start_init_point = yes`` and a small initial barrier parameter. One NLP per window length is
built once (CasADi ``nlpsol`` over SX with the window's data as parameters) and reused.

Variables are in MW / MWh internally (scaling); set-points returned in kW as the simulator's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import casadi as ca
import numpy as np
import pandas as pd

from aggregation.multi_energy import MultiEnergySim, SiteConfig, SiteData, summarise
from learners.mpc import window_end_terms, window_forecast

__all__ = ["NlpMPC", "NlpMpcResult", "NlpStep"]

_SMOOTH_KW = 20.0


@dataclass
class NlpStep:
    """One solve: applied set-points (k,) kW, IPOPT status, iterations, wall time (s), planned window."""

    setpoints_kw: np.ndarray
    status: str
    iterations: int
    solve_s: float
    objective: float
    schedule_kw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


@dataclass
class NlpMpcResult:
    """A day under the NLP MPC: simulator rows, day summary, per-step times (s), iterations, statuses."""

    table: pd.DataFrame
    summary: dict[str, float]
    solve_s: np.ndarray
    iterations: np.ndarray
    statuses: list[str]


class _Window:
    """The NLP of one window length ``H`` (built once; data enter as parameters)."""

    def __init__(self, cfg: SiteConfig, H: int, dt: float, ipopt_options: dict) -> None:
        self.cfg, self.H, self.dt = cfg, H, dt
        ctl = cfg.controls
        k = len(ctl)
        # parameters: loads, renewables, prices (6H), gt_p0, bat_e0, tes_e0, allowance, e_bat_term_min,
        # e_tes_term_min, v_bat, v_tes, up0, down0, rho (11), u_plan (H*k)
        P = ca.SX.sym("p", 6 * H + 11 + H * k)
        le, lh, wa, pa, cb, cs = (P[i * H:(i + 1) * H] for i in range(6))
        (gt0, be0, te0, allow, bterm, tterm, vb, vt, up0, dn0, rho) = (P[6 * H + i] for i in range(11))
        uplan = ca.reshape(P[6 * H + 11:], H, k)  # MW
        xs, lbx, ubx, g, lbg, ubg = [], [], [], [], [], []

        def var(name: str, n: int, lo: float, hi: float) -> ca.SX:
            v = ca.SX.sym(name, n)
            xs.append(v)
            lbx.extend([lo] * n)
            ubx.extend([hi] * n)
            return v

        def con(expr: ca.SX, lo: float, hi: float) -> None:
            n = expr.shape[0]
            g.append(expr)
            lbg.extend([lo] * n)
            ubg.extend([hi] * n)

        z = ca.SX.zeros(H)
        gt, b, s, hp = cfg.gt, cfg.battery, cfg.tes, cfg.hp
        cost = 0
        co2 = 0
        u_cols: dict[str, ca.SX] = {}
        p_gt = q_gt = z
        if gt is not None:
            if gt.allow_shutdown:
                raise ValueError("NlpMPC does not model turbine start/stop (allow_shutdown)")
            n = gt.count
            p_gt = var("p_gt", H, gt.p_min_kw * n / 1e3, gt.p_max_kw * n / 1e3)
            q_gt = var("q_gt", H, 0.0, gt.heat_max_kw * n / 1e3)
            con(gt.heat_to_power_ratio * p_gt - q_gt, 0.0, ca.inf)
            pm = p_gt / n  # MW per unit
            cost += ca.sum1(n * (gt.cost_a_per_mw2h * pm ** 2 + gt.cost_b_per_mwh * pm + gt.cost_c_per_h) * dt)
            cost += ca.sum1(cfg.gas_price_per_kwh * 1e3 * p_gt * dt / gt.eta_electric)
            co2 += ca.sum1((gt.emission_kg_per_kwh_gas / gt.eta_electric + gt.emission_kg_per_kwh_e) * 1e3 * p_gt * dt)
            # ramps: exact band of the measured output for k = 0, smooth bands afterwards
            edges = np.asarray(gt.ramp_band_edges_kw, float) * n / 1e3
            ups = np.asarray(gt.ramp_up_kw_per_h, float) * n / 1e3 * dt
            dns = np.asarray(gt.ramp_down_kw_per_h, float) * n / 1e3 * dt
            sw = _SMOOTH_KW * n / 1e3

            def rate(prev: ca.SX, r: np.ndarray) -> ca.SX:
                out = r[0]
                for j, e in enumerate(edges):
                    out = out + (r[j + 1] - r[j]) / (1 + ca.exp(-(prev - e) / sw))
                return out

            con(ca.vertcat(p_gt[0] - gt0 - up0, gt0 - p_gt[0] - dn0), -ca.inf, 0.0)
            if H > 1:
                prev = p_gt[0:H - 1]
                con(p_gt[1:H] - prev - rate(prev, ups), -ca.inf, 0.0)
                con(prev - p_gt[1:H] - rate(prev, dns), -ca.inf, 0.0)
            u_cols["gt"] = p_gt
        p_net = z
        if b is not None:
            n = b.count
            cap = b.capacity_kwh * n / 1e3
            p_ch = var("p_ch", H, 0.0, b.p_charge_max_kw * n / 1e3)
            p_dis = var("p_dis", H, 0.0, b.p_discharge_max_kw * n / 1e3)
            e = var("e_bat", H, b.soc_min * cap, b.soc_max * cap)  # E_1..E_H
            e_prev = ca.vertcat(be0, e[0:H - 1]) if H > 1 else be0  # casadi: e[:-1] of a 1-vector is not empty
            if b.soc_dependent_efficiency:
                x = (e_prev / cap - b.soc_opt) / (b.soc_max - b.soc_min)
                f = 1 - b.efficiency_decay_delta * x ** 2
            else:
                f = 1
            con(e - e_prev - b.eta_charge * f * p_ch * dt + p_dis * dt / (b.eta_discharge * f), 0.0, 0.0)
            short_b = var("short_bat", 1, 0.0, ca.inf)  # soft terminal level (hard ones can be unreachable)
            con(ca.vertcat(e[-1] + short_b - bterm), 0.0, ca.inf)
            cost += cfg.imbalance_penalty_per_kwh * 1e3 * short_b - vb * 1e3 * e[-1]
            co2 += ca.sum1(b.emission_kg_per_kwh_discharged * 1e3 * p_dis * dt)
            p_net = p_dis - p_ch
            u_cols["battery"] = p_net
        q_net = z
        if s is not None:
            n = s.count
            q_ch = var("q_ch", H, 0.0, s.q_charge_max_kw * n / 1e3)
            q_dis = var("q_dis", H, 0.0, s.q_discharge_max_kw * n / 1e3)
            h = var("e_tes", H, s.level_min_kwh * n / 1e3, s.capacity_kwh * n / 1e3)
            h_prev = ca.vertcat(te0, h[0:H - 1]) if H > 1 else te0
            con(h - h_prev - s.eta_charge * q_ch * dt + q_dis * dt / s.eta_discharge, 0.0, 0.0)
            short_t = var("short_tes", 1, 0.0, ca.inf)
            con(ca.vertcat(h[-1] + short_t - tterm), 0.0, ca.inf)
            cost += cfg.imbalance_penalty_per_kwh * 1e3 * short_t - vt * 1e3 * h[-1]
            q_net = q_dis - q_ch
            u_cols["tes"] = q_net
        p_hp = z
        if hp is not None:
            p_hp = var("p_hp", H, 0.0, hp.p_max_kw * hp.count / 1e3)
            co2 += ca.sum1(hp.emission_kg_per_kwh_e * 1e3 * p_hp * dt)
            u_cols["hp"] = p_hp
        grid = cfg.grid
        buy = var("buy", H, 0.0, grid.buy_max_kw / 1e3)
        sell = var("sell", H, 0.0, grid.sell_max_kw / 1e3)
        w = var("w", H, 0.0, ca.inf)
        pv = var("pv", H, 0.0, ca.inf)
        ue = var("ue", H, 0.0, ca.inf)
        xe = var("xe", H, 0.0, ca.inf)
        uh = var("uh", H, 0.0, ca.inf)
        vh = var("vh", H, 0.0, ca.inf)
        con(w - wa, -ca.inf, 0.0)
        con(pv - pa, -ca.inf, 0.0)
        con(p_gt + p_net + w + pv + buy - sell + ue - xe - le - p_hp, 0.0, 0.0)
        cop = hp.cop if hp is not None else 0.0
        con(q_gt + cop * p_hp + q_net + uh - vh - lh, 0.0, 0.0)
        cost += ca.sum1(1e3 * dt * (cb * buy - cs * sell + cfg.imbalance_penalty_per_kwh * (ue + xe + uh)))
        co2 += ca.sum1(grid.emission_kg_per_kwh_import * 1e3 * buy * dt)
        c = cfg.carbon
        if c.hard_cap:
            con(co2 - allow, -ca.inf, 0.0)
        if c.trading:
            exc = var("co2_excess", 1, 0.0, ca.inf)
            con(exc - co2 + allow, 0.0, ca.inf)
            cost += c.price_per_kg * exc
        else:
            cost += c.price_per_kg * co2
        U = ca.horzcat(*[u_cols[gname] for gname in ctl]) if ctl else ca.SX.zeros(H, 0)
        if k:
            cost += rho * ca.sumsqr(U - uplan) * dt
        X = ca.vertcat(*xs)
        G = ca.vertcat(*g)
        self.nx, self.ng, self.np_ = X.shape[0], G.shape[0], P.shape[0]
        self.lbx, self.ubx = np.array(lbx), np.array(ubx)
        self.lbg, self.ubg = np.array(lbg), np.array(ubg)
        self.u_fun = ca.Function("u", [X], [U])
        self.co2_fun = ca.Function("co2", [X, P], [co2])
        opts = {"print_time": False, "ipopt.print_level": 0, "ipopt.sb": "yes", "ipopt.tol": 1e-8,
                "ipopt.acceptable_tol": 1e-6, "ipopt.max_iter": 500}
        opts.update(ipopt_options)
        self.cold = ca.nlpsol("mpc_cold", "ipopt", {"x": X, "p": P, "f": cost, "g": G}, opts)
        wopts = dict(opts)
        wopts.update({"ipopt.warm_start_init_point": "yes", "ipopt.warm_start_bound_push": 1e-6,
                      "ipopt.warm_start_mult_bound_push": 1e-6, "ipopt.warm_start_bound_frac": 1e-6,
                      "ipopt.warm_start_slack_bound_push": 1e-6, "ipopt.warm_start_slack_bound_frac": 1e-6,
                      "ipopt.mu_init": 1e-5})
        self.warm = ca.nlpsol("mpc_warm", "ipopt", {"x": X, "p": P, "f": cost, "g": G}, wopts)
        # per-period variable blocks (for shifting a solution by one period): H long, or scalars
        self.blocks = [(int(v.shape[0])) for v in xs]


class NlpMPC:
    """Rolling-horizon NLP controller (seed 002 lower layer).

    Args:
        cfg: site (turbine start/stop is not supported).
        horizon_h: window H in hours (seed 002: 4).
        forecast_error: relative error e of the forecasts (noise model of :func:`learners.mpc.noisy_forecast`).
        rng: numpy Generator for the forecast noise (required when e > 0).
        heat_margin: plan heat at forecast/(1 − e) (the heat bus has no slack), as :class:`learners.mpc.RollingMPC`.
        warm_start: warm-start each solve from the previous solution shifted by one period.
        track_weight: ρ in $/(MW²·h) of the day-ahead plan tracking term (0 = pure economic MPC).
        ipopt_options: extra CasADi/IPOPT options (e.g. ``{"ipopt.max_iter": 100}``).

    Raises:
        ValueError: ``horizon_h <= 0`` or a turbine with start/stop.
    """

    def __init__(self, cfg: SiteConfig, horizon_h: float = 4.0, forecast_error: float = 0.0,
                 rng: np.random.Generator | None = None, heat_margin: bool = True, warm_start: bool = True,
                 track_weight: float = 0.0, ipopt_options: dict | None = None) -> None:
        if horizon_h <= 0:
            raise ValueError("horizon_h must be > 0")
        if cfg.gt is not None and cfg.gt.allow_shutdown:
            raise ValueError("NlpMPC does not model turbine start/stop (allow_shutdown)")
        self.cfg = cfg
        self.horizon_h = horizon_h
        self.forecast_error = forecast_error
        self.rng = rng
        self.heat_margin = heat_margin
        self.warm_start = warm_start
        self.track_weight = float(track_weight)
        self.ipopt_options = dict(ipopt_options or {})
        self._windows: dict[tuple[int, float], _Window] = {}
        self._prev: dict | None = None

    def reset(self) -> None:
        """Forget the previous solution (a new day)."""
        self._prev = None

    def _window(self, H: int, dt: float) -> _Window:
        key = (H, dt)
        if key not in self._windows:
            self._windows[key] = _Window(self.cfg, H, dt, self.ipopt_options)
        return self._windows[key]

    def _params(self, sim: MultiEnergySim, fc: SiteData, H: int, plan_kw: np.ndarray | None) -> np.ndarray:
        cfg = self.cfg
        st = sim.state()
        dt = sim.data.dt_h
        series = [fc.load_e_kw / 1e3, fc.load_h_kw / 1e3, fc.wind_kw / 1e3, fc.pv_kw / 1e3, fc.buy_price,
                  fc.sell_price]
        gt0 = st.get("gt_p_kw", 0.0) / 1e3
        up0 = dn0 = 0.0
        if cfg.gt is not None:
            g = cfg.gt
            p1 = st["gt_p_kw"] / g.count
            band = sum(1 for e in g.ramp_band_edges_kw if p1 >= e)
            up0 = g.ramp_up_kw_per_h[band] * dt * g.count / 1e3
            dn0 = g.ramp_down_kw_per_h[band] * dt * g.count / 1e3
        be0 = st.get("bat_e_kwh", 0.0) / 1e3
        te0 = st.get("tes_e_kwh", 0.0) / 1e3
        end = window_end_terms(cfg, sim, sim.t + H)
        allow = end["carbon_allowance_kg"]
        bterm = end["terminal_bat_kwh"] / 1e3 if "terminal_bat_kwh" in end else -1e9
        tterm = end["terminal_tes_kwh"] / 1e3 if "terminal_tes_kwh" in end else -1e9
        vb = end.get("terminal_value_bat", 0.0)
        vt = end.get("terminal_value_tes", 0.0)
        k = len(cfg.controls)
        rho = self.track_weight if plan_kw is not None else 0.0
        up = (np.asarray(plan_kw, float).reshape(H, k) / 1e3) if plan_kw is not None else np.zeros((H, k))
        return np.concatenate([*series, [gt0, be0, te0, allow, bterm, tterm, vb, vt, up0, dn0, rho],
                               up.reshape(-1, order="F")])

    def _initial_guess(self, w: _Window, sim: MultiEnergySim) -> np.ndarray:
        """A feasible-ish cold start: turbine held, stores at their level, the grid balancing."""
        x = np.clip(np.zeros(w.nx), w.lbx, w.ubx)
        return x

    def _shifted(self, w: _Window) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Previous solution shifted by one period (last period repeated), if the window length matches."""
        p = self._prev
        if p is None:
            return None
        if p["H"] != w.H:
            if p["H"] != w.H + 1:
                return None
            # the window shrank at the day's end: drop the first period of each block
            out = []
            for arr in (p["x"], p["lam_x"]):
                parts, i = [], 0
                for n in p["blocks"]:
                    blk = arr[i:i + n]
                    parts.append(blk[1:] if n == p["H"] else blk)
                    i += n
                out.append(np.concatenate(parts))
            if len(out[0]) != w.nx:
                return None
            return out[0], out[1], None  # no multipliers for the constraints: primal warm start only
        out = []
        for arr in (p["x"], p["lam_x"]):
            parts, i = [], 0
            for n in w.blocks:
                blk = arr[i:i + n]
                parts.append(np.concatenate([blk[1:], blk[-1:]]) if n == w.H and n > 1 else blk)
                i += n
            out.append(np.concatenate(parts))
        return out[0], out[1], np.asarray(p["lam_g"])

    def solve(self, sim: MultiEnergySim, fc: SiteData, plan_kw: np.ndarray | None = None,
              warm: bool | None = None) -> NlpStep:
        """Solve the window starting at the simulator's next period on forecasts ``fc`` (its length = H).

        Args:
            sim: the simulator (its state is the initial state; not stepped).
            fc: forecast window (``fc.n_periods`` = H periods).
            plan_kw: day-ahead set-points over the window (H, k), tracked with weight ``track_weight``.
            warm: override ``warm_start`` for this solve.

        Returns:
            :class:`NlpStep` with the first period's set-points (kW) clipped to the simulator's bounds.
        """
        H = fc.n_periods
        w = self._window(H, sim.data.dt_h)
        p = self._params(sim, fc, H, plan_kw)
        use_warm = self.warm_start if warm is None else warm
        sh = self._shifted(w) if use_warm else None
        t0 = time.perf_counter()
        if sh is not None and sh[2] is None:
            sol = w.cold(x0=np.clip(sh[0], w.lbx, w.ubx), p=p, lbx=w.lbx, ubx=w.ubx, lbg=w.lbg, ubg=w.ubg)
            stats = w.cold.stats()
        elif sh is not None:
            sol = w.warm(x0=sh[0], lam_x0=sh[1], lam_g0=sh[2], p=p, lbx=w.lbx, ubx=w.ubx, lbg=w.lbg, ubg=w.ubg)
            stats = w.warm.stats()
        else:
            sol = w.cold(x0=self._initial_guess(w, sim), p=p, lbx=w.lbx, ubx=w.ubx, lbg=w.lbg, ubg=w.ubg)
            stats = w.cold.stats()
        dt_s = time.perf_counter() - t0
        x = np.asarray(sol["x"]).reshape(-1)
        status = str(stats.get("return_status", "unknown"))
        ok = bool(stats.get("success", False)) or status in ("Solve_Succeeded", "Solved_To_Acceptable_Level")
        U = np.asarray(w.u_fun(x)).reshape(H, -1) * 1e3
        lo, hi = sim.bounds()
        if ok:
            self._prev = {"H": H, "x": x, "lam_x": np.asarray(sol["lam_x"]).reshape(-1),
                          "lam_g": np.asarray(sol["lam_g"]).reshape(-1), "blocks": w.blocks}
            a = np.clip(U[0], lo, hi)
        else:
            self._prev = None
            hold = np.zeros(len(self.cfg.controls))
            if self.cfg.gt is not None:
                hold[0] = sim.state()["gt_p_kw"]
            a = np.clip(hold, lo, hi)
        return NlpStep(a, status, int(stats.get("iter_count", -1)), dt_s, float(sol["f"]), U)

    def act(self, sim: MultiEnergySim, plan_kw: np.ndarray | None = None) -> NlpStep:
        """Forecast the window [t, t+H) (with this controller's noise) and solve it.

        Args:
            sim: simulator at period t (realised state).
            plan_kw: day-ahead schedule of the whole day (T, k) in kW; its rows [t, t+H) are tracked.
        """
        t = sim.t
        t1, fc = window_forecast(sim.data, t, self.horizon_h, self.forecast_error, self.rng, self.heat_margin)
        plan = None if plan_kw is None else np.asarray(plan_kw, float)[t:t1]
        return self.solve(sim, fc, plan)

    def run(self, data: SiteData, plan_kw: np.ndarray | None = None) -> NlpMpcResult:
        """Control a whole day of realised ``data`` (optionally tracking a day-ahead plan (T, k) in kW)."""
        self.reset()
        sim = MultiEnergySim(self.cfg, data)
        rows, times, iters, stats = [], [], [], []
        for _ in range(data.n_periods):
            st = self.act(sim, plan_kw)
            rows.append(sim.step(st.setpoints_kw))
            times.append(st.solve_s)
            iters.append(st.iterations)
            stats.append(st.status)
        table = pd.DataFrame(rows)
        return NlpMpcResult(table, summarise(self.cfg, table, data.dt_h), np.array(times), np.array(iters), stats)
