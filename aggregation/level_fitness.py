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
  comfort no worse than uncontrolled, EV energy by departure), made to respect
  the organiser's per-unit comfort guard (:func:`guarded_plan`): it asks no DER
  for a shed the guard would refuse.
* **The fitness** of a unit around its planned load ``T`` (every level: the
  plan is also handed down per DER) is then Eq. 5's form,
  ``gamma * exp(-lambda * |L - T| / P_max)`` (``PeriodTable.fitness_to``), with
  the plan's weight ``gamma =`` :data:`PLAN_GAMMA` in every period instead of
  Eq. 5's ``gamma_t`` (0 on windless nights, where no rule could hold).
* **Start actions**: each DER starts from the allowed action closest to its
  planned power (:class:`PlanStartPolicy`), the self-organisation corrects the rest.
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

from dataclasses import replace

import numpy as np

from .dayahead_bound import SCALE_GRID, BoundInputs, BoundSolution, bound_inputs, etp_step, solve
from .indices import shape_distance

CUSTOM_RULE = "aggregation.level_fitness:level_tracking"
# Most programmes the guarded plan solves (each over the scale grid, ~8 s at 560 DERs on
# 2 cores); on three_parks_560_levels the refusals stop growing after 5-7 rounds.
GUARD_ROUNDS = 6
# Fitness weight of every period while the organiser follows the plan (``Targets.gamma``): the
# plan already says how much each period matters; Eq. 5's gamma_t (the preceding period's
# index) is 0 on windless nights, where it made every fitness 0 so that no coalition formed and
# the plan was ignored (three_parks_560_levels, 1-2 h: 50-61 kW above the residential plan).
PLAN_GAMMA = 1.0


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


def plan_level_targets(model, target: str = "net", scales: tuple[float, ...] = SCALE_GRID,
                       guard_c: float = 0.0) -> np.ndarray:
    """The VPP's day-ahead level plan: each park's controllable load per period (kW).

    Args:
        model: the ``VppModel`` to be run (its parks, signal, weather and seed).
        target: ``"net"`` plans the whole parks' net load onto the index's shape,
            ``"flexible"`` the controllable load alone.
        scales: range grid of :func:`aggregation.dayahead_bound.solve`.
        guard_c: the organiser's comfort guard (°C, ``AggregationSpec.comfort_guard_c``);
            > 0 makes the plan respect it (:func:`guarded_plan`).

    Returns:
        (n_parks, n_steps) targets for ``VppModel.set_vpp_targets``.
    """
    return plan_level(model, target, scales, guard_c)[0]


def guard_replay(inp: BoundInputs, ac_kw: np.ndarray, guard_c: float) -> tuple[np.ndarray, np.ndarray]:
    """Replay planned AC powers under the organiser's per-unit comfort guard.

    The organiser never lets an air conditioner whose indoor temperature at the start of a
    period is within ``guard_c`` of the top of its band draw less than its usual mode
    (``AirConditioner.comfort_avail``; the same rule for every method). Replayed period by
    period through the ETP model of :func:`aggregation.dayahead_bound.simulate`, a planned
    power below the usual one is raised to it while the unit is guarded.

    Args:
        inp: the programme's data (``ac_usual_kw`` is the guarded floor).
        ac_kw: (n_ac, T) planned AC power (kW).
        guard_c: the guard (°C); 0 returns the plan unchanged.

    Returns:
        ``(realisable_kw, refused)``: (n_ac, T) powers the guard lets through and the (n_ac, T)
        mask of the planned sheds it refuses.
    """
    out = np.array(ac_kw, dtype=np.float64, copy=True)
    refused = np.zeros(out.shape, bool)
    if guard_c <= 0 or not out.size:
        return out, refused
    t = inp.ac_t0.copy()
    # float32 state in the model: a hair of tolerance counts borderline units as guarded.
    top = inp.ac_high - guard_c - 1e-5
    for k in range(out.shape[1]):  # 24 periods; every step is vectorised over the units
        refused[:, k] = (t >= top) & (out[:, k] < inp.ac_usual_kw[:, k] - 1e-6)
        out[refused[:, k], k] = inp.ac_usual_kw[refused[:, k], k]
        t = etp_step(inp, t, out[:, k], k)
    return out, refused


def guarded_plan(inp: BoundInputs, target: str = "net", scales: tuple[float, ...] = SCALE_GRID,
                 guard_c: float = 0.0, rounds: int = GUARD_ROUNDS) -> tuple[BoundSolution, np.ndarray, np.ndarray]:
    """A level plan that asks for no shed the organiser's comfort guard refuses.

    The day-ahead programme (:func:`aggregation.dayahead_bound.solve`) budgets comfort over
    the day, but the organiser keeps a per-unit guard: a planned shed of a unit near the top
    of its band is refused (measured on ``three_parks_560_levels``: 175 kW over the day, at
    the industrial switch-on at 8 h and the residential evening, 19-20 h). Here the plan
    learns the guard: each round replays the plan under the guard (:func:`guard_replay`),
    fixes every refused (unit, period) to at least its usual power and solves again; the
    candidate scales of each round are ranked by the exact distance of the *replayed* load,
    and the best replayed plan over the rounds is kept. The installed plan is the replayed
    one, so no DER is asked for a shed the guard refuses on the plan's own trajectory; its
    comfort is no worse than the programme's (a refusal only cools more) and the EV energies
    are the programme's.

    Args:
        inp: the programme's data (:func:`aggregation.dayahead_bound.bound_inputs`).
        target: ``"net"`` or ``"flexible"``.
        scales: range grid of the programme.
        guard_c: the organiser's guard (°C); 0 solves once, without it.
        rounds: most programmes solved (each one over ``scales``).

    Returns:
        ``(solution, ac_kw, refused)``: the chosen programme solution (``score`` = distance of
        its replayed load), its replayed AC powers (n_ac, T) and the refusals of its raw powers.
    """
    fixed = inp.fixed_kw if target == "net" else np.zeros(inp.n_steps)

    def replayed_distance(ac_kw: np.ndarray, ev_kwh: np.ndarray) -> float:
        real = guard_replay(inp, ac_kw, guard_c)[0]
        return shape_distance(fixed + real.sum(axis=0) + ev_kwh.sum(axis=0) / inp.dt_h, inp.eta)

    kept = np.zeros(inp.ac_lo.shape, bool)
    best: tuple[BoundSolution, np.ndarray, np.ndarray] | None = None
    cur = inp
    for _ in range(max(int(rounds), 1) if guard_c > 0 else 1):
        try:
            sol = solve(cur, target, scales, replayed_distance if guard_c > 0 else None)
        except RuntimeError:
            # a later round's tighter programme (refused sheds fixed) has no optimum at any scale:
            # keep the best plan found so far
            if best is None:
                raise
            break
        real, refused = guard_replay(inp, sol.ac_kw, guard_c)
        if best is None or sol.score < best[0].score:
            best = (sol, real, refused)
        new = refused & ~kept
        if not new.any():
            break
        kept |= refused
        cur = replace(inp, ac_lo=np.where(kept, np.maximum(inp.ac_lo, inp.ac_usual_kw), inp.ac_lo))
    assert best is not None
    return best


def plan_level(model, target: str = "net", scales: tuple[float, ...] = SCALE_GRID,
               guard_c: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The VPP's day-ahead plan per park and per DER.

    Args:
        model, target, scales, guard_c: as :func:`plan_level_targets`.

    Returns:
        ``(park_kw, der_kw)``: (n_parks, n_steps) controllable load per park and
        (N, n_steps) planned power per controllable DER (air conditioners, then EV piles,
        the rows of the period table).
    """
    return _plan(model, target, scales, guard_c)[:2]


def _plan(model, target: str, scales: tuple[float, ...], guard_c: float) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`plan_level`'s ``(park_kw, der_kw)`` and the plan's distance (the better of its programme
    load and its guard-replayed load, both feasible points of the day-ahead bound's programme)."""
    inp = bound_inputs(model)
    sol, ac_kw, _ = guarded_plan(inp, target, scales, guard_c)
    der = np.concatenate([ac_kw, sol.ev_kwh / inp.dt_h], axis=0)
    park = np.zeros((inp.n_parks, inp.n_steps))
    np.add.at(park, np.concatenate([inp.ac_park, inp.ev_park]), der)
    return park, der, float(min(sol.distance, sol.score))


class PlanStartPolicy:
    """Start actions of a DER that follows its planned power: the allowed action closest to it.

    Under Rule 4 with a per-DER plan, a DER's own fitness on its own is largest at the action
    whose power is closest to its planned power; that is its start action, before the
    self-organisation corrects what the modes and the comfort guard leave (instead of the base
    policy's Eq. 5-trained action). Measured on ``three_parks_560_levels``: with QMIX's start
    actions EVs that the park's joint action let charge early at 9-12 h ran short of energy at
    13-15 h (17-43 kW below the industrial and commercial plan).

    Args:
        base: the scenario's policy (kinds without a plan, checkpoint state).
        der_kw: (N, n_steps) planned power per DER, air conditioners then EV piles.
        offsets: ``kind -> first row`` of each planned kind in ``der_kw``.
        guard_c: the organiser's comfort guard (start actions respect it).
    """

    name = "plan"

    def __init__(self, base, der_kw: np.ndarray, offsets: dict[str, int], guard_c: float):
        self.base = base
        self.der_kw = np.asarray(der_kw, np.float64)
        self.offsets = dict(offsets)
        self.guard_c = float(guard_c)

    def act(self, view) -> np.ndarray:
        """(n,) action per DER of the view: the allowed action closest to its planned power."""
        start = self.offsets.get(view.kind)
        if start is None:
            return np.asarray(self.base.act(view))
        step = min(int(view.ctx.step), self.der_kw.shape[1] - 1)
        planned = self.der_kw[start : start + view.n, step]
        cand = np.asarray(view.candidate_p_kw, np.float64)
        gap = np.where(view.comfort_avail(self.guard_c), np.abs(cand - planned[:, None]), np.inf)
        return np.argmin(gap, axis=1).astype(np.int64)

    def __getattr__(self, name: str):
        # state_dict / load_state_dict (checkpoints) and anything else: the base policy's.
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)


def install_level_targets(model, spec, target: str = "net", per_der: bool = True) -> bool:
    """Install the level plan when ``spec`` selects level tracking (the pipeline's one call).

    The park plan becomes the model's VPP targets (``set_vpp_targets``); with ``per_der``
    and a decider that takes a plan (``SelfOrganiser.set_plan``) every DER's planned power
    becomes its target too, so that every level aims at the plan, with the plan's fitness
    weight :data:`PLAN_GAMMA`, and the model's policy is wrapped in :class:`PlanStartPolicy`
    (each DER starts from the action closest to its planned power).

    Returns:
        True when targets were installed.
    """
    if not uses_level_tracking(spec):
        return False
    guard = float(getattr(spec, "comfort_guard_c", 0.0))
    park, der, distance = _plan(model, target, SCALE_GRID, guard)
    model.set_vpp_targets(park)
    if target == "net":  # write_comparison reports it beside the bound, a best-found reference
        model.level_plan_distance = distance
    if per_der and hasattr(model.decider, "set_plan"):
        model.decider.set_plan(der, gamma=PLAN_GAMMA)
        n_ac = model.fleet.count("ac") if "ac" in model.fleet.units else 0
        model.policy = PlanStartPolicy(model.policy, der, {"ac": 0, "ev": n_ac}, guard)
    return True
