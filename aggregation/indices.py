"""Zero-carbon indices and the low-carbon fitness of seed 003 (Eqs. 1, 3, 5).

Conventions chosen where the paper is silent are listed in
``docs/indices.md`` and tested in ``tests/test_indices.py``:

* first differences are taken against the previous period's value, which the
  caller passes (``prev``), so a one-period decision has a defined difference;
* ``l(t)`` is the load difference divided by the unit's maximum power,
  ``g(t)`` the renewable difference divided by the horizon's maximum renewable
  energy (``P_G^max``), both dimensionless in [-1, 1];
* ``d`` is the Euclidean norm of ``l - g`` over the periods considered; for a
  single period it reduces to ``|l(t) - g(t)|``;
* the external/internal split uses the share of the load drawn from the grid,
  ``rho = sum(E_out) / sum(E_all)`` clipped to [0, 1] (exporting sites have
  ``rho = 0``); a site with no load has index 0;
* the fitness weight ``gamma_t`` is the system index of the preceding period,
  ``eta_GI(t-1)`` (cyclic at the first period of the horizon).
"""

from __future__ import annotations

import numpy as np


def system_index(e_res: np.ndarray, e_tot: np.ndarray) -> np.ndarray:
    """System zero-carbon index eta_GI(t) = E_res(t) / E_tot(t) (Eq. 1).

    Args:
        e_res: renewable generation per period (any energy unit).
        e_tot: total generation per period (same unit), renewables included.

    Returns:
        eta_GI per period, clipped to [0, 1]; periods with no generation get 0.

    Raises:
        ValueError: on negative inputs or mismatched shapes.
    """
    e_res = np.asarray(e_res, dtype=float)
    e_tot = np.asarray(e_tot, dtype=float)
    if e_res.shape != e_tot.shape:
        raise ValueError(f"e_res and e_tot shapes differ: {e_res.shape} vs {e_tot.shape}")
    if (e_res < 0).any() or (e_tot < 0).any():
        raise ValueError("generation series must be non-negative")
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(e_tot > 0, e_res / np.where(e_tot > 0, e_tot, 1.0), 0.0)
    return np.clip(eta, 0.0, 1.0)


def renewable_gradient(e_res: np.ndarray, prev: float | None = None) -> np.ndarray:
    """g(t): first difference of renewable energy over its horizon maximum.

    Args:
        e_res: renewable energy per period.
        prev: value before the first period; by default the last period
            (a day repeats).
    """
    e_res = np.asarray(e_res, dtype=float)
    p_g_max = float(e_res.max()) if e_res.size else 0.0
    if p_g_max <= 0:
        return np.zeros_like(e_res)
    before = e_res[-1] if prev is None else prev
    return np.diff(e_res, prepend=before) / p_g_max


def load_gradient(e_now: np.ndarray, e_prev: np.ndarray, p_max: np.ndarray) -> np.ndarray:
    """l(t) = (E(t) - E(t-1)) / P^max, vectorised over units and candidate actions."""
    p_max = np.asarray(p_max, dtype=float)
    return (np.asarray(e_now) - np.asarray(e_prev)) / np.where(p_max > 0, p_max, 1.0)


def load_index(
    e_out: np.ndarray,
    e_all: np.ndarray,
    g: np.ndarray,
    p_user_max: float,
    lam: float,
    prev_out: float | None = None,
) -> tuple[float, float, float]:
    """Zero-carbon index of a load over a horizon (Eq. 3).

    Args:
        e_out: energy drawn from the grid per period (meter reading; may be
            negative when the site exports).
        e_all: actual consumption per period.
        g: renewable gradient per period (:func:`renewable_gradient`).
        p_user_max: the load's maximum power (normalises l(t)).
        lam: similarity coefficient lambda.
        prev_out: meter value before the first period; default the last one.

    Returns:
        (eta_RI, omega_out, omega_in).
    """
    e_out = np.asarray(e_out, dtype=float)
    e_all = np.asarray(e_all, dtype=float)
    total = float(e_all.sum())
    if total <= 0:
        return 0.0, 0.0, 0.0
    rho = float(np.clip(max(e_out.sum(), 0.0) / total, 0.0, 1.0))
    before = e_out[-1] if prev_out is None else prev_out
    l_t = np.diff(e_out, prepend=before) / (p_user_max if p_user_max > 0 else 1.0)
    d = float(np.sqrt(np.sum((l_t - np.asarray(g, dtype=float)) ** 2)))
    omega_out = rho * float(np.exp(-lam * d))
    omega_in = 1.0 - rho
    return omega_out + omega_in, omega_out, omega_in


def period_fitness(
    e_now: np.ndarray,
    e_prev: np.ndarray,
    p_max: np.ndarray,
    g_t: float,
    gamma_t: float,
    lam: float,
    rho: np.ndarray | float = 1.0,
) -> np.ndarray:
    """Fitness mu(t) = gamma_t * f(s_t, a_t) for one period (Eq. 5), vectorised.

    ``f`` is the one-period zero-carbon index of the unit:
    ``rho * exp(-lam * |l(t) - g(t)|) + (1 - rho)``.

    Args:
        e_now: load in this period per unit, any shape (e.g. (n,) or (n, n_actions)).
        e_prev: load in the previous period, broadcastable to ``e_now``.
        p_max: maximum power per unit, broadcastable.
        g_t: renewable gradient of this period.
        gamma_t: system index of the preceding period.
        lam: similarity coefficient.
        rho: share drawn from the grid (1 for units without local generation).

    Returns:
        fitness with the shape of ``e_now``, in [0, gamma_t].
    """
    l_t = load_gradient(e_now, e_prev, p_max)
    return gamma_t * (rho * np.exp(-lam * np.abs(l_t - g_t)) + (1.0 - rho))


def shape_distance(load: np.ndarray, target: np.ndarray) -> float:
    """Tracking distance between a load curve and a target curve.

    Both curves are min-max normalised to [0, 1] over the horizon and the
    distance is the root-mean-square difference (Euclidean distance divided by
    sqrt(T)), so it lies in [0, 1] whatever the horizon length. A flat curve
    normalises to all zeros. See ``docs/indices.md``.
    """

    def norm(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        span = x.max() - x.min()
        return (x - x.min()) / span if span > 0 else np.zeros_like(x)

    a, b = norm(load), norm(target)
    return float(np.sqrt(np.mean((a - b) ** 2)))
