"""What D thinks, read from the losses program (batch norm in eval mode, nothing trained): its mean outputs on a
real and a noise batch (the dashboard's D(x) and D(G(z)), the notebook's), and its opinion over a toy's space (the
2-D toy's plane, the 1-D toy's line), which its pictures draw under G's samples."""
import numpy as np

from . import plots, readers
from .config import gaussian_target

D_MAP_SIZE = 101  # points a side of the grid the 2-D toy's picture shows D's view on


def d_outputs(exe, programs, scope, real, noise):
    """D's mean probabilities (D(x), D(G(z))) on a real batch and a noise batch (their feeds)."""
    return [float(v) for v in exe.run(programs.losses, feed={**real, **noise},
                                      fetch_list=programs.fetch["d_outputs"], scope=scope)]


def d_outputs_from_losses(d_pos_loss, d_neg_loss):
    """D(x) and D(G(z)) read back from d_real's and d_fake's losses: a batch's mean cross-entropy against target 1
    is -mean(log D(x)), so exp(-d_pos_loss) is the geometric mean of D(x) over the batch; against target 0 it is
    -mean(log(1 - D(G(z)))), so 1 - exp(-d_neg_loss) is 1 - the geometric mean of 1 - D(G(z)). Only for d_real's
    target of 1 (no label smoothing). Costs nothing: no extra run of D."""
    return np.exp(-np.asarray(d_pos_loss, np.float64)), 1.0 - np.exp(-np.asarray(d_neg_loss, np.float64))


def d_of_each(exe, programs, scope, config, points):
    """D's probability that each of `points` (rows of samples) is real."""
    z = readers.noise(config, len(points), seed=0)  # G's half of the program, unused here: it needs its feed
    probs = exe.run(programs.losses, feed={"img": np.asarray(points, np.float32), "z": z},
                    fetch_list=programs.fetch["d_of_each"], scope=scope)[0]
    return np.asarray(probs).ravel()


def d_map(exe, programs, scope, config):
    """D's probability that a point is real on a D_MAP_SIZE x D_MAP_SIZE grid over the 2-D toy's plotted area
    (row: y, column: x)."""
    axis = np.linspace(*plots.SCATTER_LIMITS, D_MAP_SIZE, dtype=np.float32)
    x, y = np.meshgrid(axis, axis)
    points = np.stack([x.ravel(), y.ravel()], axis=1)
    return d_of_each(exe, programs, scope, config, points).reshape(D_MAP_SIZE, D_MAP_SIZE)


def d_curve(exe, programs, scope, config, numbers):
    """(x, D(x)) along the 1-D toy's plotted axis (plots.density_axis of G's `numbers`)."""
    x = plots.density_axis(numbers, gaussian_target(config))
    return x, d_of_each(exe, programs, scope, config, x[:, None])
