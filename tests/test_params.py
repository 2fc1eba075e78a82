"""Parameter declarations: coercion from strings, bounds, choices and unknown names."""
import pytest

from optbench import Param, ParameterError
from optbench.params import bind, parse_assignments


def test_coercion_from_cli_strings():
    assert Param(float, 0.1).coerce("o", "step", "0.5") == 0.5
    assert Param(int, 1).coerce("o", "n", "10") == 10
    assert Param(int, 1).coerce("o", "n", "1e3") == 1000
    assert Param(bool, False).coerce("o", "flag", "yes") is True
    assert Param(str, "a", choices=("a", "b")).coerce("o", "s", "b") == "b"


@pytest.mark.parametrize("param, value, message", [
    (Param(float, 0.1, gt=0), -1, "parameter 'p' must be > 0, got -1.0"),
    (Param(float, 0.5, ge=0, lt=1), 1.0, "must be < 1, got 1.0"),
    (Param(int, 1), "2.5", "must be of type int"),
    (Param(int, 1), True, "must be of type int"),
    (Param(float, 1.0), "nan", "must be finite"),
    (Param(bool, True), "maybe", "must be of type bool"),
    (Param(str, "a", choices=("a", "b")), "c", "must be one of 'a', 'b', got 'c'"),
])
def test_bad_values_name_the_owner_and_parameter(param, value, message):
    with pytest.raises(ParameterError, match="^optimizer 'x': ") as err:
        param.coerce("optimizer 'x'", "p", value)
    assert message in str(err.value)


def test_bind_fills_defaults_and_rejects_unknown_names():
    declared = {"step": Param(float, 0.1), "momentum": Param(float, 0.9, ge=0, lt=1)}
    assert bind("o", declared, {"step": "0.2"}) == {"step": 0.2, "momentum": 0.9}
    with pytest.raises(ParameterError, match="unknown parameter 'momentun'; did you mean 'momentum'"):
        bind("o", declared, {"momentun": 0.5})


def test_parse_assignments():
    assert parse_assignments(["a=1", " b = x=y "]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ParameterError):
        parse_assignments(["=1"])
