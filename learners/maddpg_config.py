"""Typed, torch-free configs of the market learners (MADDPG, DROMARL), validated at scenario load.

Kept apart from ``learners.maddpg`` / ``learners.dromarl`` so that a scenario's ``training`` block is
checked without importing torch.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from .configs import _check_ranges, checked_hints

__all__ = ["DROMARLConfig", "MADDPGConfig"]


def _from_dict(cls: type, d: dict[str, Any]) -> Any:
    hints = checked_hints(cls, d, cls.__name__)
    out = {}
    for k, v in d.items():
        want = hints[k]
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        base = typing.get_origin(want) is None and isinstance(want, type)
        if base and (not isinstance(v, want) or (want is int and isinstance(v, bool))):
            raise ValueError(f"{cls.__name__}.{k} must be {want.__name__}, got {v!r}")
        out[k] = v
    return cls(**out)


# Numeric options: finite, inside these (inclusive) ranges; the names in _OPEN_LOW must exceed their low.
_MADDPG_RANGES: dict[str, tuple[float | None, float | None]] = {
    "actor_lr": (0.0, None), "critic_lr": (0.0, None), "reward_scale": (0.0, None), "grad_norm_clip": (0.0, None),
    "noise_sd": (0.0, None), "noise_sd_final": (0.0, None), "preact_reg": (0.0, None), "warmup_episodes": (0, None),
    "updates_per_episode": (0, None), "noise_decay_episodes": (0, None),
}
_DROMARL_RANGES: dict[str, tuple[float | None, float | None]] = {
    "wm_lr": (0.0, None), "inertia_lr": (0.0, None), "gp_lipschitz": (0.0, None), "gp_weight": (0.0, None),
    "inertia_init": (None, None),
}
_OPEN_LOW = ("actor_lr", "critic_lr", "reward_scale", "grad_norm_clip", "wm_lr", "inertia_lr", "gp_lipschitz")


@dataclass
class MADDPGConfig:
    """MADDPG hyperparameters (Lowe et al. 2017; defaults sized for the 12-period game on a CPU).

    Attributes:
        hidden: width of the two hidden layers of every actor and critic.
        actor_lr, critic_lr: Adam learning rates.
        reward_scale: rewards are multiplied by this for learning (the nominal day's return of about -30
            becomes -12, a period's reward is of order -1): critic targets of order 1 suit Adam's default
            step sizes and give the gradient penalty's Lipschitz bound a meaning.
        gamma: discount per period (the day ends after 12 periods: the last step is terminal). Close
            to 1 because the day's net-shift penalty arrives at the last period: 0.95 would discount it
            by 0.95^11 = 0.57 at the first period, and MADDPG learned to under-deliver shifted energy.
        tau: Polyak rate of the target networks.
        batch_size: transitions per update.
        buffer_size: replay capacity in transitions (a multiple of the episode length is kept).
        warmup_episodes: episodes of uniform random actions before learning starts.
        updates_per_episode: gradient steps after each episode.
        noise_sd, noise_sd_final: Gaussian exploration sd at the start / after ``noise_decay_episodes``.
        noise_decay_episodes: linear decay length.
        grad_norm_clip: max L2 norm of each network's gradient.
        preact_reg: weight of ``mean(pre^2)`` on the actors' pre-tanh outputs in the actor loss (0: off,
            the default, which keeps earlier results; the market scenarios use 0.01: without it the load
            actor saturated at -1, where the tanh's gradient vanishes, and stayed there; the regulariser
            of Lowe et al.'s reference implementation is of this kind).
        n_episodes: training budget.
        seed: seeds the learner's torch and numpy generators and the training days.
        checkpoint_interval: episodes between checkpoints when a directory is given (0: only at the end).
        torch_threads: intra-op threads while training (None: leave torch's setting); 1 keeps results
            bit-reproducible and is fastest for these tiny batches.
    """

    hidden: int = 64
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    reward_scale: float = 0.4
    gamma: float = 0.99
    tau: float = 0.02
    batch_size: int = 128
    buffer_size: int = 60_000
    warmup_episodes: int = 10
    updates_per_episode: int = 12
    noise_sd: float = 0.3
    noise_sd_final: float = 0.05
    noise_decay_episodes: int = 200
    grad_norm_clip: float = 1.0
    preact_reg: float = 0.0
    n_episodes: int = 300
    seed: int = 0
    checkpoint_interval: int = 0
    torch_threads: int | None = 1

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.batch_size < 1 or self.buffer_size < 1 or self.n_episodes < 0:
            raise ValueError("hidden, batch_size, buffer_size must be >= 1 and n_episodes >= 0")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 < self.tau <= 1.0:
            raise ValueError("gamma must be in [0, 1] and tau in (0, 1]")
        _check_ranges(self, _MADDPG_RANGES, _OPEN_LOW)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MADDPGConfig:
        """Build from a mapping; unknown keys or wrong types raise ``ValueError``."""
        return _from_dict(cls, d)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for checkpoints and manifests)."""
        return dataclasses.asdict(self)


@dataclass
class DROMARLConfig(MADDPGConfig):
    """DROMARL = MADDPG plus a VRNN world model, a gradient-penalised critic and the two special actors.

    Attributes:
        latent_dim: VRNN latent size; rnn_hidden: VRNN GRU width.
        wm_lr: world-model Adam learning rate; wm_updates_per_episode: ELBO steps per episode.
        wm_batch_episodes: episodes per world-model batch.
        gp_weight: weight of the gradient penalty in the critic loss.
        gp_lipschitz: the penalty pushes the critic's state-gradient norm below this (one-sided); in
            scaled-reward units per unit of the (order-1) state features.
        inertia_lr: learning rate of the load actor's inertia coefficient.
        inertia_init: the coefficient's initial value (before any data).
    """

    latent_dim: int = 8
    rnn_hidden: int = 32
    wm_lr: float = 1e-3
    wm_updates_per_episode: int = 2
    wm_batch_episodes: int = 16
    gp_weight: float = 1.0
    gp_lipschitz: float = 5.0
    inertia_lr: float = 0.05
    inertia_init: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_ranges(self, _DROMARL_RANGES, _OPEN_LOW)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DROMARLConfig:
        """Build from a mapping; unknown keys or wrong types raise ``ValueError``."""
        return _from_dict(cls, d)
