"""Where the Executor runs: CUDAPlace(gpu_id) when asked for (or available), CPUPlace otherwise; and what the
GPU path changes (gpu_path)."""
import paddle


class DeviceError(RuntimeError):
    """A GPU was asked for and cannot be used; the message says what to install or change."""


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


def gpu_path(config, place):
    """(noise_in_graph, fetch_every) for `config` on `place`; refuses --amp on CPU.

    With the config's "auto" values a CUDAPlace takes the GPU path: z drawn inside the programs (no feed) and losses
    fetched every GPU_FETCH_EVERY iterations, for the schedules that do not decide on losses (alternate, kstep). On
    a CPUPlace they change nothing measurable (PADDLE_NOTES.md), so the CPU run stays the tutorials' loop.
    """
    on_gpu = isinstance(place, paddle.CUDAPlace)
    if config["amp"] != "off" and not on_gpu:
        # Measured on CPU: Paddle 3.3 has no float16 matmul kernel, and bfloat16 training crashed (oneDNN).
        raise DeviceError(f"--amp {config['amp']} needs a GPU (Paddle's CPU kernels cannot train these networks in "
                          "float16 or bfloat16); use --amp off on CPU")
    gpu_default = on_gpu and config["schedule"] != "strike"
    source = config["noise_source"]
    noise_in_graph = source == "graph" or (source == "auto" and gpu_default)
    fetch_every = config["fetch_every"] or (GPU_FETCH_EVERY if gpu_default else 1)
    return noise_in_graph, fetch_every
