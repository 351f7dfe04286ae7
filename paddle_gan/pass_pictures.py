"""The pictures a run draws after every pass, into `{d}_samples/`:

  train_pass{N}.png   the pass's samples from the run's fixed picture noise (a toy's: its samples over D's view)
  progress.gif        the passes' pictures so far, a frame each (at most MAX_FRAMES, evenly spread)
  loss.png            the losses so far, and D's outputs on the real and the fake batches
"""
import numpy as np

from . import plots, readers
from .config import gaussian_target
from .d_view import d_curve, d_map, d_outputs_from_losses
from .generate import sample

# The animation is written anew after every pass: with a frame for every pass, that would cost a long run of short
# passes more each pass (O(passes²) in all); 50 frames show the run's course as well.
MAX_FRAMES = 50


def draw(exe, programs, scope, config, samples_dir, pass_id, history):
    """Draw pass `pass_id`'s pictures, the loss curve from `history` (loss_log.LossLog's). Returns the pass's
    picture (an RGB array)."""
    samples = sample(exe, programs, scope, readers.picture_noise(config), labels=readers.picture_labels(config))
    seen_by_d = None
    if config["dataset"] == "uniform":
        print_where(pass_id, samples, "U[0,1)^2: mean [0.5, 0.5], std [0.289, 0.289]")
        seen_by_d = d_map(exe, programs, scope, config)
    elif config["dataset"] == "gaussian":
        print_where(pass_id, samples, "N({:g}, {:g})".format(*gaussian_target(config)))
        seen_by_d = d_curve(exe, programs, scope, config, samples)
    picture = plots.sample_picture(samples, f"pass {pass_id}", seen_by_d, gaussian_target(config))
    plots.save_picture(picture, samples_dir / f"train_pass{pass_id}.png")
    frames = [samples_dir / f"train_pass{n}.png" for n in animation_passes(pass_id)]
    plots.save_progress_animation([frame for frame in frames if frame.is_file()], samples_dir / "progress.gif")
    seen_in_losses = None
    if config["real_label"] == 1.0:  # what D says of the two batches, read back from its losses (label smoothing
        # would mix the two terms of d_real's loss)
        seen_in_losses = d_outputs_from_losses(history["d_pos_loss"], history["d_neg_loss"])
    plots.save_loss_curve(history["iteration"], history["d_loss"], history["g_loss"], samples_dir / "loss.png",
                          seen_in_losses)
    return picture


def print_where(pass_id, samples, target):
    """The line the v0 demo printed after each pass: where a toy's samples lie, beside where the real data lies."""
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    print(f"Pass {pass_id}: samples mean {np.round(mean.astype(float), 3).tolist()}, std "
          f"{np.round(std.astype(float), 3).tolist()} ({target})", flush=True)


def animation_passes(pass_id):
    """The passes progress.gif shows after pass `pass_id`: every one up to MAX_FRAMES, then MAX_FRAMES spread
    evenly from the first to the newest."""
    if pass_id < MAX_FRAMES:
        return list(range(pass_id + 1))
    return sorted({round(i * pass_id / (MAX_FRAMES - 1)) for i in range(MAX_FRAMES)})
