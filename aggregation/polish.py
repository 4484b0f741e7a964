"""Final exchange moves of a coalition's joint actions: one step up for one member, one down for another.

:func:`aggregation.coalitions.improve_joint` moves members one ladder step at a
time in one direction (toward the target). When the remaining residual is
smaller than half of every member's step, nothing more moves, although an
exchange (member A one step up, member B one step down, net ``u - d``) could
still land closer: with few units (56 agents) that last fraction of a kW is
several percent of the achievable improvement (issue 11). :func:`polish_pairs`
makes, per coalition and round, the single move or exchange that brings the
aggregate closest to the target, only when it does, so the residual never
grows. Vectorised: one sort of the down-steps per round, a ``searchsorted`` per
up-step, a segment minimum per coalition.
"""

from __future__ import annotations

import numpy as np

from .coalitions import PeriodTable

_KEY_SPAN = 1e6  # kW: larger than any ladder step, so keys of different coalitions never mix


def _steps(table: PeriodTable, idx: np.ndarray, act: np.ndarray, p: np.ndarray):
    """Up and down step (kW, 0 when none or not allowed) and the actions they lead to, per row in ``idx``."""
    row = idx * table.width
    cand = table.cand_kw.ravel()
    a = act[idx].astype(np.int64)
    a_up = table.up.ravel()[row + a].astype(np.int64)
    a_dn = table.down.ravel()[row + a].astype(np.int64)
    p_up, p_dn = cand[row + a_up].astype(np.float64), cand[row + a_dn].astype(np.float64)
    floor = cand[row + table.usual[idx].astype(np.int64)] - 1e-6
    may_shed = ~table.no_shed[idx] | (p_dn >= floor)  # the comfort rule of improve_joint
    return p_up - p[idx], np.where(may_shed, p[idx] - p_dn, 0.0), a_up, a_dn


def polish_pairs(
    table: PeriodTable,
    act: np.ndarray,
    coalition: np.ndarray,
    load_kw: np.ndarray,
    target_kw: np.ndarray,
    rounds: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """Exchange moves toward each coalition's target.

    Args:
        table: the period's DERs.
        act: (N,) current actions (not modified).
        coalition: (N,) coalition of each DER, -1 for DERs not polished.
        load_kw: (C,) current aggregate load of each coalition.
        target_kw: (C,) its target.
        rounds: at most this many moves per coalition.

    Returns:
        ``(actions, load_kw)``: the new (N,) actions and (C,) loads; ``|target - load|`` never grows.
    """
    act = np.array(act, copy=True)
    load = np.array(load_kw, dtype=np.float64, copy=True)
    idx = np.flatnonzero((coalition >= 0) & table.movable)
    if idx.size == 0:
        return act, load
    c = coalition[idx]
    n_c = len(load)
    for _ in range(rounds):
        p = table.power_kw(act)
        d_up, d_dn, a_up, a_dn = _steps(table, idx, act, p)
        r = target_kw - load
        best = np.abs(r)  # moves must beat doing nothing
        gain_up = np.where(d_up > 0, np.abs(r[c] - d_up), np.inf)
        gain_dn = np.where(d_dn > 0, np.abs(r[c] + d_dn), np.inf)
        # Exchanges: for every member's up-step u, the down-step d of the same coalition closest to u - r.
        has_dn = d_dn > 0
        dn_rows = np.flatnonzero(has_dn)
        key = c[dn_rows] * _KEY_SPAN + d_dn[dn_rows]
        order = np.argsort(key)
        key, dn_rows = key[order], dn_rows[order]
        pair_err = np.full(idx.size, np.inf)
        pair_with = np.full(idx.size, -1, np.int64)
        if key.size:
            want = c * _KEY_SPAN + (d_up - r[c])
            pos = np.searchsorted(key, want)
            for off in (-1, 0):
                j = np.clip(pos + off, 0, key.size - 1)
                partner = dn_rows[j]
                ok = (d_up > 0) & (c[partner] == c) & (partner != np.arange(idx.size))
                err = np.where(ok, np.abs(r[c] - d_up + d_dn[partner]), np.inf)
                better = err < pair_err
                pair_err = np.where(better, err, pair_err)
                pair_with = np.where(better, partner, pair_with)
        # Per member: its best move (0 up alone, 1 down alone, 2 up with its partner down).
        err = np.stack([gain_up, gain_dn, pair_err])
        kind = np.argmin(err, axis=0)
        e = err[kind, np.arange(idx.size)]
        # Per coalition: the member whose move lands closest, if it beats the current residual.
        seg_best = np.full(n_c, np.inf)
        np.minimum.at(seg_best, c, e)
        # 1 W: float32 action powers make exact no-op exchanges look like tiny gains.
        cand = (e == seg_best[c]) & (e < best[c] - 1e-3)
        if not cand.any():
            break
        rows = np.flatnonzero(cand)
        _, first = np.unique(c[rows], return_index=True)  # one move per coalition
        rows = rows[first]
        k = kind[rows]
        up = (k == 0) | (k == 2)
        act[idx[rows[up]]] = a_up[rows[up]]
        dn_self = rows[k == 1]
        act[idx[dn_self]] = a_dn[dn_self]
        partners = pair_with[rows[k == 2]]
        act[idx[partners]] = a_dn[partners]
        delta = np.where(k == 0, d_up[rows], np.where(k == 1, -d_dn[rows], d_up[rows] - d_dn[pair_with[rows]]))
        load += np.bincount(c[rows], weights=delta, minlength=n_c)
    return act, load
