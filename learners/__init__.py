"""Methods that decide or learn for vppsim's DERs, and the environments they train on.

Everything that decides or learns is named in one registry,
:mod:`learners.registry` (re-exported here). Modules are imported only when a
method is used, so ``import learners`` stays cheap (no torch import).
"""

from __future__ import annotations

from .registry import (
    MethodEntry,
    config_for,
    entries,
    get,
    load_object,
    make_decider,
    make_learner,
    make_policy,
    names,
    register,
    unregister,
)

# Read-only live view of the registry, kept under its wave-1 name for callers of ``learners.LEARNERS``.
LEARNERS = entries()

__all__ = [
    "LEARNERS", "MethodEntry", "config_for", "get", "load_object", "make_decider", "make_learner", "make_policy",
    "entries", "names", "register", "unregister",
]
