"""Array machinery of coalitions: the period's DER table, targets, joint actions, merge proposals, labels.

Everything here works on flat arrays with one entry per controllable DER (kinds
in the order of the views, e.g. air conditioners then EV piles) or per unit of
a level. Coalitions are integer labels; sums over coalitions are
``np.bincount`` or ``np.add.reduceat`` over label-sorted segments. No Python
loop runs over DERs or coalitions; the only loops run over kinds, action
columns (at most the widest kind's actions) and improvement passes.

:class:`PeriodTable` is the one period problem of every decider: the
self-organiser and the optimisation baselines (``learners.baselines``) build it
with :func:`build_table` and score actions with its methods.

**Targets.** A unit (DER or coalition) of total rating ``P_max`` and previous
load ``L_prev`` aims by default at ``L* = L_prev + g(t) * P_max``
(:meth:`PeriodTable.target_kw`, the one place of this rule): the load change at
which its one-period zero-carbon index ``exp(-lambda |l - g|)`` is largest
(Eq. 5). A VPP-level decision may replace it (:class:`Targets`): a target per
park or per group of DERs (e.g. the previous period's top-level aggregators),
or a target per DER (then every unit's target is the sum of its DERs').

The joint-action improvement is the coalition's decision rule (see
``docs/aggregation.md``): starting from the members' own actions, members take
one step along their power ladder (the next available action with more or
less power) towards the coalition target, in a fixed per-period order, as long
as each step brings the aggregate closer to the target. A few passes allow
multi-step moves. The residual ``|L_C - L_C*|`` never increases, so the
coalition fitness never decreases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .indices import period_fitness
from .policy import KindView


@dataclass(frozen=True)
class Targets:
    """A VPP-level target for one period (kW), replacing the default ``L_prev + g * P_max`` rule.

    Give at most one of ``park_kw`` or (``group``, ``group_kw``); ``der_kw`` may
    be combined with either.

    Attributes:
        park_kw: (n_parks,) target of each park's controllable load (kW for the period).
        group: (N,) int group of each DER row (e.g. its top-level aggregator in the
            previous period's hierarchy); groups never need to respect parks.
        group_kw: (G,) target of each group's load (kW).
        der_kw: (N,) target of each DER row (kW); a unit's target is then the sum of its
            DERs' at every level (instead of the Eq. 5 rule).
        gamma: fitness weight of the period while aiming at these targets (None: the period's
            ``gamma_t``, Eq. 5's weight, the preceding period's zero-carbon index). A day-ahead
            plan sets it (:mod:`aggregation.level_fitness`): with ``gamma_t = 0`` (a night without
            renewables) every fitness is 0, no rule holds and the plan would be ignored.
    """

    park_kw: np.ndarray | None = None
    group: np.ndarray | None = None
    group_kw: np.ndarray | None = None
    der_kw: np.ndarray | None = None
    gamma: float | None = None

    def __post_init__(self) -> None:
        if self.park_kw is not None and (self.group is not None or self.group_kw is not None):
            raise ValueError("give park_kw or (group, group_kw), not both")
        if (self.group is None) != (self.group_kw is None):
            raise ValueError("group and group_kw go together")

    @classmethod
    def coerce(cls, targets: object) -> Targets | None:
        """Normalise what a decider's ``targets=`` accepts.

        ``None`` -> None (the default rule); a :class:`Targets` as is; an array or
        sequence -> per-park targets (kW); a mapping -> ``Targets(**mapping)``
        (keys ``park_kw``, ``group``, ``group_kw``, ``der_kw``).
        """
        if targets is None or isinstance(targets, Targets):
            return targets
        if isinstance(targets, Mapping):
            return cls(**{k: None if v is None else np.asarray(v) for k, v in targets.items()})
        return cls(park_kw=np.asarray(targets, np.float64))


TargetsLike = Targets | np.ndarray | Sequence[float] | Mapping[str, np.ndarray] | None
"""What a decider's ``targets=`` keyword accepts (see :meth:`Targets.coerce`)."""


@dataclass
class PeriodTable:
    """One period's controllable DERs as flat arrays (kinds in the order of the views).

    Attributes:
        kinds: kind names in row order.
        bounds: ``kind -> (start, stop)`` rows of each kind.
        park: (N,) int64 park index.
        p_max_kw: (N,) rating (normalises the load gradient).
        prev_kw: (N,) load in the previous period.
        cand_kw: (N, W) float32 power of each action this period (0 where padded); W is
            the widest kind's number of actions.
        avail: (N, W) actions the device rules allow (padding is unavailable).
        up: (N, W) next available action with more power (itself at the top).
        down: (N, W) next available action with less power (itself at the bottom).
        usual: (N,) int8 the action without control.
        no_shed: (N,) units that must not take power-reducing steps for the coalition
            (e.g. air conditioners already near the top of their comfort band).
        kind_index: (N,) int8 position of each row's kind in ``kinds``.
        movable: (N,) units with at least two actions of different power (the only ones a
            coalition can move).
        g: renewable gradient of the period.
        gamma: fitness weight of the period.
        lam: similarity coefficient.
        step: period index.
        hour_of_day: hour of the period start.
        dt_h: period length.
        n_parks: number of parks.
        targets: the period's VPP-level target (None: the default rule).
    """

    kinds: tuple[str, ...]
    bounds: dict[str, tuple[int, int]]
    park: np.ndarray
    p_max_kw: np.ndarray
    prev_kw: np.ndarray
    cand_kw: np.ndarray
    avail: np.ndarray
    up: np.ndarray
    down: np.ndarray
    usual: np.ndarray
    no_shed: np.ndarray
    kind_index: np.ndarray
    movable: np.ndarray
    g: float
    gamma: float
    lam: float
    step: int
    hour_of_day: float
    dt_h: float
    n_parks: int
    targets: Targets | None = None

    def __post_init__(self) -> None:
        t = self.targets
        if t is None:
            return
        if t.park_kw is not None and np.shape(t.park_kw) != (self.n_parks,):
            raise ValueError(f"park_kw must have shape ({self.n_parks},), got {np.shape(t.park_kw)}")
        for name in ("group", "der_kw"):
            v = getattr(t, name)
            if v is not None and np.shape(v) != (self.n,):
                raise ValueError(f"{name} must have shape ({self.n},), got {np.shape(v)}")
        if t.group is not None and self.n and (np.min(t.group) < 0 or np.max(t.group) >= len(t.group_kw)):
            raise ValueError("group labels must index group_kw")

    # -------------------------------------------------------------- shape
    @property
    def n(self) -> int:
        return len(self.park)

    @property
    def width(self) -> int:
        """Action columns (the widest kind's number of actions)."""
        return int(self.cand_kw.shape[1])

    def rows_of(self, kind: str) -> np.ndarray:
        """(N,) bool rows of one kind (all False for a kind not in the table)."""
        mask = np.zeros(self.n, bool)
        if kind in self.bounds:
            mask[slice(*self.bounds[kind])] = True
        return mask

    @property
    def is_ev(self) -> np.ndarray:
        """(N,) EV rows (the ``n_ev`` column of the organiser's outputs)."""
        return self.rows_of("ev")

    # -------------------------------------------------------------- actions
    def split(self, act: np.ndarray) -> dict[str, np.ndarray]:
        """Per-kind int64 action arrays from the flat array."""
        act = np.asarray(act)
        return {k: act[a:b].astype(np.int64) for k, (a, b) in self.bounds.items()}

    def join(self, actions: Mapping[str, np.ndarray]) -> np.ndarray:
        """Flat int64 actions from per-kind arrays (the inverse of :meth:`split`)."""
        parts = [np.asarray(actions[k], np.int64).reshape(-1) for k in self.kinds]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def sanitize(self, act: np.ndarray) -> np.ndarray:
        """(N,) int8: out-of-range or unavailable actions replaced by the usual one (as the model does)."""
        act = np.asarray(act, dtype=np.int64)
        ok = (act >= 0) & (act < self.width)
        safe = np.where(ok, act, 0)
        ok &= self.avail[np.arange(self.n), safe]
        return np.where(ok, act, self.usual).astype(np.int8)

    def power_kw(self, act: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """float64 power of the given actions, of every DER or of ``rows`` (then ``act`` is per row)."""
        w = self.width
        base = np.arange(self.n, dtype=np.int64) * w if rows is None else rows * w
        return self.cand_kw.ravel()[base + act].astype(np.float64)

    def flexibility_kw(self, act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(up, down) per DER: how far the load could still rise / fall within available actions."""
        p = self.power_kw(act)
        hi = np.where(self.avail, self.cand_kw, -np.inf).max(axis=1)
        lo = np.where(self.avail, self.cand_kw, np.inf).min(axis=1)
        return np.maximum(hi - p, 0.0), np.maximum(p - lo, 0.0)

    # -------------------------------------------------------------- fitness and targets
    def fitness(self, load_kw: np.ndarray, prev_kw: np.ndarray, p_max_kw: np.ndarray) -> np.ndarray:
        """Eq. 5 one-period fitness of units with these aggregate loads."""
        return period_fitness(load_kw, prev_kw, p_max_kw, self.g, self.gamma, self.lam)

    def fitness_to(self, load_kw: np.ndarray, target_kw: np.ndarray, p_max_kw: np.ndarray) -> np.ndarray:
        """Eq. 5 fitness around a given target: ``gamma * exp(-lam * |L - L*| / P_max)``.

        With ``target_kw = target_kw(prev, p_max)`` this is :meth:`fitness` (up to rounding).
        """
        return period_fitness(load_kw, target_kw, p_max_kw, 0.0, self.gamma, self.lam)

    def target_kw(self, prev_kw: np.ndarray, p_max_kw: np.ndarray) -> np.ndarray:
        """The default target rule: load at which a unit's Eq. 5 fitness peaks, ``L_prev + g * P_max`` (kW)."""
        return prev_kw + self.g * p_max_kw

    @property
    def der_target_kw(self) -> np.ndarray | None:
        """(N,) given per-DER targets, or None (units then use :meth:`target_kw`)."""
        t = self.targets
        return None if t is None or t.der_kw is None else np.asarray(t.der_kw, np.float64)

    def _base_der_target_kw(self) -> np.ndarray:
        der = self.der_target_kw
        return self.target_kw(self.prev_kw, self.p_max_kw) if der is None else der

    @property
    def target_group(self) -> np.ndarray:
        """(N,) int64 group of the objective ``sum_g |L_g - T_g|``: the given groups, else the parks."""
        t = self.targets
        return self.park if t is None or t.group is None else np.asarray(t.group, np.int64)

    @property
    def n_target_groups(self) -> int:
        t = self.targets
        return self.n_parks if t is None or t.group is None else len(t.group_kw)

    @property
    def group_target_kw(self) -> np.ndarray:
        """(G,) target of each objective group (kW): given, or the sum of its DERs' targets."""
        t = self.targets
        if t is not None and t.park_kw is not None:
            return np.asarray(t.park_kw, np.float64)
        if t is not None and t.group_kw is not None:
            return np.asarray(t.group_kw, np.float64)
        return np.bincount(self.target_group, weights=self._base_der_target_kw(), minlength=self.n_target_groups)

    @property
    def top_shift_kw(self) -> np.ndarray | None:
        """(N,) per-DER share of the gap between the group targets and the sum of the units' own targets.

        The gap of each group is shared by rating; the self-organiser adds it to
        the targets of the top level only, so the top-level units of a group aim
        at the group's target together. None without park or group targets.
        """
        t = self.targets
        if t is None or (t.park_kw is None and t.group_kw is None):
            return None
        grp, n_g = self.target_group, self.n_target_groups
        base = np.bincount(grp, weights=self._base_der_target_kw(), minlength=n_g)
        rating = np.bincount(grp, weights=self.p_max_kw, minlength=n_g)
        share = np.where(rating > 0, (self.group_target_kw - base) / np.where(rating > 0, rating, 1.0), 0.0)
        return share[grp] * self.p_max_kw

    # -------------------------------------------------------------- objective
    def park_load_kw(self, act: np.ndarray) -> np.ndarray:
        """(n_parks,) controllable load per park under valid flat actions."""
        return np.bincount(self.park, weights=self.power_kw(act), minlength=self.n_parks)

    def group_load_kw(self, act: np.ndarray) -> np.ndarray:
        """(G,) load of each objective group (the parks unless groups are given)."""
        return np.bincount(self.target_group, weights=self.power_kw(act), minlength=self.n_target_groups)

    def residual_kw(self, act: np.ndarray) -> float:
        """Objective of every baseline: ``sum_g |L_g - T_g|`` (kW) of valid flat actions."""
        return float(np.abs(self.group_load_kw(act) - self.group_target_kw).sum())

    # -------------------------------------------------------------- builders
    @classmethod
    def from_arrays(
        cls,
        cand_kw: np.ndarray,
        avail: np.ndarray,
        prev_kw: np.ndarray,
        p_max_kw: np.ndarray,
        *,
        g: float,
        gamma: float = 1.0,
        lam: float = 1.0,
        park: np.ndarray | None = None,
        usual: np.ndarray | None = None,
        no_shed: np.ndarray | None = None,
        kinds: dict[str, tuple[int, int]] | None = None,
        n_parks: int | None = None,
        targets: TargetsLike = None,
        step: int = 0,
        hour_of_day: float = 0.0,
        dt_h: float = 1.0,
    ) -> PeriodTable:
        """A table from plain arrays (tests, benchmarks, toy problems, other front ends).

        Args:
            cand_kw: (N, W) power of each action (kW).
            avail: (N, W) bool, allowed actions (each row needs one).
            prev_kw: (N,) previous load (kW).
            p_max_kw: (N,) ratings (kW).
            g, gamma, lam: the period's signal (Eq. 5).
            park: (N,) park index (default all 0).
            usual: (N,) fallback action (default the first available one).
            no_shed: (N,) units that must not shed for a coalition (default none).
            kinds: ``kind -> (start, stop)`` rows (default all rows ``"ac"``).
            n_parks: number of parks (default largest park index + 1).
            targets: VPP-level target (see :class:`Targets`; default the Eq. 5 rule); its
                ``gamma``, when set, replaces ``gamma``.
            step, hour_of_day, dt_h: period identification.
        """
        targets = Targets.coerce(targets)
        gamma = gamma if targets is None or targets.gamma is None else targets.gamma
        cand = np.atleast_2d(np.asarray(cand_kw, np.float32))
        av = np.atleast_2d(np.asarray(avail, bool))
        n = cand.shape[0]
        if av.shape != cand.shape:
            raise ValueError(f"cand_kw {cand.shape} and avail {av.shape} must match")
        if not av.any(axis=1).all():
            raise ValueError("every unit needs at least one available action")
        kinds = {"ac": (0, n)} if kinds is None else dict(kinds)
        park = np.zeros(n, np.int64) if park is None else np.asarray(park, np.int64)
        up, down = _ladders_by_kind(cand, av, kinds)
        return cls(
            kinds=tuple(kinds),
            bounds=kinds,
            park=park,
            p_max_kw=np.asarray(p_max_kw, np.float64),
            prev_kw=np.asarray(prev_kw, np.float64),
            cand_kw=cand,
            avail=av,
            up=up,
            down=down,
            usual=np.argmax(av, axis=1).astype(np.int8) if usual is None else np.asarray(usual, np.int8),
            no_shed=np.zeros(n, bool) if no_shed is None else np.asarray(no_shed, bool),
            kind_index=_kind_index(kinds, n),
            movable=_movable(cand, av),
            g=float(g),
            gamma=float(gamma),
            lam=float(lam),
            step=int(step),
            hour_of_day=float(hour_of_day),
            dt_h=float(dt_h),
            n_parks=(int(park.max()) + 1 if n else 0) if n_parks is None else int(n_parks),
            targets=targets,
        )


def _kind_index(bounds: Mapping[str, tuple[int, int]], n: int) -> np.ndarray:
    idx = np.zeros(n, np.int8)
    for j, (a, b) in enumerate(bounds.values()):
        idx[a:b] = j
    return idx


def _movable(cand: np.ndarray, avail: np.ndarray) -> np.ndarray:
    if not len(cand):
        return np.zeros(0, bool)
    on = np.where(avail, cand, np.nan)
    return np.nanmax(on, axis=1) > np.nanmin(on, axis=1)


def _ladders_general(cand_kw: np.ndarray, avail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ladders of arbitrary rows: one vectorised pass per action column (slow at scale)."""
    n, width = cand_kw.shape
    up = np.empty((n, width), np.int8)
    down = np.empty((n, width), np.int8)
    for a in range(width):
        cur = cand_kw[:, a : a + 1]
        above = np.where(avail & (cand_kw > cur), cand_kw, np.inf)
        below = np.where(avail & (cand_kw < cur), cand_kw, -np.inf)
        up[:, a] = np.where(np.isfinite(above.min(axis=1)), np.argmin(above, axis=1), a)
        down[:, a] = np.where(np.isfinite(below.max(axis=1)), np.argmax(below, axis=1), a)
    return up, down


def _walk(c: np.ndarray, av: np.ndarray, rows: np.ndarray, ks, beyond) -> np.ndarray:
    """Position of the next rung in walking direction with power strictly ``beyond`` each rung.

    Rungs are visited from the far end: the next available rung ``j`` after rung
    ``k`` is the answer when strictly beyond ``k``; when equal, ``k`` shares ``j``'s
    answer (valid along a monotone row); with no ``j``, ``k`` stays put.
    """
    n, width = c.shape
    # Column-major storage: column slices are contiguous, gathers stay cache-friendly.
    cf = np.asfortranarray(c)
    res = np.asfortranarray(np.tile(np.arange(width, dtype=np.int32), (n, 1)))
    cflat, rflat = cf.ravel(order="K"), res.ravel(order="K")
    rows32 = rows.astype(np.int32)
    nav = np.full(n, -1, np.int32)
    for k in ks:
        has = nav >= 0
        j = np.where(has, nav, np.int32(k))
        at = j * n + rows32 if n * width < 2**31 else j.astype(np.int64) * n + rows
        cj, rj, ck = cflat[at], rflat[at], cf[:, k]
        follow = np.where(rj == j, np.int32(k), rj)
        res[:, k] = np.where(has & beyond(cj, ck), j, np.where(has & (cj == ck), follow, np.int32(k)))
        nav = np.where(av[:, k], np.int32(k), nav)
    return res


def _ladders(cand_kw: np.ndarray, avail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Next available action up and down each unit's power ladder.

    ``up[u, a]`` is the available action of unit ``u`` with the smallest power
    strictly above that of action ``a`` (``a`` itself when there is none);
    ``down`` likewise below; equal-power actions are skipped, so a step always
    changes the load. Device kinds order their actions by power the same way
    for every unit (air conditioners: off < cool30 < cool26 < cool22 < cool18;
    EV piles: 0 < half < full), so one order from the column means serves all
    rows; rows where it does not hold fall back to a per-row computation.
    """
    n, width = cand_kw.shape
    if n == 0:
        return np.zeros((0, width), np.int8), np.zeros((0, width), np.int8)
    sample = slice(0, min(n, 4096))  # the order only needs to be right for most rows; all are checked
    av_s = avail[sample]
    mean = np.where(av_s.any(axis=0), (cand_kw[sample] * av_s).sum(axis=0) / np.maximum(av_s.sum(axis=0), 1), np.inf)
    order = np.argsort(mean, kind="stable")
    c, av = np.asfortranarray(cand_kw[:, order]), np.asfortranarray(avail[:, order])
    rows = np.arange(n)
    up_pos = _walk(c, av, rows, range(width - 1, -1, -1), np.greater)
    down_pos = _walk(c, av, rows, range(width), np.less)
    up = np.empty((n, width), np.int8)
    down = np.empty((n, width), np.int8)
    up[:, order] = order[up_pos]
    down[:, order] = order[down_pos]
    # Rows whose available powers are not non-decreasing along the order.
    seen = np.maximum.accumulate(np.where(av, c, -np.inf), axis=1)
    bad = (av[:, 1:] & (c[:, 1:] < seen[:, :-1])).any(axis=1)
    if bad.any():
        up[bad], down[bad] = _ladders_general(cand_kw[bad], avail[bad])
    return up, down


def build_table(
    views: Mapping[str, KindView],
    comfort_guard_c: float = 0.0,
    lam: float | None = None,
    targets: TargetsLike = None,
    n_parks: int | None = None,
) -> PeriodTable:
    """Flatten the period's kind views into one :class:`PeriodTable`.

    Kinds come in the order of ``views`` (the model passes them in the kind
    registry's order). Nothing here depends on a kind's name: per-row flags come
    from the view (``view.no_shed(guard_c)``, or the comfort attributes of the
    view's fleet until every view has it).

    Args:
        views: ``{kind: KindView}`` of one period.
        comfort_guard_c: units within this many degrees of the top of their comfort
            band do not shed load for a coalition (``KindView.comfort_avail``
            removes the shedding actions; 0 disables the guard).
        lam: similarity coefficient (default the views' ``ctx.lam``).
        targets: VPP-level target of the period (see :class:`Targets`; None: the default rule).
        n_parks: number of parks (default largest park index + 1).
    """
    kinds = tuple(views)
    if not kinds:
        raise ValueError("no kind views given")
    width = max(int(views[k].n_actions) for k in kinds)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("park", "p_max", "prev", "cand", "avail", "usual", "no_shed")}
    bounds: dict[str, tuple[int, int]] = {}
    start = 0
    for kind in kinds:
        v = views[kind]
        n, a = v.n, v.n_actions
        # Narrower kinds are padded with unavailable zero-power actions.
        cand = np.zeros((n, width), np.float32)
        cand[:, :a] = v.candidate_p_kw
        av = np.zeros((n, width), bool)
        av[:, :a] = v.comfort_avail(comfort_guard_c)
        parts["park"].append(np.asarray(v.park, np.int64))
        parts["p_max"].append(np.asarray(v.p_max_kw, np.float64))
        parts["prev"].append(np.asarray(v.prev_p_kw, np.float64))
        parts["cand"].append(cand)
        parts["avail"].append(av)
        parts["usual"].append(np.asarray(v.usual, dtype=np.int8))
        parts["no_shed"].append(_no_shed(v, comfort_guard_c))
        bounds[kind] = (start, start + n)
        start += n
    ctx = views[kinds[-1]].ctx
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    up, down = _ladders_by_kind(cat["cand"], cat["avail"], bounds)
    park = cat["park"]
    targets = Targets.coerce(targets)
    gamma = ctx.gamma if targets is None or targets.gamma is None else targets.gamma
    return PeriodTable(
        kinds=kinds,
        bounds=bounds,
        park=park,
        p_max_kw=cat["p_max"],
        prev_kw=cat["prev"],
        cand_kw=cat["cand"],
        avail=cat["avail"],
        up=up,
        down=down,
        usual=cat["usual"],
        no_shed=cat["no_shed"],
        kind_index=_kind_index(bounds, start),
        movable=_movable(cat["cand"], cat["avail"]),
        g=float(ctx.g),
        gamma=float(gamma),
        lam=float(ctx.lam if lam is None else lam),
        step=int(ctx.step),
        hour_of_day=float(ctx.hour_of_day),
        dt_h=float(ctx.dt_h),
        n_parks=(int(park.max()) + 1 if start else 0) if n_parks is None else int(n_parks),
        targets=targets,
    )


def _no_shed(view: KindView, guard_c: float) -> np.ndarray:
    """(n,) units of a view that must not shed load for a coalition (comfort guard)."""
    if guard_c <= 0 or view.n == 0:
        return np.zeros(view.n, bool)
    return np.asarray(view.no_shed(guard_c), bool)


def _ladders_by_kind(cand, avail, bounds) -> tuple[np.ndarray, np.ndarray]:
    up = np.zeros(cand.shape, np.int8)
    down = np.zeros(cand.shape, np.int8)
    for a, b in bounds.values():
        up[a:b], down[a:b] = _ladders(cand[a:b], avail[a:b])
    return up, down


def sanitize(table: PeriodTable, act: np.ndarray) -> np.ndarray:
    """Replace out-of-range or unavailable actions by the usual action (:meth:`PeriodTable.sanitize`)."""
    return table.sanitize(act)


# ------------------------------------------------------------------ joint actions
@dataclass
class JointMoves:
    """Result of :func:`improve_joint`: the DERs that moved and the coalitions' new loads.

    Attributes:
        rows: DER rows whose action changed.
        action: their new actions.
        power_kw: their new power.
        coalition: their coalition.
        load_kw: (n_coalitions,) aggregate load of every coalition after the moves.
    """

    rows: np.ndarray
    action: np.ndarray
    power_kw: np.ndarray
    coalition: np.ndarray
    load_kw: np.ndarray


def improve_joint(
    table: PeriodTable,
    act: np.ndarray,
    power_kw: np.ndarray,
    coalition: np.ndarray,
    load_kw: np.ndarray,
    target_kw: np.ndarray,
    order_key: np.ndarray,
    passes: int,
) -> JointMoves:
    """Move members' actions so that each coalition's aggregate load approaches its target.

    Args:
        table: the period's DERs.
        act: (N,) current actions.
        power_kw: (N,) power of the current actions.
        coalition: (N,) coalition index per DER, -1 for DERs not being optimised.
        load_kw: (n_coalitions,) current aggregate load of each coalition.
        target_kw: (n_coalitions,) target aggregate load of each coalition.
        order_key: (N,) values in [0, 1): the order in which a coalition's members are
            asked to move (the period's random order).
        passes: number of one-step passes.

    Returns:
        the moves (nothing is modified in place).
    """
    load = np.array(load_kw, dtype=np.float64, copy=True)
    idx = np.flatnonzero((coalition >= 0) & table.movable)
    empty = np.zeros(0, np.int64)
    moved_rows, moved_act = [empty], [empty]
    if idx.size == 0 or passes <= 0:
        return JointMoves(empty, empty.astype(np.int8), empty.astype(float), empty, load)
    c = coalition[idx]
    # One sort per call: members contiguous per coalition, in the period's order.
    srt = np.argsort(c.astype(np.float64) + order_key[idx])
    idx, c = idx[srt], c[srt]
    first = np.empty(idx.size, bool)
    first[0] = True
    np.not_equal(c[1:], c[:-1], out=first[1:])
    seg_start = np.flatnonzero(first)
    seg_of = np.cumsum(first) - 1
    seg_c = c[seg_start]
    row = idx * table.width
    cand = table.cand_kw.ravel()
    upf, downf = table.up.ravel(), table.down.ravel()
    a = act[idx].astype(np.int64)
    p = power_kw[idx].astype(np.float64)
    a_up, a_dn = upf[row + a].astype(np.int64), downf[row + a].astype(np.int64)
    p_up, p_dn = cand[row + a_up].astype(np.float64), cand[row + a_dn].astype(np.float64)
    # Guarded units (comfort) may shed back down to their usual power, never below it:
    # the comfort rule every method obeys (``KindView.comfort_avail``). Forbidding any
    # down-step left ACs that a lower level had raised stuck above it, which is where
    # part of the old gap to the optimum came from (issue 11).
    floor_kw = cand[row + table.usual[idx].astype(np.int64)].astype(np.float64) - 1e-6
    guarded = table.no_shed[idx]
    may_shed = ~guarded | (p_dn >= floor_kw)
    # Step sizes up and down (0 where no step exists or shedding is not allowed),
    # kept up to date for moved DERs only.
    d_up, d_dn = p_up - p, np.where(may_shed, p - p_dn, 0.0)
    for it in range(passes):
        r = target_kw[seg_c] - load[seg_c]
        rise = (r > 0)[seg_of]
        d = np.where(rise, d_up, d_dn)
        # A step that alone would overshoot past the midpoint can never be taken; it
        # must not block the smaller steps of the members after it in the order.
        d = np.where(d < 2.0 * np.abs(r)[seg_of], d, 0.0)
        cs = np.cumsum(d)
        # A prefix of each coalition's members moves: a step is taken when it brings
        # the aggregate closer to the target, i.e. when the cumulated steps before it
        # plus half of it stay below |r| (midpoint test), so |residual| never grows.
        # With cs the running sum: (cs - d) - cs_before_segment + d/2 < |r|.
        thr = (np.abs(r) + (cs - d)[seg_start])[seg_of]
        t = np.flatnonzero((d > 0) & (cs - 0.5 * d < thr))
        if t.size == 0:
            break
        up_t = rise[t]
        new_a = np.where(up_t, a_up[t], a_dn[t])
        new_p = np.where(up_t, p_up[t], p_dn[t])
        load += np.bincount(seg_c[seg_of[t]], weights=new_p - p[t], minlength=len(load))
        a[t], p[t] = new_a, new_p
        moved_rows.append(idx[t])
        moved_act.append(new_a)
        if it + 1 == passes:
            break
        rt = row[t]
        a_up[t], a_dn[t] = upf[rt + new_a], downf[rt + new_a]
        p_up[t], p_dn[t] = cand[rt + a_up[t]], cand[rt + a_dn[t]]
        d_up[t] = p_up[t] - new_p
        may_shed[t] = ~guarded[t] | (p_dn[t] >= floor_kw[t])
        d_dn[t] = np.where(may_shed[t], new_p - p_dn[t], 0.0)
        # A coalition where nobody moved stays put in every later pass: drop it.
        active = np.zeros(len(seg_start), bool)
        active[seg_of[t]] = True
        if active.mean() < 0.5:
            keep = active[seg_of]
            idx, row, a, p, a_up, a_dn, p_up, p_dn, may_shed, d_up, d_dn, floor_kw, guarded = (
                x[keep] for x in (idx, row, a, p, a_up, a_dn, p_up, p_dn, may_shed, d_up, d_dn, floor_kw, guarded)
            )
            seg_lengths = np.diff(np.append(seg_start, len(seg_of)))[active]
            seg_c = seg_c[active]
            seg_start = np.concatenate([[0], np.cumsum(seg_lengths)[:-1]])
            seg_of = np.repeat(np.arange(len(seg_c)), seg_lengths)
    rows = np.concatenate(moved_rows)
    acts = np.concatenate(moved_act)
    if rows.size:
        # A DER moved in several passes: its last move holds.
        last = np.unique(rows[::-1], return_index=True)[1]
        keep_at = rows.size - 1 - last
        rows, acts = rows[keep_at], acts[keep_at]
    return JointMoves(rows, acts.astype(np.int8), table.power_kw(acts, rows), coalition[rows], load)


# ------------------------------------------------------------------ proposals
def propose_groups(
    park: np.ndarray,
    residual_kw: np.ndarray,
    group_size: int,
    jitter: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Group free units of a park into merge proposals of complementary residuals.

    Units are ranked by their residual (target minus load, kW) with random
    jitter, then folded (lowest with highest, second lowest with second
    highest, ...) and cut into groups of ``group_size``: units that cannot reach
    their own target in opposite directions are proposed together, which is
    where aggregation can raise fitness. The jitter (in standard deviations of
    the residuals) lets rejected units meet other partners in later iterations.

    Args:
        park: (n,) park of each free unit; groups never cross parks.
        residual_kw: (n,) residual of each free unit.
        group_size: units per proposal (the last group of a park may be smaller).
        jitter: noise on the ranking, in standard deviations of ``residual_kw``.
        rng: the organiser's generator for this period.

    Returns:
        (n,) proposal index per unit, -1 for units left without partner.
    """
    n = len(park)
    gid = np.full(n, -1, np.int64)
    if n < 2:
        return gid
    scale = float(np.std(residual_kw)) or 1.0
    # The tiny uniform term breaks ties at random when there is no jitter.
    key = residual_kw / scale + jitter * rng.standard_normal(n) + 1e-9 * rng.random(n)
    srt = np.argsort(key)
    # Stable sort by park on small integers is a radix sort: parks contiguous, key order kept.
    srt = srt[np.argsort(park[srt].astype(np.int16 if park.max() < 2**15 else np.int64), kind="stable")]
    ps = park[srt]
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(ps[1:], ps[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    seg = np.cumsum(first) - 1
    lengths = np.diff(np.append(starts, n))
    j = np.arange(n) - starts[seg]
    m = lengths[seg]
    half = (m + 1) // 2
    fold = np.where(j < half, 2 * j, 2 * (m - 1 - j) + 1)
    groups_per_park = -(-lengths // group_size)
    offset = np.concatenate([[0], np.cumsum(groups_per_park)[:-1]])
    g_sorted = offset[seg] + fold // group_size
    size = np.bincount(g_sorted)
    g_sorted = np.where(size[g_sorted] >= 2, g_sorted, -1)
    gid[srt] = g_sorted
    return compact_labels(gid)[0]


# ------------------------------------------------------------------ labels
def compact_labels(lab: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber non-negative labels to 0..k-1 keeping their order; -1 stays -1.

    Returns:
        (labels, k).
    """
    lab = np.asarray(lab, dtype=np.int64)
    valid = lab >= 0
    if not valid.any():
        return lab.copy(), 0
    used = np.zeros(int(lab.max()) + 1, bool)
    used[lab[valid]] = True
    remap = np.cumsum(used) - 1
    return np.where(valid, remap[np.where(valid, lab, 0)], -1), int(used.sum())


def representatives(lab: np.ndarray, n_units: int) -> np.ndarray:
    """One DER row per unit (any member): lets unit-level values be read from DER-level arrays."""
    rep = np.empty(n_units, np.int64)
    rep[lab] = np.arange(len(lab), dtype=np.int64)
    return rep


def unit_sums(lab: np.ndarray, n_units: int, *values: np.ndarray) -> list[np.ndarray]:
    """Sum DER-level values per unit."""
    return [np.bincount(lab, weights=v, minlength=n_units) for v in values]
