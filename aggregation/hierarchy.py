"""Self-organised multi-level aggregation of DERs (seed 003 §3.4 and §4.5, Eqs. 8-13).

:func:`make_decider` builds a :class:`SelfOrganiser`, the decider the model
calls once per period. Level 0 are the controllable DERs; level ``i`` are
aggregators formed from level ``i - 1`` units (Eq. 12), up to ``max_levels``.
Every unit belongs to exactly one unit of each level above it; a unit that did
not merge is its own (singleton) aggregator at the next level. Arrays are the
truth: ``labels[i - 1][u]`` is the level-``i`` unit of DER ``u``; aggregator
handles (:class:`Aggregator`) are materialised only on request.

One period (``docs/aggregation.md`` has the full description):

1. every DER's start action comes from the policy (``policy.act(view)``);
2. an *iteration* runs bottom-up over the levels. At level ``i`` the existing
   coalitions and the new merge proposals (free units of a park, matched by
   complementary residuals) choose joint actions toward their target load
   ``L_prev + g * P_max`` (:func:`aggregation.coalitions.improve_joint`); each
   member's fitness after aggregation is the coalition's Eq. 5 fitness of its
   aggregate load, compared by the level's rule with the members' own
   fitness. Proposals that satisfy it merge; coalitions that no longer
   satisfy it (new period, an EV left, the index moved) split;
3. iterations repeat until the VPP load changed by at most ``epsilon_cvg_kw``
   for ``h_m`` consecutive iterations (Eq. 13) or ``max_iterations``.

The hierarchy persists from one period to the next, so coalitions that still
pay survive and the others split at the first iteration of the new period.

A VPP-level target (``organiser(views, policy, targets=...)``, see
:class:`aggregation.coalitions.Targets`) replaces ``L_prev + g * P_max`` at the
top level (park or group targets, shared by rating) or at every level (per-DER
targets). Output writing lives in :mod:`aggregation.outputs`, a layer above
this module.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .coalitions import (
    JointMoves,
    PeriodTable,
    Targets,
    TargetsLike,
    build_table,
    compact_labels,
    improve_joint,
    propose_groups,
    representatives,
    sanitize,
    unit_sums,
)
from .policy import KindView, Policy
from .polish import polish_pairs
from .rules import Statistic, rule_holds, statistic_for
from .specs import AggregationSpec

__all__ = [
    "Aggregator", "ConvergenceMonitor", "LevelTable", "OrganiseResult", "SelfOrganiser", "make_decider",
]


# ------------------------------------------------------------------ convergence
class ConvergenceMonitor:
    """Convergence criterion of Eq. 13.

    Iteration ``h`` is *stable* when the VPP load changed by at most
    ``epsilon_kw`` since iteration ``h - 1``: ``sum_p |P_p^h - P_p^(h-1)| <= eps``
    summed over parks (each park's top aggregators form its VPP). The process
    has converged after ``h_m`` consecutive stable iterations; it stops
    unconverged after ``max_iterations``.

    Args:
        epsilon_kw: threshold (a change exactly equal to it is stable).
        h_m: consecutive stable iterations required.
        max_iterations: hard cap on iterations.
        initial_kw: VPP load before the first iteration (per park), the reference of iteration 1.
    """

    def __init__(self, epsilon_kw: float, h_m: int, max_iterations: int, initial_kw: np.ndarray | float):
        if epsilon_kw < 0 or h_m < 1 or max_iterations < 1:
            raise ValueError("need epsilon_kw >= 0, h_m >= 1, max_iterations >= 1")
        self.epsilon_kw = float(epsilon_kw)
        self.h_m = int(h_m)
        self.max_iterations = int(max_iterations)
        self.previous_kw = np.atleast_1d(np.asarray(initial_kw, dtype=float)).copy()
        self.iterations = 0
        self.stable = 0
        self.converged = False
        self.deltas_kw: list[float] = []

    @property
    def done(self) -> bool:
        return self.converged or self.iterations >= self.max_iterations

    def update(self, load_kw: np.ndarray | float) -> bool:
        """Record the VPP load after one iteration; returns whether to stop."""
        if self.done:
            raise RuntimeError("update() after the monitor stopped")
        now = np.atleast_1d(np.asarray(load_kw, dtype=float))
        delta = float(np.abs(now - self.previous_kw).sum())
        self.previous_kw = now.copy()
        self.iterations += 1
        self.deltas_kw.append(delta)
        self.stable = self.stable + 1 if delta <= self.epsilon_kw else 0
        self.converged = self.stable >= self.h_m
        return self.done


# ------------------------------------------------------------------ results
@dataclass
class OrganiseResult:
    """What one period's self-organisation produced.

    Attributes:
        actions: (N,) final actions (AC rows, then EV rows).
        start_actions: (N,) the policy's actions (after availability).
        iterations: iterations run.
        converged: Eq. 13 held before ``max_iterations``.
        time_s: wall time to convergence (or to the cap).
        deltas_kw: VPP load change of each iteration.
        proposals, merges, splits: counts over all iterations and levels.
        park_start_kw: (n_parks,) controllable load per park with the policy's actions.
        park_final_kw: (n_parks,) the same after self-organisation.
    """

    actions: np.ndarray
    start_actions: np.ndarray
    iterations: int
    converged: bool
    time_s: float
    deltas_kw: list[float]
    proposals: int
    merges: int
    splits: int
    park_start_kw: np.ndarray
    park_final_kw: np.ndarray


@dataclass
class LevelTable:
    """Every unit of one level at the end of a period (arrays of length ``n``).

    ``parent[k]`` is the level ``level + 1`` unit containing unit ``k`` (None at
    the top level). ``n_members`` counts level ``level - 1`` units (1 for DERs).
    Level-0 tables also carry ``kind`` (index into ``kinds``), ``row`` (index in
    the kind's arrays) and ``action``.
    """

    level: int
    load_kw: np.ndarray
    prev_kw: np.ndarray
    p_max_kw: np.ndarray
    fitness: np.ndarray
    flex_up_kw: np.ndarray
    flex_down_kw: np.ndarray
    park: np.ndarray
    n_ders: np.ndarray
    n_ev: np.ndarray
    n_members: np.ndarray
    parent: np.ndarray | None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    kinds: tuple[str, ...] = ("ac", "ev")

    @property
    def n(self) -> int:
        return len(self.load_kw)


@dataclass(frozen=True)
class Aggregator:
    """Read-only handle on one unit of the last period's hierarchy (built on request).

    Attributes:
        level: 0 for DERs, 1..max_levels for aggregators.
        index: unit index within its level.
        park: park index.
        load_kw: aggregate load (sum of its DERs').
        p_max_kw: summed rating.
        fitness: Eq. 5 fitness of the aggregate load.
        flex_up_kw, flex_down_kw: how far the load could still rise / fall.
        n_ders: DERs inside.
        members: indices of its level ``level - 1`` members.
        parent: index of the level ``level + 1`` unit containing it (None at the top).
    """

    level: int
    index: int
    park: int
    load_kw: float
    p_max_kw: float
    fitness: float
    flex_up_kw: float
    flex_down_kw: float
    n_ders: int
    members: tuple[int, ...]
    parent: int | None


# ------------------------------------------------------------------ targets per level
def _at(x: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    return None if x is None else x[idx]


class _Goal:
    """Targets and fitness of the units of one level of a pass.

    Without given targets this is exactly the Eq. 5 rule (``table.target_kw``,
    ``table.fitness``), computed as before so that results do not change. With
    per-DER targets (``der``: the units' sums) they replace the rule at every
    level; a park or group target adds its rating share (``shift``) at the top
    level only, where the units of a park form its VPP.
    """

    def __init__(self, table: PeriodTable, top: int):
        self.t, self.top = table, top

    def target(
        self, level: int, prev: np.ndarray, pmax: np.ndarray, der: np.ndarray | None, shift: np.ndarray | None
    ) -> np.ndarray:
        """(m,) target load (kW) of ``m`` units of ``level`` (previous load, rating, given sums)."""
        base = self.t.target_kw(prev, pmax) if der is None else der
        return base + shift if shift is not None and level == self.top else base

    def fitness(
        self,
        level: int,
        load: np.ndarray,
        prev: np.ndarray,
        pmax: np.ndarray,
        der: np.ndarray | None,
        shift: np.ndarray | None,
    ) -> np.ndarray:
        """(m,) Eq. 5 fitness of ``m`` units of ``level`` with aggregate loads ``load`` (kW)."""
        if der is None and (shift is None or level != self.top):
            return self.t.fitness(load, prev, pmax)
        return self.t.fitness_to(load, self.target(level, prev, pmax, der, shift), pmax)


def _polished(t: PeriodTable, act: np.ndarray, coal_of: np.ndarray, moves: JointMoves, target_c: np.ndarray) -> JointMoves:
    """The top level's joint moves followed by exchange moves (:func:`aggregation.polish.polish_pairs`)."""
    trial = act.copy()
    trial[moves.rows] = moves.action
    new_act, load = polish_pairs(t, trial, coal_of, moves.load_kw, target_c)
    rows = np.flatnonzero(new_act != act)
    return JointMoves(rows, new_act[rows].astype(np.int8), t.power_kw(new_act[rows], rows), coal_of[rows], load)


def _propose_park_vpp(
    cand: np.ndarray,
    f_idx: np.ndarray,
    park_u: np.ndarray,
    in_coal: np.ndarray,
    parent: np.ndarray,
    n_i: int,
    n_parks: int,
) -> tuple[np.ndarray, int]:
    """Top-level proposals: every free unit joins its park's VPP.

    Args:
        cand: (m,) candidate coalition of each unit of the level below (-1: none); updated copy returned.
        f_idx: indices of the free units.
        park_u: (m,) park of each unit.
        in_coal: (m,) units already in a top-level coalition.
        parent: (m,) their current top-level unit.
        n_i: number of existing top-level units (proposal ids start here).
        n_parks: number of parks.

    Returns:
        (cand, n_proposals): free units of a park with an existing top-level coalition are
        candidates of it (the VPP grows); in other parks the free units form one proposal
        per park (at least two units).
    """
    cand = cand.copy()
    host = np.full(n_parks, -1, np.int64)
    host[park_u[in_coal]] = parent[in_coal]  # a park's VPP (any one of them if several survive)
    h = host[park_u[f_idx]]
    join = h >= 0
    cand[f_idx[join]] = h[join]
    rest = f_idx[~join]
    if rest.size == 0:
        return cand, 0
    size = np.bincount(park_u[rest], minlength=n_parks)
    ok = size[park_u[rest]] >= 2
    gid, n_prop = compact_labels(np.where(ok, park_u[rest], -1))
    cand[rest[ok]] = n_i + gid[ok]
    return cand, n_prop


# ------------------------------------------------------------------ the organiser
class SelfOrganiser:
    """The self-organising decider: ``organiser(views, policy, *, targets=None) -> {kind: actions}``.

    Args:
        spec: aggregation settings.
        lam: similarity coefficient lambda of the fitness (the scenario's).
        seed: seed of the organiser's generator (default ``spec.seed``). Each
            period draws from ``default_rng([seed, step])``, so a period's
            outcome depends only on the seed, the period and the state.

    Attributes:
        labels: ``labels[i - 1]`` (N,) level-``i`` unit of each DER, i = 1..max_levels.
        periods: one dict per period: iterations, convergence, counts, loads.
        level_rows: one dict per period and level (0..max_levels): statistics.
        snapshots: ``step -> [LevelTable, ...]`` exported levels of each period.
        figure_tables: ``step -> LevelTable`` of ``spec.figure_level`` at the snapshot hour.
        records: keep the four records above (default True; False decides the same actions).
    """

    def __init__(self, spec: AggregationSpec, lam: float = 1.0, seed: int | None = None):
        self.spec = spec
        self.lam = float(lam)
        self.seed = int(spec.seed if seed is None else seed)
        self.levels = int(spec.max_levels)
        # Resolved now so that a bad custom rule fails when the run is built, not hours later.
        self.statistics: list[Statistic] = [statistic_for(r, spec.custom_rule) for r in spec.rules[: self.levels]]
        # Top level = one VPP per park (default). False restores the pre-issue-11 behaviour,
        # where top-level units proposed in groups of `group_size` like every other level.
        self.park_vpp = bool(getattr(spec, "park_vpp", True))
        self.labels: list[np.ndarray] = []
        self.periods: list[dict] = []
        self.level_rows: list[dict] = []
        self.snapshots: dict[int, list[LevelTable]] = {}
        self.figure_tables: dict[int, LevelTable] = {}
        self._last: tuple[PeriodTable, np.ndarray] | None = None
        self._figure_exact = False
        self.plan_der_kw: np.ndarray | None = None
        self.plan_gamma: float | None = None
        # False: decide only, keep no per-period records (periods, level statistics, snapshots,
        # figure tables); the actions are the same. Callers that read only the loads (the uptake
        # sweep) save the level tables' cost, which grows with the number of DERs.
        self.records = True

    # -------------------------------------------------------------- decider
    def __call__(
        self, views: Mapping[str, KindView], policy: Policy, *, targets: TargetsLike = None
    ) -> dict[str, np.ndarray]:
        """Decide one period: policy actions, then self-organisation to convergence.

        Args:
            views: ``{kind: KindView}`` of the period (rows in this order).
            policy: gives every DER's start action (``policy.act(view)``).
            targets: optional VPP-level target (see :class:`aggregation.coalitions.Targets`;
                an array is one target per park, kW). The top-level units of each park
                (or group) then aim together at its target, sharing the gap to their own
                targets by rating; lower levels keep the Eq. 5 rule unless per-DER targets
                are given. None: every level uses ``L_prev + g * P_max``.

        Returns:
            ``{kind: (n_kind,) int64 actions}``.
        """
        if self.plan_der_kw is not None:
            targets = self._planned(views, targets)
        table = build_table(views, self.spec.comfort_guard_c, lam=self.lam, targets=targets)
        start = np.concatenate([np.asarray(policy.act(views[k])).reshape(-1) for k in table.kinds])
        act0 = sanitize(table, start)
        result = self.organise(table, act0)
        if self.records:
            self.record(table, result)
        return table.split(result.actions)

    def set_plan(self, der_kw: np.ndarray | None, gamma: float | None = None) -> None:
        """A day-ahead plan per DER, ``(N, n_steps)`` kW (rows in table order), or None.

        When set, period ``k`` uses ``Targets(der_kw=der_kw[:, k], gamma=gamma)`` (with the
        park targets the model passes, if any): every level then aims at the sum of its DERs'
        planned powers instead of Eq. 5's ``L_prev + g * P_max`` (used by the level-tracking
        rule, :mod:`aggregation.level_fitness`). ``gamma`` replaces the period's fitness
        weight ``gamma_t`` while the plan is followed (None keeps ``gamma_t``).
        """
        self.plan_der_kw = None if der_kw is None else np.asarray(der_kw, np.float64)
        self.plan_gamma = None if gamma is None else float(gamma)

    def _planned(self, views: Mapping[str, KindView], targets: TargetsLike) -> Targets:
        step = next(iter(views.values())).ctx.step
        given = Targets.coerce(targets)
        der = self.plan_der_kw[:, min(step, self.plan_der_kw.shape[1] - 1)]
        gamma = self.plan_gamma
        if given is None:
            return Targets(der_kw=der, gamma=gamma)
        return Targets(park_kw=given.park_kw, group=given.group, group_kw=given.group_kw, der_kw=der, gamma=gamma)

    def reset(self) -> None:
        """Forget the hierarchy and every record (a new run)."""
        self.labels = []
        self.periods, self.level_rows = [], []
        self.snapshots, self.figure_tables = {}, {}
        self._last = None
        self._figure_exact = False

    def organise(self, table: PeriodTable, act0: np.ndarray) -> OrganiseResult:
        """Run the iterations of one period from the policy's actions to convergence."""
        t0 = time.perf_counter()
        n = table.n
        if len(self.labels) != self.levels or (self.labels and len(self.labels[0]) != n):
            self.labels = [np.arange(n, dtype=np.int64) for _ in range(self.levels)]
        self.labels = [compact_labels(lab)[0] for lab in self.labels]
        rng = np.random.default_rng([self.seed, max(table.step, 0)])
        order_key = rng.random(n)
        n_parks = table.n_parks
        start_kw = np.bincount(table.park, weights=table.power_kw(act0), minlength=n_parks)
        monitor = ConvergenceMonitor(self.spec.epsilon_cvg_kw, self.spec.h_m, self.spec.max_iterations, start_kw)
        act, park_kw = act0, start_kw
        changed = True
        counts = {"proposals": 0, "merges": 0, "splits": 0}
        while not monitor.done:
            propose = monitor.iterations < self.spec.proposal_rounds
            # Without proposals and without any merge or split in the last pass
            # the structure is a fixed point: the pass would reproduce the same
            # actions, so the iteration is counted without being recomputed.
            if propose or changed:
                act, changed, c = self._pass(table, act0, order_key, rng, propose)
                for k in counts:
                    counts[k] += c[k]
                park_kw = np.bincount(table.park, weights=table.power_kw(act), minlength=n_parks)
            monitor.update(park_kw)
        return OrganiseResult(
            actions=act,
            start_actions=act0,
            iterations=monitor.iterations,
            converged=monitor.converged,
            time_s=time.perf_counter() - t0,
            deltas_kw=monitor.deltas_kw,
            park_start_kw=start_kw,
            park_final_kw=park_kw,
            **counts,
        )

    def _pass(
        self, t: PeriodTable, act0: np.ndarray, order_key: np.ndarray, rng: np.random.Generator, propose: bool
    ) -> tuple[np.ndarray, bool, dict[str, int]]:
        """One bottom-up iteration over all levels; updates ``self.labels``.

        DER-level work per level is a few gathers plus the joint improvement of
        the movable members; every other quantity is a sum over the units of
        the level below (a level-``i`` unit's load is its members' loads).
        """
        n, top = t.n, self.levels
        spec = self.spec
        labs = self.labels
        act = act0.copy()
        p = t.power_kw(act)
        # Level-0 units are the DERs.
        lab_prev = np.arange(n, dtype=np.int64)
        load_u, prev_u, pmax_u = p.copy(), t.prev_kw, t.p_max_kw
        park_u, ders_u, rep_u = t.park, np.ones(n, np.int64), np.arange(n, dtype=np.int64)
        # Given targets ride along as per-unit sums (None: the Eq. 5 rule from prev and rating).
        der_u, shift_u = t.der_target_kw, t.top_shift_kw
        goal = _Goal(t, top)
        mu_u = goal.fitness(1, load_u, prev_u, pmax_u, der_u, shift_u)
        counts = {"proposals": 0, "merges": 0, "splits": 0}
        # Labels are compact at the start of a pass; fresh ids handed out at a lower
        # level (singleton chains) make a level dirty until it is processed.
        next_id = [int(lab.max()) + 1 if n else 0 for lab in labs]
        dirty = [False] * top
        for i in range(1, top + 1):
            if dirty[i - 1]:
                labs[i - 1], n_i = compact_labels(labs[i - 1])
            else:
                n_i = next_id[i - 1]
            lab_i = labs[i - 1]
            parent = lab_i[rep_u]
            in_coal = np.bincount(parent, minlength=n_i)[parent] >= 2
            cand = np.where(in_coal, parent, -1)
            n_prop = 0
            if propose:
                # Free units are alone at this level and every level above (their top
                # unit holds exactly their DERs): only they seek partners, so a unit
                # embedded higher up does not churn the structure above it.
                top_lab = labs[top - 1]
                free = np.bincount(top_lab)[top_lab[rep_u]] == ders_u
                f_idx = np.flatnonzero(free)
                if i == top and self.park_vpp and f_idx.size:
                    # The top level is the park's VPP (Eq. 13 is defined on its load):
                    # free units join their park's VPP, or found it together. Only
                    # park-wide coalitions can net out members stuck on opposite sides
                    # of their own targets (e.g. guarded ACs that may not shed), which
                    # is where groups of `group_size` left most of the optimum.
                    cand, n_prop = _propose_park_vpp(cand, f_idx, park_u, in_coal, parent, n_i, t.n_parks)
                elif f_idx.size >= 2:
                    resid = goal.target(i, prev_u[f_idx], pmax_u[f_idx], _at(der_u, f_idx), _at(shift_u, f_idx))
                    resid = resid - load_u[f_idx]
                    gid = propose_groups(park_u[f_idx], resid, spec.group_size, spec.proposal_jitter, rng)
                    has = gid >= 0
                    cand[f_idx[has]] = n_i + gid[has]
                    n_prop = int(gid.max()) + 1 if has.any() else 0
            m = n_i + n_prop
            ok = np.zeros(m, bool)
            members = np.flatnonzero(cand >= 0)
            load_c = np.zeros(m)
            if members.size:
                g_mem = cand[members]
                pmax_c, prev_c, load_c = (
                    np.bincount(g_mem, weights=x[members], minlength=m) for x in (pmax_u, prev_u, load_u)
                )
                der_c, shift_c = (
                    None if x is None else np.bincount(g_mem, weights=x[members], minlength=m) for x in (der_u, shift_u)
                )
                target_c = goal.target(i, prev_c, pmax_c, der_c, shift_c)
                coal_of = cand[lab_prev]
                moves = improve_joint(t, act, p, coal_of, load_c, target_c, order_key, spec.joint_passes)
                if i == top and self.park_vpp:
                    moves = _polished(t, act, coal_of, moves, target_c)
                load_c = moves.load_kw
                mu_c = goal.fitness(i, load_c, prev_c, pmax_c, der_c, shift_c)
                ok = rule_holds(self.statistics[i - 1], mu_u[members], g_mem, m, mu_c[g_mem], pmax_u[members])
                if moves.rows.size:
                    kept = ok[moves.coalition]
                    rows = moves.rows[kept]
                    act[rows] = moves.action[kept]
                    p[rows] = moves.power_kw[kept]
            if i == top and self.park_vpp:
                # A park whose DERs all sit in one unit below has that unit as its VPP
                # (nothing to merge with): it gets the VPP's exchange moves too.
                solo = np.flatnonzero((cand < 0) & (np.bincount(park_u, minlength=t.n_parks)[park_u] == 1))
                if solo.size:
                    act, p = self._polish_solo(t, act, p, solo, lab_prev, load_u, prev_u, pmax_u, der_u, shift_u, goal)
            unit_ok = (cand >= 0) & ok[np.maximum(cand, 0)]
            split = in_coal & ~unit_ok
            # Joined a proposal or an existing coalition it was not in (park VPP).
            merged = (cand != parent) & unit_ok
            new_parent = parent.copy()
            new_parent[merged] = cand[merged]
            new_parent[split] = m + np.flatnonzero(split)
            new_parent, n_new = compact_labels(new_parent)
            lab_new = new_parent[lab_prev]
            labs[i - 1] = lab_new
            if i < top and (split.any() or merged.any()):
                # Units that merged or split here leave the aggregators above:
                # each new level-i unit starts a singleton chain up to the top.
                ders = np.flatnonzero((split | merged)[lab_prev])
                new_id = lab_new[ders]
                for j in range(i + 1, top + 1):
                    labs[j - 1][ders] = next_id[j - 1] + new_id
                    next_id[j - 1] += n_new
                    dirty[j - 1] = True
            counts["proposals"] += n_prop
            counts["merges"] += int(np.unique(cand[merged]).size) if merged.any() else 0
            counts["splits"] += int(np.unique(parent[split]).size) if split.any() else 0
            # Level-i units: accepted coalitions carry their joint load, every other
            # unit is a level-(i-1) unit whose DERs did not move at this level.
            load_new = np.bincount(new_parent, weights=np.where(unit_ok, 0.0, load_u), minlength=n_new)
            load_new[new_parent[unit_ok]] = load_c[cand[unit_ok]]
            prev_u, pmax_u, ders_u = (
                np.bincount(new_parent, weights=x, minlength=n_new) for x in (prev_u, pmax_u, ders_u)
            )
            ders_u = np.rint(ders_u).astype(np.int64)
            der_u, shift_u = (
                None if x is None else np.bincount(new_parent, weights=x, minlength=n_new) for x in (der_u, shift_u)
            )
            load_u = load_new
            park_new = np.empty(n_new, park_u.dtype)
            park_new[new_parent] = park_u
            rep_new = np.empty(n_new, np.int64)
            rep_new[new_parent] = rep_u
            park_u, rep_u = park_new, rep_new
            mu_u = goal.fitness(i + 1, load_u, prev_u, pmax_u, der_u, shift_u)
            lab_prev = lab_new
        changed = counts["merges"] > 0 or counts["splits"] > 0
        return act, changed, counts

    def _polish_solo(self, t, act, p, solo, lab_prev, load_u, prev_u, pmax_u, der_u, shift_u, goal):
        """Exchange moves inside top units that are a park on their own; ``load_u`` is updated in place."""
        unit_to = np.full(len(load_u), -1, np.int64)
        unit_to[solo] = np.arange(solo.size)
        coal = unit_to[lab_prev]
        tgt = goal.target(self.levels, prev_u[solo], pmax_u[solo], _at(der_u, solo), _at(shift_u, solo))
        new_act, new_load = polish_pairs(t, act, coal, load_u[solo], tgt)
        rows = np.flatnonzero(new_act != act)
        if rows.size:
            act, p = act.copy(), p.copy()
            act[rows] = new_act[rows]
            p[rows] = t.power_kw(new_act[rows], rows)
            load_u[solo] = new_load
        return act, p

    # -------------------------------------------------------------- records
    def level_tables(self, table: PeriodTable, act: np.ndarray, levels: Sequence[int] | None = None) -> list[LevelTable]:
        """Unit tables of the current hierarchy under the given actions.

        Args:
            table: the period's DERs.
            act: (N,) actions.
            levels: which levels to build (default all, 0..max_levels).
        """
        n = table.n
        for i, lab in enumerate(self.labels):
            self.labels[i] = compact_labels(lab)[0]
        labs = [np.arange(n, dtype=np.int64), *self.labels]
        wanted = range(self.levels + 1) if levels is None else sorted(set(levels))
        p = table.power_kw(act)
        up, down = table.flexibility_kw(act)
        out = []
        for j in wanted:
            lab = labs[j]
            k = int(lab.max()) + 1 if n else 0
            load, prev, pmax, fu, fd, nev = unit_sums(
                lab, k, p, table.prev_kw, table.p_max_kw, up, down, table.is_ev.astype(float)
            )
            rep = representatives(lab, k)
            if j == 0:
                members = np.ones(k, np.int64)
            else:
                below = labs[j - 1]
                members = np.bincount(lab[representatives(below, int(below.max()) + 1 if n else 0)], minlength=k)
            extra = {}
            if j == 0:
                row = np.arange(n, dtype=np.int64)
                for a, b in table.bounds.values():
                    row[a:b] -= a
                extra = {"kind": table.kind_index.astype(np.int8), "row": row, "action": np.asarray(act, np.int8)}
            out.append(
                LevelTable(
                    level=j,
                    load_kw=load,
                    prev_kw=prev,
                    p_max_kw=pmax,
                    fitness=table.fitness(load, prev, pmax),
                    flex_up_kw=fu,
                    flex_down_kw=fd,
                    park=table.park[rep],
                    n_ders=np.bincount(lab, minlength=k),
                    n_ev=np.rint(nev).astype(np.int64),
                    n_members=members,
                    parent=labs[j + 1][rep] if j < self.levels else None,
                    extra=extra,
                    kinds=table.kinds,
                )
            )
        return out

    def record(self, table: PeriodTable, result: OrganiseResult) -> None:
        """Store the period's convergence record, per-level statistics and exported snapshot."""
        tables = self.level_tables(table, result.actions)
        self._last = (table, result.actions)
        step, hour = table.step, table.hour_of_day
        self.periods.append(
            {
                "step": step,
                "hour": hour,
                "dt_h": table.dt_h,
                "iterations": result.iterations,
                "converged": result.converged,
                "convergence_time_s": result.time_s,
                "last_delta_kw": result.deltas_kw[-1] if result.deltas_kw else 0.0,
                "proposals": result.proposals,
                "merges": result.merges,
                "splits": result.splits,
                "load_start_kw": float(result.park_start_kw.sum()),
                "load_final_kw": float(result.park_final_kw.sum()),
                "g": table.g,
                "gamma": table.gamma,
                **{f"load_start_kw[{p}]": float(v) for p, v in enumerate(result.park_start_kw)},
                **{f"load_final_kw[{p}]": float(v) for p, v in enumerate(result.park_final_kw)},
                # Only with a VPP-level target, so that default outputs keep their columns.
                **({f"target_kw[{k}]": float(v) for k, v in enumerate(table.group_target_kw)}
                   if table.targets is not None else {}),
            }
        )
        for lt in tables:
            self.level_rows.append(_level_stats(step, hour, lt))
        budget = self.spec.graph_max_nodes
        sizes = [lt.n for lt in tables]
        first = next((j for j in range(len(tables)) if sum(sizes[j:]) <= budget), None)
        self.snapshots[step] = tables[first:] if first is not None else []
        # Fig. 7a shows the period containing the snapshot hour (the first one);
        # until a run reaches it, the latest period stands in (short runs).
        fig_level = min(self.spec.figure_level, self.levels)
        contains = hour <= self.spec.snapshot_hour < hour + table.dt_h
        if contains and not self._figure_exact:
            self.figure_tables = {step: tables[fig_level]}
            self._figure_exact = True
        elif not self._figure_exact:
            self.figure_tables = {step: tables[fig_level]}

    def aggregators(self, level: int) -> list[Aggregator]:
        """Handles on every unit of ``level`` in the last period (materialised now; small runs)."""
        if self._last is None:
            return []
        if not 0 <= level <= self.levels:
            raise ValueError(f"level must be in 0..{self.levels}, got {level}")
        table, act = self._last
        tabs = self.level_tables(table, act, [level - 1, level] if level > 0 else [0])
        lt = tabs[-1]
        if level > 0:
            child_parent = tabs[0].parent
            order = np.argsort(child_parent, kind="stable")
            bounds = np.searchsorted(child_parent[order], np.arange(lt.n + 1))
            members = [tuple(int(x) for x in order[bounds[k] : bounds[k + 1]]) for k in range(lt.n)]
        else:
            members = [()] * lt.n
        return [
            Aggregator(
                level=level,
                index=k,
                park=int(lt.park[k]),
                load_kw=float(lt.load_kw[k]),
                p_max_kw=float(lt.p_max_kw[k]),
                fitness=float(lt.fitness[k]),
                flex_up_kw=float(lt.flex_up_kw[k]),
                flex_down_kw=float(lt.flex_down_kw[k]),
                n_ders=int(lt.n_ders[k]),
                members=members[k],
                parent=None if lt.parent is None else int(lt.parent[k]),
            )
            for k in range(lt.n)
        ]

    # -------------------------------------------------------------- state
    def state_dict(self) -> dict:
        """The hierarchy and every record of the periods so far, so that a resumed run writes exactly
        what an uninterrupted one writes (periods, levels, hierarchy snapshots, Fig. 7a's table)."""
        return {"labels": [lab.copy() for lab in self.labels], "seed": self.seed,
                "periods": list(self.periods), "level_rows": list(self.level_rows),
                "snapshots": dict(self.snapshots), "figure_tables": dict(self.figure_tables),
                "figure_exact": self._figure_exact, "last": self._last}

    def load_state_dict(self, state: dict) -> None:
        self.labels = [np.asarray(lab, dtype=np.int64).copy() for lab in state["labels"]]
        self.seed = int(state["seed"])
        self.periods = list(state.get("periods", []))
        self.level_rows = list(state.get("level_rows", []))
        self.snapshots = dict(state.get("snapshots", {}))
        self.figure_tables = dict(state.get("figure_tables", {}))
        self._figure_exact = bool(state.get("figure_exact", False))
        self._last = state.get("last")


def _level_stats(step: int, hour: float, lt: LevelTable) -> dict:
    coal = lt.n_members >= 2 if lt.level > 0 else np.zeros(lt.n, bool)
    q = (0.0, 0.1, 0.5, 0.9, 1.0)
    fit_q = np.quantile(lt.fitness, q) if lt.n else np.full(5, np.nan)
    size_q = np.quantile(lt.n_ders, (0.5, 0.9, 1.0)) if lt.n else np.full(3, np.nan)
    return {
        "step": step,
        "hour": hour,
        "level": lt.level,
        "units": lt.n,
        "coalitions": int(coal.sum()),
        "ders_in_coalitions": int(lt.n_ders[coal].sum()),
        "size_ders_mean": float(lt.n_ders.mean()) if lt.n else np.nan,
        "size_ders_p50": float(size_q[0]),
        "size_ders_p90": float(size_q[1]),
        "size_ders_max": float(size_q[2]),
        "members_mean": float(lt.n_members[coal].mean()) if coal.any() else np.nan,
        "fitness_mean": float(lt.fitness.mean()) if lt.n else np.nan,
        "fitness_min": float(fit_q[0]),
        "fitness_p10": float(fit_q[1]),
        "fitness_p50": float(fit_q[2]),
        "fitness_p90": float(fit_q[3]),
        "fitness_max": float(fit_q[4]),
        "load_kw": float(lt.load_kw.sum()),
        "flex_up_kw": float(lt.flex_up_kw.sum()),
        "flex_down_kw": float(lt.flex_down_kw.sum()),
        "flex_up_kw_p50": float(np.median(lt.flex_up_kw)) if lt.n else np.nan,
        "flex_down_kw_p50": float(np.median(lt.flex_down_kw)) if lt.n else np.nan,
    }


def make_decider(spec: AggregationSpec, lam: float = 1.0, seed: int | None = None) -> SelfOrganiser:
    """The decider ``scenarios.runner.decider_for`` plugs into the model when aggregation is enabled.

    Args:
        spec: the scenario's aggregation settings.
        lam: the scenario's similarity coefficient.
        seed: overrides ``spec.seed``.
    """
    return SelfOrganiser(spec, lam, seed)
