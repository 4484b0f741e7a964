"""Rolling-horizon MPC on forecasts with errors, using the oracle's optimisation model.

Every period t (hourly in the bundled scenarios) the controller

1. forecasts loads and renewables for periods [t, t+H) (seed 002 §5.1: H = 4 h, rolled hourly);
2. solves :func:`learners.oracle.solve_plan` from the simulator's current state (turbine output,
   stored energies) with the carbon quota left, pro rata to the window;
3. applies the first period's set-points to the simulator, which meets the *realised* loads
   (the grid takes the forecast error within its limits; beyond them it is imbalance).

Forecast noise model (documented choice; the seeds give only the ±10 % / ±20 % levels): every
forecast value is the realisation times (1 + e*u), u ~ U(-1, 1) i.i.d. per series, period and
solve (redrawn every step), clipped at 0; e = 0.1 or 0.2. Prices are tariffs and known. The grid
absorbs electric forecast errors within its limits; the heat bus has no such slack, so by default
the MPC plans heat for the worst case of the noise model (forecast/(1 - e)) and vents the surplus.

Window end: when the window reaches the end of the day, storage must end at least at its initial
level (as in the oracle); otherwise stored energy is valued at the day's mean purchase price times
the discharge efficiency (battery) or divided by the heat pump's COP (tank), so a short horizon
does not empty the stores for free. With H covering the rest of the day and perfect forecasts the
MPC therefore reproduces the oracle's cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aggregation.multi_energy import MultiEnergySim, SiteConfig, SiteData, summarise
from learners.oracle import solve_plan

_NOISY = ("load_e_kw", "load_h_kw", "wind_kw", "pv_kw")


def noisy_forecast(data: SiteData, t0: int, t1: int, error: float, rng: np.random.Generator | None) -> SiteData:
    """Window [t0, t1) of ``data`` with multiplicative uniform noise of relative amplitude ``error``.

    Raises:
        ValueError: ``error`` outside [0, 1] or no rng given for a nonzero error.
    """
    if not 0.0 <= error <= 1.0:
        raise ValueError(f"forecast error must be in [0, 1], got {error}")
    w = data.window(t0, t1)
    if error == 0.0:
        return w
    if rng is None:
        raise ValueError("a numpy Generator is needed for noisy forecasts")
    noisy = {k: np.maximum(getattr(w, k) * (1.0 + error * rng.uniform(-1.0, 1.0, t1 - t0)), 0.0) for k in _NOISY}
    return SiteData(w.dt_h, noisy["load_e_kw"], noisy["load_h_kw"], noisy["wind_kw"], noisy["pv_kw"], w.buy_price,
                    w.sell_price)


def window_forecast(data: SiteData, t: int, horizon_h: float, error: float, rng: np.random.Generator | None,
                    heat_margin: bool = True) -> tuple[int, SiteData]:
    """The MPC's forecast of the window [t, t1) of ``data``, t1 = min(T, t + H): ``(t1, forecast)``.

    Noise as :func:`noisy_forecast`; with ``heat_margin`` (and 0 < e < 1) the heat load is planned for the
    worst realisation the noise model allows, actual = forecast / (1 + e*u) <= forecast / (1 - e), because
    the heat bus has no slack (surplus heat is vented).
    """
    H = max(1, int(round(horizon_h / data.dt_h)))
    t1 = min(data.n_periods, t + H)
    fc = noisy_forecast(data, t, t1, error, rng)
    if heat_margin and 0 < error < 1:
        fc = SiteData(fc.dt_h, fc.load_e_kw, fc.load_h_kw / (1.0 - error), fc.wind_kw, fc.pv_kw,
                      fc.buy_price, fc.sell_price)
    return t1, fc


def window_end_terms(cfg: SiteConfig, sim: MultiEnergySim, t1: int) -> dict[str, float]:
    """:func:`learners.oracle.solve_plan` keywords for the end of the window [sim.t, t1) (module docstring).

    At the day's end the stores must end at least at their initial level (``terminal_bat_kwh``,
    ``terminal_tes_kwh``); before it, stored energy is valued (``terminal_value_bat``, ``terminal_value_tes``).
    ``carbon_allowance_kg``: the quota left, pro rata to the window.
    """
    d, t = sim.data, sim.t
    T = d.n_periods
    at_end = t1 >= T
    mean_buy = float(np.mean(d.buy_price))
    kw: dict[str, float] = {}
    if cfg.battery is not None:
        b = cfg.battery
        if at_end:
            kw["terminal_bat_kwh"] = b.soc_init * b.capacity_kwh * b.count
        else:
            kw["terminal_value_bat"] = mean_buy * b.eta_discharge
    if cfg.tes is not None:
        if at_end:
            kw["terminal_tes_kwh"] = cfg.tes.level_init_kwh * cfg.tes.count
        elif cfg.hp is not None:
            kw["terminal_value_tes"] = mean_buy / cfg.hp.cop * cfg.tes.eta_discharge
    left = max(0.0, cfg.carbon.quota_kg_per_day - sim.emissions_kg)
    kw["carbon_allowance_kg"] = left if at_end else left * (t1 - t) / (T - t)
    return kw


@dataclass
class MpcResult:
    """A day under MPC: simulator rows, day summary, per-step solve times (s) and HiGHS statuses."""

    table: pd.DataFrame
    summary: dict[str, float]
    solve_s: np.ndarray
    statuses: list[str]


class RollingMPC:
    """Rolling-horizon controller; usable step by step (:meth:`act`) or for a whole day (:meth:`run`).

    Args:
        cfg: site.
        horizon_h: look-ahead H in hours (default 4, seed 002 §5.1).
        forecast_error: relative forecast error e (0, 0.1, 0.2 ...).
        rng: numpy Generator for the forecast noise (required when e > 0).
        heat_margin: plan the heat load at forecast/(1 - e), the worst case of the noise model, because
            the heat bus has no slack (a shortfall is unserved heat); surplus is vented.
        solve_kwargs: passed to :func:`learners.oracle.solve_plan` (``ramp_model``, ``eta_iterations`` ...).
    """

    def __init__(self, cfg: SiteConfig, horizon_h: float = 4.0, forecast_error: float = 0.0,
                 rng: np.random.Generator | None = None, heat_margin: bool = True, **solve_kwargs) -> None:
        if horizon_h <= 0:
            raise ValueError("horizon_h must be > 0")
        self.cfg = cfg
        self.horizon_h = horizon_h
        self.forecast_error = forecast_error
        self.rng = rng
        self.heat_margin = heat_margin
        self.solve_kwargs = solve_kwargs

    def act(self, sim: MultiEnergySim) -> tuple[np.ndarray, str, float]:
        """Set-points (k,) for the simulator's next period, the HiGHS status and the solve time (s).

        On a failed solve the controller holds the turbine and idles the stores (status reported).
        """
        cfg = self.cfg
        t1, fc = window_forecast(sim.data, sim.t, self.horizon_h, self.forecast_error, self.rng, self.heat_margin)
        st = sim.state()
        kw = {**self.solve_kwargs, **window_end_terms(cfg, sim, t1)}
        if cfg.battery is not None:
            kw["bat_e0_kwh"] = st["bat_e_kwh"]
        if cfg.tes is not None:
            kw["tes_e0_kwh"] = st["tes_e_kwh"]
        if cfg.gt is not None:
            kw["gt_p0_kw"] = st["gt_p_kw"]
        t_start = time.perf_counter()
        plan = solve_plan(cfg, fc, **kw)
        dt_s = time.perf_counter() - t_start
        if plan.status != "Optimal":
            lo, hi = sim.bounds()
            hold = np.zeros(len(sim.controls))
            if cfg.gt is not None:
                hold[0] = st["gt_p_kw"]
            return np.clip(hold, lo, hi), plan.status, dt_s
        return plan.schedule_kw[0], plan.status, dt_s

    def run(self, data: SiteData) -> MpcResult:
        """Control a whole day of realised ``data``."""
        sim = MultiEnergySim(self.cfg, data)
        rows, times, stats = [], [], []
        for _ in range(data.n_periods):
            a, s, dt_s = self.act(sim)
            rows.append(sim.step(a))
            times.append(dt_s)
            stats.append(s)
        table = pd.DataFrame(rows)
        return MpcResult(table, summarise(self.cfg, table, data.dt_h), np.array(times), stats)
