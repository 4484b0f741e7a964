"""Documented limits and physical checks (scenarios/limits.py)."""

from __future__ import annotations

import math
import re
from typing import Annotated

import pytest
from pydantic import BaseModel, Field, ValidationError

from scenarios import limits as L


class _M(BaseModel):
    x: L.FiniteFloat = 0.0
    pos: L.PositiveFloat = 1.0
    frac: L.Fraction = 0.5
    temp: L.TemperatureC = 20.0
    hour: L.HourOfDay = 8.0
    dur: L.Hours = 1.0
    energy: L.EnergyKWh = 1.0
    power: L.PowerKW = 1.0
    count: L.Count = 1
    narrowed: Annotated[L.PositiveFloat, Field(le=50.0)] = 1.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("x", math.nan), ("x", math.inf), ("x", -math.inf), ("x", True), ("x", "1.5"), ("x", "nan"),
        ("pos", 0.0), ("pos", -1.0), ("frac", 1.01), ("frac", -0.1), ("temp", -51.0), ("temp", 71.0),
        ("hour", 24.5), ("hour", -0.5), ("dur", -1.0), ("energy", -0.1), ("power", 0.0),
        ("count", True), ("count", 1.0), ("count", -1), ("count", 10_000_001), ("count", "3"), ("narrowed", 51.0),
    ],
)
def test_field_types_reject(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        _M(**{field: value})


def test_field_types_accept() -> None:
    m = _M(x=-3, pos=2, frac=1, temp=-50, hour=24, dur=0, energy=0, power=1e-3, count=0, narrowed=50)
    assert m.x == -3.0 and m.count == 0


def test_distributions() -> None:
    L.check_uniform(1.0, 2.0, gt=0.0)
    L.check_clipped_normal(8.0, 1.0, 0.0, 23.0, ge=0.0, le=24.0)
    for args in [(math.nan, math.nan), (2.0, 1.0), (math.inf, math.inf), (True, 2.0)]:
        with pytest.raises(ValueError):
            L.check_uniform(*args)
    with pytest.raises(ValueError, match="must be > 0"):
        L.check_uniform(0.0, 1.0, gt=0.0)
    with pytest.raises(ValueError, match=r"mean \(30\) must lie in \[min, max\]"):
        L.check_clipped_normal(30.0, 1.0, 0.0, 23.0)
    with pytest.raises(ValueError, match="std must be >= 0"):
        L.check_clipped_normal(1.0, -1.0, 0.0, 2.0)
    with pytest.raises(ValueError, match=r"min \(-1\) must be >= 0"):
        L.check_clipped_normal(1.0, 1.0, -1.0, 2.0, ge=0.0)


def test_free_form_blocks() -> None:
    L.check_known_keys({"a": 1}, ["a", "b"], "grid.options")
    with pytest.raises(ValueError, match=r"grid.options: unknown key 'c'; allowed: a, b"):
        L.check_known_keys({"c": 1}, ["a", "b"], "grid.options")
    L.check_finite_tree({"a": [1, 2.5, {"b": True}]}, "training.qmix")
    with pytest.raises(ValueError, match=r"training.qmix.rnn_hidden_dim: got inf"):
        L.check_finite_tree({"rnn_hidden_dim": math.inf}, "training.qmix")
    with pytest.raises(ValueError, match=r"x\[1\]: got nan"):
        L.check_finite_tree([1, math.nan], "x")
    with pytest.raises(ValueError, match="magnitude"):
        L.check_finite_tree({"n": 10**30}, "x")


def test_run_size_issue_example() -> None:
    # scale: 100000 with ac: {count: 10000000}: 1e12 DERs.
    with pytest.raises(ValueError) as err:
        L.check_run_size({"ac": 10_000_000 * 100_000}, 24, memory_bytes=23 * 2**30)
    msg = str(err.value)
    assert "1,000,000,000,000 DERs" in msg and "PiB of memory" in msg and "this machine has 23.0 GiB" in msg
    assert "limit 10,000,000 DERs" in msg


def test_run_size_memory_and_fit() -> None:
    nbytes, seconds = L.estimate_run({"ac": 1_000_000}, 24)
    assert 2.0e9 < nbytes < 3.5e9 and 100 < seconds < 600  # docs/benchmarks.md: 2.8 GB, 282 s
    L.check_run_size({"ac": 515, "ev": 42, "pv": 3}, 24)
    with pytest.raises(ValueError, match="limit 80% of it"):
        L.check_run_size({"ac": 5_000_000}, 24, memory_bytes=4 * 2**30)
    assert L.machine_memory_bytes() is None or L.machine_memory_bytes() > 2**28


def test_profiles_and_weather() -> None:
    assert L.check_load_profile("G0-A") == "G0-A"
    assert L.check_res_profile("PV5") == "PV5"
    with pytest.raises(ValueError, match="unknown SimBench load profile 'G0-Z'"):
        L.check_load_profile("G0-Z")
    with pytest.raises(ValueError, match="unknown SimBench renewable profile"):
        L.check_res_profile("PV99")
    assert L.check_weather_file("12839.tm2") == "12839.tm2"
    with pytest.raises(ValueError, match="unknown weather file"):
        L.check_weather_file("../../etc/passwd")


def test_weights(tmp_path) -> None:
    assert L.check_weights("three_parks").name == "three_parks.pt"
    with pytest.raises(ValueError, match="no such file, and not shipped"):
        L.check_weights("nope")
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"\x80\x04pickle")
    with pytest.raises(ValueError, match="not a torch.save zip archive"):
        L.check_weights(str(bad))


def _four(mu, group, n_groups, weight_kw):  # a valid statistic's signature
    return mu


def _two(mu, group):
    return mu


def test_custom_rule() -> None:
    assert L.check_custom_rule("aggregation.rules:capacity_weighted_mean")
    assert L.check_custom_rule(f"{__name__}:_four")
    with pytest.raises(ValueError, match="must accept"):
        L.check_custom_rule(f"{__name__}:_two")
    with pytest.raises(ValueError, match="cannot import module"):
        L.check_custom_rule("no_such_module_xyz:f")
    with pytest.raises(ValueError, match="has no attribute|has no callable"):
        L.check_custom_rule("aggregation.rules:nope")
    with pytest.raises(ValueError, match="must look like"):
        L.check_custom_rule("os.system")


def _ns(**kw):
    from types import SimpleNamespace

    return SimpleNamespace(**kw)


def _scenario(scale=1.0, profile="G0-A", weather="12839.tm2", weights=None, custom_rule=None, count=10):
    park = _ns(base_load=_ns(profile=profile), devices={"ac": _ns(count=count), "ev": _ns(count=2)})
    return _ns(
        scale=scale, parks=[park], n_steps=24, weather=_ns(file=weather),
        system_index=_ns(source="simbench", simbench=_ns(load_profile="hv_mixed1", pv_profile="PV5", wind_profile="WP1")),
        policy=_ns(weights=weights), aggregation=_ns(enabled=True, custom_rule=custom_rule),
    )


def test_check_der_scenario() -> None:
    sc = _scenario(scale=2.5)
    assert L.der_counts(sc) == {"ac": 25, "ev": 5}
    L.check_der_scenario(sc, memory_bytes=16 * 2**30)
    for kw, where in [({"profile": "G0-Z"}, "parks[0].base_load.profile"), ({"weather": "x.tm2"}, "weather.file"),
                      ({"weights": "nope"}, "policy.weights"), ({"custom_rule": "nomod_xyz:f"}, "aggregation.custom_rule"),
                      ({"scale": 100_000.0, "count": 10_000_000}, "parks: ")]:
        with pytest.raises(ValueError, match=re.escape(where)):
            L.check_der_scenario(_scenario(**kw), memory_bytes=16 * 2**30)
