"""What D thinks, read from the losses program (batch norm in eval mode, nothing trained): its mean outputs on a
real and a noise batch (the dashboard's D(x) and D(G(z)), the notebook's), and its opinion over the 2-D toy's plane
(the background of the toy's pictures)."""
import numpy as np

from . import plots, readers

D_MAP_SIZE = 101  # points a side of the grid the toy's picture shows D's view on


def d_outputs(exe, programs, scope, real, noise):
    """D's mean probabilities (D(x), D(G(z))) on a real batch and a noise batch (their feeds)."""
    return [float(v) for v in exe.run(programs.losses, feed={**real, **noise},
                                      fetch_list=programs.fetch["d_outputs"], scope=scope)]


def d_map(exe, programs, scope, config):
    """D's probability that a point is real on a D_MAP_SIZE x D_MAP_SIZE grid over the toy's plotted area (row:
    y, column: x)."""
    axis = np.linspace(*plots.SCATTER_LIMITS, D_MAP_SIZE, dtype=np.float32)
    x, y = np.meshgrid(axis, axis)
    points = np.stack([x.ravel(), y.ravel()], axis=1)
    z = readers.noise(config, len(points), seed=0)  # G's half of the program, unused here: it needs its feed
    probs = exe.run(programs.losses, feed={"img": points, "z": z}, fetch_list=programs.fetch["d_of_each"],
                    scope=scope)[0]
    return np.asarray(probs).reshape(D_MAP_SIZE, D_MAP_SIZE)
