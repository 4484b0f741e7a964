"""Projection of a raw action onto the period's feasible set (seed 001 §3.3, Eq. 13), in-loop.

Seed 001 Eq. 13::

    a_feas = argmin_a ||a - a_raw||_2^2   s.t.  A a <= b,  C a = d

solved here as a convex QP in HiGHS (``highspy``). The model is built once per site
(:class:`ActionProjector`); each call changes only column bounds, row bounds and the linear cost.

Decision variables, in the env's normalised action units (each in [-1, 1], mapped affinely onto the
group's static range ``sim.range_lo..range_hi`` exactly as :class:`learners.multi_energy_env.MultiEnergyEnv`
does): ``x`` (k,) for the controllable groups in ``cfg.controls`` order (gt, battery, tes, hp), plus
auxiliary columns that are not part of the distance: grid purchase and sale (kW), renewable power used
(wind + PV, kW), the turbine's recovered heat ``q_gt`` (kW), the battery's discharge part ``d`` (kW,
only for its emissions) and three imbalance slacks (kW) that are fixed at 0 unless the strict problem
is infeasible.

Constraints per period t (physical units, P = mid + half * x):

* **device limits, ramps, storage energy limits**: ``x`` within the simulator's feasible range of
  the period (:meth:`aggregation.multi_energy.MultiEnergySim.bounds`: turbine ramp band, battery and
  tank power limits intersected with the energy room to E_min/E_max, heat pump 0..P_max; seed 001
  §2.4 items 3, 5, 6, 7);
* **electric balance** (seed 001 §2.4 item 1, item 8): P_gt + P_bat + ren + buy - sell = L_e + P_hp,
  0 <= buy <= P_buy,max, 0 <= sell <= P_sell,max, 0 <= ren <= W_avail + PV_avail;
* **heat balance** (item 2): q_gt + COP*P_hp + Q_tes >= L_h (surplus heat is vented, as in the
  simulator), with q_gt <= chr*P_gt and q_gt <= Q_max: together exactly the simulator's
  Q_gt = min(chr*P_gt, Q_max) (a concave minimum, so its hypograph is convex);
* **carbon quota** (item 4), when ``carbon="quota"`` or the scenario sets ``carbon.hard_cap``:
  the period's emissions (turbine gas and electric factors, heat pump, battery discharge,
  imports) <= quota - emissions so far. With carbon *trading* (the bundled ``campus_vpp``) the quota
  is priced, not a hard limit, so it is off by default (``carbon="auto"``).

The distance is measured in the normalised units (the seed normalises actions to [-1, 1] before the
LP module). The one nonconvex device rule, a turbine with ``allow_shutdown`` (range {0} U [lo, hi]),
is projected onto its convex hull [0, hi]; the simulator then applies its start/stop rule (neither
bundled scenario allows shutdown).

Infeasible projections (e.g. a heat load above all heat capacity, or a quota already spent) are
re-solved with the imbalance slacks opened at a penalty of ``slack_penalty`` per kW (and, for the
quota, with the carbon row relaxed); they are counted in :attr:`ActionProjector.n_infeasible`. The
same slack formulation is the fallback after a HiGHS "Solve error" (its active-set QP solver reports
one on ~1 % of degenerate corners, e.g. raw actions at the box vertices with a full tank); it is exact
when its slacks stay 0, and only then the call is not counted as infeasible. Near-zero bounds
(|b| < 1e-4 in normalised units) are rounded inwards to 0 for the same reason, and the heat row carries
a 0.01 kW margin.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import highspy
import numpy as np

from aggregation.multi_energy import MultiEnergySim, SiteConfig

__all__ = ["ActionProjector", "ProjectedEnv", "ProjectionResult"]

_INF = highspy.kHighsInf
_HEAT_MARGIN_KW = 1e-2
_ACCEPT_KW = 5e-3  # a "Solve error" solution is accepted when no row is violated by more than this
_SNAP = 1e-4  # normalised units: 0.01 kW on a 100 kW half-range


@dataclass(frozen=True)
class ProjectionResult:
    """One projection.

    Attributes:
        action: feasible normalised action (k,), float64.
        distance: ||action - a_raw||_2 in normalised units.
        infeasible: the strict problem had no solution (slacks or relaxed quota used).
        slack_kw: imbalance left by the fallback (electric shortage + surplus + heat shortage), kW.
        solve_s: wall time of the call, seconds.
    """

    action: np.ndarray
    distance: float
    infeasible: bool
    slack_kw: float
    solve_s: float


class ActionProjector:
    """Seed 001 Eq. 13 as a HiGHS QP, built once for a site.

    Args:
        cfg: the site (devices and settings).
        carbon: ``"auto"`` (quota row only when ``cfg.carbon.hard_cap``), ``"quota"`` (always) or ``"off"``.
        slack_penalty: cost per kW of imbalance slack in the infeasible fallback (normalised objective units).

    Attributes:
        controls: group names, the order of the action vector.
        n_calls, n_infeasible: counters over the projector's life.
        n_solver_retries: HiGHS solver errors recovered by a cold or interior-point re-solve.
        n_failed: calls where HiGHS failed even then and the action was only clipped to its bounds
            (counted as infeasible too; ``slack_kw`` is NaN).
        distance_sum: sum of projection distances (mean = distance_sum / n_calls).
    """

    def __init__(self, cfg: SiteConfig, *, carbon: str = "auto", slack_penalty: float = 1e4) -> None:
        if carbon not in ("auto", "quota", "off"):
            raise ValueError(f"carbon must be 'auto', 'quota' or 'off', got {carbon!r}")
        self.cfg = cfg
        self.controls = cfg.controls
        self.k = len(self.controls)
        probe = MultiEnergySim.__new__(MultiEnergySim)  # static ranges only (no data needed)
        MultiEnergySim.__init__(probe, cfg, _dummy_data())
        self.mid = (probe.range_hi + probe.range_lo) / 2.0
        self.half = np.maximum((probe.range_hi - probe.range_lo) / 2.0, 1e-12)
        self.use_carbon = carbon == "quota" or (carbon == "auto" and cfg.carbon.hard_cap)
        self.slack_penalty = float(slack_penalty)
        self.n_calls = 0
        self.n_infeasible = 0
        self.distance_sum = 0.0
        self.n_solver_retries = 0
        self.n_failed = 0
        self.n_accepted = 0
        self.retry_statuses: list[str] = []
        self._build()

    # -- model ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        cfg, k = self.cfg, self.k
        idx = {g: i for i, g in enumerate(self.controls)}
        self._idx = idx
        n = k
        self.c_buy, self.c_sell, self.c_ren = n, n + 1, n + 2
        n += 3
        self.c_q = self.c_d = None
        if "gt" in idx:
            self.c_q = n
            n += 1
        if self.use_carbon and "battery" in idx:
            self.c_d = n
            n += 1
        self.c_slack = np.arange(n, n + 3)  # unserved_e, excess_e, unserved_h
        n += 3
        self.n_cols = n
        lb = np.zeros(n)
        ub = np.full(n, _INF)
        lb[:k], ub[:k] = -1.0, 1.0
        ub[self.c_buy], ub[self.c_sell] = cfg.grid.buy_max_kw, cfg.grid.sell_max_kw
        if self.c_q is not None:
            ub[self.c_q] = cfg.gt.heat_max_kw * cfg.gt.count
        ub[self.c_slack] = 0.0
        rows: list[tuple[dict[int, float], float, float]] = []
        # electric balance: sum(sign*half*x) + ren + buy - sell + s_e+ - s_e- = L_e - sum(sign*mid)
        e_row: dict[int, float] = {self.c_ren: 1.0, self.c_buy: 1.0, self.c_sell: -1.0,
                                   int(self.c_slack[0]): 1.0, int(self.c_slack[1]): -1.0}
        self._e_sign = np.array([{"gt": 1.0, "battery": 1.0, "tes": 0.0, "hp": -1.0}[g] for g in self.controls])
        for i in np.flatnonzero(self._e_sign):
            e_row[int(i)] = self._e_sign[i] * self.half[i]
        rows.append((e_row, 0.0, 0.0))
        # heat supply >= L_h: q_gt + COP*(mid+half*x_hp) + (mid+half*x_tes) + s_h >= L_h
        self._h_coef = np.zeros(k)
        h_row: dict[int, float] = {int(self.c_slack[2]): 1.0}
        if self.c_q is not None:
            h_row[self.c_q] = 1.0
        if "hp" in idx:
            self._h_coef[idx["hp"]] = cfg.hp.cop
        if "tes" in idx:
            self._h_coef[idx["tes"]] = 1.0
        for i in np.flatnonzero(self._h_coef):
            h_row[int(i)] = self._h_coef[i] * self.half[i]
        rows.append((h_row, 0.0, _INF))
        if self.c_q is not None:  # q_gt - chr*half*x_gt <= chr*mid
            i = idx["gt"]
            chr_ = cfg.gt.heat_to_power_ratio
            rows.append(({self.c_q: 1.0, i: -chr_ * self.half[i]}, -_INF, chr_ * self.mid[i]))
        self.r_carbon = None
        if self.use_carbon:
            self._co2 = np.zeros(k)  # kg per kW for one hour
            if "gt" in idx:
                gt = cfg.gt
                self._co2[idx["gt"]] = gt.emission_kg_per_kwh_gas / gt.eta_electric + gt.emission_kg_per_kwh_e
            if "hp" in idx:
                self._co2[idx["hp"]] = cfg.hp.emission_kg_per_kwh_e
            c_row: dict[int, float] = {i: self._co2[i] * self.half[i] for i in range(k) if self._co2[i]}
            if cfg.grid.emission_kg_per_kwh_import:
                c_row[self.c_buy] = cfg.grid.emission_kg_per_kwh_import
            if self.c_d is not None:
                c_row[self.c_d] = cfg.battery.emission_kg_per_kwh_discharged
                i = idx["battery"]  # d >= mid + half*x_bat, d >= 0
                rows.append(({self.c_d: 1.0, i: -self.half[i]}, self.mid[i], _INF))
            self.r_carbon = len(rows)
            rows.append((c_row, -_INF, _INF))
        self.n_rows = len(rows)
        # auxiliary columns in units of S kW (S = the largest half-range): keeps every column O(1) so that
        # HiGHS's QP regularisation does not bias the action (kW-sized columns moved it by 1e-3)
        self._scale = np.ones(n)
        self._scale[k:] = float(max(self.half.max(), 1.0))
        lb, ub = lb / self._scale, ub / self._scale
        starts, index, value = [0], [], []
        for coefs, _, _ in rows:
            for j, v in sorted(coefs.items()):
                index.append(j)
                value.append(float(v) * self._scale[j])
            starts.append(len(index))
        model = highspy.HighsModel()
        lp = model.lp_
        lp.num_col_ = n
        lp.num_row_ = len(rows)
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = lb
        lp.col_upper_ = ub
        lp.row_lower_ = np.array([r[1] for r in rows], dtype=float)
        lp.row_upper_ = np.array([r[2] for r in rows], dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value, dtype=float)
        hess = model.hessian_
        hess.dim_ = n
        hess.format_ = highspy.HessianFormat.kTriangular
        hess.start_ = np.array(list(range(k + 1)) + [k] * (n - k), dtype=np.int32)
        hess.index_ = np.arange(k, dtype=np.int32)
        hess.value_ = np.full(k, 2.0)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("qp_regularization_value", 1e-10)
        # (no time_limit: setting one made the QP solver fail far more often)
        h.passModel(model)
        self._h = h
        self._lb0, self._ub0 = lb, ub
        self._row_lo0 = np.array(lp.row_lower_, dtype=float)
        self._row_hi0 = np.array(lp.row_upper_, dtype=float)
        self._all_cols = np.arange(n, dtype=np.int32)
        self._all_rows = np.arange(self.n_rows, dtype=np.int32)

    # -- one call ---------------------------------------------------------------------------------------
    def constraints(self, sim: MultiEnergySim) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Column and row bounds of the period the simulator is at (see the module docstring).

        Returns:
            (col_lo, col_hi, row_lo, row_hi): shapes (n_cols,), (n_cols,), (n_rows,), (n_rows,).
        """
        d, t = sim.data, sim.t
        lo_kw, hi_kw = sim.bounds()
        col_lo, col_hi = self._lb0.copy(), self._ub0.copy()
        k = self.k
        col_lo[:k] = np.clip((lo_kw - self.mid) / self.half, -1.0, 1.0)
        col_hi[:k] = np.clip((hi_kw - self.mid) / self.half, -1.0, 1.0)
        col_hi[:k] = np.maximum(col_hi[:k], col_lo[:k])
        col_hi[self.c_ren] = float(d.wind_kw[t] + d.pv_kw[t]) / self._scale[self.c_ren]
        # round near-zero bounds inwards: HiGHS's QP solver fails ("claims optimality, but with primal
        # infeasibilities") on bounds of order 1e-5 (e.g. an almost full tank, a dusk PV trickle)
        col_lo[(col_lo > -_SNAP) & (col_lo < 0)] = 0.0
        col_hi[(col_hi < _SNAP) & (col_hi > 0)] = 0.0
        col_hi = np.maximum(col_hi, col_lo)
        row_lo, row_hi = self._row_lo0.copy(), self._row_hi0.copy()
        e_rhs = float(d.load_e_kw[t]) - float(self._e_sign @ self.mid)
        row_lo[0] = row_hi[0] = e_rhs
        row_lo[1] = float(d.load_h_kw[t]) + _HEAT_MARGIN_KW - float(self._h_coef @ self.mid)
        if self.r_carbon is not None:
            left = self.cfg.carbon.quota_kg_per_day - sim.emissions_kg
            row_hi[self.r_carbon] = left / d.dt_h - float(self._co2 @ self.mid)
        return col_lo, col_hi, row_lo, row_hi

    def project(self, sim: MultiEnergySim, a_raw: np.ndarray) -> ProjectionResult:
        """Project a raw normalised action onto the feasible set of the simulator's next period.

        Args:
            sim: the simulator, positioned at the period to act in (``sim.t``), not modified.
            a_raw: (k,) normalised action (values outside [-1, 1] are allowed).

        Returns:
            The :class:`ProjectionResult`; ``action`` is always within the period's device limits.

        """
        t0 = time.perf_counter()
        r = np.asarray(a_raw, dtype=np.float64).reshape(self.k)
        col_lo, col_hi, row_lo, row_hi = self.constraints(sim)
        cost = np.zeros(self.n_cols)
        cost[: self.k] = -2.0 * r
        h = self._h
        h.changeColsCost(self.n_cols, self._all_cols, cost)
        h.changeColsBounds(self.n_cols, self._all_cols, col_lo, col_hi)
        h.changeRowsBounds(self.n_rows, self._all_rows, row_lo, row_hi)
        status = self._solve()
        fallback = status != highspy.HighsModelStatus.kOptimal
        if fallback:  # infeasible, or a solver error: the slack formulation (exact when its slacks are 0)
            col_hi[self.c_slack] = _INF
            cost[self.c_slack] = self.slack_penalty * self._scale[self.c_slack]
            if self.r_carbon is not None:
                row_hi[self.r_carbon] = _INF
            h.changeColsCost(self.n_cols, self._all_cols, cost)
            h.changeColsBounds(self.n_cols, self._all_cols, col_lo, col_hi)
            h.changeRowsBounds(self.n_rows, self._all_rows, row_lo, row_hi)
            h.clearSolver()
            if self._solve() != highspy.HighsModelStatus.kOptimal:
                # last resort (never seen after the bound rounding): the simulator's clipping
                self.n_failed += 1
                h.clearSolver()
                a = np.clip(r, col_lo[: self.k], col_hi[: self.k])
                dist = float(np.linalg.norm(a - r))
                self.n_calls += 1
                self.n_infeasible += 1
                self.distance_sum += dist
                return ProjectionResult(a, dist, True, float("nan"), time.perf_counter() - t0)
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        a = np.clip(x[: self.k], col_lo[: self.k], col_hi[: self.k])
        slack = float(np.sum(x[self.c_slack] * self._scale[self.c_slack])) if fallback else 0.0
        infeasible = status == highspy.HighsModelStatus.kInfeasible or slack > 1e-6
        dist = float(np.linalg.norm(a - r))
        self.n_calls += 1
        self.n_infeasible += int(infeasible)
        self.distance_sum += dist
        return ProjectionResult(a, dist, infeasible, slack, time.perf_counter() - t0)

    def _solve(self) -> highspy.HighsModelStatus:
        """Run HiGHS; a solver error (not an infeasibility) is retried cold, then with the other QP method.

        HiGHS's active-set QP solver sometimes stops with "Solve error" ("claims optimality, but with
        primal infeasibilities") on degenerate corners (raw actions at the box vertices, empty or full
        stores); a cold restart is the fallback, counted in :attr:`n_solver_retries`; a solution it still
        flags so is accepted when it violates no row by more than 5e-3 kW (:attr:`n_accepted`; the heat row
        carries a 1e-2 kW margin, the grid absorbs electric residuals).
        """
        h = self._h
        h.run()
        status = h.getModelStatus()
        if status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible):
            return status
        self.n_solver_retries += 1
        self.retry_statuses.append(h.modelStatusToString(status))
        h.clearSolver()
        h.run()
        status = h.getModelStatus()
        if status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible):
            return status
        if status == highspy.HighsModelStatus.kSolveError and self._nearly_feasible():
            self.n_accepted += 1
            return highspy.HighsModelStatus.kOptimal
        return status

    def _nearly_feasible(self) -> bool:
        """The last solution violates no row by more than _ACCEPT_KW (rows are in kW / kg) nor any bound."""
        h = self._h
        sol = h.getSolution()
        if not sol.value_valid:
            return False
        lp = h.getLp()
        rv = np.asarray(sol.row_value)
        cv = np.asarray(sol.col_value)
        row_bad = np.maximum(np.asarray(lp.row_lower_) - rv, rv - np.asarray(lp.row_upper_)).max(initial=0.0)
        col_bad = np.maximum(np.asarray(lp.col_lower_) - cv, cv - np.asarray(lp.col_upper_)).max(initial=0.0)
        return bool(row_bad <= _ACCEPT_KW and col_bad <= 1e-6)

    def to_kw(self, a: np.ndarray) -> np.ndarray:
        """Normalised action (k,) to set-points in kW (k,) (the env's affine map)."""
        return self.mid + np.asarray(a, dtype=np.float64) * self.half


def _dummy_data():  # noqa: ANN202 - a one-period placeholder for the static ranges
    from aggregation.multi_energy import SiteData

    z = np.zeros(1)
    return SiteData(1.0, z, z, z, z, z, z)


class ProjectedEnv(gym.Wrapper):
    """In-loop projection (seed 001 §3.4): the env only ever receives the feasible action.

    ``step(a_raw)`` projects ``a_raw`` (clipped to the action box first, as the agent's output is)
    onto the feasible set, steps the wrapped :class:`learners.multi_energy_env.MultiEnergyEnv` with
    the feasible action, and returns its next state and reward. ``info`` gains ``a_feas`` (k,),
    ``proj_distance``, ``proj_infeasible``, ``proj_slack_kw`` and ``proj_s``; learners store
    ``info["a_feas"]`` in the replay buffer (:mod:`learners.sac_lax`).

    Args:
        env: a ``MultiEnergyEnv`` (or a wrapper around one; the simulator is ``env.unwrapped.core.sim``).
        carbon, slack_penalty: as :class:`ActionProjector`.
    """

    def __init__(self, env: gym.Env, *, carbon: str = "auto", slack_penalty: float = 1e4) -> None:
        super().__init__(env)
        self.projector = ActionProjector(env.unwrapped.core.cfg, carbon=carbon, slack_penalty=slack_penalty)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        raw = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
        res = self.projector.project(self.env.unwrapped.core.sim, raw)
        obs, reward, term, trunc, info = self.env.step(res.action)
        info = dict(info)
        info.update(a_feas=res.action.astype(np.float32), proj_distance=res.distance,
                    proj_infeasible=res.infeasible, proj_slack_kw=res.slack_kw, proj_s=res.solve_s)
        return obs, reward, term, trunc, info
