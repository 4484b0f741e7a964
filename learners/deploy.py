"""Trained QMIX agent networks acting for a whole fleet through the policy interface.

A weights file holds only what deployment needs: a small header naming the
learner (``format``, ``learner``, ``spec``, ``config``, ``meta``: plain data)
plus the per-kind agent networks' tensors. It is a few hundred kB, so trained
weights ship with the package in ``learners/weights/``, and it loads with
``torch.load(..., weights_only=True)``. Files written before the ``learner``
key existed are QMIX weights.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aggregation.io import atomic_write
from aggregation.policy import KindView

from .marl_env import EnvSpec
from .qmix import AgentNet, BatchedPolicy, QMIXConfig, QMIXLearner

WEIGHTS_FORMAT = 1


def save_weights(learner: QMIXLearner, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> Path:
    """Write the deployable part of a trained learner atomically.

    Args:
        learner: a trained QMIX/VDN learner (its registry name is its mixer).
        path: the file to write.
        meta: plain data (str, numbers, lists, dicts) describing the training run.
    """
    path = Path(path)
    payload = {
        "format": WEIGHTS_FORMAT,
        "learner": learner.config.mixer,
        "spec": dataclasses.asdict(learner.spec),
        "config": dataclasses.asdict(learner.config),
        "agents": learner.agents.state_dict(),
        "meta": meta or {},
    }
    atomic_write(path, lambda fh: torch.save(payload, fh))
    return path


def resolve_weights(name_or_path: str) -> Path:
    """A weights file from a path, or from the name of weights shipped with the package."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    stem = p.name[:-3] if p.name.endswith(".pt") else p.name
    shipped = importlib.resources.files("learners") / "weights" / f"{stem}.pt"
    if shipped.is_file():
        return Path(str(shipped))
    available = sorted(q.name[:-3] for q in (importlib.resources.files("learners") / "weights").iterdir()
                       if q.name.endswith(".pt"))
    raise FileNotFoundError(f"no weights {name_or_path!r}: not a file, and not shipped (shipped: {available})")


def load_weights(weights: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a weights file (path or shipped name) as plain data and tensors only.

    Raises:
        FileNotFoundError: no such file or shipped weights.
        ValueError: an unknown format, or weights of a learner other than QMIX/VDN.
    """
    payload = torch.load(resolve_weights(str(weights)), map_location="cpu", weights_only=True)
    if payload.get("format") != WEIGHTS_FORMAT:
        raise ValueError(f"{weights}: unsupported weights format {payload.get('format')!r}")
    learner = payload.setdefault("learner", "qmix")
    if learner not in ("qmix", "vdn"):
        raise ValueError(f"{weights}: weights of learner {learner!r}, not QMIX/VDN agent networks")
    return payload


class QMIXPolicy:
    """Greedy decentralised execution of trained QMIX agent networks, one batched pass per kind.

    Keeps each unit's GRU state and last action across periods (reset at period 0),
    so the agents see their action–observation history as in training.
    """

    name = "qmix"

    def __init__(self, weights: str | os.PathLike[str], chunk_size: int = 4096):
        payload = load_weights(weights)
        self.spec = EnvSpec.from_dict(payload["spec"])
        self.config = QMIXConfig(**payload["config"])
        self.meta = payload["meta"]
        gen = torch.Generator().manual_seed(0)
        n_ids = self.spec.n_agents if self.config.obs_agent_id else 0
        nets = torch.nn.ModuleList(
            AgentNet(self.spec.obs_dim, n, self.config.rnn_hidden_dim, n_ids, self.config.obs_last_action, gen)
            for n in self.spec.kind_counts
        )
        nets.load_state_dict(payload["agents"])
        self._policies = {
            name: BatchedPolicy(nets[k], chunk_size) for k, name in enumerate(self.spec.kind_names)
        }
        self._hidden: dict[str, np.ndarray] = {}
        self._last: dict[str, np.ndarray] = {}

    def reset(self) -> None:
        """Forget every unit's history (a new episode starts)."""
        self._hidden.clear()
        self._last.clear()

    def act(self, view: KindView) -> np.ndarray:
        pol = self._policies.get(view.kind)
        if pol is None:
            return view.usual
        n = view.n
        feats = view.features
        obs = np.zeros((n, pol.obs_dim), np.float32)
        obs[:, : feats.shape[1]] = feats
        avail = np.zeros((n, pol.n_actions), bool)
        avail[:, : view.n_actions] = view.avail
        if view.ctx.step == 0 or self._hidden.get(view.kind, np.empty((0, 0))).shape[0] != n:
            self._hidden[view.kind] = np.zeros((n, pol.hidden_dim), np.float32)
            self._last[view.kind] = np.full(n, -1, np.int64)
        hidden = self._hidden[view.kind]
        ids = (np.arange(n) % self.spec.n_agents) if pol.needs_ids else None
        actions, _ = pol.greedy_actions(obs, avail, self._last[view.kind], hidden, ids, out_hidden=hidden)
        self._last[view.kind] = actions
        return actions

    def state_dict(self) -> dict[str, Any]:
        return {"hidden": {k: v.copy() for k, v in self._hidden.items()},
                "last": {k: v.copy() for k, v in self._last.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._hidden = {k: v.copy() for k, v in state["hidden"].items()}
        self._last = {k: v.copy() for k, v in state["last"].items()}

