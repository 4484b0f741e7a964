"""QMIX/VDN core: config, mixers, variable coalitions, buffer, two-step game."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from learners.buffers import EpisodeBatch, EpisodeBuffer
from learners.matrix_games import TwoStepGame
from learners.qmix import EnvSpec, QMIXConfig, QMixer, QMIXLearner, UnsupportedEnvError, VDNMixer

# --------------------------------------------------------------------------- config


def test_config_defaults_are_pymarl():
    c = QMIXConfig()
    assert (c.mixing_embed_dim, c.hypernet_embed, c.rnn_hidden_dim) == (32, 64, 64)
    assert (c.lr, c.optim_alpha, c.optim_eps, c.gamma) == (5e-4, 0.99, 1e-5, 0.99)
    assert (c.batch_size, c.buffer_size, c.target_update_interval) == (32, 5000, 200)
    assert (c.epsilon_start, c.epsilon_finish, c.epsilon_anneal_time) == (1.0, 0.05, 50_000)
    assert (c.grad_norm_clip, c.double_q, c.mixer, c.optimizer) == (10.0, True, "qmix", "rmsprop")


def test_config_from_dict_overrides_and_validates():
    c = QMIXConfig.from_dict({"mixer": "vdn", "lr": "1e-3", "batch_size": 8.0, "t_max": None, "seed": 7})
    assert (c.mixer, c.lr, c.batch_size, c.t_max, c.seed) == ("vdn", 1e-3, 8, None, 7)
    assert isinstance(c.batch_size, int)
    with pytest.raises(ValueError, match=r"'learning_rate'.*valid keys"):
        QMIXConfig.from_dict({"learning_rate": 1e-3})
    with pytest.raises(ValueError, match="did you mean 'gamma'"):
        QMIXConfig.from_dict({"gama": 0.9})
    with pytest.raises(ValueError, match="must be one of"):
        QMIXConfig.from_dict({"mixer": "qtran"})
    with pytest.raises(ValueError, match="must be a bool"):
        QMIXConfig.from_dict({"double_q": "yes"})
    with pytest.raises(ValueError, match="must be an integer"):
        QMIXConfig.from_dict({"batch_size": 2.5})
    with pytest.raises(ValueError, match="exceeds buffer_size"):
        QMIXConfig.from_dict({"batch_size": 64, "buffer_size": 32})


# --------------------------------------------------------------------------- mixers


@pytest.mark.parametrize("seed", range(5))
def test_qmix_mixer_is_monotonic(seed: int):
    g = torch.Generator().manual_seed(seed)
    mixer = QMixer(n_agents=6, state_dim=10, embed_dim=32, hypernet_embed=64, g=g)
    # Scramble the hypernetworks far from their init: monotonicity must come from abs(), not luck.
    with torch.no_grad():
        for p in mixer.parameters():
            p.normal_(0.0, 2.0, generator=g)
    qs = (torch.randn(256, 6, generator=g) * 10).requires_grad_(True)
    states = torch.randn(256, 10, generator=g) * 5
    mask = torch.rand(256, 6, generator=g) > 0.3
    q_tot = mixer(qs, states, mask)
    (grad,) = torch.autograd.grad(q_tot.sum(), qs)  # row b of q_tot depends only on row b of qs
    assert q_tot.shape == (256,)
    assert (grad >= 0).all()
    assert (grad[mask] > 0).float().mean() > 0.5  # the mixer is not trivially flat
    assert (grad[~mask] == 0).all()  # absent agents have no influence


def test_mixers_ignore_absent_agents():
    g = torch.Generator().manual_seed(0)
    mixer = QMixer(4, 3, 8, 16, g)
    qs = torch.randn(5, 7, 4, generator=g)
    states = torch.randn(5, 7, 3, generator=g)
    mask = torch.tensor([True, False, True, False]).expand(5, 7, 4)
    scrambled = torch.where(mask, qs, torch.randn(5, 7, 4, generator=g) * 100)
    assert mixer(qs, states, mask).shape == (5, 7)
    torch.testing.assert_close(mixer(qs, states, mask), mixer(scrambled, states, mask))
    torch.testing.assert_close(VDNMixer()(qs, states, mask), qs[..., 0] + qs[..., 2])


# --------------------------------------------------------------------------- variable coalitions


class CoalitionEnv:
    """Toy env: coalitions of 1..5 DERs of two kinds; members may leave mid-episode.

    Kind 0 ("ac") has 3 actions, kind 1 ("ev") 5, and random actions are unavailable each
    step. ``step`` asserts the learner respects masks, which is the point of the test.
    """

    def __init__(self) -> None:
        self.marl_spec = EnvSpec(n_agents=5, obs_dim=4, state_dim=6, n_actions=5, episode_limit=6,
                                 kind_names=("ac", "ev"), kind_n_actions=(3, 5))
        self.kinds = np.array([0, 1, 0, 1, 1])

    def reset(self, seed: int | None = None) -> dict[str, np.ndarray]:
        self.rng = np.random.default_rng(seed)
        self.t = 0
        self.mask = np.zeros(5, bool)
        self.mask[: self.rng.integers(1, 6)] = True
        self._draw()
        return self.observe()

    def _draw(self) -> None:
        n = np.where(self.kinds == 0, 3, 5)
        self.avail = (self.rng.random((5, 5)) < 0.6) & (np.arange(5)[None] < n[:, None])
        self.avail[np.arange(5), self.rng.integers(0, n)] = True
        self.avail &= self.mask[:, None]

    def observe(self) -> dict[str, np.ndarray]:
        obs = self.rng.normal(size=(5, 4)).astype(np.float32) * self.mask[:, None]
        state = np.concatenate([self.mask, [self.t / 6]]).astype(np.float32)
        return {"obs": obs, "state": state, "avail": self.avail.copy(), "agent_mask": self.mask.copy(),
                "kinds": self.kinds}

    def step(self, actions: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        assert (actions[~self.mask] == -1).all(), "absent agents must not act"
        present = actions[self.mask]
        assert self.avail[self.mask, present].all(), "an unavailable action was chosen"
        self.t += 1
        reward = float((actions == 1).sum())
        if self.t == 2 and self.mask.sum() > 1:  # the last member leaves the coalition
            self.mask[np.nonzero(self.mask)[0][-1]] = False
        self._draw()
        return reward, bool(self.rng.random() < 0.15), {}


def test_variable_coalitions_masks_and_shapes(tiny_config):
    env = CoalitionEnv()
    learner = QMIXLearner(env.marl_spec, tiny_config(batch_size=4, buffer_size=50, obs_agent_id=False))
    assert [net.n_actions for net in learner.agents] == [3, 5]
    history = learner.train(env, n_episodes=12, progress=False)
    assert all(np.isfinite(h["loss"]) for h in history if "loss" in h)
    assert learner.n_updates == 9
    sizes = {int(learner.buffer.data.agent_mask[i, 0].sum()) for i in range(len(learner.buffer))}
    assert len(sizes) > 1, "episodes should have had different coalition sizes"

    batch = learner.buffer.sample(4, np.random.default_rng(0))
    bt = batch.to_torch()
    last = torch.nn.functional.pad(bt["actions"], (0, 0, 1, 0), value=-1)
    q = learner._agent_qs(learner.agents, bt["obs"], last, bt["kinds"])
    assert q.shape == (4, env.marl_spec.episode_limit + 1, 5, 5)
    # Kind-0 agents have only 3 actions; their padded Q columns are never used.
    assert (q[:, :, env.kinds == 0, 3:] == 0).all()
    absent = ~batch.agent_mask[:, :-1] & batch.filled[:, :, None]
    assert (batch.actions[absent] == -1).all()
    assert (batch.actions[batch.agent_mask[:, :-1] & batch.filled[:, :, None]] >= 0).all()

    # Observations of absent agents cannot change the team value.
    obs2 = bt["obs"].clone()
    obs2[~bt["agent_mask"]] = 50.0
    chosen = [learner._agent_qs(learner.agents, o, last, bt["kinds"])[:, :-1]
              .gather(3, bt["actions"].clamp(min=0).unsqueeze(3)).squeeze(3) for o in (bt["obs"], obs2)]
    q_tots = [learner.mixer(c, bt["state"][:, :-1], bt["agent_mask"][:, :-1]) for c in chosen]
    torch.testing.assert_close(q_tots[0], q_tots[1])


def test_continuous_actions_are_refused():
    spec = EnvSpec(n_agents=2, obs_dim=3, state_dim=3, n_actions=1, episode_limit=5, continuous_actions=True)
    with pytest.raises(UnsupportedEnvError, match="discrete actions only"):
        QMIXLearner(spec)


# --------------------------------------------------------------------------- buffer


def test_episode_buffer_fifo_sampling_and_roundtrip():
    buf = EpisodeBuffer(capacity=3, episode_limit=2, n_agents=2, obs_dim=1, state_dim=1, n_actions=2)
    for i in range(5):
        ep = EpisodeBatch.zeros(1, 2, 2, 1, 1, 2)
        ep.reward[0, 0] = i
        buf.add(ep)
    assert len(buf) == 3
    assert sorted(buf.data.reward[:, 0]) == [2, 3, 4]  # the two oldest were overwritten
    s1 = buf.sample(2, np.random.default_rng(1)).reward[:, 0]
    s2 = buf.sample(2, np.random.default_rng(1)).reward[:, 0]
    np.testing.assert_array_equal(s1, s2)
    assert len(set(s1)) == 2  # without replacement
    with pytest.raises(ValueError, match="cannot sample"):
        buf.sample(4, np.random.default_rng(0))
    clone = EpisodeBuffer(capacity=3, episode_limit=2, n_agents=2, obs_dim=1, state_dim=1, n_actions=2)
    clone.load_state_dict(buf.state_dict())
    np.testing.assert_array_equal(clone.data.reward, buf.data.reward)
    assert (clone.size, clone.next_index) == (buf.size, buf.next_index)


# --------------------------------------------------------------------------- two-step game


def test_two_step_game_payoffs():
    env = TwoStepGame()
    o = env.reset(seed=0)
    np.testing.assert_array_equal(o["state"], [1, 0, 0])
    assert env.step(np.array([1, 0])) == (0.0, False, {})
    assert env.observe()["state"].tolist() == [0, 0, 1]
    assert env.step(np.array([1, 1]))[:2] == (8.0, True)
    env.reset()
    env.step(np.array([0, 1]))
    assert env.step(np.array([0, 1]))[:2] == (7.0, True)


@pytest.mark.parametrize(("mixer", "seed", "expected"),
                         [("qmix", 0, 8.0), ("qmix", 1, 8.0), ("vdn", 0, 7.0), ("vdn", 1, 7.0)])
def test_two_step_game_qmix_finds_8_vdn_settles_for_7(tiny_config, mixer: str, seed: int, expected: float):
    # Rashid et al. (2018) table 2: under uniform exploration VDN's additive fit of state 2B
    # tops out at 6.5 < 7, so it goes to 2A; QMIX represents 2B exactly and goes for 8.
    env = TwoStepGame()
    learner = QMIXLearner(env.marl_spec, tiny_config(mixer=mixer, seed=seed))
    learner.train(env, n_episodes=400, progress=False)
    assert learner.evaluate(env, n_episodes=1) == expected
    if mixer == "qmix":
        obs = np.tile(np.eye(3, dtype=np.float32)[2], (2, 1))  # state 2B
        actions, _ = learner.act(obs, np.ones((2, 2), bool), last_action=np.array([1, 0]))
        assert actions.tolist() == [1, 1]


def test_two_step_game_qmix_with_annealed_epsilon(tiny_config):
    env = TwoStepGame()
    learner = QMIXLearner(env.marl_spec, tiny_config(epsilon_finish=0.05, epsilon_anneal_time=400))
    history = learner.train(env, n_episodes=400, progress=False)
    assert history[-1]["epsilon"] == pytest.approx(0.05)
    assert learner.evaluate(env, n_episodes=1) == 8.0
    assert np.mean([h["return"] for h in history[-50:]]) > 7.0  # mostly exploiting the 8 by the end


# --------------------------------------------------------------------------- registry


def test_registry_builds_learners_lazily():
    import subprocess
    import sys

    import learners

    spec = TwoStepGame().marl_spec
    vdn = learners.make_learner("vdn", spec, {"lr": 1e-3})
    assert isinstance(vdn, QMIXLearner) and isinstance(vdn.mixer, VDNMixer) and vdn.config.lr == 1e-3
    assert isinstance(learners.make_learner("qmix", spec).mixer, QMixer)
    with pytest.raises(ValueError, match="requires mixer='vdn'"):
        learners.make_learner("vdn", spec, {"mixer": "qmix"})
    with pytest.raises(ValueError, match="unknown learner"):
        learners.make_learner("no_such_learner", spec)
    assert not learners.LEARNERS["qmix"].continuous_actions
    code = "import sys, learners; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
