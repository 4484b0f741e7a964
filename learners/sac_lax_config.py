"""Typed, torch-free config of the Stable-Baselines3 learners of seed 001 (``learners.sac_lax``).

Kept apart from :mod:`learners.sac_lax` so a scenario's training block is validated without
importing torch (as :mod:`learners.configs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .configs import config_from_dict

__all__ = ["METHODS", "SB3Config"]

#: method name -> (SB3 algorithm, in-loop projection, forecast-augmented state)
METHODS: dict[str, tuple[str, bool, bool]] = {
    "sac": ("sac", False, False),
    "sac_l": ("sac", True, False),
    "sac_lax": ("sac", True, True),
    "ppo": ("ppo", False, False),
    "ddpg": ("ddpg", False, False),
    "td3": ("td3", False, False),
}


@dataclass
class SB3Config:
    """Hyper-parameters of one SB3 learner on the multi-energy env.

    SAC values are seed 001 Table 3 (lr 3e-4, gamma 0.99, tau 0.005, batch 64, entropy "auto_0.1":
    automatic tuning from an initial 0.1); the rest are SB3 defaults unless noted.

    Attributes:
        method: ``sac``, ``sac_l``, ``sac_lax``, ``ppo``, ``ddpg`` or ``td3`` (sets ``algo``, projection, forecast).
        lr: learning rate (all algorithms).
        gamma: discount per hour.
        tau: Polyak coefficient (SAC, TD3, DDPG).
        batch_size: minibatch (SAC, TD3, DDPG: Table 3's 64; PPO: 64 too).
        ent_coef: SAC entropy coefficient, SB3 syntax (``"auto_0.1"`` = Table 3).
        buffer_size: replay capacity in transitions.
        learning_starts: random-action steps before updates (vppsim choice: 10 days).
        ppo_n_steps: PPO rollout length (a multiple of 24 so rollouts end with a day).
        action_noise: Gaussian exploration sd of TD3/DDPG (normalised units).
        net_arch: hidden widths of actor and critic.
        forecast_k: look-ahead hours k of the augmented state s~ = [s, y^_{t+1:t+k}] (choice: 4, the MPC horizon).
        reward_scale: reward = -cost * reward_scale (1e-3: per thousand CNY).
        seed: seeds SB3 (which uses the global python/numpy/torch generators: checkpoints save their states).
        n_episodes: training budget in days.
        checkpoint_interval: episodes per learn() chunk and checkpoint (training is chunked the same way
            with or without a checkpoint directory, so a resumed run is identical to an uninterrupted one).
        torch_threads: intra-op threads (1: fastest for these tiny networks on a shared CPU).
        replay_action: with the projection, the action stored in the replay buffer: ``"feasible"`` (seed
            001 §3.4: a_feas, the default) or ``"raw"`` (the actor's a_raw, the projection then being part
            of the environment the critic learns; the next state and reward still come from a_feas).
    """

    method: Literal["sac", "sac_l", "sac_lax", "ppo", "ddpg", "td3"] = "sac_lax"
    lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    batch_size: int = 64
    ent_coef: str = "auto_0.1"
    buffer_size: int = 200_000
    learning_starts: int = 240
    ppo_n_steps: int = 240
    action_noise: float = 0.1
    net_arch: tuple[int, ...] = (64, 64)
    forecast_k: int = 4
    reward_scale: float = 1e-3
    seed: int = 0
    n_episodes: int = 200
    checkpoint_interval: int = 20
    torch_threads: int | None = 1
    replay_action: Literal["feasible", "raw"] = "feasible"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {sorted(METHODS)}, got {self.method!r}")
        for k in ("batch_size", "buffer_size", "ppo_n_steps", "forecast_k", "n_episodes", "checkpoint_interval"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be >= 1")
        if self.replay_action not in ("feasible", "raw"):
            raise ValueError(f"replay_action must be 'feasible' or 'raw', got {self.replay_action!r}")
        if self.ppo_n_steps % 24:
            raise ValueError("ppo_n_steps must be a multiple of 24 (one day)")
        self.net_arch = tuple(int(x) for x in self.net_arch)

    @property
    def algo(self) -> str:
        return METHODS[self.method][0]

    @property
    def projection(self) -> bool:
        return METHODS[self.method][1]

    @property
    def forecast(self) -> bool:
        return METHODS[self.method][2]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SB3Config:
        """Raises ValueError on unknown keys or badly typed values."""
        d = dict(d)
        arch = d.pop("net_arch", None)
        cfg = config_from_dict(cls, d, "sb3")
        if arch is not None:
            cfg.net_arch = tuple(int(x) for x in arch)
        return cfg
