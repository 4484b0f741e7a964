"""Level tracking (Rule 4, seed 003 Eq. 11): the park load's level follows the normalised zero-carbon index.

Seed 003's Eq. 5 rewards a unit whose load *gradient* follows the renewable
gradient ``g``; with the parks' fixed base load and PV dominating the net load,
that moves the whole-park tracking distance little (``docs/aggregation.md``).
Rule 4 ("custom fitness ... towards a predetermined direction") lets a level
aim at a *level* instead. This module bundles that reading:

* **The direction** is set by the VPP through the target seam
  (``VppModel.set_vpp_targets``): a day-ahead plan of each park's
  controllable load whose whole-park net load is an affine image of the
  normalised index ``minmax(eta_GI)`` (:func:`plan_level_targets`, the
  solution of :mod:`aggregation.dayahead_bound`'s programme: AC thermal model,
  comfort no worse than uncontrolled, EV energy by departure).
* **The fitness** of a top-level unit (the park's VPP) around its level target
  ``T`` is then Eq. 5's form, ``gamma * exp(-lambda * |L - T| / P_max)``
  (``PeriodTable.fitness_to``; lower levels keep Eq. 5 unless per-DER targets
  are given).
* **The statistic** :func:`level_tracking` compares members before and after
  aggregation by their rating-weighted mean fitness: a member's distance to
  its level target counts in proportion to the kW it can move, so a park VPP
  forms when it brings the park's kW closer to the level.

Use it per level in a scenario, e.g. the top level only::

    aggregation:
      rules: [rule3, rule3, rule3, rule3, rule4]
      custom_rule: "aggregation.level_fitness:level_tracking"

and install the plan before the run (the pipeline does this when
:func:`uses_level_tracking` is true): ``install_level_targets(model, spec)``.
Eq. 5 stays the default and the paper's reading.
"""

from __future__ import annotations

import numpy as np

from .dayahead_bound import SCALE_GRID, bound_inputs, solve

CUSTOM_RULE = "aggregation.level_fitness:level_tracking"


def level_tracking(mu: np.ndarray, group: np.ndarray, n_groups: int, weight_kw: np.ndarray) -> np.ndarray:
    """Rule 4 statistic: rating-weighted mean fitness of each coalition's members.

    Args:
        mu: (m,) members' fitness (before: each on its own; after: the coalition's,
            around the level target when one is set).
        group: (m,) coalition of each member.
        n_groups: number of candidate coalitions.
        weight_kw: (m,) members' ratings (kW).

    Returns:
        (n_groups,) ``sum(w mu) / sum(w)`` per coalition (nan for empty coalitions).
    """
    w = np.asarray(weight_kw, dtype=float)
    total = np.bincount(group, weights=np.asarray(mu, float) * w, minlength=n_groups)
    wsum = np.bincount(group, weights=w, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / wsum


def uses_level_tracking(spec) -> bool:
    """Whether an ``AggregationSpec`` selects :func:`level_tracking` for any of its levels."""
    rules = list(getattr(spec, "rules", []))[: int(getattr(spec, "max_levels", len(getattr(spec, "rules", []))))]
    return getattr(spec, "custom_rule", None) == CUSTOM_RULE and "rule4" in rules


def plan_level_targets(model, target: str = "net", scales: tuple[float, ...] = SCALE_GRID) -> np.ndarray:
    """The VPP's day-ahead level plan: each park's controllable load per period (kW).

    Args:
        model: the ``VppModel`` to be run (its parks, signal, weather and seed).
        target: ``"net"`` plans the whole parks' net load onto the index's shape,
            ``"flexible"`` the controllable load alone.
        scales: range grid of :func:`aggregation.dayahead_bound.solve`.

    Returns:
        (n_parks, n_steps) targets for ``VppModel.set_vpp_targets``.
    """
    return plan_level(model, target, scales)[0]


def plan_level(model, target: str = "net", scales: tuple[float, ...] = SCALE_GRID) -> tuple[np.ndarray, np.ndarray]:
    """The VPP's day-ahead plan per park and per DER.

    Returns:
        ``(park_kw, der_kw)``: (n_parks, n_steps) controllable load per park and
        (N, n_steps) planned power per controllable DER (air conditioners, then EV piles,
        the rows of the period table).
    """
    inp = bound_inputs(model)
    sol = solve(inp, target, scales)
    der = np.concatenate([sol.ac_kw, sol.ev_kwh / inp.dt_h], axis=0)
    park = np.zeros((inp.n_parks, inp.n_steps))
    np.add.at(park, np.concatenate([inp.ac_park, inp.ev_park]), der)
    return park, der


def install_level_targets(model, spec, target: str = "net", per_der: bool = True) -> bool:
    """Install the level plan when ``spec`` selects level tracking (the pipeline's one call).

    The park plan becomes the model's VPP targets (``set_vpp_targets``); with ``per_der``
    and a decider that takes a plan (``SelfOrganiser.set_plan``) every DER's planned power
    becomes its target too, so that every level aims at the plan.

    Returns:
        True when targets were installed.
    """
    if not uses_level_tracking(spec):
        return False
    park, der = plan_level(model, target)
    model.set_vpp_targets(park)
    if per_der and hasattr(model.decider, "set_plan"):
        model.decider.set_plan(der)
    return True
