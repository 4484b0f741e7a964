"""Forecasters: shapes, a loss that decreases on a toy series, weights round trip, naive floor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from learners.forecasters import (
    ForecasterConfig,
    build_model,
    evaluate,
    fit,
    load_forecaster,
    save_forecaster,
    seasonal_naive,
    split_year,
)


def _toy(n: int = 24 * 8) -> np.ndarray:
    h = np.arange(n)
    rng = np.random.default_rng(0)
    day = np.sin(2 * np.pi * h / 24)
    return np.stack([500 + 200 * day, 300 - 100 * day, 100 + 50 * np.cos(2 * np.pi * h / 24),
                     np.clip(250 * day, 0, None)], axis=1) + rng.normal(0, 5, (n, 4))


@pytest.mark.parametrize("kind", ["lstm", "gru", "xlstm", "ax"])
def test_shapes(kind: str) -> None:
    cfg = ForecasterConfig(kind=kind, lookback=8, horizon=5, hidden=8, heads=2)
    m = build_model(cfg)
    y = m(torch.zeros(3, 8, 8))
    assert y.shape == (3, 5, 4)


def test_split_is_chronological_70_15_15() -> None:
    tr, va, te = split_year(8760)
    assert (tr.start, tr.stop, va.stop, te.stop) == (0, 6132, 7446, 8760)


@pytest.mark.parametrize("kind", ["gru", "ax"])
def test_loss_decreases_and_round_trip(kind: str, tmp_path) -> None:
    data = _toy()
    cfg = ForecasterConfig(kind=kind, lookback=8, horizon=6, hidden=8, epochs=3, patience=10, stride=4, seed=1)
    fc = fit(data, cfg)
    losses = [h["train_loss"] for h in fc.history]
    assert losses[-1] < losses[0]
    save_forecaster(fc, tmp_path / "f.pt")
    fc2 = load_forecaster(tmp_path / "f.pt")
    x = data[-8:]
    np.testing.assert_allclose(fc.predict(x, 3), fc2.predict(x, 3), rtol=1e-5)
    assert fc.predict(x, 3).shape == (6, 4)
    m = evaluate(fc, data)
    assert set(m) == {"load_e_kw", "load_h_kw", "wind_kw", "pv_kw"} and m["load_e_kw"]["mape"] > 0


def test_seasonal_naive_is_exact_on_a_periodic_series() -> None:
    h = np.arange(24 * 20)
    data = np.stack([100 + np.sin(2 * np.pi * h / 24)] * 4, axis=1)
    m = seasonal_naive(data)
    assert m["load_e_kw"]["mae"] < 1e-9


def test_validation_windows_start_at_midnight_like_the_test_windows(monkeypatch) -> None:
    """Early stopping selects on day-ahead windows from 00:00 (the test's), not from the split's first hour."""
    import learners.forecasters as F

    seen: list[np.ndarray] = []
    real = F.make_windows

    def spy(scaled, starts, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append(np.asarray(starts))
        return real(scaled, starts, *a, **k)

    monkeypatch.setattr(F, "make_windows", spy)
    data = _toy(24 * 21 + 12)  # 516 h: the validation split starts at hour 361 (= day 15, 01:00)
    tr, va, _ = split_year(len(data))
    assert va.start % 24 != 0
    F.fit(data, ForecasterConfig(kind="gru", lookback=8, horizon=6, hidden=4, epochs=1, stride=4))
    val = seen[1]
    assert len(val) >= 1 and np.all(val % 24 == 0) and val.min() >= va.start and val.max() + 6 <= va.stop
