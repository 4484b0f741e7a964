"""MADDPG (Lowe et al. 2017) for continuous actions on a PettingZoo parallel env, CleanRL style.

Decentralised actors ``mu_i(o_i) -> a_i in [-1, 1]^{d_i}`` and centralised critics
``Q_i(s, a_1..a_n)`` on the env's global ``state()``; deterministic policy gradient
``grad J_i = E[grad_a_i Q_i(s, a) grad mu_i(o_i)]`` with the other agents' actions from the buffer;
TD targets ``y = r_i + gamma (1 - done) Q'_i(s', mu'_1(o'_1) .. mu'_n(o'_n))`` from Polyak-averaged
target networks; rewards enter the targets as ``reward_scale * (r_i - offset_i)`` with the env's optional
per-agent ``reward_offset`` (the market game's zero-profit reward; a constant per step, so the optimal
policy of a fixed-length day is unchanged). Exploration: Gaussian noise (:class:`GaussianNoise`). Replay: uniform
(:class:`ReplayBuffer`). Both sit behind small classes so prioritised replay and adaptive noise can
replace them (issue 14).

Reproducibility: every random draw comes from the learner's own ``torch.Generator`` (initialisation)
and ``numpy.random.Generator`` (noise, minibatches, warm-up actions); training day ``k`` is
``env.reset(seed=seed * 1_000_003 + k)``. A checkpoint holds weights, optimiser states, the buffer and
the generator states, so a killed run resumed from it ends with identical weights.

Usage::

    learner = MADDPGLearner(MarketEnv(), MADDPGConfig(n_episodes=300))
    history = learner.train(checkpoint_dir="ckpt")      # list of per-episode dicts
    actions = learner(obs)                               # deterministic joint policy
    learner.export_weights("learners/weights/supply_load_game_maddpg.pt")
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from aggregation.io import atomic_write
from learners.batched_policy import intra_op_threads

from .maddpg_config import MADDPGConfig

__all__ = ["GaussianNoise", "MADDPGLearner", "ReplayBuffer", "build_mlp", "mlp", "save_weights"]


def build_mlp(n_in: int, n_out: int, hidden: tuple[int, ...], gen: torch.Generator, act: str = "relu",
              out_act: nn.Module | None = None) -> nn.Sequential:
    """MLP ``n_in -> hidden... -> n_out`` with ReLU or LeakyReLU (slope 0.01), initialised from ``gen``.

    Weights and biases ~ U(±1/sqrt(fan_in)) (PyTorch's default law, drawn from the given generator).
    """
    layers: list[nn.Module] = []
    d = n_in
    for h in hidden:
        layers += [nn.Linear(d, h), nn.LeakyReLU(0.01) if act == "leaky_relu" else nn.ReLU()]
        d = h
    layers.append(nn.Linear(d, n_out))
    if out_act is not None:
        layers.append(out_act)
    net = nn.Sequential(*layers)
    for m in net:
        if isinstance(m, nn.Linear):
            b = 1.0 / np.sqrt(m.in_features)
            nn.init.uniform_(m.weight, -b, b, generator=gen)
            nn.init.uniform_(m.bias, -b, b, generator=gen)
    return net


def mlp(n_in: int, n_out: int, hidden: int, gen: torch.Generator, out_act: nn.Module | None = None) -> nn.Sequential:
    """Two hidden ReLU layers of width ``hidden``, initialised from ``gen`` (see :func:`build_mlp`)."""
    return build_mlp(n_in, n_out, (hidden, hidden), gen, out_act=out_act)


class ReplayBuffer:
    """Uniform replay of joint transitions; episodes of fixed length are stored contiguously.

    Arrays: ``state`` (N, S), ``obs`` (N, n_agents, O), ``act`` (N, n_agents, A_max) zero-padded,
    ``rew`` (N, n_agents), ``next_state``, ``next_obs``, ``done`` (N,); ``extra``: further float32 arrays,
    name -> trailing shape.
    """

    def __init__(self, capacity: int, n_agents: int, state_dim: int, obs_dim: int, act_dim: int, episode_len: int,
                 *, extra: dict[str, tuple[int, ...]] | None = None):
        cap = max(episode_len, capacity - capacity % episode_len)
        self.capacity, self.T = cap, episode_len
        self.data: dict[str, np.ndarray] = {
            "state": np.zeros((cap, state_dim), np.float32), "obs": np.zeros((cap, n_agents, obs_dim), np.float32),
            "act": np.zeros((cap, n_agents, act_dim), np.float32), "rew": np.zeros((cap, n_agents), np.float32),
            "next_state": np.zeros((cap, state_dim), np.float32),
            "next_obs": np.zeros((cap, n_agents, obs_dim), np.float32), "done": np.zeros(cap, np.float32),
        }
        for k, shape in (extra or {}).items():
            self.data[k] = np.zeros((cap, *shape), np.float32)
        self.pos, self.size = 0, 0

    def add(self, **tr: np.ndarray) -> None:
        """Store one transition (keys as the arrays)."""
        for k, v in tr.items():
            self.data[k][self.pos] = v
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """A uniform minibatch of transitions as tensors."""
        idx = rng.integers(0, self.size, batch)
        return {k: torch.from_numpy(v[idx]) for k, v in self.data.items()}

    def sample_episodes(self, n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """``n`` whole episodes: every array shaped (n, T, ...)."""
        n_ep = self.size // self.T
        ep = rng.integers(0, n_ep, n)
        idx = (ep[:, None] * self.T + np.arange(self.T)[None, :]).reshape(-1)
        return {k: torch.from_numpy(v[idx].reshape(n, self.T, *v.shape[1:])) for k, v in self.data.items()}

    def state_dict(self) -> dict[str, Any]:
        """Tensors and counters for a checkpoint."""
        return {"pos": self.pos, "size": self.size, **{k: torch.from_numpy(v[: self.size].copy())
                                                         for k, v in self.data.items()}}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.pos, self.size = int(d["pos"]), int(d["size"])
        for k in self.data:
            self.data[k][: self.size] = d[k].numpy()


class GaussianNoise:
    """Exploration noise ``N(0, sd_k^2)`` with sd decaying linearly over episodes."""

    def __init__(self, sd: float, sd_final: float, decay_episodes: int) -> None:
        self.sd0, self.sd1, self.n = sd, sd_final, max(1, decay_episodes)

    def sd(self, episode: int) -> float:
        """The noise sd at ``episode``."""
        return self.sd0 + (self.sd1 - self.sd0) * min(1.0, episode / self.n)

    def __call__(self, shape: tuple[int, ...], episode: int, rng: np.random.Generator) -> np.ndarray:
        """A noise sample of ``shape``."""
        return rng.normal(0.0, self.sd(episode), shape)


class MADDPGLearner:
    """MADDPG on a PettingZoo parallel env whose agents have Box actions in [-1, 1] and a ``state()``.

    Args:
        env: the env (default: ``learners.market_env.MarketEnv()``); it needs ``possible_agents``,
            ``observation_space``/``action_space``, ``state()`` and ``state_dim``; all observation
            spaces have the same shape.
        config: hyperparameters.

    Attributes:
        actors, critics: one per agent (``nn.ModuleList``), in ``env.possible_agents`` order.
        episode: episodes trained so far.
        history: per-episode records (return, cost, losses, wall time).
    """

    algo = "maddpg"

    def __init__(self, env: Any = None, config: MADDPGConfig | None = None) -> None:
        if env is None:
            from .market_env import MarketEnv

            env = MarketEnv()
        self.env, self.cfg = env, config or MADDPGConfig()
        cfg = self.cfg
        self.agents = list(env.possible_agents)
        self.n = len(self.agents)
        self.obs_dim = int(env.observation_space(self.agents[0]).shape[0])
        self.act_dims = [int(env.action_space(a).shape[0]) for a in self.agents]
        self.act_max = max(self.act_dims)
        self.state_dim = int(env.state_dim)
        self.T = int(getattr(env, "T", 12))
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self._build()
        self.buffer = ReplayBuffer(cfg.buffer_size, self.n, self.state_dim, self.obs_dim, self.act_max, self.T)
        self.noise = GaussianNoise(cfg.noise_sd, cfg.noise_sd_final, cfg.noise_decay_episodes)
        self.episode = 0
        self.history: list[dict[str, float]] = []
        # per-agent constant subtracted from rewards for learning (an env's ``reward_offset``, e.g. the
        # market game's zero-profit reward; 0 for shared-reward envs): policy-invariant on fixed-length days
        off = getattr(env, "reward_offset", None) or {}
        self.reward_offset = torch.tensor([float(off.get(a, 0.0)) for a in self.agents], dtype=torch.float32)

    # ---- networks -------------------------------------------------------------------------------
    def actor_input_dim(self, i: int) -> int:
        """Input size of actor ``i`` (subclasses add features)."""
        return self.obs_dim

    def _build(self) -> None:
        cfg, h = self.cfg, self.cfg.hidden
        self.actors = nn.ModuleList([mlp(self.actor_input_dim(i), d, h, self.gen, nn.Tanh())
                                     for i, d in enumerate(self.act_dims)])
        self.critics = nn.ModuleList([mlp(self.state_dim + sum(self.act_dims), 1, h, self.gen) for _ in self.agents])
        self.actors_t = nn.ModuleList([mlp(self.actor_input_dim(i), d, h, self.gen, nn.Tanh())
                                       for i, d in enumerate(self.act_dims)])
        self.critics_t = nn.ModuleList([mlp(self.state_dim + sum(self.act_dims), 1, h, self.gen) for _ in self.agents])
        self.actors_t.load_state_dict(self.actors.state_dict())
        self.critics_t.load_state_dict(self.critics.state_dict())
        self.actor_opt = [torch.optim.Adam(a.parameters(), lr=cfg.actor_lr) for a in self.actors]
        self.critic_opt = [torch.optim.Adam(c.parameters(), lr=cfg.critic_lr) for c in self.critics]

    def _flat_act(self, act: torch.Tensor) -> torch.Tensor:
        """(B, n, A_max) padded actions -> (B, sum d_i) joint action."""
        return torch.cat([act[:, i, :d] for i, d in enumerate(self.act_dims)], dim=-1)

    def actor_input(self, i: int, obs: torch.Tensor, extra: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, actor_input_dim(i)) input of actor ``i`` (subclasses add ``extra`` features)."""
        return obs[:, i]

    def actor_forward(self, i: int, obs: torch.Tensor, extra: dict[str, torch.Tensor], target: bool = False
                      ) -> torch.Tensor:
        """(B, d_i) action of actor ``i`` from (B, n, O) observations (subclasses use ``extra`` features)."""
        return (self.actors_t if target else self.actors)[i](self.actor_input(i, obs, extra))

    def joint_action(self, obs: torch.Tensor, extra: dict[str, torch.Tensor], target: bool = False) -> torch.Tensor:
        """(B, sum d_i) deterministic joint action of the (target) actors."""
        return torch.cat([self.actor_forward(i, obs, extra, target) for i in range(self.n)], dim=-1)

    # ---- acting ------------------------------------------------------------------------------------
    def begin_episode(self) -> None:
        """Hook called at every env reset (recurrent subclasses reset their state)."""

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray], explore: bool = False) -> dict[str, np.ndarray]:
        """Actions for the agents in ``obs`` (all agents act together in this game).

        Args:
            obs: agent -> (O,) observation.
            explore: add Gaussian noise (training).

        Returns:
            agent -> (d_i,) float32 action in [-1, 1].
        """
        o = torch.from_numpy(np.stack([obs[a] for a in self.agents]).astype(np.float32))[None]
        extra = self.acting_features(o)
        out = {}
        for i, a in enumerate(self.agents):
            x = self.actor_forward(i, o, extra)[0].numpy()
            if explore:
                x = x + self.noise(x.shape, self.episode, self.rng)
            out[a] = np.clip(x, -1.0, 1.0).astype(np.float32)
        self.after_act(o, out)
        return out

    def acting_features(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Extra actor inputs while acting (recurrent subclasses compute them from their state)."""
        return {}

    def after_act(self, obs: torch.Tensor, actions: dict[str, np.ndarray]) -> None:
        """Hook after each decision (recurrent subclasses remember the joint action)."""

    def __call__(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Deterministic policy (for rollouts and evaluation)."""
        if self.env.t == 0:
            self.begin_episode()
        return self.act(obs, explore=False)

    # ---- learning ----------------------------------------------------------------------------------
    def critic_loss(self, i: int, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """TD loss of critic ``i`` on a batch (subclasses add regularisers)."""
        with torch.no_grad():
            a2 = self.joint_action(b["next_obs"], {k[5:]: v for k, v in b.items() if k.startswith("next_x")},
                                   target=True)
            q2 = self.critics_t[i](torch.cat([b["next_state"], a2], -1)).squeeze(-1)
            y = self.cfg.reward_scale * (b["rew"][:, i] - self.reward_offset[i]) + self.cfg.gamma * (1.0 - b["done"]) * q2
        q = self.critics[i](torch.cat([b["state"], self._flat_act(b["act"])], -1)).squeeze(-1)
        return ((q - y) ** 2).mean(), {}

    def update(self, b: dict[str, torch.Tensor]) -> dict[str, float]:
        """One gradient step of every critic then every actor, then the Polyak target update."""
        cfg, logs = self.cfg, {"critic_loss": 0.0, "actor_loss": 0.0}
        for i in range(self.n):
            loss, extra = self.critic_loss(i, b)
            self.critic_opt[i].zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.critics[i].parameters(), cfg.grad_norm_clip)
            self.critic_opt[i].step()
            logs["critic_loss"] += loss.item() / self.n
            for k, v in extra.items():
                logs[k] = logs.get(k, 0.0) + v / self.n
        joint = self._flat_act(b["act"])
        offs = np.cumsum([0] + self.act_dims)
        extra = {k: v for k, v in b.items() if k.startswith("x_")}
        for i in range(self.n):
            ai = self.actor_forward(i, b["obs"], extra)
            a = torch.cat([joint[:, : offs[i]], ai, joint[:, offs[i + 1]:]], -1)
            loss = -self.critics[i](torch.cat([b["state"], a], -1)).mean() + 1e-3 * (ai ** 2).mean()
            if cfg.preact_reg > 0:  # keep the tanh out of saturation, where the policy gradient vanishes
                pre = self.actors[i][:-1](self.actor_input(i, b["obs"], extra))
                loss = loss + cfg.preact_reg * (pre ** 2).mean()
            self.actor_opt[i].zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.actors[i].parameters(), cfg.grad_norm_clip)
            self.actor_opt[i].step()
            logs["actor_loss"] += loss.item() / self.n
        with torch.no_grad():
            for net, tgt in ((self.actors, self.actors_t), (self.critics, self.critics_t)):
                for p, pt in zip(net.parameters(), tgt.parameters(), strict=True):
                    pt.mul_(1 - cfg.tau).add_(cfg.tau * p)
        return logs

    def sample_batch(self) -> dict[str, torch.Tensor]:
        """A training minibatch (uniform transitions); extra actor features go in keys ``x_*``/``next_x_*``."""
        return self.buffer.sample(self.cfg.batch_size, self.rng)

    def after_episode(self) -> dict[str, float]:
        """Hook after each collected episode, before the policy updates (world-model training …)."""
        return {}

    def run_episode(self, explore: bool = True) -> dict[str, float]:
        """Collect one training day into the buffer; returns its return and cost."""
        env, cfg = self.env, self.cfg
        obs, _ = env.reset(seed=cfg.seed * 1_000_003 + self.episode)
        self.begin_episode()
        ret, cost = 0.0, 0.0
        rets = np.zeros(self.n)
        while env.agents:
            s = np.asarray(env.state(), np.float32)
            if self.episode < cfg.warmup_episodes:
                acts = {a: self.rng.uniform(-1, 1, d).astype(np.float32) for a, d in zip(self.agents, self.act_dims,
                                                                                          strict=True)}
            else:
                acts = self.act(obs, explore=explore)
            obs2, rew, term, trunc, info = env.step(acts)
            done = all(term.values()) or all(trunc.values())
            act = np.zeros((self.n, self.act_max), np.float32)
            for i, a in enumerate(self.agents):
                act[i, : self.act_dims[i]] = acts[a]
            self.buffer.add(state=s, obs=np.stack([obs[a] for a in self.agents]), act=act,
                            rew=np.array([rew[a] for a in self.agents], np.float32),
                            next_state=np.asarray(env.state(), np.float32),
                            next_obs=np.stack([obs2[a] for a in self.agents]), done=np.float32(done))
            ret += rew[self.agents[0]]
            rets += [rew[a] for a in self.agents]
            cost += info[self.agents[0]]["period_cost"]
            obs = obs2
        if not hasattr(env, "reward_offset"):  # shared reward: one return
            return {"return": ret, "cost": cost}
        # one reward per agent (the market game): their mean, and each agent's own return
        return {"return": float(rets.mean()), "cost": cost, **{f"return_{a}": float(r) for a, r in zip(self.agents, rets,
                                                                                                  strict=True)}}

    def train(self, n_episodes: int | None = None, *, checkpoint_dir: str | Path | None = None,
              progress: Callable[[str], None] | None = None) -> list[dict[str, float]]:
        """Train until ``n_episodes`` (default ``config.n_episodes``) episodes in total.

        Args:
            n_episodes: total budget (a resumed learner continues up to it).
            checkpoint_dir: write ``checkpoint.pt`` every ``checkpoint_interval`` episodes and at the end.
            progress: called with a one-line status every 10 % of the budget.

        Returns:
            The history (one dict per episode: ``episode``, ``return``, ``cost``, losses, ``wall_s``).
        """
        cfg = self.cfg
        total = cfg.n_episodes if n_episodes is None else n_episodes
        with intra_op_threads(cfg.torch_threads or None):
            while self.episode < total:
                t0 = time.perf_counter()
                rec = self.run_episode()
                rec.update(self.after_episode())
                logs: dict[str, float] = {}
                if self.episode >= cfg.warmup_episodes and self.buffer.size >= cfg.batch_size:
                    for _ in range(cfg.updates_per_episode):
                        for k, v in self.update(self.sample_batch()).items():
                            logs[k] = logs.get(k, 0.0) + v / cfg.updates_per_episode
                rec.update(logs)
                rec.update(episode=float(self.episode), wall_s=time.perf_counter() - t0)
                self.history.append(rec)
                self.episode += 1
                if progress and (self.episode % max(1, total // 10) == 0):
                    progress(f"{self.algo} episode {self.episode}/{total}: return {rec['return']:.1f}, "
                             f"cost {rec['cost']:,.0f} $")
                if checkpoint_dir and cfg.checkpoint_interval and self.episode % cfg.checkpoint_interval == 0:
                    self.save(Path(checkpoint_dir) / "checkpoint.pt")
            if checkpoint_dir:
                self.save(Path(checkpoint_dir) / "checkpoint.pt")
        return self.history

    # ---- persistence -------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        """Every trained module by name (subclasses add theirs)."""
        return {"actors": self.actors, "critics": self.critics, "actors_t": self.actors_t, "critics_t": self.critics_t}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimiser by name."""
        return {**{f"actor_opt{i}": o for i, o in enumerate(self.actor_opt)},
                **{f"critic_opt{i}": o for i, o in enumerate(self.critic_opt)}}

    def save(self, path: str | Path) -> None:
        """Write a checkpoint (weights, optimisers, buffer, generator states, history); atomic."""
        ck = {"algo": self.algo, "config": json.dumps(self.cfg.to_dict()), "episode": self.episode,
              "modules": {k: m.state_dict() for k, m in self.modules().items()},
              "optim": {k: o.state_dict() for k, o in self.optimizers().items()},
              "buffer": self.buffer.state_dict(), "rng": json.dumps(self.rng.bit_generator.state),
              "gen": self.gen.get_state(), "history": json.dumps(self.history)}
        atomic_write(Path(path), lambda fh: torch.save(ck, fh))

    def load(self, path: str | Path) -> None:
        """Restore a checkpoint written by :meth:`save` (same algorithm and network sizes).

        Raises:
            ValueError: the checkpoint is of another algorithm.
        """
        ck = torch.load(path, weights_only=True)
        if ck["algo"] != self.algo:
            raise ValueError(f"checkpoint is {ck['algo']}, not {self.algo}")
        for k, m in self.modules().items():
            m.load_state_dict(ck["modules"][k])
        for k, o in self.optimizers().items():
            o.load_state_dict(ck["optim"][k])
        self.buffer.load_state_dict(ck["buffer"])
        self.rng.bit_generator.state = json.loads(ck["rng"])
        self.gen.set_state(ck["gen"])
        self.episode = int(ck["episode"])
        self.history = json.loads(ck["history"])

    def export_weights(self, path: str | Path) -> None:
        """Deployable weights: the actors' tensors only (``torch.load(path, weights_only=True)``); atomic."""
        w = {k: m.state_dict() for k, m in self.modules().items() if k in self.deploy_modules()}
        atomic_write(Path(path), lambda fh: torch.save(w, fh))

    def deploy_modules(self) -> tuple[str, ...]:
        """Names of the modules a deployed policy needs."""
        return ("actors",)

    def load_weights(self, path: str | Path) -> None:
        """Load weights written by :meth:`export_weights`."""
        w = torch.load(path, weights_only=True)
        mods = self.modules()
        for k, sd in w.items():
            mods[k].load_state_dict(sd)


def save_weights(learner: MADDPGLearner, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Registry ``export`` hook: the learner's deployable tensors plus a ``.json`` sidecar of plain data.

    The ``.pt`` holds tensors only (``torch.load(path, weights_only=True)``); the sidecar holds the
    algorithm, config, episodes, training history and ``meta`` (e.g. the command that produced it).
    """
    path = Path(path)
    learner.export_weights(path)
    side = {"algo": learner.algo, "episodes": learner.episode, "config": learner.cfg.to_dict(),
            "history": learner.history, "meta": meta or {}}
    path.with_suffix(".json").write_text(json.dumps(side, default=float))
    return path
