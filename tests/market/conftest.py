"""Shared fixtures of the market tests: one game per session (building it reads the TMY file)."""

from __future__ import annotations

import pytest

from learners.market_env import MarketEnv


@pytest.fixture(scope="session")
def game() -> MarketEnv:
    """The ``supply_load_game`` setting (tests must not rely on its RNG state: reset with a seed)."""
    return MarketEnv()


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny batches: one intra-op thread is fastest and avoids spin-waits on a busy machine."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
