"""Torch-free typed config of the improved MADDPG and the MADDPG–MPC framework (seed 002 §4.2, §5.1).

Kept apart from :mod:`learners.maddpg_mpc` so that a scenario's ``training`` block (and the method
registry) can validate it without importing torch. Extends :class:`learners.maddpg_config.MADDPGConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .maddpg_config import MADDPGConfig, _from_dict

__all__ = ["MADDPGMPCConfig"]


@dataclass
class MADDPGMPCConfig(MADDPGConfig):
    """Seed 002's improved MADDPG (+ the real-time MPC feedback) hyperparameters.

    Inherited fields keep :class:`MADDPGConfig`'s meaning; defaults changed to seed 002 §5.1:
    τ 0.01, batch 64, buffer 1e5, γ 0.99 (§4.1 ①), reward scale 1 (the AHP reward is already
    normalised, a period's reward is of order −0.1 … −1).

    Attributes:
        actor_hidden: actor widths (seed: 3 × 128, ReLU, tanh output).
        critic_hidden: critic widths (seed: 2 × 256).
        critic_activation: ``"leaky_relu"`` (seed) or ``"relu"``.
        optimizer: ``"adadelta"`` (seed §4.2 ③: ρ 0.95, ε 1e-6; torch's own) or ``"adam"`` (``actor_lr``/``critic_lr``).
        adadelta_lr, adadelta_rho, adadelta_eps: Adadelta's step multiplier (torch default 1.0), ρ and ε.
        replay: ``"per"`` (prioritised, :mod:`learners.per`) or ``"uniform"``.
        per_alpha, per_eps, per_beta0: α 0.6, ε 0.001, β 0.4 → 1 over training (seed §4.2 ①).
        noise: ``"adaptive"`` (σ_max·e^(−k·t) + σ_min, :mod:`learners.noise`) or ``"gaussian"`` (fixed σ).
        sigma_max, sigma_min, noise_k: seed §4.2 ②: 0.3, 0.05, 0.001 per episode.
        sigma_fixed: σ of the fixed noise (traditional DDPG; a choice: 0.1).
        feedback: feed the MPC's executed actions (and their deviation from the plan) back into the
            replay (seed §4.1 ② bidirectional feedback); False for the ablation.
        feedback_every: every ``feedback_every``-th training day is a two-stage day (plan on the
            forecast, NLP MPC executes on the realisation); the others are plain exploration days.
        forecast_error: relative forecast error of the two-stage days and of the MPC's forecasts.
        mpc_horizon_h: the MPC's window H (seed: 4 h).
        track_weight: ρ of the MPC's plan-tracking term, $/(MW²·h).
        single_agent: one agent for the whole site (the "traditional DDPG" baseline).
        reward: ``"ahp"`` (seed 002 §4.3 ④) or ``"cost"``.
        weights: the four AHP weights (cost, grid, absorption, carbon) = (0.4, 0.2, 0.3, 0.1).
    """

    tau: float = 0.01
    batch_size: int = 64
    buffer_size: int = 100_000
    gamma: float = 0.99
    reward_scale: float = 1.0
    warmup_episodes: int = 5
    updates_per_episode: int = 24
    actor_hidden: tuple[int, ...] = (128, 128, 128)
    critic_hidden: tuple[int, ...] = (256, 256)
    critic_activation: str = "leaky_relu"
    optimizer: str = "adadelta"
    adadelta_lr: float = 1.0
    adadelta_rho: float = 0.95
    adadelta_eps: float = 1e-6
    replay: str = "per"
    per_alpha: float = 0.6
    per_eps: float = 1e-3
    per_beta0: float = 0.4
    noise: str = "adaptive"
    sigma_max: float = 0.3
    sigma_min: float = 0.05
    noise_k: float = 0.001
    sigma_fixed: float = 0.1
    feedback: bool = True
    feedback_every: int = 4
    forecast_error: float = 0.1
    mpc_horizon_h: float = 4.0
    track_weight: float = 1.0
    single_agent: bool = False
    reward: str = "ahp"
    weights: tuple[float, ...] = (0.4, 0.2, 0.3, 0.1)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.actor_hidden = tuple(int(h) for h in self.actor_hidden)
        self.critic_hidden = tuple(int(h) for h in self.critic_hidden)
        self.weights = tuple(float(w) for w in self.weights)
        checks = {"critic_activation": ("leaky_relu", "relu"), "optimizer": ("adadelta", "adam"),
                  "replay": ("per", "uniform"), "noise": ("adaptive", "gaussian"), "reward": ("ahp", "cost")}
        for k, allowed in checks.items():
            if getattr(self, k) not in allowed:
                raise ValueError(f"{k} must be one of {allowed}, got {getattr(self, k)!r}")
        if not self.actor_hidden or not self.critic_hidden or min(self.actor_hidden + self.critic_hidden) < 1:
            raise ValueError("hidden widths must be >= 1")
        if self.feedback_every < 1 or not 0.0 <= self.forecast_error <= 1.0 or self.mpc_horizon_h <= 0:
            raise ValueError("need feedback_every >= 1, forecast_error in [0, 1], mpc_horizon_h > 0")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MADDPGMPCConfig:
        """Build from a mapping; unknown keys or wrong types raise ``ValueError``."""
        return _from_dict(cls, d)

    @classmethod
    def variant(cls, name: str, **kw: Any) -> MADDPGMPCConfig:
        """Named variants of seed 002 Tables 4–6.

        ``"ddpg"``: single agent, uniform replay, fixed noise, no feedback (traditional DDPG);
        ``"A"``: MADDPG, uniform, fixed noise (Table 5 basic); ``"B"``: A + PER; ``"C"``: A + adaptive
        noise; ``"D"`` / ``"improved"``: PER + adaptive noise (no MPC feedback); ``"full"``: D + MPC feedback.

        Raises:
            ValueError: unknown name.
        """
        table = {
            "ddpg": dict(single_agent=True, replay="uniform", noise="gaussian", feedback=False),
            "A": dict(replay="uniform", noise="gaussian", feedback=False),
            "B": dict(replay="per", noise="gaussian", feedback=False),
            "C": dict(replay="uniform", noise="adaptive", feedback=False),
            "D": dict(replay="per", noise="adaptive", feedback=False),
            "improved": dict(replay="per", noise="adaptive", feedback=False),
            "full": dict(replay="per", noise="adaptive", feedback=True),
        }
        if name not in table:
            raise ValueError(f"unknown variant {name!r}; known: {sorted(table)}")
        return cls(**{**table[name], **kw})
