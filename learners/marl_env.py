"""The environment protocol of vppsim's learners, with PettingZoo and Gymnasium adapters.

An environment exposes ``marl_spec`` (an :class:`EnvSpec`) and three methods::

    reset(seed: int | None) -> EnvObservation
    step(actions) -> (reward: float, terminated: bool, info: dict)
    observe() -> EnvObservation        # the observation after the last step

``actions`` is ``np.ndarray[int64]`` of shape ``(n_agents,)`` when every kind
acts in a discrete set, else ``np.ndarray[float32]`` of shape
``(n_agents, spec.action_dim)``: a continuous (``Box``) agent's action is its
row (first ``dim`` entries of its kind's box), a discrete agent's is
``int(row[0])``.

``EnvObservation`` is a dict with ``obs`` (n_agents, obs_dim) float,
``state`` (state_dim,) float, ``avail`` (n_agents, n_actions) bool (optional
when every kind is continuous; rows of continuous agents are meaningless),
``agent_mask`` (n_agents,) bool and, when there are several agent kinds,
``kinds`` (n_agents,) int (kind index of each slot, fixed for the episode).

* Slots beyond the current coalition have ``agent_mask`` False; learners send
  them action -1 (or anything, for continuous kinds), which the environment must ignore.
* ``reward`` is the team reward (for He et al. 2024, the sum of the coalition
  members' fitness).
* ``terminated`` means a true end (no bootstrapping). An episode cut by a time
  limit returns ``terminated=False`` and either sets ``info["truncated"]`` or
  simply reaches ``episode_limit`` steps.
* ``reset`` receives a fresh seed every episode, drawn from the learner's
  generator; an environment that draws all its randomness from that seed makes
  training reproducible and checkpoint resumption exact.

:class:`ParallelEnvAdapter` turns a PettingZoo ``ParallelEnv`` into this protocol,
:class:`GymEnvAdapter` a single-agent Gymnasium ``Env`` (one agent slot; the
state is the observation). Both keep ``Box`` action spaces in
``EnvSpec.action_boxes`` (low, high per kind), so a continuous-action learner
(SAC, MADDPG) sees them and a discrete one (QMIX) refuses them.
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
        kind_n_actions: action count of each kind (1 for a continuous kind); defaults to
            ``n_actions`` for every kind.
        continuous_actions: True if any agent acts in a continuous space.
        action_boxes: per kind, ``(low, high)`` of its flat ``Box`` action space (equal-length
            tuples), or None for a discrete kind; None when no box is known.
    """

    n_agents: int
    obs_dim: int
    state_dim: int
    n_actions: int
    episode_limit: int
    kind_names: tuple[str, ...] = ("agent",)
    kind_n_actions: tuple[int, ...] | None = None
    continuous_actions: bool = False
    action_boxes: tuple[tuple[tuple[float, ...], tuple[float, ...]] | None, ...] | None = None

    def __post_init__(self) -> None:
        if self.action_boxes is not None:
            if len(self.action_boxes) != len(self.kind_names):
                raise ValueError("action_boxes needs one entry (or None) per kind")
            for box in self.action_boxes:
                if box is not None and (len(box) != 2 or len(box[0]) != len(box[1]) or not box[0]):
                    raise ValueError(f"an action box is (low, high) of equal, non-zero length, got {box}")
            if any(b is not None for b in self.action_boxes) and not self.continuous_actions:
                object.__setattr__(self, "continuous_actions", True)
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

    @property
    def action_dim(self) -> int:
        """Width of a float action row: the largest box dimension (1 when all kinds are discrete)."""
        return max([len(b[0]) for b in self.action_boxes or () if b is not None] or [1])

    def is_continuous(self, kind: int) -> bool:
        """Whether kind ``kind`` (index) acts in a ``Box``."""
        return self.action_boxes is not None and self.action_boxes[kind] is not None

    def action_space(self, kind: int = 0) -> Any:
        """The ``gymnasium.spaces`` action space of kind ``kind``: ``Discrete(n)`` or ``Box(low, high)``."""
        from gymnasium import spaces

        if self.is_continuous(kind):
            assert self.action_boxes is not None
            low, high = self.action_boxes[kind]
            return spaces.Box(np.asarray(low, np.float32), np.asarray(high, np.float32), dtype=np.float32)
        return spaces.Discrete(self.kind_counts[kind])

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnvSpec:
        """Inverse of ``dataclasses.asdict`` (lists back to tuples, nested too), for checkpoints."""
        return cls(**{k: _tuples(v) for k, v in d.items()})


def _tuples(v: Any) -> Any:
    return tuple(_tuples(x) for x in v) if isinstance(v, list | tuple) else v


class EnvObservation(TypedDict):
    """What ``reset`` and ``observe`` return; shapes in the module docstring."""

    obs: np.ndarray
    state: np.ndarray
    avail: NotRequired[np.ndarray]
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
        self._n_actions, self._action_start = [], []
        self._boxes: list[Any] = []  # per agent: the Box, or None for a discrete agent
        boxes: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {}
        for a, k in zip(self.agents, self.kinds, strict=True):
            space = env.action_space(a)
            if isinstance(space, spaces.Discrete):
                self._n_actions.append(int(space.n))
                self._action_start.append(int(space.start))
                self._boxes.append(None)
            elif isinstance(space, spaces.Box):
                box = (tuple(float(x) for x in np.ravel(space.low)), tuple(float(x) for x in np.ravel(space.high)))
                if boxes.setdefault(int(k), box) != box:
                    raise UnsupportedEnvError(f"agent {a!r}: agents of kind {names[k]!r} have different Box spaces")
                self._n_actions.append(1)
                self._action_start.append(0)
                self._boxes.append(space)
            else:
                raise UnsupportedEnvError(f"agent {a!r}: action space {space} is neither Discrete nor Box")
        continuous = bool(boxes)
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
            continuous_actions=continuous,
            action_boxes=tuple(boxes.get(j) for j in range(len(names))) if continuous else None)
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
        out: EnvObservation = {"obs": obs, "state": state, "agent_mask": mask, "kinds": self.kinds.copy()}
        if not all(b is not None for b in self._boxes):  # ``avail`` only where some agent is discrete
            out["avail"] = avail
        return out

    def _action(self, i: int, row: Any) -> Any:
        box = self._boxes[i]
        if box is None:
            return int(np.ravel(row)[0]) + self._action_start[i]
        n = int(np.prod(box.shape))
        return np.asarray(np.ravel(row)[:n], box.dtype).reshape(box.shape)

    def step(self, actions: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        """Step the live agents; slots that are not alive are ignored.

        Args:
            actions: ``(n_agents,)`` ints, or ``(n_agents, spec.action_dim)`` floats when a
                kind is continuous (see the module docstring).

        Returns:
            Summed reward, whether the episode truly terminated, and an info dict with
            ``truncated`` plus the raw per-agent ``rewards`` and ``infos``.
        """
        live = list(self.env.agents)
        act = {a: self._action(i, actions[i]) for i, a in enumerate(self.agents) if a in live}
        self._obs, rewards, term, trunc, self._infos = self.env.step(act)
        reward = float(sum(rewards.values()))
        done = not self.env.agents or all(term.get(a, False) or trunc.get(a, False) for a in live)
        # Only an end reached without any time-limit truncation stops bootstrapping.
        terminated = bool(done and not any(trunc.values()))
        return reward, terminated, {"truncated": bool(done and not terminated), "rewards": rewards,
                                    "infos": self._infos}


class GymEnvAdapter:
    """Present a single-agent Gymnasium ``Env`` through the learner protocol (one agent slot).

    The observation (flattened ``Box``) is both the agent's observation and the
    global state; ``Discrete`` actions are available all at once, ``Box`` actions
    go to ``EnvSpec.action_boxes``. ``terminated`` and ``truncated`` keep their
    Gymnasium meaning.

    Args:
        env: the Gymnasium environment.
        episode_limit: maximum steps; defaults to ``env.spec.max_episode_steps``.
        kind: the agent's kind name.

    Raises:
        UnsupportedEnvError: observation not a ``Box``, or action neither ``Discrete`` nor ``Box``.
        ValueError: no episode limit known.
    """

    def __init__(self, env: Any, episode_limit: int | None = None, kind: str = "agent") -> None:
        from gymnasium import spaces

        self.env = env
        obs_space = ParallelEnvAdapter._obs_box(env.observation_space)
        space = env.action_space
        if isinstance(space, spaces.Discrete):
            n, box, self._start = int(space.n), None, int(space.start)
        elif isinstance(space, spaces.Box):
            n, self._start = 1, 0
            box = (tuple(float(x) for x in np.ravel(space.low)), tuple(float(x) for x in np.ravel(space.high)))
        else:
            raise UnsupportedEnvError(f"action space {space} is neither Discrete nor Box")
        self._space = space
        if episode_limit is None:
            episode_limit = getattr(getattr(env, "spec", None), "max_episode_steps", None)
            if not episode_limit:
                raise ValueError("pass episode_limit: the env has no spec.max_episode_steps")
        dim = int(np.prod(obs_space.shape))
        self.marl_spec = EnvSpec(n_agents=1, obs_dim=dim, state_dim=dim, n_actions=n,
                                 episode_limit=int(episode_limit), kind_names=(kind,),
                                 continuous_actions=box is not None,
                                 action_boxes=None if box is None else (box,))
        self._obs: Any = None

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> EnvObservation:
        """Reset the wrapped env with ``seed`` (and Gymnasium reset ``options``)."""
        self._obs, _ = self.env.reset(seed=seed, options=options)
        return self.observe()

    def observe(self) -> EnvObservation:
        """The last observation as one agent slot."""
        flat = np.asarray(self._obs, np.float32).ravel()
        out: EnvObservation = {"obs": flat[None, :], "state": flat.copy(), "agent_mask": np.ones(1, bool),
                               "kinds": np.zeros(1, np.int64)}
        if not self.marl_spec.continuous_actions:
            out["avail"] = np.ones((1, self.marl_spec.n_actions), bool)
        return out

    def step(self, actions: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        """Step with the one agent's action (``actions[0]``); returns reward, terminated, info."""
        row = np.ravel(np.asarray(actions)[0])
        if self.marl_spec.continuous_actions:
            n = int(np.prod(self._space.shape))
            act: Any = np.asarray(row[:n], self._space.dtype).reshape(self._space.shape)
        else:
            act = int(row[0]) + self._start
        self._obs, reward, terminated, truncated, info = self.env.step(act)
        return float(reward), bool(terminated), {"truncated": bool(truncated), "info": info}
