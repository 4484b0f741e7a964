"""The supply/load game of seed 000 as a PettingZoo ``ParallelEnv`` (12 periods of 2 h).

Agents: one **supply** agent per technology group of thermal units (``supply_<tech>``), acting
``[commit, markup]`` in [-1, 1]^2, and one **load** agent (``load``, the VPP: the top-level aggregator of
the self-organised parks) acting a load adjustment in [-1, 1] x 40 % of its baseline.

Per period t (equations in ``docs/market.md`` §2):

* uncontrolled load ``U_t = B_t * w_t * (1 + eps_t + e_t)``: baseline profile ``B_t``; weather factor
  ``w_t = 1 + k_c max(0, T_t - T_c) + k_h max(0, T_h - T_t)`` with the scenario's TMY temperature plus a
  forecast error; noise ``eps_t`` (normal, or Student-t for the heavy-tail shift); random events ``e_t``
  (Bernoulli(p) x random sign x Exponential(mean s));
* price elasticity: ``U_t <- U_t (1 + elasticity (pi_{t-1} / pi_ref - 1))`` (the load reacts to the last
  cleared price; the factor is clipped to [0.8, 1.2]);
* inertia: the command ``c_t = a_t * 0.4 * B_t`` (bounded by the per-period flexibility envelope) is
  realised as ``r_t = rho r_{t-1} + (1 - rho) c_t`` (AR(1) with coefficient ``rho``);
* supply: a group commits ``round((commit + 1) / 2 * n_units)`` of its units (cheapest first; committing
  fewer is physical withholding), but a unit changes state only after its minimum up/down time; offers are
  marginal cost x (1 + markup), markup in [0, 0.5] (economic withholding); if the committed capacity
  falls short of the demand, the operator starts offline units that may start (reliability unit
  commitment, cheapest first, offering at cost);
* clearing: merit order (:func:`grid.unit_commitment.clear_market`) of demand ``U_t + r_t``; settlement at
  the uniform price (:func:`grid.unit_commitment.settle_period`);
* rewards (``docs/market.md`` §2.4), each side its own: supply group g earns its profit ``pi_g`` (revenue
  - fuel - no-load - start-up - surplus and non-performance charges) and gets
  ``-(3000 / T) clip(1/2 - pi_g / (2 P_g), 0, 1)`` (``P_g`` = 5 x the group's full-output revenue at the
  nominal mean price); the load pays ``L_t`` = price x served energy + value of lost load x shortage +
  the change of ``shift_per_mwh x |S_t|`` (``S_t``: net shifted energy so far, commanded + price-elastic
  response; summed over the day this is the day-end shift penalty, paid as it accrues: potential-based
  shaping) and gets ``-(3000 / T) L_t / C_L`` (its running return kept within [-3000, 0]); ``C_L`` = 10 x
  its mean period payment on the uncontrolled nominal day. Every agent's day return lies in [-3000, 0]; a
  supply group at zero
  profit scores -1500 a day, hence :attr:`MarketEnv.reward_offset` (the learners learn on
  ``r - offset``, which does not change the optimal policy of a fixed-length day). ``period_cost`` in the
  history stays the social cost (:func:`grid.unit_commitment.day_cost`), the number every method and the
  oracle are compared on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

import grid.data as data
from grid.unit_commitment import (
    CostWeights,
    MarketUnit,
    clear_market,
    day_cost,
    market_units,
    settle_period,
    solve_uc,
)

__all__ = [
    "DistributionShift", "MarketConfig", "MarketEnv", "RulePolicy", "SUPPLY_LOAD_GAME_UNITS", "exceed_probability",
    "high_price_probability",
    "price_threshold", "rollout",
]

# The seed's standalone setting (docs/market.md §2.1): six units, four technologies, 880 MW for a 600 MW peak.
SUPPLY_LOAD_GAME_UNITS: tuple[tuple[str, str, float], ...] = (
    ("coal_1", "coal", 200.0), ("coal_2", "coal", 200.0), ("ccgt_new_1", "gas_cc_new", 150.0),
    ("ccgt_new_2", "gas_cc_new", 150.0), ("ccgt_old", "gas_cc_old", 100.0), ("oil_steam", "oil_steam", 80.0),
)
N_COMMON = 12  # common observation features
# positions in the observation (docs/market.md §2.3)
IDX_BASELINE, IDX_PRICE, IDX_REALISED, IDX_DEMAND, IDX_SHIFTED, IDX_OWN = 3, 6, 7, 10, 11, 12
N_OWN = 4  # agent-specific features
MAX_MARKUP = 0.5  # offers up to 1.5 x marginal cost (assumption: a market-power mitigation bound, docs/market.md §2.3)
# a period's reward saturates at this multiple of the nominal mean period cost: a guard only, far above
# any cost seen in training (with 10 the day-end shift penalty saturated and was invisible to learners)
COST_CAP_FACTOR = 100.0
# a supply group's profit is scaled by this multiple of its full-output revenue at the nominal mean price
# (docs/market.md §2.4): normal periods' profits are a fraction of it, scarcity windfalls saturate the reward
PROFIT_SCALE_FACTOR = 5.0
# the load's cost is scaled by this multiple of its mean period payment on the nominal day (docs/market.md §2.4)
LOAD_SCALE_FACTOR = 10.0


@dataclass(frozen=True)
class DistributionShift:
    """A shifted load/weather distribution for robustness tests (``docs/market.md`` §4).

    Attributes:
        mean_shift_frac: added to every period's relative load (0.05 = +5 % of baseline).
        variance_scale: multiplies the noise sd, the event magnitude and the temperature error.
        heavy_tails: Student-t (3 dof, scaled to the same sd) noise and 3x event probability.
    """

    mean_shift_frac: float = 0.0
    variance_scale: float = 1.0
    heavy_tails: bool = False


@dataclass(frozen=True)
class MarketConfig:
    """Parameters of the game (defaults: ``supply_load_game``; sources in ``docs/market.md`` §2).

    Attributes:
        units: ``(name, technology, p_max_mw)`` of the thermal units.
        peak_load_mw: baseline peak.
        n_periods, step_h: 12 periods of 2 h.
        day_of_year: sets the RTS load shape (season) and the TMY day.
        weather_file: bundled TMY file (``grid.weather.WEATHER_FILES``).
        baseline_mw: (n_periods,) baseline load; None: RTS weekday shape x peak.
        adj_frac: bound of the adjustment as a fraction of baseline (seed: 40 %).
        flexible_mw: (n_periods,) the controllable part of the baseline (e.g. the parks' flexible load
            when the baseline also holds a system's fixed load); None: all of it. Adjustment bounds and
            commands are fractions of this part.
        flex_lo_frac, flex_hi_frac: (n_periods,) per-period envelope (fractions of baseline, from the
            hierarchy); None: +-adj_frac. The effective bound is the intersection.
        inertia: rho of the adjustment dynamics.
        elasticity: short-run price elasticity of the load.
        cooling_per_c, heating_per_c: load sensitivity per degC above ``cooling_base_c`` / below ``heating_base_c``.
        temp_error_sd_c: forecast error of the period temperature (degC).
        noise_sd: sd of the relative load noise.
        event_prob, event_mean: random-event probability per period and mean relative magnitude.
        shift: the sampling distribution's shift (robustness tests).
        cost: penalties.
    """

    units: tuple[tuple[str, str, float], ...] = SUPPLY_LOAD_GAME_UNITS
    peak_load_mw: float = 600.0
    n_periods: int = 12
    step_h: float = 2.0
    day_of_year: int = 196
    weather_file: str = "12839.tm2"
    baseline_mw: tuple[float, ...] | None = None
    adj_frac: float = 0.4
    flexible_mw: tuple[float, ...] | None = None
    flex_lo_frac: tuple[float, ...] | None = None
    flex_hi_frac: tuple[float, ...] | None = None
    inertia: float = 0.5
    elasticity: float = -0.1
    cooling_per_c: float = 0.02
    heating_per_c: float = 0.01
    cooling_base_c: float = 22.0
    heating_base_c: float = 15.0
    temp_error_sd_c: float = 1.5
    noise_sd: float = 0.03
    event_prob: float = 0.05
    event_mean: float = 0.10
    shift: DistributionShift = field(default_factory=DistributionShift)
    cost: CostWeights = field(default_factory=CostWeights)


class MarketEnv(ParallelEnv):
    """The supply/load game (see module docstring). ``state()`` is the critic's global state.

    Attributes:
        history: per-period records of the last episode (price, dispatch, commitment, loads, social cost,
            each group's profit, the load's cost).
        reward_offset: agent -> constant per-period reward of a zero-profit (supply) or zero-cost (load)
            period; learners subtract it (``docs/market.md`` §2.4).
    """

    metadata = {"name": "vpp_market_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, config: MarketConfig | None = None, render_mode: str | None = None) -> None:
        self.config = cfg = config or MarketConfig()
        self.render_mode = render_mode
        self.units: tuple[MarketUnit, ...] = market_units(cfg.units)
        self.T, self.dt = cfg.n_periods, cfg.step_h
        techs = list(dict.fromkeys(u.tech for u in self.units))
        # within a group, cheapest units commit first
        self.groups = {t: sorted((i for i, u in enumerate(self.units) if u.tech == t),
                                 key=lambda i: (self.units[i].seg_cost_per_mwh[0], i)) for t in techs}
        self.possible_agents = [f"supply_{t}" for t in techs] + ["load"]
        self._ruc_order = sorted(range(len(self.units)), key=lambda i: (self.units[i].seg_cost_per_mwh[-1], i))
        self.reward_offset = {a: (0.0 if a == "load" else -0.5 * 3000.0 / self.T) for a in self.possible_agents}
        self.agents: list[str] = []
        # one space object per agent, created once (PettingZoo expects the same object on every call)
        self._obs_spaces = {a: spaces.Box(-10.0, 10.0, (N_COMMON + N_OWN,), dtype=np.float32)
                            for a in self.possible_agents}
        self._act_spaces = {a: spaces.Box(-1.0, 1.0, (1,) if a == "load" else (2,), dtype=np.float32)
                            for a in self.possible_agents}
        if cfg.baseline_mw is not None:
            self.baseline = np.asarray(cfg.baseline_mw, dtype=float)
        else:
            prof = data.load_profile(cfg.day_of_year, self.T, self.dt)
            self.baseline = cfg.peak_load_mw * prof / prof.max()
        if self.baseline.shape != (self.T,):
            raise ValueError(f"baseline_mw must have {self.T} values")
        lo = -cfg.adj_frac * np.ones(self.T) if cfg.flex_lo_frac is None else np.asarray(cfg.flex_lo_frac, float)
        hi = cfg.adj_frac * np.ones(self.T) if cfg.flex_hi_frac is None else np.asarray(cfg.flex_hi_frac, float)
        self.flexible_mw = self.baseline.copy() if cfg.flexible_mw is None else np.asarray(cfg.flexible_mw, float)
        if self.flexible_mw.shape != (self.T,) or np.any(self.flexible_mw < 0):
            raise ValueError(f"flexible_mw must be {self.T} non-negative values")
        self.adj_lo_mw = np.maximum(lo, -cfg.adj_frac) * self.flexible_mw
        self.adj_hi_mw = np.minimum(hi, cfg.adj_frac) * self.flexible_mw
        self.flex_peak_mw = max(float(self.flexible_mw.max()), 1e-6)
        from grid.weather import load_weather

        self.temp_forecast_c = load_weather(cfg.weather_file, cfg.day_of_year, self.T, self.dt)["t_air_c"].to_numpy()
        self.capacity_mw = sum(u.p_max_mw for u in self.units)
        self._nominal_day = False
        self.profit_scale = dict.fromkeys(self.groups, 1.0)
        self.load_scale = 1.0
        self._nominal_load = self.baseline * self._weather_factor(self.temp_forecast_c)
        nominal = rollout(self, RulePolicy(self), uncontrolled=True)
        self.ref_price = float(np.mean(nominal["price"])) or 1.0
        self.cost_scale = COST_CAP_FACTOR * max(float(np.mean(nominal["period_cost"])), 1.0)
        # a group's profit scale ($/period): PROFIT_SCALE_FACTOR x its full-output revenue at the nominal mean price
        self.load_scale = LOAD_SCALE_FACTOR * max(float(np.mean(nominal["load_cost"])) / self.T, 1.0)
        self.profit_scale = {t: PROFIT_SCALE_FACTOR * self.ref_price * self.dt * sum(self.units[i].p_max_mw for i in idx)
                             for t, idx in self.groups.items()}
        self.rng = np.random.default_rng(0)
        self._sample(self.rng)
        self._reset_state()

    # ---- spaces ---------------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Box:
        """Box(-10, 10, (16,)): 12 common features + 4 own features (``docs/market.md`` §2.3)."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        """Supply: Box(-1, 1, (2,)) = [commit, markup]; load: Box(-1, 1, (1,))."""
        return self._act_spaces[agent]

    @property
    def state_dim(self) -> int:
        """Length of :meth:`state`."""
        return N_COMMON + N_OWN * len(self.possible_agents)

    # ---- scenario sampling ------------------------------------------------------------------------
    def _weather_factor(self, temp_c: np.ndarray) -> np.ndarray:
        c = self.config
        return 1.0 + c.cooling_per_c * np.maximum(0.0, temp_c - c.cooling_base_c) + \
            c.heating_per_c * np.maximum(0.0, c.heating_base_c - temp_c)

    def _sample(self, rng: np.random.Generator) -> None:
        """Draw one day's temperature, noise and events (docs/market.md §2.2)."""
        c, s = self.config, self.config.shift
        temp = self.temp_forecast_c + rng.normal(0.0, c.temp_error_sd_c * s.variance_scale, self.T)
        if s.heavy_tails:
            nu = 3.0
            noise = rng.standard_t(nu, self.T) * np.sqrt((nu - 2) / nu) * c.noise_sd * s.variance_scale
            p_event = min(1.0, 3 * c.event_prob)
        else:
            noise = rng.normal(0.0, c.noise_sd * s.variance_scale, self.T)
            p_event = c.event_prob
        events = (rng.random(self.T) < p_event) * rng.choice([-1.0, 1.0], self.T) * \
            rng.exponential(c.event_mean * s.variance_scale, self.T)
        self.temp_c = temp
        self.uncontrolled_mw = self.baseline * np.maximum(
            0.0, self._weather_factor(temp) * (1.0 + noise + events) + s.mean_shift_frac)

    def _reset_state(self) -> None:
        G = len(self.units)
        self.t = 0
        self.on = np.array([u.initially_on for u in self.units])
        self.run_len = np.full(G, 10**6)  # periods in the current state (long enough to change)
        self.prev_price = self.ref_price
        self.realised_mw = 0.0
        self.command_mw = 0.0
        self.prev_demand_mw = float(self._nominal_load[0])
        self.shifted_mwh = 0.0  # net shifted energy so far (commanded + price-elastic), penalised at day end
        self._load_return = 0.0
        self.history: list[dict] = []

    # ---- API ----------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Start a day; ``seed`` re-seeds the scenario generator. ``options={"load_mw": (T,)}`` fixes the day."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._sample(self.rng)
        if options and "load_mw" in options:
            self.uncontrolled_mw = np.asarray(options["load_mw"], dtype=float)
        self._reset_state()
        self.agents = list(self.possible_agents)
        return self._obs(), {a: {} for a in self.agents}

    def _common(self) -> np.ndarray:
        t, T = min(self.t, self.T - 1), self.T
        flex = self.config.adj_frac * self.flex_peak_mw  # adjustments in units of 40 % of the flexible peak
        return np.array([
            t / T, np.sin(2 * np.pi * t / T), np.cos(2 * np.pi * t / T), self.flexible_mw[t] / self.flex_peak_mw,
            self._nominal_load[t] / self.capacity_mw, (self.temp_forecast_c[t] - 20.0) / 10.0,
            self.prev_price / self.ref_price - 1.0, self.realised_mw / flex, self.adj_lo_mw[t] / flex,
            self.adj_hi_mw[t] / flex, self.prev_demand_mw / self.capacity_mw, self.shifted_mwh / (flex * self.dt),
        ])

    def _own(self, agent: str) -> np.ndarray:
        if agent == "load":
            return np.array([self.command_mw / (self.config.adj_frac * self.flex_peak_mw), 0.0, 0.0, 0.0])
        idx = self.groups[agent[len("supply_"):]]
        can_on, can_off = self._can_switch()
        return np.array([self.on[idx].mean(), can_on[idx].mean(), can_off[idx].mean(),
                         sum(self.units[i].p_max_mw for i in idx) / self.capacity_mw])

    def _can_switch(self) -> tuple[np.ndarray, np.ndarray]:
        up = np.array([u.min_up_periods(self.dt) for u in self.units])
        down = np.array([u.min_down_periods(self.dt) for u in self.units])
        return (~self.on) & (self.run_len >= down), self.on & (self.run_len >= up)

    def _obs(self) -> dict[str, np.ndarray]:
        common = self._common()
        return {a: np.clip(np.r_[common, self._own(a)], -10, 10).astype(np.float32) for a in self.agents}

    def state(self) -> np.ndarray:
        """Global state for centralised critics: common features then every agent's own features."""
        return np.clip(np.r_[self._common(), *[self._own(a) for a in self.possible_agents]], -10, 10).astype(np.float32)

    def step(self, actions: dict[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        """Clear period ``t`` with the agents' actions (missing agents act 0)."""
        c, t = self.config, self.t
        a_load = float(np.clip(np.asarray(actions.get("load", [0.0]), float).reshape(-1)[0], -1, 1))
        cmd = np.clip(a_load * c.adj_frac * self.flexible_mw[t], self.adj_lo_mw[t], self.adj_hi_mw[t])
        realised = float(np.clip(c.inertia * self.realised_mw + (1 - c.inertia) * cmd, self.adj_lo_mw[t],
                                 self.adj_hi_mw[t]))
        elastic = 1.0 if self._nominal_day else float(
            np.clip(1.0 + c.elasticity * (self.prev_price / self.ref_price - 1.0), 0.8, 1.2))
        demand = self.uncontrolled_mw[t] * elastic + realised
        can_on, can_off = self._can_switch()
        want = self.on.copy()
        markup = np.zeros(len(self.units))
        for tech, idx in self.groups.items():
            a = np.clip(np.asarray(actions.get(f"supply_{tech}", [0.0, -1.0]), float).reshape(-1), -1, 1)
            k = int(round((a[0] + 1) / 2 * len(idx)))
            for j, i in enumerate(idx):
                want[i] = j < k
                markup[i] = MAX_MARKUP * (a[1] + 1) / 2
        new_on = np.where(want & ~self.on, can_on, np.where(~want & self.on, ~can_off, self.on))
        # reliability unit commitment: if the committed capacity cannot meet the demand, the operator starts
        # offline units that may start, cheapest first; they offer at cost (docs/market.md §2.3)
        ruc = np.zeros(len(self.units), bool)
        for i in self._ruc_order:
            if sum(u.p_max_mw for u, o in zip(self.units, new_on, strict=True) if o) >= demand - 1e-9:
                break
            if can_on[i] and not new_on[i]:
                new_on[i] = ruc[i] = True
                markup[i] = 0.0
        started = new_on & ~self.on
        clr = clear_market(self.units, new_on, demand, markup, c.cost)
        cost = day_cost(self.units, new_on[None], clr.p_mw[None], [clr.shortage_mw], [clr.surplus_mw], [0.0],
                        self.dt, c.cost, initially_on=self.on)
        period_cost = cost["total"]
        settle = settle_period(self.units, self.on, new_on, clr, demand, self.dt, c.cost)
        last = t == self.T - 1
        # net shifted energy of the day: commanded adjustments plus the price-elastic response, which a
        # day-ahead VPP's customers shift rather than forgo (otherwise price spikes would cut load for free)
        elastic_mw = self.uncontrolled_mw[t] * (elastic - 1.0)
        shift_mwh = (sum(h["realised_mw"] + h["elastic_mw"] for h in self.history) + realised + elastic_mw) * self.dt
        load_cost = settle.load_payment + settle.load_shortage_cost
        # the load's day-end shift penalty, paid as it accrues: potential-based shaping (Ng et al. 1999)
        # with potential shift_per_mwh x |net shifted energy|; the day's sum is the day-end penalty exactly
        load_cost += c.cost.shift_per_mwh * (abs(shift_mwh) - abs(self.shifted_mwh))
        if last:
            period_cost += c.cost.shift_per_mwh * abs(shift_mwh)
        profit = {tech: float(settle.profit[idx].sum()) for tech, idx in self.groups.items()}
        scale = 3000.0 / self.T
        rewards_all = {f"supply_{tech}": -scale * float(np.clip(0.5 - pi / (2 * self.profit_scale[tech]), 0.0, 1.0))
                       for tech, pi in profit.items()}
        # keep the load's running return within [-3000, 0] (a guard: never reached in practice)
        r_load = -scale * load_cost / self.load_scale
        rewards_all["load"] = float(np.clip(self._load_return + r_load, -3000.0, 0.0) - self._load_return)
        self._load_return += rewards_all["load"]
        reward = rewards_all["load"]
        self.history.append(dict(
            period=t, baseline_mw=self.baseline[t], uncontrolled_mw=float(self.uncontrolled_mw[t]),
            elastic_factor=elastic, elastic_mw=float(elastic_mw), command_mw=float(cmd), realised_mw=realised, demand_mw=demand,
            price_per_mwh=clr.price_per_mwh, shortage_mw=clr.shortage_mw, surplus_mw=clr.surplus_mw,
            on=new_on.copy(), p_mw=clr.p_mw.copy(), markup=markup, period_cost=period_cost, starts=int(started.sum()),
            temp_c=float(self.temp_c[t]), reward=float(reward), rewards=rewards_all, profit=profit,
            load_cost=float(load_cost), nonperformance=float(settle.nonperformance_charge.sum()), ruc_starts=int(ruc.sum()), ruc=ruc.copy()))
        self.run_len = np.where(new_on == self.on, self.run_len + 1, 1)
        self.on = new_on
        self.prev_price = clr.price_per_mwh
        self.realised_mw, self.command_mw, self.prev_demand_mw = realised, float(cmd), float(demand)
        self.shifted_mwh = shift_mwh
        self.t += 1
        agents = list(self.agents)
        obs = self._obs()
        info = {"price_per_mwh": clr.price_per_mwh, "period_cost": period_cost, "shortage_mw": clr.shortage_mw,
                "surplus_mw": clr.surplus_mw, "load_cost": float(load_cost), "supply_profit": sum(profit.values())}
        rewards = {a: float(rewards_all[a]) for a in agents}
        terms = {a: False for a in agents}
        truncs = {a: last for a in agents}
        infos = {a: dict(info) for a in agents}
        if last:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def oracle(self, load_mw: np.ndarray | None = None, **kw) -> object:
        """The perfect-information optimum (``grid.unit_commitment.solve_uc``) of the current day's load.

        The oracle sees the load at the reference price (elasticity factor 1) and the same inertia and bounds.
        """
        load = self.uncontrolled_mw if load_mw is None else np.asarray(load_mw, float)
        return solve_uc(self.units, load, self.dt, adj_lo_mw=self.adj_lo_mw, adj_hi_mw=self.adj_hi_mw,
                        inertia=self.config.inertia, cw=self.config.cost, **kw)

    def with_shift(self, shift: DistributionShift) -> MarketEnv:
        """A copy of this game sampling from a shifted distribution."""
        return MarketEnv(replace(self.config, shift=shift))


Policy = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


class RulePolicy:
    """The rule baseline: commit by merit order for the forecast load + 10 % reserve, offer at cost,
    adjust the load towards the flat day (shave the forecast above its mean, fill below, 50 % of the gap).

    With ``shave=0`` the load never adjusts (the uncontrolled day).
    """

    def __init__(self, env: MarketEnv, reserve: float = 0.10, shave: float = 0.5) -> None:
        self.env, self.reserve, self.shave = env, reserve, shave

    def __call__(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        env = self.env
        t = min(env.t, env.T - 1)
        fc = env._nominal_load
        target = fc[t] - self.shave * (fc[t] - fc.mean())
        need = target * (1 + self.reserve)
        order = sorted(range(len(env.units)), key=lambda i: env.units[i].seg_cost_per_mwh[1])
        on, cap = np.zeros(len(env.units), bool), 0.0
        for i in order:
            if cap >= need:
                break
            on[i], cap = True, cap + env.units[i].p_max_mw
        out = {}
        for tech, idx in env.groups.items():
            out[f"supply_{tech}"] = np.array([2 * on[idx].mean() - 1, -1.0], np.float32)
        adj = (target - fc[t]) / max(env.config.adj_frac * env.flexible_mw[t], 1e-9)
        out["load"] = np.array([np.clip(adj, -1, 1)], np.float32)
        return {a: v for a, v in out.items() if a in obs}


def rollout(env: MarketEnv, policy: Policy, seed: int | None = None, *, uncontrolled: bool = False) -> dict:
    """Play one day; returns per-period arrays (``price``, ``period_cost``, ``demand_mw`` …) and totals:
    ``cost`` (social, $), ``supply_profit`` and ``load_cost`` ($), ``returns`` (agent -> day return) and
    ``return`` (their mean).

    ``uncontrolled=True`` plays the nominal forecast day (no noise, no events) with ``policy`` for supply and
    no load adjustment; used for the reference price and the cost scale.
    """
    if uncontrolled:
        env.uncontrolled_mw = env._nominal_load.copy()
        env.temp_c = env.temp_forecast_c.copy()
        env.ref_price = getattr(env, "ref_price", 1.0)
        env.cost_scale = getattr(env, "cost_scale", 1.0)
        env._nominal_day = True
        env._reset_state()
        env.agents = list(env.possible_agents)
        obs = env._obs()
        if isinstance(policy, RulePolicy):
            policy = RulePolicy(env, policy.reserve, shave=0.0)
    else:
        obs, _ = env.reset(seed=seed)
    rets = dict.fromkeys(env.possible_agents, 0.0)
    try:
        while env.agents:
            obs, rew, _, _, _ = env.step(policy(obs))
            for a, v in rew.items():
                rets[a] += v
    finally:
        env._nominal_day = False
    h = env.history
    out = {k: np.array([r[k] for r in h]) for k in ("price_per_mwh", "period_cost", "demand_mw", "realised_mw",
                                                     "command_mw", "shortage_mw", "surplus_mw", "uncontrolled_mw")}
    out["price"] = out["price_per_mwh"]
    out["on"] = np.array([r["on"] for r in h])
    out["p_mw"] = np.array([r["p_mw"] for r in h])
    out["returns"] = rets
    out["return"] = float(np.mean(list(rets.values())))
    out["cost"] = float(out["period_cost"].sum())
    out["supply_profit"] = float(sum(sum(r["profit"].values()) for r in h))
    out["load_cost"] = float(sum(r["load_cost"] for r in h))
    out["shortage_mwh"] = float(out["shortage_mw"].sum() * env.dt)
    out["surplus_mwh"] = float(out["surplus_mw"].sum() * env.dt)
    return out


def price_threshold(env: MarketEnv, percentile: float = 75.0) -> float:
    """The "high price" threshold ($/MWh): a percentile of the uncontrolled nominal day's clearing prices.

    That day is the forecast load (no noise, events or elasticity), no load adjustment and the rule's
    merit-order commitment with every unit offering at marginal cost (markup 0): the competitive
    reference, so a price above it is high either because the load is high or because suppliers
    withhold or mark up (``docs/market.md`` §3).
    """
    nominal = rollout(env, RulePolicy(env), uncontrolled=True)
    return float(np.percentile(nominal["price"], percentile))


def high_price_probability(env: MarketEnv, policy: Policy, *, n_scenarios: int = 200, threshold: float | None = None,
                           seed: int = 0, seeds: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-period probability that the clearing price exceeds ``threshold``, over sampled days.

    Args:
        env: the game (its shift sets the sampling distribution).
        policy: joint policy ``obs dict -> action dict``.
        n_scenarios: sampled days (load noise, events, temperature).
        threshold: $/MWh; default :func:`price_threshold`.
        seed: day ``i`` is ``env.reset(seed=seed + i)`` unless ``seeds`` lists them.

    Returns:
        ``(prob, prices)``: (T,) fraction of days with price > threshold, and the (n, T) prices.
    """
    thr = price_threshold(env) if threshold is None else threshold
    seeds = list(seeds) if seeds is not None else [seed + i for i in range(n_scenarios)]
    prices = np.array([rollout(env, policy, s)["price"] for s in seeds])
    return exceed_probability(prices, thr), prices


def exceed_probability(prices: np.ndarray, threshold: float) -> np.ndarray:
    """(T,) fraction of the rows of ``prices`` (n_days, T) strictly above ``threshold``."""
    prices = np.asarray(prices, dtype=float)
    if prices.ndim != 2 or len(prices) == 0:
        raise ValueError("prices must be a non-empty (n_days, T) array")
    return (prices > threshold).mean(axis=0)
