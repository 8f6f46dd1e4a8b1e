import subprocess
import sys

import pytest

from core.errors import UserError
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
def test_user_error_exits_2_with_one_line(message, line):
    code = ("from core.errors import UserError, exit_on_user_error\n"
            "@exit_on_user_error\n"
            "def main():\n"
            f"    raise UserError({message!r})\n"
            "main()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == f"error: {line}\n"
