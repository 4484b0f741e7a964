"""Multi-agent reinforcement learners of vppsim.

:data:`LEARNERS` names each learner, says where it lives and what it can train on;
:func:`make_learner` builds one from a scenario's mapping. Modules are imported only
when a learner is requested, so ``import learners`` stays cheap (no torch import).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LearnerEntry:
    """Registry record of one learner.

    Attributes:
        module: module holding the learner and its config class.
        learner: learner class name; constructed as ``cls(spec, config)``.
        config: config class name; it must provide ``from_dict``.
        discrete_actions: can train agents with discrete action sets.
        continuous_actions: can train agents with continuous actions.
        fixed: config values this entry imposes (e.g. the VDN mixer).
        description: one line for listings.
    """

    module: str
    learner: str
    config: str
    discrete_actions: bool
    continuous_actions: bool
    fixed: dict[str, Any] = field(default_factory=dict)
    description: str = ""


LEARNERS: dict[str, LearnerEntry] = {
    "qmix": LearnerEntry("learners.qmix", "QMIXLearner", "QMIXConfig", True, False, {"mixer": "qmix"},
                         "QMIX: recurrent agents, monotonic hypernetwork mixer (Rashid et al. 2018)"),
    "vdn": LearnerEntry("learners.qmix", "QMIXLearner", "QMIXConfig", True, False, {"mixer": "vdn"},
                        "VDN: recurrent agents, team value = sum of agent values (Sunehag et al. 2018)"),
}


def make_learner(name: str, spec: Any, config: dict[str, Any] | None = None) -> Any:
    """Build a registered learner for an environment spec.

    Args:
        name: a key of :data:`LEARNERS`.
        spec: the environment's :class:`learners.marl_env.EnvSpec`.
        config: overrides of the learner's default config (e.g. a scenario's ``learner:`` block).

    Raises:
        ValueError: unknown learner, a config that contradicts the entry, or unknown config keys.
        learners.marl_env.UnsupportedEnvError: the learner cannot handle the environment's actions.
    """
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; available: {sorted(LEARNERS)}")
    entry = LEARNERS[name]
    config = dict(config or {})
    for key, value in entry.fixed.items():
        if config.setdefault(key, value) != value:
            raise ValueError(f"learner {name!r} requires {key}={value!r}, got {config[key]!r}")
    module = importlib.import_module(entry.module)
    cfg = getattr(module, entry.config).from_dict(config)
    return getattr(module, entry.learner)(spec, cfg)
