"""The errors a user can cause and fix: bad input, missing data, an unusable checkpoint or folder.

Each module raises its own subclass where the problem is known, with a message that names it and says what to do.
Every command's main() prints such an error as one line, `error: ...`, and exits with its `exit_code`: never a
traceback for something a user can change. A command a message tells the user to run must run as printed, from
where the user is: `python_command()` names the Python to run it with.
"""
import os
import shlex
import shutil
import sys


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


def python_command():
    """This Python as a user types it where they are: its name when the shell finds this very interpreter by it
    (an activated virtual environment), else its path (e.g. .venv/bin/python, after `make run`)."""
    executable = os.path.abspath(sys.executable)
    name = os.path.basename(executable)
    found = shutil.which(name)
    if found and os.path.abspath(found) == executable:
        return name
    relative = os.path.relpath(executable)
    return shlex.quote(executable if relative.startswith("..") else relative)
