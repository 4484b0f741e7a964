"""Grid in the loop: parks on their buses, nodal zero-carbon index, fixed-point iteration, flexibility envelope.

One :class:`aggregation.model.VppModel` is run per *bus group* (the parks sharing a bus), because a
model sees one zero-carbon signal per period: with ``system_index.source: grid_nodal`` the signal of
a bus group is its bus's renewable share by carbon emission flow (``grid.cef``). The renewable share
rho_b(t) of bus b becomes the model's (e_res, e_tot) pair as

    e_tot(t) = total generation of the dispatch in period t (MWh),  e_res_b(t) = rho_b(t) * e_tot(t),

so that eta_GI = e_res / e_tot = rho_b exactly, and the renewable gradient g (first difference of
e_res over its daily maximum, seed 003 Eq. 3) follows the renewable energy *reaching the bus*. With
``source: grid`` every group gets the system share of the same dispatch. The self-organised hierarchy
then forms within each bus group (parks at different buses never share a coalition: they see
different signals).

The closed loop (``docs/grid.md`` section 6.4): P_1 = F(D(0)) is the open loop (DERs respond to the
dispatch without their change); then R_k = F(D(P_k)), residual r_k = max |R_k - P_k| (MW, over buses
and periods); stop when r_k < tolerance (the DERs' loads R_k are the final loads, a fixed point within
tolerance), else P_{k+1} = P_k + damping (R_k - P_k). D is the DC dispatch, F the DER day. Loads are
*changes* against the uncontrolled day of the same parks (the parks are existing consumers).
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from aggregation.model import Decider, SystemSignal, VppModel, policy_decider
from aggregation.policy import KindView, Policy, RulePolicy
from aggregation.specs import ParkSpec

from .base import ScenarioError
from .build import build_model
from .schema import Scenario

__all__ = [
    "BusGroup", "GroupEnvelope", "GroupPool", "LoopResult", "UncontrolledDay", "bus_signals", "envelope_excess",
    "envelope_kw", "groups_for", "replica_peak_mw", "run_closed_loop", "run_controlled", "run_uncontrolled",
]

Controlled = Callable[[], tuple[Policy, Decider | None]]


@dataclass(frozen=True)
class BusGroup:
    """Parks sharing a bus, simulated as one model.

    Attributes:
        bus: pandapower bus index.
        parks: the parks of the group (scenario specs).
        scale: model scale (multiplies every DER count and base load of these parks).
        replicas: whole replicas of the scenario's park set at the bus (``renewable_first``), else 0.
    """

    bus: int
    parks: tuple[ParkSpec, ...]
    scale: float
    replicas: int = 0


@dataclass
class GroupEnvelope:
    """Flexibility of one bus group's controllable load, relative to its uncontrolled day (kW, kWh).

    Attributes:
        p_min_kw, p_max_kw: (T,) lowest / highest controllable load change per period.
        energy_min_kwh, energy_max_kwh: daily band of the change (AC energy within comfort).
        cum_min_kwh: (T,) lowest cumulative change by the end of each period (EV energy by departure).
    """

    p_min_kw: np.ndarray
    p_max_kw: np.ndarray
    energy_min_kwh: float
    energy_max_kwh: float
    cum_min_kwh: np.ndarray


@dataclass
class UncontrolledDay:
    """A bus group's uncontrolled day: net load (kW, (T,)) and its flexibility envelope."""

    net_kw: np.ndarray
    envelope: GroupEnvelope
    n_ders: int


@dataclass
class LoopResult:
    """Open and closed loop of one agent count.

    Attributes:
        open_mw: (G, T) park load change of the open loop (response to the dispatch without DERs).
        final_mw: (G, T) the DERs' loads at the end (closed loop; equal to ``open_mw`` when disabled).
        iterations: DER passes made (1 = open loop only).
        residuals_mw: r_k of every closed-loop pass (max |R_k - P_k|).
        converged: residual below tolerance (True when the loop is disabled).
        notes: warnings (cap reached, oscillation, infeasible dispatch).
    """

    open_mw: np.ndarray
    final_mw: np.ndarray
    iterations: int
    residuals_mw: list[float] = field(default_factory=list)
    converged: bool = True
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- placement
def replica_peak_mw(sc: Scenario, scale: float) -> float:
    """Nameplate peak (MW) of the scenario's parks at ``scale``: base-load peaks plus DER ratings.

    AC units count at their compressor limit ``p_max_kw`` and EV piles at their rating, as
    ``Fleet.park_p_max_kw`` does; local PV is not subtracted (a conservative capacity rule).
    """
    kw = 0.0
    for p in sc.parks:
        kw += (p.base_load.peak_kw if p.base_load is not None else 0.0) * scale
        if getattr(p, "ac", None) is not None:
            kw += round(p.ac.count * scale) * float(p.ac.p_max_kw)
        if getattr(p, "ev", None) is not None:
            kw += round(p.ev.count * scale) * float(p.ev.p_max_kw)
    return kw / 1000.0


def groups_for(sc: Scenario, case, n_agents: int):
    """Bus groups for ``n_agents`` participating DERs, by the scenario's placement rule.

    ``renewable_first``: ``ceil(N / agents_per_replica)`` equal replicas of the scenario's park set,
    each at scale ``N / (replicas x agents of the parks at scale 1)``, on buses by
    :func:`grid.placement.place_replicas`; a bus with k replicas is one model at k x that scale.
    ``park_bus``: every park at its own ``bus`` field, scale ``N / agents at scale 1``; parks
    sharing a bus form one group.

    Returns:
        (groups, placement or None).

    Raises:
        ScenarioError: ``park_bus`` with a park without ``bus``.
    """
    from grid.placement import place_replicas, replica_count

    pl = sc.grid.placement
    unit = sc.n_ders(1.0)
    if n_agents <= 0:
        return [], None
    if pl.rule == "park_bus":
        missing = [p.name for p in sc.parks if p.bus is None]
        if missing:
            raise ScenarioError(f"scenario {sc.name}: placement rule 'park_bus' needs a 'bus' for parks {missing}")
        scale = n_agents / unit
        by_bus: dict[int, list[ParkSpec]] = {}
        for p in sc.parks:
            by_bus.setdefault(int(p.bus), []).append(p)
        return [BusGroup(b, tuple(ps), scale) for b, ps in by_bus.items()], None
    per = pl.agents_per_replica or unit
    n_rep = replica_count(n_agents, per)
    rep_scale = n_agents / (n_rep * unit)
    placement = place_replicas(case, n_rep, replica_peak_mw(sc, rep_scale), buses=pl.buses,
                               max_load_share=pl.max_load_share)
    groups = [BusGroup(b, tuple(sc.parks), k * rep_scale, k) for b, k in placement.as_dict().items()]
    return groups, placement


# --------------------------------------------------------------------------- signals
def bus_signals(sc: Scenario, case, result, buses: Sequence[int]) -> dict[int, SystemSignal]:
    """{bus: SystemSignal} from a dispatch: nodal renewable share (``grid_nodal``) or system share.

    e_tot is the dispatch's total generation per period (MWh), e_res = share x e_tot (module docstring).
    """
    e_tot = np.asarray(result.total_generation_mw, float) * sc.step_h
    if sc.system_index.source == "grid_nodal":
        from grid.cef import nodal_zero_carbon_index

        shares = nodal_zero_carbon_index(case, result, list(buses)) if len(buses) else {}
    else:
        shares = {int(b): np.asarray(result.eta_gi, float) for b in buses}
    return {int(b): SystemSignal(np.clip(shares[int(b)], 0.0, 1.0) * e_tot, e_tot) for b in buses}


# --------------------------------------------------------------------------- DER days
class _EnvelopeRecorder:
    """A decider that records each period's candidate-power range and acts as the plain policy."""

    def __init__(self) -> None:
        self.rows: list[dict[str, tuple[float, float, float]]] = []

    def __call__(self, views: dict[str, KindView], policy: Policy, *, targets=None) -> dict[str, np.ndarray]:
        row = {}
        for name, view in views.items():
            c = np.asarray(view.candidate_p_kw, float)
            a = np.asarray(view.avail, bool)
            usual = np.asarray(view.usual)
            lo = np.where(a, c, np.inf).min(axis=1)
            hi = np.where(a, c, -np.inf).max(axis=1)
            u = c[np.arange(view.n), usual]
            row[name] = (float(lo.sum()), float(hi.sum()), float(u.sum()))
        self.rows.append(row)
        return policy_decider(views, policy)


def _group_scenario(sc: Scenario, g: BusGroup) -> Scenario:
    return sc.model_copy(update={"parks": list(g.parks), "scale": g.scale})


def run_uncontrolled(sc: Scenario, g: BusGroup, weather) -> UncontrolledDay:
    """The group's uncontrolled day (rule policy) and its flexibility envelope (``envelope_kw``)."""
    rec = _EnvelopeRecorder()
    flat = SystemSignal(np.ones(sc.n_steps), np.ones(sc.n_steps) * 2.0)  # the rule policy ignores it
    m = build_model(_group_scenario(sc, g), RulePolicy(), rec, handles=False, weather=weather, signal=flat)
    m.run()
    net = m.system_series()["net_kw"].to_numpy(float)
    return UncontrolledDay(net, envelope_kw(m, rec), m.fleet.n_ders)


def envelope_kw(m: VppModel, rec: _EnvelopeRecorder) -> GroupEnvelope:
    """Flexibility envelope of a model's controllable load from its uncontrolled day.

    Per period: the sum over units of the lowest and highest candidate power among the actions the
    unit may take (``KindView.avail``: device rules, non-activated units fixed), read along the
    uncontrolled trajectory, minus the usual actions' power. EV piles: cumulative energy by the end of
    each period at least what charging as late as possible at the pile rating delivers by departure
    (the sessions' needs, capped by what the plug-in time allows). Air conditioners: the daily energy
    may move by the cooling stored in the comfort band at the day's end, C (T_end - T_low) / COP up and
    C (T_high - T_end) / COP down (activated units). See ``docs/grid.md`` section 6.5 for what is
    optimistic.
    """
    dt = m.step_h
    kinds = sorted({k for r in rec.rows for k in r})
    # (T, 3) per kind: lowest, highest and usual power of each period
    per_kind = {k: np.array([r.get(k, (0.0, 0.0, 0.0)) for r in rec.rows], dtype=float).reshape(-1, 3) for k in kinds}
    lo = {k: v[:, 0] for k, v in per_kind.items()}
    hi = {k: v[:, 1] for k, v in per_kind.items()}
    us = {k: v[:, 2] for k, v in per_kind.items()}
    n_t = len(rec.rows)
    usual = sum(us.values()) if kinds else np.zeros(n_t)
    p_min = (sum(lo.values()) if kinds else np.zeros(n_t)) - usual
    p_max = (sum(hi.values()) if kinds else np.zeros(n_t)) - usual
    cum_usual = np.cumsum(usual) * dt
    cum_floor = np.cumsum(sum(v for k, v in lo.items() if k != "ev") if kinds else np.zeros(n_t)) * dt
    if "ev" in m.fleet.units and "ev" in lo:
        ev = m.fleet.units["ev"]
        horizon = n_t * dt
        arr = np.asarray(ev.arrival_h, float)
        dep = np.asarray(ev.departure_h, float)
        need = np.asarray(ev.e_need_kwh, float)
        pmax = np.asarray(ev.p_max_kw, float)[:, None]
        # Energy still needed at 0 h (a session plugged in before the run has charged at full power
        # since its arrival, as the fleet assumes), capped by what the plug-in time after 0 h allows.
        rem = np.clip(need - pmax * np.clip(np.minimum(dep, 0.0) - arr, 0.0, None), 0.0, None)
        e = np.minimum(rem, pmax * np.clip(dep - np.maximum(arr, 0.0), 0.0, None))
        e = np.where((arr < horizon) & (dep > 0.0), e, 0.0)
        ends = (np.arange(n_t) + 1.0) * dt
        late = np.clip(e[..., None] - pmax[..., None] * np.clip(dep[..., None] - ends, 0.0, None), 0.0, None)
        ev_late = np.maximum(late.sum(axis=(0, 1)), np.cumsum(lo["ev"]) * dt)
    else:
        ev_late = np.cumsum(lo.get("ev", np.zeros(n_t))) * dt
    # The uncontrolled day must stay inside its own envelope (rounding, unmet EV energy).
    cum_min = np.minimum(cum_floor + ev_late - cum_usual, 0.0)
    e_lo, e_hi = 0.0, 0.0
    if "ac" in m.fleet.units:
        ac = m.fleet.units["ac"]
        act = np.asarray(ac.activated, bool)
        c = np.asarray(ac.c_kwh_per_c, float)[act] / np.asarray(ac.cop, float)[act]
        t_end = np.asarray(ac.t_in_c, float)[act]
        e_hi = float((c * np.clip(t_end - np.asarray(ac.comfort_low_c, float)[act], 0.0, None)).sum())
        e_lo = -float((c * np.clip(np.asarray(ac.comfort_high_c, float)[act] - t_end, 0.0, None)).sum())
    # EV energy can only fall inside the horizon (deferred past its end), never rise above the
    # uncontrolled plug-and-charge delivery.
    e_min = min(e_lo + min(cum_min[-1] if n_t else 0.0, 0.0), 0.0)
    return GroupEnvelope(np.minimum(p_min, 0.0), np.maximum(p_max, 0.0), e_min, max(e_hi, 0.0), cum_min)


def run_controlled(sc: Scenario, g: BusGroup, weather, signal: SystemSignal, controlled: Controlled) -> np.ndarray:
    """(T,) net load (kW) of a bus group's controlled day under ``signal``.

    Only the loads are read, so the self-organiser keeps no per-period records (same actions).
    """
    policy, decider = controlled()
    if hasattr(decider, "records"):
        decider.records = False
    m = build_model(_group_scenario(sc, g), policy, decider, handles=False, weather=weather, signal=signal)
    m.run()
    return m.system_series()["net_kw"].to_numpy(float)


def envelope_excess(days: Sequence[UncontrolledDay], change_mw: np.ndarray, step_h: float) -> float:
    """How far load changes (G, T) MW leave the groups' envelopes: the largest excess, MW or MWh.

    0 when every per-period, daily-energy and cumulative-energy limit holds. A positive value means
    the DERs did something the envelope does not allow (e.g. EV energy left unmet, comfort left), so
    the bound does not cover that row and its share may exceed 1.
    """
    worst = 0.0
    for d, mw in zip(days, np.atleast_2d(change_mw), strict=True):
        e, kw = d.envelope, mw * 1000.0
        cum = np.cumsum(kw) * step_h
        ex = [np.max(e.p_min_kw - kw, initial=0.0), np.max(kw - e.p_max_kw, initial=0.0),
              np.max(e.cum_min_kwh - cum, initial=0.0), e.energy_min_kwh - cum[-1], cum[-1] - e.energy_max_kwh]
        worst = max(worst, max(ex) / 1000.0)
    return float(worst)


# --------------------------------------------------------------------------- worker processes
def default_workers() -> int:
    """Worker processes for bus-group days: ``VPPSIM_WORKERS`` if set, else the CPUs this process may use."""
    env = os.environ.get("VPPSIM_WORKERS", "").strip()
    if env:
        return max(int(env), 1)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - platforms without affinity
        return max(os.cpu_count() or 1, 1)


def _worker_init() -> None:
    """One intra-op thread per worker process: the workers already use the cores."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch-free installs run no learned policy
        return
    torch.set_num_threads(1)


class GroupPool:
    """Runs bus-group days (:func:`run_uncontrolled`, :func:`run_controlled`) serially or in processes.

    A group's day depends only on its arguments (scenario, seed, group, weather, signal), so the
    results are identical either way (``tests/grid_loop/test_parallel.py``). Processes are started
    (``spawn``: no forked torch thread pools) the first time a call has at least two groups and
    ``min_ders`` DERs in all, and serve every later call; smaller calls before that run here. A
    callable that does not pickle (e.g. a lambda as ``controlled``) runs here.

    Args:
        workers: processes; default :func:`default_workers`; 1 = always serial.
        min_ders: DERs of a call that justify starting the processes (each imports torch, seconds).
    """

    def __init__(self, workers: int | None = None, min_ders: int = 20_000):
        self.workers = default_workers() if workers is None else max(int(workers), 1)
        self.min_ders = int(min_ders)
        self._ex: ProcessPoolExecutor | None = None

    def map(self, fn: Callable, calls: Sequence[tuple], sizes: Sequence[float],
            progress: Callable[[int], None] | None = None) -> list:
        """``[fn(*args) for args in calls]``, largest ``sizes`` first when in processes; progress(1) per call."""
        if self._use(calls, sizes):
            import concurrent.futures as cf

            order = np.argsort(-np.asarray(sizes, float), kind="stable")
            futs = {self._executor().submit(fn, *calls[i]): int(i) for i in order}
            out: list = [None] * len(calls)
            for f in cf.as_completed(futs):
                out[futs[f]] = f.result()
                if progress is not None:
                    progress(1)
            return out
        out = []
        for args in calls:
            out.append(fn(*args))
            if progress is not None:
                progress(1)
        return out

    def _use(self, calls: Sequence[tuple], sizes: Sequence[float]) -> bool:
        if self.workers <= 1 or len(calls) < 2:
            return False
        if self._ex is None and float(sum(sizes)) < self.min_ders:
            return False
        try:
            pickle.dumps(calls[0])
        except (pickle.PicklingError, AttributeError, TypeError):
            return False
        return True

    def _executor(self) -> ProcessPoolExecutor:
        if self._ex is None:
            import multiprocessing as mp

            self._ex = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"), initializer=_worker_init)
        return self._ex

    def close(self) -> None:
        """Stop the worker processes (if any were started)."""
        if self._ex is not None:
            self._ex.shutdown(wait=True, cancel_futures=True)
            self._ex = None

    def __enter__(self) -> GroupPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_SERIAL = GroupPool(workers=1)


def group_ders(sc: Scenario, g: BusGroup) -> float:
    """DERs of a bus group (for ordering work by size)."""
    return float(_group_scenario(sc, g).n_ders())


# --------------------------------------------------------------------------- loop
def run_closed_loop(
    sc: Scenario,
    case,
    groups: Sequence[BusGroup],
    uncontrolled: Sequence[UncontrolledDay],
    weather,
    controlled: Controlled,
    dispatch: Callable[[dict[int, np.ndarray]], object],
    base_result,
    *,
    progress: Callable[[int], None] | None = None,
    pool: GroupPool | None = None,
) -> LoopResult:
    """Open loop, then (when ``grid.closed_loop.enabled``) iterate to a fixed point.

    Args:
        sc: the scenario (``grid.closed_loop`` settings, index source).
        case: the grid case.
        groups: bus groups; ``uncontrolled``: their uncontrolled days (same order).
        weather: per-period weather frame.
        controlled: returns a fresh (policy, decider) per model.
        dispatch: {bus: (T,) MW change} -> dispatch result (raises ``DispatchInfeasible``).
        base_result: dispatch without any change (the open loop's signal).
        progress: called with 1 per group day simulated.
        pool: runs the groups' days (serial when None; results identical either way).

    Returns:
        :class:`LoopResult`.
    """
    # Here, not at module level: worker processes import this module and need no pandapower.
    from grid.dispatch import DispatchInfeasible

    cl = sc.grid.closed_loop
    buses = [g.bus for g in groups]
    unc = np.array([u.net_kw for u in uncontrolled]).reshape(len(groups), -1)

    pool = _SERIAL if pool is None else pool
    sizes = [group_ders(sc, g) for g in groups]

    def respond(result) -> np.ndarray:
        sigs = bus_signals(sc, case, result, buses)
        calls = [(sc, g, weather, sigs[g.bus], controlled) for g in groups]
        out = pool.map(run_controlled, calls, sizes, progress)
        return (np.array(out).reshape(unc.shape) - unc) / 1000.0

    open_mw = respond(base_result)
    res = LoopResult(open_mw, open_mw, 1)
    if not cl.enabled:
        return res
    p = open_mw
    for k in range(2, cl.max_iterations + 1):
        try:
            result = dispatch(dict(zip(buses, p, strict=True)))
        except DispatchInfeasible as exc:  # stop with what we have; the row says why
            res.notes.append(f"dispatch failed in pass {k}: {exc}")
            res.converged = False
            break
        r = respond(result)
        resid = float(np.abs(r - p).max()) if r.size else 0.0
        res.residuals_mw.append(resid)
        res.iterations = k
        res.final_mw = r
        if resid < cl.tolerance_mw:
            res.converged = True
            return res
        p = p + cl.damping * (r - p)
    res.converged = False
    rs = res.residuals_mw
    osc = len(rs) >= 3 and rs[-1] >= 0.9 * rs[-3]
    note = (f"closed loop stopped after {res.iterations} passes, residual {rs[-1] if rs else float('nan'):.3g} MW "
            f">= tolerance {cl.tolerance_mw} MW" + ("; it oscillates (try damping < 1)" if osc else ""))
    res.notes.append(note)
    warnings.warn(f"{sc.name}: {note}", RuntimeWarning, stacklevel=2)
    return res
