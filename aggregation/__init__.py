"""Demand side: DER device kinds, fleet, Mesa model and agents, zero-carbon indices, self-organisation.

The names below load their module on first use (PEP 562), so that reading a
scenario (``aggregation.specs``, ``aggregation.kinds``) imports neither Mesa nor
the model.
"""

from __future__ import annotations

from grid.lazy import lazy_module_attrs

_WHERE: dict[str, str] = {
    **dict.fromkeys(("DERAgent", "KindGroup"), "aggregation.agents"),
    **dict.fromkeys(("Fleet", "build_fleet"), "aggregation.fleet"),
    **dict.fromkeys(("load_index", "period_fitness", "shape_distance", "system_index"), "aggregation.indices"),
    **dict.fromkeys(("DeviceKind", "get_kind", "register_kind", "registered_kinds"), "aggregation.kinds"),
    **dict.fromkeys(("ACAgent", "ACSpec"), "aggregation.kinds.ac"),
    **dict.fromkeys(("EVAgent", "EVSpec"), "aggregation.kinds.ev"),
    **dict.fromkeys(("PVAgent", "PVSpec"), "aggregation.kinds.pv"),
    **dict.fromkeys(("SystemSignal", "VppModel"), "aggregation.model"),
    **dict.fromkeys(("GreedyFitnessPolicy", "KindView", "PeriodContext", "Policy", "RulePolicy"),
                    "aggregation.policy"),
    "ParkSpec": "aggregation.specs",
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_module_attrs(__name__, _WHERE)
