"""Ctrl-C and SIGTERM stop a training run cleanly: the loop finishes the iteration it is in, writes a checkpoint and
exits (130 after Ctrl-C, 143 after SIGTERM, the shell's convention). A second Ctrl-C stops at once.
"""
import signal
import threading

from . import parallel


class StopSignals:
    """While in use (a context manager), Ctrl-C and SIGTERM are noted instead of stopping the program; `requested`
    tells the loop whether to stop after this iteration."""

    def __init__(self):
        self.received = []
        self.previous = {}

    def _note(self, signum, frame):
        if self.received and signum == signal.SIGINT:  # not SIGTERM: paddle.distributed.launch sends it up to 3 times
            raise KeyboardInterrupt
        self.received.append(signum)  # no printing here: the handler may interrupt a print in progress

    def requested(self, exe, programs, scope):
        """The signal that asks the run to stop (0: none). With several processes, the one every process agrees on:
        the launcher signals them all, but they may get it at different iterations."""
        return int(parallel.agree(exe, programs, scope, "max", [self.received[0] if self.received else 0])[0])

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
            self.previous = {s: signal.signal(s, self._note) for s in (signal.SIGINT, signal.SIGTERM)}
        parallel.taking_signals()
        return self

    def __exit__(self, *exc):
        for s, handler in self.previous.items():
            signal.signal(s, handler)
