"""Two processes train as one (parallel.py): real 2-rank CPU runs under `python -m paddle.distributed.launch`, each
rank running tests/distributed_worker.py."""
import os
import pickle
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import paddle
import pytest
from conftest import tiny_config, uninterrupted_run, write_labelled, write_mnist

from paddle_gan import checkpoint, parallel, readers
from paddle_gan.programs import build_programs
from paddle_gan.train import train

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "distributed_worker.py"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def launch_command(out, *args):
    return [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
            str(out / "log"), str(WORKER), *args]


def launch(out, *args, env=ENV, returncode=0):
    """Run the worker on 2 ranks; a deadlock fails the test at the timeout instead of hanging it."""
    result = subprocess.run(launch_command(out, *args), cwd=out, env=env, capture_output=True, text=True, timeout=180)
    assert (result.returncode == 0) == (returncode == 0), worker_logs(out)
    return result


def worker_logs(out):
    return "\n".join(f"--- rank {r}\n" + (out / "log" / f"workerlog.{r}").read_text()[-3000:] for r in (0, 1))


def progress_lines(out, rank):
    """The progress lines of one rank's log, without their timings."""
    text = (out / "log" / f"workerlog.{rank}").read_text()
    return [re.sub(r" \(.*s/iter\)", "", line) for line in text.splitlines() if line.startswith("Pass ")]


@pytest.mark.slow
@pytest.mark.legacy_ir
def test_one_process_and_two_end_with_the_same_weights_with_the_summed_d_step(tmp_path):
    """Without batch norm (which normalises each process's share by itself) two processes train exactly what one
    does, to float rounding: the basic MLP GAN, whose D iteration is one Adam step on d_fake's and d_real's summed
    gradients, each averaged over the processes."""
    write_mnist(tmp_path / "data", n=64)
    args = ["-d", "mnist", "--conf", str(ROOT / "conf" / "mnist_mlp.toml"), "-o", f"data_dir={tmp_path / 'data'}",
            "--batch_size", "8", "--iters_per_pass", "3", "--num_passes", "2", "--seed", "7", "--lr", "1e-3"]
    weights = {}
    for nproc in (1, 2):
        run = cli(*args, "--nproc", str(nproc), "--output_dir", f"p{nproc}", cwd=tmp_path)
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        for pass_id in (0, 1):
            path = tmp_path / f"p{nproc}" / "mnist_mlp_params" / f"pass-0000{pass_id}" / checkpoint.PARAMS_FILE
            with open(path, "rb") as f:
                weights[nproc, pass_id] = pickle.load(f)
    assert weights[1, 1].keys() == weights[2, 1].keys() and any(k.startswith("D.") for k in weights[1, 1])
    for name in weights[1, 1]:
        assert not np.array_equal(weights[1, 0][name], weights[1, 1][name]), name  # the second pass moved it
        apart = np.abs(weights[2, 1][name] - weights[1, 1][name])
        # Rounding: summed in another order, a gradient differs in its last bits; Adam divides by the gradient's
        # own size, so where that is near 0 it can grow to a part of one step (lr 1e-3). Nearly all are equal.
        assert apart.max() < 1e-4 and np.mean(apart < 1e-6) > 0.999, (name, apart.max(), np.mean(apart < 1e-6))


def mnist_args(data_dir, num_passes):
    return ["-d", "mnist", "-o", f"data_dir={data_dir}", "--batch_size", "8", "--iters_per_pass", "3",
            "--num_passes", str(num_passes), "--schedule", "strike", "--seed", "7", "-o", "log_every=1"]


def cgan_args(data_dir, num_passes):
    """mnist_args of a conditional run: labels in the real batches, the noise batches and the strike losses."""
    return [*mnist_args(data_dir, num_passes), "-o", "conditional=true"]


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory):
    """2 passes of 3 iterations of the conditional MNIST DCGAN (batch norm in G and D) with the strike schedule, on
    2 ranks."""
    out = tmp_path_factory.mktemp("dp")
    write_labelled(out / "data")
    launch(out, "train", str(out), *cgan_args(out / "data", 2))
    return out


@pytest.mark.slow
@pytest.mark.legacy_ir
def test_two_ranks_end_with_the_same_parameters_and_only_rank_0_writes(two_rank_run):
    out = two_rank_run
    ranks = [np.load(out / f"params-rank{r}.npz") for r in (0, 1)]
    assert sorted(ranks[0]) == sorted(ranks[1])
    assert any(name.endswith("_mean") for name in ranks[0])  # the batch-norm statistics are compared too
    for name in ranks[0]:
        assert np.array_equal(ranks[0][name], ranks[1][name]), name

    # The parameters moved from where the startup program put them.
    config = tiny_config("mnist", data_dir=str(out / "data"), conditional=True)
    paddle.seed(config["seed"])
    programs = build_programs(config)
    scope, exe = paddle.static.Scope(), paddle.static.Executor(paddle.CPUPlace())
    exe.run(programs.startup, scope=scope)
    for prefix in ("G.", "D."):
        assert any(not np.array_equal(np.array(scope.find_var(n).get_tensor()), ranks[0][n])
                   for n in ranks[0] if n.startswith(prefix)), prefix

    # Rank 0 wrote what a single process writes; rank 1 wrote nothing.
    rank0 = out / "rank0"
    assert len((rank0 / "mnist_samples" / "losses.csv").read_text().splitlines()) == 1 + 6
    assert (rank0 / "mnist_samples" / "train_pass1.png").is_file()
    assert [p.name for p in checkpoint.list_checkpoints(rank0 / "mnist_params")] == ["pass-00000", "pass-00001"]
    assert not (out / "rank1").exists()
    # Both ranks logged the same (averaged) losses and trained the same network at every iteration: the strike
    # schedule decided alike (and did not deadlock, or launch would have timed out).
    assert progress_lines(out, 0) == progress_lines(out, 1) != []


@pytest.mark.slow
def test_two_rank_run_resumes_exactly(two_rank_run, tmp_path):
    launch(tmp_path, "train", str(tmp_path), *cgan_args(two_rank_run / "data", 1))
    first_pass = tmp_path / "rank0" / "mnist_params" / "pass-00000"
    launch(tmp_path, "train", str(tmp_path), *cgan_args(two_rank_run / "data", 2), "--resume", str(first_pass))
    straight, resumed = two_rank_run / "rank0", tmp_path / "rank0"
    assert (straight / "mnist_samples" / "losses.csv").read_text() == \
        (resumed / "mnist_samples" / "losses.csv").read_text()
    for a, b in ((np.load(two_rank_run / f"params-rank{r}.npz"), np.load(tmp_path / f"params-rank{r}.npz"))
                 for r in (0, 1)):
        assert all(np.array_equal(a[name], b[name]) for name in a)

    # The checkpoint does not depend on the number of processes: one process continues it too.
    config = tiny_config("mnist", data_dir=str(two_rank_run / "data"), num_passes=2, schedule="strike",
                         conditional=True)
    train(config, tmp_path / "rank0", paddle.CPUPlace(), resume=first_pass)
    assert len((tmp_path / "rank0" / "mnist_samples" / "losses.csv").read_text().splitlines()) == 1 + 6


@pytest.mark.slow
def test_nan_images_on_one_rank_stop_both_alike(tmp_path):
    write_mnist(tmp_path / "data", n=64)
    launch(tmp_path, "train", str(tmp_path), *mnist_args(tmp_path / "data", 1), "--schedule", "alternate",
           env={**ENV, "NAN_ON_RANK": "1"}, returncode=3)
    # The ReLUs turn NaN activations into 0, so the losses may stay finite while D's weights do not: then the
    # check before the checkpoint stops the run, on rank 0 and on rank 1 alike.
    errors = [[line.replace("/rank1/", "/rank0/") for line in (tmp_path / "log" / f"workerlog.{r}").read_text()
               .splitlines() if line.startswith("error: ")] for r in (0, 1)]
    assert errors[0] == errors[1] and len(errors[0]) == 1, worker_logs(tmp_path)
    assert "training diverged" in errors[0][0]
    assert not (tmp_path / "rank0" / "mnist_params" / "pass-00000").exists()


@pytest.mark.slow
@pytest.mark.legacy_ir
def test_averaged_gradient_is_the_whole_batch_gradient(tmp_path):
    """Without batch norm in D, d_real on two halves of a batch is d_real on the whole batch in one process; and
    the averaged moving mean of a batch norm is the whole batch's."""
    launch(tmp_path, "step", str(tmp_path))
    (tmp_path / "single").mkdir()
    subprocess.run([sys.executable, str(WORKER), "step", str(tmp_path / "single")], cwd=tmp_path, env=ENV,
                   check=True, capture_output=True, timeout=120)
    ranks = [np.load(tmp_path / f"step-rank{r}.npz") for r in (0, 1)]
    single = np.load(tmp_path / "single" / "step-rank0.npz")
    assert sorted(single) == sorted(ranks[0]) and any(k.startswith("grad:") for k in single)
    for key in single:
        assert np.array_equal(ranks[0][key], ranks[1][key]), key
        np.testing.assert_allclose(ranks[0][key], single[key], rtol=1e-5, atol=1e-7, err_msg=key)


@pytest.mark.serial
@pytest.mark.slow
def test_a_signal_to_one_rank_stops_both_at_the_same_iteration(tmp_path):
    args = ["-d", "uniform", "--batch_size", "16", "--iters_per_pass", "100000", "-o", "log_every=100",
            "-o", "num_samples=1000"]
    launcher = subprocess.Popen(launch_command(tmp_path, "train", str(tmp_path), *args), cwd=tmp_path, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        log = tmp_path / "log" / "workerlog.1"
        while not (log.is_file() and "Pass 0, Batch 200" in log.read_text()):
            assert time.time() < deadline and launcher.poll() is None, worker_logs(tmp_path)
            time.sleep(0.5)
        os.kill(int((tmp_path / "pid-rank1").read_text()), signal.SIGTERM)  # rank 1 only
        launcher.wait(timeout=120)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    stopped = [re.search(r"stopped in pass 0 after (\d+) batches", (tmp_path / "log" / f"workerlog.{r}").read_text())
               for r in (0, 1)]
    assert all(stopped), worker_logs(tmp_path)
    assert stopped[0][1] == stopped[1][1]
    [partial] = checkpoint.list_checkpoints(tmp_path / "rank0" / "uniform_params")
    assert partial.name == f"pass-00000-batch-{int(stopped[0][1]):05d}"
    assert not (tmp_path / "rank1").exists()


def test_rank_share_splits_every_batch_and_keeps_the_whole_streams_state(monkeypatch):
    data = np.arange(40, dtype=np.float32).reshape(20, 2)
    labels = np.arange(20)
    whole = readers.ShuffledBatches({"img": data, "img_label": labels}, 8, seed=1)
    expected = [next(whole) for _ in range(3)]
    monkeypatch.setenv("PADDLE_TRAINERS_NUM", "2")
    shares = []
    for r in (0, 1):
        monkeypatch.setenv("PADDLE_TRAINER_ID", str(r))
        stream = parallel.share(readers.ShuffledBatches({"img": data, "img_label": labels}, 8, seed=1))
        shares.append([next(stream) for _ in range(3)])
        assert stream.state() == whole.state()
    for i, batch in enumerate(expected):
        for name in ("img", "img_label"):  # every feed split alike: labels stay with their images
            np.testing.assert_array_equal(np.concatenate([shares[0][i][name], shares[1][i][name]]), batch[name])


def test_a_batch_that_does_not_split_is_refused(tmp_path):
    env = {**ENV, "PADDLE_TRAINERS_NUM": "2", "PADDLE_TRAINER_ID": "0"}
    result = subprocess.run([sys.executable, "-m", "paddle_gan.train", "-d", "uniform", "--batch_size", "15"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: batch_size 15 does not split over 2 processes; choose a batch that is "
                                     "a multiple of 2 (it is the global batch, shared out evenly), or another --nproc")


# ---- processes started by `python -m paddle_gan.train` itself (paddle.distributed.spawn) ---------------------------

def cli(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "paddle_gan.train", *args], cwd=cwd, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_the_default_is_one_process_per_core_with_16_rows_each(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    cpu = paddle.CPUPlace()
    assert [parallel.processes(tiny_config("mnist", batch_size=b), cpu) for b in (32, 64, 24, 8)] == [2, 2, 1, 1]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert parallel.processes(tiny_config("mnist", batch_size=96), cpu) == 6  # 8 would leave 12 rows; 7 no share
    assert parallel.processes(tiny_config("mnist", batch_size=32, nproc=4), cpu) == 4  # asked for: as asked
    with pytest.raises(parallel.ParallelError, match="batch_size 32 does not split over 3 processes"):
        parallel.processes(tiny_config("mnist", batch_size=32, nproc=3), cpu)  # before any process starts
    assert parallel.processes(tiny_config("uniform"), cpu) == 1  # conf/uniform.toml: one process
    monkeypatch.setenv("PADDLE_TRAINERS_NUM", "2")  # a launcher started the processes already
    assert parallel.processes(tiny_config("mnist", batch_size=32), cpu) == 1


@pytest.mark.slow
def test_a_spawned_run_trains_as_the_launched_one_and_only_rank_0_prints(two_rank_run, tmp_path):
    run = cli(*cgan_args(two_rank_run / "data", 2), "--nproc", "2", "--output_dir", "spawned", cwd=tmp_path)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert out.startswith("training in 2 processes")
    assert out.count("Pass 1, Batch 2:") == 1  # rank 1 is silent
    spawned = tmp_path / "spawned"
    assert (spawned / "mnist_samples" / "losses.csv").read_text() == \
        (two_rank_run / "rank0" / "mnist_samples" / "losses.csv").read_text()
    launched = np.load(two_rank_run / "params-rank0.npz")
    with open(spawned / "mnist_params" / "pass-00001" / checkpoint.PARAMS_FILE, "rb") as f:
        saved = pickle.load(f)
    assert saved.keys() == set(launched.keys())
    assert all(np.array_equal(saved[name], launched[name]) for name in saved)


@pytest.mark.slow
def test_nproc_1_is_the_single_process_run(tmp_path):
    write_mnist(tmp_path / "data", n=64)
    run = cli(*mnist_args(tmp_path / "data", 1), "--nproc", "1", "--output_dir", "cli", cwd=tmp_path)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0 and out.startswith("training in 1 process"), err
    config = tiny_config("mnist", data_dir=str(tmp_path / "data"), num_passes=1, schedule="strike")
    train(config, tmp_path / "direct", paddle.CPUPlace())
    name = Path("mnist_params") / "pass-00000" / checkpoint.PARAMS_FILE
    cli_run, direct = (pickle.loads((tmp_path / run / name).read_bytes()) for run in ("cli", "direct"))
    assert cli_run.keys() == direct.keys()
    # The same programs, data and noise: equal but for the last bits, which once differed in one byte of the file
    # on a machine loaded with other runs (another order of a multi-threaded sum); another run would differ far more.
    for key in direct:
        np.testing.assert_allclose(cli_run[key], direct[key], rtol=1e-5, atol=1e-7, err_msg=key)


SIGNAL_RUN = ("-d", "uniform", "--nproc", "2", "--num_passes", "2", "--iters_per_pass", "300", "--batch_size", "16",
              "-o", "log_every=50", "-o", "num_samples=1000")


@pytest.fixture(scope="module")
def straight_spawned_run(tmp_path_factory):
    """SIGNAL_RUN from start to end: what the stopped and resumed run must equal."""
    return uninterrupted_run(cli, SIGNAL_RUN, tmp_path_factory)


# Ctrl-C only: SIGTERM takes the same path (parallel.spawn forwards both with one handler), and test_resume.py
# checks SIGTERM's checkpoint and exit code in one process.
@pytest.mark.serial
@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130)])
def test_ctrl_c_to_a_spawned_run_checkpoints_once_and_its_resume_completes_the_same_run(tmp_path, signum, code,
                                                                                         straight_spawned_run):
    stopped = cli(*SIGNAL_RUN, "--output_dir", "stopped", cwd=tmp_path)
    for line in stopped.stdout:  # wait until it is well into the first pass
        if line.startswith("Pass 0, Batch 100"):
            break
    stopped.send_signal(signum)  # to the process the user started: it passes the signal on, once
    out, err = stopped.communicate(timeout=120)
    assert stopped.returncode == code, err
    command = err.strip().splitlines()[-1].split("continue with: ")[1]
    assert command.endswith(" -m paddle_gan.train -d uniform --output_dir stopped --resume")
    [partial] = checkpoint.list_checkpoints(tmp_path / "stopped" / "uniform_params")
    assert partial.name.startswith("pass-00000-batch-")

    resumed = subprocess.Popen(shlex.split(command), cwd=tmp_path, env=ENV, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)  # exactly as printed
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    for name in ("model.pdparams", "optimizer.pdopt"):
        path = Path("uniform_params") / "pass-00001" / name
        assert (straight_spawned_run / path).read_bytes() == (tmp_path / "stopped" / path).read_bytes()
    assert (straight_spawned_run / "uniform_samples" / "losses.csv").read_text() == \
        (tmp_path / "stopped" / "uniform_samples" / "losses.csv").read_text()
