"""Observation features of DER agents (one row per unit, float32).

The layout is fixed so that trained weights stay valid; see
``docs/policies.md``. Every feature is scaled to roughly [-1, 1].
"""

from __future__ import annotations

import numpy as np

AC_FEATURES: tuple[str, ...] = (
    "t_in_dev",  # (T_in - 24) / 5
    "t_out_dev",  # (T_out - 28) / 5
    "hour_sin",
    "hour_cos",
    "eta_gi",
    "gamma",
    "g_x5",
    "prev_p_frac",  # previous power / p_max
    "usual_off", "usual_18", "usual_22", "usual_26", "usual_30",
)
EV_FEATURES: tuple[str, ...] = (
    "plugged_frac",
    "e_rem_frac",  # remaining need / (p_max * dt)
    "slack_h_frac",  # hours after this period / 12
    "hour_sin",
    "hour_cos",
    "eta_gi",
    "gamma",
    "g_x5",
    "prev_p_frac",
    "forced",
)
OBS_DIM: dict[str, int] = {"ac": len(AC_FEATURES), "ev": len(EV_FEATURES)}


def _common(view, n: int) -> np.ndarray:
    c = view.ctx
    ang = 2 * np.pi * c.hour_of_day / 24.0
    row = np.array([np.sin(ang), np.cos(ang), c.eta_gi, c.gamma, 5.0 * c.g], dtype=np.float32)
    return np.broadcast_to(row, (n, len(row)))


def observe(view) -> np.ndarray:
    """Feature matrix for a :class:`aggregation.policy.KindView`."""
    f = view.fleet
    n = len(f)
    c = view.ctx
    prev = (f.p_kw / np.maximum(f.p_max_kw, 1e-9)).astype(np.float32)[:, None]
    if view.kind == "ac":
        usual = np.zeros((n, 5), np.float32)
        usual[np.arange(n), view.usual] = 1.0
        own = np.stack([(f.t_in_c - 24.0) / 5.0, np.full(n, (c.t_out_c - 28.0) / 5.0, np.float32)], axis=1)
        return np.concatenate([own.astype(np.float32), _common(view, n), prev, usual], axis=1)
    sp = view.ev_period
    plugged_h, after_h = sp.plugged_h, sp.after_h
    e_rem = np.where(plugged_h > 0, sp.e_rem_kwh, 0.0)
    cap = f.p_max_kw * c.dt_h
    forced = ~view.avail[:, 0] & (plugged_h > 0)
    own = np.stack([plugged_h / c.dt_h, e_rem / np.maximum(cap, 1e-9), after_h / 12.0], axis=1).astype(np.float32)
    return np.concatenate([own, _common(view, n), prev, forced[:, None].astype(np.float32)], axis=1)
