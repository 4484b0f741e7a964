"""The environment protocol of the vppsim value-based learners, and a PettingZoo adapter.

An environment exposes ``marl_spec`` (an :class:`EnvSpec`) and three methods::

    reset(seed: int | None) -> EnvObservation
    step(actions: np.ndarray[int64] shape (n_agents,)) -> (reward: float, terminated: bool, info: dict)
    observe() -> EnvObservation        # the observation after the last step

``EnvObservation`` is a dict with ``obs`` (n_agents, obs_dim) float,
``state`` (state_dim,) float, ``avail`` (n_agents, n_actions) bool,
``agent_mask`` (n_agents,) bool and, when there are several agent kinds,
``kinds`` (n_agents,) int (kind index of each slot, fixed for the episode).

* Slots beyond the current coalition have ``agent_mask`` False; learners send
  them action -1, which the environment must ignore.
* ``reward`` is the team reward (for He et al. 2024, the sum of the coalition
  members' fitness).
* ``terminated`` means a true end (no bootstrapping). An episode cut by a time
  limit returns ``terminated=False`` and either sets ``info["truncated"]`` or
  simply reaches ``episode_limit`` steps.
* ``reset`` receives a fresh seed every episode, drawn from the learner's
  generator; an environment that draws all its randomness from that seed makes
  training reproducible and checkpoint resumption exact.

:class:`ParallelEnvAdapter` turns a PettingZoo ``ParallelEnv`` into this protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NotRequired, Protocol, TypedDict

import numpy as np


class UnsupportedEnvError(ValueError):
    """The environment needs a capability the learner lacks (e.g. continuous actions)."""


@dataclass(frozen=True)
class EnvSpec:
    """Static sizes of a multi-agent environment.

    Attributes:
        n_agents: agent slots, i.e. the largest coalition; smaller ones are masked.
        obs_dim: per-agent observation size (smaller observations are zero-padded).
        state_dim: global state size (the mixer's hypernetwork input).
        n_actions: largest action count over kinds.
        episode_limit: maximum steps per episode.
        kind_names: names of the agent kinds (e.g. ``("ac", "ev", "pv")``).
        kind_n_actions: action count of each kind; defaults to ``n_actions`` for every kind.
        continuous_actions: True if any agent acts in a continuous space.
    """

    n_agents: int
    obs_dim: int
    state_dim: int
    n_actions: int
    episode_limit: int
    kind_names: tuple[str, ...] = ("agent",)
    kind_n_actions: tuple[int, ...] | None = None
    continuous_actions: bool = False

    def __post_init__(self) -> None:
        if self.kind_n_actions is None:
            object.__setattr__(self, "kind_n_actions", (self.n_actions,) * len(self.kind_names))
        for name in ("n_agents", "obs_dim", "state_dim", "episode_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"EnvSpec.{name} must be >= 1, got {getattr(self, name)}")
        kinds = self.kind_counts
        if len(kinds) != len(self.kind_names):
            raise ValueError("kind_names and kind_n_actions must have the same length")
        if not self.continuous_actions and (min(kinds) < 1 or max(kinds) != self.n_actions):
            raise ValueError(f"kind_n_actions {kinds} must be >= 1 with maximum n_actions={self.n_actions}")

    @property
    def kind_counts(self) -> tuple[int, ...]:
        """``kind_n_actions`` with the default filled in."""
        assert self.kind_n_actions is not None
        return self.kind_n_actions

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnvSpec:
        """Inverse of ``dataclasses.asdict`` (lists back to tuples), for checkpoints."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class EnvObservation(TypedDict):
    """What ``reset`` and ``observe`` return; shapes in the module docstring."""

    obs: np.ndarray
    state: np.ndarray
    avail: np.ndarray
    agent_mask: np.ndarray
    kinds: NotRequired[np.ndarray]


class MARLEnv(Protocol):
    """The environment protocol of the module docstring."""

    marl_spec: EnvSpec

    def reset(self, seed: int | None = None) -> EnvObservation: ...

    def step(self, actions: np.ndarray) -> tuple[float, bool, dict[str, Any]]: ...

    def observe(self) -> EnvObservation: ...


def check_discrete(spec: EnvSpec, learner: str = "QMIX") -> EnvSpec:
    """Raise :class:`UnsupportedEnvError` if ``spec`` has continuous actions."""
    if spec.continuous_actions:
        raise UnsupportedEnvError(
            f"{learner} supports discrete actions only: it maximises Q over an enumerable action set. "
            "Discretise the continuous actions (e.g. setpoint levels) or use a continuous-action learner.")
    return spec


def _default_kind(agent: str) -> str:
    # PettingZoo names agents "<kind>_<index>" by convention ("ev_3", "adversary_0").
    return agent.rsplit("_", 1)[0]


class ParallelEnvAdapter:
    """Present a PettingZoo ``ParallelEnv`` through the learner protocol.

    Each of ``env.possible_agents`` gets a fixed slot; agents not in ``env.agents``
    are masked. Observations may be a ``Box`` or a ``Dict`` with ``"observation"``
    and ``"action_mask"`` entries; an ``"action_mask"`` may also come in the
    agent's info. The team reward is the sum of the agents' rewards, and the
    global state comes from ``env.state()``.

    Args:
        env: the PettingZoo parallel environment.
        kind_of: maps an agent name to its kind name; agents of a kind share a network.
            Defaults to the name without its ``_<index>`` suffix.
        episode_limit: maximum steps; defaults to ``env.max_cycles`` / ``env.max_steps``
            / ``env.episode_limit``, whichever exists.

    Attributes:
        marl_spec: the derived :class:`EnvSpec`; ``continuous_actions`` is set (rather
            than raising here) when an action space is a ``Box``, so a learner can refuse it.
    """

    def __init__(self, env: Any, kind_of: Callable[[str], str] | None = None,
                 episode_limit: int | None = None) -> None:
        from gymnasium import spaces

        self.env = env
        self.agents: list[str] = list(env.possible_agents)
        kind_of = kind_of or _default_kind
        names: list[str] = []
        for a in self.agents:
            if kind_of(a) not in names:
                names.append(kind_of(a))
        self.kinds = np.array([names.index(kind_of(a)) for a in self.agents], np.int64)
        continuous = False
        self._n_actions, self._action_start = [], []
        for a in self.agents:
            space = env.action_space(a)
            if isinstance(space, spaces.Discrete):
                self._n_actions.append(int(space.n))
                self._action_start.append(int(space.start))
            elif isinstance(space, spaces.Box):
                continuous = True
                self._n_actions.append(1)
                self._action_start.append(0)
            else:
                raise UnsupportedEnvError(f"agent {a!r}: action space {space} is neither Discrete nor Box")
        kind_n = tuple(max(n for n, k in zip(self._n_actions, self.kinds, strict=True) if k == j)
                       for j in range(len(names)))
        obs_dim = max(int(np.prod(self._obs_box(env.observation_space(a)).shape)) for a in self.agents)
        state_space = getattr(env, "state_space", None)
        if state_space is not None:
            state_dim = int(np.prod(state_space.shape))
        else:  # no declared state space: measure one
            env.reset(seed=0)
            state_dim = int(np.asarray(env.state()).size)
        if episode_limit is None:
            for attr in ("max_cycles", "max_steps", "episode_limit"):
                episode_limit = getattr(env, attr, None) or getattr(env.unwrapped, attr, None)
                if episode_limit:
                    break
            else:
                raise ValueError("pass episode_limit: the env has no max_cycles/max_steps/episode_limit")
        self.marl_spec = EnvSpec(
            n_agents=len(self.agents), obs_dim=obs_dim, state_dim=state_dim, n_actions=max(kind_n),
            episode_limit=int(episode_limit), kind_names=tuple(names), kind_n_actions=kind_n,
            continuous_actions=continuous)
        self._obs: dict[str, Any] = {}
        self._infos: dict[str, Any] = {}

    @staticmethod
    def _obs_box(space: Any) -> Any:
        from gymnasium import spaces

        if isinstance(space, spaces.Dict):
            space = space["observation"]
        if not isinstance(space, spaces.Box):
            raise UnsupportedEnvError(f"observation space {space} is not a Box (or Dict with a Box 'observation')")
        return space

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> EnvObservation:
        """Reset the wrapped env with ``seed`` (and PettingZoo reset ``options``, if any)."""
        self._obs, self._infos = self.env.reset(seed=seed, options=options)
        return self.observe()

    def observe(self) -> EnvObservation:
        """Padded arrays for the agents alive after the last reset/step."""
        s = self.marl_spec
        obs = np.zeros((s.n_agents, s.obs_dim), np.float32)
        avail = np.zeros((s.n_agents, s.n_actions), bool)
        mask = np.zeros(s.n_agents, bool)
        live = set(self.env.agents)
        for i, a in enumerate(self.agents):
            if a not in live or a not in self._obs:
                continue
            o, action_mask = self._obs[a], None
            if isinstance(o, dict):
                o, action_mask = o["observation"], o.get("action_mask")
            if action_mask is None:
                action_mask = (self._infos.get(a) or {}).get("action_mask")
            flat = np.asarray(o, np.float32).ravel()
            obs[i, : flat.size] = flat
            if action_mask is None:
                avail[i, : self._n_actions[i]] = True
            else:
                action_mask = np.asarray(action_mask, bool).ravel()
                avail[i, : action_mask.size] = action_mask
            mask[i] = True
        state = np.asarray(self.env.state(), np.float32).ravel()
        return {"obs": obs, "state": state, "avail": avail, "agent_mask": mask, "kinds": self.kinds.copy()}

    def step(self, actions: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        """Step the live agents; slots that are not alive are ignored.

        Returns:
            Summed reward, whether the episode truly terminated, and an info dict with
            ``truncated`` plus the raw per-agent ``rewards`` and ``infos``.
        """
        live = list(self.env.agents)
        act = {a: int(actions[i]) + self._action_start[i] for i, a in enumerate(self.agents) if a in live}
        self._obs, rewards, term, trunc, self._infos = self.env.step(act)
        reward = float(sum(rewards.values()))
        done = not self.env.agents or all(term.get(a, False) or trunc.get(a, False) for a in live)
        # Only an end reached without any time-limit truncation stops bootstrapping.
        terminated = bool(done and not any(trunc.values()))
        return reward, terminated, {"truncated": bool(done and not terminated), "rewards": rewards,
                                    "infos": self._infos}
