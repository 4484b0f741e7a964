"""The device-kind seam: what one kind of DER is, and the registry of kinds.

A device kind is one module under :mod:`aggregation.kinds` that defines

* a parameter block (pydantic, units in names, ranges) — what a park of a scenario
  file may hold under the kind's name (``parks[i].<kind>``);
* a structure of arrays (:class:`SoA` subclass): one numpy array per parameter or
  state variable, one entry per unit;
* a :class:`DeviceKind` subclass tying them together: how units are drawn, which
  actions they have (a discrete ladder of powers, a continuous power range, or
  none), their vectorised step, their flexibility envelope and observation
  features;

and registers the :class:`DeviceKind` with :func:`register_kind` (one line). The
fleet, the per-period views, the self-organiser, the baselines and the scenario
schema iterate over :func:`registered_kinds`; adding a kind touches no other file
(``docs/architecture.md``, recipe "add a device kind").
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

ActionKind = Literal["discrete", "continuous", "none"]


@dataclass
class SoA:
    """Structure of arrays: helpers shared by every kind's unit table.

    Subclasses are dataclasses whose fields are numpy arrays with one row per unit
    (extra dimensions allowed, e.g. EV sessions per day).
    """

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))

    def state_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name).copy() for f in fields(self)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for f in fields(self):
            setattr(self, f.name, np.array(state[f.name], copy=True))

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))


class DeviceKind:
    """Base of every device kind (class-level description; never instantiated).

    Class attributes:
        name: the key of the kind in scenario files, fleets and tables (``"ac"``).
        label: human name for plots and listings.
        spec_cls: pydantic model of the park block ``parks[i].<name>``.
        soa_cls: the :class:`SoA` dataclass of the units.
        handle: a plain class of read-only properties over one row (``self._soa``, ``self.idx``);
            :meth:`agent_class` combines it with :class:`aggregation.agents.DERAgent` into the
            Mesa agent class of the kind, on first use, so that reading a scenario imports no Mesa.
        actions: ``"discrete"`` (an action ladder of ``n_actions`` candidate powers per
            period), ``"continuous"`` (a power set-point within :meth:`bounds`), or
            ``"none"`` (not controllable: output follows the weather or a profile).
        n_actions: width of the discrete action ladder (0 otherwise).
        order: row order of the kind in period tables (lower first; ties by name).
        load_sign: +1 for units that consume (their power adds to the park load),
            -1 for units that generate (their power is subtracted).
        features: names of the per-unit observation columns (discrete kinds).
        always: every fleet carries the kind's table (empty when no park uses it), so
            result tables always have its columns.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    spec_cls: ClassVar[type[BaseModel]]
    soa_cls: ClassVar[type[SoA]]
    handle: ClassVar[type | None] = None
    actions: ClassVar[ActionKind] = "none"
    n_actions: ClassVar[int] = 0
    order: ClassVar[int] = 100
    load_sign: ClassVar[int] = 1
    features: ClassVar[tuple[str, ...]] = ()
    always: ClassVar[bool] = False

    @classmethod
    def controllable(cls) -> bool:
        return cls.actions != "none"

    @classmethod
    def agent_class(cls) -> type | None:
        """The Mesa agent class of the kind's units (built once from :attr:`handle`), or None."""
        if cls.handle is None:
            return None
        built = cls.__dict__.get("_agent_class")
        if built is None:
            from ..agents import DERAgent

            name = cls.handle.__name__.removesuffix("Handle") + "Agent"
            built = type(name, (cls.handle, DERAgent), {"kind": cls.name, "__module__": cls.handle.__module__,
                                                        "__qualname__": name, "__doc__": cls.handle.__doc__})
            cls._agent_class = built
        return built

    @classmethod
    def park_capable(cls) -> bool:
        """Whether DER-aggregation parks may hold the kind: it draws units and either acts on a
        discrete ladder or follows its own profile. Continuous kinds (batteries, CHP, …) are
        dispatched by the multi-energy pipeline instead.

        (A park kind defines ``draw(spec, park, n, rng, env) -> dict[str, np.ndarray]``: the columns,
        one array per field of ``soa_cls``, of ``n`` units of one park, drawn with ``rng``.)"""
        return hasattr(cls, "draw") and (
            cls.actions == "discrete" or (cls.actions == "none" and hasattr(cls, "park_output_kw")))

    @classmethod
    def count(cls, spec: Any, scale: float) -> int:
        """Units of a park block at a scale (whole units, rounded half to even like Python's ``round``)."""
        return int(round(getattr(spec, "count", 1) * scale))

    # ---- hooks of a period; discrete kinds implement usual / device_avail / candidate_p_kw / observe
    @classmethod
    def period(cls, view: Any) -> Any:
        """Per-period quantities shared by the other hooks, computed once per view (default none)."""
        return None

    @classmethod
    def avail(cls, view: Any) -> np.ndarray:
        """(n, n_actions) actions control may choose: the device rules, and non-activated units keep
        only their usual action."""
        avail = view.device_avail.copy()
        fixed = ~view.fleet.activated
        if fixed.any():
            usual = view.usual
            avail[fixed] = False
            avail[fixed, usual[fixed]] = True
        return avail

    @classmethod
    def no_shed(cls, view: Any, guard_c: float) -> np.ndarray:
        """(n,) units that must not reduce their load for a coalition (default none)."""
        return np.zeros(view.n, bool)

    @classmethod
    def comfort_avail(cls, view: Any, guard_c: float) -> np.ndarray:
        """``avail`` with the kind's comfort rule applied (default: no rule)."""
        return view.avail

    @classmethod
    def init_record(cls, model: Any, soa: SoA) -> dict:
        """Per-run recording state (created once when the model is built)."""
        return {}

    @classmethod
    def record(cls, model: Any, soa: SoA, ctx: Any, state: dict) -> dict[str, float]:
        """Kind-specific columns of the period's system row (after :meth:`step`)."""
        return {}

    @classmethod
    def checkpoint(cls, model: Any) -> dict:
        """Model-level state of the kind beyond its arrays (for exact resume)."""
        return {}

    @classmethod
    def restore(cls, model: Any, state: dict) -> None:
        """Inverse of :meth:`checkpoint`."""


_REGISTRY: dict[str, type[DeviceKind]] = {}


def register_kind(cls: type[DeviceKind]) -> type[DeviceKind]:
    """Register a device kind (usable as a class decorator).

    Raises:
        ValueError: empty name, or a different class already registered under the name.
    """
    if not cls.name:
        raise ValueError(f"{cls.__name__}: a device kind needs a non-empty 'name'")
    old = _REGISTRY.get(cls.name)
    if old is not None and old is not cls and old.__qualname__ != cls.__qualname__:
        raise ValueError(f"device kind {cls.name!r} is already registered by {old.__module__}.{old.__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def unregister_kind(name: str) -> None:
    """Remove a kind (tests that register a dummy kind clean up with this)."""
    _REGISTRY.pop(name, None)


def registered_kinds() -> dict[str, type[DeviceKind]]:
    """All registered kinds in table order (``order``, then name)."""
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


def get_kind(name: str) -> type[DeviceKind]:
    """The registered kind ``name``.

    Raises:
        KeyError: with the registered names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown device kind {name!r}; registered: {sorted(_REGISTRY)}") from None


def common_features(view: Any, n: int) -> np.ndarray:
    """(n, 5) float32 features every discrete kind shares: hour (sin, cos), eta_GI, gamma, 5·g."""
    c = view.ctx
    ang = 2 * np.pi * c.hour_of_day / 24.0
    row = np.array([np.sin(ang), np.cos(ang), c.eta_gi, c.gamma, 5.0 * c.g], dtype=np.float32)
    return np.broadcast_to(row, (n, len(row)))


@dataclass(frozen=True)
class DrawEnv:
    """What a kind may use when it draws a park's units.

    Attributes:
        weather: per-period weather frame (:func:`grid.weather.load_weather`).
        day_of_year: first simulated day.
        step_h: period length (h).
        n_days: days of daily schedules to draw (horizon + one day before the start).
    """

    weather: Any
    day_of_year: int
    step_h: float
    n_days: int


def soa_from_columns(kind: type[DeviceKind], parts: list[dict[str, np.ndarray]]) -> SoA:
    """The kind's unit table from per-park column dicts, with the kind's dtypes.

    Columns default to float32 (``park`` int32); ``kind.dtypes`` overrides per column;
    ``kind.empty_shapes`` gives the shape of a column when no park has units.
    """
    dtypes = {"park": np.int32, **getattr(kind, "dtypes", {})}
    empty = getattr(kind, "empty_shapes", {})
    out = {}
    for f in fields(kind.soa_cls):
        dtype = dtypes.get(f.name, np.float32)
        if parts:
            out[f.name] = np.concatenate([p[f.name] for p in parts]).astype(dtype)
        else:
            out[f.name] = np.zeros(empty.get(f.name, (0,)), dtype=dtype)
    return kind.soa_cls(**out)
