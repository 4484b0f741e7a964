"""Validated specifications of parks and of the self-organisation.

These pydantic models are the part of a scenario file that describes the DER
population. A park holds one block per registered device kind under the kind's
name (``parks[i].ac``, ``parks[i].ev``, …); each block is validated by its kind's
own model (:mod:`aggregation.kinds`), so adding a kind adds a park block
without touching this file. Every field carries its unit in its name and its
allowed range in its constraints.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_serializer, model_validator

from .distributions import ClippedNormal, Strict, Uniform
from .kinds import registered_kinds
from .kinds.ac import ACSpec
from .kinds.ev import EVSpec
from .kinds.pv import PVSpec

__all__ = [
    "ACSpec", "AggregationSpec", "BaseLoadSpec", "ClippedNormal", "EVSpec", "PVSpec", "ParkSpec", "Uniform",
]

_Strict = Strict


class BaseLoadSpec(_Strict):
    """Non-flexible park load shaped by a SimBench standard load profile."""

    peak_kw: Annotated[float, Field(ge=0.0, le=10_000_000.0)] = 0.0
    # A SimBench load profile; the name is checked at validate (scenarios.limits.check_der_scenario).
    profile: Annotated[str, Field(min_length=1, max_length=64)] = "G0-A"


_PARK_FIELDS = ("name", "bus", "base_load")


class ParkSpec(_Strict):
    """One park (prosumer site) and its DERs: one block per registered device kind.

    ``devices`` maps kind names to their validated blocks; ``park.ac`` reads
    ``devices.get("ac")`` (None when the park has none). A key that is neither a
    park field nor a registered kind is an error naming the allowed keys.
    """

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
    bus: Annotated[int | None, Field(ge=0, le=100_000, description="grid bus index (grid layer)")] = None
    base_load: BaseLoadSpec = BaseLoadSpec()
    devices: dict[str, Any] = {}

    @model_validator(mode="wrap")
    @classmethod
    def _device_blocks(cls, data: Any, handler):
        if not isinstance(data, dict) or "devices" in data:
            return handler(data)
        kinds = {n: k for n, k in registered_kinds().items() if k.park_capable()}
        rest: dict[str, Any] = {}
        devices: dict[str, Any] = {}
        errors: list[dict] = []
        for key, value in data.items():
            if key in _PARK_FIELDS:
                rest[key] = value
            elif key in kinds:
                if value is None:
                    continue
                try:
                    devices[key] = kinds[key].spec_cls.model_validate(value)
                except ValidationError as exc:
                    # Re-raised with the kind's name in the path: parks[i].<kind>.<field>.
                    for e in exc.errors():
                        d = {"type": e["type"], "loc": (key, *e["loc"]), "input": e["input"]}
                        if "ctx" in e:
                            d["ctx"] = e["ctx"]
                        errors.append(d)
            else:
                allowed = ", ".join([*_PARK_FIELDS, *kinds])
                errors.append({"type": "value_error", "loc": (key,), "input": value,
                               "ctx": {"error": ValueError(f"unknown field; allowed: {allowed}")}})
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        rest["devices"] = devices
        return handler(rest)

    @model_serializer(mode="wrap")
    def _flat(self, handler):
        # Serialised like the file: device blocks sit beside name/bus/base_load.
        out = handler(self)
        if isinstance(out, dict):
            devices = out.pop("devices", {}) or {}
            out.update(devices)
        return out

    def __getattr__(self, name: str):
        devices = self.__dict__.get("devices")
        if devices is not None and name in registered_kinds() and not name.startswith("_"):
            return devices.get(name)
        return super().__getattr__(name)

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> ParkSpec:
        """A copy with ``update`` applied; kind blocks (``ac=…``, ``pv=None``) go into ``devices``.

        Like pydantic's ``model_copy``, the update is not validated.
        """
        if update:
            kinds = registered_kinds()
            blocks = {k: v for k, v in update.items() if k in kinds}
            if blocks:
                update = {k: v for k, v in update.items() if k not in kinds}
                devices = {**self.devices, **blocks}
                update["devices"] = {k: v for k, v in devices.items() if v is not None}
        return super().model_copy(update=update, deep=deep)

    def device(self, kind: str) -> Any:
        """The park's block of ``kind``, or None."""
        return self.devices.get(kind)


RuleName = Literal["rule1", "rule2", "rule3", "rule4"]


class AggregationSpec(_Strict):
    """Self-organisation settings (seed 003 §3.4; algorithm in docs/aggregation.md).

    ``rules[i - 1]`` is the rule that forms level ``i`` from level ``i - 1``
    (level 0 are the DERs); only the first ``max_levels`` entries are used.
    """

    enabled: bool = False
    max_levels: Annotated[int, Field(ge=1, le=10, description="aggregator levels above the DERs")] = 5
    rules: list[RuleName] = ["rule3", "rule3", "rule3", "rule3", "rule3"]
    custom_rule: Annotated[str | None, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")] = None
    group_size: Annotated[int, Field(ge=2, le=1000, description="units a merge proposal may join")] = 4
    epsilon_cvg_kw: Annotated[float, Field(gt=0.0, le=1e6, description="Eq. 13 threshold on the VPP load change")] = 0.5
    h_m: Annotated[int, Field(ge=1, le=100, description="consecutive stable iterations for convergence")] = 3
    max_iterations: Annotated[int, Field(ge=1, le=10_000)] = 50
    seed: Annotated[int, Field(ge=0, le=2**63 - 1, description="seed of the organiser's generator")] = 0
    proposal_rounds: Annotated[
        int, Field(ge=0, le=10_000, description="iterations per period in which free units propose merges")
    ] = 3
    proposal_jitter: Annotated[
        float, Field(ge=0.0, le=100.0, description="noise on complementary matching, in std of residuals")
    ] = 0.5
    joint_passes: Annotated[int, Field(ge=1, le=50, description="one-step passes of the joint-action improvement")] = 4
    comfort_guard_c: Annotated[
        float, Field(ge=0.0, le=20.0, description="ACs this close (°C) to their comfort limit never shed for a coalition")
    ] = 0.5
    snapshot_hour: Annotated[float, Field(ge=0.0, lt=24.0, description="hour of Fig. 7a and the hierarchy drawing")] = 10.0
    figure_level: Annotated[int, Field(ge=1, le=10, description="level shown in Fig. 7a (capped at max_levels)")] = 4
    park_vpp: Annotated[
        bool, Field(description="top level = one VPP per park (issue 11); false: groups of group_size as below")
    ] = True
    graph_max_nodes: Annotated[
        int, Field(ge=10, le=10_000_000, description="node budget of each exported hierarchy graph")
    ] = 20_000

    @model_validator(mode="after")
    def _rules(self) -> AggregationSpec:
        if len(self.rules) < self.max_levels:
            raise ValueError(f"rules has {len(self.rules)} entries; one per level is needed ({self.max_levels})")
        if "rule4" in self.rules[: self.max_levels] and self.custom_rule is None:
            raise ValueError("rule4 needs custom_rule: 'module:function'")
        return self
