"""Seed 002's two-stage framework: day-ahead improved MADDPG, real-time NLP MPC, feedback through replay.

Upper layer (seed 002 §4.1 ①, §4.2): :class:`ImprovedMADDPG`, a subclass of
:class:`learners.maddpg.MADDPGLearner` (Lowe et al. 2017) on the multi-energy PettingZoo env's device
agents (gt, battery, tes, hp) with

* actor 3 × 128 ReLU (tanh output), critic 2 × 256 LeakyReLU (§4.2 ③), Adadelta ρ 0.95, ε 1e-6
  (torch's; Adam as an option);
* prioritised replay (:class:`learners.per.PrioritizedReplayBuffer`, α 0.6, ε 0.001, β 0.4 → 1),
  the critic's TD loss weighted by the IS weights and priorities refreshed from |δ| averaged over the
  agents' critics;
* adaptive Gaussian noise σ(t) = 0.3·e^(−0.001·t) + 0.05 (:class:`learners.noise.AdaptiveGaussianNoise`);
* the AHP reward r_t = −(0.4·Ĉ_op + 0.2·Ĉ_grid + 0.3·(1 − R̂_re) + 0.1·Ê) (§4.3 ④; the env's ``"ahp"``).

Lower layer (§4.1 ②): :class:`learners.mpc_nlp.NlpMPC` every hour over H = 4 h on the realised state
and updated forecasts, minimising operating cost + λ·carbon with the nonlinear device models and a
tracking term towards the day-ahead plan (:class:`TwoStage`).

Feedback (§4.1 ②: "the deviation information between the actual executed actions and the
recommended actions ... fed back into the experience replay pool"): every ``feedback_every``-th
training day is a two-stage day — plan from the actors on a forecast, the MPC executes on the
realisation — and its transitions enter the replay with the **MPC's executed** actions (coded in
[−1, 1]) at the largest priority, so the critics learn the value of the corrected actions and the actors'
policy gradient moves towards them; the per-period deviation |a_exec − a_plan| is logged
(``feedback_dev``). ``feedback=False`` switches it off (ablation).

Reductions from the paper, stated wherever results are reported: one-day episodes (the seed: 7-day
episodes), a pool of consecutive January days with multiplicative forecast noise as training data,
and budgets of hundreds, not 2,000, episodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from torch import nn

from aggregation.multi_energy import SiteConfig, SiteData, summarise
from learners.maddpg import MADDPGLearner, build_mlp
from learners.maddpg_mpc_config import MADDPGMPCConfig
from learners.mpc import noisy_forecast
from learners.mpc_nlp import NlpMPC
from learners.multi_energy_env import DataSource, MultiEnergyParallelEnv
from learners.noise import AdaptiveGaussianNoise, FixedGaussianNoise
from learners.per import PrioritizedReplayBuffer

__all__ = ["DEFAULT_WEIGHTS", "ImprovedMADDPG", "SiteMarlEnv", "TwoStage", "build_mlp", "forecast_sampler", "load_policy",
           "make_learner", "plan_day", "rollout", "train"]

#: simulator row key of the applied set-point of each control group
APPLIED_KEY = {"gt": "gt_p_kw", "battery": "bat_p_kw", "tes": "tes_q_kw", "hp": "hp_p_kw"}


def forecast_sampler(days: list[SiteData], error: float) -> Callable[[np.random.Generator], SiteData]:
    """Data source for training: one of ``days`` at random, loads and renewables times (1 + e·u), u ~ U(−1, 1)."""
    def draw(rng: np.random.Generator) -> SiteData:
        d = days[int(rng.integers(len(days)))]
        return noisy_forecast(d, 0, d.n_periods, error, rng) if error > 0 else d
    return draw


class SiteMarlEnv:
    """Adapter of :class:`learners.multi_energy_env.MultiEnergyParallelEnv` to what ``MADDPGLearner`` needs.

    Adds ``state()`` (the shared site observation, (S,)), ``state_dim``, ``T``, ``t`` and
    ``info[agent]["period_cost"]`` (the period's simulator cost; the day's carbon cost is added at the
    last period, so the costs sum to ``summarise(...)["total_cost"]``). ``single_agent=True`` exposes
    one agent ``"site"`` acting for every group (traditional DDPG).

    Args:
        cfg, data: site and data source (a fixed day or ``f(rng) -> SiteData``).
        reward: ``"ahp"`` or ``"cost"``; weights: reward weights.
        forecast_error: relative error of the exogenous values the observation shows.
        single_agent: one agent for the whole site.
    """

    def __init__(self, cfg: SiteConfig, data: DataSource, *, reward: str = "ahp",
                 weights: tuple[float, ...] | None = None, forecast_error: float = 0.0,
                 single_agent: bool = False) -> None:
        self.inner = MultiEnergyParallelEnv(cfg, data, reward=reward, weights=weights, forecast_error=forecast_error)
        self.cfg = cfg
        self.controls = list(self.inner.possible_agents)
        self.k = len(self.controls)
        self.single = single_agent
        self.possible_agents = ["site"] if single_agent else list(self.controls)
        self.state_dim = int(self.inner.core.n_obs)
        self._obs_space = self.inner.observation_space(self.controls[0])
        self._act_space = gym.spaces.Box(-1.0, 1.0, (self.k if single_agent else 1,), dtype=np.float32)
        self._obs = np.zeros(self.state_dim, np.float32)
        self.T = self.inner.core.sim.data.n_periods

    @property
    def sim(self):  # noqa: ANN201 - MultiEnergySim
        """The simulator (its ``data`` is the realised day of the current episode)."""
        return self.inner.core.sim

    @property
    def t(self) -> int:
        """Index of the next period."""
        return self.inner.core.sim.t

    @property
    def agents(self) -> list[str]:
        """Agents still acting (empty once the day is over)."""
        return list(self.possible_agents) if self.inner.agents else []

    def observation_space(self, agent: str) -> gym.spaces.Box:
        return self._obs_space

    def action_space(self, agent: str) -> gym.spaces.Box:
        return self._act_space

    def state(self) -> np.ndarray:
        """The shared site observation (S,) float32."""
        return self._obs.copy()

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, _ = self.inner.reset(seed=seed)
        self._obs = obs[self.controls[0]]
        self.T = self.sim.data.n_periods
        return {a: self._obs.copy() for a in self.possible_agents}, {a: {} for a in self.possible_agents}

    def coded(self, actions: dict[str, np.ndarray]) -> np.ndarray:
        """Joint coded action (k,) in [−1, 1] from an agent -> action dict."""
        if self.single:
            return np.asarray(actions["site"], float).reshape(self.k)
        return np.array([float(np.asarray(actions[g]).reshape(-1)[0]) for g in self.controls])

    def split(self, coded: np.ndarray) -> dict[str, np.ndarray]:
        """Agent -> action dict from a joint coded action (k,)."""
        c = np.asarray(coded, np.float32).reshape(self.k)
        return {"site": c} if self.single else {g: c[i:i + 1] for i, g in enumerate(self.controls)}

    def encode_kw(self, setpoints_kw: np.ndarray) -> np.ndarray:
        """Coded action (k,) of set-points in kW (inverse of the env's affine map; within [−1, 1])."""
        core = self.inner.core
        return np.clip((np.asarray(setpoints_kw, float) - core._mid) / core._half, -1.0, 1.0)

    def step(self, actions: dict[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        c = self.coded(actions)
        obs, rew, term, trunc, info = self.inner.step({g: c[i:i + 1] for i, g in enumerate(self.controls)})
        g0 = self.controls[0]
        self._obs = obs[g0]
        row = dict(info[g0])
        done = bool(term[g0])
        row["period_cost"] = row["cost_period"] + (self._carbon() if done else 0.0)
        ags = self.possible_agents
        return ({a: self._obs.copy() for a in ags}, {a: float(rew[g0]) for a in ags}, {a: done for a in ags},
                {a: False for a in ags}, {a: dict(row) for a in ags})

    def _carbon(self) -> float:
        from aggregation.multi_energy import carbon_cost

        return carbon_cost(self.cfg, self.sim.emissions_kg)


class ImprovedMADDPG(MADDPGLearner):
    """MADDPG with seed 002's networks, optimiser, PER, adaptive noise and MPC feedback (see module doc).

    Args:
        env: a :class:`SiteMarlEnv` (or any env with the ``MADDPGLearner`` interface; the MPC feedback
            needs a ``SiteMarlEnv``).
        config: :class:`learners.maddpg_mpc_config.MADDPGMPCConfig`.
    """

    algo = "maddpg_mpc"

    def __init__(self, env: Any, config: MADDPGMPCConfig | None = None) -> None:
        cfg = config or MADDPGMPCConfig()
        super().__init__(env, cfg)
        self.cfg: MADDPGMPCConfig = cfg
        if cfg.replay == "per":
            self.buffer = PrioritizedReplayBuffer(cfg.buffer_size, self.n, self.state_dim, self.obs_dim, self.act_max,
                                                  self.T, alpha=cfg.per_alpha, eps=cfg.per_eps, beta0=cfg.per_beta0)
        self.noise = (AdaptiveGaussianNoise(cfg.sigma_max, cfg.sigma_min, cfg.noise_k) if cfg.noise == "adaptive"
                      else FixedGaussianNoise(cfg.sigma_fixed))
        self._td: list[torch.Tensor] = []
        self._budget = cfg.n_episodes
        self._mpc: NlpMPC | None = None

    # ---- networks and optimisers (seed 002 §4.2 ③) -------------------------------------------------
    def _build(self) -> None:
        cfg = self.cfg
        ah = tuple(getattr(cfg, "actor_hidden", (cfg.hidden, cfg.hidden)))
        ch = tuple(getattr(cfg, "critic_hidden", (cfg.hidden, cfg.hidden)))
        cact = getattr(cfg, "critic_activation", "relu")
        n_q = self.state_dim + sum(self.act_dims)

        def actors() -> nn.ModuleList:
            return nn.ModuleList([build_mlp(self.actor_input_dim(i), d, ah, self.gen, "relu", nn.Tanh())
                                  for i, d in enumerate(self.act_dims)])

        def critics() -> nn.ModuleList:
            return nn.ModuleList([build_mlp(n_q, 1, ch, self.gen, cact) for _ in self.agents])

        self.actors, self.critics = actors(), critics()
        self.actors_t, self.critics_t = actors(), critics()
        self.actors_t.load_state_dict(self.actors.state_dict())
        self.critics_t.load_state_dict(self.critics.state_dict())
        if getattr(cfg, "optimizer", "adam") == "adadelta":
            def opt(p, _lr):  # noqa: ANN001, ANN202
                return torch.optim.Adadelta(p, lr=cfg.adadelta_lr, rho=cfg.adadelta_rho, eps=cfg.adadelta_eps)
        else:
            def opt(p, lr):  # noqa: ANN001, ANN202
                return torch.optim.Adam(p, lr=lr)
        self.actor_opt = [opt(a.parameters(), cfg.actor_lr) for a in self.actors]
        self.critic_opt = [opt(c.parameters(), cfg.critic_lr) for c in self.critics]

    # ---- learning --------------------------------------------------------------------------------------
    def critic_loss(self, i: int, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """IS-weighted TD loss of critic ``i`` (uniform weights without PER); keeps |δ| for the priorities."""
        with torch.no_grad():
            a2 = self.joint_action(b["next_obs"], {}, target=True)
            q2 = self.critics_t[i](torch.cat([b["next_state"], a2], -1)).squeeze(-1)
            y = self.cfg.reward_scale * b["rew"][:, i] + self.cfg.gamma * (1.0 - b["done"]) * q2
        q = self.critics[i](torch.cat([b["state"], self._flat_act(b["act"])], -1)).squeeze(-1)
        td = q - y
        self._td.append(td.detach().abs())
        w = b.get("weights")
        loss = (w * td ** 2).mean() if w is not None else (td ** 2).mean()
        return loss, {}

    def update(self, b: dict[str, torch.Tensor]) -> dict[str, float]:
        """One MADDPG step (critics, actors, targets), then the PER priorities from the mean |δ| of the critics."""
        self._td = []
        logs = super().update(b)
        if isinstance(self.buffer, PrioritizedReplayBuffer) and "idx" in b and self._td:
            self.buffer.update_priorities(b["idx"], torch.stack(self._td).mean(0))
        return logs

    def after_episode(self) -> dict[str, float]:
        """Anneal β with the fraction of the budget done (seed 002 §4.2 ①)."""
        if isinstance(self.buffer, PrioritizedReplayBuffer):
            return {"beta": self.buffer.anneal(self.episode / max(1, self._budget)), "sigma": self.noise.sd(self.episode)}
        return {"sigma": self.noise.sd(self.episode)}

    def train(self, n_episodes: int | None = None, **kwargs: Any) -> list[dict[str, float]]:
        """As :meth:`MADDPGLearner.train` (checkpoints, resume); β is annealed over ``config.n_episodes``
        (or ``n_episodes`` when larger), so a run stopped early and resumed follows the same schedule."""
        self._budget = max(self.cfg.n_episodes, n_episodes or 0)
        return super().train(n_episodes, **kwargs)

    # ---- the two-stage feedback day ----------------------------------------------------------------------
    def _is_feedback_day(self) -> bool:
        c = self.cfg
        return (bool(getattr(c, "feedback", False)) and isinstance(self.env, SiteMarlEnv)
                and self.episode >= c.warmup_episodes and (self.episode + 1) % c.feedback_every == 0)

    def mpc(self) -> NlpMPC:
        """The lower-layer controller used on feedback days (its noise draws come from ``self.rng``)."""
        if self._mpc is None:
            c = self.cfg
            self._mpc = NlpMPC(self.env.cfg, c.mpc_horizon_h, c.forecast_error, rng=self.rng,
                               track_weight=c.track_weight)
        return self._mpc

    def run_episode(self, explore: bool = True) -> dict[str, float]:
        """A plain exploration day (``MADDPGLearner``'s), or on feedback days a two-stage day whose
        MPC-executed transitions enter the replay."""
        if not (explore and self._is_feedback_day()):
            return super().run_episode(explore)
        env, cfg = self.env, self.cfg
        obs, _ = env.reset(seed=cfg.seed * 1_000_003 + self.episode)
        real = env.sim.data
        fc_day = noisy_forecast(real, 0, real.n_periods, cfg.forecast_error, self.rng) if cfg.forecast_error else real
        plan = plan_day(self, env.cfg, fc_day)
        mpc = self.mpc()
        mpc.reset()
        ret = cost = dev = 0.0
        while env.agents:
            s = env.state()
            a_plan = env.coded(self.act(obs, explore=False))
            step = mpc.act(env.sim, plan)
            a_exec = env.encode_kw(step.setpoints_kw)
            dev += float(np.abs(a_exec - a_plan).mean())
            acts = env.split(a_exec)
            obs2, rew, term, trunc, info = env.step(acts)
            done = all(term.values())
            act = np.zeros((self.n, self.act_max), np.float32)
            for i, a in enumerate(self.agents):
                act[i, : self.act_dims[i]] = acts[a]
            self.buffer.add(state=s, obs=np.stack([obs[a] for a in self.agents]), act=act,
                            rew=np.array([rew[a] for a in self.agents], np.float32),
                            next_state=env.state(), next_obs=np.stack([obs2[a] for a in self.agents]),
                            done=np.float32(done))
            ret += rew[self.agents[0]]
            cost += info[self.agents[0]]["period_cost"]
            obs = obs2
        return {"return": ret, "cost": cost, "feedback_dev": dev / real.n_periods}


def rollout(learner: MADDPGLearner, env: SiteMarlEnv, seed: int | None = None) -> tuple[pd.DataFrame, float]:
    """Deterministic policy over one day of ``env``: simulator rows and the day's return."""
    obs, _ = env.reset(seed=seed)
    learner.begin_episode()
    rows, ret = [], 0.0
    while env.agents:
        obs, rew, _, _, info = env.step(learner.act(obs, explore=False))
        rows.append(info[env.possible_agents[0]])
        ret += rew[env.possible_agents[0]]
    return pd.DataFrame(rows), ret


def plan_day(learner: MADDPGLearner, cfg: SiteConfig, forecast: SiteData) -> np.ndarray:
    """Day-ahead plan (T, k) in kW: the actors' deterministic rollout on the forecast day (applied set-points)."""
    single = bool(getattr(learner.cfg, "single_agent", False))
    env = SiteMarlEnv(cfg, forecast, reward=getattr(learner.cfg, "reward", "ahp"),
                      weights=getattr(learner.cfg, "weights", None), single_agent=single)
    table, _ = rollout(learner, env, seed=0)
    return table[[APPLIED_KEY[g] for g in env.controls]].to_numpy(float)


class TwoStage:
    """Day-ahead MADDPG plan + real-time NLP MPC (seed 002 Figure 2) for evaluation and deployment.

    Args:
        learner: trained actors (an :class:`ImprovedMADDPG` or any ``MADDPGLearner`` on a ``SiteMarlEnv``).
        cfg: site.
        horizon_h: MPC window (4 h); forecast_error: the MPC's forecast error; rng: its noise generator.
        track_weight: ρ of the tracking term ($/(MW²·h)).
    """

    def __init__(self, learner: MADDPGLearner, cfg: SiteConfig, *, horizon_h: float = 4.0, forecast_error: float = 0.0,
                 rng: np.random.Generator | None = None, track_weight: float = 1.0) -> None:
        self.learner, self.cfg = learner, cfg
        self.mpc = NlpMPC(cfg, horizon_h, forecast_error, rng=rng, track_weight=track_weight)

    def run(self, realised: SiteData, forecast: SiteData) -> dict[str, Any]:
        """Plan on ``forecast``, execute with the MPC on ``realised``.

        Returns:
            dict with ``plan_kw`` (T, k), ``plan_summary`` (the plan's own simulator summary on the
            forecast), ``table`` and ``summary`` (the executed day), ``mpc_s`` (per-step solve times),
            ``plan_s`` (planning wall time).
        """
        t0 = time.perf_counter()
        plan = plan_day(self.learner, self.cfg, forecast)
        plan_s = time.perf_counter() - t0
        from aggregation.multi_energy import MultiEnergySim

        ptab = MultiEnergySim(self.cfg, forecast).run(plan)
        res = self.mpc.run(realised, plan_kw=plan)
        return {"plan_kw": plan, "plan_summary": summarise(self.cfg, ptab, forecast.dt_h), "table": res.table,
                "summary": res.summary, "mpc_s": res.solve_s, "plan_s": plan_s}


def make_learner(cfg: SiteConfig, days: list[SiteData], config: MADDPGMPCConfig) -> ImprovedMADDPG:
    """An :class:`ImprovedMADDPG` on a :class:`SiteMarlEnv` drawing training days from ``days`` with the
    config's forecast noise (the day-ahead stage learns on forecasts)."""
    env = SiteMarlEnv(cfg, forecast_sampler(days, config.forecast_error), reward=config.reward,
                      weights=config.weights, single_agent=config.single_agent)
    return ImprovedMADDPG(env, config)


def train(cfg: SiteConfig, days: list[SiteData], config: MADDPGMPCConfig, *, checkpoint_dir: str | Path | None = None,
          resume: bool = False, progress: Callable[[str], None] | None = None) -> ImprovedMADDPG:
    """Train (or resume from ``checkpoint_dir/checkpoint.pt``) up to ``config.n_episodes`` episodes."""
    learner = make_learner(cfg, days, config)
    ck = Path(checkpoint_dir) / "checkpoint.pt" if checkpoint_dir else None
    if resume and ck is not None and ck.exists():
        learner.load(ck)
    learner.train(config.n_episodes, checkpoint_dir=checkpoint_dir, progress=progress)
    return learner


#: shipped actors for ``industrial_mevpp`` (the ``"full"`` variant with default network sizes)
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "industrial_mevpp_maddpg.pt"


def load_policy(cfg: SiteConfig, data: SiteData, weights: str | Path = DEFAULT_WEIGHTS,
                config: MADDPGMPCConfig | None = None) -> ImprovedMADDPG:
    """Actors for deployment from weights written by ``export_weights`` (tensors only, ``weights_only=True``).

    Args:
        cfg, data: the site and a day of it (sizes the env; the day itself is not used for decisions).
        weights: path of the actors' tensors (default: the shipped ``industrial_mevpp`` weights).
        config: the config the weights were trained with (default ``MADDPGMPCConfig.variant("full")``);
            only network sizes and ``single_agent`` matter; the replay is kept tiny.

    Raises:
        FileNotFoundError: no weights file. RuntimeError: the weights do not fit the networks.
    """
    conf = config or MADDPGMPCConfig.variant("full")
    conf = MADDPGMPCConfig(**{**conf.to_dict(), "buffer_size": data.n_periods})
    learner = ImprovedMADDPG(SiteMarlEnv(cfg, data, reward=conf.reward, weights=conf.weights,
                                         single_agent=conf.single_agent), conf)
    learner.load_weights(weights)
    return learner
