"""Array machinery of coalitions: the period's DER table, joint actions, merge proposals, labels.

Everything here works on flat arrays with one entry per controllable DER
(air conditioners first, then EV piles) or per unit of a level. Coalitions are
integer labels; sums over coalitions are ``np.bincount`` or ``np.add.reduceat``
over label-sorted segments. No Python loop runs over DERs or coalitions; the
only loops run over action columns (at most 5) and improvement passes.

The joint-action improvement is the coalition's decision rule (see
``docs/aggregation.md``): a coalition C of total rating ``P_max,C`` wants its
aggregate load to change by ``dL* = g(t) * P_max,C`` against the previous
period, because that is the load change at which its one-period zero-carbon
index ``exp(-lambda |l - g|)`` is largest. Starting from the members' own
actions, members take one step along their power ladder (the next available
action with more or less power) towards the coalition target, in a fixed
per-period order, as long as each step brings the aggregate closer to the
target. A few passes allow multi-step moves. The residual ``|L_C - L_C*|``
never increases, so the coalition fitness never decreases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .indices import period_fitness
from .policy import KindView

N_SLOTS = 5  # widest action set of any kind (AC modes); narrower kinds are padded unavailable


@dataclass
class PeriodTable:
    """One period's controllable DERs as flat arrays (AC rows first, then EV rows).

    Attributes:
        kinds: kind names in row order.
        bounds: ``kind -> (start, stop)`` rows of each kind.
        park: (N,) park index.
        p_max_kw: (N,) rating (normalises the load gradient).
        prev_kw: (N,) load in the previous period.
        cand_kw: (N, N_SLOTS) power of each action this period (0 where padded).
        avail: (N, N_SLOTS) actions the device rules allow.
        up: (N, N_SLOTS) next available action with more power (itself at the top).
        down: (N, N_SLOTS) next available action with less power (itself at the bottom).
        usual: (N,) the action without control.
        no_shed: (N,) units that must not take power-reducing steps for the coalition
            (air conditioners already near the top of their comfort band).
        is_ev: (N,) EV rows.
        movable: (N,) units with at least two actions of different power (the only ones a
            coalition can move).
        g: renewable gradient of the period.
        gamma: fitness weight of the period.
        lam: similarity coefficient.
        step: period index.
        hour_of_day: hour of the period start.
        dt_h: period length.
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
    is_ev: np.ndarray
    movable: np.ndarray
    g: float
    gamma: float
    lam: float
    step: int
    hour_of_day: float
    dt_h: float

    @property
    def n(self) -> int:
        return len(self.park)

    @property
    def n_parks(self) -> int:
        return int(self.park.max()) + 1 if self.n else 0

    def power_kw(self, act: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """float64 power of the given actions, of every DER or of ``rows`` (then ``act`` is per row)."""
        base = np.arange(self.n, dtype=np.int64) * N_SLOTS if rows is None else rows * N_SLOTS
        return self.cand_kw.ravel()[base + act].astype(np.float64)

    def fitness(self, load_kw: np.ndarray, prev_kw: np.ndarray, p_max_kw: np.ndarray) -> np.ndarray:
        """Eq. 5 one-period fitness of units with these aggregate loads."""
        return period_fitness(load_kw, prev_kw, p_max_kw, self.g, self.gamma, self.lam)

    def target_kw(self, prev_kw: np.ndarray, p_max_kw: np.ndarray) -> np.ndarray:
        """Load at which a unit's fitness peaks: previous load + g * rating."""
        return prev_kw + self.g * p_max_kw

    def flexibility_kw(self, act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(up, down) per DER: how far the load could still rise / fall within available actions."""
        p = self.power_kw(act)
        hi = np.where(self.avail, self.cand_kw, -np.inf).max(axis=1)
        lo = np.where(self.avail, self.cand_kw, np.inf).min(axis=1)
        return np.maximum(hi - p, 0.0), np.maximum(p - lo, 0.0)

    def split(self, act: np.ndarray) -> dict[str, np.ndarray]:
        """Per-kind int64 action arrays from the flat array."""
        return {k: act[a:b].astype(np.int64) for k, (a, b) in self.bounds.items()}

    @classmethod
    def from_arrays(
        cls,
        cand_kw: np.ndarray,
        avail: np.ndarray,
        prev_kw: np.ndarray,
        p_max_kw: np.ndarray,
        *,
        g: float,
        gamma: float,
        lam: float = 1.0,
        park: np.ndarray | None = None,
        usual: np.ndarray | None = None,
        no_shed: np.ndarray | None = None,
        kinds: dict[str, tuple[int, int]] | None = None,
        step: int = 0,
        hour_of_day: float = 0.0,
        dt_h: float = 1.0,
    ) -> PeriodTable:
        """A table from plain arrays (tests, benchmarks, other front ends).

        Args:
            cand_kw: (N, <= N_SLOTS) power of each action; padded to N_SLOTS unavailable columns.
            avail: same shape, allowed actions.
            prev_kw: (N,) previous load.
            p_max_kw: (N,) ratings.
            g, gamma, lam: the period's signal (Eq. 5).
            park: (N,) park index (default all 0).
            usual: (N,) fallback action (default the first available one).
            no_shed: (N,) units that must not shed for a coalition (default none).
            kinds: ``kind -> (start, stop)`` rows (default all rows ``"ac"``).
            step, hour_of_day, dt_h: period identification.
        """
        cand_kw = np.atleast_2d(np.asarray(cand_kw, np.float32))
        avail = np.atleast_2d(np.asarray(avail, bool))
        n, a = cand_kw.shape
        if a > N_SLOTS or avail.shape != (n, a):
            raise ValueError(f"cand_kw {cand_kw.shape} and avail {avail.shape} must match, <= {N_SLOTS} actions")
        if not avail.any(axis=1).all():
            raise ValueError("every unit needs at least one available action")
        cand = np.zeros((n, N_SLOTS), np.float32)
        cand[:, :a] = cand_kw
        av = np.zeros((n, N_SLOTS), bool)
        av[:, :a] = avail
        kinds = {"ac": (0, n)} if kinds is None else dict(kinds)
        is_ev = np.zeros(n, bool)
        if "ev" in kinds:
            is_ev[slice(*kinds["ev"])] = True
        up, down = _ladders_by_kind(cand, av, kinds)
        return cls(
            kinds=tuple(kinds),
            bounds=kinds,
            park=np.zeros(n, np.int64) if park is None else np.asarray(park, np.int64),
            p_max_kw=np.asarray(p_max_kw, np.float64),
            prev_kw=np.asarray(prev_kw, np.float64),
            cand_kw=cand,
            avail=av,
            up=up,
            down=down,
            usual=np.argmax(av, axis=1).astype(np.int8) if usual is None else np.asarray(usual, np.int8),
            no_shed=np.zeros(n, bool) if no_shed is None else np.asarray(no_shed, bool),
            is_ev=is_ev,
            movable=_movable(cand, av),
            g=float(g),
            gamma=float(gamma),
            lam=float(lam),
            step=int(step),
            hour_of_day=float(hour_of_day),
            dt_h=float(dt_h),
        )


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


def build_table(views: dict[str, KindView], comfort_guard_c: float = 0.0, lam: float | None = None) -> PeriodTable:
    """Flatten the period's kind views into one :class:`PeriodTable`.

    Args:
        views: ``{"ac": KindView, "ev": KindView}`` (any subset, any order; rows follow
            the order ``ac``, ``ev``, then others alphabetically).
        comfort_guard_c: air conditioners whose indoor temperature is within this
            many degrees of the top of their comfort band do not shed load for a
            coalition (0 disables the guard).
        lam: similarity coefficient (default the views' ``ctx.lam``).
    """
    kinds = tuple(sorted(views, key=lambda k: (k != "ac", k != "ev", k)))
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("park", "p_max", "prev", "cand", "avail", "usual", "no_shed", "is_ev")
    }
    bounds: dict[str, tuple[int, int]] = {}
    start = 0
    ctx = None
    for kind in kinds:
        v = views[kind]
        ctx = v.ctx
        n, a = v.n, v.n_actions
        cand = np.zeros((n, N_SLOTS), np.float32)
        cand[:, :a] = v.candidate_p_kw
        av = np.zeros((n, N_SLOTS), bool)
        av[:, :a] = v.comfort_avail(comfort_guard_c)
        usual = np.asarray(v.usual, dtype=np.int8)
        no_shed = np.zeros(n, bool)
        if kind == "ac" and comfort_guard_c > 0 and n:
            f = v.fleet
            no_shed = f.t_in_c >= f.comfort_high_c - comfort_guard_c
        parts["park"].append(np.asarray(v.park, np.int64))
        parts["p_max"].append(np.asarray(v.p_max_kw, np.float64))
        parts["prev"].append(np.asarray(v.prev_p_kw, np.float64))
        parts["cand"].append(cand)
        parts["avail"].append(av)
        parts["usual"].append(usual)
        parts["no_shed"].append(no_shed)
        parts["is_ev"].append(np.full(n, kind == "ev"))
        bounds[kind] = (start, start + n)
        start += n
    if ctx is None:
        raise ValueError("no kind views given")
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    up, down = _ladders_by_kind(cat["cand"], cat["avail"], bounds)
    return PeriodTable(
        kinds=kinds,
        bounds=bounds,
        park=cat["park"],
        p_max_kw=cat["p_max"],
        prev_kw=cat["prev"],
        cand_kw=cat["cand"],
        avail=cat["avail"],
        up=up,
        down=down,
        usual=cat["usual"],
        no_shed=cat["no_shed"],
        is_ev=cat["is_ev"],
        movable=_movable(cat["cand"], cat["avail"]),
        g=float(ctx.g),
        gamma=float(ctx.gamma),
        lam=float(ctx.lam if lam is None else lam),
        step=int(ctx.step),
        hour_of_day=float(ctx.hour_of_day),
        dt_h=float(ctx.dt_h),
    )


def _ladders_by_kind(cand, avail, bounds) -> tuple[np.ndarray, np.ndarray]:
    up = np.zeros(cand.shape, np.int8)
    down = np.zeros(cand.shape, np.int8)
    for a, b in bounds.values():
        up[a:b], down[a:b] = _ladders(cand[a:b], avail[a:b])
    return up, down


def sanitize(table: PeriodTable, act: np.ndarray) -> np.ndarray:
    """Replace out-of-range or unavailable actions by the usual action (as the model would)."""
    act = np.asarray(act, dtype=np.int64)
    ok = (act >= 0) & (act < N_SLOTS)
    safe = np.where(ok, act, 0)
    ok &= table.avail[np.arange(table.n), safe]
    return np.where(ok, act, table.usual).astype(np.int8)


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
    row = idx * N_SLOTS
    cand = table.cand_kw.ravel()
    upf, downf = table.up.ravel(), table.down.ravel()
    a = act[idx].astype(np.int64)
    p = power_kw[idx].astype(np.float64)
    a_up, a_dn = upf[row + a].astype(np.int64), downf[row + a].astype(np.int64)
    p_up, p_dn = cand[row + a_up].astype(np.float64), cand[row + a_dn].astype(np.float64)
    may_shed = ~table.no_shed[idx]
    # Step sizes up and down (0 where no step exists or shedding is not allowed),
    # kept up to date for moved DERs only.
    d_up, d_dn = p_up - p, np.where(may_shed, p - p_dn, 0.0)
    for it in range(passes):
        r = target_kw[seg_c] - load[seg_c]
        rise = (r > 0)[seg_of]
        d = np.where(rise, d_up, d_dn)
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
        d_dn[t] = np.where(may_shed[t], new_p - p_dn[t], 0.0)
        # A coalition where nobody moved stays put in every later pass: drop it.
        active = np.zeros(len(seg_start), bool)
        active[seg_of[t]] = True
        if active.mean() < 0.5:
            keep = active[seg_of]
            idx, row, a, p, a_up, a_dn, p_up, p_dn, may_shed, d_up, d_dn = (
                x[keep] for x in (idx, row, a, p, a_up, a_dn, p_up, p_dn, may_shed, d_up, d_dn)
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
