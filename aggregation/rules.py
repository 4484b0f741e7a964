"""Aggregation rules of seed 003 §3.4 (Eqs. 8-11), vectorised over many candidate coalitions.

A rule compares a statistic of the members' fitness before aggregation
(``mu_A, mu_B, ...``: each member on its own, with its own best actions) with
the same statistic after aggregation (``mu_A^{A,B}, ...``: each member's
fitness inside the coalition, with the coalition's joint actions) and holds
when the statistic strictly improves:

* Rule 1 (Eq. 8): ``min{before} < min{after}``;
* Rule 2 (Eq. 9): ``max{before} < max{after}``;
* Rule 3 (Eq. 10): ``avg{before} < avg{after}``;
* Rule 4 (Eq. 11): ``f{before} < f{after}`` for a custom statistic ``f`` named
  in the scenario as ``module:function`` and resolved with importlib.

A custom statistic has the signature of :data:`Statistic`: it receives every
member's fitness, its coalition index, the number of coalitions and each
member's rating (kW), and returns one value per coalition. It must be
vectorised (no loop over coalitions): it is called once per level and
iteration with every candidate coalition at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

Statistic = Callable[[np.ndarray, np.ndarray, int, np.ndarray], np.ndarray]

# "Strictly improves" must not be decided by rounding noise: two evaluations of
# the same load in different summation orders may differ by ~1e-16.
RULE_TOLERANCE = 1e-12


def seg_min(mu: np.ndarray, group: np.ndarray, n_groups: int, weight_kw: np.ndarray | None = None) -> np.ndarray:
    """Minimum member fitness per coalition (Rule 1); +inf for empty coalitions."""
    out = np.full(n_groups, np.inf)
    np.minimum.at(out, group, mu)
    return out


def seg_max(mu: np.ndarray, group: np.ndarray, n_groups: int, weight_kw: np.ndarray | None = None) -> np.ndarray:
    """Maximum member fitness per coalition (Rule 2); -inf for empty coalitions."""
    out = np.full(n_groups, -np.inf)
    np.maximum.at(out, group, mu)
    return out


def seg_mean(mu: np.ndarray, group: np.ndarray, n_groups: int, weight_kw: np.ndarray | None = None) -> np.ndarray:
    """Unweighted mean member fitness per coalition (Rule 3); nan for empty coalitions."""
    total = np.bincount(group, weights=mu, minlength=n_groups)
    count = np.bincount(group, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def capacity_weighted_mean(mu: np.ndarray, group: np.ndarray, n_groups: int, weight_kw: np.ndarray) -> np.ndarray:
    """Example Rule 4 statistic: member fitness weighted by member rating.

    With it, a coalition forms when the fitness per kW of rating improves, so a
    large unit's fitness counts more than a small one's. Use it in a scenario as
    ``custom_rule: "aggregation.rules:capacity_weighted_mean"``.
    """
    w = np.asarray(weight_kw, dtype=float)
    total = np.bincount(group, weights=mu * w, minlength=n_groups)
    wsum = np.bincount(group, weights=w, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(wsum > 0, total / np.where(wsum > 0, wsum, 1.0), seg_mean(mu, group, n_groups))


BUILTIN: dict[str, Statistic] = {"rule1": seg_min, "rule2": seg_max, "rule3": seg_mean}


def resolve_custom(path: str) -> Statistic:
    """Import the custom statistic ``module:function`` (never evaluated from text).

    Raises:
        ValueError: the path is malformed, the module cannot be imported, the
            attribute is missing or is not callable.
    """
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr or not attr.isidentifier():
        raise ValueError(f"custom_rule must look like 'package.module:function', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"custom_rule {path!r}: cannot import module {module_name!r}: {exc}") from None
    fn = getattr(module, attr, None)
    if fn is None:
        raise ValueError(f"custom_rule {path!r}: module {module_name!r} has no attribute {attr!r}")
    if not callable(fn):
        raise ValueError(f"custom_rule {path!r}: {attr!r} is not callable")
    return fn


def statistic_for(rule: str, custom_rule: str | None = None) -> Statistic:
    """The statistic a rule name compares (``rule1``..``rule3`` built in, ``rule4`` custom)."""
    if rule in BUILTIN:
        return BUILTIN[rule]
    if rule == "rule4":
        if custom_rule is None:
            raise ValueError("rule4 needs custom_rule: 'module:function'")
        return resolve_custom(custom_rule)
    raise ValueError(f"unknown rule {rule!r}; expected rule1, rule2, rule3 or rule4")


def rule_holds(
    stat: Statistic,
    mu_before: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    mu_after: np.ndarray,
    weight_kw: np.ndarray,
) -> np.ndarray:
    """Whether each candidate coalition satisfies its rule (Eqs. 8-11).

    Args:
        stat: the rule's statistic.
        mu_before: (m,) each member's fitness on its own.
        group: (m,) coalition index of each member.
        n_groups: number of candidate coalitions.
        mu_after: (m,) each member's fitness inside its coalition.
        weight_kw: (m,) member ratings, passed to the statistic.

    Returns:
        (n_groups,) bool: ``stat(before) < stat(after)`` (by more than
        :data:`RULE_TOLERANCE`); False for coalitions with fewer than two members.
    """
    before = np.asarray(stat(mu_before, group, n_groups, weight_kw), dtype=float)
    after = np.asarray(stat(mu_after, group, n_groups, weight_kw), dtype=float)
    if before.shape != (n_groups,) or after.shape != (n_groups,):
        raise ValueError(f"rule statistic returned shape {before.shape}/{after.shape}, expected ({n_groups},)")
    size = np.bincount(group, minlength=n_groups)
    with np.errstate(invalid="ignore"):
        return (after > before + RULE_TOLERANCE) & (size >= 2)
