"""``vppsim train``: QMIX on coalitions drawn from a scenario's population.

Writes ``<out>/<name>-qmix/``: ``checkpoint.pt`` (every
``training.checkpoint_every_episodes`` episodes and at the end, atomically;
``--resume`` continues from it), ``weights.pt`` (the deployable networks,
usable as ``policy.weights``), ``learning_curve.csv`` and ``.png``, and
``manifest.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from . import results
from .runner import system_signal, versions, weather_for
from .schema import Scenario, ScenarioError


def make_env(sc: Scenario, **overrides):
    """The aggregation game of the scenario, wrapped for vppsim's learners."""
    from learners.aggregation_game import AggregationGameEnv
    from learners.marl_env import ParallelEnvAdapter

    t = sc.training
    kw = dict(
        day_of_year=sc.start_day_of_year, step_h=sc.step_h, lam=sc.fitness.similarity_lambda,
        n_ac=t.n_ac, n_ev=t.n_ev, episode_len=t.episode_len, start_steps=t.start_steps,
        randomise_usual=t.randomise_usual,
    )
    kw.update(overrides)
    env = AggregationGameEnv(list(sc.parks), system_signal(sc), weather_for(sc), **kw)
    return ParallelEnvAdapter(env)


def qmix_config(sc: Scenario, **overrides):
    from learners.qmix import QMIXConfig

    d = {"seed": sc.seed, "checkpoint_interval": sc.training.checkpoint_every_episodes, **sc.training.qmix}
    d.update(overrides)
    try:
        return QMIXConfig.from_dict(d)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"scenario {sc.name}: training.qmix: {exc}") from None


def train(sc: Scenario, out_root: Path, *, episodes: int | None = None, resume: bool = False,
          progress: bool = True) -> Path:
    """Train QMIX for the scenario; returns the training folder."""
    from learners.deploy import save_weights
    from learners.qmix import QMIXLearner

    folder = Path(out_root) / f"{sc.name}-qmix"
    if folder.exists() and not resume and (folder / "checkpoint.pt").exists():
        raise ScenarioError(f"{folder} already holds a training run: pass --resume to continue it, "
                            "or choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    env = make_env(sc)
    learner = QMIXLearner(env.marl_spec, qmix_config(sc))
    budget = episodes if episodes is not None else sc.training.episodes
    history = learner.train(env, n_episodes=budget, progress=progress, checkpoint_dir=folder, resume=resume)
    curve = pd.DataFrame(history)
    results.write_table(folder / "learning_curve", curve)
    meta = {"scenario": sc.name, "scenario_sha256": sc.content_hash(), "seed": sc.seed, "episodes": budget,
            "command": f"vppsim train {sc.name} --episodes {budget}"}
    save_weights(learner, folder / "weights.pt", meta)
    results.write_json(folder / "manifest.json", {**meta, "versions": versions(),
                                                  "wall_time_s": round(time.perf_counter() - t0, 2),
                                                  "env_steps": learner.t_env, "updates": learner.n_updates})
    if len(curve):
        plot_learning_curve(curve, folder / "learning_curve.png", sc.name)
    return folder


def plot_learning_curve(curve: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    ret = curve["return"]
    w = max(1, len(ret) // 50)
    ax.plot(curve["episode"], ret, color="0.8", lw=0.8, label="episode return")
    ax.plot(curve["episode"], ret.rolling(w, min_periods=1).mean(), color="tab:blue", lw=1.8,
            label=f"moving mean ({w})")
    ax.set_xlabel("episode")
    ax.set_ylabel("team return (sum of fitness)")
    ax.grid(alpha=0.3)
    if "epsilon" in curve:
        ax2 = ax.twinx()
        ax2.plot(curve["episode"], curve["epsilon"], color="tab:red", ls=":", label="epsilon")
        ax2.set_ylabel("epsilon")
        ax2.set_ylim(0, 1.05)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"QMIX on {title}")
    results.save_figure(fig, path)


# Seed 003 Table 1: target modes (A, B) reached from initial modes (row A, column B) at the
# peak period with scarce renewables. Order: off, cool18, cool22, cool26, cool30.
TABLE1_TARGETS: dict[int, int] = {0: 0, 1: 3, 2: 4, 3: 4, 4: 4}


def table1_cells(learner, sc: Scenario) -> list[tuple[int, int, int, int]]:
    """(initial A, initial B, target A, target B) for all 25 initial-state pairs, greedy joint actions.

    Uses the scenario's training environment at its first ``training.start_steps`` period.
    """
    import numpy as np

    env = make_env(sc)
    start = (sc.training.start_steps or [0])[0]
    cells = []
    for a in range(5):
        for b in range(5):
            o = env.reset(seed=0, options={"usual_modes": [a, b], "start": start})
            act, _ = learner.act(o["obs"], o["avail"], agent_mask=o["agent_mask"], kinds=o.get("kinds"))
            act = np.where(o["avail"][np.arange(2), act], act, [a, b])
            cells.append((a, b, int(act[0]), int(act[1])))
    return cells


def table1_matches(cells) -> int:
    """How many of the 25 cells reach seed 003's target states."""
    return sum(ta == TABLE1_TARGETS[a] and tb == TABLE1_TARGETS[b] for a, b, ta, tb in cells)
