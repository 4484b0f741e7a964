"""Small cooperative matrix games with known optima, for testing value-decomposition learners.

:class:`TwoStepGame` is the two-step game of Rashid et al. (2018, QMIX paper,
section 6.1 and figure 3). Its value is that VDN cannot represent the payoff of
state 2B additively, so it settles for the safe return 7 while QMIX, whose
monotonic mixer can represent it, learns the optimal return 8.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from learners.marl_env import EnvObservation, EnvSpec

# Payoff matrices of the second step, indexed [action of agent 1, action of agent 2].
PAYOFF_2A = np.full((2, 2), 7.0)
PAYOFF_2B = np.array([[0.0, 1.0], [1.0, 8.0]])


class TwoStepGame:
    """Two agents, two actions, two steps, one reward.

    In state 1 only agent 1's action matters: action 0 leads to state 2A, action 1
    to state 2B. In the second step both act and receive the payoff of that state
    (2A: 7 whatever they do; 2B: ``[[0, 1], [1, 8]]``); then the episode terminates.
    Optimal return 8 (go to 2B, both choose action 1); VDN's additive fit of 2B peaks at
    6.5 under uniform exploration, so VDN prefers 2A and gets 7.

    Observations and the global state are the one-hot state id ``(1, 2A, 2B)``;
    both agents see the same thing, so learners tell them apart by their agent id.
    Implements the :mod:`learners.marl_env` protocol; the game is deterministic and
    ignores the reset seed.
    """

    STATE_NAMES = ("1", "2A", "2B")

    def __init__(self) -> None:
        self.marl_spec = EnvSpec(n_agents=2, obs_dim=3, state_dim=3, n_actions=2, episode_limit=2)
        self._state = 0

    def reset(self, seed: int | None = None) -> EnvObservation:
        """Start in state 1."""
        self._state = 0
        return self.observe()

    def observe(self) -> EnvObservation:
        """One-hot state for both agents; every action is always available."""
        onehot = np.eye(3, dtype=np.float32)[self._state]
        return {"obs": np.tile(onehot, (2, 1)), "state": onehot, "avail": np.ones((2, 2), bool),
                "agent_mask": np.ones(2, bool)}

    def step(self, actions: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        """Apply the joint action; returns ``(reward, terminated, info)``."""
        a1, a2 = int(actions[0]), int(actions[1])
        if not (0 <= a1 < 2 and 0 <= a2 < 2):
            raise ValueError(f"actions must be 0 or 1, got {actions}")
        if self._state == 0:
            self._state = 1 if a1 == 0 else 2
            return 0.0, False, {}
        payoff = PAYOFF_2A if self._state == 1 else PAYOFF_2B
        return float(payoff[a1, a2]), True, {"state": self.STATE_NAMES[self._state]}
