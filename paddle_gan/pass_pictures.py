"""The pictures a run draws after every pass, into `{d}_samples/`:

  train_pass{N}.png   the pass's samples from the run's fixed picture noise (the toy's: its points over D's view)
  progress.gif        every pass's picture so far, a frame each
  loss.png            the losses so far
"""
import numpy as np

from . import plots, readers
from .d_view import d_map
from .generate import sample


def draw(exe, programs, scope, config, samples_dir, pass_id, history):
    """Draw pass `pass_id`'s pictures, the loss curve from `history` (loss_log.LossLog's). Returns the samples."""
    samples = sample(exe, programs, scope, readers.picture_noise(config), labels=readers.picture_labels(config))
    seen_by_d = None
    if config["dataset"] == "uniform":  # the v0 demo printed where the toy's points lie
        mean, std = samples.mean(axis=0), samples.std(axis=0)
        print(f"Pass {pass_id}: samples mean {np.round(mean.astype(float), 3).tolist()}, std "
              f"{np.round(std.astype(float), 3).tolist()} (U[0,1)^2: mean [0.5, 0.5], std [0.289, 0.289])", flush=True)
        seen_by_d = d_map(exe, programs, scope, config)
    plots.save_samples(samples, samples_dir / f"train_pass{pass_id}.png", f"pass {pass_id}", seen_by_d)
    frames = [samples_dir / f"train_pass{n}.png" for n in range(pass_id + 1)]
    plots.save_progress_animation([frame for frame in frames if frame.is_file()], samples_dir / "progress.gif")
    plots.save_loss_curve(history["iteration"], history["d_loss"], history["g_loss"], samples_dir / "loss.png")
    return samples
