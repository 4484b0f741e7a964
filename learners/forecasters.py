"""k-step forecasters of electric load, heat load, wind and PV (seed 001 §3.2, §4.1–4.2, Table 2).

Four models with identical inputs and outputs (seed 001 §4.2: "identical input–output configurations
and data splits"):

* ``lstm`` / ``gru``: one recurrent layer (``torch.nn.LSTM`` / ``torch.nn.GRU``), last hidden state
  -> linear head;
* ``xlstm``: the stack mLSTM–sLSTM–mLSTM of seed 001 Fig. 5 from the ``xlstm`` package (Beck et al.
  2024, NX-AI ``xlstm==2.0.6``; ``xLSTMBlockStack`` with ``slstm_at=[1]``, the sLSTM on the pure
  PyTorch ``backend="vanilla"`` so it runs on CPU), last token -> linear head (the ablation "vanilla
  xLSTM" of Table 2);
* ``ax`` (Attention–xLSTM): the same stack followed by multi-head attention whose query is the last
  token and whose keys/values are all tokens (temporal attention pooling, residual + layer norm),
  -> linear head.

Input per sample (B, L, 8): the last ``lookback`` hours of the four series, min–max scaled to
[0, 1] with the training split's extremes (seed 001 §4.1), plus sin/cos of the hour of day and of the
day of week of each input hour (calendar features: a vppsim choice; the commercial load's weekday /
weekend switch is otherwise invisible in one day of history). Rows are hours counted from 00:00 of
the series' first day, whose weekday is ``first_weekday`` (2016-01-01, SimBench's year, a Friday: 4). Output
(B, H, 4): the next ``horizon`` hours of the four series (direct multi-step, scaled). The loss is the
MSE on the scaled outputs.

Data split (seed 001 §4.1): chronological 70 % / 15 % / 15 % (train / validation / test) of the
hourly year; validation (day-ahead windows from each validation midnight, like the test windows) selects
the epoch (early stopping), the test split gives MAE, RMSE and MAPE
(in kW and %, on the original scale). MAPE is taken over hours whose actual value is at least 5 %
of the series' training maximum (PV is zero at night). The seasonal-naive floor predicts each
hour by the same hour of the previous day.

Weights ship as ``torch.save`` of a dict of tensors and plain values (``torch.load(weights_only=True)``):
``{"kind", "config", "state_dict", "scale_min", "scale_max"}``.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["SERIES", "ForecasterConfig", "Forecaster", "MinMaxScaler", "build_model", "fit", "evaluate",
           "load_forecaster", "make_windows", "metrics", "save_forecaster", "seasonal_naive", "split_year"]

#: the forecast series, in column order (kW)
SERIES: tuple[str, ...] = ("load_e_kw", "load_h_kw", "wind_kw", "pv_kw")
KINDS: tuple[str, ...] = ("lstm", "gru", "xlstm", "ax")


@dataclass
class ForecasterConfig:
    """Model and training settings (vppsim choices; seed 001 gives none besides the split and scaling).

    Attributes:
        kind: ``lstm``, ``gru``, ``xlstm`` or ``ax``.
        lookback: input hours L (24: one day; 48 made the vanilla sLSTM 5x slower on this CPU).
        horizon: output hours H (24: the day-ahead rolling forecast of seed 001 §4.1).
        hidden: width of the recurrent state / xLSTM embedding.
        heads: attention heads of ``ax``.
        lr: Adam learning rate.
        batch_size: windows per step.
        epochs: maximum epochs.
        patience: epochs without validation improvement before stopping.
        max_seconds: wall-time budget of :func:`fit` (None: unlimited).
        stride: hours between training windows (1: every hour).
        seed: seeds weight initialisation and shuffling (no global generator is touched).
        torch_threads: intra-op threads while fitting (None: leave torch's setting; restored after).
        first_weekday: weekday of row 0 (Monday 0 … Sunday 6).
    """

    kind: str = "ax"
    lookback: int = 24
    horizon: int = 24
    hidden: int = 32
    heads: int = 2
    lr: float = 3e-3
    batch_size: int = 64
    epochs: int = 30
    patience: int = 5
    max_seconds: float | None = None
    stride: int = 1
    seed: int = 0
    torch_threads: int | None = 1
    first_weekday: int = 4

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if min(self.lookback, self.horizon, self.hidden, self.batch_size, self.epochs, self.stride) < 1:
            raise ValueError("lookback, horizon, hidden, batch_size, epochs and stride must be >= 1")


class MinMaxScaler:
    """Per-column min–max scaling to [0, 1] (seed 001 §4.1).

    Args:
        lo, hi: (C,) column minima and maxima (of the training split).
    """

    def __init__(self, lo: np.ndarray, hi: np.ndarray) -> None:
        self.lo = np.asarray(lo, dtype=np.float64)
        self.hi = np.asarray(hi, dtype=np.float64)
        self.span = np.where(self.hi - self.lo > 1e-12, self.hi - self.lo, 1.0)

    @classmethod
    def fit(cls, x: np.ndarray) -> MinMaxScaler:
        """From (N, C) data."""
        return cls(np.min(x, axis=0), np.max(x, axis=0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.lo) / self.span

    def inverse(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) * self.span + self.lo


def split_year(n: int, fractions: tuple[float, float] = (0.70, 0.15)) -> tuple[slice, slice, slice]:
    """Chronological train/validation/test slices of ``n`` hours (seed 001 §4.1: 70/15/15)."""
    a = int(round(n * fractions[0]))
    b = int(round(n * (fractions[0] + fractions[1])))
    return slice(0, a), slice(a, b), slice(b, n)


def _calendar(hours: np.ndarray, first_weekday: int) -> np.ndarray:
    ang = 2 * np.pi * (hours % 24) / 24.0
    dow = 2 * np.pi * ((hours // 24 + first_weekday) % 7) / 7.0
    return np.stack([np.sin(ang), np.cos(ang), np.sin(dow), np.cos(dow)], axis=-1)


def make_windows(scaled: np.ndarray, starts: np.ndarray, lookback: int, horizon: int, first_weekday: int = 4
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Input and target windows.

    Args:
        scaled: (N, 4) scaled series.
        starts: (S,) indices of the first *forecast* hour of each window (need ``s - lookback >= 0`` and
            ``s + horizon <= N``).
        lookback, horizon: L and H.
        first_weekday: weekday of row 0.

    Returns:
        x (S, L, 8) float32 (series + sin/cos hour and weekday), y (S, H, 4) float32.
    """
    starts = np.asarray(starts, dtype=int)
    li = starts[:, None] + np.arange(-lookback, 0)[None, :]
    hi = starts[:, None] + np.arange(horizon)[None, :]
    cal = _calendar(li, first_weekday)
    x = np.concatenate([scaled[li], cal], axis=-1).astype(np.float32)
    return x, scaled[hi].astype(np.float32)


class _Recurrent(nn.Module):
    def __init__(self, cfg: ForecasterConfig, n_in: int, n_out: int) -> None:
        super().__init__()
        rnn = nn.LSTM if cfg.kind == "lstm" else nn.GRU
        self.rnn = rnn(n_in, cfg.hidden, batch_first=True)
        self.head = nn.Linear(cfg.hidden, cfg.horizon * n_out)
        self.shape = (cfg.horizon, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)
        return self.head(y[:, -1]).view(-1, *self.shape)


class _XLSTM(nn.Module):
    """mLSTM–sLSTM–mLSTM stack (``xlstm`` package), optionally with temporal attention pooling."""

    def __init__(self, cfg: ForecasterConfig, n_in: int, n_out: int) -> None:
        super().__init__()
        from xlstm import (
            FeedForwardConfig,
            mLSTMBlockConfig,
            mLSTMLayerConfig,
            sLSTMBlockConfig,
            sLSTMLayerConfig,
            xLSTMBlockStack,
            xLSTMBlockStackConfig,
        )

        stack = xLSTMBlockStackConfig(
            mlstm_block=mLSTMBlockConfig(mlstm=mLSTMLayerConfig(conv1d_kernel_size=4, qkv_proj_blocksize=4, num_heads=1)),
            slstm_block=sLSTMBlockConfig(slstm=sLSTMLayerConfig(backend="vanilla", num_heads=1, conv1d_kernel_size=4,
                                                                bias_init="powerlaw_blockdependent"),
                                         feedforward=FeedForwardConfig(proj_factor=1.3, act_fn="gelu")),
            context_length=cfg.lookback, num_blocks=3, embedding_dim=cfg.hidden, slstm_at=[1])
        self.embed = nn.Linear(n_in, cfg.hidden)
        self.stack = xLSTMBlockStack(stack)
        self.attention = nn.MultiheadAttention(cfg.hidden, cfg.heads, batch_first=True) if cfg.kind == "ax" else None
        self.norm = nn.LayerNorm(cfg.hidden) if cfg.kind == "ax" else None
        self.head = nn.Linear(cfg.hidden, cfg.horizon * n_out)
        self.shape = (cfg.horizon, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stack(self.embed(x))  # (B, L, d)
        last = h[:, -1:]
        if self.attention is not None:
            ctx, _ = self.attention(last, h, h, need_weights=False)
            last = self.norm(last + ctx)
        return self.head(last[:, 0]).view(-1, *self.shape)


@contextlib.contextmanager
def _seeded(seed: int):  # noqa: ANN202
    """Run with torch's default generator seeded, restoring its state after (no global side effect)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_model(cfg: ForecasterConfig, n_series: int = len(SERIES)) -> nn.Module:
    """The network of ``cfg.kind`` (weights initialised from ``cfg.seed``)."""
    with _seeded(cfg.seed):
        if cfg.kind in ("lstm", "gru"):
            return _Recurrent(cfg, n_series + 4, n_series)
        return _XLSTM(cfg, n_series + 4, n_series)


@dataclass
class Forecaster:
    """A trained forecaster: network, config and scaler.

    Attributes:
        cfg: its config.
        model: the torch module (eval mode after :func:`fit`).
        scaler: the training split's min–max scaler.
        history: per-epoch ``{"epoch", "train_loss", "val_loss", "seconds"}`` of :func:`fit`.
    """

    cfg: ForecasterConfig
    model: nn.Module
    scaler: MinMaxScaler
    history: list[dict[str, float]]

    @torch.no_grad()
    def predict(self, recent_kw: np.ndarray, first_hour: int | np.ndarray) -> np.ndarray:
        """Forecast the next ``horizon`` hours.

        Args:
            recent_kw: (L, 4) or (B, L, 4) the last ``lookback`` hours, kW, columns :data:`SERIES`.
            first_hour: row index (hours since 00:00 of the series' first day) of the first forecast hour,
                or (B,) one per sample; gives the calendar features.

        Returns:
            (H, 4) or (B, H, 4) forecasts in kW.
        """
        r = np.asarray(recent_kw, dtype=np.float64)
        single = r.ndim == 2
        r = r[None] if single else r
        L = self.cfg.lookback
        h0 = np.broadcast_to(np.asarray(first_hour), (len(r),))
        cal = _calendar(h0[:, None] + np.arange(-L, 0)[None, :], self.cfg.first_weekday)
        x = np.concatenate([self.scaler.transform(r[:, -L:]), cal], axis=-1)
        self.model.eval()
        y = self.model(torch.as_tensor(x, dtype=torch.float32)).numpy()
        out = self.scaler.inverse(y)
        return out[0] if single else out


def fit(series_kw: np.ndarray, cfg: ForecasterConfig, *, progress: bool = False) -> Forecaster:
    """Train on the 70 % split with early stopping on the 15 % validation split.

    Args:
        series_kw: (N, 4) hourly series in kW (columns :data:`SERIES`), chronological.
        cfg: model and training settings.
        progress: print one line per epoch.

    Returns:
        The forecaster with the weights of its best validation epoch.

    Raises:
        ValueError: too few hours for the split and windows.
    """
    from learners.batched_policy import intra_op_threads

    with intra_op_threads(cfg.torch_threads):
        return _fit(series_kw, cfg, progress)


def _fit(series_kw: np.ndarray, cfg: ForecasterConfig, progress: bool) -> Forecaster:
    data = np.asarray(series_kw, dtype=np.float64)
    tr, va, _ = split_year(len(data))
    scaler = MinMaxScaler.fit(data[tr])
    scaled = scaler.transform(data)
    L, H = cfg.lookback, cfg.horizon
    tr_starts = np.arange(L, tr.stop - H + 1, cfg.stride)
    # validation windows start at the validation split's midnights, as the test windows do (day-ahead from
    # 00:00, :func:`_test_starts`); the split's first hour is 12:00 (6132 = 255.5 days), and selecting the
    # epoch on noon-start windows hid the 00:00 step of the per-day scaled data from early stopping.
    va_first = -(-max(va.start, L, 24) // 24) * 24
    va_starts = np.arange(va_first, va.stop - H + 1, 24)
    if len(tr_starts) < 1 or len(va_starts) < 1:
        raise ValueError(f"{len(data)} hours are too few for lookback {L} and horizon {H}")
    xt, yt = make_windows(scaled, tr_starts, L, H, cfg.first_weekday)
    xv, yv = make_windows(scaled, va_starts, L, H, cfg.first_weekday)
    model = build_model(cfg, data.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    xt_t, yt_t = torch.from_numpy(xt), torch.from_numpy(yt)
    xv_t, yv_t = torch.from_numpy(xv), torch.from_numpy(yv)
    best, best_state, bad, hist = np.inf, None, 0, []
    t0 = time.perf_counter()
    for ep in range(cfg.epochs):
        model.train()
        perm = rng.permutation(len(xt))
        tot = 0.0
        for i in range(0, len(perm), cfg.batch_size):
            b = torch.from_numpy(perm[i:i + cfg.batch_size])
            loss = nn.functional.mse_loss(model(xt_t[b]), yt_t[b])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            tot += float(loss.detach()) * len(b)
        model.eval()
        with torch.no_grad():
            vl = float(nn.functional.mse_loss(model(xv_t), yv_t))
        hist.append({"epoch": ep, "train_loss": tot / len(perm), "val_loss": vl, "seconds": time.perf_counter() - t0})
        if progress:
            print(f"  {cfg.kind} epoch {ep}: train {tot / len(perm):.5f} val {vl:.5f} ({time.perf_counter() - t0:.0f} s)")
        if vl < best - 1e-7:
            best, bad = vl, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        if bad >= cfg.patience or (cfg.max_seconds is not None and time.perf_counter() - t0 > cfg.max_seconds):
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return Forecaster(cfg, model, scaler, hist)


def metrics(actual: np.ndarray, pred: np.ndarray, mape_floor: float) -> dict[str, float]:
    """MAE and RMSE (units of the data) and MAPE (%) over entries with ``actual >= mape_floor``."""
    a, p = np.asarray(actual, dtype=np.float64).ravel(), np.asarray(pred, dtype=np.float64).ravel()
    err = p - a
    m = a >= mape_floor
    mape = float(np.mean(np.abs(err[m]) / np.abs(a[m])) * 100) if m.any() else float("nan")
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))), "mape": mape}


def _test_starts(n: int, lookback: int, horizon: int) -> np.ndarray:
    _, _, te = split_year(n)
    first = -(-max(te.start, lookback, 24) // 24) * 24  # the first midnight of the test split
    return np.arange(first, n - horizon + 1, horizon)


def evaluate(fc: Forecaster, series_kw: np.ndarray) -> dict[str, dict[str, float]]:
    """Test-split metrics per series of a forecaster (windows every ``horizon`` hours, from 00:00).

    Returns:
        ``{series: {"mae", "rmse", "mape", "mae_1h", "rmse_1h", "mape_1h"}}``: over all H forecast hours, and
        over the first forecast hour only.
    """
    data = np.asarray(series_kw, dtype=np.float64)
    starts = _test_starts(len(data), fc.cfg.lookback, fc.cfg.horizon)
    li = starts[:, None] + np.arange(-fc.cfg.lookback, 0)[None, :]
    hi = starts[:, None] + np.arange(fc.cfg.horizon)[None, :]
    pred = np.concatenate([fc.predict(data[li[i:i + 256]], starts[i:i + 256]) for i in range(0, len(starts), 256)])
    floor = 0.05 * data[split_year(len(data))[0]].max(axis=0)
    return _both(data[hi], pred, floor)


def _both(actual: np.ndarray, pred: np.ndarray, floor: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for j, s in enumerate(SERIES[:actual.shape[-1]]):
        m = metrics(actual[..., j], pred[..., j], floor[j])
        m.update({f"{k}_1h": v for k, v in metrics(actual[:, 0, j], pred[:, 0, j], floor[j]).items()})
        out[s] = m
    return out


def seasonal_naive(series_kw: np.ndarray, horizon: int = 24, lookback: int = 24, lag: int = 24
                   ) -> dict[str, dict[str, float]]:
    """Test-split metrics of the seasonal-naive forecast (same hour ``lag`` hours earlier: 24 = yesterday,
    168 = last week), on the windows :func:`evaluate` uses."""
    data = np.asarray(series_kw, dtype=np.float64)
    starts = _test_starts(len(data), max(lookback, lag), horizon)
    hi = starts[:, None] + np.arange(horizon)[None, :]
    pred = data[hi - lag]
    floor = 0.05 * data[split_year(len(data))[0]].max(axis=0)
    return _both(data[hi], pred, floor)


def save_forecaster(fc: Forecaster, path: str | Path) -> None:
    """Write tensors and plain values only (loadable with ``torch.load(weights_only=True)``)."""
    torch.save({"kind": fc.cfg.kind, "config": asdict(fc.cfg), "state_dict": fc.model.state_dict(),
                "scale_min": torch.as_tensor(fc.scaler.lo), "scale_max": torch.as_tensor(fc.scaler.hi)}, str(path))


def load_forecaster(path: str | Path) -> Forecaster:
    """Read a file written by :func:`save_forecaster`.

    Raises:
        FileNotFoundError: no such file.
    """
    blob: dict[str, Any] = torch.load(str(path), weights_only=True)
    cfg = ForecasterConfig(**blob["config"])
    model = build_model(cfg, len(blob["scale_min"]))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return Forecaster(cfg, model, MinMaxScaler(blob["scale_min"].numpy(), blob["scale_max"].numpy()), [])
