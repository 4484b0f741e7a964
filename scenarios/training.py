"""``vppsim train``: a registered learner on coalitions drawn from a scenario's population.

Generic over the trainable entries of :mod:`learners.registry` (QMIX and VDN
today). Writes ``<out>/<name>-<learner>/``: ``checkpoint.pt`` (every
``training.checkpoint_every_episodes`` episodes, or ``--checkpoint-every``,
and at the end, atomically; ``--resume`` continues from it), ``weights.pt``
(the deployable part, usable as ``policy.weights``), ``learning_curve.csv``
and ``.png``, and ``manifest.json``.

A trainable learner is built as ``cls(env_spec, config)``; its config accepts
``seed`` and ``checkpoint_interval``; it provides ``checkpoint_name`` and
``train(env, n_episodes=, progress=, checkpoint_dir=, resume=) -> list[dict]``
(one record per episode with ``episode`` and ``return``) and counters
``t_env`` / ``n_updates``; its entry's ``export`` writes the weights.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

import learners.registry as methods

from . import results
from .base import ScenarioError
from .build import system_signal, weather_for
from .schema import Scenario

__all__ = ["TABLE1_TARGETS", "learner_config", "make_env", "plot_learning_curve", "qmix_config", "table1_cells",
           "table1_matches", "train"]


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


def learner_config(sc: Scenario, learner: str | None = None, **overrides: Any) -> Any:
    """The typed config of ``learner`` (default ``training.learner``) for the scenario.

    Seed and checkpoint interval come from the scenario; ``training.config`` (or the
    learner's scenario defaults) and then ``overrides`` replace them key by key.

    Raises:
        ScenarioError: unknown learner, or a config it rejects.
    """
    name = learner or sc.training.learner
    d = {"seed": sc.seed, "checkpoint_interval": sc.training.checkpoint_every_episodes,
         **sc.training.learner_config}
    d.update(overrides)
    try:
        return methods.config_for(name, d)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"scenario {sc.name}: training.config ({name}): {exc}") from None


def qmix_config(sc: Scenario, **overrides: Any) -> Any:
    """:func:`learner_config` of ``qmix`` (wave-1 name)."""
    return learner_config(sc, "qmix", **overrides)


def train(sc: Scenario, out_root: Path, *, learner: str | None = None, episodes: int | None = None,
          resume: bool = False, progress: bool = True, checkpoint_every: int | None = None) -> Path:
    """Train a registered learner for the scenario; returns the training folder.

    Args:
        sc: a validated ``der_aggregation`` scenario.
        out_root: folder receiving ``<scenario>-<learner>/``.
        learner: a trainable registry name (default: ``training.learner``).
        episodes: total episode budget, counting episodes before a resume (default ``training.episodes``).
        resume: continue from the folder's checkpoint.
        progress: show a progress bar.
        checkpoint_every: episodes between checkpoints (default ``training.checkpoint_every_episodes``).

    Raises:
        ScenarioError: unknown or untrainable learner; the folder already holds a run and
            ``resume`` is False; ``resume`` without a checkpoint.
    """
    kind = getattr(sc, "kind", "der_aggregation")
    if kind != "der_aggregation":
        # Other scenario kinds train on their own environments: their pipeline module owns training.
        from . import kinds as scenario_kinds

        pipe = scenario_kinds.pipeline(kind)
        if not hasattr(pipe, "train"):
            raise ScenarioError(f"scenario kind {kind!r} has nothing to train")
        return pipe.train(sc, Path(out_root), learner=learner, episodes=episodes, resume=resume,
                          progress=progress, checkpoint_every=checkpoint_every)
    name = learner or sc.training.learner
    try:
        entry = methods.get(name)
    except ValueError as exc:
        raise ScenarioError(f"--learner: {exc}") from None
    ok = methods.names(trainable=True, scenario_kind="der_aggregation")
    if name not in ok:
        why = "is not trainable" if not entry.trainable else "does not train on der_aggregation scenarios"
        raise ScenarioError(f"--learner {name!r} {why}; trainable here: {ok}")
    cls = methods.load_object(entry.learner)
    folder = Path(out_root) / f"{sc.name}-{name}"
    ckpt = folder / getattr(cls, "checkpoint_name", "checkpoint.pt")
    if resume and not ckpt.exists():
        raise ScenarioError(f"{ckpt}: no checkpoint to resume; run without --resume to start training")
    if not resume and ckpt.exists():
        raise ScenarioError(f"{folder} already holds a training run: pass --resume to continue it, "
                            "or choose another --out")
    overrides = {} if checkpoint_every is None else {"checkpoint_interval": checkpoint_every}
    config = learner_config(sc, name, **overrides)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    env = make_env(sc)
    agent = cls(env.marl_spec, config)
    budget = episodes if episodes is not None else sc.training.episodes
    history = agent.train(env, n_episodes=budget, progress=progress, checkpoint_dir=folder, resume=resume)
    curve = pd.DataFrame(history)
    results.write_table(folder / "learning_curve", curve)
    flag = "" if name == sc.training.learner else f" --learner {name}"
    meta = {"scenario": sc.name, "scenario_sha256": sc.content_hash(), "seed": sc.seed, "episodes": budget,
            "learner": name, "command": f"vppsim train {sc.name}{flag} --episodes {budget}"}
    if entry.export is not None:
        methods.load_object(entry.export)(agent, folder / "weights.pt", meta)
    results.write_json(folder / "manifest.json", {**meta, "versions": results.versions(),
                                                  "wall_time_s": round(time.perf_counter() - t0, 2),
                                                  "env_steps": getattr(agent, "t_env", None),
                                                  "updates": getattr(agent, "n_updates", None)})
    if len(curve):
        plot_learning_curve(curve, folder / "learning_curve.png", sc.name, learner=name)
    return folder


def plot_learning_curve(curve: pd.DataFrame, path: Path, title: str, learner: str = "qmix") -> None:
    """Episode return (and epsilon, when logged) against episodes, as a PNG."""
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
    ax.set_title(f"{learner.upper()} on {title}")
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
