"""paddle_gan: the Paddle GAN tutorials' trainer on today's Paddle static graph."""
import os
import signal
import sys
import warnings

__version__ = "0.1.0"

# Before Paddle is imported anywhere in the package: keep glog's INFO lines and three known, harmless warnings
# out of the training log (docs/paddle_static_graph.md, "Quiet logs").
os.environ.setdefault("GLOG_minloglevel", "2")


def _amd_processor():
    try:
        with open("/proc/cpuinfo") as f:
            return "AuthenticAMD" in f.read(65536)
    except OSError:  # not Linux: leave MKL alone
        return False


# Paddle's bundled MKL takes a slow code path on AMD processors unless told otherwise before it loads (2-3x slower
# training: benchmarks/RESULTS.md). A value the user set wins.
if _amd_processor():
    os.environ.setdefault("MKL_DEBUG_CPU_TYPE", "5")

for _message in ("No ccache found", "Tensor do not have 'place' interface", "When training, we now always track"):
    warnings.filterwarnings("ignore", message=f".*{_message}.*")


def stop_quietly(signum, frame):
    # At once: an exception raised here could surface inside Paddle's C++ start-up as an ImportError trace.
    print("stopped by Ctrl-C", file=sys.stderr, flush=True)
    os._exit(130)


# `python -m paddle_gan.X` (Python sets argv[0] to "-m" while it imports the package): a Ctrl-C, for one in the
# seconds that Paddle takes to load, stops in one line instead of a traceback. train.main puts Python's own handler
# back once loaded: its Ctrl-C then ends in a checkpoint. Imported elsewhere (a notebook, pytest), nothing changes.
if sys.argv[:1] == ["-m"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, stop_quietly)
