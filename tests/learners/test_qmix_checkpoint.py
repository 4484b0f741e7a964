"""Determinism and checkpoint-exact resumption of QMIXLearner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from learners.matrix_games import TwoStepGame
from learners.qmix import QMIXLearner


class CrashingEnv(TwoStepGame):
    """The two-step game, failing on a given reset to simulate a killed job."""

    def __init__(self, crash_on_reset: int) -> None:
        super().__init__()
        self.crash_on_reset, self.resets = crash_on_reset, 0

    def reset(self, seed=None):
        self.resets += 1
        if self.resets == self.crash_on_reset:
            raise RuntimeError("simulated crash")
        return super().reset(seed)


def all_tensors(learner: QMIXLearner) -> dict[str, torch.Tensor]:
    out = {}
    for name in ("agents", "mixer", "target_agents", "target_mixer"):
        out.update({f"{name}.{k}": v for k, v in getattr(learner, name).state_dict().items()})
    for i, st in learner.optimizer.state_dict()["state"].items():
        out.update({f"opt.{i}.{k}": v for k, v in st.items() if isinstance(v, torch.Tensor)})
    return out


def assert_identical(a: QMIXLearner, b: QMIXLearner) -> None:
    ta, tb = all_tensors(a), all_tensors(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    assert (a.episode, a.t_env, a.n_updates, a.last_target_update_episode) == (
        b.episode, b.t_env, b.n_updates, b.last_target_update_episode)
    assert a.np_rng.bit_generator.state == b.np_rng.bit_generator.state
    assert [h["return"] for h in a.history] == [h["return"] for h in b.history]
    assert [h.get("loss") for h in a.history] == [h.get("loss") for h in b.history]


@pytest.mark.parametrize("mixer", ["qmix", "vdn"])
def test_same_seed_same_parameters(tiny_config, mixer: str):
    # Annealed epsilon so that greedy and random actions both occur.
    cfg = dict(mixer=mixer, epsilon_finish=0.1, epsilon_anneal_time=100, target_update_interval=7, batch_size=8)
    runs = []
    for seed in (3, 3, 4):
        learner = QMIXLearner(TwoStepGame().marl_spec, tiny_config(seed=seed, **cfg))
        learner.train(TwoStepGame(), n_episodes=60, progress=False)
        runs.append(learner)
    assert_identical(runs[0], runs[1])
    p0, p2 = all_tensors(runs[0]), all_tensors(runs[2])
    assert any(not torch.equal(p0[k], p2[k]) for k in p0), "a different seed should give different weights"


def test_resume_after_crash_is_bit_identical(tiny_config, tmp_path: Path):
    cfg = tiny_config(seed=11, epsilon_finish=0.1, epsilon_anneal_time=100, target_update_interval=7,
                      batch_size=8, checkpoint_interval=10)
    reference = QMIXLearner(TwoStepGame().marl_spec, cfg)
    reference.train(TwoStepGame(), n_episodes=60, progress=False)

    crashed = QMIXLearner(TwoStepGame().marl_spec, cfg)
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashed.train(CrashingEnv(crash_on_reset=38), n_episodes=60, progress=False, checkpoint_dir=tmp_path)
    assert QMIXLearner.from_checkpoint(tmp_path / "checkpoint.pt").episode == 30  # last multiple of 10

    resumed = QMIXLearner(TwoStepGame().marl_spec, cfg)  # a fresh process would start like this
    resumed.train(TwoStepGame(), n_episodes=60, progress=False, checkpoint_dir=tmp_path, resume=True)
    assert_identical(reference, resumed)
    assert not list(tmp_path.glob("*.tmp")), "no temporary checkpoint files may be left behind"


def test_resume_rejects_a_different_config(tiny_config, tmp_path: Path):
    learner = QMIXLearner(TwoStepGame().marl_spec, tiny_config(batch_size=4))
    learner.train(TwoStepGame(), n_episodes=5, progress=False, checkpoint_dir=tmp_path)
    other = QMIXLearner(TwoStepGame().marl_spec, tiny_config(batch_size=4, lr=1e-2, n_episodes=99))
    with pytest.raises(ValueError, match="'lr'"):
        other.train(TwoStepGame(), n_episodes=10, progress=False, checkpoint_dir=tmp_path, resume=True)
    # Budget keys may change: that is how a finished run is extended.
    longer = QMIXLearner(TwoStepGame().marl_spec, tiny_config(batch_size=4, n_episodes=99))
    longer.train(TwoStepGame(), n_episodes=10, progress=False, checkpoint_dir=tmp_path, resume=True)
    assert longer.episode == 10 and len(longer.history) == 10


def test_save_is_atomic(tiny_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    learner = QMIXLearner(TwoStepGame().marl_spec, tiny_config(batch_size=4))
    learner.train(TwoStepGame(), n_episodes=6, progress=False)
    path = tmp_path / "ckpt.pt"
    learner.save(path)
    good = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"partial garbage")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        learner.save(path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]
    monkeypatch.undo()
    restored = QMIXLearner.from_checkpoint(path)
    assert restored.episode == 6 and len(restored.buffer) == 6
    np.testing.assert_array_equal(restored.buffer.data.actions[:6], learner.buffer.data.actions[:6])
