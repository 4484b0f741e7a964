"""Prioritised experience replay (Schaul et al. 2016) on a numpy sum-tree (seed 002 §4.2 ①).

Seed 002 §4.2 ① weights samples by their TD error δ_i with a priority index α = 0.6, a smoothing
constant ε = 0.001 and an importance-sampling (IS) correction β = 0.4 annealed to 1 over training.
The capture garbles the two formulas (it writes ``w_i = (δ_i/δ_max)^α + ε`` and ``p_i = w_i^β/Σ w_j^β``,
putting β where the sampling exponent belongs); vppsim uses the standard proportional variant the
seed cites the constants of:

    priority       p_i = (|δ_i| + ε)^α                     (new transitions get the largest priority so far)
    sampling       P(i) = p_i / Σ_j p_j
    IS weight      w_i = (N·P(i))^(−β) / max_j w_j          (N = stored transitions; max over the stored set)
    β schedule     β(f) = β_0 + (1 − β_0)·f,  f = fraction of training done ∈ [0, 1]

The sum-tree is a complete binary tree over a power-of-two number of leaves held in one numpy array
(``tree[1]`` = total, node i has children 2i and 2i+1); sampling and updates are vectorised over the
batch level by level (log2 capacity steps). No compiled extension: torchrl's does not load against
torch 2.13 here (issue 14).

:class:`PrioritizedReplayBuffer` is a :class:`learners.maddpg.ReplayBuffer` (storage, ``sample_episodes``
(uniform over episodes) and persistence are the base class's, plus the tree); ``sample`` adds ``"idx"``
(int64 (B,)) and ``"weights"`` (float32 (B,)) to the batch, and :meth:`PrioritizedReplayBuffer.update_priorities` takes the batch's TD errors back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .maddpg import ReplayBuffer

__all__ = ["PrioritizedReplayBuffer", "SumTree", "beta_schedule"]


def beta_schedule(fraction: float, beta0: float = 0.4) -> float:
    """IS exponent after ``fraction`` ∈ [0, 1] of training: linear from ``beta0`` to 1 (clipped)."""
    f = min(max(float(fraction), 0.0), 1.0)
    return beta0 + (1.0 - beta0) * f


class SumTree:
    """Sum-tree over ``capacity`` non-negative priorities (numpy float64).

    Args:
        capacity: number of leaves used (the tree is padded to the next power of two with zeros).

    Raises:
        ValueError: ``capacity < 1``.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = int(capacity)
        self.n_leaves = 1 << int(np.ceil(np.log2(max(2, self.capacity))))
        self.depth = int(np.log2(self.n_leaves))
        self.tree = np.zeros(2 * self.n_leaves, dtype=np.float64)

    @property
    def total(self) -> float:
        """Sum of all priorities."""
        return float(self.tree[1])

    def get(self, idx: np.ndarray) -> np.ndarray:
        """Priorities of leaves ``idx`` (B,)."""
        return self.tree[self.n_leaves + np.asarray(idx, dtype=np.int64)]

    def leaves(self) -> np.ndarray:
        """All ``capacity`` leaf priorities (a copy)."""
        return self.tree[self.n_leaves: self.n_leaves + self.capacity].copy()

    def set(self, idx: np.ndarray, priority: np.ndarray) -> None:
        """Set leaves ``idx`` (B,) to ``priority`` (B,) and refresh their ancestors (duplicates: last wins).

        Raises:
            ValueError: a negative or non-finite priority, or an index out of range.
        """
        idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        p = np.broadcast_to(np.asarray(priority, dtype=np.float64), idx.shape)
        if idx.size == 0:
            return
        if np.any(idx < 0) or np.any(idx >= self.capacity):
            raise ValueError("leaf index out of range")
        if not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ValueError("priorities must be finite and >= 0")
        node = idx + self.n_leaves
        self.tree[node] = p
        node = np.unique(node // 2)
        while node[0] >= 1:
            self.tree[node] = self.tree[2 * node] + self.tree[2 * node + 1]
            if node[0] == 1:
                break
            node = np.unique(node // 2)

    def find(self, values: np.ndarray) -> np.ndarray:
        """Leaf index of each prefix-sum value in [0, total) (B,): the leaf i with cum_{<i} <= v < cum_{<=i}."""
        v = np.asarray(values, dtype=np.float64).copy()
        node = np.ones(v.shape, dtype=np.int64)
        for _ in range(self.depth):
            left = 2 * node
            lv = self.tree[left]
            go_right = v >= lv
            v = np.where(go_right, v - lv, v)
            node = np.where(go_right, left + 1, left)
        leaf = node - self.n_leaves
        # guard against float round-off landing on a zero-priority padding leaf
        return np.minimum(leaf, self.capacity - 1)

    def sample(self, batch: int, rng: np.random.Generator, stratified: bool = True) -> np.ndarray:
        """``batch`` leaf indices drawn with probability proportional to priority (B,).

        Args:
            batch: number of draws.
            rng: the caller's generator.
            stratified: one draw per equal slice of [0, total) (Schaul et al.'s variant: the marginal
                law of each sampled index is still proportional); False = i.i.d. draws.

        Raises:
            ValueError: the tree is empty (total 0).
        """
        tot = self.total
        if tot <= 0:
            raise ValueError("cannot sample from an empty sum-tree")
        u = rng.random(batch)
        v = (np.arange(batch) + u) * (tot / batch) if stratified else u * tot
        idx = self.find(np.minimum(v, np.nextafter(tot, 0.0)))
        # a draw on a zero leaf can only come from round-off: move it to the largest-priority leaf
        bad = self.get(idx) <= 0
        if np.any(bad):
            idx[bad] = int(np.argmax(self.leaves()))
        return idx


class PrioritizedReplayBuffer(ReplayBuffer):
    """Joint-transition replay with proportional prioritisation (drop-in for ``learners.maddpg.ReplayBuffer``).

    Arrays as ``ReplayBuffer``: ``state`` (N, S), ``obs`` (N, n_agents, O), ``act`` (N, n_agents, A_max),
    ``rew`` (N, n_agents), ``next_state``, ``next_obs``, ``done`` (N,). Episodes of fixed length are
    stored contiguously (capacity rounded down to a multiple of ``episode_len``).

    Args:
        capacity, n_agents, state_dim, obs_dim, act_dim, episode_len: as ``ReplayBuffer``.
        alpha: priority exponent α (seed 002: 0.6; 0 = uniform).
        eps: priority floor ε added to |δ| (seed 002: 0.001).
        beta0: initial IS exponent β (seed 002: 0.4); :meth:`anneal` moves it towards 1.
        stratified: stratified sampling (see :meth:`SumTree.sample`).
        extra: further per-transition arrays, name -> trailing shape (e.g. ``{"dev": (n_agents, A_max)}``).
    """

    def __init__(self, capacity: int, n_agents: int, state_dim: int, obs_dim: int, act_dim: int, episode_len: int,
                 *, alpha: float = 0.6, eps: float = 1e-3, beta0: float = 0.4, stratified: bool = True,
                 extra: dict[str, tuple[int, ...]] | None = None) -> None:
        if alpha < 0 or eps <= 0 or not 0.0 <= beta0 <= 1.0:
            raise ValueError("need alpha >= 0, eps > 0 and beta0 in [0, 1]")
        super().__init__(capacity, n_agents, state_dim, obs_dim, act_dim, episode_len, extra=extra)
        self.alpha, self.eps, self.beta0, self.beta = float(alpha), float(eps), float(beta0), float(beta0)
        self.stratified = stratified
        self.tree = SumTree(self.capacity)
        self.max_priority = 1.0

    # -- storage ---------------------------------------------------------------------------------------
    def add(self, **tr: np.ndarray) -> None:
        """Store one transition (keys as the arrays) with the largest priority seen so far."""
        self.tree.set(np.array([self.pos]), np.array([self.max_priority]))
        super().add(**tr)

    def priority(self, td_error: np.ndarray) -> np.ndarray:
        """p = (|δ| + ε)^α for TD errors (B,)."""
        return (np.abs(np.asarray(td_error, dtype=np.float64)) + self.eps) ** self.alpha

    def update_priorities(self, idx: np.ndarray | torch.Tensor, td_error: np.ndarray | torch.Tensor) -> None:
        """Set the priorities of sampled transitions from their new TD errors (B,) (any sign, scale of the loss)."""
        idx = np.asarray(idx.detach().cpu().numpy() if isinstance(idx, torch.Tensor) else idx, dtype=np.int64)
        td = np.asarray(td_error.detach().cpu().numpy() if isinstance(td_error, torch.Tensor) else td_error)
        p = self.priority(td)
        self.tree.set(idx, p)
        self.max_priority = max(self.max_priority, float(p.max()) if p.size else 0.0)

    def anneal(self, fraction: float) -> float:
        """Set β for ``fraction`` ∈ [0, 1] of training done (linear β_0 → 1); returns it."""
        self.beta = beta_schedule(fraction, self.beta0)
        return self.beta

    # -- sampling --------------------------------------------------------------------------------------
    def probabilities(self) -> np.ndarray:
        """Exact sampling probabilities P(i) of the stored transitions (size,)."""
        p = self.tree.leaves()[: self.size]
        return p / p.sum()

    def is_weights(self, idx: np.ndarray) -> np.ndarray:
        """IS weights w_i = (N·P(i))^(−β) / max_j w_j for indices ``idx`` (B,), float64 in (0, 1]."""
        tot = self.tree.total
        n = self.size
        p = self.tree.get(idx) / tot
        p_min = float(self.tree.leaves()[:n].min()) / tot
        return (n * p) ** (-self.beta) / (n * p_min) ** (-self.beta)

    def sample(self, batch: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """A prioritised minibatch as tensors, plus ``idx`` (int64 (B,)) and IS ``weights`` (float32 (B,)).

        Raises:
            ValueError: the buffer is empty.
        """
        if self.size == 0:
            raise ValueError("the buffer is empty")
        idx = self.tree.sample(batch, rng, self.stratified)
        out = {k: torch.from_numpy(v[idx]) for k, v in self.data.items()}
        out["idx"] = torch.from_numpy(idx.astype(np.int64))
        out["weights"] = torch.from_numpy(self.is_weights(idx).astype(np.float32))
        return out

    # -- persistence -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Tensors and numbers for a checkpoint (loadable with ``torch.load(weights_only=True)``)."""
        return {**super().state_dict(), "beta": self.beta, "max_priority": self.max_priority,
                "priorities": torch.from_numpy(self.tree.leaves()[: self.size])}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` (same capacity and shapes)."""
        super().load_state_dict(d)
        self.beta, self.max_priority = float(d["beta"]), float(d["max_priority"])
        self.tree = SumTree(self.capacity)
        if self.size:
            self.tree.set(np.arange(self.size), d["priorities"].numpy())
