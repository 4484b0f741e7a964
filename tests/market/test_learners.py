"""MADDPG and DROMARL on supply_load_game: beat a random policy on a small budget; resume after a kill."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from learners.dromarl import DROMARLLearner
from learners.maddpg import MADDPGLearner
from learners.maddpg_config import DROMARLConfig, MADDPGConfig
from learners.market_env import rollout

TINY = dict(hidden=32, batch_size=48, buffer_size=2400, warmup_episodes=3, updates_per_episode=6, noise_sd=0.2)
EVAL_SEEDS = range(50_000, 50_004)


def _mean_cost(env, policy, key: str = "cost") -> float:
    return float(np.mean([rollout(env, policy, s)[key] for s in EVAL_SEEDS]))


def _random_cost(env, key: str = "cost") -> float:
    rng = np.random.default_rng(123)
    return _mean_cost(env, lambda obs: {a: rng.uniform(-1, 1, env.action_space(a).shape) for a in obs}, key)


@pytest.mark.parametrize("cls,cfg", [(MADDPGLearner, MADDPGConfig), (DROMARLLearner, DROMARLConfig)])
def test_beats_random(game, cls, cfg) -> None:
    learner = cls(game, cfg(n_episodes=20, seed=1, **TINY))
    hist = learner.train()
    assert len(hist) == 20 and all(-3000 <= h["return"] <= 0 for h in hist)
    assert all(-3000 <= h[f"return_{a}"] <= 0 for h in hist for a in game.possible_agents)
    # learning uses each agent's reward minus the env's zero-profit offset
    assert learner.reward_offset.tolist() == [game.reward_offset[a] for a in game.possible_agents]
    assert _mean_cost(game, learner) < 0.5 * _random_cost(game)  # social cost
    assert _mean_cost(game, learner, "load_cost") < _random_cost(game, "load_cost")  # the load's own cost
    if cls is DROMARLLearner:
        # the learned inertia moved from its initial 0.2 towards the game's 0.5
        assert abs(learner.inertia - game.config.inertia) < abs(0.2 - game.config.inertia)
        assert np.isfinite(hist[-1]["wm_loss"])


@pytest.mark.parametrize("cls,cfg", [(MADDPGLearner, MADDPGConfig), (DROMARLLearner, DROMARLConfig)])
def test_resume_after_kill_is_identical(game, tmp_path, cls, cfg) -> None:
    small = dict(TINY, hidden=16, batch_size=24, warmup_episodes=2, updates_per_episode=2)
    straight = cls(game, cfg(n_episodes=5, seed=2, **small))
    straight.train()
    first = cls(game, cfg(n_episodes=5, seed=2, checkpoint_interval=3, **small))
    first.train(3, checkpoint_dir=tmp_path)  # "killed" after the checkpoint at episode 3
    resumed = cls(game, cfg(n_episodes=5, seed=2, **small))
    resumed.load(tmp_path / "checkpoint.pt")
    assert resumed.episode == 3
    resumed.train()
    for name, mod in straight.modules().items():
        other = resumed.modules()[name].state_dict()
        for k, v in mod.state_dict().items():
            assert torch.equal(v, other[k]), f"{name}.{k} differs after resume"
    assert [h["return"] for h in straight.history] == [h["return"] for h in resumed.history]


def test_exported_weights_load_tensors_only(game, tmp_path) -> None:
    learner = MADDPGLearner(game, MADDPGConfig(n_episodes=0, hidden=16))
    learner.export_weights(tmp_path / "w.pt")
    w = torch.load(tmp_path / "w.pt", weights_only=True)
    assert set(w) == {"actors"}
    other = MADDPGLearner(game, MADDPGConfig(n_episodes=0, hidden=16, seed=9))
    other.load_weights(tmp_path / "w.pt")
    obs, _ = game.reset(seed=0)
    a, b = learner(obs), other(obs)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_preact_reg_pulls_a_saturated_actor_back(game) -> None:
    # a load actor stuck at tanh(-10) gets no policy gradient; the pre-activation penalty moves it back
    def pre_after(reg: float) -> float:
        learner = MADDPGLearner(game, MADDPGConfig(n_episodes=3, seed=3, preact_reg=reg, **dict(
            TINY, hidden=16, warmup_episodes=2, updates_per_episode=1)))
        li = learner.agents.index("load")
        with torch.no_grad():
            learner.actors[li][-2].bias.fill_(-10.0)
        learner.train()
        for _ in range(20):
            learner.update(learner.sample_batch())
        obs = learner.buffer.sample(64, np.random.default_rng(0))["obs"]
        with torch.no_grad():
            return float(learner.actors[li][:-1](obs[:, li]).mean())

    assert pre_after(0.1) > pre_after(0.0) + 0.05
