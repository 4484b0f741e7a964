"""BatchedPolicy: the fleet-scale greedy pass must equal the training network's decisions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from learners.qmix import AgentNet, BatchedPolicy, EnvSpec, QMIXConfig, QMIXLearner


def reference(net: AgentNet, obs, avail, last, hidden, ids):
    with torch.no_grad():
        h0 = torch.zeros(len(obs), net.hidden_dim) if hidden is None else torch.from_numpy(hidden)
        q, h = net(torch.from_numpy(obs), torch.from_numpy(last), torch.from_numpy(ids), h0)
        return q.masked_fill(~torch.from_numpy(avail), -torch.inf), h.numpy()


@pytest.mark.parametrize("with_ids", [False, True])
@pytest.mark.parametrize("start", [False, True])
def test_batched_policy_matches_agent_net(with_ids: bool, start: bool):
    g = torch.Generator().manual_seed(0)
    net = AgentNet(obs_dim=7, n_actions=5, hidden_dim=32, n_ids=50 if with_ids else 0, last_action=True, g=g)
    rng = np.random.default_rng(0)
    n = 1000
    obs = rng.normal(size=(n, 7)).astype(np.float32)
    avail = rng.random((n, 5)) < 0.5
    avail[np.arange(n), rng.integers(0, 5, n)] = True
    last = rng.integers(-1, 5, n)
    hidden = None if start else rng.normal(size=(n, 32)).astype(np.float32)
    ids = rng.integers(0, 50, n)
    policy = BatchedPolicy(net, chunk_size=97, workers=2)  # chunk boundaries fall mid-array
    actions, h = policy.greedy_actions(obs, avail, last, hidden, agent_ids=ids if with_ids else None)
    serial_a, serial_h = BatchedPolicy(net, chunk_size=97, workers=1).greedy_actions(
        obs, avail, last, hidden, agent_ids=ids if with_ids else None)
    np.testing.assert_allclose(serial_h, h, atol=1e-6)
    q_ref, h_ref = reference(net, obs, avail, last, hidden, ids if with_ids else np.zeros(n, np.int64))
    np.testing.assert_allclose(h, h_ref, atol=1e-5)
    assert actions.dtype == np.int64 and avail[np.arange(n), actions].all()
    # argmax ties aside (none with continuous weights), decisions are identical.
    best = q_ref.numpy().max(1)
    np.testing.assert_allclose(q_ref.numpy()[np.arange(n), actions], best, atol=1e-5)


def test_batched_policy_in_place_hidden_and_learner_helper():
    spec = EnvSpec(n_agents=4, obs_dim=6, state_dim=3, n_actions=4, episode_limit=5, kind_names=("ac", "ev"),
                   kind_n_actions=(2, 4))
    learner = QMIXLearner(spec, QMIXConfig(obs_agent_id=False, rnn_hidden_dim=16))
    policy = learner.policy("ev")
    assert policy.n_actions == 4
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(300, 6)).astype(np.float32)
    hidden = rng.normal(size=(300, 16)).astype(np.float32)
    expected_a, expected_h = policy.greedy_actions(obs, None, np.full(300, 2), hidden.copy())
    actions, h = policy.greedy_actions(obs, None, np.full(300, 2), hidden, out_hidden=hidden)
    assert h is hidden
    np.testing.assert_array_equal(actions, expected_a)
    np.testing.assert_array_equal(hidden, expected_h)
    with pytest.raises(ValueError, match="features"):
        policy.greedy_actions(obs[:, :5])
    id_policy = QMIXLearner(spec, QMIXConfig(rnn_hidden_dim=16)).policy(0)
    with pytest.raises(ValueError, match="agent_ids"):
        id_policy.greedy_actions(obs)
