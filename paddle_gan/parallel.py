"""Data parallelism over processes: N copies of the training loop, each on its share of every batch.

On a CPU `python -m paddle_gan.train` starts them itself (`processes` decides how many, `spawn` starts them with
`paddle.distributed.spawn`): Paddle's executor keeps one core busy, so a second process is the way to the second
core. Paddle's launcher starts them too:

    python -m paddle.distributed.launch --nproc_per_node 2 python -m paddle_gan.train -d mnist

(The launcher runs a script path or a command, not `-m module`: `paddle_gan/train.py` as a path would break the
package's relative imports, so the command it runs is `python -m paddle_gan.train`.) Either way each process
learns its rank and the world size from PADDLE_TRAINER_ID and PADDLE_TRAINERS_NUM; in a single process nothing
here changes anything.

How the processes stay one training run:
- The same seeds everywhere, so the startup program gives every rank the same initial parameters.
- `batch_size` is the global batch. Every rank draws the whole batch from the same seeded streams and keeps its
  own rows (`RankShare`), so together the ranks see exactly the batches one process would, and a checkpoint's stream
  state means the same whatever the number of processes.
- Each training program sums its gradients over the ranks and divides by the world size before Adam applies
  them (`average_gradients`, one all-reduce a program), so every rank takes the same step: the step of the whole
  batch.
- Batch norm normalises each rank's share with that share's statistics (plain data parallelism, not synchronised
  batch norm). The moving statistics each rank writes are averaged in the same all-reduce as the gradients: the
  mean is then the whole batch's; the variance misses the spread between the shares' means.
- Whatever the driver decides from a value must get one answer on every rank, or the ranks run different
  programs and wait for each other for ever: losses are averaged (the strike schedule decides on them, the NaN
  guard stops every rank at once) and a stop signal, which may reach the ranks at different iterations, is
  agreed on (`agree`).
- Rank 0 alone writes samples, logs and checkpoints.
"""
import contextlib
import ctypes
import io
import logging
import os
import signal
import sys
import warnings

import numpy as np
import paddle
import paddle.distributed as dist

from .errors import UserError

# With `nproc = 0` (auto), one process per core, but each with at least this many rows of every batch: batch norm
# normalises each process's share by its own statistics, which grow noisy on fewer rows.
MIN_ROWS = 16
_SPAWNED = "PADDLE_GAN_SPAWNED"  # set for the processes `spawn` starts (they inherit it): main() started them


class ParallelError(UserError):
    """A setting that cannot be split over the processes; the message says what to change."""


def world_size():
    """How many processes train together (1 without the launcher)."""
    return int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))


def rank():
    """This process's number, 0 to world_size() - 1; rank 0 writes the outputs."""
    return int(os.environ.get("PADDLE_TRAINER_ID", "0"))


def processes(config, place):
    """How many processes main() should start for `config` on `place`: the config's `nproc`, or with 0 (auto) one per
    available core on a CPU, as many as divide the batch with MIN_ROWS rows each at least. One on a GPU (several
    GPUs are untested here), and one when a launcher already started the processes."""
    if world_size() > 1:
        return 1
    if config["nproc"] or not isinstance(place, paddle.CPUPlace):
        return config["nproc"] or 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    batch = config["batch_size"]
    return max((n for n in range(1, cores + 1) if batch % n == 0 and batch // n >= MIN_ROWS), default=1)


def spawn(func, args, nproc):
    """Run `func(*args)` in `nproc` processes started with paddle.distributed.spawn, as the ranks of one training
    run; returns rank 0's result (func returns an exit code). Rank 0 prints, the others are silent.

    This process only waits. It passes on Ctrl-C and SIGTERM to the processes, once each: they sit in their own
    process group, so the terminal's Ctrl-C does not reach them twice (a second Ctrl-C stops them at once, as it
    does a single process). If this process is killed, they get SIGTERM and stop as after Ctrl-C."""
    started, pending = [], []

    def forward(signum, frame):
        pending.append(signum)
        for process in started:
            if process.is_alive():
                os.kill(process.pid, signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    os.environ[_SPAWNED] = "1"
    try:
        with warnings.catch_warnings():  # "Your model will be trained under CPUONLY mode by using GLOO": it will
            warnings.simplefilter("ignore")
            logging.disable(logging.INFO)  # and "find free ports: ..."
            try:
                context = dist.spawn(_rank_main, (func, args), nprocs=nproc, join=False, backend="gloo")
            finally:
                logging.disable(logging.NOTSET)
        started.extend(context.processes)
        for signum in pending:  # a signal that came while the processes were starting
            forward(signum, None)
        try:
            while not context.join():
                pass
        except Exception as e:  # a process ended with a traceback (a bug): spawn's message carries it
            print(e, file=sys.stderr)
            return 1
    finally:
        del os.environ[_SPAWNED]
        for s, handler in previous.items():
            signal.signal(s, handler)
    results = [queue.get() if not queue.empty() else None for queue in context.return_queues]
    if results[0] is None:  # stopped at once by a second Ctrl-C, before it could return
        return 128 + (pending[-1] if pending else signal.SIGINT)
    return results[0]


def _rank_main(func, args):
    os.setpgrp()  # a process group of its own: the terminal's Ctrl-C goes to the parent, which passes it on
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: SIGTERM if the parent dies (Linux)
    except (OSError, AttributeError):
        pass
    if rank() != 0:
        sys.stdout = sys.stderr = open(os.devnull, "w")
    return func(*args)


def spawned_by_main():
    """Whether this process is one of those `spawn` started for a run (not one a launcher started, nor the parent)."""
    return bool(os.environ.get(_SPAWNED))


def restart_prefix(python="python"):
    """What a command that continues this run needs in front of `{python} -m paddle_gan.train`: the launcher, when it
    started the processes ("" otherwise)."""
    if world_size() == 1 or spawned_by_main():
        return ""
    return f"{python} -m paddle.distributed.launch --nproc_per_node {world_size()} "


def connect(config, place):
    """Join the other processes; call before paddle.enable_static(). Nothing to do in a single process."""
    if world_size() == 1:
        return
    if not isinstance(place, paddle.CPUPlace):  # each rank would need its own GPU and NCCL: never run here
        raise ParallelError("several processes are supported on CPU only (multi-GPU training is untested); "
                            "add --use_gpu 0, or train in one process")
    if config["batch_size"] % world_size():
        raise ParallelError(f"batch_size {config['batch_size']} does not split over {world_size()} processes; "
                            f"choose a multiple of {world_size()} (it is the global batch, shared out evenly)")
    # The one place the two IRs differ: the legacy IR's collective ops on CPU talk through the gloo context
    # (gloo_init_parallel_env), PIR's through the process group that init_parallel_env sets up.
    if paddle.framework.use_pir_api():
        # Quietly: it prints a "Modified FLAGS detected" banner for a flag Paddle itself sets under PIR.
        with contextlib.redirect_stderr(io.StringIO()):
            dist.init_parallel_env()
    else:
        master = os.environ["PADDLE_TRAINER_ENDPOINTS"].split(",")[0]
        dist.gloo_init_parallel_env(rank(), world_size(), master)


def share(stream):
    """The batches of `stream` as this rank should read them: itself in a single process, else RankShare."""
    return stream if world_size() == 1 else RankShare(stream)


class RankShare:
    """This rank's rows of every batch of `stream`; `state()` and `restore()` are the whole stream's."""

    def __init__(self, stream):
        self.stream = stream

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self.stream)  # a dict of feeds (readers.py), all with the same rows
        rows = len(batch[next(iter(batch))]) // world_size()
        return {name: array[rank() * rows:(rank() + 1) * rows] for name, array in batch.items()}

    def state(self):
        return self.stream.state()

    def restore(self, state):
        self.stream.restore(state)


def average_gradients(params_grads, program=None):
    """In a program being built: each (parameter, gradient) with the gradient averaged over the processes; and with
    `program`, the batch-norm moving statistics it wrote so far (its parameters that take no gradient) averaged too.

    All of it travels in one all-reduce: on a CPU each collective costs about a millisecond whatever its size, and
    one per tensor (a program has 20 to 30) cost a third of an iteration at batch 32 (benchmarks/RESULTS.md)."""
    if world_size() == 1:
        return params_grads
    statistics = [p for p in program.global_block().all_parameters() if p.stop_gradient] if program else []
    tensors = [grad for _, grad in params_grads] + statistics
    flat = paddle.concat([paddle.reshape(t, [-1]) for t in tensors])
    dist.all_reduce(flat)  # sums in place
    parts = paddle.split(flat / world_size(), [int(np.prod(t.shape)) for t in tensors])
    averaged = [paddle.reshape(part, t.shape) for part, t in zip(parts, tensors)]
    for stat, value in zip(statistics, averaged[len(params_grads):]):
        paddle.assign(value, output=stat)
    return [(param, grad) for (param, _), grad in zip(params_grads, averaged)]


def reduce_over_ranks(values, how):
    """In a program being built: `values` summed over the processes and divided by their number ("mean"), or
    their largest ("max")."""
    dist.all_reduce(values, op=dist.ReduceOp.SUM if how == "mean" else dist.ReduceOp.MAX)
    return values / world_size() if how == "mean" else values


def agree(exe, programs, scope, how, values):
    """`values` (a list of numbers) made the same on every rank: their mean or max over the processes, by running
    the rank_mean or rank_max program. In a single process, `values` as they are."""
    if world_size() == 1:
        return list(values)
    name = "rank_" + how
    return exe.run(getattr(programs, name), feed={"values": np.array(values, "float64")},
                   fetch_list=programs.fetch[name], scope=scope)[0].tolist()
