"""Observation features of DER agents (one row per unit, float32).

Each discrete device kind defines its feature columns (``DeviceKind.features``)
and how to compute them (``DeviceKind.observe``); the layout is fixed so that
trained weights stay valid (``docs/policies.md``). Every feature is scaled to
roughly [-1, 1].
"""

from __future__ import annotations

import numpy as np

from .kinds import registered_kinds
from .kinds.ac import AC_FEATURES
from .kinds.ev import EV_FEATURES

__all__ = ["AC_FEATURES", "EV_FEATURES", "OBS_DIM", "obs_dims", "observe"]


def obs_dims() -> dict[str, int]:
    """Feature count of every registered discrete kind."""
    return {name: len(k.features) for name, k in registered_kinds().items() if k.actions == "discrete"}


OBS_DIM: dict[str, int] = obs_dims()


def observe(view) -> np.ndarray:
    """Feature matrix (n, n_features) for a :class:`aggregation.policy.KindView`."""
    return view.kind_cls.observe(view)
