"""Pipeline of ``vpp_market`` scenarios: :func:`scenarios.vpp_market.run` inside the runner's lifecycle."""

from __future__ import annotations

from .folder_run import folder_pipeline

_PIPELINE = folder_pipeline("scenarios.vpp_market:run")
simulate, write, report = _PIPELINE.simulate, _PIPELINE.write, _PIPELINE.report

__all__ = ["report", "simulate", "write"]
