"""Data parallelism over processes: N copies of the training loop, each on its share of every batch.

    python -m paddle.distributed.launch --nproc_per_node 2 python -m paddle_gan.train -d mnist

(The launcher runs a script path or a command, not `-m module`: `paddle_gan/train.py` as a path would break the
package's relative imports, so the command it runs is `python -m paddle_gan.train`.) The launcher starts the
processes and tells each its rank and the world size in PADDLE_TRAINER_ID and PADDLE_TRAINERS_NUM; without it
there is one process and nothing here changes anything.

How the processes stay one training run:
- The same seeds everywhere, so the startup program gives every rank the same initial parameters.
- `batch_size` is the global batch. Every rank draws the whole batch from the same seeded streams and keeps its
  own rows (`RankShare`), so together the ranks see exactly the batches one process would, and a checkpoint's stream
  state means the same whatever the number of processes.
- Each training program sums its gradients over the ranks and divides by the world size before Adam applies
  them (`average_gradients`), so every rank takes the same step: the step of the whole batch.
- Batch norm normalises each rank's share with that share's statistics (plain data parallelism, not synchronised
  batch norm). The moving statistics each rank writes are averaged at the end of every program that writes them
  (`average_statistics`): the mean is then the whole batch's; the variance misses the spread between the
  shares' means.
- Whatever the driver decides from a value must get one answer on every rank, or the ranks run different
  programs and wait for each other for ever: losses are averaged (the strike schedule decides on them, the NaN
  guard stops every rank at once) and a stop signal, which may reach the ranks at different iterations, is
  agreed on (`agree`).
- Rank 0 alone writes samples, logs and checkpoints.
"""
import os

import numpy as np
import paddle
import paddle.distributed as dist

from .errors import UserError


class ParallelError(UserError):
    """A setting that cannot be split over the processes; the message says what to change."""


def world_size():
    """How many processes train together (1 without the launcher)."""
    return int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))


def rank():
    """This process's number, 0 to world_size() - 1; rank 0 writes the outputs."""
    return int(os.environ.get("PADDLE_TRAINER_ID", "0"))


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
        batch = next(self.stream)
        rows = len(batch) // world_size()
        return batch[rank() * rows:(rank() + 1) * rows]

    def state(self):
        return self.stream.state()

    def restore(self, state):
        self.stream.restore(state)


def average_gradients(params_grads):
    """In a program being built: each (parameter, gradient) with the gradient averaged over the processes."""
    if world_size() == 1:
        return params_grads
    averaged = []
    for param, grad in params_grads:
        dist.all_reduce(grad)  # sums in place
        averaged.append((param, grad / world_size()))
    return averaged


def average_statistics(program):
    """Append to `program` (being built) the averaging over the processes of the batch-norm moving statistics it
    writes: its parameters that take no gradient."""
    if world_size() == 1:
        return
    for stat in program.global_block().all_parameters():
        if stat.stop_gradient:
            dist.all_reduce(stat)
            paddle.assign(stat / world_size(), output=stat)


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
