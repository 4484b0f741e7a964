"""Demand side: DER device kinds, fleet, Mesa model and agents, zero-carbon indices, self-organisation."""

from .agents import DERAgent, KindGroup
from .fleet import Fleet, build_fleet
from .indices import load_index, period_fitness, shape_distance, system_index
from .kinds import DeviceKind, get_kind, register_kind, registered_kinds
from .kinds.ac import ACAgent, ACSpec
from .kinds.ev import EVAgent, EVSpec
from .kinds.pv import PVAgent, PVSpec
from .model import SystemSignal, VppModel
from .policy import (
    GreedyFitnessPolicy,
    KindView,
    PeriodContext,
    Policy,
    RulePolicy,
)
from .specs import ParkSpec

__all__ = [
    "ACAgent", "ACSpec", "DERAgent", "DeviceKind", "EVAgent", "EVSpec", "Fleet", "GreedyFitnessPolicy",
    "KindGroup", "KindView", "PVAgent", "PVSpec", "ParkSpec", "PeriodContext", "Policy", "RulePolicy",
    "SystemSignal", "VppModel", "build_fleet", "get_kind", "load_index", "period_fitness",
    "register_kind", "registered_kinds", "shape_distance", "system_index",
]
