"""Sum-tree sampling, IS weights (learners/per.py) and the adaptive noise schedule (learners/noise.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from learners.noise import AdaptiveGaussianNoise, FixedGaussianNoise
from learners.per import PrioritizedReplayBuffer, SumTree, beta_schedule


def _filled(n: int, rng: np.random.Generator) -> PrioritizedReplayBuffer:
    buf = PrioritizedReplayBuffer(n, 2, 3, 4, 1, episode_len=1)
    for i in range(n):
        buf.add(state=np.full(3, i, np.float32), obs=np.zeros((2, 4), np.float32), act=np.zeros((2, 1), np.float32),
                rew=np.zeros(2, np.float32), next_state=np.zeros(3, np.float32), next_obs=np.zeros((2, 4), np.float32),
                done=np.float32(0))
    return buf


def test_sumtree_totals_and_find() -> None:
    t = SumTree(5)
    t.set(np.arange(5), np.array([1.0, 2.0, 0.0, 3.0, 4.0]))
    assert t.total == pytest.approx(10.0)
    # prefix sums 0|1|3|3|6|10: leaf 2 (priority 0) is never found
    assert list(t.find(np.array([0.0, 0.99, 1.0, 2.99, 3.0, 5.99, 6.0, 9.99]))) == [0, 0, 1, 1, 3, 3, 4, 4]
    t.set(np.array([1, 1]), np.array([5.0, 7.0]))  # duplicates: last wins
    assert t.total == pytest.approx(15.0)
    with pytest.raises(ValueError):
        t.set(np.array([0]), np.array([-1.0]))


@pytest.mark.parametrize("stratified", [False, True])
def test_sampling_frequencies_match_priorities(stratified: bool) -> None:
    rng = np.random.default_rng(0)
    n = 37
    buf = _filled(n, rng)
    buf.stratified = stratified
    td = rng.exponential(1.0, n)
    buf.update_priorities(np.arange(n), td)
    p_exact = (np.abs(td) + 1e-3) ** 0.6
    p_exact /= p_exact.sum()
    np.testing.assert_allclose(buf.probabilities(), p_exact, rtol=1e-12)
    counts = np.zeros(n)
    for _ in range(400):
        b = buf.sample(64, rng)
        np.add.at(counts, b["idx"].numpy(), 1)
        # the data row matches the index
        assert np.all(b["state"][:, 0].numpy() == b["idx"].numpy())
    chi2, pval = stats.chisquare(counts, counts.sum() * p_exact)
    assert pval > 1e-3, (chi2, pval)


def test_is_weights_and_beta() -> None:
    rng = np.random.default_rng(1)
    buf = _filled(10, rng)
    td = np.arange(1, 11, dtype=float)
    buf.update_priorities(np.arange(10), td)
    P = buf.probabilities()
    for frac, beta in ((0.0, 0.4), (0.5, 0.7), (1.0, 1.0), (2.0, 1.0)):
        assert buf.anneal(frac) == pytest.approx(beta)
        w = buf.is_weights(np.arange(10))
        expect = (10 * P) ** (-beta)
        np.testing.assert_allclose(w, expect / expect.max(), rtol=1e-12)
        assert w.max() == pytest.approx(1.0) and w.min() > 0
    assert beta_schedule(0.25) == pytest.approx(0.55)
    b = buf.sample(8, rng)
    np.testing.assert_allclose(b["weights"].numpy(), buf.is_weights(b["idx"].numpy()), rtol=1e-6)


def test_new_transitions_get_max_priority_and_state_roundtrip() -> None:
    rng = np.random.default_rng(2)
    buf = _filled(8, rng)
    buf.update_priorities(np.array([0]), np.array([10.0]))
    buf.add(state=np.zeros(3, np.float32), obs=np.zeros((2, 4), np.float32), act=np.zeros((2, 1), np.float32),
            rew=np.zeros(2, np.float32), next_state=np.zeros(3, np.float32), next_obs=np.zeros((2, 4), np.float32),
            done=np.float32(1))
    assert buf.tree.get(np.array([0]))[0] == pytest.approx((10.0 + 1e-3) ** 0.6)  # slot 0 overwritten at max
    other = PrioritizedReplayBuffer(8, 2, 3, 4, 1, episode_len=1)
    other.load_state_dict(buf.state_dict())
    np.testing.assert_array_equal(other.tree.tree, buf.tree.tree)
    assert other.max_priority == buf.max_priority and other.pos == buf.pos


def test_adaptive_noise_schedule() -> None:
    n = AdaptiveGaussianNoise()
    assert n.sd(0) == pytest.approx(0.35)
    assert n.sd(1000) == pytest.approx(0.3 * math.exp(-1) + 0.05)
    assert n.sd(2000) == pytest.approx(0.3 * math.exp(-2) + 0.05)
    assert n.sd(10**7) == pytest.approx(0.05)
    sds = [n.sd(t) for t in range(0, 3000, 100)]
    assert all(a > b for a, b in zip(sds, sds[1:], strict=False))
    x = n((20000,), 500, np.random.default_rng(0))
    assert x.std() == pytest.approx(n.sd(500), rel=0.03)
    assert FixedGaussianNoise(0.1).sd(12345) == 0.1
    with pytest.raises(ValueError):
        AdaptiveGaussianNoise(k=-1)
