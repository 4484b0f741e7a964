"""The registry of scenario kinds: ``kind`` name -> schema class and pipeline module.

A scenario file's ``kind`` field (default ``der_aggregation``) picks its
schema (a :class:`scenarios.base.ScenarioBase` subclass whose ``kind`` is a
``Literal`` of its name) and its pipeline module, which simulates and writes
the kind's results (see :mod:`scenarios.pipelines`). Both are dotted
``"module:Class"`` / module strings, imported when a scenario of the kind is
loaded or run, so this module imports nothing of the project.

Adding a kind is one module plus one line here (or one :func:`register_kind` call)::

    "multi_energy": ScenarioKind("multi_energy", "scenarios.multi_energy:MultiEnergyScenario",
                                 "scenarios.multi_energy", "electricity, heat and gas devices"),
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

__all__ = ["DEFAULT_KIND", "ScenarioKind", "get_kind", "kinds", "pipeline", "register_kind", "schema_class",
           "unregister_kind"]

DEFAULT_KIND = "der_aggregation"


@dataclass(frozen=True)
class ScenarioKind:
    """One scenario kind.

    Attributes:
        name: the value of the scenario file's ``kind`` field.
        schema: ``"module:Class"`` of its pydantic schema (subclass of ``ScenarioBase``), or the class.
        pipeline: dotted name of the module with ``simulate(sc, ctx)``, ``write(out, folder, plots=...)``
            and ``report(out)``, or any object with those three functions.
        description: one line for listings.
    """

    name: str
    schema: str | type
    pipeline: str | Any
    description: str = ""


_KINDS: dict[str, ScenarioKind] = {
    k.name: k
    for k in (
        ScenarioKind(DEFAULT_KIND, "scenarios.schema:Scenario", "scenarios.pipelines.der_aggregation",
                     "DER parks self-organising into VPPs (seed 003): uncontrolled baseline vs controlled day"),
        ScenarioKind("multi_energy", "scenarios.multi_energy:MultiEnergyScenario", "scenarios.pipelines.multi_energy",
                     "a multi-energy VPP site (seeds 001, 002): oracle and rolling MPC dispatch of one day"),
        ScenarioKind("vpp_market", "scenarios.vpp_market:VppMarketScenario", "scenarios.pipelines.vpp_market",
                     "a VPP-level supply/load market game: rule, MADDPG, DRO-MARL and oracle"),
    )
}


def kinds() -> MappingProxyType[str, ScenarioKind]:
    """Read-only view of the registered kinds, by name."""
    return MappingProxyType(_KINDS)


def register_kind(kind: ScenarioKind, *, replace: bool = False) -> ScenarioKind:
    """Add a scenario kind.

    Raises:
        ValueError: the name is taken and ``replace`` is False.
    """
    if kind.name in _KINDS and not replace:
        raise ValueError(f"scenario kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister_kind(name: str) -> None:
    """Remove a kind (tests and plugins); the default kind cannot be removed."""
    if name != DEFAULT_KIND:
        _KINDS.pop(name, None)


def get_kind(name: str) -> ScenarioKind:
    """The registered kind ``name``.

    Raises:
        ValueError: unknown kind; the message lists the registered ones.
    """
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"must be one of {sorted(_KINDS)}") from None


def schema_class(name: str) -> Any:
    """The schema class of kind ``name`` (imports its module)."""
    schema = get_kind(name).schema
    if not isinstance(schema, str):
        return schema
    module, _, attr = schema.partition(":")
    return getattr(importlib.import_module(module), attr)


def pipeline(name: str) -> ModuleType | Any:
    """The pipeline of kind ``name`` (imports its module)."""
    pipe = get_kind(name).pipeline
    return importlib.import_module(pipe) if isinstance(pipe, str) else pipe
