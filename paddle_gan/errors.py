"""The errors a user can cause and fix: bad input, missing data, an unusable checkpoint or folder.

Each module raises its own subclass where the problem is known, with a message that names it and says what to do.
Every command's main() prints such an error as one line, `error: ...`, and exits with its `exit_code`: never a
traceback for something a user can change.
"""


class UserError(Exception):
    """A problem the user can fix; the message says which and how."""
    exit_code = 2


class Diverged(UserError):
    """A loss or a parameter became NaN or inf: training cannot go on from here (exit code 3)."""
    exit_code = 3


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run after a checkpoint was written (exit code 128 + the signal's number)."""

    def __init__(self, signum, message):
        super().__init__(message)
        self.signum = signum
