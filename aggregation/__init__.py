"""DER fleet, Mesa model and agents, zero-carbon indices, fitness, policies."""

from .agents import ACAgent, DERAgent, EVAgent, PVAgent
from .fleet import Fleet, build_fleet
from .indices import load_index, period_fitness, shape_distance, system_index
from .model import SystemSignal, VppModel
from .policy import (
    GreedyFitnessPolicy,
    KindView,
    PeriodContext,
    Policy,
    RulePolicy,
    make_policy,
    register_policy,
)
from .specs import ACSpec, EVSpec, ParkSpec, PVSpec

__all__ = [
    "ACAgent", "ACSpec", "DERAgent", "EVAgent", "EVSpec", "Fleet", "GreedyFitnessPolicy", "KindView",
    "PVAgent", "PVSpec", "ParkSpec", "PeriodContext", "Policy", "RulePolicy", "SystemSignal", "VppModel",
    "build_fleet", "load_index", "make_policy", "period_fitness", "register_policy", "shape_distance",
    "system_index",
]
