"""What each process runs in tests/test_distributed.py, under `python -m paddle.distributed.launch`.

    distributed_worker.py train OUT CLI-ARGS...  train as `python -m paddle_gan.train CLI-ARGS` would, into
                                                 OUT/rank{r}/, then dump every parameter to OUT/params-rank{r}.npz;
                                                 with NAN_ON_RANK=r in the environment, rank r's images are NaN
    distributed_worker.py step OUT               one d_real step of the uniform toy without batch norm in D, on
                                                 this rank's share of a fixed batch, then one d_fake step: D's
                                                 averaged gradients, D's parameters after d_real and G's first
                                                 batch-norm moving mean after d_fake to OUT/step-rank{r}.npz

Run without the launcher, `step` is the single process on the whole batch that the test compares with.
The dumps are test-only: paddle_gan's ranks other than 0 write nothing.
"""
import os
import sys
from pathlib import Path

import paddle_gan  # noqa: F401,I001  first: it sets Paddle's environment before Paddle loads

import numpy as np
import paddle

from paddle_gan import checkpoint, nets, parallel, readers
from paddle_gan.programs import build_programs, get_params
from paddle_gan.errors import Diverged, Interrupted
from paddle_gan.train import config_from_args, parse_args, train

STEP_BATCH = 16


def dump(path, scope, names):
    np.savez(path, **{name: np.array(scope.find_var(name).get_tensor()) for name in names})


def train_and_dump(out, argv):
    args = parse_args([*argv, "--output_dir", str(out / f"rank{parallel.rank()}")])
    config, resume = config_from_args(args)
    if os.environ.get("NAN_ON_RANK") == str(parallel.rank()):  # this rank's images turn NaN
        mnist = readers.mnist
        readers.mnist = lambda *args: (mnist(*args)[0] * np.float32("nan"), mnist(*args)[1])
    try:
        _, programs, scope = train(config, args.output_dir, paddle.CPUPlace(), resume)
    except Interrupted as e:
        print(e, file=sys.stderr)
        return 128 + e.signum
    except Diverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    dump(out / f"params-rank{parallel.rank()}.npz", scope, checkpoint.persistable_names(programs)[0])
    return 0


def step(out):
    config, _ = config_from_args(parse_args(["-d", "uniform", "-o", "d_batch_norm=false", "--batch_size",
                                             str(STEP_BATCH), "--seed", "3"]))
    parallel.connect(config, paddle.CPUPlace())
    paddle.enable_static()
    paddle.seed(config["seed"])
    programs = build_programs(config)
    # D's gradients on the real batch, averaged as the d_real program averages them.
    grads_program = paddle.static.Program()
    with paddle.static.program_guard(grads_program, paddle.static.Program()):
        img = paddle.static.data("img", [None, 2], "float32")
        logit = nets.discriminator(config, img, training=True)
        loss = paddle.nn.functional.binary_cross_entropy_with_logits(logit, paddle.ones_like(logit))
        params_grads = paddle.static.append_backward(loss, parameter_list=get_params(grads_program, "D."))
        names = [param.name for param, _ in params_grads]
        grads = [grad for _, grad in parallel.average_gradients(params_grads, grads_program)]
    scope, exe = paddle.static.Scope(), paddle.static.Executor(paddle.CPUPlace())
    exe.run(programs.startup, scope=scope)
    batch = np.random.default_rng(0).random((STEP_BATCH, 2), dtype=np.float32)
    rows = STEP_BATCH // parallel.world_size()
    mine = batch[parallel.rank() * rows:(parallel.rank() + 1) * rows]
    grad_values = exe.run(grads_program, feed={"img": mine}, fetch_list=grads, scope=scope)
    exe.run(programs.d_real, feed={"img": mine}, fetch_list=programs.fetch["d_real"], scope=scope)
    after = {name: np.array(scope.find_var(name).get_tensor()) for name in names}
    # G's first batch norm sees the same inputs however the batch is split: its moving mean, averaged over the
    # ranks, is the whole batch's (its variance is not: each rank's misses the spread between the shares).
    z = np.random.default_rng(1).standard_normal((STEP_BATCH, config["noise_dim"]), dtype=np.float32)
    exe.run(programs.d_fake, feed={"z": z[parallel.rank() * rows:(parallel.rank() + 1) * rows]},
            fetch_list=programs.fetch["d_fake"], scope=scope)
    moving_mean = np.array(scope.find_var("G.gen_layer_hidden_bn_mean").get_tensor())
    np.savez(out / f"step-rank{parallel.rank()}.npz", **{f"grad:{n}": g for n, g in zip(names, grad_values)},
             **{f"param:{n}": v for n, v in after.items()}, moving_mean=moving_mean)
    return 0


if __name__ == "__main__":
    mode, out = sys.argv[1], Path(sys.argv[2])
    print(f"rank {parallel.rank()} of {parallel.world_size()}, pid {os.getpid()}", flush=True)
    (out / f"pid-rank{parallel.rank()}").write_text(str(os.getpid()))
    sys.exit(train_and_dump(out, sys.argv[3:]) if mode == "train" else step(out))
