"""Adaptive exploration noise of seed 002 §4.2 ②: σ(t) = σ_max·e^(−k·t) + σ_min.

σ_max = 0.3, σ_min = 0.05, k = 0.001, t = training episodes so far (the seed: "a simple
exponential-decay update per episode"). As written, σ(0) = σ_max + σ_min = 0.35 and σ(∞) = σ_min;
with the seed's 2,000 episodes σ(2000) = 0.091. Reduced budgets may set ``k`` so that the same
fraction of the decay happens (``k = 0.001·2000/n_episodes``); the default is the seed's.

:class:`AdaptiveGaussianNoise` has the interface of :class:`learners.maddpg.GaussianNoise`
(``sd(episode)``, ``__call__(shape, episode, rng)``). :class:`FixedGaussianNoise` is the
"traditional DDPG" baseline's constant σ (Table 5 ablation A/B).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["AdaptiveGaussianNoise", "FixedGaussianNoise"]


class AdaptiveGaussianNoise:
    """Gaussian noise N(0, σ(t)²) with σ(t) = σ_max·exp(−k·t) + σ_min (seed 002 §4.2 ②).

    Args:
        sigma_max: initial intensity σ_max (action units, actions in [−1, 1]).
        sigma_min: floor σ_min.
        k: decay rate per episode.

    Raises:
        ValueError: negative σ or k.
    """

    def __init__(self, sigma_max: float = 0.3, sigma_min: float = 0.05, k: float = 0.001) -> None:
        if sigma_max < 0 or sigma_min < 0 or k < 0:
            raise ValueError("sigma_max, sigma_min and k must be >= 0")
        self.sigma_max, self.sigma_min, self.k = float(sigma_max), float(sigma_min), float(k)

    def sd(self, episode: int) -> float:
        """σ(t) at episode ``t`` (>= 0)."""
        return self.sigma_max * math.exp(-self.k * max(0, episode)) + self.sigma_min

    def __call__(self, shape: tuple[int, ...], episode: int, rng: np.random.Generator) -> np.ndarray:
        """A sample of N(0, σ(episode)²) of ``shape`` from the caller's generator."""
        return rng.normal(0.0, self.sd(episode), shape)


class FixedGaussianNoise:
    """Constant-σ Gaussian noise (the traditional DDPG baseline); σ = 0.1 by default (a choice)."""

    def __init__(self, sigma: float = 0.1) -> None:
        if sigma < 0:
            raise ValueError("sigma must be >= 0")
        self.sigma = float(sigma)

    def sd(self, episode: int) -> float:
        """σ (constant)."""
        return self.sigma

    def __call__(self, shape: tuple[int, ...], episode: int, rng: np.random.Generator) -> np.ndarray:
        """A sample of N(0, σ²) of ``shape``."""
        return rng.normal(0.0, self.sigma, shape)
