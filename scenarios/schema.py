"""Scenario files: a pydantic schema validated at load, with readable errors.

A scenario is YAML. Every numeric field has its unit in its name or
description and an allowed range; unknown fields are rejected. Errors name the
file, the field path, the bad value and what is allowed (``ScenarioError``).
"""

from __future__ import annotations

import hashlib
import importlib.resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aggregation.specs import AggregationSpec, ParkSpec
from aggregation.weather import WEATHER_FILES


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message is meant for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeatherSpec(_Strict):
    file: Annotated[str, Field(description="bundled pvlib TMY file")] = "12839.tm2"

    @field_validator("file")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in WEATHER_FILES:
            raise ValueError(f"must be one of {sorted(WEATHER_FILES)}")
        return v


class SimbenchSignalSpec(_Strict):
    """System generation built from SimBench profiles (fractions of peak load)."""

    load_profile: str = "hv_mixed1"
    pv_profile: str = "PV5"
    wind_profile: str = "WP1"
    pv_capacity_per_peak_load: Annotated[float, Field(ge=0.0, le=10.0, description="MWp per MW of peak load")] = 1.0
    wind_capacity_per_peak_load: Annotated[float, Field(ge=0.0, le=10.0, description="MW per MW of peak load")] = 0.8
    peak_load_mw: Annotated[float, Field(gt=0.0, le=1e6)] = 1000.0


class SeriesSignalSpec(_Strict):
    """System generation given explicitly, one value per period."""

    e_res_mwh: list[Annotated[float, Field(ge=0.0)]]
    e_tot_mwh: list[Annotated[float, Field(gt=0.0)]]

    @model_validator(mode="after")
    def _lengths(self) -> SeriesSignalSpec:
        if len(self.e_res_mwh) != len(self.e_tot_mwh):
            raise ValueError("e_res_mwh and e_tot_mwh must have the same length")
        if any(r > t for r, t in zip(self.e_res_mwh, self.e_tot_mwh, strict=True)):
            raise ValueError("renewable generation cannot exceed total generation in a period")
        return self


class SystemIndexSpec(_Strict):
    """Where the system zero-carbon index eta_GI(t) comes from."""

    source: Literal["simbench", "series", "grid"] = "simbench"
    simbench: SimbenchSignalSpec = SimbenchSignalSpec()
    series: SeriesSignalSpec | None = None

    @model_validator(mode="after")
    def _series_given(self) -> SystemIndexSpec:
        if self.source == "series" and self.series is None:
            raise ValueError("source 'series' needs a 'series' block with e_res_mwh and e_tot_mwh")
        return self


class FitnessSpec(_Strict):
    similarity_lambda: Annotated[float, Field(gt=0.0, le=100.0, description="lambda of Eq. 3")] = 1.0


class PolicySpec(_Strict):
    """Which DER policy acts: ``rule`` (uncontrolled baseline), ``greedy``, or a learned one."""

    kind: Literal["rule", "greedy", "qmix"] = "rule"
    weights: Annotated[
        str | None, Field(description="weights file, or the name of weights shipped in learners/weights")
    ] = None

    @model_validator(mode="after")
    def _weights_for_learned(self) -> PolicySpec:
        if self.kind == "qmix" and self.weights is None:
            raise ValueError("policy kind 'qmix' needs 'weights': a file from vppsim train, or shipped weights "
                             "('two_ac', 'three_parks')")
        return self


class TrainingSpec(_Strict):
    """How ``vppsim train`` draws coalitions from the population and trains QMIX on them."""

    n_ac: Annotated[int, Field(ge=0, le=64, description="air conditioners per coalition")] = 3
    n_ev: Annotated[int, Field(ge=0, le=64, description="EV piles per coalition")] = 1
    episode_len: Annotated[int, Field(ge=1, le=96, description="periods per episode")] = 24
    episodes: Annotated[int, Field(ge=1, le=10_000_000)] = 3000
    start_steps: list[Annotated[int, Field(ge=0)]] | None = None
    randomise_usual: bool = False
    checkpoint_every_episodes: Annotated[int, Field(ge=0, le=1_000_000)] = 250
    qmix: dict[str, Any] = {"obs_agent_id": False, "epsilon_anneal_time": 20_000, "buffer_size": 2000}

    @model_validator(mode="after")
    def _valid(self) -> TrainingSpec:
        if self.n_ac + self.n_ev < 1:
            raise ValueError("a coalition needs at least one agent (n_ac + n_ev >= 1)")
        from learners.qmix import QMIXConfig

        QMIXConfig.from_dict(self.qmix)  # unknown or badly typed keys fail here, at load
        return self


class GridSpec(_Strict):
    """Grid coupling (used when ``system_index.source`` is ``grid`` or by uptake sweeps)."""

    case: Literal["case14", "case39"] = "case39"
    sweep_agents: list[Annotated[int, Field(ge=0, le=100_000_000)]] = []
    options: dict[str, Any] = {}


class OutputSpec(_Strict):
    plots: bool = True
    checkpoint_every_steps: Annotated[int, Field(ge=0, le=100_000)] = 0


class Scenario(_Strict):
    """A complete run description."""

    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_\-]+$")]
    description: str = ""
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    horizon_h: Annotated[float, Field(gt=0.0, le=24.0 * 366, description="hours")] = 24.0
    step_h: Annotated[float, Field(ge=0.25, le=6.0, description="hours, a multiple of 0.25")] = 1.0
    start_day_of_year: Annotated[int, Field(ge=1, le=365)] = 196
    scale: Annotated[float, Field(gt=0.0, le=100_000.0, description="multiplies every DER count and park base load")] = 1.0
    weather: WeatherSpec = WeatherSpec()
    system_index: SystemIndexSpec = SystemIndexSpec()
    fitness: FitnessSpec = FitnessSpec()
    parks: Annotated[list[ParkSpec], Field(min_length=1)]
    aggregation: AggregationSpec = AggregationSpec()
    policy: PolicySpec = PolicySpec()
    method: Annotated[
        Literal["rule", "greedy", "qmix", "mip", "lagrangian"] | None,
        Field(description="shortcut for the controlled day's decision method (docs/baselines.md)"),
    ] = None
    grid: GridSpec | None = None
    training: TrainingSpec = TrainingSpec()
    output: OutputSpec = OutputSpec()

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        per = self.step_h * 4
        if abs(per - round(per)) > 1e-9:
            raise ValueError(f"step_h must be a multiple of 0.25 h, got {self.step_h}")
        steps = self.horizon_h / self.step_h
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"horizon_h ({self.horizon_h}) must be a whole number of steps of {self.step_h} h")
        names = [p.name for p in self.parks]
        if len(set(names)) != len(names):
            raise ValueError(f"park names must be unique, got {names}")
        if self.system_index.source == "series" and len(self.system_index.series.e_res_mwh) < self.n_steps:
            raise ValueError(
                f"system_index.series has {len(self.system_index.series.e_res_mwh)} values; "
                f"the horizon needs {self.n_steps}"
            )
        return self

    @property
    def n_steps(self) -> int:
        return int(round(self.horizon_h / self.step_h))

    def n_ders(self, scale: float | None = None) -> int:
        """DER count at ``scale`` (default the scenario's), rounded per park and kind like the fleet."""
        scale = self.scale if scale is None else scale
        return sum(
            round(getattr(p, k).count * scale) for p in self.parks for k in ("ac", "ev", "pv") if getattr(p, k)
        )

    def content_hash(self) -> str:
        """SHA-256 of the validated content (stable across formatting of the file)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


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


def _describe(err: dict, data: Any) -> str:
    loc = err.get("loc", ())
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    path = path or "(top level)"
    kind = err.get("type", "")
    if kind == "extra_forbidden":
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
    return f"field '{path}': got {shown}: {msg}"


def parse(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate already-loaded YAML content."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a mapping of fields, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e, data) for e in exc.errors()]
        n = len(lines)
        raise ScenarioError(f"{source}: {n} problem{'s' if n > 1 else ''}:\n  " + "\n  ".join(lines)) from None


def load(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load and validate a scenario file (path or bundled name).

    Args:
        name_or_path: a YAML path, or the name of a bundled scenario.
        overrides: top-level fields to replace before validation (e.g. seed, scale).

    Raises:
        ScenarioError: with a message naming the file, the field, the value and the allowed range.
    """
    path = resolve(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ScenarioError(f"{path}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    if overrides and isinstance(data, dict):
        data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    return parse(data, str(path))
