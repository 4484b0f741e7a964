"""Episode storage for recurrent multi-agent learners (QMIX, VDN, and continuous-action ones).

Whole episodes are stored, not transitions, because the agents are recurrent:
an update unrolls each GRU from the first step of its episode. Every episode
is padded to ``episode_limit`` steps (``filled`` marks the real ones) and to
``n_agents`` agent slots (``agent_mask`` marks the agents present at each
step), so episodes with different lengths and coalition sizes share one
array layout.

Field layout for one episode (``T = episode_limit``, ``A = n_agents``)::

    obs         (T+1, A, obs_dim)    float32  observation before each step, plus the last one
    state       (T+1, state_dim)     float32  global state, same timing as obs
    avail       (T+1, A, n_actions)  bool     available actions
    agent_mask  (T+1, A)             bool     agent present (acts, counts in the mixer)
    kinds       (A,)                 int64    agent kind of each slot (fixed per episode)
    actions     (T, A)               int64    action taken; -1 for absent agents (discrete specs)
                (T, A, action_dim)   float32  action taken; 0 for absent agents (continuous specs)
    reward      (T,)                 float32  team reward
    terminated  (T,)                 bool     true end of the episode (no bootstrap)
    filled      (T,)                 bool     step is real, not padding
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from .marl_env import EnvSpec

_TIME_PLUS_ONE = ("obs", "state", "avail", "agent_mask")


@dataclass
class EpisodeBatch:
    """A batch of padded episodes; every field has leading dims ``(B, ...)``.

    See the module docstring for per-field shapes and meaning.
    """

    obs: np.ndarray
    state: np.ndarray
    avail: np.ndarray
    agent_mask: np.ndarray
    kinds: np.ndarray
    actions: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    filled: np.ndarray

    @classmethod
    def zeros(cls, batch_size: int, episode_limit: int, n_agents: int, obs_dim: int, state_dim: int,
              n_actions: int, action_dim: int | None = None) -> EpisodeBatch:
        """Allocate an all-padding batch (``np.zeros`` pages memory in lazily).

        Args:
            action_dim: None stores one int64 action per agent (discrete specs, as QMIX
                needs); an int stores float32 action rows of that width (continuous specs).
        """
        b, t, a = batch_size, episode_limit, n_agents
        actions = (np.full((b, t, a), -1, np.int64) if action_dim is None
                   else np.zeros((b, t, a, action_dim), np.float32))
        return cls(
            obs=np.zeros((b, t + 1, a, obs_dim), np.float32),
            state=np.zeros((b, t + 1, state_dim), np.float32),
            avail=np.zeros((b, t + 1, a, n_actions), bool),
            agent_mask=np.zeros((b, t + 1, a), bool),
            kinds=np.zeros((b, a), np.int64),
            actions=actions,
            reward=np.zeros((b, t), np.float32),
            terminated=np.zeros((b, t), bool),
            filled=np.zeros((b, t), bool),
        )

    @property
    def continuous(self) -> bool:
        """Whether actions are float rows (continuous spec) rather than int64 indices."""
        return self.actions.dtype.kind == "f"

    @property
    def batch_size(self) -> int:
        """Number of episodes."""
        return self.reward.shape[0]

    def max_filled(self) -> int:
        """Length of the longest episode in the batch (at least 1)."""
        steps = self.filled.any(axis=0).nonzero()[0]
        return int(steps[-1]) + 1 if len(steps) else 1

    def truncated(self, t: int) -> EpisodeBatch:
        """View keeping only the first ``t`` steps, so updates skip all-padding tails."""
        cut = {}
        for f in fields(self):
            arr = getattr(self, f.name)
            if f.name == "kinds":
                cut[f.name] = arr
            else:
                cut[f.name] = arr[:, : t + 1] if f.name in _TIME_PLUS_ONE else arr[:, :t]
        return EpisodeBatch(**cut)

    def to_torch(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Tensors for a learner update (floats as float32, masks as bool)."""
        return {f.name: torch.as_tensor(getattr(self, f.name), device=device) for f in fields(self)}


class EpisodeBuffer:
    """Fixed-capacity FIFO of padded episodes with seeded uniform sampling.

    Args:
        capacity: maximum number of episodes; the oldest is overwritten first.
        episode_limit: maximum steps per episode.
        n_agents: number of agent slots (largest coalition).
        obs_dim: per-agent observation size.
        state_dim: global state size.
        n_actions: size of the (padded) action set.
        action_dim: None for int64 actions (discrete); the float action width for continuous specs.
    """

    def __init__(self, capacity: int, episode_limit: int, n_agents: int, obs_dim: int, state_dim: int,
                 n_actions: int, action_dim: int | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.data = EpisodeBatch.zeros(capacity, episode_limit, n_agents, obs_dim, state_dim, n_actions,
                                       action_dim)
        self.size = 0
        self.next_index = 0

    @classmethod
    def for_spec(cls, capacity: int, spec: EnvSpec) -> EpisodeBuffer:
        """A buffer shaped for ``spec``: float action rows when a kind is continuous, else int64."""
        return cls(capacity, spec.episode_limit, spec.n_agents, spec.obs_dim, spec.state_dim, spec.n_actions,
                   spec.action_dim if spec.continuous_actions else None)

    def __len__(self) -> int:
        return self.size

    def add(self, episodes: EpisodeBatch) -> None:
        """Insert episodes, overwriting the oldest when full."""
        for i in range(episodes.batch_size):
            for f in fields(EpisodeBatch):
                getattr(self.data, f.name)[self.next_index] = getattr(episodes, f.name)[i]
            self.next_index = (self.next_index + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> EpisodeBatch:
        """Uniformly sample distinct episodes (copies), as PyMARL does.

        Args:
            batch_size: number of episodes, at most ``len(self)``.
            rng: the caller's seeded generator; the buffer holds no randomness of its own.
        """
        if batch_size > self.size:
            raise ValueError(f"cannot sample {batch_size} episodes from a buffer holding {self.size}")
        idx = np.sort(rng.choice(self.size, size=batch_size, replace=False))
        return EpisodeBatch(**{f.name: getattr(self.data, f.name)[idx] for f in fields(EpisodeBatch)})

    def state_dict(self) -> dict[str, object]:
        """Filled part of the storage as tensors (loadable with ``torch.load(weights_only=True)``)."""
        return {
            "capacity": self.capacity,
            "size": self.size,
            "next_index": self.next_index,
            "data": {f.name: torch.from_numpy(np.ascontiguousarray(getattr(self.data, f.name)[: self.size]))
                     for f in fields(EpisodeBatch)},
        }

    def load_state_dict(self, sd: dict[str, object]) -> None:
        """Restore contents saved by :meth:`state_dict` into a buffer of the same geometry."""
        if sd["capacity"] != self.capacity:
            raise ValueError(f"checkpoint buffer capacity {sd['capacity']} != configured {self.capacity}")
        size = int(sd["size"])  # type: ignore[call-overload]
        data = sd["data"]
        assert isinstance(data, dict)
        for f in fields(EpisodeBatch):
            target = getattr(self.data, f.name)
            src = data[f.name].numpy()
            if src.shape[1:] != target.shape[1:]:
                raise ValueError(f"checkpoint buffer field {f.name!r} has shape {src.shape[1:]}, "
                                 f"expected {target.shape[1:]}")
            target[:size] = src
            target[size:] = -1 if f.name == "actions" and not self.data.continuous else 0
        self.size = size
        self.next_index = int(sd["next_index"])  # type: ignore[call-overload]
