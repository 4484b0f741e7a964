import math

import numpy as np
import pytest

from aggregation.indices import (
    load_index,
    period_fitness,
    renewable_gradient,
    shape_distance,
    system_index,
)


def test_system_index_hand_computed():
    eta = system_index(np.array([10.0, 0.0, 30.0]), np.array([40.0, 20.0, 30.0]))
    assert eta.tolist() == [0.25, 0.0, 1.0]


def test_system_index_edge_cases():
    assert system_index(np.zeros(4), np.ones(4)).tolist() == [0.0] * 4  # no renewables
    assert system_index(np.zeros(2), np.zeros(2)).tolist() == [0.0, 0.0]  # no generation at all
    with pytest.raises(ValueError, match="shapes differ"):
        system_index(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="non-negative"):
        system_index(np.array([-1.0]), np.array([1.0]))


def test_renewable_gradient_normalised_by_max_and_cyclic():
    g = renewable_gradient(np.array([0.0, 5.0, 10.0, 5.0]))
    assert g.tolist() == [-0.5, 0.5, 0.5, -0.5]
    assert renewable_gradient(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert renewable_gradient(np.array([2.0, 4.0]), prev=0.0).tolist() == [0.5, 0.5]


def test_load_index_hand_computed():
    # No local generation: rho = 1, omega_in = 0.
    e = np.array([1.0, 2.0, 1.0])
    g = np.array([0.5, 0.5, -0.5])
    eta, w_out, w_in = load_index(e, e, g, p_user_max=2.0, lam=1.0, prev_out=1.0)
    l_t = np.array([0.0, 0.5, -0.5])
    d = math.sqrt(((l_t - g) ** 2).sum())
    assert w_in == 0.0
    assert w_out == pytest.approx(math.exp(-d))
    assert eta == pytest.approx(w_out)


def test_load_index_local_renewables_split_internal_external():
    e_all = np.array([2.0, 2.0])
    e_out = np.array([1.0, 1.0])  # half supplied by local PV
    eta, w_out, w_in = load_index(e_out, e_all, np.zeros(2), 2.0, 1.0)
    assert w_in == pytest.approx(0.5)
    assert w_out == pytest.approx(0.5)  # flat load, flat renewables: similarity 1
    assert eta == pytest.approx(1.0)


def test_load_index_exporting_and_empty_sites():
    eta, w_out, w_in = load_index(np.array([-1.0, -1.0]), np.array([1.0, 1.0]), np.zeros(2), 1.0, 1.0)
    assert (eta, w_out, w_in) == (1.0, 0.0, 1.0)
    assert load_index(np.zeros(3), np.zeros(3), np.zeros(3), 1.0, 1.0) == (0.0, 0.0, 0.0)


def test_period_fitness_prefers_following_the_renewable_gradient():
    p_now = np.array([[0.0, 0.5, 1.0]])
    fit = period_fitness(p_now, np.array([[0.5]]), np.array([[1.0]]), g_t=0.5, gamma_t=0.8, lam=2.0)
    assert fit.shape == (1, 3)
    assert np.argmax(fit) == 2  # rising renewables reward rising load
    assert fit.max() == pytest.approx(0.8)
    assert (fit >= 0).all() and (fit <= 0.8).all()
    fit_down = period_fitness(p_now, np.array([[0.5]]), np.array([[1.0]]), g_t=-0.5, gamma_t=0.8, lam=2.0)
    assert np.argmax(fit_down) == 0


def test_period_fitness_flat_load_flat_index():
    fit = period_fitness(np.ones(5), np.ones(5), np.ones(5), g_t=0.0, gamma_t=0.3, lam=1.0)
    assert np.allclose(fit, 0.3)


def test_shape_distance_properties():
    t = np.linspace(0, 1, 24)
    target = np.sin(np.pi * t)
    assert shape_distance(target, target) == 0.0
    assert shape_distance(100 * target + 7, target) == pytest.approx(0.0, abs=1e-12)  # shape, not scale
    assert shape_distance(np.ones(24), target) == pytest.approx(np.sqrt(np.mean(target**2 / target.max() ** 2)))
    assert 0 <= shape_distance(1 - target, target) <= 1
