import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scenarios.schema import ScenarioError, bundled_scenarios, load, resolve

BASE = yaml.safe_load(resolve("three_parks_560").read_text())


def write(tmp_path: Path, data, name="s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return p


def mutate(path, value):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    cur = data
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (["parks", 0, "ac", "count"], -3, ["parks[0].ac.count", "-3", "allowed: >= 0"]),
        (["step_h"], 0.1, ["step_h", "0.1", "allowed: >= 0.25"]),
        (["step_h"], 0.3, ["multiple of 0.25"]),
        (["horizon_h"], 23.5, ["whole number of steps"]),
        (["scale"], 0, ["scale", "allowed: > 0"]),
        (["weather", "file"], "paris.csv", ["weather.file", "paris.csv", "must be one of"]),
        (["parks", 1, "ac", "mode_shares"], {"cool18": 0.5, "cool22": 0.6}, ["mode_shares must sum to 1"]),
        (["parks", 1, "ac", "mode_shares"], {"cool19": 1.0}, ["mode_shares.cool19"]),
        (["parks", 0, "ev", "arrival_h"], {"mean": 30, "std": 1, "min": 0, "max": 23.5}, ["mean (30.0) must lie"]),
        (["parks", 0, "name"], "has space", ["parks[0].name", "should match pattern"]),
        (["parks", 0, "colour"], "red", ["parks[0].colour", "unknown field"]),
        (["aggregation"], {"rules": ["rule4"] * 5}, ["rule4 needs custom_rule"]),
        (["aggregation"], {"custom_rule": "os.system('x')"}, ["custom_rule", "should match pattern"]),
        (["fitness", "similarity_lambda"], -1, ["similarity_lambda", "allowed: > 0"]),
        (["system_index"], {"source": "series"}, ["needs a 'series' block"]),
    ],
)
def test_each_schema_rule_names_file_field_value_and_range(tmp_path, path, value, expect):
    p = write(tmp_path, mutate(path, value))
    with pytest.raises(ScenarioError) as info:
        load(p)
    msg = str(info.value)
    assert str(p) in msg
    for part in expect:
        assert part in msg, msg


def test_missing_required_field(tmp_path):
    data = dict(BASE)
    del data["parks"]
    with pytest.raises(ScenarioError, match="field 'parks': required field is missing"):
        load(write(tmp_path, data))


def test_invalid_yaml_reports_line(tmp_path):
    with pytest.raises(ScenarioError, match=r"line 3, column 3: not valid YAML"):
        load(write(tmp_path, "name: x\nparks: [\n  - {name: a\n"))


def test_not_a_mapping_and_unknown_scenario(tmp_path):
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load(write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(ScenarioError, match="not a bundled scenario"):
        load("no_such_scenario")


def test_series_signal_length_checked(tmp_path):
    data = mutate(["system_index"], {"source": "series", "series": {"e_res_mwh": [1.0] * 3, "e_tot_mwh": [2.0] * 3}})
    with pytest.raises(ScenarioError, match="the horizon needs 24"):
        load(write(tmp_path, data))


def test_bundled_scenarios_validate_and_scale():
    names = bundled_scenarios()
    for required in ("two_ac", "three_parks_560", "three_parks_5600", "three_parks_56000", "three_parks_1m"):
        assert required in names
    scales = {n: load(n).scale for n in ("three_parks_560", "three_parks_5600", "three_parks_56000", "three_parks_1m")}
    assert scales == {"three_parks_560": 1, "three_parks_5600": 10, "three_parks_56000": 100, "three_parks_1m": 1786}
    sc = load("three_parks_560")
    counts = {
        k: sum(getattr(p, k).count for p in sc.parks if getattr(p, k) is not None) for k in ("ac", "ev", "pv")
    }
    assert counts == {"ac": 515, "ev": 42, "pv": 3}
    assert sorted(p.pv.capacity_kw for p in sc.parks) == [150, 430, 2800]
    assert load("two_ac").parks[0].ac.count == 2


def test_content_hash_ignores_formatting(tmp_path):
    a = write(tmp_path, BASE, "a.yaml")
    b = write(tmp_path, yaml.safe_dump(BASE, default_flow_style=True), "b.yaml")
    assert load(a).content_hash() == load(b).content_hash()
    assert load(a).content_hash() != load(a, {"seed": 1}).content_hash()


def test_cli_validate_bad_file_exits_2_without_traceback(tmp_path):
    p = write(tmp_path, mutate(["parks", 0, "ac", "count"], -3))
    proc = subprocess.run(
        [sys.executable, "-m", "scenarios.cli", "validate", str(p)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "parks[0].ac.count" in proc.stderr and str(p) in proc.stderr


# --------------------------------------------------------------------------- kinds and the method registry


def test_kind_defaults_to_der_aggregation_and_unknown_kinds_are_named(tmp_path):
    from scenarios.schema import Scenario, scenario_adapter

    sc = load("three_parks_560")
    assert sc.kind == "der_aggregation" and isinstance(sc, Scenario)
    explicit = load(write(tmp_path, {**BASE, "kind": "der_aggregation"}))
    assert explicit.content_hash() == load(write(tmp_path, BASE, "implicit.yaml")).content_hash()
    assert isinstance(scenario_adapter().validate_python(BASE), Scenario)
    p = write(tmp_path, {**BASE, "kind": "vpp_bazaar"}, "k.yaml")
    with pytest.raises(ScenarioError, match=r"field 'kind': got 'vpp_bazaar': must be one of \['der_aggregation'"):
        load(p)


def test_method_policy_and_learner_names_come_from_the_registry(tmp_path):
    import learners

    for path, value, field in ((["method"], "simplex", "method"), (["policy", "kind"], "mip", "policy.kind"),
                               (["training"], {"learner": "greedy"}, "training.learner")):
        with pytest.raises(ScenarioError, match=rf"field '{field}'.*must be one of"):
            load(write(tmp_path, mutate(path, value)))
    assert load(write(tmp_path, mutate(["method"], "vdn"))).method == "vdn"  # registered => allowed
    assert set(learners.names(policy=True)) >= {"rule", "greedy", "qmix"}
    with pytest.raises(ScenarioError, match="needs 'weights'"):
        load(write(tmp_path, mutate(["policy"], {"kind": "qmix"})))


def test_training_block_new_shape_and_wave1_qmix_block(tmp_path):
    old = load("two_ac").training
    assert old.learner == "qmix" and old.config == yaml.safe_load(resolve("two_ac").read_text())["training"]["qmix"]
    assert old.qmix == old.learner_config == old.config
    assert load("three_parks_560").training.learner_config["buffer_size"] == 2000  # registry defaults
    new = load(write(tmp_path, mutate(["training"], {"learner": "vdn", "config": {"lr": "5e-4"}}))).training
    # YAML 1.2 (the bounded reader): 5e-4 is a number, not the string YAML 1.1 made of it.
    assert new.learner == "vdn" and new.config == {"lr": 5e-4}
    for bad, msg in (({"config": {"lrr": 1}}, "did you mean 'lr'"), ({"learner": "vdn", "config": {"mixer": "qmix"}},
                                                                      "requires mixer='vdn'"),
                     ({"qmix": {}, "config": {}}, "not both")):
        with pytest.raises(ScenarioError, match=msg):
            load(write(tmp_path, mutate(["training"], bad)))


def test_import_scenarios_schema_loads_no_torch():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import scenarios.schema"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "torch" not in proc.stderr


# --------------------------------------------------------------------------- issue 10: physical validation


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (["parks", 0, "ac", "cop"], {"low": 0.0, "high": 3.0}, "cop: low (0) must be > 0"),
        (["parks", 0, "ac", "r_c_per_kw"], {"low": -1.0, "high": 3.0}, "r_c_per_kw: low (-1) must be > 0"),
        (["parks", 0, "ac", "t_in_init_c"], {"low": 24.0, "high": 99.0}, "t_in_init_c: high (99) must be <= 70"),
        (["parks", 0, "ac", "on_hour"], {"mean": 30, "std": 1, "min": 25, "max": 31}, "on_hour: mean (30) must be <= 24"),
        (["parks", 0, "ac", "count"], True, "parks[0].ac.count"),
        (["parks", 0, "ac", "count"], "3", "parks[0].ac.count"),
        (["parks", 0, "ac", "p_nominal_kw"], float("nan"), "finite number"),
        (["parks", 0, "ac", "on_hour"], {"mean": 8, "std": -1, "min": 0, "max": 23}, "on_hour.std"),
        (["parks", 0, "bus"], 10**19, "parks[0].bus"),
        (["grid"], {"options": {"bogus": 1}}, "grid.options: unknown key 'bogus'"),
        (["system_index"], {"source": "grid"}, "needs a 'grid' block"),
        (["training"], {"learner": "qmix", "config": {"lr": "0.0005"}}, "'lr' must be a number"),
        (["training"], {"learner": "qmix", "config": {"batch_size": 8.0}}, "'batch_size' must be an integer"),
        (["training"], {"learner": "qmix", "config": {"rnn_hidden_dim": 10**30}}, "rnn_hidden_dim: got 1000"),
        (["training"], {"learner": "qmix", "config": {"rnn_hidden_dim": 5000}}, "rnn_hidden_dim must be in [1, 4096]"),
        (["parks", 0, "base_load"], {"peak_kw": 1, "profile": "G0-Z"}, "G0-Z"),
    ],
)
def test_physical_and_strict_rules(tmp_path, path, value, expect):
    with pytest.raises(ScenarioError, match=re.escape(expect)):
        load(write(tmp_path, mutate(path, value)))


def test_validate_reports_every_file_and_exits_2(tmp_path, capsys):
    from scenarios.cli import main

    bad = write(tmp_path, mutate(["parks", 0, "ac", "count"], True))
    assert main(["validate", "two_ac", str(bad), "three_parks_560"]) == 2
    out, err = capsys.readouterr()
    assert out.count(": OK") == 2 and "parks[0].ac.count" in err and "Traceback" not in err


def test_unknown_keys_name_the_allowed_keys_at_their_level():
    from scenarios.schema import ScenarioError, parse

    with pytest.raises(ScenarioError) as err:
        parse({"name": "x", "parks": [{"name": "p", "ac": {"count": 1, "colour": 2}}], "aggregation": {"enabeld": True}})
    text = str(err.value)
    assert "field 'parks[0].ac.colour': unknown field; allowed here: count," in text
    assert "field 'aggregation.enabeld': unknown field; allowed here: enabled," in text
