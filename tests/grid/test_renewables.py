"""Renewable availability from the bundled weather and turbine data, without network access."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from grid import data
from grid.renewables import availability_mw, hub_wind_speed_m_s, turbine_power_curve, wind_capacity_factor
from grid.weather import load_weather


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_turbine_curve_is_the_bundled_v126(no_network):
    turbine_power_curve.cache_clear()
    speeds, power_w = turbine_power_curve("V126/3450")
    assert power_w.max() == pytest.approx(3.45e6)
    assert np.all(np.diff(speeds) > 0)
    with pytest.raises(ValueError, match="not in windpowerlib"):
        turbine_power_curve("NoSuchTurbine/1")


def test_log_law_hub_height():
    v10 = np.array([5.0])
    expected = (
        5.0
        * np.log(data.WIND_HUB_HEIGHT_M / data.WIND_ROUGHNESS_LENGTH_M)
        / np.log(10.0 / data.WIND_ROUGHNESS_LENGTH_M)
    )
    np.testing.assert_allclose(hub_wind_speed_m_s(v10), expected)


def test_wind_capacity_factor_shape():
    cf = wind_capacity_factor(np.array([0.0, 1.0, 5.0, 8.0, 14.0]))
    assert cf[0] == 0.0 and cf[1] == 0.0  # below cut-in even at hub height
    assert np.all(np.diff(cf) >= 0) and 0.9 < cf[-1] <= 1.0


@pytest.mark.parametrize("weather_file", ["12839.tm2", "723170TYA.CSV"])
def test_availability_day(no_network, weather_file):
    w = load_weather(weather_file, 196, 24, 1.0)
    avail = availability_mw(["wind", "pv"], np.array([100.0, 50.0]), w, 1.0)
    assert avail.shape == (24, 2)
    assert np.all(avail >= 0) and np.all(avail[:, 0] <= 100.0) and np.all(avail[:, 1] <= 50.0)
    assert np.all(avail[:4, 1] == 0.0)  # no sun before 04:00 in July
    assert avail[10:15, 1].mean() > 0.3 * 50.0


def test_pv_annual_capacity_factor_is_plausible():
    w = load_weather("12839.tm2", 1, 8760, 1.0)
    cf = availability_mw(["pv"], np.array([1.0]), w, 1.0).mean()
    assert 0.15 < cf < 0.25  # PVWatts-like fixed-tilt plant in Miami, DC/AC 1.2


def test_load_profile():
    prof = data.load_profile(196, 24, 1.0)
    assert data.rts_season(196) == "summer" and data.rts_season(10) == "winter"
    assert prof.max() == 1.0 and prof.min() == pytest.approx(0.56)
    quarter = data.load_profile(196, 96, 0.25)
    np.testing.assert_allclose(quarter.reshape(24, 4).mean(axis=1), prof)
