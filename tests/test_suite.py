"""Suite files: the published schema, validation errors with key paths, and cell expansion."""
from __future__ import annotations

from pathlib import Path

import pytest

from optbench.cli import main
from optbench.suite import SCHEMA, SuiteError, check_schema, load_suite, parse_suite, tomllib

SUITES = sorted(Path(__file__).parents[1].joinpath("suites").glob("*.toml"))
GOOD = """
name = "t"
objectives = [{ name = "quadratic", params = { n = [2, 3], cond = 4.0 } }]
optimizers = [{ name = "gd", params = { step = [0.1, 0.2] } }]
seeds = [0, 1]
"""


@pytest.mark.parametrize("path", SUITES, ids=[p.name for p in SUITES])
def test_every_published_suite_passes_the_schema_and_the_validator(path):
    import jsonschema

    jsonschema.validate(tomllib.loads(path.read_text()), SCHEMA)
    assert load_suite(path).cells


def test_the_schema_is_a_valid_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(SCHEMA)


# (suite text, key path in the error, words the message must contain)
SCHEMA_ERRORS = [
    ('objectives = [{ name = "quadratic" }]', "name", "missing required key"),
    ('name = "t"\nobjectives = [{ name = "quadratic" }]\noptimizer = []', "optimizer",
     "unknown key; did you mean 'optimizers'"),
    ('name = "t"\nobjectives = [{ name = "quadratic" }]\n[stop]\nmax_iters = 5', "stop.max_iters",
     "did you mean 'max_iter'"),
    ('name = "t"\nobjectives = [{ name = "quadratic" }]\nseeds = 3', "seeds", "expected a list, got 3"),
    ('name = "t"\nobjectives = [{ name = "quadratic" }]\nrepeats = 0', "repeats", "expected a value >= 1"),
    ('name = "t"\nobjectives = [{ name = "quadratic" }]\ndtypes = ["float16"]', "dtypes[0]",
     'expected one of "float32", "float64"'),
    ('name = "t"\nobjectives = [{ name = "quadratic", params = { cond = [[1.0]] } }]',
     "objectives[0].params.cond[0]", "expected a string or a number or a boolean or a table"),
    ('name = "t"\nobjectives = []', "objectives", "at least 1 item"),
    ('name = "t"\nobjectives = [{ name = "quadratic" }]\ntimeout = -1', "timeout", "expected a value > 0"),
    ('name = "t"\nobjectives = [{ name = "quadratic" }]\nseeds = [1, 1]', "seeds[1]", "duplicate"),
    ('name = "t"\nobjectives = [{ name = "quadratic" }]\nrepeats = 2.0', "repeats", "expected an integer, got 2.0"),
    ('name = "t"\ntask = "optimise"\nobjectives = [{ name = "quadratic" }]', "task",
     "did you mean 'optimize'"),
]


@pytest.mark.parametrize("text,path,words", SCHEMA_ERRORS)
def test_schema_errors_name_the_file_the_key_path_and_what_was_expected(tmp_path, text, path, words):
    file = tmp_path / "bad.toml"
    file.write_text(text)
    with pytest.raises(SuiteError) as info:
        load_suite(file)
    assert info.value.path == path and words in info.value.message
    assert str(info.value).startswith(f"{file}: {path}: ")


@pytest.mark.parametrize("text", [t for t, _, _ in SCHEMA_ERRORS])
def test_every_violation_jsonschema_finds_is_explained_in_words(text):
    found = check_schema(tomllib.loads(text))
    assert found and all(message.startswith(("expected", "missing", "unknown", "duplicate")) for _, message in found)


def test_the_first_error_of_a_file_with_several_is_the_outermost():
    data = tomllib.loads('objectives = [{ name = "" }]\nseeds = 3')
    assert check_schema(data)[0] == ("name", "missing required key")
    assert {path for path, _ in check_schema(data)} == {"name", "seeds", "objectives[0].name"}


SEMANTIC_ERRORS = [
    ('objectives = [{ name = "quadratik" }]\noptimizers = [{ name = "gd" }]', "objectives[0].name", "did you mean 'quadratic'"),
    ('objectives = [{ name = "quadratic" }]\noptimizers = [{ name = "gdd" }]', "optimizers[0].name",
     "did you mean 'gd'"),
    ('objectives = [{ name = "quadratic" }]', "optimizers", "task 'optimize' needs optimizers"),
    ('objectives = [{ name = "quadratic", params = { cond = [10.0, "x"] } }]\noptimizers = [{ name = "gd" }]',
     "objectives[0].params.cond[1]", "must be of type float"),
    ('objectives = [{ name = "quadratic", params = { cond = { a = 1 } } }]\noptimizers = [{ name = "gd" }]',
     "objectives[0].params.cond", "must be of type float"),
    ('objectives = [{ name = "quadratic" }]\noptimizers = [{ name = "scipy", params = { options = { bogus = 1 } } }]',
     "optimizers[0].params", "method 'L-BFGS-B' has no option 'bogus'"),
    ('objectives = [{ name = "quadratic", params = { kond = 2.0 } }]\noptimizers = [{ name = "gd" }]',
     "objectives[0].params.kond", "did you mean 'cond'"),
    ('objectives = [{ name = "rosenbrock", params = { n = 1 } }]\noptimizers = [{ name = "gd" }]',
     "objectives[0].params.n", "dimension n must be >= 2"),
    ('objectives = [{ name = "quadratic" }]\noptimizers = [{ name = "gd", params = { step = -1.0 } }]',
     "optimizers[0].params.step", "must be > 0"),
    ('objectives = [{ name = "quadratic" }]\noptimizers = [{ name = "gd" }]\nbackends = ["torhc"]',
     "backends[0]", "did you mean 'torch'"),
    ('objectives = [{ name = "quadratic" }]\noptimizers = [{ name = "gd" }]\ndevices = ["tpu"]',
     "devices[0]", "no backend of this suite declares 'tpu'"),
    ('objectives = [{ name = "quadratic" }]\noptimizers = [{ name = "gd" }]\nexclude = [{ backend = "tape" }]',
     "exclude[0].backend", "not among the suite's backends"),
    ('objectives = [{ name = "quadratic" }]\noptimizers = [{ name = "gd" }]\nexclude = [{ optimizer = "gd" }]',
     "exclude", "leave no cell"),
    ('objectives = [{ name = "quadratic" }, { name = "quadratic" }]\noptimizers = [{ name = "gd" }]',
     "objectives", "same cell twice"),
]


@pytest.mark.parametrize("text,path,words", SEMANTIC_ERRORS)
def test_plugin_names_values_and_combinations_are_checked(text, path, words):
    with pytest.raises(SuiteError) as info:
        parse_suite('name = "t"\n' + text, "x.toml")
    assert info.value.path == path and words in info.value.message, str(info.value)


def test_grids_expand_to_every_combination_with_stable_distinct_ids():
    cells = parse_suite(GOOD).cells
    assert len(cells) == 2 * 2 * 2
    assert len({c.id for c in cells}) == len(cells)
    assert [c.id for c in parse_suite(GOOD).cells] == [c.id for c in cells]
    first = cells[0].config
    assert first["objective"] == {"name": "quadratic", "params": {**first["objective"]["params"], "n": 2, "cond": 4.0}}
    assert first["optimizer"]["params"]["step"] == 0.1 and first["stop"]["max_iter"] == 1000
    assert cells[0].label == "quadratic(n=2,cond=4.0)/gd(step=0.1)/torch/cpu/float64/seed=0"


def test_ids_follow_the_configuration_but_not_the_timeout():
    base = {c.id for c in parse_suite(GOOD).cells}
    assert {c.id for c in parse_suite(GOOD + "timeout = 5\n").cells} == base
    assert not {c.id for c in parse_suite(GOOD + "[stop]\nmax_iter = 7\n").cells} & base


def test_exclusions_and_only_patterns_select_cells():
    text = GOOD.replace('seeds = [0, 1]', 'backends = ["torch", "tape"]\nexclude = [{ backend = "tape" }]')
    cells = parse_suite(text).cells
    assert {c.config["backend"] for c in cells} == {"torch"} and len(cells) == 4
    assert [c for c in cells if c.matches("*n=3*step=0.2*")] == [cells[3]]
    assert [c for c in cells if c.matches(cells[1].id[:6])] == [cells[1]]


def test_dry_run_lists_the_cells(capsys, tmp_path):
    file = tmp_path / "s.toml"
    file.write_text(GOOD)
    assert main(["run", str(file), "--dry-run", "--only", "*seed=1"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 4 and "4 cells" in err and not (tmp_path / "results").exists()


def test_a_bad_suite_is_one_line_on_stderr(capsys, tmp_path):
    file = tmp_path / "s.toml"
    file.write_text(GOOD.replace("gd", "gdd"))
    assert main(["run", str(file), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"optbench: error: {file}: optimizers[0].name: unknown optimizer 'gdd'; did you mean 'gd'?\n"
