"""The environment protocol with continuous (Box) actions: PettingZoo and Gymnasium adapters, float buffers."""

from __future__ import annotations

import dataclasses

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.test import parallel_api_test

from learners.buffers import EpisodeBatch, EpisodeBuffer
from learners.marl_env import EnvSpec, GymEnvAdapter, ParallelEnvAdapter, UnsupportedEnvError
from learners.qmix import QMIXLearner


class ToyBatteries(ParallelEnv):
    """Two batteries setting a (charge, ramp) pair in [-1, 1] x [0, 2]; reward -|charge - target|."""

    metadata = {"name": "toy_batteries_v0"}

    def __init__(self) -> None:
        self.possible_agents = ["bat_0", "bat_1"]
        self.max_cycles = 3
        self.state_space = spaces.Box(-1, 1, (2,), np.float32)
        self.seen: list[dict[str, np.ndarray]] = []
        self._obs_space = spaces.Box(-1, 1, (2,), np.float32)
        self._act_space = spaces.Box(np.array([-1, 0], np.float32), np.array([1, 2], np.float32), dtype=np.float32)

    def observation_space(self, agent):
        return self._obs_space

    def action_space(self, agent):
        return self._act_space

    def state(self):
        return np.array([self.target, self.t / 3], np.float32)

    def _obs(self):
        return {a: np.array([self.target, self.t / 3], np.float32) for a in self.agents}

    def reset(self, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.t = 0
        self.target = float(self.rng.uniform(-1, 1))
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions):
        self.seen.append({a: np.array(v) for a, v in actions.items()})
        self.t += 1
        rewards = {a: -abs(float(actions[a][0]) - self.target) for a in self.agents}
        trunc = {a: self.t >= self.max_cycles for a in self.agents}
        term = {a: False for a in self.agents}
        obs = self._obs()
        if self.t >= self.max_cycles:
            self.agents = []
        return obs, rewards, term, trunc, {a: {} for a in obs}


def test_toy_env_is_a_valid_pettingzoo_parallel_env():
    parallel_api_test(ToyBatteries(), num_cycles=5)


def test_box_actions_round_trip_through_adapter_and_buffer():
    env = ParallelEnvAdapter(ToyBatteries())
    spec = env.marl_spec
    assert spec.continuous_actions and spec.action_dim == 2
    assert spec.action_boxes == (((-1.0, 0.0), (1.0, 2.0)),)
    box = spec.action_space(0)
    assert isinstance(box, spaces.Box) and box.shape == (2,)
    assert EnvSpec.from_dict(dataclasses.asdict(spec)) == spec  # checkpoints keep the boxes
    with pytest.raises(UnsupportedEnvError, match="discrete actions only"):
        QMIXLearner(spec)

    o = env.reset(seed=3)
    assert "avail" not in o  # optional for continuous agents
    buf = EpisodeBuffer.for_spec(4, spec)
    ep = EpisodeBatch.zeros(1, spec.episode_limit, spec.n_agents, spec.obs_dim, spec.state_dim, spec.n_actions,
                            spec.action_dim)
    rng = np.random.default_rng(0)
    for t in range(spec.episode_limit):
        ep.obs[0, t], ep.state[0, t], ep.agent_mask[0, t] = o["obs"], o["state"], o["agent_mask"]
        act = np.stack([rng.uniform(-1, 1, 2), rng.uniform(0, 2, 2)], axis=1).astype(np.float32)
        reward, terminated, info = env.step(act)
        ep.actions[0, t], ep.reward[0, t], ep.filled[0, t] = act, reward, True
        sent = env.env.seen[-1]
        np.testing.assert_array_equal(sent["bat_1"], act[1])  # the whole Box row, not a collapsed int
        assert sent["bat_0"].dtype == np.float32 and sent["bat_0"].shape == (2,)
        o = env.observe()
    assert info["truncated"] and not terminated
    buf.add(ep)
    back = buf.sample(1, np.random.default_rng(1))
    assert back.continuous and back.actions.dtype == np.float32
    np.testing.assert_array_equal(back.actions, ep.actions)
    clone = EpisodeBuffer.for_spec(4, spec)
    clone.load_state_dict(buf.state_dict())
    np.testing.assert_array_equal(clone.data.actions, buf.data.actions)


def test_discrete_specs_keep_int64_actions():
    spec = EnvSpec(n_agents=2, obs_dim=1, state_dim=1, n_actions=3, episode_limit=2)
    buf = EpisodeBuffer.for_spec(2, spec)
    assert buf.data.actions.dtype == np.int64 and buf.data.actions.shape == (2, 2, 2)
    assert (buf.data.actions == -1).all() and not buf.data.continuous


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
def test_gymnasium_single_agent_adapter(env_id):
    env = GymEnvAdapter(gymnasium.make(env_id))
    spec = env.marl_spec
    o = env.reset(seed=0)
    assert spec.n_agents == 1 and o["obs"].shape == (1, spec.obs_dim) and o["agent_mask"].all()
    if env_id == "Pendulum-v1":
        assert spec.continuous_actions and spec.action_boxes == (((-2.0,), (2.0,)),) and "avail" not in o
        reward, terminated, info = env.step(np.array([[1.5]], np.float32))
    else:
        assert not spec.continuous_actions and spec.n_actions == 2 and o["avail"].all()
        reward, terminated, info = env.step(np.array([1]))
    assert isinstance(reward, float) and not terminated and not info["truncated"]
