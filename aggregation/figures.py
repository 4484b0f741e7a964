"""Hierarchy graphs and the figures of seed 003 §5.2-§5.3 (PNG, matplotlib Agg).

Drawn and serialised here, written by :func:`aggregation.outputs.write_organiser_outputs`,
all under ``<run folder>/aggregation/``:

* ``hierarchy/step_<period>.graphml`` and ``.json`` (node-link): the period's
  hierarchy as a DiGraph, edges from aggregator to member, park roots on top.
  The lowest exported level is the lowest one such that it and every level
  above fit in ``graph_max_nodes`` nodes (the DERs themselves for small runs);
  the graph attributes ``lowest_level`` and ``truncated`` say what was left
  out. When not even the top level fits, the graph is a per-level summary
  (one node per level, ``export = "summary"``).
* ``levels.csv``: per period and level, unit counts, size, fitness and
  flexibility statistics; ``periods.csv``: iterations, convergence, merges.
* ``fig7a_level<L>_fitness.png``, ``fig7b_flexibility.png``,
  ``hierarchy_hour<H>.png`` (drawing for small runs, per-level summary otherwise).

Fig. 8 and Fig. 9 (:func:`plot_fig8`, :func:`plot_fig9`) are written by
:func:`aggregation.outputs.write_comparison`. This module imports neither the
organiser nor the tracking metrics (only for type checking).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .io import save_figure, write_text  # noqa: E402

if TYPE_CHECKING:
    from .hierarchy import LevelTable, SelfOrganiser

_DRAW_MAX_NODES = 3000


# ------------------------------------------------------------------ graphs
def _node_id(level: int, k: int, lt: LevelTable) -> str:
    if level == 0:
        return f"{lt.kinds[int(lt.extra['kind'][k])]}:{int(lt.extra['row'][k])}"
    return f"L{level}:{k}"


def hierarchy_graph(org: SelfOrganiser, step: int, park_names: Sequence[str] | None = None) -> nx.DiGraph:
    """The DiGraph of a period's exported levels (edges aggregator -> member, park roots on top)."""
    tables = org.snapshots.get(step)
    if tables is None:
        raise KeyError(f"no snapshot of step {step}")
    period = next((p for p in org.periods if p["step"] == step), {})
    hour = float(period.get("hour", np.nan))
    G = nx.DiGraph(step=int(step), hour=hour, max_levels=org.levels)
    if not tables:
        return _summary_graph(org, step, G)
    n_parks = int(max(int(t.park.max()) for t in tables if t.n) + 1) if any(t.n for t in tables) else 0
    names = list(park_names) if park_names is not None else [f"park{p}" for p in range(n_parks)]
    for _p, name in enumerate(names):
        G.add_node(f"park:{name}", level=org.levels + 1, kind="park", park=name)
    for lt in tables:
        kind = "der" if lt.level == 0 else "aggregator"
        ids = [_node_id(lt.level, k, lt) for k in range(lt.n)]
        cols = {
            "load_kw": lt.load_kw, "prev_kw": lt.prev_kw, "p_max_kw": lt.p_max_kw, "fitness": lt.fitness,
            "flex_up_kw": lt.flex_up_kw, "flex_down_kw": lt.flex_down_kw,
        }
        lists = {c: np.asarray(v, float).tolist() for c, v in cols.items()}
        n_ders, n_ev, n_mem = lt.n_ders.tolist(), lt.n_ev.tolist(), lt.n_members.tolist()
        park = lt.park.tolist()
        action = lt.extra["action"].tolist() if lt.level == 0 else None
        for k, node in enumerate(ids):
            attrs = {c: lists[c][k] for c in lists}
            attrs.update(
                level=lt.level, kind=kind if lt.level else lt.kinds[int(lt.extra["kind"][k])], park=names[park[k]],
                n_ders=n_ders[k], n_ev=n_ev[k], n_members=n_mem[k],
            )
            if action is not None:
                attrs["action"] = int(action[k])
            G.add_node(node, **attrs)
    by_level = {lt.level: lt for lt in tables}
    for lt in tables:
        if lt.parent is None:
            G.add_edges_from((f"park:{names[int(p)]}", _node_id(lt.level, k, lt)) for k, p in enumerate(lt.park))
        elif lt.level + 1 in by_level:
            up = lt.parent.tolist()
            G.add_edges_from((f"L{lt.level + 1}:{up[k]}", _node_id(lt.level, k, lt)) for k in range(lt.n))
    lowest = min(by_level)
    G.graph.update(
        lowest_level=lowest, truncated=lowest > 0, export="full" if lowest == 0 else "top_levels",
        nodes_budget=org.spec.graph_max_nodes,
    )
    return G


def _summary_graph(org: SelfOrganiser, step: int, G: nx.DiGraph) -> nx.DiGraph:
    rows = [r for r in org.level_rows if r["step"] == step]
    G.graph.update(lowest_level=0, truncated=True, export="summary", nodes_budget=org.spec.graph_max_nodes)
    G.add_node("vpp", level=org.levels + 1, kind="vpp")
    for r in rows:
        attrs = {k: (float(v) if isinstance(v, float | np.floating) else int(v)) for k, v in r.items()
                 if k not in ("step", "hour")}
        G.add_node(f"L{r['level']}", kind="level_summary", **attrs)
    for r in rows:
        parent = "vpp" if r["level"] == org.levels else f"L{r['level'] + 1}"
        G.add_edge(parent, f"L{r['level']}")
    return G


_GRAPHML_TYPES = ((bool, "boolean"), (int, "long"), (float, "double"), (str, "string"))


def _graphml_type(v) -> str:
    for t, name in _GRAPHML_TYPES:
        if isinstance(v, t):
            return name
    raise TypeError(f"GraphML attribute of type {type(v).__name__} is not supported")


def _format_column(key_id: str, kind: str, values: list) -> list[str]:
    # Not every GraphML reader accepts "nan" in a double attribute: undefined
    # statistics (e.g. the mean size of zero coalitions) are left out instead.
    if kind == "double":
        return [f'<data key="{key_id}">{v!r}</data>' if v is not None and np.isfinite(v) else "" for v in values]
    if kind == "boolean":
        return [f'<data key="{key_id}">{"true" if v else "false"}</data>' if v is not None else "" for v in values]
    if kind == "long":
        return [f'<data key="{key_id}">{v}</data>' if v is not None else "" for v in values]
    return [f'<data key="{key_id}">{escape(str(v))}</data>' if v is not None else "" for v in values]


def graphml_text(G: nx.DiGraph) -> str:
    """GraphML of a DiGraph with scalar attributes, as ``nx.write_graphml`` writes it but ~20x faster.

    networkx's writer spends ~0.4 s on a 2,000-node hierarchy; with one graph per
    period it was the slowest part of the outputs. Formatting runs column by column.
    """
    nodes = list(G.nodes(data=True))
    keys: dict[tuple[str, str], str] = {}
    for k, v in G.graph.items():
        keys.setdefault(("graph", k), _graphml_type(v))
    for _, data in nodes:
        for k, v in data.items():
            if ("node", k) not in keys:
                keys[("node", k)] = _graphml_type(v)
    ids = {key: f"d{i}" for i, key in enumerate(keys)}
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
    ]
    out += [f'<key id="{ids[key]}" for="{key[0]}" attr.name={quoteattr(key[1])} attr.type="{t}"/>'
            for key, t in keys.items()]
    out.append('<graph edgedefault="directed">')
    out += _format_column_graph(G.graph, keys, ids)
    cols = [
        _format_column(ids[key], t, [d.get(key[1]) for _, d in nodes]) for key, t in keys.items() if key[0] == "node"
    ]
    heads = [f"<node id={quoteattr(str(n))}>" for n, _ in nodes]
    out += ["".join(parts) + "</node>" for parts in zip(heads, *cols, strict=True)]
    out += [f"<edge source={quoteattr(str(u))} target={quoteattr(str(v))}/>" for u, v in G.edges()]
    out.append("</graph>\n</graphml>\n")
    return "\n".join(out)


def _format_column_graph(attrs: dict, keys: dict, ids: dict) -> list[str]:
    return [_format_column(ids[("graph", k)], keys[("graph", k)], [v])[0] for k, v in attrs.items()]


def write_graph(G: nx.DiGraph, stem: Path) -> list[Path]:
    """Write ``stem.graphml`` and ``stem.json`` (networkx node-link data) atomically."""
    graphml = write_text(stem.with_suffix(".graphml"), graphml_text(G))
    data = nx.node_link_data(G, edges="edges")
    for node in data["nodes"]:
        for k in [k for k, v in node.items() if isinstance(v, float) and not np.isfinite(v)]:
            node[k] = None
    js = write_text(stem.with_suffix(".json"), json.dumps(data))
    return [graphml, js]


# ------------------------------------------------------------------ plots
def plot_fig7a(lt: LevelTable, park_names: Sequence[str], hour: float, path: Path) -> None:
    """Fig. 7a: units of one level at one hour, fitness against flexibility, coloured by fitness class."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    flex = lt.flex_up_kw + lt.flex_down_kw
    if lt.n:
        edges = np.quantile(lt.fitness, [0.25, 0.5, 0.75])
        cls = np.searchsorted(edges, lt.fitness, side="right")
        colours = np.array(["tab:red", "tab:blue", "tab:green", "tab:purple"])
        size = 12 + 60 * np.sqrt(lt.n_ders / max(lt.n_ders.max(), 1))
        coal = lt.n_members >= 2
        for mask, marker, label in ((coal, "o", "coalition"), (~coal, "x", "singleton")):
            if mask.any():
                ax.scatter(flex[mask], lt.fitness[mask], c=colours[cls[mask]], s=size[mask], marker=marker,
                           alpha=0.75, label=f"{label} ({int(mask.sum())})")
        for c, name in enumerate(("lowest quarter", "second", "third", "highest quarter")):
            ax.scatter([], [], c=colours[c], label=f"fitness: {name}")
    ax.set_xlabel("flexibility up + down (kW)")
    ax.set_ylabel("fitness μ (Eq. 5)")
    ax.set_title(f"Level-{lt.level} aggregators at hour {hour:g} ({lt.n} units)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    save_figure(fig, path)


def plot_fig7b(levels: pd.DataFrame, periods: pd.DataFrame, top: int, path: Path) -> None:
    """Fig. 7b: flexibility of all aggregators over the day and the self-organisation's adjustment."""
    lv = levels[levels["level"] == top].sort_values("step")
    hours = lv["hour"].to_numpy()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    ax.bar(hours, lv["flex_up_kw"], width=0.8, color="tab:green", alpha=0.6, label="upward flexibility")
    ax.bar(hours, -lv["flex_down_kw"], width=0.8, color="tab:red", alpha=0.6, label="downward flexibility")
    per = periods.sort_values("step")
    adj = per["load_final_kw"] - per["load_start_kw"]
    ax.plot(per["hour"], adj, color="black", marker="o", lw=1.5, label="adjustment by self-organisation")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel("hour of day")
    ax.set_ylabel("kW")
    ax.set_title("Flexibility of the aggregators over the day")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_hierarchy(org: SelfOrganiser, step: int, park_names: Sequence[str], path: Path) -> None:
    """The hierarchy at one period: a layered drawing for small runs, a per-level summary otherwise."""
    G = hierarchy_graph(org, step, park_names)
    hour = G.graph.get("hour", float("nan"))
    if G.graph.get("export") == "summary" or G.number_of_nodes() > _DRAW_MAX_NODES:
        rows = pd.DataFrame([r for r in org.level_rows if r["step"] == step])
        fig, ax = plt.subplots(1, 2, figsize=(11, 4))
        ax[0].bar(rows["level"], rows["units"], color="0.6", label="units")
        ax[0].bar(rows["level"], rows["coalitions"], color="tab:blue", label="coalitions (>= 2 members)")
        ax[0].set_yscale("log")
        ax[0].set_xlabel("level")
        ax[0].legend(fontsize=8)
        ax[1].errorbar(rows["level"], rows["fitness_p50"],
                       yerr=[rows["fitness_p50"] - rows["fitness_p10"], rows["fitness_p90"] - rows["fitness_p50"]],
                       fmt="o", capsize=4)
        ax[1].set_xlabel("level")
        ax[1].set_ylabel("fitness (median, 10-90 %)")
        fig.suptitle(f"Hierarchy per level at hour {hour:g} (summary: too many units to draw)")
        save_figure(fig, path)
        return
    # DERs that belong to no coalition at any level would draw as bare vertical chains;
    # they are left out of the drawing (not of the exported graph) and counted in the title.
    roots = [n for n in G if G.nodes[n].get("kind") == "park"]
    free_tops = [t for r in roots for t in G.successors(r) if G.nodes[t].get("n_ders", 0) <= 1]
    free = set(free_tops).union(*(nx.descendants(G, t) for t in free_tops)) if free_tops else set()
    G = G.subgraph([n for n in G if n not in free]).copy()
    pos = _layered_positions(G)
    fig, ax = plt.subplots(figsize=(14, 7))
    levels = nx.get_node_attributes(G, "level")
    fit = nx.get_node_attributes(G, "fitness")
    nodes = [n for n in G if G.nodes[n].get("kind") != "park"]
    nx.draw_networkx_edges(G, pos, ax=ax, arrows=False, width=0.3, edge_color="0.6")
    sc = nx.draw_networkx_nodes(
        G, pos, nodelist=nodes, ax=ax, node_size=[4 + 10 * levels[n] for n in nodes],
        node_color=[fit.get(n, 0.0) for n in nodes], cmap="viridis",
    )
    nx.draw_networkx_nodes(G, pos, nodelist=roots, ax=ax, node_size=120, node_color="black")
    nx.draw_networkx_labels(G, pos, labels={n: n.split(":", 1)[1] for n in roots}, ax=ax, font_size=8,
                            verticalalignment="bottom")
    fig.colorbar(sc, ax=ax, label="fitness μ")
    ax.set_title(
        f"Self-organised hierarchy at hour {hour:g} (levels {G.graph['lowest_level']}..{org.levels}; "
        f"{len(free_tops)} units in no coalition not drawn)"
    )
    ax.set_axis_off()
    save_figure(fig, path)


def _layered_positions(G: nx.DiGraph) -> dict:
    """x: depth-first leaf order, y: level (children centred under parents)."""
    roots = [n for n in G if G.in_degree(n) == 0]
    pos: dict = {}
    leaf_x = [0.0]

    def place(node) -> float:
        kids = list(G.successors(node))
        if not kids:
            x = leaf_x[0]
            leaf_x[0] += 1.0
        else:
            x = float(np.mean([place(k) for k in kids]))
        pos[node] = (x, float(G.nodes[node].get("level", 0)))
        return x

    for r in roots:
        place(r)
    return pos


def plot_fig8(tab: pd.DataFrame, park_names: Sequence[str], figures: dict, path: Path) -> None:
    """Fig. 8: zero-carbon index, original and optimised park load (normalised), and per park in kW."""
    h = tab["step"].to_numpy()
    fig, axes = plt.subplots(len(park_names) + 1, 1, figsize=(9, 2.6 * (len(park_names) + 1)), sharex=True)
    ax = axes[0]
    ax.plot(h, tab["eta_norm"], color="tab:blue", lw=2, label="zero-carbon index η_GI (normalised)")
    ax.plot(h, tab["baseline_norm"], color="black", lw=1.6, label="original park load (normalised)")
    ax.plot(h, tab["controlled_norm"], color="tab:green", lw=1.8, label="optimised park load (normalised)")
    b, a = figures["tracking_distance_before"], figures["tracking_distance_after"]
    title = f"All parks: tracking distance {b:.3f} -> {a:.3f} ({figures['tracking_improvement_pct']:.1f} %)"
    if "bound_norm" in tab:
        ax.plot(h, tab["bound_norm"], color="tab:red", lw=1.4, ls="--",
                label="day-ahead bound, devices' dynamics (normalised)")
        title += f"; bound {figures.get('bound_tracking_distance', float('nan')):.3f}"
    ax.set_title(title)
    ax.set_ylabel("normalised")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for ax, name in zip(axes[1:], park_names, strict=True):
        ax.plot(h, tab[f"baseline_kw[{name}]"], color="black", lw=1.4, label="original")
        ax.plot(h, tab[f"controlled_kw[{name}]"], color="tab:green", lw=1.6, label="optimised")
        ax.set_ylabel(f"{name}\nnet load (kW)")
        ax.grid(alpha=0.3)
        ax2 = ax.twinx()
        ax2.plot(h, tab["eta_gi"], color="tab:blue", ls="--", lw=1.2)
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("η_GI")
    axes[-1].set_xlabel("period")
    save_figure(fig, path)


def plot_fig9(ass: pd.DataFrame, path: Path) -> None:
    """Fig. 9: per-period adjustment credited by the baseline-load and the zero-carbon-index methods."""
    h = ass["hour"].to_numpy()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    w = 0.4
    ax.bar(h - w / 2, ass["baseline_method_kw"], width=w, color="tab:orange",
           label="baseline-load method (previous-week average; reductions only)")
    ax.bar(h + w / 2, ass["zero_carbon_method_kw"], width=w, color="tab:green",
           label="zero-carbon-index method (vs. uncontrolled; both directions)")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel("hour of day")
    ax.set_ylabel("adjustment (kW); > 0 more consumption")
    ax.set_title("Assessment of the parks' adjustment by the two methods")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)
