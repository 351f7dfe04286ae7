"""Where the Executor runs — CUDAPlace(gpu_id) when asked for (or available), CPUPlace otherwise — and the plan that
place gives the training loop (`plan`): where the noise comes from and when losses come back to the host."""
import argparse
from dataclasses import dataclass

import paddle

from . import parallel, readers
from .errors import UserError


class DeviceError(UserError):
    """A GPU was asked for and cannot be used; the message says what to install or change."""


def add_arguments(parser):
    """The flags every command shares for choosing the device: --use_gpu (also --useGpu, the v0 spelling), --gpu_id."""
    parser.add_argument("--use_gpu", "--useGpu", type=int, choices=(0, 1), default=None,
                        help="1: CUDAPlace, 0: CPUPlace (default: GPU when Paddle has CUDA and sees a device)")
    parser.add_argument("--gpu_id", type=_gpu_number, default=0, help="which GPU, with --use_gpu 1")


def _gpu_number(text):
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{number}: a GPU's number is 0 or more (nvidia-smi lists them)")
    return number


def place_from_args(args):
    """The place the flags of add_arguments ask for."""
    return make_place(None if args.use_gpu is None else bool(args.use_gpu), args.gpu_id)


def make_place(use_gpu=None, gpu_id=0):
    """CUDAPlace(gpu_id) if use_gpu (None: when this Paddle has CUDA and sees a device), else CPUPlace()."""
    compiled = paddle.is_compiled_with_cuda()
    devices = paddle.device.cuda.device_count() if compiled else 0
    if use_gpu is None:
        use_gpu = devices > 0
    if not use_gpu:
        return paddle.CPUPlace()
    if not compiled:
        raise DeviceError(f"--use_gpu 1 but Paddle {paddle.__version__} is a CPU-only build; install the CUDA "
                          "build (pip uninstall -y paddlepaddle && pip install paddlepaddle-gpu) or use --use_gpu 0")
    if devices == 0:
        raise DeviceError("--use_gpu 1 but Paddle sees no CUDA device; check nvidia-smi, the CUDA driver and "
                          "CUDA_VISIBLE_DEVICES, or use --use_gpu 0")
    if gpu_id < 0 or gpu_id >= devices:
        raise DeviceError(f"--gpu_id {gpu_id} but Paddle sees {devices} CUDA device(s); pick 0..{devices - 1} "
                          "or check CUDA_VISIBLE_DEVICES and nvidia-smi")
    return paddle.CUDAPlace(gpu_id)


# On a GPU, every loss brought to the host waits for the device to finish its queued work; one fetch in ten
# iterations keeps the loss log dense and the wait rare.
GPU_FETCH_EVERY = 10


@dataclass(frozen=True)
class Plan:
    """How the loop feeds and reads the programs on this place. On CPU: the tutorials' loop, noise fed from numpy and
    every loss fetched. On the GPU path: d_fake and g draw their noise themselves, and losses come back every
    `fetch_every` iterations, on the iterations the progress log prints, and at a pass's end (so the NaN guard has
    looked before the pass's checkpoint, which also checks the parameters)."""
    noise_in_graph: bool = False
    fetch_every: int = 1
    log_every: int = 100
    iters_per_pass: int = 1000

    def noise(self, noise_batches):
        """This iteration's noise batch for d_fake and g: its feeds, none when the programs draw it themselves."""
        return {} if self.noise_in_graph else next(noise_batches)

    def fetch_losses(self, batch_id):
        """Whether this iteration brings its losses back to the host."""
        return batch_id % self.fetch_every == 0 or batch_id % self.log_every == 0 or batch_id + 1 == self.iters_per_pass

    def seed_graph_noise(self, config, iteration):
        """Seed Paddle's generator, which draws the noise inside the programs, apart for each process and each start
        (a resumed run starts at `iteration`); nothing to do when the noise is fed."""
        if self.noise_in_graph:
            paddle.seed(readers.graph_noise_seed(config["seed"], parallel.rank(), iteration))


def plan(config, place):
    """The Plan for `config` on `place`; refuses --amp on CPU.

    With the config's "auto" values a CUDAPlace takes the GPU path (noise in the programs, losses every
    GPU_FETCH_EVERY iterations) for the schedules that do not decide on losses (alternate, kstep). On a CPUPlace the
    two make no measurable difference (docs/paddle_static_graph.md), so the CPU run stays the tutorials' loop.
    """
    on_gpu = isinstance(place, paddle.CUDAPlace)
    if config["amp"] != "off" and not on_gpu:
        # Measured on CPU: Paddle 3.3 has no float16 matmul kernel, and bfloat16 training crashed (oneDNN).
        raise DeviceError(f"--amp {config['amp']} needs a GPU (Paddle's CPU kernels cannot train these networks in "
                          "float16 or bfloat16); use --amp off on CPU")
    gpu_default = on_gpu and config["schedule"] != "strike"
    source = config["noise_source"]
    return Plan(noise_in_graph=source == "graph" or (source == "auto" and gpu_default),
                fetch_every=config["fetch_every"] or (GPU_FETCH_EVERY if gpu_default else 1),
                log_every=config["log_every"], iters_per_pass=config["iters_per_pass"])
