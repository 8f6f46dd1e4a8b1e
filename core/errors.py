"""User mistakes versus bugs.

A `UserError` is something the person running a script can fix (a missing file, a bad column, a flag
out of range). Scripts print it as one line on stderr and exit with status 2; anything else is a bug
and keeps its traceback.
"""

import functools
import sys

USER_ERROR_EXIT_CODE = 2


class UserError(Exception):
    """An error the user can fix; its message names the file, row or field at fault."""


def one_line(message) -> str:
    """`message` on one line: line breaks (e.g. from a quoted CSV value) become spaces."""
    return str(message).replace("\n", " ").replace("\r", " ")


def exit_on_user_error(main):
    """Decorates a script's `main` so a `UserError` becomes one stderr line and exit code 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as error:
            print(f"error: {one_line(error)}", file=sys.stderr)
            sys.exit(USER_ERROR_EXIT_CODE)

    return wrapper
