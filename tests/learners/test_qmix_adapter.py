"""ParallelEnvAdapter on a tiny PettingZoo environment, and QMIX learning through it."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import ParallelEnv

from learners.qmix import ParallelEnvAdapter, QMIXLearner, UnsupportedEnvError


class TinyDEREnv(ParallelEnv):
    """Two air conditioners and one EV charger, three steps.

    * ``ac_*``: Box observation ``[target, 1]``, 2 actions, reward 1 for matching the target bit;
      ``ac_1`` leaves after the first step. Action masks come in the infos.
    * ``ev_0``: Dict observation with an ``action_mask`` that forbids action 1; 3 actions,
      reward 1 for action 2.

    The optimal team return is 3 (ac_0) + 1 (ac_1) + 3 (ev_0) = 7.
    """

    metadata = {"name": "tiny_der_v0"}

    def __init__(self, continuous_ev: bool = False) -> None:
        self.possible_agents = ["ac_0", "ac_1", "ev_0"]
        self.max_cycles = 3
        self.continuous_ev = continuous_ev
        self.state_space = spaces.Box(0, 3, (4,))

    def observation_space(self, agent):
        if agent.startswith("ev"):
            return spaces.Dict({"observation": spaces.Box(0, 1, (3,)), "action_mask": spaces.MultiBinary(3)})
        return spaces.Box(0, 1, (2,))

    def action_space(self, agent):
        if agent.startswith("ev"):
            return spaces.Box(-1, 1, (1,)) if self.continuous_ev else spaces.Discrete(3)
        return spaces.Discrete(2)

    def _observe(self):
        obs, infos = {}, {}
        for a in self.agents:
            if a.startswith("ev"):
                obs[a] = {"observation": np.array([self.t / 3, 0, 1], np.float32),
                          "action_mask": np.array([1, 0, 1], np.int8)}
                infos[a] = {}
            else:
                obs[a] = np.array([self.target[a], 1.0], np.float32)
                infos[a] = {"action_mask": np.ones(2, np.int8)}
        return obs, infos

    def reset(self, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.t = 0
        self.target = {a: int(self.rng.integers(2)) for a in self.possible_agents}
        return self._observe()

    def state(self):
        return np.array([self.target["ac_0"], self.target["ac_1"], len(self.agents), self.t], np.float32)

    def step(self, actions):
        assert set(actions) == set(self.agents), "only live agents may act"
        rewards = {}
        for a, act in actions.items():
            if a.startswith("ev"):
                assert act != 1, "masked action chosen"
                rewards[a] = float(act == 2)
            else:
                rewards[a] = float(act == self.target[a])
        self.t += 1
        term = {a: a == "ac_1" for a in self.agents}
        trunc = {a: self.t >= self.max_cycles for a in self.agents}
        self.agents = [a for a in self.agents if not (term[a] or trunc[a])]
        self.target = {a: int(self.rng.integers(2)) for a in self.possible_agents}
        obs, infos = self._observe()
        return obs, rewards, term, trunc, infos


def test_adapter_spec_and_step_semantics():
    env = ParallelEnvAdapter(TinyDEREnv())
    s = env.marl_spec
    assert (s.n_agents, s.obs_dim, s.state_dim, s.n_actions, s.episode_limit) == (3, 3, 4, 3, 3)
    assert s.kind_names == ("ac", "ev") and s.kind_n_actions == (2, 3)
    o = env.reset(seed=5)
    assert o["obs"].shape == (3, 3) and o["state"].shape == (4,)
    np.testing.assert_array_equal(o["kinds"], [0, 0, 1])
    np.testing.assert_array_equal(o["agent_mask"], [True, True, True])
    np.testing.assert_array_equal(o["avail"], [[1, 1, 0], [1, 1, 0], [1, 0, 1]])
    assert o["obs"][0, 2] == 0.0  # shorter ac observations are zero-padded

    target = [int(o["obs"][0, 0]), int(o["obs"][1, 0])]
    reward, terminated, info = env.step(np.array([target[0], 1 - target[1], 2]))
    assert reward == 2.0 and not terminated and not info["truncated"]
    o = env.observe()
    np.testing.assert_array_equal(o["agent_mask"], [True, False, True])  # ac_1 left the coalition
    assert (o["obs"][1] == 0).all() and not o["avail"][1].any()
    env.step(np.array([0, -1, 0]))  # the absent slot's -1 is not forwarded
    _, terminated, info = env.step(np.array([0, -1, 0]))
    assert not terminated and info["truncated"]  # ended by max_cycles: bootstrap, don't terminate


def test_qmix_learns_through_the_adapter(tiny_config):
    env = ParallelEnvAdapter(TinyDEREnv())
    learner = QMIXLearner(env.marl_spec, tiny_config(epsilon_finish=0.05, epsilon_anneal_time=400, seed=2))
    history = learner.train(env, n_episodes=250, progress=False)
    assert np.mean([h["return"] for h in history[:30]]) < 5.0  # random play
    assert learner.evaluate(env, n_episodes=10) == 7.0


def test_continuous_action_env_is_refused_before_training():
    env = ParallelEnvAdapter(TinyDEREnv(continuous_ev=True))
    assert env.marl_spec.continuous_actions
    with pytest.raises(UnsupportedEnvError, match="discrete actions only"):
        QMIXLearner(env.marl_spec)
