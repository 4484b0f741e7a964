import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_api_test

from learners.aggregation_game import AggregationGameEnv
from learners.deploy import QMIXPolicy, save_weights
from learners.qmix import QMIXLearner
from scenarios.runner import build_model, system_signal, weather_for
from scenarios.schema import load
from scenarios.training import TABLE1_TARGETS, make_env, qmix_config, table1_cells, table1_matches, train


def test_aggregation_game_passes_pettingzoo_parallel_api_test():
    sc = load("three_parks_560")
    env = AggregationGameEnv(list(sc.parks), system_signal(sc), weather_for(sc), day_of_year=196,
                             n_ac=3, n_ev=1, episode_len=5)
    parallel_api_test(env, num_cycles=12)


def test_team_reward_is_sum_of_members_coalition_fitness():
    sc = load("three_parks_560")
    env = make_env(sc, episode_len=3)
    env.reset(seed=5)
    o = env.observe()
    acts = np.array([np.flatnonzero(r)[0] for r in o["avail"]])
    reward, _, info = env.step(acts)
    fits = [i["coalition_fitness"] for i in info["infos"].values()]
    assert reward == pytest.approx(sum(fits)) and len(set(fits)) == 1
    assert 0 <= fits[0] <= 1


def test_table1_every_cell_reaches_the_seed_target_after_training():
    """Seed 003 Table 1: 25 initial-state pairs, two ACs, peak period with scarce renewables."""
    sc = load("two_ac")
    env = make_env(sc)
    learner = QMIXLearner(env.marl_spec, qmix_config(sc))
    learner.train(env, n_episodes=300, progress=False)
    cells = table1_cells(learner, sc)
    assert len(cells) == 25
    wrong = [(a, b, ta, tb) for a, b, ta, tb in cells if (ta, tb) != (TABLE1_TARGETS[a], TABLE1_TARGETS[b])]
    assert table1_matches(cells) == 25, wrong


def test_shipped_two_ac_weights_reproduce_table1():
    pol = QMIXPolicy("two_ac")
    sc = load("two_ac")
    # Deployment path: the fleet-level batched policy must choose the same targets.
    for a in range(5):
        for b in range(5):
            env = make_env(sc)
            env.reset(seed=0, options={"usual_modes": [a, b], "start": 18})
            view = env.env.model.views(env.env.model.context(18))["ac"]
            pol.reset()
            acts = pol.act(view)
            assert tuple(acts) == (TABLE1_TARGETS[a], TABLE1_TARGETS[b]), (a, b, acts)


def test_train_cli_checkpoint_resume_equals_uninterrupted(tmp_path):
    sc = load("two_ac")
    sc = sc.model_copy(update={"training": sc.training.model_copy(update={"checkpoint_every_episodes": 20})})
    full = train(sc, tmp_path / "full", episodes=60, progress=False)
    train(sc, tmp_path / "cut", episodes=40, progress=False)
    cut = train(sc, tmp_path / "cut", episodes=60, resume=True, progress=False)
    a = torch.load(full / "weights.pt", weights_only=False)["agents"]
    b = torch.load(cut / "weights.pt", weights_only=False)["agents"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (full / "learning_curve.png").exists() and (full / "checkpoint.pt").exists()


def test_qmix_policy_acts_for_a_whole_fleet_in_one_batched_pass(tmp_path):
    sc = load("three_parks_560")
    env = make_env(sc, episode_len=2)
    learner = QMIXLearner(env.marl_spec, qmix_config(sc, epsilon_anneal_time=100))
    learner.train(env, n_episodes=4, progress=False)
    path = save_weights(learner, tmp_path / "w.pt")
    m = build_model(sc, QMIXPolicy(path))
    m.run(3)
    over = m.system_series()["actions_overridden"]
    assert (over == 0).all()  # masked argmax never picks an unavailable action
    assert np.isfinite(m.system_series()["net_kw"]).all()


def test_train_cli_is_generic_over_registry_learners(tmp_path, capsys):
    from learners.deploy import QMIXPolicy
    from scenarios.cli import main

    out = str(tmp_path)
    assert main(["train", "two_ac", "--out", out, "--resume", "--quiet"]) == 2  # nothing to resume
    assert "no checkpoint to resume" in capsys.readouterr().err
    assert main(["train", "two_ac", "--out", out, "--learner", "mip", "--quiet"]) == 2
    assert "not trainable" in capsys.readouterr().err
    assert main(["train", "two_ac", "--out", out, "--learner", "vdn", "--episodes", "5", "--checkpoint-every", "2",
                 "--quiet"]) == 0
    folder = tmp_path / "two_ac-vdn"
    payload = torch.load(folder / "weights.pt", weights_only=True)
    assert payload["learner"] == "vdn" and payload["config"]["mixer"] == "vdn"
    assert payload["config"]["checkpoint_interval"] == 2
    assert QMIXPolicy(folder / "weights.pt").config.mixer == "vdn"
    assert torch.load(folder / "checkpoint.pt", weights_only=True)["counters"]["episode"] == 5
