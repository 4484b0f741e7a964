"""SAC-LAx and its comparison learners on the multi-energy env (seed 001 §3, §4.3, Tables 3–4).

All learners are Stable-Baselines3 (the seed's framework, §4.1) on the same env
(:class:`learners.multi_energy_env.MultiEnergyEnv`, reward "cost" = seed 001 Eq. 5), the same data
and the same reward scale:

=========  =========  ====================  ==========================
method     SB3 algo   in-loop projection    forecast-augmented state
=========  =========  ====================  ==========================
sac        SAC        no (simulator clips)  no
sac_l      SAC        yes (Eq. 13)          no
sac_lax    SAC        yes                   yes (s~ = [s, y^_{t+1:t+k}])
ppo        PPO        no                    no
ddpg       DDPG       no                    no
td3        TD3        no                    no
=========  =========  ====================  ==========================

* **Projection** (:class:`learners.projection.ProjectedEnv`): the env only receives the feasible action,
  and the off-policy learners store that action (``info["a_feas"]``) in the replay buffer
  (:class:`_StoreFeasible`), so transitions are (s, a_feas, r, s') as seed 001 §3.4 says.
* **Forecast state** (:class:`ForecastStateEnv`): at the start of each day the forecaster
  (:mod:`learners.forecasters`, Attention–xLSTM by default) forecasts the next 24 h of electric load,
  heat load, wind and PV from the previous ``lookback`` hours (rolling prediction, §4.1); each step
  appends y^_{t+1..t+k} (over the env's p_ref; hours beyond the day repeat the last forecast hour).
* **Days**: :class:`DaySampler` draws one day per episode from a list of day indices of a year of data
  (seed 001 §4.3: "repeatedly sampling episodes from the historical dataset").
* **Evaluation**: :func:`evaluate_days` on :func:`held_out_days` (days outside the training split) against
  each day's oracle; :func:`convergence_episode` is the documented convergence definition (docs/sac_lax.md).
* **Checkpoints**: training runs in chunks of ``checkpoint_interval`` episodes (``learn`` calls); after
  each chunk the model zip, the replay buffer and the generator states (python, numpy, torch — SB3
  uses the global ones —, the action space's and the env's) are saved, so a killed run resumed from
  its last checkpoint continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import json
import pickle
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from stable_baselines3 import DDPG, PPO, SAC, TD3
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv

from aggregation.io import atomic_write
from aggregation.multi_energy import SiteConfig, SiteData, summarise
from learners.multi_energy_env import MultiEnergyEnv
from learners.projection import ProjectedEnv
from learners.sac_lax_config import SB3Config

__all__ = ["DaySampler", "ForecastStateEnv", "MultiEnergyTask", "SB3Learner", "convergence_episode", "evaluate_days",
           "evaluate_policy_day", "export_weights", "forecaster_provider", "held_out_days", "load_policy", "make_env",
           "play_day"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SHIPPED_POLICY = WEIGHTS_DIR / "campus_vpp_sac_lax.zip"
SHIPPED_FORECASTER = WEIGHTS_DIR / "campus_forecaster_ax.pt"


class DaySampler:
    """Episode data source: one day of a year per episode.

    Args:
        year: hourly :class:`SiteData` of N = 24*D hours (dt 1 h).
        days: day indices (0-based) to draw from.

    Attributes:
        last_day: the day drawn by the last call.
    """

    def __init__(self, year: SiteData, days: Sequence[int]) -> None:
        if year.dt_h != 1.0:
            raise ValueError("DaySampler needs hourly data")
        self.year = year
        self.days = np.asarray(days, dtype=int)
        if len(self.days) == 0 or self.days.min() < 0 or (self.days.max() + 1) * 24 > year.n_periods:
            raise ValueError("days out of the year's range")
        self.last_day = int(self.days[0])

    def __call__(self, rng: np.random.Generator) -> SiteData:
        self.last_day = int(self.days[rng.integers(len(self.days))]) if len(self.days) > 1 else int(self.days[0])
        return self.year.window(self.last_day * 24, self.last_day * 24 + 24)


class ForecastStateEnv(gym.Wrapper):
    """State augmentation s~_t = [s_t, y^_{t+1:t+k}] (seed 001 Eq. 12), rolling day-ahead forecasts.

    Args:
        env: the (possibly projected) env whose base is a ``MultiEnergyEnv`` fed by a :class:`DaySampler`.
        day_forecast: ``f(day) -> (24, 4)`` kW forecast of the day's electric load, heat load, wind, PV
            made from data before the day (see :func:`forecaster_provider`).
        k: look-ahead hours.
    """

    def __init__(self, env: gym.Env, day_forecast: Callable[[int], np.ndarray], k: int) -> None:
        super().__init__(env)
        self.day_forecast = day_forecast
        self.k = int(k)
        base = env.unwrapped
        self.sampler: DaySampler = base.core.source
        self.p_ref = base.core.p_ref
        n = base.observation_space.shape[0] + 4 * self.k
        self.observation_space = gym.spaces.Box(-5.0, 5.0, (n,), dtype=np.float32)
        self._fc = np.zeros((24, 4))

    def _augment(self, obs: np.ndarray) -> np.ndarray:
        t = min(self.env.unwrapped.core.sim.t, 24)
        idx = np.minimum(np.arange(t + 1, t + 1 + self.k), 23)
        ext = (self._fc[idx] / self.p_ref).ravel()
        return np.clip(np.concatenate([obs, ext]).astype(np.float32), -5.0, 5.0)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(**kwargs)
        self._fc = np.asarray(self.day_forecast(self.sampler.last_day), dtype=np.float64)
        return self._augment(obs), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, r, term, trunc, info = self.env.step(action)
        return self._augment(obs), r, term, trunc, info


def forecaster_provider(forecaster: Any, year: SiteData, hour_offset: int = 0) -> Callable[[int], np.ndarray]:
    """``f(day) -> (24, 4)`` rolling day-ahead forecasts (cached) from the ``lookback`` hours before the day.

    Args:
        forecaster: a :class:`learners.forecasters.Forecaster`.
        year: the hourly data (row 0 at 00:00).
        hour_offset: hours from the forecaster's calendar origin (00:00 of 1 January) to row 0 of ``year``.

    Days too early for a full lookback use the first day repeated as history.
    """
    series = np.stack([year.load_e_kw, year.load_h_kw, year.wind_kw, year.pv_kw], axis=1)
    cache: dict[int, np.ndarray] = {}
    L = forecaster.cfg.lookback

    def f(day: int) -> np.ndarray:
        if day not in cache:
            s = day * 24
            hist = series[s - L:s] if s >= L else np.concatenate([np.tile(series[:24], (L // 24 + 1, 1))[:L - s],
                                                                   series[:s]])
            fc = forecaster.predict(hist, s + hour_offset)
            cache[day] = np.asarray(fc[:24], dtype=np.float64)
        return cache[day]

    return f


class _Recorder(gym.Wrapper):
    """Outermost wrapper: the env generator's state before each reset (for exact resume) and per-episode records."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.rng_state_before_reset: dict | None = None
        self.episodes: list[dict[str, float]] = []
        self._acc: dict[str, float] = {}

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict]:
        if kwargs.get("seed") is None:
            self.rng_state_before_reset = self.env.unwrapped.np_random.bit_generator.state
        obs, info = self.env.reset(**kwargs)
        if kwargs.get("seed") is not None:
            self.rng_state_before_reset = None
        self._acc = {"return": 0.0, "cost": 0.0, "violation_kwh": 0.0, "proj_distance": 0.0, "proj_infeasible": 0.0}
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, r, term, trunc, info = self.env.step(action)
        a = self._acc
        a["return"] += float(r)
        a["cost"] += float(info.get("cost_period", 0.0))
        a["violation_kwh"] += float(info.get("unserved_e_kw", 0) + info.get("excess_e_kw", 0) + info.get("unserved_h_kw", 0))
        a["proj_distance"] += float(info.get("proj_distance", 0.0))
        a["proj_infeasible"] += float(info.get("proj_infeasible", False))
        if term or trunc:
            core = self.env.unwrapped.core
            from aggregation.multi_energy import carbon_cost

            a["cost"] += carbon_cost(core.cfg, core.sim.emissions_kg)
            src = core.source
            a["day"] = float(getattr(src, "last_day", -1))
            self.episodes.append(dict(a))
        return obs, r, term, trunc, info


def make_env(cfg: SiteConfig, data: SiteData | DaySampler, config: SB3Config,
             day_forecast: Callable[[int], np.ndarray] | None = None) -> gym.Env:
    """The env of a method: ``MultiEnergyEnv`` [+ projection] [+ forecast state] + recorder.

    Raises:
        ValueError: the method needs forecasts and ``day_forecast`` is None, or ``data`` is not a sampler.
    """
    env: gym.Env = MultiEnergyEnv(cfg, data, reward="cost", reward_scale=config.reward_scale)
    if config.projection:
        env = ProjectedEnv(env)
    if config.forecast:
        if day_forecast is None or not isinstance(data, DaySampler):
            raise ValueError(f"method {config.method!r} needs a DaySampler and day forecasts")
        env = ForecastStateEnv(env, day_forecast, config.forecast_k)
    return _Recorder(env)


class _StoreFeasible:
    """Off-policy mixin: the replay buffer stores the projected action ``info["a_feas"]`` (seed 001 §3.4)."""

    store_feasible = True

    def _store_transition(self, replay_buffer, buffer_action, new_obs, reward, dones, infos):  # noqa: ANN001, ANN202
        if self.store_feasible and infos and all("a_feas" in i for i in infos):
            buffer_action = np.stack([np.asarray(i["a_feas"], dtype=np.float32) for i in infos])
        return super()._store_transition(replay_buffer, buffer_action, new_obs, reward, dones, infos)


class _SAC(_StoreFeasible, SAC):
    pass


class _TD3(_StoreFeasible, TD3):
    pass


class _DDPG(_StoreFeasible, DDPG):
    pass


_ALGOS = {"sac": _SAC, "td3": _TD3, "ddpg": _DDPG, "ppo": PPO}


@dataclass(frozen=True)
class MultiEnergyTask:
    """What a learner trains on (the registry's ``env_spec``).

    Attributes:
        cfg: the site.
        data: a fixed day or a :class:`DaySampler` of training days.
        day_forecast: rolling day forecasts for ``sac_lax`` (:func:`forecaster_provider`), else None.
    """

    cfg: SiteConfig
    data: SiteData | DaySampler
    day_forecast: Callable[[int], np.ndarray] | None = None


class SB3Learner:
    """One SB3 learner (``config.method``) on a multi-energy site, with chunked checkpoints and resume.

    Built as ``SB3Learner(task, config)`` (the registry's ``cls(env_spec, config)``).

    Args:
        task: site, data and forecasts (:class:`MultiEnergyTask`).
        config: hyper-parameters (:class:`learners.sac_lax_config.SB3Config`).

    Attributes:
        model: the SB3 algorithm.
        env: the training env (``DummyVecEnv`` of one).
        episodes: per-episode records (return, cost incl. carbon, violations, projection stats, day).
    """

    checkpoint_name = "model.zip"

    def __init__(self, task: MultiEnergyTask, config: SB3Config) -> None:
        self.task, self.config = task, config
        cfg, data, day_forecast = task.cfg, task.data, task.day_forecast
        self.cfg, self.data, self.day_forecast = cfg, data, day_forecast
        if config.torch_threads is not None:
            torch.set_num_threads(config.torch_threads)
        self._gym = make_env(cfg, data, config, day_forecast)
        self.env = DummyVecEnv([lambda: self._gym])
        self.model = self._new_model()

    @property
    def episodes(self) -> list[dict[str, float]]:
        return self._gym.episodes

    def _kwargs(self) -> dict[str, Any]:
        c = self.config
        pk = {"net_arch": list(c.net_arch)}
        if c.algo == "ppo":
            return dict(learning_rate=c.lr, gamma=c.gamma, batch_size=c.batch_size, n_steps=c.ppo_n_steps,
                        policy_kwargs=pk)
        kw: dict[str, Any] = dict(learning_rate=c.lr, gamma=c.gamma, tau=c.tau, batch_size=c.batch_size,
                                  buffer_size=c.buffer_size, learning_starts=c.learning_starts, policy_kwargs=pk)
        if c.algo == "sac":
            kw["ent_coef"] = c.ent_coef
        else:
            n = self.env.action_space.shape[0]
            kw["action_noise"] = NormalActionNoise(np.zeros(n), np.full(n, c.action_noise))
        return kw

    def _new_model(self) -> Any:
        model = _ALGOS[self.config.algo]("MlpPolicy", self.env, seed=self.config.seed, verbose=0, device="cpu",
                                         **self._kwargs())
        self._set_replay_action(model)
        return model

    def _set_replay_action(self, model: Any) -> None:
        if isinstance(model, _StoreFeasible):
            model.store_feasible = self.config.replay_action == "feasible"

    # -- training ---------------------------------------------------------------------------------------
    @property
    def t_env(self) -> int:
        """Environment steps so far."""
        return int(self.model.num_timesteps)

    def train(self, env: Any = None, n_episodes: int | None = None, *, checkpoint_dir: str | Path | None = None,
              resume: bool = False, progress: bool = False, max_seconds: float | None = None) -> list[dict[str, float]]:
        """Train to ``n_episodes`` days in total (default ``config.n_episodes``), in checkpointed chunks.

        Args:
            env: ignored (the task's env is used; the argument keeps ``vppsim train``'s call signature).
            n_episodes: total budget, counting episodes before a resume.
            checkpoint_dir: folder for ``model.zip``, ``replay.pkl``, ``state.pkl``, ``episodes.json``.
            resume: continue from ``checkpoint_dir``.
            progress: one line per chunk.
            max_seconds: stop after the chunk that crosses this wall time (a budget, reported by the caller).

        Returns:
            The per-episode records so far.

        Raises:
            FileNotFoundError: ``resume`` without a checkpoint.
        """
        c = self.config
        total = c.n_episodes if n_episodes is None else n_episodes
        ck = Path(checkpoint_dir) if checkpoint_dir is not None else None
        if resume:
            if ck is None or not (ck / self.checkpoint_name).exists():
                raise FileNotFoundError(f"no checkpoint in {ck}")
            self._load(ck)
        t0 = time.perf_counter()
        while len(self.episodes) < total:
            n = min(c.checkpoint_interval, total - len(self.episodes))
            self.model.learn(total_timesteps=24 * n, reset_num_timesteps=False)
            if ck is not None:
                self._save(ck)
            if progress:
                ret = np.mean([e["return"] for e in self.episodes[-n:]])
                print(f"  {c.method} seed {c.seed}: {len(self.episodes)} episodes, mean return {ret:.3f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                break
        return self.episodes

    def _save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / self.checkpoint_name, self.model.save)
        if hasattr(self.model, "replay_buffer"):
            atomic_write(folder / "replay.pkl", self.model.save_replay_buffer)
        state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
                 "action_space": self.model.action_space.np_random.bit_generator.state,
                 "env_before_reset": self._gym.rng_state_before_reset, "episodes": self.episodes,
                 "noise": getattr(self.model, "action_noise", None)}
        atomic_write(folder / "state.pkl", lambda fh: pickle.dump(state, fh))
        (folder / "episodes.json").write_text(json.dumps(self.episodes))

    def _load(self, folder: Path) -> None:
        cls = _ALGOS[self.config.algo]
        self.model = cls.load(folder / self.checkpoint_name, env=self.env, device="cpu")
        self._set_replay_action(self.model)
        if (folder / "replay.pkl").exists():
            self.model.load_replay_buffer(folder / "replay.pkl")
        with open(folder / "state.pkl", "rb") as fh:
            st = pickle.load(fh)  # noqa: S301 - our own checkpoint
        self._gym.episodes[:] = st["episodes"]
        self.env.reset()  # consumes the seeds SB3's load queued
        if st["env_before_reset"] is not None:
            self._gym.env.unwrapped.np_random.bit_generator.state = st["env_before_reset"]
        self.model._last_obs = self.env.reset()
        self.model._last_episode_starts = np.ones((1,), dtype=bool)
        if st["noise"] is not None:
            self.model.action_noise = st["noise"]
        self.model.action_space.np_random.bit_generator.state = st["action_space"]
        random.setstate(st["python"])
        np.random.set_state(st["numpy"])
        torch.set_rng_state(st["torch"])

    # -- acting -----------------------------------------------------------------------------------------
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic raw action (k,) for one observation (the projection, if any, is the env's)."""
        a, _ = self.model.predict(obs, deterministic=True)
        return np.asarray(a, dtype=np.float32)

    def save(self, path: str | Path) -> None:
        """Save the policy (SB3 zip, no replay buffer): the shipped-weights format."""
        self.model.save(str(path))


def evaluate_policy_day(learner: SB3Learner | Any, cfg: SiteConfig, day: SiteData | DaySampler, config: SB3Config,
                        day_forecast: Callable[[int], np.ndarray] | None = None) -> dict[str, Any]:
    """Play one day deterministically and measure it.

    Args:
        learner: an :class:`SB3Learner` (or anything with ``act(obs)``).
        cfg, config, day_forecast: as :class:`SB3Learner`.
        day: the day (a :class:`DaySampler` of one day for ``sac_lax``).

    Returns:
        ``{"summary": summarise(...) day totals, "table": per-period DataFrame, "violation_kwh",
        "latency_ms": (median, max) of actor + projection per decision (forecast excluded),
        "actor_ms", "proj_ms", "proj_distance_mean", "proj_infeasible"}``.
    """
    env = make_env(cfg, day, config, day_forecast)
    obs, _ = env.reset(seed=0)
    rows, lat, act_t, proj_t, dist, infeas = [], [], [], [], [], 0
    done = False
    while not done:
        t0 = time.perf_counter()
        a = learner.act(obs)
        t1 = time.perf_counter()
        obs, _, done, _, info = env.step(a)
        ps = float(info.get("proj_s", 0.0))
        act_t.append(t1 - t0)
        proj_t.append(ps)
        lat.append(t1 - t0 + ps)
        dist.append(float(info.get("proj_distance", 0.0)))
        infeas += int(info.get("proj_infeasible", False))
        rows.append(info)
    table = pd.DataFrame(rows)
    dt = env.unwrapped.core.sim.data.dt_h
    s = summarise(cfg, table, dt)
    return {"summary": s, "table": table,
            "violation_kwh": s["unserved_e_kwh"] + s["excess_e_kwh"] + s["unserved_h_kwh"],
            "latency_ms": (1e3 * float(np.median(lat)), 1e3 * float(np.max(lat))),
            "actor_ms": 1e3 * float(np.median(act_t)), "proj_ms": 1e3 * float(np.median(proj_t)),
            "proj_distance_mean": float(np.mean(dist)), "proj_infeasible": infeas}


def evaluate_days(policy: SB3Learner | Any, cfg: SiteConfig, year: SiteData, days: Sequence[int], config: SB3Config,
                  day_forecast: Callable[[int], np.ndarray] | None = None) -> list[dict[str, Any]]:
    """:func:`evaluate_policy_day` on each of ``days`` (0-based day indices of ``year``), one dict per day."""
    return [evaluate_policy_day(policy, cfg, DaySampler(year, [int(d)]), config, day_forecast) for d in days]


def held_out_days(n_hours: int, n_days: int = 7, step: int = 8, part: int = 2) -> list[int]:
    """Evaluation days outside the learners' training days (0-based day indices).

    The learners train on days of the forecasters' training split (:func:`learners.forecasters.split_year`,
    70 %); ``part`` 1 = validation split (15 %), 2 = test split (15 %). Returns ``n_days`` whole days
    starting at the part's first midnight, ``step`` days apart (8: consecutive picks fall on consecutive
    weekdays, so 7 days cover the week once). For 365 days: validation 256, 264, ... ; test 311, 319, ...,
    359 (7 November … 25 December 2016, the year of the data).

    Raises:
        ValueError: the part is too short for ``n_days`` at ``step``.
    """
    from learners.forecasters import split_year

    sl = split_year(n_hours)[part]
    first = -(-sl.start // 24)
    days = [first + step * i for i in range(n_days)]
    if (days[-1] + 1) * 24 > sl.stop:
        raise ValueError(f"split part {part} has no room for {n_days} days {step} apart")
    return days


def convergence_episode(episodes: Sequence[int], values: Sequence[float], tol_pct: float = 1.0,
                        window: int = 3) -> int:
    """Convergence episode of an evaluation curve (vppsim's definition; seed 001 Table 4 gives none).

    ``values[i]`` is the evaluation reward (deterministic policy on fixed held-out days; here
    -mean daily cost / 1000 CNY) measured after ``episodes[i]`` training episodes. With the trailing
    moving average m_j of ``window`` consecutive evaluations and its final value m_end, the convergence
    episode is the first ``episodes[i]`` from which every later m_j stays within ``tol_pct`` % of
    |m_end|: |m_j - m_end| <= tol_pct/100 * |m_end|. A curve still improving at the end of the run
    "converges" near its end: the number then says only that the budget was too short.

    Raises:
        ValueError: fewer than ``window`` evaluations, or mismatched lengths.
    """
    e, v = np.asarray(episodes, dtype=int), np.asarray(values, dtype=float)
    if len(e) != len(v) or len(v) < window:
        raise ValueError(f"need >= {window} evaluations with matching episode numbers")
    ma = np.convolve(v, np.ones(window) / window, mode="valid")  # ma[j] ends at evaluation j + window - 1
    band = tol_pct / 100.0 * max(abs(ma[-1]), 1e-12)
    bad = np.flatnonzero(np.abs(ma - ma[-1]) > band)
    j = int(bad[-1]) + 1 if len(bad) else 0
    return int(e[j + window - 1])


def export_weights(learner: SB3Learner, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Registry ``export``: the policy as an SB3 zip next to ``path`` (suffix ``.zip``) and ``meta`` as JSON."""
    out = Path(path).with_suffix(".zip")
    learner.save(out)
    if meta is not None:
        out.with_suffix(".json").write_text(json.dumps({**meta, "config": {k: (list(v) if isinstance(v, tuple) else v)
                                                                             for k, v in vars(learner.config).items()}}))
    return out


class _LoadedPolicy:
    """``act(obs)`` of a saved SB3 policy (SAC/TD3/DDPG/PPO zip)."""

    def __init__(self, path: str | Path, algo: str) -> None:
        self.model = _ALGOS[algo].load(str(path), device="cpu")

    def act(self, obs: np.ndarray) -> np.ndarray:
        a, _ = self.model.predict(obs, deterministic=True)
        return np.asarray(a, dtype=np.float32)


def load_policy(path: str | Path = SHIPPED_POLICY, algo: str = "sac") -> _LoadedPolicy:
    """A saved policy (default: the shipped SAC-LAx weights of ``campus_vpp``).

    Raises:
        FileNotFoundError: no such file.
    """
    if not Path(path).exists():
        raise FileNotFoundError(path)
    return _LoadedPolicy(path, algo)


def play_day(cfg: SiteConfig, day: SiteData, history_kw: np.ndarray, *, day_of_year: int = 1,
             policy: str | Path = SHIPPED_POLICY, forecaster: str | Path = SHIPPED_FORECASTER,
             config: SB3Config | None = None) -> dict[str, Any]:
    """Run a shipped SAC-LAx policy on one day (the ``method: sac_lax`` hook of the multi_energy pipeline).

    Args:
        cfg: the site (the policy was trained on ``campus_vpp``'s).
        day: the day's realised data (hourly, 24 periods).
        history_kw: (L, 4) the ``lookback`` hours before the day (electric load, heat load, wind, PV; kW),
            the input of the rolling day-ahead forecast.
        day_of_year: the day's number (1 = 1 January), for the forecaster's weekday features.
        policy, forecaster: weight files.
        config: the policy's training config (default: the shipped one's JSON next to the zip, else defaults).

    Returns:
        As :func:`evaluate_policy_day` (day totals, per-period table, violations, latency).
    """
    from learners.forecasters import load_forecaster

    meta = Path(policy).with_suffix(".json")
    if config is None:
        conf = json.loads(meta.read_text()).get("config", {}) if meta.exists() else {}
        config = SB3Config.from_dict({k: v for k, v in conf.items() if k in SB3Config.__dataclass_fields__})
    fc = load_forecaster(forecaster)
    h = np.asarray(history_kw, dtype=np.float64)
    n = int(np.ceil(len(h) / 24)) * 24
    pad = np.concatenate([np.repeat(h[:1], n - len(h), axis=0), h]) if n > len(h) else h
    z = np.zeros(n)
    year = SiteData(1.0, *(np.concatenate([a, getattr(day, k)]) for a, k in
                           ((pad[:, 0], "load_e_kw"), (pad[:, 1], "load_h_kw"), (pad[:, 2], "wind_kw"),
                            (pad[:, 3], "pv_kw"), (z, "buy_price"), (z, "sell_price"))))
    sampler = DaySampler(year, [n // 24])
    return evaluate_policy_day(load_policy(policy, config.algo), cfg, sampler, config,
                               forecaster_provider(fc, year, (day_of_year - 1) * 24 - n) if config.forecast else None)
