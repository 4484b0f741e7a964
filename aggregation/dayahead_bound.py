"""Day-ahead tracking bound with device dynamics (issue 11).

The best whole-day tracking of the normalised zero-carbon index that any
control of the parks' air conditioners and EV piles could reach, as a convex
linear programme over the horizon solved with HiGHS (``highspy``):

* **Air conditioners**: the first-order ETP model of ``ACFleet.step``, exact
  per period, ``T_k+1 = a T_k + (1 - a) (T_out + R (q - COP P_k))`` with
  ``a = exp(-dt / RC)`` and the occupancy-dependent gain ``q``. The power
  ``P_k`` is *relaxed* to the interval between the lowest and the highest
  power of the modes the device rules allow in period ``k`` (user schedule,
  ±8 °C set-point rule, non-activated units fixed): the discrete modes are a
  relaxation, so the bound is optimistic there. Comfort: the day's mean
  violation of occupied units (the ``comfort_violation_mean_c`` of the
  summary, a linear function of slack variables ``v >= T - T_high``,
  ``v >= T_low - T``) may not exceed the uncontrolled run's.
* **EV piles**: energy per period in ``[0, p_max * plugged hours]``; every
  session receives at least what the uncontrolled (plug-and-charge) run
  delivered to it within the horizon, less what it could still receive after
  the horizon at full power. Charging levels are relaxed to continuous power.
* **Everything else** (base load, PV, non-controllable kinds) is fixed.

**Objective.** The tracking distance ``indices.shape_distance`` min-max
normalises the load over the day, which is not convex in the load. We fix the
target's normalised shape ``e_k = minmax(eta_GI)_k`` and a range ``b`` (kW) and
minimise ``sum_k |L_k - c - b e_k|`` over the controls and a free offset
``c``, with the box ``0 <= L_k - c <= b`` (so the load's range is at most
``b``): the load is pulled onto an affine image of the index (L1, an LP; the
squared error, a QP, took ~1 min per solve in HiGHS' active-set QP solver at
560 DERs against ~1 s for the LP). A zero residual means a zero distance, and
a small residual relative to ``b`` a small distance, but the L1 optimum is not
the ``shape_distance`` optimum; therefore ``b`` is searched on a grid (multiples of the
uncontrolled range, :data:`SCALE_GRID`) and **every candidate is scored with the exact
``shape_distance``** on its own solution; the best is reported. What this
guarantees: the reported load is achievable under the relaxed device model
(modes continuous) with comfort and EV energy no worse than uncontrolled; its
distance is exact for that load. It is not a certified lower bound (the
scale search is a heuristic on a non-convex measure, and the L1 optimum is
degenerate: equally good L1 solutions differ in exact distance; at 560 DERs
warm-started solves in other grid orders reported 0.308-0.336 for the net
load, so each scale is solved from scratch and the result is deterministic),
and it is optimistic with respect to the discrete modes. Two targets are solved: the parks' whole
net load (base load and PV included) and the controllable load alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .indices import shape_distance
from .tracking import minmax

_AWAY_GAIN_SHARE = 0.35  # ACFleet: share of the internal gain left when the user is away
# Multiples of the uncontrolled range tried as the index's range b. The L1 programme has many optimal
# loads with different exact distances, so a dense grid matters more than its ends (issue 11: a
# 7-point grid reported 0.3226 at 560 DERs where this one finds 0.308).
SCALE_GRID = tuple(float(x) for x in np.round(np.arange(0.5, 3.001, 0.125), 3))
# Controllable units above which the bound is not computed by a run: at 5,600 DERs the LP takes
# minutes on 2 cores (raise aggregation.dayahead_bound.MAX_UNITS to compute it anyway).
MAX_UNITS = 1_000


@dataclass
class BoundInputs:
    """Everything the day-ahead programme needs, from a fresh copy of the model.

    Attributes:
        dt_h: period length (h).
        eta: (T,) system zero-carbon index.
        fixed_kw: (T,) parks' net load that no control changes (base load - PV ...), summed.
        ac_lo, ac_hi: (n_ac, T) relaxed power range of each air conditioner (kW).
        ac_usual_kw: (n_ac, T) power of its usual (uncontrolled) mode: the floor of a unit the
            organiser's comfort guard protects (``AirConditioner.comfort_avail``).
        ac_a: (n_ac,) thermal decay per period ``exp(-dt/RC)``.
        ac_gain_c: (n_ac, T) ``T_out + R q`` equilibrium without cooling (°C).
        ac_cool_c: (n_ac,) ``R COP`` (°C per kW of electric power).
        ac_t0: (n_ac,) indoor temperature at the start.
        ac_low, ac_high: (n_ac,) comfort band (°C).
        occupied: (n_ac, T) user present in period k (violation counted after the period).
        comfort_budget_c: sum over periods of the uncontrolled mean violation of occupied units.
        ev_cap_kwh: (n_ev, T) most energy a pile can take in period k (0 when unplugged).
        ev_lo_kwh: (n_ev, T) lower bound (non-activated piles are fixed to the uncontrolled energy).
        ev_session: (n_ev, T) index of the session a period belongs to (-1 when unplugged).
        ev_need_kwh: (n_ev, n_sessions) least energy each session must receive in the horizon.
        ev_max_kwh: (n_ev, n_sessions) most energy it can take (what it still needs at the start).
        unc_ac_kw, unc_ev_kw: (n, T) the uncontrolled run's powers.
        unc_net_kw, unc_flex_kw: (T,) the uncontrolled run's whole-park net and controllable load.
        unc_comfort_c: (T,) the uncontrolled mean violation of occupied units per period.
        ac_park, ev_park: (n,) park of each unit; n_parks: number of parks.
    """

    dt_h: float
    eta: np.ndarray
    fixed_kw: np.ndarray
    ac_lo: np.ndarray
    ac_hi: np.ndarray
    ac_usual_kw: np.ndarray
    ac_a: np.ndarray
    ac_gain_c: np.ndarray
    ac_cool_c: np.ndarray
    ac_t0: np.ndarray
    ac_low: np.ndarray
    ac_high: np.ndarray
    occupied: np.ndarray
    comfort_budget_c: float
    ev_cap_kwh: np.ndarray
    ev_lo_kwh: np.ndarray
    ev_session: np.ndarray
    ev_need_kwh: np.ndarray
    ev_max_kwh: np.ndarray
    unc_ac_kw: np.ndarray
    unc_ev_kw: np.ndarray
    unc_net_kw: np.ndarray
    unc_flex_kw: np.ndarray
    unc_comfort_c: np.ndarray
    ac_park: np.ndarray
    ev_park: np.ndarray
    n_parks: int

    @property
    def n_steps(self) -> int:
        return len(self.eta)


def _fresh_copy(model):
    """An unstepped, uncontrolled twin of ``model`` (same parks, signal, weather and seed)."""
    from .model import VppModel

    return VppModel(list(model.parks), model.signal, model.weather, day_of_year=model.day_of_year,
                    step_h=model.step_h, scale=model.scale, lam=model.lam, handles=False, seed=model.seed_value)


def bound_inputs(model) -> BoundInputs:
    """Collect the programme's data: device parameters at the start, the uncontrolled run's trajectory.

    Args:
        model: a ``VppModel`` (run or not); a fresh uncontrolled twin is built and run.
    """
    twin = _fresh_copy(model)
    f = twin.fleet
    n_t, dt = twin.n_steps, twin.step_h
    ac = f.units.get("ac")
    ev = f.units.get("ev")
    n_ac = 0 if ac is None else len(ac.t_in_c)
    n_ev = 0 if ev is None else len(ev.p_kw)
    ac_lo, ac_hi, ac_usual = np.zeros((n_ac, n_t)), np.zeros((n_ac, n_t)), np.zeros((n_ac, n_t))
    gain_c, occ = np.zeros((n_ac, n_t)), np.zeros((n_ac, n_t), bool)
    ev_cap, ev_sess = np.zeros((n_ev, n_t)), np.full((n_ev, n_t), -1, np.int64)
    unc_ac, unc_ev = np.zeros((n_ac, n_t)), np.zeros((n_ev, n_t))
    if n_ac:
        t0 = ac.t_in_c.astype(np.float64).copy()
        r = ac.r_c_per_kw.astype(np.float64)
        a = np.exp(-dt / (r * ac.c_kwh_per_c.astype(np.float64)))
        cool = r * ac.cop.astype(np.float64)
    if n_ev:
        e_rem0 = ev.e_rem_kwh.astype(np.float64).copy()
        horizon_end = n_t * dt
        after_h = np.maximum(ev.departure_h.astype(np.float64) - horizon_end, 0.0)
        pmax_ev = ev.p_max_kw.astype(np.float64)
    comfort_u = np.zeros(n_t)
    for k in range(n_t):
        ctx = twin.context(k)
        if n_ac:
            hour = ctx.hour_of_day
            usual = ac.usual_mode(hour)
            av = ac.available_actions(hour, usual)
            cand = ac.mode_power_kw(ctx.t_out_c).astype(np.float64)
            ac_lo[:, k] = np.where(av, cand, np.inf).min(axis=1)
            ac_hi[:, k] = np.where(av, cand, -np.inf).max(axis=1)
            ac_usual[:, k] = cand[np.arange(n_ac), usual]
            occ[:, k] = ac.user_on(hour)
            share = np.where(occ[:, k], 1.0, _AWAY_GAIN_SHARE)
            gain_c[:, k] = ctx.t_out_c + r * share * ac.q_gain_kw.astype(np.float64)
        if n_ev:
            s = ev.session(ctx.t_h, dt)
            plugged = s.plugged_h > 0
            ev_cap[:, k] = np.where(plugged, pmax_ev * s.plugged_h, 0.0)
            ev_sess[:, k] = np.where(plugged, s.j, -1)
        twin.step()
        if n_ac:
            unc_ac[:, k] = ac.p_kw
        if n_ev:
            unc_ev[:, k] = ev.p_kw
        comfort_u[k] = float(twin.last.get("comfort_violation_mean_c", 0.0))
    sysdf = twin.system_series()
    unc_net = sysdf["net_kw"].to_numpy(float)
    unc_flex = twin.flexible_kw(sysdf).to_numpy(float)
    # Sessions: what plug-and-charge delivered, less what could still come after the horizon.
    n_sess = 0 if not n_ev else ev.departure_h.shape[1]
    need = np.zeros((n_ev, n_sess))
    e_max = e_rem0 if n_ev else np.zeros((0, 0))
    ev_lo = np.zeros((n_ev, n_t))
    if n_ev:
        delivered = np.zeros((n_ev, n_sess))
        rows, cols = np.nonzero(ev_sess >= 0)
        np.add.at(delivered, (rows, ev_sess[rows, cols]), unc_ev[rows, cols] * dt)
        delivered = np.minimum(delivered, e_rem0)
        need = np.maximum(delivered - pmax_ev[:, None] * after_h, 0.0) * (1.0 - 1e-9)
        fixed = ~ev.activated.astype(bool)
        ev_lo[fixed] = unc_ev[fixed] * dt
        ev_cap[fixed] = unc_ev[fixed] * dt
        ev_cap = np.maximum(ev_cap, ev_lo)
    ac_kw = unc_ac.sum(axis=0) if n_ac else np.zeros(n_t)
    ev_kw = unc_ev.sum(axis=0) if n_ev else np.zeros(n_t)
    return BoundInputs(
        dt_h=dt,
        eta=np.asarray(twin.eta_gi[:n_t], float),
        fixed_kw=unc_net - ac_kw - ev_kw,
        ac_lo=np.minimum(ac_lo, unc_ac), ac_hi=np.maximum(ac_hi, unc_ac), ac_usual_kw=ac_usual,
        ac_a=a if n_ac else np.zeros(0), ac_gain_c=gain_c, ac_cool_c=cool if n_ac else np.zeros(0),
        ac_t0=t0 if n_ac else np.zeros(0),
        ac_low=np.asarray(ac.comfort_low_c, float) if n_ac else np.zeros(0),
        ac_high=np.asarray(ac.comfort_high_c, float) if n_ac else np.zeros(0),
        occupied=occ, comfort_budget_c=float(comfort_u.sum()),
        ev_cap_kwh=ev_cap, ev_lo_kwh=ev_lo, ev_session=ev_sess, ev_need_kwh=need,
        ev_max_kwh=e_max,
        unc_ac_kw=unc_ac, unc_ev_kw=unc_ev, unc_net_kw=unc_net, unc_flex_kw=unc_flex, unc_comfort_c=comfort_u,
        ac_park=np.asarray(ac.park, np.int64) if n_ac else np.zeros(0, np.int64),
        ev_park=np.asarray(ev.park, np.int64) if n_ev else np.zeros(0, np.int64),
        n_parks=f.n_parks,
    )


def etp_step(inp: BoundInputs, t_c: np.ndarray, ac_kw: np.ndarray, k: int) -> np.ndarray:
    """(n_ac,) indoor temperature (°C) at the end of period ``k`` from ``t_c`` at its start and the
    period's AC power ``ac_kw`` (kW): ``ACFleet.step``'s exact ETP recurrence, occupancy gain included."""
    eq = inp.ac_gain_c[:, k] - inp.ac_cool_c * ac_kw
    return eq + (t_c - eq) * inp.ac_a


def simulate(inp: BoundInputs, ac_kw: np.ndarray, ev_kwh: np.ndarray) -> dict[str, np.ndarray | float]:
    """Replay continuous AC powers and EV energies through the device dynamics.

    Args:
        inp: the programme's data.
        ac_kw: (n_ac, T) AC power per period.
        ev_kwh: (n_ev, T) EV energy per period.

    Returns:
        ``t_in_c`` (n_ac, T) temperature at the end of each period, ``comfort_c`` (T,) mean
        violation of occupied units, ``comfort_mean_c``, ``session_kwh`` (n_ev, n_sessions)
        energy per session, ``ev_short_kwh`` total shortfall against the sessions' needs.
    """
    n_ac, n_t = inp.ac_lo.shape
    temp = np.zeros((n_ac, n_t))
    t = inp.ac_t0.copy()
    comfort = np.zeros(n_t)
    for k in range(n_t):  # 24 periods; every step is vectorised over the units
        t = etp_step(inp, t, ac_kw[:, k], k)
        temp[:, k] = t
        o = inp.occupied[:, k]
        if o.any():
            viol = np.maximum(t - inp.ac_high, 0.0) + np.maximum(inp.ac_low - t, 0.0)
            comfort[k] = viol[o].mean()
    sess = np.zeros_like(inp.ev_need_kwh)
    rows, cols = np.nonzero(inp.ev_session >= 0)
    np.add.at(sess, (rows, inp.ev_session[rows, cols]), ev_kwh[rows, cols])
    short = float(np.maximum(inp.ev_need_kwh - sess, 0.0).sum())
    return {"t_in_c": temp, "comfort_c": comfort, "comfort_mean_c": float(comfort.mean()),
            "session_kwh": sess, "ev_short_kwh": short}


@dataclass
class BoundSolution:
    """One solved programme.

    Attributes:
        target: ``"net"`` (whole parks' net load) or ``"flexible"`` (controllable load).
        distance: exact ``shape_distance`` of the best candidate's load.
        scale_kw: its range ``b``.
        load_kw: (T,) its load (net or controllable, as targeted).
        flex_kw: (T,) its controllable load.
        ac_kw: (n_ac, T), ev_kwh: (n_ev, T) its controls.
        candidates: ``(b, distance)`` of every scale tried.
        score: the value the candidates were ranked by (``distance`` unless :func:`solve` got
            a ``score``).
    """

    target: str
    distance: float
    scale_kw: float
    load_kw: np.ndarray
    flex_kw: np.ndarray
    ac_kw: np.ndarray
    ev_kwh: np.ndarray
    candidates: list[tuple[float, float]]
    score: float = float("nan")


def _build(inp: BoundInputs):
    """Sparse constraint matrix of the programme (the tracking rows' bounds depend on the scale).

    Variable layout: P (n_ac*T), Tm (n_ac*T), V (n_ac*T), E (n_ev*T), c (1), r+ (T), r- (T).
    The objective ``sum_k r+_k + r-_k`` is set here (the L1 tracking residual).
    """
    n_ac, n_t = inp.ac_lo.shape
    n_ev = inp.ev_cap_kwh.shape[0]
    na = n_ac * n_t
    o_p, o_t, o_v, o_e = 0, na, 2 * na, 3 * na
    o_c = o_e + n_ev * n_t
    o_r = o_c + 1
    n_var = o_r + 2 * n_t
    lo = np.zeros(n_var)
    hi = np.full(n_var, np.inf)
    lo[o_p:o_t], hi[o_p:o_t] = inp.ac_lo.ravel(), inp.ac_hi.ravel()
    lo[o_t:o_v], hi[o_t:o_v] = -np.inf, np.inf
    lo[o_e:o_c], hi[o_e:o_c] = inp.ev_lo_kwh.ravel(), inp.ev_cap_kwh.ravel()
    lo[o_c], hi[o_c] = -np.inf, np.inf
    rows, cols, vals, rlo, rhi = [], [], [], [], []
    r0 = 0
    i_ac = np.repeat(np.arange(n_ac), n_t)
    k_ac = np.tile(np.arange(n_t), n_ac)
    idx = np.arange(na)
    if n_ac:
        # Thermal: Tm_k - a Tm_{k-1} + (1-a) R COP P_k = (1-a) (T_out + R q)_k   (+ a T0 at k = 0).
        a = inp.ac_a[i_ac]
        rows += [r0 + idx, r0 + idx]
        cols += [o_t + idx, o_p + idx]
        vals += [np.ones(na), (1 - a) * inp.ac_cool_c[i_ac]]
        prev = k_ac > 0
        rows.append(r0 + idx[prev])
        cols.append(o_t + idx[prev] - 1)
        vals.append(-a[prev])
        rhs = (1 - a) * inp.ac_gain_c.ravel() + np.where(prev, 0.0, a * inp.ac_t0[i_ac])
        rlo.append(rhs)
        rhi.append(rhs)
        r0 += na
        # Violation: Tm - V <= high and -Tm - V <= -low.
        for sign, bound in ((1.0, inp.ac_high[i_ac]), (-1.0, -inp.ac_low[i_ac])):
            rows += [r0 + idx, r0 + idx]
            cols += [o_t + idx, o_v + idx]
            vals += [np.full(na, sign), -np.ones(na)]
            rlo.append(np.full(na, -np.inf))
            rhi.append(bound)
            r0 += na
        # Comfort budget: sum_k mean_{occupied i} V_ik <= uncontrolled.
        n_occ = inp.occupied.sum(axis=0)
        w = np.where(inp.occupied, 1.0 / np.maximum(n_occ, 1)[None, :], 0.0).ravel()
        nz = np.flatnonzero(w)
        rows.append(np.full(nz.size, r0))
        cols.append(o_v + nz)
        vals.append(w[nz])
        rlo.append(np.array([-np.inf]))
        rhi.append(np.array([inp.comfort_budget_c + 1e-7]))
        r0 += 1
    if n_ev:
        # Session energy: need <= sum_{k in session} E_ik <= what the car still needs.
        er, ek = np.nonzero(inp.ev_session >= 0)
        sess_key = er * inp.ev_need_kwh.shape[1] + inp.ev_session[er, ek]
        need = inp.ev_need_kwh.ravel()
        used, row_of = np.unique(sess_key, return_inverse=True)
        rows.append(r0 + row_of)
        cols.append(o_e + er * n_t + ek)
        vals.append(np.ones(er.size))
        rlo.append(need[used])
        rhi.append(np.maximum(inp.ev_max_kwh.ravel()[used], need[used]))
        r0 += used.size
    # Tracking: sum_i P_ik + sum_i E_ik / dt - c - r+_k + r-_k = b e_k - fixed_k (bounds set per scale).
    track0 = r0
    kk = np.arange(n_t)
    rows += [r0 + k_ac, r0 + np.tile(kk, n_ev), r0 + kk, r0 + kk, r0 + kk]
    cols += [o_p + idx, o_e + np.arange(n_ev * n_t), np.full(n_t, o_c), o_r + kk, o_r + n_t + kk]
    vals += [np.ones(na), np.full(n_ev * n_t, 1.0 / inp.dt_h), -np.ones(n_t), -np.ones(n_t), np.ones(n_t)]
    rlo.append(np.zeros(n_t))
    rhi.append(np.zeros(n_t))
    r0 += n_t
    # Box: 0 <= L_k - c = b e_k + r+_k - r-_k <= b, so that L's range is at most b and its
    # normalisation close to (L - c) / b (bounds set per scale).
    box0 = r0
    rows += [r0 + kk, r0 + kk]
    cols += [o_r + kk, o_r + n_t + kk]
    vals += [np.ones(n_t), -np.ones(n_t)]
    rlo.append(np.zeros(n_t))
    rhi.append(np.zeros(n_t))
    r0 += n_t
    a_mat = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, n_var)
    )
    layout = {"p": o_p, "e": o_e, "r": o_r, "n_var": n_var, "track0": track0, "box0": box0}
    return a_mat, lo, hi, np.concatenate(rlo), np.concatenate(rhi), layout


def solve(
    inp: BoundInputs,
    target: str = "net",
    scales: tuple[float, ...] = SCALE_GRID,
    score: Callable[[np.ndarray, np.ndarray], float] | None = None,
) -> BoundSolution:
    """Solve the programme for one target over a grid of scales and keep the best exact distance.

    Args:
        inp: the programme's data (:func:`bound_inputs`).
        target: ``"net"`` (whole parks' net load) or ``"flexible"`` (controllable load only).
        scales: multiples of the uncontrolled load's range tried as the index's range ``b``.
        score: optional ranking of the candidates, ``score(ac_kw, ev_kwh) -> float`` (lower is
            better); default the exact ``shape_distance`` of the candidate's load (the bound).
            The level plan ranks by the distance its load keeps once the organiser's per-unit
            comfort guard is applied (:func:`aggregation.level_fitness.guard_replay`).
    """
    import highspy

    if target not in ("net", "flexible"):
        raise ValueError(f"target must be 'net' or 'flexible', got {target!r}")
    n_ac, n_t = inp.ac_lo.shape
    n_ev = inp.ev_cap_kwh.shape[0]
    fixed = inp.fixed_kw if target == "net" else np.zeros(n_t)
    unc = inp.unc_net_kw if target == "net" else inp.unc_flex_kw
    e = minmax(inp.eta)
    a_mat, lo, hi, rlo, rhi, lay = _build(inp)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a_mat.shape[1], a_mat.shape[0]
    cost = np.zeros(lp.num_col_)
    cost[lay["r"] :] = 1.0
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = lo, hi
    lp.row_lower_, lp.row_upper_ = rlo, rhi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a_mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a_mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = a_mat.data.astype(np.float64)
    span = max(float(unc.max() - unc.min()), 1e-6)
    track, box = slice(lay["track0"], lay["track0"] + n_t), slice(lay["box0"], lay["box0"] + n_t)
    best: BoundSolution | None = None
    tried: list[tuple[float, float]] = []
    for s in scales:
        b = s * span
        row_lo, row_hi = rlo.copy(), rhi.copy()
        row_lo[track] = row_hi[track] = b * e - fixed
        row_lo[box], row_hi[box] = -b * e, b * (1.0 - e)
        lp.row_lower_, lp.row_upper_ = row_lo, row_hi
        # A fresh solve per scale: warm starts made the (degenerate) optimum, hence the exact
        # distance reported, depend on the order of the grid.
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(lp)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            tried.append((b, float("nan")))
            continue
        x = np.asarray(h.getSolution().col_value)
        ac_kw = x[lay["p"] : lay["p"] + n_ac * n_t].reshape(n_ac, n_t)
        ev_kwh = x[lay["e"] : lay["e"] + n_ev * n_t].reshape(n_ev, n_t)
        flex = ac_kw.sum(axis=0) + ev_kwh.sum(axis=0) / inp.dt_h
        load = fixed + flex
        d = shape_distance(load, inp.eta)
        rank = d if score is None else float(score(ac_kw, ev_kwh))
        tried.append((b, d))
        if best is None or rank < best.score:
            best = BoundSolution(target, d, b, load, flex, ac_kw.copy(), ev_kwh.copy(), tried, rank)
    if best is None:
        raise RuntimeError("the day-ahead programme found no optimal solution at any scale")
    return best


def compute(model, scales: tuple[float, ...] = SCALE_GRID) -> tuple[dict[str, float], pd.DataFrame | None]:
    """The bound's figures and its per-period loads (one solve per target).

    Returns:
        ``(figures, series)``: see :func:`dayahead_bound`; ``series`` has ``eta_gi``, ``net_kw``
        (the whole-park solution), ``flexible_kw`` (the controllable-load solution) and the
        uncontrolled loads per period, or None when the bound was skipped.
    """
    n_units = sum(len(u.p_kw) for name, u in model.fleet.units.items() if name in ("ac", "ev"))
    if n_units > MAX_UNITS:
        return {"bound_tracking_distance": float("nan"), "bound_tracking_distance_flexible": float("nan"),
                "bound_skipped": 1.0}, None
    inp = bound_inputs(model)
    out: dict[str, float] = {
        "bound_uncontrolled_distance": shape_distance(inp.unc_net_kw, inp.eta),
        "bound_uncontrolled_distance_flexible": shape_distance(inp.unc_flex_kw, inp.eta),
        "bound_uncontrolled_comfort_c": float(inp.unc_comfort_c.mean()),
    }
    loads = {}
    for target, suffix in (("net", ""), ("flexible", "_flexible")):
        sol = solve(inp, target, scales)
        rep = simulate(inp, sol.ac_kw, sol.ev_kwh)
        out[f"bound_tracking_distance{suffix}"] = sol.distance
        out[f"bound_scale_kw{suffix}"] = sol.scale_kw
        out[f"bound_comfort_violation_mean_c{suffix}"] = rep["comfort_mean_c"]
        out[f"bound_ev_short_kwh{suffix}"] = rep["ev_short_kwh"]
        loads[target] = sol.load_kw
    series = pd.DataFrame({"eta_gi": inp.eta, "net_kw": loads["net"], "flexible_kw": loads["flexible"],
                           "uncontrolled_net_kw": inp.unc_net_kw, "uncontrolled_flexible_kw": inp.unc_flex_kw})
    return out, series


def dayahead_bound(model, scales: tuple[float, ...] = SCALE_GRID) -> dict[str, float]:
    """The day-ahead tracking bound of a scenario's parks, for the summary table and ``comparison.json``.

    Args:
        model: a ``VppModel`` of the scenario (its parks, signal, weather and seed are used; a fresh
            uncontrolled twin is simulated, so a model that already ran is fine).
        scales: the range grid of :func:`solve`.

    Returns:
        ``bound_tracking_distance`` (whole parks' net load), ``bound_tracking_distance_flexible``
        (controllable load), the uncontrolled distances, the bound's comfort violation and EV shortfall
        when replayed through the dynamics (:func:`simulate`), the scales; NaNs with ``bound_skipped = 1``
        above :data:`MAX_UNITS` controllable units.
    """
    return compute(model, scales)[0]
