import pytest

from core.errors import UserError, exit_on_user_error
from core.registry import Registry


def test_registry_builds_by_name_and_lists_names():
    registry = Registry("widget")

    @registry.register("double")
    def double(x):
        return 2 * x

    assert registry.names() == ["double"]
    assert registry.build("double", x=4) == 8


def test_unknown_name_is_a_user_error_listing_known_names():
    registry = Registry("widget")
    registry.register("a")(lambda: None)
    registry.register("b")(lambda: None)
    with pytest.raises(UserError, match="unknown widget 'c'; choose one of a, b"):
        registry.build("c")


def test_registering_a_name_twice_is_a_bug():
    registry = Registry("widget")
    registry.register("a")(lambda: None)
    with pytest.raises(ValueError):
        registry.register("a")(lambda: None)


@pytest.mark.parametrize("message, line", [
    ("data.csv: line 3: bad value", "data.csv: line 3: bad value"),
    ('data.csv: line 3: label "a\nb"', 'data.csv: line 3: label "a b"'),  # a line break inside a CSV value
    ("data.csv: line 3: label 'a\r\nb'", "data.csv: line 3: label 'a  b'"),
])
def test_user_error_exits_2_with_one_line(message, line, capsys):
    # In process: SystemExit(2) is the exit status; a real script's is tests/anomaly/test_task.py's
    # test_the_script_entry_point_exits_2_with_one_error_line.
    @exit_on_user_error
    def main():
        raise UserError(message)

    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert capsys.readouterr() == ("", f"error: {line}\n")


def test_other_errors_keep_their_traceback():
    @exit_on_user_error
    def main():
        raise KeyError("a bug")

    with pytest.raises(KeyError, match="a bug"):
        main()
