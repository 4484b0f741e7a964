"""Shared fixtures for the learner tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from learners.qmix import QMIXConfig


@pytest.fixture
def tiny_config() -> Callable[..., QMIXConfig]:
    """Factory for a config sized for toy games: small networks, fast learning, uniform exploration.

    Uniform exploration (epsilon 1 throughout) is the QMIX paper's protocol for the two-step
    game; tests that want annealing override ``epsilon_finish``.
    """

    def make(**overrides: Any) -> QMIXConfig:
        base: dict[str, Any] = dict(rnn_hidden_dim=16, mixing_embed_dim=8, hypernet_embed=16, optimizer="adam",
                                    lr=5e-3, batch_size=32, buffer_size=500, target_update_interval=20,
                                    epsilon_start=1.0, epsilon_finish=1.0, epsilon_anneal_time=400, t_max=None)
        base.update(overrides)
        return QMIXConfig(**base)

    return make
