"""The aggregation game of seed 003 §4.1 as a PettingZoo ``ParallelEnv``.

A coalition of DER agents (air conditioners ``ac_<i>`` and EV piles ``ev_<j>``)
is drawn from one park of a scenario's population. Every period each agent
picks a discrete action (AC mode, EV charging level; ``infos[agent]
["action_mask"]`` says which are allowed); the devices advance; every member
is rewarded with the coalition's fitness (Eq. 5 evaluated on the coalition's
aggregate load), so the team reward is the algebraic sum of the members'
fitness (Eq. 15). The global state for a mixing network is the period's system
signal plus every member's observation.

Any MARL library that speaks PettingZoo can train on it; vppsim's learners
use it through :class:`learners.marl_env.ParallelEnvAdapter`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from gymnasium import spaces
from pettingzoo import ParallelEnv

from aggregation.indices import period_fitness
from aggregation.model import SystemSignal, VppModel, policy_decider
from aggregation.observations import OBS_DIM
from aggregation.policy import N_ACTIONS, RulePolicy
from aggregation.specs import BaseLoadSpec, ParkSpec

OBS_SIZE = max(OBS_DIM.values())
N_GLOBAL = 6  # hour sin/cos, eta_GI, gamma, 5 g, coalition previous load / P_max


class AggregationGameEnv(ParallelEnv):
    """Coalitions of a park's DERs tracking the zero-carbon index.

    Args:
        parks: the scenario's parks; a coalition is drawn from one park that has ACs.
        signal: system generation series (defines eta_GI and g).
        weather: per-period weather of the scenario horizon.
        day_of_year: first simulated day.
        step_h: period length (h).
        lam: similarity coefficient of the fitness.
        n_ac: air conditioners per coalition.
        n_ev: EV piles per coalition (0 if the park has none).
        episode_len: periods per episode.
        start_steps: periods an episode may start at (default: any that fits).
        randomise_usual: draw each AC's usual mode uniformly over {off, 18, 22, 26, 30}
            instead of the park's schedule (covers every initial state, as in Table 1).
        all_activated: make every drawn unit controllable.
    """

    metadata = {"name": "vppsim_aggregation_v0", "render_modes": []}

    def __init__(
        self,
        parks: Sequence[ParkSpec],
        signal: SystemSignal,
        weather: pd.DataFrame,
        *,
        day_of_year: int,
        step_h: float = 1.0,
        lam: float = 1.0,
        n_ac: int = 3,
        n_ev: int = 1,
        episode_len: int = 24,
        start_steps: Sequence[int] | None = None,
        randomise_usual: bool = False,
        all_activated: bool = True,
    ):
        self.parks = [p for p in parks if p.ac is not None]
        if not self.parks:
            raise ValueError("the aggregation game needs at least one park with air conditioners")
        self.signal, self.weather = signal, weather
        self.day_of_year, self.step_h, self.lam = day_of_year, step_h, lam
        self.n_ac = n_ac
        self.n_ev = n_ev if any(p.ev is not None for p in self.parks) else 0
        n_steps = len(weather)
        if not 1 <= episode_len <= n_steps:
            raise ValueError(f"episode_len must be in 1..{n_steps}, got {episode_len}")
        self.episode_len = episode_len
        self.max_cycles = episode_len
        self.start_steps = list(start_steps) if start_steps is not None else list(range(n_steps - episode_len + 1))
        self.randomise_usual = randomise_usual
        self.all_activated = all_activated
        self.possible_agents = [f"ac_{i}" for i in range(n_ac)] + [f"ev_{j}" for j in range(self.n_ev)]
        self.agents: list[str] = []
        self.state_space = spaces.Box(-np.inf, np.inf, (N_GLOBAL + OBS_SIZE * len(self.possible_agents),), np.float32)
        self._model: VppModel | None = None

    @functools.cache  # noqa: B019 - spaces are immutable per agent
    def observation_space(self, agent: str) -> spaces.Box:
        return spaces.Box(-np.inf, np.inf, (OBS_SIZE,), np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Discrete:
        return spaces.Discrete(N_ACTIONS[agent.split("_")[0]])

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        """Draw a coalition and a start period; ``options={"usual_modes": [...], "start": k}`` fixes them."""
        options = options or {}
        rng = np.random.default_rng(seed)
        weights = np.array([p.ac.count for p in self.parks], float)
        park = self.parks[int(rng.choice(len(self.parks), p=weights / weights.sum()))]
        upd: dict[str, Any] = {"base_load": BaseLoadSpec(), "pv": None}
        upd["ac"] = park.ac.model_copy(update={"count": self.n_ac, **({"activated_share": 1.0} if self.all_activated else {})})
        if self.n_ev:
            ev = park.ev if park.ev is not None else next(p.ev for p in self.parks if p.ev is not None)
            upd["ev"] = ev.model_copy(update={"count": self.n_ev, **({"activated_share": 1.0} if self.all_activated else {})})
        else:
            upd["ev"] = None
        small = _coalition_park(park, upd)
        self._model = VppModel(
            [small], self.signal, self.weather, day_of_year=self.day_of_year, step_h=self.step_h,
            lam=self.lam, policy=RulePolicy(), handles=False, seed=int(rng.integers(2**63 - 1)),
        )
        ac = self._model.fleet.ac
        usual = options.get("usual_modes")
        if usual is None and self.randomise_usual:
            usual = rng.integers(0, 5, self.n_ac)
        if usual is not None:
            usual = np.asarray(usual, np.int8)
            on = usual != 0
            ac.preferred_mode[:] = np.where(on, usual, 1)
            ac.on_hour[:] = 0.0
            ac.off_hour[:] = np.where(on, 24.0, 0.0)
            # Start in the usual mode, as if the unit had been running so.
            ac.mode[:] = usual
            ac.p_kw[:] = ac.power_of(usual.astype(np.int64), float(self._model.fleet.t_out_c[0]))
        start = int(options.get("start", self.start_steps[int(rng.integers(len(self.start_steps)))]))
        # Warm up with everyone acting as usual, so the start state is physically consistent.
        self._model.decider = policy_decider
        self._model.run(start)
        if usual is not None:
            ctx = self._model.context(start)
            ac.p_kw[:] = ac.power_of(usual.astype(np.int64), ctx.t_out_c)
        self._t = 0
        self.agents = list(self.possible_agents)
        return self._observe()

    def _observe(self) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        m = self._model
        k = m.steps
        self._ctx = m.context(min(k, m.n_steps - 1))
        self._views = m.views(self._ctx)
        obs, infos = {}, {}
        for kind, view in self._views.items():
            feats, avail = view.features, view.avail
            for i in range(view.n):
                o = np.zeros(OBS_SIZE, np.float32)
                o[: feats.shape[1]] = feats[i]
                name = f"{kind}_{i}"
                obs[name] = o
                infos[name] = {"action_mask": avail[i].astype(np.int8)}
        self._obs = obs
        return obs, infos

    def state(self) -> np.ndarray:
        c = self._ctx
        ang = 2 * np.pi * c.hour_of_day / 24.0
        f = self._model.fleet
        p_max = float(f.ac.p_max_kw.sum() + f.ev.p_max_kw.sum())
        prev = float(f.ac.p_kw.sum() + f.ev.p_kw.sum())
        head = np.array([np.sin(ang), np.cos(ang), c.eta_gi, c.gamma, 5 * c.g, prev / max(p_max, 1e-9)], np.float32)
        body = [self._obs.get(a, np.zeros(OBS_SIZE, np.float32)) for a in self.possible_agents]
        return np.concatenate([head, *body]).astype(np.float32)

    def step(self, actions: dict[str, int]):
        m = self._model
        f = m.fleet
        chosen = {}
        for kind, view in self._views.items():
            a = np.array([int(actions.get(f"{kind}_{i}", -1)) for i in range(view.n)], np.int64)
            chosen[kind] = np.where(a >= 0, a, view.usual)
        prev_kw = float(f.ac.p_kw.sum() + f.ev.p_kw.sum())
        p_max = float(f.ac.p_max_kw.sum() + f.ev.p_max_kw.sum())
        ctx = self._ctx
        m.decider = lambda views, policy: chosen
        m.step()
        now_kw = float(f.ac.p_kw.sum() + f.ev.p_kw.sum())
        fit = float(period_fitness(now_kw, prev_kw, p_max, ctx.g, ctx.gamma, ctx.lam))
        self._t += 1
        done = self._t >= self.episode_len
        rewards = {a: fit for a in self.agents}
        terms = {a: False for a in self.agents}
        truncs = {a: done for a in self.agents}
        obs, infos = self._observe()
        for a in self.agents:
            infos[a]["coalition_fitness"] = fit
            infos[a]["coalition_kw"] = now_kw
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    # ------------------------------------------------------------- inspection
    @property
    def model(self) -> VppModel:
        """The small model behind the current episode."""
        if self._model is None:
            raise RuntimeError("call reset() first")
        return self._model


def _coalition_park(park: Any, blocks: dict[str, Any]) -> Any:
    """``park`` with only the coalition's device blocks (None drops a kind) and a zero base load.

    Parks keep their device blocks in ``devices`` (the device-kind registry of
    ``aggregation.kinds``); older specs had one field per kind.
    """
    base = blocks.pop("base_load")
    if "devices" in type(park).model_fields:
        return park.model_copy(update={"base_load": base,
                                       "devices": {k: v for k, v in blocks.items() if v is not None}})
    return park.model_copy(update={"base_load": base, **blocks})
