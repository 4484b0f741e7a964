"""Registered device kinds (``docs/architecture.md``: add a device kind).

Each built-in kind registers itself when its module is imported; a new kind is
one module plus one import line here (or an import anywhere before use, for a
plug-in kind).
"""

from .base import DeviceKind, DrawEnv, SoA, get_kind, register_kind, registered_kinds, unregister_kind

# Registry lines: importing a kind module registers it.
from . import ac, ev, pv  # noqa: E402,F401  isort: skip
# Multi-energy devices (docs/multi_energy.md): dispatched by the multi_energy pipeline, not held in parks.
from . import battery, gas_turbine, heat_pump, me_pv, thermal_storage, wind  # noqa: E402,F401  isort: skip

__all__ = ["DeviceKind", "DrawEnv", "SoA", "get_kind", "register_kind", "registered_kinds", "unregister_kind"]
