"""Building a ``der_aggregation`` scenario's pieces: weather, eta_GI signal, deciders, models.

What decides comes from :mod:`learners.registry` (no list of methods here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import learners.registry as methods
from aggregation.model import Decider, SystemSignal, VppModel
from aggregation.policy import Policy
from grid.profiles import simbench_system_signal
from grid.weather import load_weather

from .base import ScenarioError
from .schema import Scenario

__all__ = ["build_model", "controlled_for", "decider_for", "policy_for", "system_signal", "weather_for"]


def weather_for(sc: Scenario) -> pd.DataFrame:
    """The scenario's weather, one row per period."""
    return load_weather(sc.weather.file, sc.start_day_of_year, sc.n_steps, sc.step_h)


def system_signal(sc: Scenario) -> SystemSignal:
    """The system generation series (MWh per period) that defines eta_GI for this scenario."""
    si = sc.system_index
    if si.source == "series":
        n = sc.n_steps
        return SystemSignal(np.asarray(si.series.e_res_mwh[:n], float), np.asarray(si.series.e_tot_mwh[:n], float))
    if si.source == "grid":
        from .gridcase import grid_signal

        return grid_signal(sc)
    if si.source == "grid_nodal":
        # One model sees one signal: the nodal index of the parks' bus (the sweep runs one per bus).
        from .gridcase import nodal_signal

        return nodal_signal(sc)
    s = si.simbench
    e_res, e_tot = simbench_system_signal(
        s.load_profile, s.pv_profile, s.wind_profile, s.pv_capacity_per_peak_load, s.wind_capacity_per_peak_load,
        s.peak_load_mw, sc.start_day_of_year, sc.n_steps, sc.step_h,
    )
    return SystemSignal(e_res, e_tot)


def policy_for(sc: Scenario) -> Policy:
    """The fleet policy ``sc.policy`` names, built through the registry.

    Raises:
        ScenarioError: the policy cannot be built (missing weights, optional dependency absent).
    """
    kind = sc.policy.kind
    try:
        return methods.make_policy(kind, sc.policy.weights)
    except ImportError as exc:  # pragma: no cover - reported to the user
        raise ScenarioError(f"policy {kind!r} is not available in this installation: {exc}") from None
    except FileNotFoundError as exc:
        raise ScenarioError(f"scenario {sc.name}: policy.weights: {exc}") from None
    except ValueError as exc:
        raise ScenarioError(f"scenario {sc.name}: method/policy {kind!r}: {exc}") from None


def decider_for(sc: Scenario) -> Decider | None:
    """The self-organising decider when aggregation is enabled, else None (plain policy calls)."""
    if not sc.aggregation.enabled:
        return None
    try:
        from aggregation.hierarchy import make_decider
    except ImportError:
        raise ScenarioError("aggregation.enabled is true but this installation has no hierarchy module") from None
    return make_decider(sc.aggregation, sc.fitness.similarity_lambda)


def controlled_for(sc: Scenario) -> tuple[Policy, Decider | None] | None:
    """Policy and decider of the controlled day, or None when the scenario only runs the baseline.

    ``method`` (a registry name) overrides ``policy.kind`` / ``aggregation.enabled``: a
    period decider (``mip``, ``lagrangian``) decides over its ``base_policy``; a policy
    method acts alone, or self-organising when its entry says so (``qmix``). A run whose
    controlled day would be the baseline entry alone (``rule``) has no controlled day.
    """
    method = sc.method
    if method is None:
        if methods.get(sc.policy.kind).baseline and not sc.aggregation.enabled:
            return None
        return policy_for(sc), decider_for(sc)
    entry = methods.get(method)
    if entry.decider is not None:
        base = sc.model_copy(update={"policy": sc.policy.model_copy(update={"kind": entry.base_policy})})
        try:
            return policy_for(base), methods.make_decider(method)
        except ImportError as exc:  # pragma: no cover - reported to the user
            raise ScenarioError(f"method {method!r} is not available in this installation: {exc}") from None
    if entry.baseline and not entry.self_organising:
        return None
    sc2 = sc.model_copy(update={
        "policy": sc.policy.model_copy(update={"kind": method}),
        "aggregation": sc.aggregation.model_copy(update={"enabled": entry.self_organising}),
    })
    return policy_for(sc2), decider_for(sc2)


def build_model(
    sc: Scenario,
    policy: Policy | None = None,
    decider: Decider | None = None,
    *,
    handles: bool = True,
    weather: pd.DataFrame | None = None,
    signal: SystemSignal | None = None,
) -> VppModel:
    """A model of the scenario's population (weather and signal may be passed to share them)."""
    weather = weather_for(sc) if weather is None else weather
    signal = system_signal(sc) if signal is None else signal
    return VppModel(
        list(sc.parks),
        signal,
        weather,
        day_of_year=sc.start_day_of_year,
        step_h=sc.step_h,
        scale=sc.scale,
        lam=sc.fitness.similarity_lambda,
        policy=policy,
        decider=decider,
        handles=handles,
        seed=sc.seed,
    )
