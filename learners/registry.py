"""The one registry of everything that decides or learns in vppsim.

Each :class:`MethodEntry` names a method (``rule``, ``greedy``, ``qmix``,
``vdn``, ``mip``, ``lagrangian`` …) and says, as dotted ``"module:Class"``
strings imported only when used, what acts for it:

* ``policy``: a fleet policy (``act(view) -> actions`` per device kind);
* ``decider``: a period decider (``decider(views, policy) -> {kind: actions}``),
  e.g. the optimisation baselines, run over ``base_policy``;
* ``learner``: a trainable learner built as ``cls(env_spec, config)``.

A typed, torch-free ``config`` class (a dataclass with ``from_dict``) validates
the method's options when a scenario is loaded, so ``import scenarios.schema``
never imports torch. The CLI (``vppsim train --learner``, ``vppsim list``), the
scenario schema (``method:``, ``policy.kind``, ``training.learner``) and the
pipelines all read this registry; there is no other list.

Adding a method is one module plus one call::

    from learners.registry import MethodEntry, register
    register(MethodEntry("mine", "my constant policy", policy="mypkg.mine:MinePolicy"))
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .configs import LagrangianConfig, MIPConfig, NoConfig, QMIXConfig
from .maddpg_config import DROMARLConfig, MADDPGConfig
from .maddpg_mpc_config import MADDPGMPCConfig
from .sac_lax_config import SB3Config

__all__ = [
    "MethodEntry", "config_for", "get", "load_object", "make_decider", "make_learner", "make_policy", "names",
    "entries", "register", "unregister",
]

DeciderKind = Literal["policy", "period_decider"]


@dataclass(frozen=True)
class MethodEntry:
    """Registry record of one method.

    Attributes:
        name: the name scenarios and the CLI use.
        description: one line for listings.
        policy: ``"module:Class"`` of the fleet policy, built as ``cls()`` or ``cls(weights)``
            (the class itself is accepted too).
        decider: ``"module:Class"`` of a period decider, built as ``cls(**options)`` and called
            as ``decider(views, policy)`` or, with VPP targets, ``decider(views, policy, targets=...)``.
        learner: ``"module:Class"`` of a trainable learner, built as ``cls(env_spec, config)``.
        config: torch-free typed config class with ``from_dict`` (``NoConfig`` when none).
        fixed: config values this entry imposes (e.g. VDN's ``mixer: vdn``).
        train_defaults: the ``training.config`` a scenario gets when it gives none.
        base_policy: for a decider, the registered policy its views come from.
        self_organising: the controlled day runs the self-organising hierarchy with this policy.
        baseline: this is the uncontrolled baseline (a run with it alone has no controlled day).
        discrete_actions: acts in / trains on discrete action sets.
        continuous_actions: acts in / trains on continuous (``Box``) action spaces.
        multi_agent: decides for many agents jointly (False: one agent or a central solver).
        needs_weights: the policy needs trained weights (``policy.weights``).
        export: ``"module:function"`` writing a trained learner's deployable weights,
            called as ``fn(learner, path, meta)`` by ``vppsim train``.
        scenario_kinds: the scenario kinds (``scenarios/kinds.py``) the method acts or trains in.
    """

    name: str
    description: str = ""
    policy: str | type | None = None
    decider: str | type | None = None
    learner: str | type | None = None
    config: type = NoConfig
    fixed: Mapping[str, Any] = field(default_factory=dict)
    train_defaults: Mapping[str, Any] = field(default_factory=dict)
    base_policy: str = "rule"
    self_organising: bool = False
    baseline: bool = False
    discrete_actions: bool = True
    continuous_actions: bool = False
    multi_agent: bool = True
    needs_weights: bool = False
    export: str | None = None
    scenario_kinds: tuple[str, ...] = ("der_aggregation",)

    def __post_init__(self) -> None:
        if self.policy is None and self.decider is None and self.learner is None:
            raise ValueError(f"method {self.name!r}: give at least one of policy, decider, learner")

    @property
    def trainable(self) -> bool:
        """``vppsim train --learner NAME`` can train it."""
        return self.learner is not None

    @property
    def kind(self) -> DeciderKind:
        """``period_decider`` when a decider decides the whole period, else ``policy``."""
        return "period_decider" if self.decider is not None else "policy"

    @property
    def needs_model(self) -> bool:
        """Alias of :attr:`needs_weights` (the capability flag named in issue 9)."""
        return self.needs_weights

    def flags(self) -> str:
        """Capabilities in a few words, for listings."""
        out = [self.kind, "discrete" if self.discrete_actions else "", "continuous" if self.continuous_actions else "",
               "multi-agent" if self.multi_agent else "", "trainable" if self.trainable else "",
               "needs weights" if self.needs_weights else "", "/".join(self.scenario_kinds)]
        return ", ".join(o for o in out if o)


_QMIX_TRAIN_DEFAULTS = MappingProxyType({"obs_agent_id": False, "epsilon_anneal_time": 20_000, "buffer_size": 2000})

_ENTRIES: dict[str, MethodEntry] = {
    e.name: e
    for e in (
        MethodEntry("rule", "uncontrolled baseline: every unit does what its user would do",
                    policy="aggregation.policy:RulePolicy", baseline=True),
        MethodEntry("greedy", "myopic policy: each unit picks its best-fitness action alone",
                    policy="aggregation.policy:GreedyFitnessPolicy"),
        MethodEntry("qmix", "QMIX agents self-organising into VPPs (Rashid et al. 2018; He et al. 2024)",
                    policy="learners.deploy:QMIXPolicy", learner="learners.qmix:QMIXLearner", config=QMIXConfig,
                    fixed={"mixer": "qmix"}, train_defaults=_QMIX_TRAIN_DEFAULTS, self_organising=True,
                    needs_weights=True, export="learners.deploy:save_weights"),
        MethodEntry("vdn", "VDN agents (team value = sum of agent values, Sunehag et al. 2018) self-organising",
                    policy="learners.deploy:QMIXPolicy", learner="learners.qmix:QMIXLearner", config=QMIXConfig,
                    fixed={"mixer": "vdn"}, train_defaults=_QMIX_TRAIN_DEFAULTS, self_organising=True,
                    needs_weights=True, export="learners.deploy:save_weights"),
        MethodEntry("mip", "centralised MIP of the period decision (HiGHS; docs/baselines.md)",
                    decider="learners.baselines:MIPDecider", config=MIPConfig, multi_agent=False),
        MethodEntry("lagrangian", "distributed Lagrangian relaxation of the period decision (docs/baselines.md)",
                    decider="learners.baselines:LagrangianDecider", config=LagrangianConfig),
        MethodEntry("maddpg", "MADDPG (Lowe et al. 2017) on the VPP supply/load game (seed 000; docs/market.md)",
                    learner="learners.maddpg:MADDPGLearner", config=MADDPGConfig, discrete_actions=False,
                    continuous_actions=True, needs_weights=True, export="learners.maddpg:save_weights",
                    scenario_kinds=("vpp_market",)),
        MethodEntry("dromarl", "DROMARL: MADDPG + VRNN world model, gradient-penalised critic, inertia-aware "
                    "load actor (seed 000; docs/market.md)", learner="learners.dromarl:DROMARLLearner",
                    config=DROMARLConfig, discrete_actions=False, continuous_actions=True, needs_weights=True,
                    export="learners.maddpg:save_weights", scenario_kinds=("vpp_market",)),
        MethodEntry("maddpg_mpc", "seed 002: improved MADDPG day-ahead plan + IPOPT real-time MPC (docs/maddpg_mpc.md)",
                    learner="learners.maddpg_mpc:ImprovedMADDPG", config=MADDPGMPCConfig, fixed={"feedback": True},
                    discrete_actions=False, continuous_actions=True, needs_weights=True,
                    scenario_kinds=("multi_energy",)),
        MethodEntry("maddpg_improved", "seed 002 improved MADDPG (prioritised replay + adaptive noise), no MPC",
                    learner="learners.maddpg_mpc:ImprovedMADDPG", config=MADDPGMPCConfig, fixed={"feedback": False},
                    discrete_actions=False, continuous_actions=True, scenario_kinds=("multi_energy",)),
        MethodEntry("oracle", "perfect-foresight optimum of a multi-energy day (HiGHS LP/MILP; docs/multi_energy.md)",
                    decider="learners.oracle:oracle", discrete_actions=False, continuous_actions=True,
                    multi_agent=False, scenario_kinds=("multi_energy",)),
        MethodEntry("mpc", "rolling-horizon MPC on noisy forecasts, the oracle's model (HiGHS; docs/multi_energy.md)",
                    decider="learners.mpc:RollingMPC", discrete_actions=False, continuous_actions=True,
                    multi_agent=False, scenario_kinds=("multi_energy",)),
        *(MethodEntry(n, d, learner="learners.sac_lax:SB3Learner", config=SB3Config, fixed={"method": n},
                      discrete_actions=False, continuous_actions=True, multi_agent=False, needs_weights=n == "sac_lax",
                      export="learners.sac_lax:export_weights", scenario_kinds=("multi_energy",))
          for n, d in (("sac", "SAC (Stable-Baselines3; seed 001 Table 3 settings); the simulator clips actions"),
                       ("sac_l", "SAC + the in-loop Eq. 13 projection onto the feasible set (seed 001)"),
                       ("sac_lax", "SAC + projection + Attention-xLSTM forecast state (seed 001; docs/sac_lax.md)"),
                       ("ppo", "PPO (Stable-Baselines3)"), ("ddpg", "DDPG (Stable-Baselines3)"),
                       ("td3", "TD3 (Stable-Baselines3)"))),
    )
}


def entries() -> Mapping[str, MethodEntry]:
    """A read-only view of every registered method, by name."""
    return MappingProxyType(_ENTRIES)


def register(entry: MethodEntry, *, replace: bool = False) -> MethodEntry:
    """Add a method.

    Raises:
        ValueError: the name is taken and ``replace`` is False.
    """
    if entry.name in _ENTRIES and not replace:
        raise ValueError(f"method {entry.name!r} is already registered")
    _ENTRIES[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a method (tests and plugins that registered one)."""
    _ENTRIES.pop(name, None)


def get(name: str) -> MethodEntry:
    """The entry of ``name``.

    Raises:
        ValueError: unknown name; the message lists the registered ones.
    """
    try:
        return _ENTRIES[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; registered: {sorted(_ENTRIES)}") from None


def names(*, policy: bool | None = None, trainable: bool | None = None, decider: bool | None = None,
          scenario_kind: str | None = None) -> list[str]:
    """Registered names, optionally only those with (True) or without (False) a policy/learner/decider,
    or only those that act in ``scenario_kind``."""
    out = []
    for n, e in _ENTRIES.items():
        if scenario_kind is not None and scenario_kind not in e.scenario_kinds:
            continue
        if policy is not None and (e.policy is not None) != policy:
            continue
        if trainable is not None and e.trainable != trainable:
            continue
        if decider is not None and (e.decider is not None) != decider:
            continue
        out.append(n)
    return sorted(out)


def load_object(path: str | Any) -> Any:
    """Import ``"package.module:Attribute"`` and return the attribute (an object is returned as is).

    Entries name their classes by string so that nothing is imported until used; a
    plugin or test may give the class itself.

    Raises:
        ImportError: the module or the attribute does not exist.
    """
    if not isinstance(path, str):
        return path
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(f"{module} has no attribute {attr!r}") from None
    return obj


def config_for(name: str, options: Mapping[str, Any] | None = None) -> Any:
    """The typed config of ``name`` built from ``options`` (torch-free; used at scenario load).

    Raises:
        ValueError: unknown method, unknown or badly typed keys, or a value contradicting ``fixed``.
    """
    entry = get(name)
    d = dict(options or {})
    for key, value in entry.fixed.items():
        if d.setdefault(key, value) != value:
            raise ValueError(f"learner {name!r} requires {key}={value!r}, got {d[key]!r}")
    return entry.config.from_dict(d)


def make_policy(name: str, weights: str | None = None, **kwargs: Any) -> Any:
    """Build the fleet policy of ``name``.

    Args:
        name: a registered method with a policy.
        weights: trained weights (path or shipped name) for methods that need them.

    Raises:
        ValueError: unknown method, no policy, or weights missing.
        FileNotFoundError: the weights do not exist.
    """
    entry = get(name)
    if entry.policy is None:
        raise ValueError(f"method {name!r} has no fleet policy (it is a {entry.kind})")
    cls = load_object(entry.policy)
    if entry.needs_weights:
        if weights is None:
            raise ValueError(f"policy {name!r} needs weights")
        return cls(weights, **kwargs)
    return cls(**kwargs)


def make_decider(name: str, options: Mapping[str, Any] | None = None) -> Any:
    """Build the period decider of ``name``; config values left at None keep the decider's defaults.

    Raises:
        ValueError: unknown method, not a decider, or bad options.
    """
    entry = get(name)
    if entry.decider is None:
        raise ValueError(f"method {name!r} is not a period decider")
    cfg = config_for(name, options)
    kwargs = {k: v for k, v in vars(cfg).items() if v is not None}
    return load_object(entry.decider)(**kwargs)


def make_learner(name: str, spec: Any, config: Mapping[str, Any] | None = None) -> Any:
    """Build a registered learner for an environment spec.

    Args:
        name: a trainable registered method.
        spec: the environment's :class:`learners.marl_env.EnvSpec`.
        config: overrides of the learner's default config (e.g. a scenario's ``training.config``).

    Raises:
        ValueError: unknown or untrainable method, a config contradicting the entry, or unknown keys.
        learners.marl_env.UnsupportedEnvError: the learner cannot handle the environment's actions.
    """
    entry = _ENTRIES.get(name)
    if entry is None or entry.learner is None:
        what = "unknown learner" if entry is None else "not a trainable learner:"
        raise ValueError(f"{what} {name!r}; trainable: {names(trainable=True)}")
    cfg = config_for(name, config)
    return load_object(entry.learner)(spec, cfg)
