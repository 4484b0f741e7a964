"""Scenario files: a pydantic schema validated at load, with readable errors.

A scenario is YAML. Its ``kind`` field (default ``der_aggregation``) selects
the schema and the pipeline from the scenario-kind registry
(:mod:`scenarios.kinds`): the schema is a discriminated union on ``kind``.
Every numeric field has its unit in its name or description and an allowed
range; unknown fields are rejected. Errors name the file, the field path, the
bad value and what is allowed (``ScenarioError``). Method names (``method``,
``policy.kind``, ``training.learner``) come from :mod:`learners.registry`, and
their configs are validated here without importing torch.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

import learners.registry as methods
from aggregation.specs import AggregationSpec, ParkSpec
from learners.configs import check_file_values

from . import kinds as scenario_kinds
from .base import (
    FitnessSpec,
    GridSpec,
    OutputSpec,
    ScenarioBase,
    ScenarioError,
    SeriesSignalSpec,
    SimbenchSignalSpec,
    Strict,
    SystemIndexSpec,
    WeatherSpec,
)
from .limits import check_der_scenario, check_finite_tree, check_known_keys
from .yamlsafe import read_scenario_yaml

__all__ = [
    "FitnessSpec", "GridSpec", "OutputSpec", "PolicySpec", "Scenario", "ScenarioBase", "ScenarioError",
    "SeriesSignalSpec", "SimbenchSignalSpec", "SystemIndexSpec", "TrainingSpec", "WeatherSpec", "bundled_scenarios",
    "load", "parse", "resolve", "scenario_adapter",
]

_Strict = Strict  # wave-1 name


def multi_energy_methods() -> list[str]:
    """Methods a ``multi_energy`` scenario's ``methods:`` may name, read from :mod:`learners.registry`.

    Registered for the ``multi_energy`` kind and runnable without training: the solvers (not trainable:
    ``oracle``, ``mpc``) and the learners that act from shipped weights (``needs_weights``: ``maddpg_mpc``,
    ``sac_lax``). Trainable entries without shipped weights (``sac``, ``ppo`` …) are trained and
    benchmarked, not run by the pipeline.
    """
    return [n for n in methods.names(scenario_kind="multi_energy")
            if not methods.get(n).trainable or methods.get(n).needs_weights]


def multi_energy_method(v: str) -> str:
    """``v`` when it is one of :func:`multi_energy_methods` (the ``multi_energy`` schema's validator)."""
    allowed = multi_energy_methods()
    if v not in allowed:
        raise ValueError(f"must be one of {allowed}")
    return v


def _der_method(v: str, **filters: bool) -> str:
    """``v`` when it names a method of :mod:`learners.registry` for der_aggregation scenarios (and ``filters``)."""
    allowed = methods.names(scenario_kind="der_aggregation", **filters)
    if v not in allowed:
        raise ValueError(f"must be one of {allowed}")
    return v


class PolicySpec(Strict):
    """Which DER policy acts: a registered method with a fleet policy (``rule``, ``greedy``, ``qmix`` …)."""

    kind: Annotated[str, Field(description="a method of learners.registry that has a fleet policy")] = "rule"
    weights: Annotated[
        str | None, Field(description="weights file, or the name of weights shipped in learners/weights")
    ] = None

    @field_validator("kind")
    @classmethod
    def _registered(cls, v: str) -> str:
        return _der_method(v, policy=True)

    @model_validator(mode="after")
    def _weights_for_learned(self) -> PolicySpec:
        if methods.get(self.kind).needs_weights and self.weights is None:
            raise ValueError(f"policy kind {self.kind!r} needs 'weights': a file from vppsim train, or shipped "
                             "weights ('two_ac', 'three_parks')")
        return self


class TrainingSpec(Strict):
    """How ``vppsim train`` draws coalitions from the population and trains a registered learner on them.

    ``learner`` names a trainable method of :mod:`learners.registry`; ``config`` is its
    typed config (validated at load, without torch), replacing the learner's scenario
    defaults as a whole when given. The wave-1 block ``qmix: {...}`` is read as
    ``learner: qmix, config: {...}``.
    """

    n_ac: Annotated[int, Field(ge=0, le=64, description="air conditioners per coalition")] = 3
    n_ev: Annotated[int, Field(ge=0, le=64, description="EV piles per coalition")] = 1
    episode_len: Annotated[int, Field(ge=1, le=96, description="periods per episode")] = 24
    episodes: Annotated[int, Field(ge=1, le=10_000_000)] = 3000
    start_steps: list[Annotated[int, Field(ge=0, le=24 * 366 * 4)]] | None = None
    randomise_usual: bool = False
    checkpoint_every_episodes: Annotated[int, Field(ge=0, le=1_000_000)] = 250
    learner: Annotated[str, Field(description="a trainable method of learners.registry")] = "qmix"
    config: Annotated[dict[str, Any] | None, Field(description="the learner's config; None: its defaults")] = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_qmix_block(cls, data: Any) -> Any:
        if isinstance(data, dict) and "qmix" in data:
            if "config" in data:
                raise ValueError("give either 'config' or the older 'qmix' block, not both")
            data = {**data, "config": data["qmix"]}
            del data["qmix"]
            data.setdefault("learner", "qmix")
        return data

    @field_validator("learner")
    @classmethod
    def _trainable(cls, v: str) -> str:
        return _der_method(v, trainable=True)

    @model_validator(mode="after")
    def _valid(self) -> TrainingSpec:
        if self.n_ac + self.n_ev < 1:
            raise ValueError("a coalition needs at least one agent (n_ac + n_ev >= 1)")
        try:  # unknown or badly typed keys fail here, at load
            if self.config is not None:
                # A file's numbers are strict and finite like every other field
                # (an rnn_hidden_dim of .inf reached int() and raised OverflowError).
                check_finite_tree(self.config, "config")
                check_file_values(methods.get(self.learner).config, self.config, self.learner)
            methods.config_for(self.learner, self.learner_config)
        except (TypeError, ValueError, OverflowError) as exc:
            msg = str(exc)
            raise ValueError(msg if msg.startswith("config.") else f"config: {msg}") from None
        return self

    @property
    def learner_config(self) -> dict[str, Any]:
        """The learner's options: ``config``, or the registry's scenario defaults when none is given."""
        if self.config is not None:
            return dict(self.config)
        return dict(methods.get(self.learner).train_defaults)

    @property
    def qmix(self) -> dict[str, Any]:
        """Wave-1 name of :attr:`learner_config`."""
        return self.learner_config


class Scenario(ScenarioBase):
    """A ``der_aggregation`` scenario: DER parks, an uncontrolled baseline day and a controlled one."""

    kind: Literal["der_aggregation"] = "der_aggregation"
    scale: Annotated[float, Field(gt=0.0, le=100_000.0, description="multiplies every DER count and park base load")] = 1.0
    weather: WeatherSpec = WeatherSpec()
    system_index: SystemIndexSpec = SystemIndexSpec()
    fitness: FitnessSpec = FitnessSpec()
    parks: Annotated[list[ParkSpec], Field(min_length=1)]
    aggregation: AggregationSpec = AggregationSpec()
    policy: PolicySpec = PolicySpec()
    method: Annotated[
        str | None,
        Field(description="shortcut for the controlled day's decision method: a name of learners.registry"),
    ] = None
    grid: GridSpec | None = None
    training: TrainingSpec = TrainingSpec()

    @field_validator("method")
    @classmethod
    def _registered_method(cls, v: str | None) -> str | None:
        return v if v is None else _der_method(v)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        names = [p.name for p in self.parks]
        if len(set(names)) != len(names):
            raise ValueError(f"park names must be unique, got {names}")
        if self.system_index.source == "series" and len(self.system_index.series.e_res_mwh) < self.n_steps:
            raise ValueError(
                f"system_index.series has {len(self.system_index.series.e_res_mwh)} values; "
                f"the horizon needs {self.n_steps}"
            )
        if self.system_index.source in ("grid", "grid_nodal") and self.grid is None:
            # Caught here rather than when the run builds the grid case (issue 10).
            raise ValueError(f"system_index.source {self.system_index.source!r} needs a 'grid' block "
                             "(e.g. grid: {case: case39}; docs/scenarios.md)")
        if self.grid is not None and self.grid.options:
            # Nothing reads grid.options: a key there would be accepted and ignored.
            check_known_keys(self.grid.options, (), "grid.options")
        # Names (profiles, weather, weights, custom rule) and the size of the run,
        # with the estimate in the message (scenarios/limits.py, docs/scenarios.md).
        check_der_scenario(self)
        return self

    def n_ders(self, scale: float | None = None) -> int:
        """DER count at ``scale`` (default the scenario's), rounded per park and kind like the fleet."""
        scale = self.scale if scale is None else scale
        return sum(
            round(getattr(p, k).count * scale) for p in self.parks for k in ("ac", "ev", "pv") if getattr(p, k)
        )


DerAggregationScenario = Scenario


def _kind_of(data: Any) -> str:
    if isinstance(data, dict):
        return data.get("kind", scenario_kinds.DEFAULT_KIND)
    return getattr(data, "kind", scenario_kinds.DEFAULT_KIND)


def scenario_adapter() -> TypeAdapter:
    """A ``TypeAdapter`` of the union of every registered kind, discriminated on ``kind``.

    A file without ``kind`` is a ``der_aggregation`` scenario. Built on call, so kinds
    registered later are included.
    """
    members = tuple(Annotated[scenario_kinds.schema_class(k), Tag(k)] for k in scenario_kinds.kinds())
    union = members[0] if len(members) == 1 else Union[members]  # noqa: UP007
    return TypeAdapter(Annotated[union, Discriminator(_kind_of)])


def bundled_scenarios() -> list[str]:
    """Names of the scenario files shipped with the package."""
    root = importlib.resources.files("scenarios")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def resolve(name_or_path: str | Path) -> Path:
    """A path to a scenario file, given a path or a bundled scenario's name."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    stem = p.name[:-5] if p.name.endswith(".yaml") else p.name
    candidate = importlib.resources.files("scenarios") / f"{stem}.yaml"
    if candidate.is_file():
        return Path(str(candidate))
    raise ScenarioError(
        f"{name_or_path}: no such file, and not a bundled scenario (bundled: {', '.join(bundled_scenarios())})"
    )


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``X``, ``X | None``, ``list[X]``, ``Annotated[X, ...]``)."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(schema: type[BaseModel] | None, loc: tuple) -> list[str] | None:
    """The field names allowed at the parent of ``loc`` in ``schema`` (None when it cannot be told)."""
    from aggregation.kinds import registered_kinds
    from aggregation.specs import ParkSpec

    model = schema
    for part in loc[:-1]:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        if model is ParkSpec and part not in ParkSpec.model_fields:
            kind = registered_kinds().get(str(part))
            model = kind.spec_cls if kind is not None else None
            continue
        field = model.model_fields.get(str(part))
        model = _model_of(field.annotation) if field is not None else None
    if model is None:
        return None
    if model is ParkSpec:
        return [*(f for f in ParkSpec.model_fields if f != "devices"),
                *(n for n, k in registered_kinds().items() if k.park_capable())]
    return list(model.model_fields)


def _describe(err: dict, data: Any, schema: type[BaseModel] | None = None) -> str:
    loc = err.get("loc", ())
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    path = path or "(top level)"
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(schema, tuple(loc))
        if allowed:
            return f"field '{path}': unknown field; allowed here: {', '.join(allowed)}"
        return f"field '{path}': unknown field (check the spelling; allowed fields are in docs/scenarios.md)"
    if kind == "missing":
        return f"field '{path}': required field is missing"
    msg = err.get("msg", "invalid").removeprefix("Value error, ")
    ctx = err.get("ctx") or {}
    bounds = [f"{sym} {ctx[k]}" for k, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if k in ctx]
    value = err.get("input")
    shown = repr(value) if not isinstance(value, dict | list) else f"<{type(value).__name__}>"
    if bounds:
        # Ranges come from the schema's Field constraints; say them plainly.
        return f"field '{path}': got {shown}; allowed: {' and '.join(bounds)}"
    if isinstance(value, dict) and kind == "value_error":
        # A block's own consistency check: its message names the fields, the
        # block's content would only be noise ("got <dict>").
        return msg if path == "(top level)" else f"field '{path}': {msg}"
    return f"field '{path}': got {shown}: {msg}"


def parse(data: Any, source: str = "<scenario>") -> ScenarioBase:
    """Validate already-loaded YAML content as the scenario kind its ``kind`` field names.

    Raises:
        ScenarioError: naming ``source``, each bad field, its value and what is allowed.
    """
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a mapping of fields, got {type(data).__name__}")
    kind = _kind_of(data)
    try:
        schema = scenario_kinds.schema_class(kind)
    except (ValueError, TypeError) as exc:
        raise ScenarioError(f"{source}: 1 problem:\n  field 'kind': got {kind!r}: {exc}") from None
    try:
        # Validating with the kind's own class (the union member the discriminator picks)
        # keeps error paths free of the union tag, so messages read "parks[0].ac.count".
        return schema.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e, data, schema) for e in exc.errors()]
        n = len(lines)
        raise ScenarioError(f"{source}: {n} problem{'s' if n > 1 else ''}:\n  " + "\n  ".join(lines)) from None


def load(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> ScenarioBase:
    """Load and validate a scenario file (path or bundled name).

    Args:
        name_or_path: a YAML path, or the name of a bundled scenario.
        overrides: top-level fields to replace before validation (e.g. seed, scale).

    Raises:
        ScenarioError: with a message naming the file, the field, the value and the allowed range.
    """
    path = resolve(name_or_path)
    # Bounded, strict YAML 1.2 reading: one-line errors for non-UTF-8 bytes, deep
    # nesting, alias bombs, duplicate keys and object tags (docs/scenarios.md).
    data = read_scenario_yaml(path)
    if overrides and isinstance(data, dict):
        data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    return parse(data, str(path))
