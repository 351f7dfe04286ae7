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
import multiprocessing
import os
import re
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


class ProcessLost(UserError):
    """One of the processes of a run ended without its rank's say (killed, or failed): the run cannot go on."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


class StoppedAtOnce(Exception):
    """A signal (`signum`) stopped the processes at once, before the run could say so itself."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def cores():
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def processes(config, place):
    """How many processes main() should start for `config` on `place`: the config's `nproc`, or with 0 (auto) one per
    available core on a CPU, as many as divide the batch with MIN_ROWS rows each at least. One on a GPU (several
    GPUs are untested here), and one when a launcher already started the processes. A count the batch cannot be
    split over is refused here, before any process starts."""
    if world_size() > 1:
        return 1
    batch = config["batch_size"]
    if config["nproc"] or not isinstance(place, paddle.CPUPlace):
        nproc = config["nproc"] or 1
        check_split(batch, nproc)
        return nproc
    return max((n for n in range(1, cores() + 1) if batch % n == 0 and batch // n >= MIN_ROWS), default=1)


def check_split(batch, nproc):
    """Refuse a batch that `nproc` processes cannot share evenly."""
    if batch % nproc:
        raise ParallelError(f"batch_size {batch} does not split over {nproc} processes; choose a batch that is a "
                            f"multiple of {nproc} (it is the global batch, shared out evenly), or another --nproc")


def spawn(func, args, nproc):
    """Run `func(*args)` in `nproc` processes started with paddle.distributed.spawn, as the ranks of one training
    run; returns rank 0's result (func returns an exit code). Rank 0 prints, the others are silent.

    This process only waits. It passes on Ctrl-C and SIGTERM to the processes, once each: they sit in their own
    process group, so the terminal's Ctrl-C does not reach them twice (a second Ctrl-C stops them at once, as it
    does a single process). A signal is passed on once a process's training loop takes it (`taking_signals`): one
    that came sooner, while it loads Paddle or joins the others, would break its imports with a traceback or strand
    the others; a Ctrl-C at start-up so stops the run after its first iteration, with a checkpoint. If this process
    is killed, they get SIGTERM and stop as after Ctrl-C."""
    stops = (signal.SIGINT, signal.SIGTERM)
    pending, sent, ready, processes = [], [], [], []

    def deliver():  # the pending signals to every process that can take them, each once (from the loop below only:
        for i, process in enumerate(processes):  # a handler's call interrupting this one could send one twice)
            while ready[i].is_set() and sent[i] < len(pending) and process.is_alive():
                os.kill(process.pid, pending[sent[i]])
                sent[i] += 1

    def forward(signum, frame):
        pending.append(signum)  # passed on within 0.2 s

    previous = {s: signal.signal(s, forward) for s in stops}
    os.environ[_SPAWNED] = "1"
    failure, context = None, None
    try:
        # Ignored while the processes start: they inherit that, so the terminal's Ctrl-C, which reaches them until
        # they leave its process group (_rank_main), cannot break their start-up; the loop takes it over. (One in
        # these milliseconds is lost here too: press it again.)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with warnings.catch_warnings():  # "Your model will be trained under CPUONLY mode by using GLOO": it will
                warnings.simplefilter("ignore")
                logging.disable(logging.INFO)  # and "find free ports: ..."
                ready.extend(multiprocessing.get_context("spawn").Event() for _ in range(nproc))
                context = dist.spawn(_rank_main, (func, args, ready), nprocs=nproc, join=False, backend="gloo")
        finally:
            logging.disable(logging.NOTSET)
            processes.extend(context.processes if context else [])
            sent.extend([0] * len(processes))
            signal.signal(signal.SIGINT, forward)
        told = False
        try:
            while not context.join(timeout=0.2):
                deliver()
                if pending and not all(event.is_set() for event in ready):  # a process is still starting
                    if len(pending) > 1:  # a second signal: stop at once (no loop to finish, no checkpoint)
                        for process in processes:
                            process.kill()
                            process.join()
                        raise StoppedAtOnce(pending[-1])
                    if not told:  # (loading Paddle, joining the others, training the evaluator's classifier)
                        print(f"{signal.Signals(pending[0]).name}: the processes are still starting; the run stops "
                              "after its first iteration, with a checkpoint (Ctrl-C again to stop at once)",
                              flush=True)  # on stdout, as the loop's "writing a checkpoint" line
                        told = True
        except StoppedAtOnce:
            raise
        except Exception as e:  # a process ended with an error, or was killed; join() stopped the others
            failure = e
    finally:
        del os.environ[_SPAWNED]
        for s, handler in previous.items():
            signal.signal(s, handler)
    results = [_result(queue) for queue in context.return_queues]
    if failure is not None:
        return _lost(context.processes, results, failure, pending)
    if results[0] is None:  # stopped at once by a second Ctrl-C, before it could return
        raise StoppedAtOnce(pending[-1] if pending else signal.SIGINT)
    return results[0]


def _result(queue):
    """A process's return value from its queue (spawn's SimpleQueue: a put is written before the process goes on),
    or None if it ended without returning."""
    return queue.get() if not queue.empty() else None


def _lost(processes, results, failure, pending):
    """The exit code of a run one of whose processes failed (`failure`: spawn's exception), after saying so in one
    line. What caused it comes first: a process killed from outside (the others then fail at their next
    all-reduce), then rank 0's own end (it said why, e.g. a refusal or a full disk: the others fail because it left).
    Anything else is a bug, and its traceback is printed."""
    if results[0] == 0:  # rank 0 returns 0 only after the last all-reduce and checkpoint: the run is complete
        print(f"warning: a training process ended badly after the run was complete ({str(failure).strip()[-200:]})",
              file=sys.stderr)
        return 0
    first = re.match(r"Process (\d+) terminated with signal (SIG\w+)", str(failure))  # the one join() saw end first
    if first and signal.Signals[first.group(2)] not in pending:
        killed = [(int(first.group(1)), signal.Signals[first.group(2)])]
    else:  # it failed because another left: the one killed, unless by join()'s own SIGTERM to the survivors
        killed = [(i, -p.exitcode) for i, p in enumerate(processes)
                  if p.exitcode is not None and p.exitcode < 0 and -p.exitcode not in (*pending, signal.SIGTERM)]
    if killed:
        i, signum = killed[0]
        raise ProcessLost(f"training process {i} of {len(processes)} was killed ({signal.Signals(signum).name})",
                          128 + signum)
    if results[0] is not None:  # rank 0 ended with its one line, and the others with it
        return results[0]
    if pending:  # stopped at once by a second Ctrl-C
        if "Traceback" in str(failure) and "KeyboardInterrupt" not in str(failure):  # a bug met while stopping
            print(failure, file=sys.stderr)
        raise StoppedAtOnce(pending[-1])
    print(failure, file=sys.stderr)
    return 1


_ready = None  # in a process that spawn started: the Event that tells the parent this process takes stop signals


def _rank_main(func, args, ready):
    """A spawned process, once Paddle and paddle_gan are loaded: leave the terminal's process group; Ctrl-C stays
    ignored (as the parent started it) until train()'s loop takes it over and says so (`taking_signals`)."""
    global _ready
    os.setpgrp()  # a process group of its own: the terminal's Ctrl-C goes to the parent, which passes it on
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: SIGTERM if the parent dies (Linux)
    except (OSError, AttributeError):
        pass
    # Until the loop: SIGTERM (the parent's death) ends this process quietly, not with Paddle's C++ "FatalError"
    # block. Stopping during start-up is left to the loop: one process stopped there would leave the others waiting
    # for it in init_parallel_env, which no signal interrupts.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _ready = ready[rank()]
    if rank() != 0:
        sys.stdout = sys.stderr = open(os.devnull, "w")
    return func(*args)


def taking_signals():
    """Called when the training loop takes over Ctrl-C and SIGTERM: the parent may pass them on now."""
    if _ready is not None:
        _ready.set()


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
    check_split(config["batch_size"], world_size())
    # The one place the two IRs differ: the legacy IR's collective ops on CPU talk through the gloo context
    # (gloo_init_parallel_env), PIR's through the process group that init_parallel_env sets up.
    if paddle.framework.use_pir_api():
        # Quietly: it prints a "Modified FLAGS detected" banner for a flag Paddle itself sets under PIR.
        with contextlib.redirect_stderr(io.StringIO()):
            dist.init_parallel_env()
    else:
        master = os.environ["PADDLE_TRAINER_ENDPOINTS"].split(",")[0]
        # Quietly too: while the other processes are still starting it writes "server not ready, wait 3 sec to
        # retry..." and the endpoints it waits for.
        with contextlib.redirect_stderr(io.StringIO()):
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
