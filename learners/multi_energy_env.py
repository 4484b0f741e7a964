"""Gymnasium and PettingZoo environments over the multi-energy site simulator.

Both wrap one :class:`aggregation.multi_energy.MultiEnergySim` (one day = one episode, T periods).

Action: one value per controllable group in ``cfg.controls`` order (gt, battery, tes, hp), each in
[-1, 1], mapped affinely onto the group's static range (turbine [P_min, P_max], battery
[-P_ch,max, P_dis,max], tank [-Q_ch,max, Q_dis,max], heat pump [0, P_max]); the simulator then clips to
the period's feasible range (ramp band, SOC room: seed 002 §4.3 ③) and reports ``clip_kw``.

Observation (float32, clipped to [-5, 5]): sin/cos of the hour of day, electric and heat load,
wind and PV availability (each over the reference power ``p_ref_kw``), purchase and sale price
(over the day's maximum purchase price), turbine output over P_max, battery SOC, tank fill (the
present groups only), and the last forecast errors of wind and PV (seed 002 §4.3 ① state
epsilon_w, epsilon_pv; zero without forecast noise). With ``forecast_error`` e > 0 the exogenous
values shown are forecasts: realisation times (1 + e*u), u ~ U(-1, 1).

Reward, ``reward="cost"`` (seed 001 Eq. 5, min F = alpha f_cost + beta f_carbon - gamma f_market):
``-(alpha*f_cost + beta*f_carbon - gamma*f_market) * reward_scale`` with f_cost = purchase + gas +
turbine O&M + imbalance penalty, f_market = sales revenue, and f_carbon the day's carbon cost,
given at the last period (it is a daily quota). With alpha = beta = gamma = 1 the episode return
is -total_cost*reward_scale, exactly the oracle's objective, so gaps to the oracle are comparable.

Reward, ``reward="ahp"`` (seed 002 §4.3 ④, AHP weights 0.4/0.2/0.3/0.1):
``-(0.4*C_op^ + 0.2*C_grid^ + 0.3*(1 - R_re) + 0.1*E^) - pen^`` with C_op = gas + O&M over its value
at full turbine output, C_grid = (purchase - sales) over the purchase at the grid limit and top
price, R_re = renewable energy used / available, E = period emissions over the turbine's at
P_max plus imports at the limit, and pen^ the imbalance penalty over the C_grid reference (the
seed has no imbalance term; without one an agent could buy its reward by shedding load).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from aggregation.multi_energy import MultiEnergySim, SiteConfig, SiteData, carbon_cost

DataSource = SiteData | Callable[[np.random.Generator], SiteData]
AHP_WEIGHTS: tuple[float, float, float, float] = (0.4, 0.2, 0.3, 0.1)


class _Core:
    """Shared episode logic of both environments."""

    def __init__(self, cfg: SiteConfig, data: DataSource, reward: str, weights: tuple[float, ...] | None,
                 reward_scale: float | None, forecast_error: float, p_ref_kw: float | None) -> None:
        if reward not in ("cost", "ahp"):
            raise ValueError(f"reward must be 'cost' or 'ahp', got {reward!r}")
        if not 0.0 <= forecast_error <= 1.0:
            raise ValueError("forecast_error must be in [0, 1]")
        self.cfg = cfg
        self.source = data
        self.reward_mode = reward
        self.weights = tuple(weights) if weights is not None else (AHP_WEIGHTS if reward == "ahp" else (1.0, 1.0, 1.0))
        self.forecast_error = forecast_error
        d0 = data if isinstance(data, SiteData) else data(np.random.default_rng(0))
        self.sim = MultiEnergySim(cfg, d0)
        self.k = len(self.sim.controls)
        self.p_ref = float(p_ref_kw) if p_ref_kw else float(max(d0.load_e_kw.max(), d0.load_h_kw.max(), 1.0))
        dt = d0.dt_h
        self.reward_scale = reward_scale if reward_scale is not None else 1.0 / (self.p_ref * float(d0.buy_price.max()) * dt)
        self.n_obs = 8 + (cfg.gt is not None) + (cfg.battery is not None) + (cfg.tes is not None) + 2
        self._mid = (self.sim.range_hi + self.sim.range_lo) / 2
        self._half = (self.sim.range_hi - self.sim.range_lo) / 2
        # AHP references (per period)
        gt = cfg.gt
        gt_max = gt.p_max_kw * gt.count if gt else 0.0
        self.c_op_ref = max(1e-9, (gt_max * cfg.gas_price_per_kwh / gt.eta_electric * dt
                                   + (gt.cost_a_per_mw2h * (gt_max / 1e3) ** 2 / gt.count + gt.cost_b_per_mwh * gt_max / 1e3
                                      + gt.cost_c_per_h * gt.count) * dt) if gt else 1.0)
        self.c_grid_ref = max(1e-9, cfg.grid.buy_max_kw * float(d0.buy_price.max()) * dt)
        self.e_ref = max(1e-9, ((gt.emission_kg_per_kwh_gas / gt.eta_electric + gt.emission_kg_per_kwh_e) * gt_max * dt if gt
                                else 0.0) + cfg.grid.emission_kg_per_kwh_import * cfg.grid.buy_max_kw * dt)
        self._fc = np.zeros(4)
        self._eps = np.zeros(2)
        self.rng = np.random.default_rng(0)

    def reset(self, rng: np.random.Generator) -> np.ndarray:
        self.rng = rng
        if not isinstance(self.source, SiteData):
            self.sim.data = self.source(rng)
        self.sim.reset()
        self._eps[:] = 0.0
        return self._observe()

    def _observe(self) -> np.ndarray:
        d, t = self.sim.data, min(self.sim.t, self.sim.data.n_periods - 1)
        real = np.array([d.load_e_kw[t], d.load_h_kw[t], d.wind_kw[t], d.pv_kw[t]])
        fc = real * (1.0 + self.forecast_error * self.rng.uniform(-1, 1, 4)) if self.forecast_error > 0 else real
        self._fc = fc
        hour = 2 * np.pi * (t * d.dt_h) / 24.0
        pmax = float(d.buy_price.max()) or 1.0
        obs = [np.sin(hour), np.cos(hour), *(fc / self.p_ref), d.buy_price[t] / pmax, d.sell_price[t] / pmax]
        st = self.sim.state()
        if self.cfg.gt is not None:
            obs.append(st["gt_p_kw"] / (self.cfg.gt.p_max_kw * self.cfg.gt.count))
        if self.cfg.battery is not None:
            obs.append(st["bat_soc"])
        if self.cfg.tes is not None:
            obs.append(st["tes_fill"])
        obs.extend(self._eps)
        return np.clip(np.asarray(obs, dtype=np.float32), -5.0, 5.0)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, dict]:
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(self.k), -1.0, 1.0)
        fc = self._fc
        r = self.sim.step(self._mid + a * self._half)
        self._eps[:] = (np.array([r["wind_avail_kw"], r["pv_avail_kw"]]) - fc[2:]) / self.p_ref
        done = self.sim.t >= self.sim.data.n_periods
        reward = self._reward(r, done)
        r["reward"] = reward
        obs = self._observe()
        return obs, reward, done, r

    def _reward(self, r: dict, done: bool) -> float:
        w = self.weights
        if self.reward_mode == "cost":
            f_cost = r["cost_buy"] + r["cost_gas"] + r["cost_gt_om"] + r["cost_penalty"]
            f_carbon = carbon_cost(self.cfg, self.sim.emissions_kg) if done else 0.0
            return -float(w[0] * f_cost + w[1] * f_carbon - w[2] * r["revenue_sell"]) * self.reward_scale
        avail = r["wind_avail_kw"] + r["pv_avail_kw"]
        r_re = (r["wind_kw"] + r["pv_kw"]) / avail if avail > 1e-9 else 1.0
        c_op = (r["cost_gas"] + r["cost_gt_om"]) / self.c_op_ref
        c_grid = (r["cost_buy"] - r["revenue_sell"]) / self.c_grid_ref
        return -float(w[0] * c_op + w[1] * c_grid + w[2] * (1.0 - r_re) + w[3] * r["co2_kg"] / self.e_ref
                      + r["cost_penalty"] / self.c_grid_ref)


class MultiEnergyEnv(gym.Env):
    """Single-agent Gymnasium env: the whole site is one agent (see the module docstring).

    Args:
        cfg: site devices.
        data: a fixed day, or ``f(rng) -> SiteData`` drawing one per episode (use the rng only).
        reward: ``"cost"`` (seed 001 Eq. 5) or ``"ahp"`` (seed 002 §4.3 ④).
        weights: (alpha, beta, gamma) for "cost" (default 1, 1, 1); four AHP weights for "ahp".
        reward_scale: multiplier of the "cost" reward (default 1/(p_ref * max price * dt)).
        forecast_error: relative error of the exogenous values shown (0 = exact).
        p_ref_kw: power normaliser of observations (default the day's larger peak load).
    """

    metadata = {"render_modes": []}

    def __init__(self, cfg: SiteConfig, data: DataSource, *, reward: str = "cost",
                 weights: tuple[float, ...] | None = None, reward_scale: float | None = None,
                 forecast_error: float = 0.0, p_ref_kw: float | None = None) -> None:
        super().__init__()
        self.core = _Core(cfg, data, reward, weights, reward_scale, forecast_error, p_ref_kw)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (self.core.k,), dtype=np.float32)
        self.observation_space = gym.spaces.Box(-5.0, 5.0, (self.core.n_obs,), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return self.core.reset(self.np_random), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, done, info = self.core.step(action)
        return obs, reward, done, False, info


class MultiEnergyParallelEnv(ParallelEnv):
    """PettingZoo parallel env: one agent per controllable group (``"gt"``, ``"battery"``, ``"tes"``, ``"hp"``).

    Every agent sees the shared site observation and gets the shared (team) reward; each acts with a
    Box(-1, 1, (1,)). Arguments as :class:`MultiEnergyEnv`.
    """

    metadata = {"render_modes": [], "name": "multi_energy_v0"}

    def __init__(self, cfg: SiteConfig, data: DataSource, *, reward: str = "cost",
                 weights: tuple[float, ...] | None = None, reward_scale: float | None = None,
                 forecast_error: float = 0.0, p_ref_kw: float | None = None) -> None:
        self.core = _Core(cfg, data, reward, weights, reward_scale, forecast_error, p_ref_kw)
        self.possible_agents = list(self.core.sim.controls)
        self.agents: list[str] = []
        self._obs_space = gym.spaces.Box(-5.0, 5.0, (self.core.n_obs,), dtype=np.float32)
        self._act_space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)
        self._rng = np.random.default_rng()

    @functools.cache  # noqa: B019 - spaces must be the same object per agent
    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self._obs_space

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> gym.spaces.Box:
        return self._act_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        obs = self.core.reset(self._rng)
        return {a: obs.copy() for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        a = np.array([float(np.asarray(actions[g]).reshape(-1)[0]) for g in self.possible_agents])
        obs, reward, done, info = self.core.step(a)
        ags = self.agents
        out = ({g: obs.copy() for g in ags}, {g: reward for g in ags}, {g: done for g in ags},
               {g: False for g in ags}, {g: dict(info) for g in ags})
        if done:
            self.agents = []
        return out
