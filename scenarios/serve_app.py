"""The Solara page of ``vppsim serve`` (needs the optional ``vppsim[viz]`` extra).

Served by ``solara run scenarios.serve_app`` (``vppsim serve`` does that). The
page is Mesa's :func:`mesa.visualization.SolaraViz`: its sidebar holds Mesa's
step / play / reset controls and the model parameters (scenario, scale,
baseline), the main area one card per view. The scenario and scale first shown
come from ``VPPSIM_SERVE_SCENARIO`` / ``VPPSIM_SERVE_SCALE``.

Every card carries a ``vpp-*`` CSS class so that the browser test can find it.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable
from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz, make_plot_component

from .serve import (
    SCALES,
    ServeModel,
    fig_dispatch,
    fig_hierarchy,
    fig_load_by_kind,
    fig_park_load,
    fig_temperature,
    serve_scenarios,
    status,
)

__all__ = ["page"]


def _fmt(v: float, spec: str) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def StatusCard(model: ServeModel) -> Any:
    """Scenario, DERs, period, system values and the last step's wall time (data-* for the test)."""
    s = status(model)
    data = " ".join(f'data-{k.replace("_", "-")}="{html.escape(str(v))}"' for k, v in s.items())
    body = (
        f'<div class="vpp-status" {data} style="font-family:sans-serif;font-size:14px;line-height:1.5">'
        f"<b>{html.escape(s['scenario'])}</b>: {s['ders']:,d} DERs<br>"
        f"period <span class=\"vpp-period\">{s['period']}</span> / {s['periods']} "
        f"(hour {s['hour']:g})<br>"
        f"net load <span class=\"vpp-net-kw\">{_fmt(s['net_kw'], ',.1f')}</span> kW, "
        f"η_GI {_fmt(s['eta_gi'], '.3f')}, mean fitness {_fmt(s['fitness_mean'], '.3f')}<br>"
        f"aggregators <span class=\"vpp-aggregators\">{s['aggregators']}</span> "
        f"on {s['levels']} levels<br>"
        f"last step <span class=\"vpp-step-s\">{_fmt(s['step_s'], '.3f')}</span> s "
        f"(model build {s['build_s']:.1f} s)</div>"
    )
    with solara.Card("Status", classes=["vpp-card", "vpp-status-card"]) as card:
        solara.HTML(tag="div", unsafe_innerHTML=body)
    return card


def _figure_card(title: str, css: str, make: Callable[[ServeModel], Figure | None]) -> Callable[[ServeModel], Any]:
    def Card(model: ServeModel) -> Any:
        # Built once per (model, period): other re-renders (tab switches, sliders) reuse it.
        fig = solara.use_memo(lambda: make(model), dependencies=[id(model), model.period])
        with solara.Card(title, classes=["vpp-card", css]) as card:
            if fig is None:
                solara.Text("not a grid scenario")
            else:
                solara.FigureMatplotlib(fig, format="png", dependencies=[id(model), model.period])
        return card

    Card.__name__ = title.replace(" ", "_")
    return Card


def _initial() -> ServeModel:
    scale = os.environ.get("VPPSIM_SERVE_SCALE", "file")
    return ServeModel(os.environ.get("VPPSIM_SERVE_SCENARIO", "three_parks_560"), scale if scale in SCALES else "file")


def _params(model: ServeModel) -> dict[str, Any]:
    names = serve_scenarios()
    current = os.environ.get("VPPSIM_SERVE_SCENARIO", model.sc.name)
    if current not in names:  # a file path given on the command line
        names = [current, *names]
    scale = os.environ.get("VPPSIM_SERVE_SCALE", "file")
    return {
        "scenario": {"type": "Select", "value": current, "values": names, "label": "scenario (Reset to load)"},
        "scale": {"type": "Select", "value": scale if scale in SCALES else "file", "values": list(SCALES),
                  "label": "scale: DER counts × (file = the scenario's)"},
        "baseline": {"type": "Checkbox", "value": True, "label": "step the uncontrolled baseline too"},
    }


model = _initial()
components = [
    StatusCard,
    _figure_card("Park load vs η_GI", "vpp-park-load", fig_park_load),
    _figure_card("Hierarchy of the current period", "vpp-hierarchy", fig_hierarchy),
    _figure_card("Load by DER kind", "vpp-load-by-kind", fig_load_by_kind),
    _figure_card("Indoor temperature", "vpp-temperature", fig_temperature),
    # Mesa's own plot component, on the model reporters of ServeModel.datacollector.
    _figure_card("Grid dispatch (grid scenarios)", "vpp-dispatch", fig_dispatch),
    make_plot_component({"fitness_mean": "tab:purple"}),
]

page = SolaraViz(model, components=components, model_params=_params(model),
                 name="vppsim: self-organising virtual power plants", play_interval=50)
