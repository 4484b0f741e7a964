"""DROMARL: distributionally robust MADDPG with a VRNN world model (seed 000), for the supply/load game.

Four parts on top of :class:`learners.maddpg.MADDPGLearner` (``docs/market.md`` §5):

1. **World model** :class:`VRNN` (Chung et al. 2015) of the game's global state sequence ``x_t``
   (``env.state()``), trained on the replayed days by maximising the ELBO
   ``sum_t E_q[log p(x_t | z_t, h_{t-1})] - KL(q(z_t | x_t, h_{t-1}) || p(z_t | h_{t-1}))`` with the
   recurrence ``h_t = GRU([phi_x(x_t), phi_z(z_t), a_{t-1}], h_{t-1})`` (``a_{t-1}``: the previous joint
   action, the one that led to ``x_t``).
2. **Robust critic**: the TD loss plus ``lambda * GP``, a one-sided gradient penalty
   ``E[max(0, ||grad_s Q(s~, a)|| - L)^2]`` on states ``s~ = alpha s + (1 - alpha) s^`` interpolated between
   observed states ``s`` and world-model samples ``s^ ~ p(x_t | h_{t-1})`` (:func:`gradient_penalty`).
   A critic that is L-Lipschitz in the state changes by at most ``L * W_1`` between two state
   distributions at Wasserstein-1 distance ``W_1`` (Kantorovich-Rubinstein duality), so its value is
   robust within a Wasserstein ball around the data (Gulrajani et al. 2017 for the penalty). The seed's
   ``real_samples.float()`` bug does not arise: every tensor here is float32 and the penalty is tested.
3. **Inertia-aware load actor**: the load's actor outputs the *realised* adjustment it wants, ``d_t``;
   the command sent is ``c_t = (d_t - rho^ r_{t-1}) / (1 - rho^)``, inverting the AR(1) inertia with a
   learned coefficient ``rho^ = sigmoid(theta)`` fitted by least squares on replayed
   ``(r_{t-1}, c_t, r_t)``.
4. **Uncertainty-aware supply actors**: their input is the observation plus the world model's
   predictive standard deviation of the next period's demand and price features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .maddpg import MADDPGLearner
from .maddpg_config import DROMARLConfig
from .market_env import IDX_BASELINE, IDX_DEMAND, IDX_OWN, IDX_PRICE, IDX_REALISED

__all__ = ["DROMARLLearner", "VRNN", "gradient_penalty"]

LOG2PI = float(np.log(2 * np.pi))


def gradient_penalty(critic: Any, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor, *,
                     lipschitz: float = 1.0, one_sided: bool = True) -> torch.Tensor:
    """Gradient penalty on states interpolated between observed and world-model states.

    ``s~ = alpha * real + (1 - alpha) * fake``; penalty ``mean(max(0, ||dQ/ds~|| - L)^2)`` (one-sided:
    a Lipschitz bound, enough for robustness) or ``mean((||dQ/ds~|| - L)^2)`` (WGAN-GP's two-sided form).

    Args:
        critic: callable ``(B, S) -> (B,)`` or ``(B, 1)`` (actions already bound in).
        real, fake: (B, S) float states.
        alpha: (B, 1) interpolation weights in [0, 1].
        lipschitz: L.
        one_sided: penalise only norms above L.

    Returns:
        Scalar penalty, differentiable w.r.t. the critic's parameters (``create_graph=True``).
    """
    s = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    q = critic(s).reshape(-1)
    (grad,) = torch.autograd.grad(q.sum(), s, create_graph=True)
    excess = grad.norm(dim=-1) - lipschitz
    if one_sided:
        excess = excess.clamp(min=0.0)
    return (excess ** 2).mean()


def _gauss_nll(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (LOG2PI + logvar + (x - mu) ** 2 / logvar.exp()).sum(-1)


def _kl(mq: torch.Tensor, lq: torch.Tensor, mp: torch.Tensor, lp: torch.Tensor) -> torch.Tensor:
    return 0.5 * (lp - lq + (lq.exp() + (mq - mp) ** 2) / lp.exp() - 1.0).sum(-1)


class VRNN(nn.Module):
    """Variational RNN world model with diagonal Gaussian prior, posterior and decoder.

    Args:
        x_dim: state size X; a_dim: joint action size A; z_dim: latent size; h_dim: GRU width.
        gen: generator for initialisation.
    """

    def __init__(self, x_dim: int, a_dim: int, z_dim: int, h_dim: int, gen: torch.Generator) -> None:
        super().__init__()
        self.x_dim, self.a_dim, self.z_dim, self.h_dim = x_dim, a_dim, z_dim, h_dim
        self.phi_x = nn.Sequential(nn.Linear(x_dim, h_dim), nn.ReLU())
        self.phi_z = nn.Sequential(nn.Linear(z_dim, h_dim), nn.ReLU())
        self.prior = nn.Sequential(nn.Linear(h_dim, h_dim), nn.ReLU(), nn.Linear(h_dim, 2 * z_dim))
        self.enc = nn.Sequential(nn.Linear(2 * h_dim, h_dim), nn.ReLU(), nn.Linear(h_dim, 2 * z_dim))
        self.dec = nn.Sequential(nn.Linear(2 * h_dim, h_dim), nn.ReLU(), nn.Linear(h_dim, 2 * x_dim))
        self.rnn = nn.GRUCell(2 * h_dim + a_dim, h_dim)
        for p in self.parameters():
            b = 1.0 / np.sqrt(p.shape[-1] if p.dim() > 1 else h_dim)
            nn.init.uniform_(p, -b, b, generator=gen)

    @staticmethod
    def _split(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = y.chunk(2, -1)
        return mu, logvar.clamp(-8.0, 4.0)

    def step(self, x: torch.Tensor, a_prev: torch.Tensor, h: torch.Tensor, gen: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One time step: (B, X) state, (B, A) previous action, (B, H) memory -> new memory and terms.

        Returns:
            ``(h_t, terms)`` with ``nll`` (B,), ``kl`` (B,), ``prior`` (mu, logvar) of z_t.
        """
        mp, lp = self._split(self.prior(h))
        mq, lq = self._split(self.enc(torch.cat([self.phi_x(x), h], -1)))
        z = mq + (0.5 * lq).exp() * torch.randn(mq.shape, generator=gen)
        mx, lx = self._split(self.dec(torch.cat([self.phi_z(z), h], -1)))
        h2 = self.rnn(torch.cat([self.phi_x(x), self.phi_z(z), a_prev], -1), h)
        return h2, {"nll": _gauss_nll(x, mx, lx), "kl": _kl(mq, lq, mp, lp)}

    def predict(self, h: torch.Tensor, gen: torch.Generator, n_samples: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
        """Predictive distribution of the next state from memory ``h`` (B, H).

        Returns:
            ``(sample, std)``: one sample (B, X) of ``p(x | h)`` and the predictive std (B, X) from
            ``n_samples`` prior draws (law of total variance: spread of decoder means + mean decoder variance).
        """
        mp, lp = self._split(self.prior(h))
        z = mp[None] + (0.5 * lp).exp()[None] * torch.randn((n_samples, *mp.shape), generator=gen)
        hh = h[None].expand(n_samples, *h.shape)
        mx, lx = self._split(self.dec(torch.cat([self.phi_z(z), hh], -1)))
        var = mx.var(0, unbiased=False) + lx.exp().mean(0)
        sample = mx[0] + (0.5 * lx[0]).exp() * torch.randn(mx[0].shape, generator=gen)
        return sample, var.sqrt()

    def forward(self, x: torch.Tensor, a: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
        """Run over sequences: x (B, T, X) states, a (B, T, A) actions (a_t taken at x_t).

        Returns:
            ``elbo`` (scalar, per sequence mean), ``nll``/``kl`` (scalars), ``h`` (B, T, H) memories after
            each step, ``h_prev`` (B, T, H) memories before each step.
        """
        B, T, _ = x.shape
        h = x.new_zeros(B, self.h_dim)
        a_prev = x.new_zeros(B, self.a_dim)
        nll, kl, hs, hp = 0.0, 0.0, [], []
        for t in range(T):
            hp.append(h)
            h, terms = self.step(x[:, t], a_prev, h, gen)
            hs.append(h)
            nll = nll + terms["nll"]
            kl = kl + terms["kl"]
            a_prev = a[:, t]
        nll_m, kl_m = nll.mean(), kl.mean()
        return {"elbo": -(nll_m + kl_m), "nll": nll_m, "kl": kl_m, "h": torch.stack(hs, 1), "h_prev": torch.stack(hp, 1)}


class DROMARLLearner(MADDPGLearner):
    """DROMARL on the supply/load game (:class:`learners.market_env.MarketEnv`); see the module docstring.

    Attributes:
        wm: the VRNN world model; inertia_logit: the load actor's learned ``theta`` (``rho^ = sigmoid``).
        load_index: position of the ``load`` agent; supply agents are all others.
    """

    algo = "dromarl"
    N_UNC = 2  # predictive std of the demand and price features

    def __init__(self, env: Any = None, config: DROMARLConfig | None = None) -> None:
        super().__init__(env, config or DROMARLConfig())

    def actor_input_dim(self, i: int) -> int:
        """Supply actors see ``N_UNC`` predictive stds besides their observation."""
        return self.obs_dim + (0 if self.agents[i] == "load" else self.N_UNC)

    def _build(self) -> None:
        super()._build()
        cfg: DROMARLConfig = self.cfg  # type: ignore[assignment]
        self.load_index = self.agents.index("load")
        self.wm = VRNN(self.state_dim, sum(self.act_dims), cfg.latent_dim, cfg.rnn_hidden, self.gen)
        self.wm_opt = torch.optim.Adam(self.wm.parameters(), lr=cfg.wm_lr)
        rho0 = min(max(cfg.inertia_init, 1e-3), 1 - 1e-3)
        self.inertia_logit = nn.Parameter(torch.tensor(float(np.log(rho0 / (1 - rho0)))))
        self.inertia_opt = torch.optim.Adam([self.inertia_logit], lr=cfg.inertia_lr)
        self._h: torch.Tensor | None = None

    @property
    def inertia(self) -> float:
        """The learned inertia coefficient rho^."""
        return float(torch.sigmoid(self.inertia_logit.detach()))

    # ---- actors ------------------------------------------------------------------------------------
    def actor_input(self, i: int, obs: torch.Tensor, extra: dict[str, torch.Tensor]) -> torch.Tensor:
        """Supply actors: observation + the world model's predictive stds; load: its observation."""
        return obs[:, i] if i == self.load_index else torch.cat([obs[:, i], extra["x_std"]], -1)

    def actor_forward(self, i: int, obs: torch.Tensor, extra: dict[str, torch.Tensor], target: bool = False
                      ) -> torch.Tensor:
        """Load: desired realised adjustment -> command through the learned inertia; supply: obs + stds."""
        net = (self.actors_t if target else self.actors)[i]
        o = obs[:, i]
        if i != self.load_index:
            return net(self.actor_input(i, obs, extra))
        d = net(o)  # desired realised adjustment, in units of 40 % of the flexible peak
        rho = torch.sigmoid(self.inertia_logit).detach().clamp(max=0.95)
        cmd = (d - rho * o[:, IDX_REALISED:IDX_REALISED + 1]) / (1.0 - rho)
        # action = command / (0.4 F_t) = command (in units of 0.4 x flexible peak) / (F_t / flexible peak)
        return (cmd / o[:, IDX_BASELINE:IDX_BASELINE + 1].clamp(min=1e-3)).clamp(-1.0, 1.0)

    def _unc(self, std: torch.Tensor) -> torch.Tensor:
        return std[..., [IDX_DEMAND, IDX_PRICE]]

    def begin_episode(self) -> None:
        """Reset the world model's memory at the start of a day."""
        self._h = torch.zeros(1, self.wm.h_dim)
        self._a_prev = torch.zeros(1, self.wm.a_dim)

    @torch.no_grad()
    def acting_features(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Advance the world model with the current state and give the predictive std of the next one."""
        if self._h is None:
            self.begin_episode()
        x = torch.from_numpy(np.asarray(self.env.state(), np.float32))[None]
        self._h, _ = self.wm.step(x, self._a_prev, self._h, self.gen)
        _, std = self.wm.predict(self._h, self.gen)
        return {"x_std": self._unc(std)}

    def after_act(self, obs: torch.Tensor, actions: dict[str, np.ndarray]) -> None:
        """Remember the joint action for the next world-model step."""
        self._a_prev = torch.from_numpy(np.concatenate([actions[a] for a in self.agents]).astype(np.float32))[None]

    # ---- batches with world-model features ----------------------------------------------------------
    @torch.no_grad()
    def sample_batch(self) -> dict[str, torch.Tensor]:
        """Whole replayed days, flattened to transitions, with world-model samples and stds attached.

        Keys added: ``fake_state`` (B, S) one-step predictive samples ``s^_t ~ p(x_t | h_{t-1})``;
        ``x_std`` / ``next_x_std`` (B, 2) predictive stds at ``t`` and ``t + 1``.
        """
        n_ep = max(1, int(np.ceil(self.cfg.batch_size / self.T)))
        b = self.buffer.sample_episodes(n_ep, self.rng)
        a = self._flat_act(b["act"].reshape(-1, self.n, self.act_max)).reshape(n_ep, self.T, -1)
        out = self.wm(b["state"], a, self.gen)
        fake, _ = self.wm.predict(out["h_prev"].reshape(-1, self.wm.h_dim), self.gen, n_samples=1)
        _, std = self.wm.predict(out["h"].reshape(-1, self.wm.h_dim), self.gen)
        unc = self._unc(std).reshape(n_ep, self.T, -1)
        nxt = torch.cat([unc[:, 1:], unc[:, -1:]], 1)  # the day's last step is terminal
        flat = {k: v.reshape(n_ep * self.T, *v.shape[2:]) for k, v in b.items()}
        flat.update(fake_state=fake, x_std=unc.reshape(n_ep * self.T, -1), next_x_std=nxt.reshape(n_ep * self.T, -1))
        return flat

    # ---- losses ------------------------------------------------------------------------------------
    def critic_loss(self, i: int, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """TD loss + ``gp_weight`` x gradient penalty between observed and world-model states."""
        td, _ = super().critic_loss(i, b)
        cfg: DROMARLConfig = self.cfg  # type: ignore[assignment]
        joint = self._flat_act(b["act"])
        alpha = torch.rand((joint.shape[0], 1), generator=self.gen)
        gp = gradient_penalty(lambda s: self.critics[i](torch.cat([s, joint], -1)), b["state"], b["fake_state"],
                              alpha, lipschitz=cfg.gp_lipschitz)
        return td + cfg.gp_weight * gp, {"gp": gp.item(), "td_loss": td.item()}

    def update(self, b: dict[str, torch.Tensor]) -> dict[str, float]:
        """MADDPG step (with the robust critic) plus a least-squares step on the inertia coefficient."""
        logs = super().update(b)
        li = self.load_index
        r_prev = b["obs"][:, li, IDX_REALISED]
        r = b["next_obs"][:, li, IDX_REALISED]
        c = b["next_obs"][:, li, IDX_OWN]
        rho = torch.sigmoid(self.inertia_logit)
        loss = ((r - rho * r_prev - (1 - rho) * c) ** 2).mean()
        self.inertia_opt.zero_grad()
        loss.backward()
        self.inertia_opt.step()
        logs["inertia_loss"] = loss.item()
        return logs

    def train_world_model(self, n_steps: int) -> float:
        """``n_steps`` Adam steps on the negative ELBO over replayed days; returns the mean loss."""
        cfg: DROMARLConfig = self.cfg  # type: ignore[assignment]
        if self.buffer.size < self.T:
            return float("nan")
        total = 0.0
        for _ in range(n_steps):
            b = self.buffer.sample_episodes(cfg.wm_batch_episodes, self.rng)
            n_ep = b["state"].shape[0]
            a = self._flat_act(b["act"].reshape(-1, self.n, self.act_max)).reshape(n_ep, self.T, -1)
            loss = -self.wm(b["state"], a, self.gen)["elbo"]
            self.wm_opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.wm.parameters(), 10.0)
            self.wm_opt.step()
            total += loss.item() / n_steps
        return total

    def after_episode(self) -> dict[str, float]:
        """Train the world model on the replayed days; log the learned inertia."""
        cfg: DROMARLConfig = self.cfg  # type: ignore[assignment]
        return {"wm_loss": self.train_world_model(cfg.wm_updates_per_episode), "inertia": self.inertia}

    # ---- persistence -------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        """MADDPG's modules plus the world model and the inertia parameter."""
        holder = nn.Module()
        holder.inertia_logit = self.inertia_logit
        return {**super().modules(), "wm": self.wm, "inertia": holder}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """MADDPG's optimisers plus the world model's and the inertia's."""
        return {**super().optimizers(), "wm_opt": self.wm_opt, "inertia_opt": self.inertia_opt}

    def deploy_modules(self) -> tuple[str, ...]:
        """A deployed DROMARL policy needs its actors, the world model and the inertia."""
        return ("actors", "wm", "inertia")

