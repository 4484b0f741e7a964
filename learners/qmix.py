"""QMIX and VDN for DER agents that self-organise into virtual power plants.

He et al. (2024, Energies 17, 3688, section 4) cast DER self-organisation as a
Markov game: each DER agent is a DRQN (a GRU over its own action-observation
history) and a mixing network combines the agents' utilities Q_i into a team
value Q_tot whose weights are produced by hypernetworks of the global state and
kept non-negative, so argmax Q_tot decomposes into per-agent argmaxes. This is
QMIX (Rashid et al., 2018); VDN (Sunehag et al., 2018) is the special case
Q_tot = sum_i Q_i. Defaults follow the reference PyMARL implementation; see
docs/qmix.md for the equations and the source of every default.

The module reads top to bottom: config, networks (agent DRQN, mixers),
learner (acting, TD update, training loop, checkpoints). Re-exported here:
the fleet-scale greedy policy (:mod:`learners.batched_policy`) and the
environment protocol with its PettingZoo adapter (:mod:`learners.marl_env`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from learners.batched_policy import BatchedPolicy, intra_op_threads
from learners.buffers import EpisodeBatch, EpisodeBuffer
from learners.configs import BUDGET_KEYS, QMIXConfig
from learners.marl_env import (
    EnvObservation,
    EnvSpec,
    MARLEnv,
    ParallelEnvAdapter,
    UnsupportedEnvError,
    check_discrete,
)

__all__ = [
    "AgentNet", "BatchedPolicy", "EnvObservation", "EnvSpec", "MARLEnv", "ParallelEnvAdapter", "QMIXConfig",
    "QMIXLearner", "QMixer", "UnsupportedEnvError", "VDNMixer",
]

# --------------------------------------------------------------------------- networks


def _uniform_(t: torch.Tensor, bound: float, g: torch.Generator) -> None:
    with torch.no_grad():
        t.uniform_(-bound, bound, generator=g)


def _linear(n_in: int, n_out: int, g: torch.Generator) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default init, drawn from ``g`` rather than the global RNG."""
    layer = nn.utils.skip_init(nn.Linear, n_in, n_out)
    _uniform_(layer.weight, 1 / math.sqrt(n_in), g)
    _uniform_(layer.bias, 1 / math.sqrt(n_in), g)
    return layer


class AgentNet(nn.Module):
    """DRQN shared by all agents of one kind: input layer, GRUCell, Q head.

    The input layer is a linear map of ``[obs, one_hot(last_action), one_hot(agent_id)]``.
    It is computed as ``W_obs obs + W_act[last_action] + W_id[agent_id] + b``, which is the
    same function but skips building one-hot tensors (matters for 56k-agent deployment).
    ``last_action = -1`` means "none" (first step, or the agent was absent) and adds nothing.

    Args:
        obs_dim: observation size.
        n_actions: action count of this kind.
        hidden_dim: GRU width.
        n_ids: number of agent ids for the id feature (0: no id feature).
        last_action: whether the previous action is an input.
        g: generator for the initial weights.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden_dim: int, n_ids: int, last_action: bool,
                 g: torch.Generator) -> None:
        super().__init__()
        self.obs_dim, self.n_actions, self.hidden_dim, self.n_ids = obs_dim, n_actions, hidden_dim, n_ids
        bound = 1 / math.sqrt(obs_dim + (n_actions if last_action else 0) + n_ids)
        self.obs_in = nn.utils.skip_init(nn.Linear, obs_dim, hidden_dim)
        _uniform_(self.obs_in.weight, bound, g)
        _uniform_(self.obs_in.bias, bound, g)
        self.last_action_in: nn.Parameter | None = None
        if last_action:
            # Row 0 encodes "no previous action"; it stays zero because embedding(padding_idx=0) never
            # sends it a gradient.
            w = torch.empty(n_actions + 1, hidden_dim)
            _uniform_(w, bound, g)
            w[0] = 0.0
            self.last_action_in = nn.Parameter(w)
        self.id_in: nn.Parameter | None = None
        if n_ids:
            w = torch.empty(n_ids, hidden_dim)
            _uniform_(w, bound, g)
            self.id_in = nn.Parameter(w)
        self.rnn = nn.utils.skip_init(nn.GRUCell, hidden_dim, hidden_dim)
        for p in self.rnn.parameters():
            _uniform_(p, 1 / math.sqrt(hidden_dim), g)
        self.q_head = _linear(hidden_dim, n_actions, g)

    def embed(self, obs: torch.Tensor, last_action: torch.Tensor, agent_id: torch.Tensor) -> torch.Tensor:
        """Input layer (with ReLU) for any leading shape."""
        x = self.obs_in(obs)
        if self.last_action_in is not None:
            x = x + F.embedding(last_action + 1, self.last_action_in, padding_idx=0)
        if self.id_in is not None:
            x = x + F.embedding(agent_id, self.id_in)
        return F.relu(x)

    def forward(self, obs: torch.Tensor, last_action: torch.Tensor, agent_id: torch.Tensor,
                hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step for N agents: ``(N, obs_dim), (N,), (N,), (N, H) -> Q (N, n_actions), h (N, H)``."""
        h = self.rnn(self.embed(obs, last_action, agent_id), hidden)
        return self.q_head(h), h

    def unroll(self, obs: torch.Tensor, last_action: torch.Tensor, agent_id: torch.Tensor) -> torch.Tensor:
        """Whole episodes from a zero hidden state: ``(N, T, obs_dim), (N, T), (N,) -> Q (N, T, n_actions)``."""
        n, t_len = obs.shape[:2]
        x = self.embed(obs, last_action, agent_id[:, None].expand(n, t_len))
        h = x.new_zeros(n, self.hidden_dim)
        hs = []
        for t in range(t_len):
            h = self.rnn(x[:, t], h)
            hs.append(h)
        return self.q_head(torch.stack(hs, 1))


class QMixer(nn.Module):
    """Monotonic mixing network: Q_tot = |W2(s)|^T elu(|W1(s)|^T q + b1(s)) + V(s).

    Absent agents (``agent_mask`` False) enter with Q = 0, so they add nothing.

    Args:
        n_agents: agent slots.
        state_dim: global state size.
        embed_dim: mixing hidden width.
        hypernet_embed: hidden width of the W1/W2 hypernetworks.
        g: generator for the initial weights.
    """

    def __init__(self, n_agents: int, state_dim: int, embed_dim: int, hypernet_embed: int,
                 g: torch.Generator) -> None:
        super().__init__()
        self.n_agents, self.embed_dim = n_agents, embed_dim
        self.hyper_w1 = nn.Sequential(_linear(state_dim, hypernet_embed, g), nn.ReLU(),
                                      _linear(hypernet_embed, embed_dim * n_agents, g))
        self.hyper_b1 = _linear(state_dim, embed_dim, g)
        self.hyper_w2 = nn.Sequential(_linear(state_dim, hypernet_embed, g), nn.ReLU(),
                                      _linear(hypernet_embed, embed_dim, g))
        self.hyper_v = nn.Sequential(_linear(state_dim, embed_dim, g), nn.ReLU(), _linear(embed_dim, 1, g))

    def forward(self, agent_qs: torch.Tensor, state: torch.Tensor,
                agent_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mix ``(..., n_agents)`` utilities under ``(..., state_dim)`` states into ``(...)`` team values."""
        lead = agent_qs.shape[:-1]
        if agent_mask is not None:
            agent_qs = agent_qs * agent_mask
        q = agent_qs.reshape(-1, 1, self.n_agents)
        s = state.reshape(q.shape[0], -1)
        # abs() keeps dQ_tot/dQ_i >= 0, which is what makes per-agent greedy actions team-greedy.
        w1 = self.hyper_w1(s).abs().view(-1, self.n_agents, self.embed_dim)
        b1 = self.hyper_b1(s).view(-1, 1, self.embed_dim)
        hidden = F.elu(torch.bmm(q, w1) + b1)
        w2 = self.hyper_w2(s).abs().view(-1, self.embed_dim, 1)
        v = self.hyper_v(s).view(-1, 1, 1)
        return (torch.bmm(hidden, w2) + v).view(lead)


class VDNMixer(nn.Module):
    """Q_tot = sum of the present agents' Q_i (Sunehag et al., 2018)."""

    def forward(self, agent_qs: torch.Tensor, state: torch.Tensor,
                agent_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Sum ``(..., n_agents)`` utilities; ``state`` is unused but kept for a common signature."""
        if agent_mask is not None:
            agent_qs = agent_qs * agent_mask
        return agent_qs.sum(-1)


# --------------------------------------------------------------------------- learner


class QMIXLearner:
    """QMIX / VDN with recurrent agents, episode replay and checkpoint-exact resumption.

    Args:
        spec: sizes of the environment(s) it will train on.
        config: hyperparameters (PyMARL defaults when omitted).

    Raises:
        UnsupportedEnvError: if ``spec`` has continuous actions.
    """

    supports_continuous_actions: ClassVar[bool] = False
    checkpoint_name: ClassVar[str] = "checkpoint.pt"

    def __init__(self, spec: EnvSpec, config: QMIXConfig | None = None) -> None:
        self.spec = check_discrete(spec)
        self.config = c = config if config is not None else QMIXConfig()
        self.np_rng = np.random.default_rng(c.seed)
        self.torch_rng = torch.Generator().manual_seed(c.seed)
        n_ids = spec.n_agents if c.obs_agent_id else 0
        self.agents = nn.ModuleList(
            AgentNet(spec.obs_dim, n, c.rnn_hidden_dim, n_ids, c.obs_last_action, self.torch_rng)
            for n in spec.kind_counts)
        self.mixer: nn.Module = (
            QMixer(spec.n_agents, spec.state_dim, c.mixing_embed_dim, c.hypernet_embed, self.torch_rng)
            if c.mixer == "qmix" else VDNMixer())
        self.target_agents = copy.deepcopy(self.agents).requires_grad_(False)
        self.target_mixer = copy.deepcopy(self.mixer).requires_grad_(False)
        self.params = [*self.agents.parameters(), *self.mixer.parameters()]
        if c.optimizer == "rmsprop":
            self.optimizer: torch.optim.Optimizer = torch.optim.RMSprop(
                self.params, lr=c.lr, alpha=c.optim_alpha, eps=c.optim_eps, foreach=True)
        else:
            self.optimizer = torch.optim.Adam(self.params, lr=c.lr, eps=c.optim_eps, foreach=True)
        self.buffer = EpisodeBuffer(c.buffer_size, spec.episode_limit, spec.n_agents, spec.obs_dim,
                                    spec.state_dim, spec.n_actions)
        # kind_actions[k, a]: action a exists for kind k (kinds with fewer actions are padded).
        self.kind_actions = torch.arange(spec.n_actions)[None, :] < torch.tensor(spec.kind_counts)[:, None]
        self.episode = 0
        self.t_env = 0
        self.n_updates = 0
        self.last_target_update_episode = 0
        self.train_seconds = 0.0  # wall time spent in train(), summed over calls and resumes
        self.history: list[dict[str, float]] = []

    # ----------------------------------------------------------------- acting

    @property
    def epsilon(self) -> float:
        """Exploration rate, linear in environment steps taken so far (PyMARL's schedule)."""
        c = self.config
        frac = min(1.0, self.t_env / c.epsilon_anneal_time)
        return c.epsilon_start + frac * (c.epsilon_finish - c.epsilon_start)

    def _avail(self, avail: torch.Tensor, kinds: torch.Tensor, agent_mask: torch.Tensor) -> torch.Tensor:
        """Available actions restricted to each kind's actions; absent agents get action 0.

        Absent agents need one available action so that masked maxima stay finite (their Q is
        zeroed afterwards); ``avail``/``agent_mask`` are (..., A, n) / (..., A), ``kinds`` (B, A) or (A,).
        """
        kind_ok = self.kind_actions[kinds]
        while kind_ok.dim() < avail.dim():
            kind_ok = kind_ok.unsqueeze(-3)
        ok = avail & kind_ok & agent_mask.unsqueeze(-1)
        ok[..., 0] |= ~ok.any(-1)
        return ok

    @torch.no_grad()
    def act(self, obs: np.ndarray, avail: np.ndarray, hidden: torch.Tensor | None = None,
            last_action: np.ndarray | None = None, agent_mask: np.ndarray | None = None,
            kinds: np.ndarray | None = None, greedy: bool = True,
            epsilon: float | None = None) -> tuple[np.ndarray, torch.Tensor]:
        """Choose actions for ``(..., n_agents)`` agents (one env, or a batch of envs).

        Args:
            obs: ``(..., n_agents, obs_dim)`` observations.
            avail: ``(..., n_agents, n_actions)`` available-action mask.
            hidden: GRU state from the previous call, ``(prod(...) * n_agents, H)``; None at episode start.
            last_action: ``(..., n_agents)`` previous actions (-1: none); None at episode start.
            agent_mask: ``(..., n_agents)`` present agents (default all).
            kinds: ``(n_agents,)`` or ``(..., n_agents)`` kind of each slot (default kind 0).
            greedy: take argmax actions; otherwise epsilon-greedy with the learner's generator.
            epsilon: exploration rate overriding the schedule.

        Returns:
            Actions ``(..., n_agents)`` int64 (-1 for absent agents) and the new hidden state.
        """
        obs_t = torch.as_tensor(obs, dtype=torch.float32)
        lead = obs_t.shape[:-1]
        n_agents, rows = lead[-1], math.prod(lead)
        avail_t = torch.as_tensor(avail, dtype=torch.bool).reshape(rows, -1)
        mask_t = (torch.ones(rows, dtype=torch.bool) if agent_mask is None
                  else torch.as_tensor(agent_mask, dtype=torch.bool).reshape(rows))
        kinds_t = (torch.zeros(rows, dtype=torch.long) if kinds is None
                   else torch.as_tensor(kinds, dtype=torch.long).expand(lead).reshape(rows))
        last_t = (torch.full((rows,), -1, dtype=torch.long) if last_action is None
                  else torch.as_tensor(last_action, dtype=torch.long).reshape(rows))
        h = hidden if hidden is not None else torch.zeros(rows, self.config.rnn_hidden_dim)
        ids = torch.arange(n_agents).repeat(rows // n_agents)
        x = obs_t.reshape(rows, -1)
        q = torch.zeros(rows, self.spec.n_actions)
        if len(self.agents) == 1:
            q, h = self.agents[0](x, last_t, ids, h)
        else:
            h = h.clone()
            for k, net in enumerate(self.agents):
                sel = (kinds_t == k).nonzero().squeeze(1)
                if len(sel):
                    q[sel, : net.n_actions], h[sel] = net(x[sel], last_t[sel], ids[sel], h[sel])
        ok = self._avail(avail_t, kinds_t, mask_t)
        actions = q.masked_fill(~ok, -torch.inf).argmax(-1).numpy()
        if not greedy:
            eps = self.epsilon if epsilon is None else epsilon
            # Always draw the same amount of randomness per step so the stream stays aligned on resume.
            explore = self.np_rng.random(rows) < eps
            keys = np.where(ok.numpy(), self.np_rng.random(ok.shape), -1.0)
            actions = np.where(explore, keys.argmax(-1), actions)
        actions = np.where(mask_t.numpy(), actions, -1)
        return actions.reshape(lead), h

    def _run_episode(self, env: MARLEnv, seed: int, explore: bool) -> tuple[EpisodeBatch, float]:
        """Play one episode; exploring episodes advance ``t_env`` (and hence epsilon)."""
        s = self.spec
        ep = EpisodeBatch.zeros(1, s.episode_limit, s.n_agents, s.obs_dim, s.state_dim, s.n_actions)
        o = env.reset(seed=seed)
        kinds = o.get("kinds")
        if kinds is None and len(s.kind_names) > 1:
            raise ValueError("an env with several agent kinds must return 'kinds' from reset()")
        ep.kinds[0] = 0 if kinds is None else kinds
        hidden, last, ret, t = None, None, 0.0, 0
        for t in range(s.episode_limit):
            self._record(ep, t, o)
            actions, hidden = self.act(o["obs"], o["avail"], hidden, last, o["agent_mask"], ep.kinds[0],
                                       greedy=not explore)
            reward, terminated, info = env.step(actions)
            ep.actions[0, t], ep.reward[0, t] = actions, reward
            ep.terminated[0, t], ep.filled[0, t] = terminated, True
            ret += float(reward)
            last = actions
            self.t_env += explore
            o = env.observe()
            if terminated or info.get("truncated", False):
                break
        self._record(ep, t + 1, o)
        return ep, ret

    @staticmethod
    def _record(ep: EpisodeBatch, t: int, o: EnvObservation) -> None:
        ep.obs[0, t], ep.state[0, t] = o["obs"], o["state"]
        ep.avail[0, t], ep.agent_mask[0, t] = o["avail"], o["agent_mask"]

    # ----------------------------------------------------------------- learning

    def _agent_qs(self, nets: nn.ModuleList, obs: torch.Tensor, last_action: torch.Tensor,
                  kinds: torch.Tensor) -> torch.Tensor:
        """Unroll every agent of a batch in one pass per kind: ``-> (B, T+1, A, n_actions)``."""
        b, t1, a, d = obs.shape
        # (batch x agents) rows, so each kind's GRU runs once over all its agents in the batch.
        obs_r = obs.transpose(1, 2).reshape(b * a, t1, d)
        last_r = last_action.transpose(1, 2).reshape(b * a, t1)
        ids = torch.arange(a).repeat(b)
        if len(nets) == 1:
            q = nets[0].unroll(obs_r, last_r, ids)
        else:
            q = obs.new_zeros(b * a, t1, self.spec.n_actions)
            kinds_r = kinds.reshape(b * a)
            for k, net in enumerate(nets):
                sel = (kinds_r == k).nonzero().squeeze(1)
                if len(sel):
                    q_k = net.unroll(obs_r[sel], last_r[sel], ids[sel])
                    q = q.index_copy(0, sel, F.pad(q_k, (0, self.spec.n_actions - net.n_actions)))
        return q.view(b, a, t1, -1).transpose(1, 2)

    def _update(self, batch: EpisodeBatch) -> dict[str, float]:
        """One gradient step on the masked TD error of Q_tot (PyMARL's QLearner.train)."""
        c = self.config
        bt = batch.truncated(batch.max_filled()).to_torch()
        obs, state, mask_a, kinds, actions = (bt["obs"], bt["state"], bt["agent_mask"], bt["kinds"],
                                              bt["actions"])
        last_action = F.pad(actions, (0, 0, 1, 0), value=-1)  # input at t is the action taken at t-1
        avail = self._avail(bt["avail"], kinds, mask_a)
        q = self._agent_qs(self.agents, obs, last_action, kinds)
        chosen = q[:, :-1].gather(3, actions.clamp(min=0).unsqueeze(3)).squeeze(3)
        q_tot = self.mixer(chosen, state[:, :-1], mask_a[:, :-1])
        with torch.no_grad():
            target_q = self._agent_qs(self.target_agents, obs, last_action, kinds)[:, 1:]
            if c.double_q:
                best = q[:, 1:].detach().masked_fill(~avail[:, 1:], -torch.inf).argmax(3, keepdim=True)
                target_max = target_q.gather(3, best).squeeze(3)
            else:
                target_max = target_q.masked_fill(~avail[:, 1:], -torch.inf).amax(3)
            target_tot = self.target_mixer(target_max, state[:, 1:], mask_a[:, 1:])
            y = bt["reward"] + c.gamma * (~bt["terminated"]) * target_tot
        filled = bt["filled"].float()
        td = (q_tot - y) * filled
        loss = td.pow(2).sum() / filled.sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(self.params, c.grad_norm_clip)
        self.optimizer.step()
        self.n_updates += 1
        n = filled.sum()
        return {"loss": loss.item(), "grad_norm": grad_norm.item(),
                "q_tot_mean": ((q_tot.detach() * filled).sum() / n).item(), "target_mean": ((y * filled).sum() / n).item()}

    def update_targets(self) -> None:
        """Hard copy of the online networks into the target networks."""
        self.target_agents.load_state_dict(self.agents.state_dict())
        self.target_mixer.load_state_dict(self.mixer.state_dict())
        self.last_target_update_episode = self.episode

    def _check_env(self, env: MARLEnv) -> None:
        spec = getattr(env, "marl_spec", None)
        if not isinstance(spec, EnvSpec):
            raise TypeError(f"{type(env).__name__} does not implement the MARLEnv protocol (no marl_spec)")
        check_discrete(spec)
        if spec != self.spec:
            raise ValueError(f"env spec {spec} differs from the learner's {self.spec}")

    def train(self, env: MARLEnv, n_episodes: int | None = None, progress: bool = True,
              checkpoint_dir: str | os.PathLike[str] | None = None, resume: bool = False) -> list[dict[str, float]]:
        """Train until ``n_episodes`` episodes in total (or ``config.t_max`` steps) have been played.

        One gradient step follows every episode once the buffer holds ``batch_size`` episodes.

        Args:
            env: environment following the module's protocol, with ``marl_spec == self.spec``.
            n_episodes: total episode budget, counting episodes before a resume; defaults to
                ``config.n_episodes``.
            progress: show a tqdm progress bar.
            checkpoint_dir: where ``checkpoint.pt`` is written every ``config.checkpoint_interval``
                episodes and at the end.
            resume: continue from ``checkpoint_dir/checkpoint.pt`` if it exists (fresh start otherwise).

        Returns:
            The learning curve, one dict per episode (``episode``, ``t_env``, ``return``, ``epsilon``,
            ``length``, and ``loss``/``grad_norm``/``q_tot_mean``/``target_mean`` after updates).

        Raises:
            UnsupportedEnvError: if the environment has continuous actions.
        """
        from tqdm.auto import tqdm

        self._check_env(env)
        c = self.config
        budget = c.n_episodes if n_episodes is None else n_episodes
        if budget is None and c.t_max is None:
            raise ValueError("no training budget: set n_episodes or config.t_max")
        ckpt = Path(checkpoint_dir) / self.checkpoint_name if checkpoint_dir is not None else None
        if resume:
            if ckpt is None:
                raise ValueError("resume=True needs a checkpoint_dir")
            if ckpt.exists():
                self.load(ckpt)
        with intra_op_threads(c.torch_threads), tqdm(total=budget, initial=self.episode, disable=not progress,
                                                       unit="ep", desc=f"{c.mixer} train") as bar:
            start, base_seconds = time.perf_counter(), self.train_seconds
            while ((budget is None or self.episode < budget)
                   and (c.t_max is None or self.t_env < c.t_max)):
                seed = int(self.np_rng.integers(2**31 - 1))
                ep, ret = self._run_episode(env, seed, explore=True)
                self.buffer.add(ep)
                self.episode += 1
                rec: dict[str, float] = {"episode": self.episode, "t_env": self.t_env, "return": ret,
                                         "length": int(ep.filled.sum()), "epsilon": self.epsilon}
                if len(self.buffer) >= c.batch_size:
                    rec.update(self._update(self.buffer.sample(c.batch_size, self.np_rng)))
                    if self.episode - self.last_target_update_episode >= c.target_update_interval:
                        self.update_targets()
                self.train_seconds = base_seconds + time.perf_counter() - start
                rec["wall_s"] = self.train_seconds
                self.history.append(rec)
                if ckpt is not None and c.checkpoint_interval and self.episode % c.checkpoint_interval == 0:
                    self.save(ckpt)
                bar.update(1)
                if self.episode % 20 == 0:
                    recent = [h["return"] for h in self.history[-100:]]
                    bar.set_postfix(ret=f"{np.mean(recent):.3g}", eps=f"{self.epsilon:.2f}",
                                    loss=f"{rec.get('loss', float('nan')):.3g}")
        if ckpt is not None:
            self.save(ckpt)
        return self.history

    def evaluate(self, env: MARLEnv, n_episodes: int = 10, seed: int | None = None) -> float:
        """Mean return of greedy episodes; uses its own generator, so training is unaffected."""
        self._check_env(env)
        rng = np.random.default_rng(self.config.seed + 1 if seed is None else seed)
        with intra_op_threads(self.config.torch_threads):
            rets = [self._run_episode(env, int(rng.integers(2**31 - 1)), explore=False)[1]
                    for _ in range(n_episodes)]
        return float(np.mean(rets))

    # ----------------------------------------------------------------- checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training bit-for-bit."""
        return {
            "format": 1,
            "config": dataclasses.asdict(self.config),
            "spec": dataclasses.asdict(self.spec),
            "agents": self.agents.state_dict(),
            "mixer": self.mixer.state_dict(),
            "target_agents": self.target_agents.state_dict(),
            "target_mixer": self.target_mixer.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "np_rng": self.np_rng.bit_generator.state,
            "torch_rng": self.torch_rng.get_state(),
            "buffer": self.buffer.state_dict(),
            "counters": {"episode": self.episode, "t_env": self.t_env, "n_updates": self.n_updates,
                         "last_target_update_episode": self.last_target_update_episode,
                         "train_seconds": self.train_seconds},
            "history": self.history,
        }

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output; the config may differ only in budget keys."""
        diff = {k: (v, getattr(self.config, k)) for k, v in sd["config"].items()
                if k not in BUDGET_KEYS and getattr(self.config, k) != v}
        if diff:
            raise ValueError(f"checkpoint config differs from this learner's (checkpoint, current): {diff}")
        spec = EnvSpec.from_dict(sd["spec"])
        if spec != self.spec:
            raise ValueError(f"checkpoint env spec {spec} differs from {self.spec}")
        self.agents.load_state_dict(sd["agents"])
        self.mixer.load_state_dict(sd["mixer"])
        self.target_agents.load_state_dict(sd["target_agents"])
        self.target_mixer.load_state_dict(sd["target_mixer"])
        self.optimizer.load_state_dict(sd["optimizer"])
        self.np_rng.bit_generator.state = sd["np_rng"]
        self.torch_rng.set_state(sd["torch_rng"])
        self.buffer.load_state_dict(sd["buffer"])
        for k, v in sd["counters"].items():
            setattr(self, k, type(getattr(self, k))(v))
        self.history = list(sd["history"])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write a checkpoint atomically, through the project's shared :func:`aggregation.io.atomic_write`."""
        from aggregation.io import atomic_write

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = self.state_dict()
        atomic_write(path, lambda fh: torch.save(state, fh))

    def load(self, path: str | os.PathLike[str]) -> None:
        """Load a checkpoint written by :meth:`save` (tensors and plain data only)."""
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str]) -> QMIXLearner:
        """Rebuild a learner (config, spec and state) from a checkpoint file."""
        sd = torch.load(path, map_location="cpu", weights_only=True)
        spec = EnvSpec.from_dict(sd["spec"])
        learner = cls(spec, QMIXConfig(**sd["config"]))
        learner.load_state_dict(sd)
        return learner

    def policy(self, kind: int | str = 0, chunk_size: int = 2048) -> BatchedPolicy:
        """Greedy deployment policy for one agent kind (a snapshot of the current weights)."""
        k = self.spec.kind_names.index(kind) if isinstance(kind, str) else kind
        return BatchedPolicy(self.agents[k], chunk_size=chunk_size)
