"""Recipe "add a device kind" (docs/architecture.md): one module-sized class plus one registration.

The dummy kind here is a constant load (a server room, say): a parameter block, a
unit table, a draw and a park output. Registering it is the only change; the
scenario schema accepts ``parks[i].const_load``, the fleet draws it, the model adds
it to every park's load and the results gain a ``const_load_kw`` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pytest
from pydantic import Field

from aggregation.distributions import Strict
from aggregation.kinds import DeviceKind, SoA, register_kind, unregister_kind
from aggregation.model import SystemSignal, VppModel
from aggregation.specs import ParkSpec
from grid.weather import load_weather


class ConstantLoadSpec(Strict):
    count: Annotated[int, Field(ge=0, le=1000)] = 1
    p_kw: Annotated[float, Field(ge=0.0, le=1e4, description="constant consumption per unit")]


@dataclass
class ConstantLoadUnits(SoA):
    park: np.ndarray
    p_kw: np.ndarray


class ConstantLoad(DeviceKind):
    name = "const_load"
    label = "constant loads"
    spec_cls = ConstantLoadSpec
    soa_cls = ConstantLoadUnits
    actions = "none"
    order = 50
    load_sign = 1

    @classmethod
    def draw(cls, spec, park, n, rng, env):
        return {"park": np.full(n, park), "p_kw": np.full(n, spec.p_kw)}

    @classmethod
    def park_output_kw(cls, fleet, step):
        u = fleet.units["const_load"]
        return np.bincount(u.park, weights=u.p_kw, minlength=fleet.n_parks)


@pytest.fixture
def const_kind():
    register_kind(ConstantLoad)
    yield ConstantLoad
    unregister_kind("const_load")


def _model(parks, seed=3):
    n = 6
    weather = load_weather("12839.tm2", 196, n, 1.0)
    signal = SystemSignal(np.linspace(100, 400, n), np.full(n, 1000.0))
    return VppModel([ParkSpec.model_validate(p) for p in parks], signal, weather, day_of_year=196, seed=seed)


def test_a_registered_kind_runs_through_a_scenario(const_kind):
    park = {"name": "site", "base_load": {"peak_kw": 50, "profile": "G0-A"},
            "ac": {"count": 20}, "pv": {"count": 1, "capacity_kw": 30}}
    plain = _model([park])
    plain.run()
    with_kind = _model([{**park, "const_load": {"count": 3, "p_kw": 2.0}}])
    with_kind.run()
    a, b = plain.system_series(), with_kind.system_series()
    assert "const_load_kw" in b and "const_load_kw" not in a
    np.testing.assert_allclose(b["const_load_kw"], 6.0)
    # Same random stream (the kind draws nothing), so the rest is unchanged and the net load moves by 6 kW.
    np.testing.assert_allclose(b["net_kw"] - a["net_kw"], 6.0, atol=1e-9)
    np.testing.assert_array_equal(a["ac_kw"], b["ac_kw"])
    assert with_kind.fleet.count("const_load") == 3


def test_unknown_park_keys_name_the_registered_kinds(const_kind):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as err:
        ParkSpec.model_validate({"name": "p", "const_lod": {"p_kw": 1}})
    assert "const_load" in str(err.value)
    with pytest.raises(ValidationError) as err:
        ParkSpec.model_validate({"name": "p", "const_load": {"p_kw": -1}})
    assert err.value.errors()[0]["loc"] == ("const_load", "p_kw")


def test_unregistered_kind_is_an_error():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ParkSpec.model_validate({"name": "p", "const_load": {"p_kw": 1}})


def test_park_copies_update_kind_blocks():
    from aggregation.kinds.ac import ACSpec

    park = ParkSpec.model_validate({"name": "p", "ac": {"count": 5}, "pv": {"capacity_kw": 10}})
    copy = park.model_copy(update={"ac": ACSpec(count=2, parameter_levels=4), "pv": None})
    assert copy.ac.count == 2 and copy.ac.parameter_levels == 4 and copy.pv is None
    assert copy.device("ac") is copy.ac and park.ac.count == 5
    assert set(copy.model_dump()) == {"name", "bus", "base_load", "ac"}
