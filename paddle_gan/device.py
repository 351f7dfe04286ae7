"""Where the Executor runs: CUDAPlace(gpu_id) when asked for (or available), CPUPlace otherwise."""
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
