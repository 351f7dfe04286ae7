"""How every command ends: `python -m paddle_gan.{train,generate,evaluate,export,demo,download}` each run their work
through `run`, so that a problem a user can fix ends in one line and the same exit code everywhere:

  0     done
  2     bad input or a problem the user can fix (errors.UserError, or a file that cannot be read or written)
  3     training diverged (errors.Diverged)
  130   Ctrl-C; 143 SIGTERM (the shell's 128 + the signal's number)
"""
import argparse
import re
import signal
import sys

from . import stop_quietly
from .errors import Interrupted, UserError


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose refusal of a flag (an unknown flag, a value of the wrong type, a choice not
    offered) is one line, as every other refusal here, instead of the whole usage text before it."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def run(job, ctrl_c=("stopped by Ctrl-C", 130), smaller="close other programs, or ask for less"):
    """Run `job()` (a command's work, returning its exit code or None for 0); returns the exit code, after printing
    in one line what stopped it if a user can fix it. `ctrl_c`: what Ctrl-C prints and returns (a server ends so),
    or a function that says it;
    `smaller`: what to make smaller when memory runs out."""
    if signal.getsignal(signal.SIGINT) is stop_quietly:  # set while Paddle loaded (paddle_gan/__init__.py): from
        signal.signal(signal.SIGINT, signal.default_int_handler)  # here on, Ctrl-C reaches the command's own handling
    try:
        return job() or 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # a path that cannot be read or written: missing folder, no permission, full disk
        what = e.filename or "a file"
        print(f"error: cannot use {what} ({e.strerror or e}); check the path, its permissions and the free space",
              file=sys.stderr)
        return UserError.exit_code
    except MemoryError as e:  # a size too large for this machine (Paddle says how many bytes it asked for)
        asked = re.search(r"alloc memory of (\d+) size", str(e))
        size = f" ({int(asked.group(1)) / 2**30:,.1f} GiB asked for at once)" if asked else ""
        print(f"error: out of memory{size}; {smaller}", file=sys.stderr)
        return UserError.exit_code
    except Interrupted as e:  # the run wrote a checkpoint and says how to continue
        print(e, file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        message, code = ctrl_c() if callable(ctrl_c) else ctrl_c
        print(message, file=sys.stderr if code else sys.stdout)
        return code
