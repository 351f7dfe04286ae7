"""A weight-averaged generator: G_ema, an exponential moving average of G's weights, which draws every sample once
the config's `ema_decay` is above 0. Averaging the weights over the last steps smooths out the oscillation that a
GAN's two players keep up under a constant learning rate, and gives cleaner samples than G itself at any moment.

The g program, after Adam's update of G, also does:

    decay    = min(ema_decay, (1 + n) / (10 + n))      n: the averaging steps so far (TensorFlow's warm-up: the
                                                       first steps average over few steps, not over the random start)
    G_ema.x  = decay * G_ema.x + (1 - decay) * G.x     for every weight, bias and batch-norm scale and shift of G

Batch norm's moving statistics are not averaged: they belong to the weights that produce the activations. G_ema
keeps statistics of its own activations instead: the g program runs G_ema forward in training mode on the first
STATISTICS_ROWS rows of the g step's noise, and its batch-norm layers move their mean and variance toward those
rows' by 1 - STATISTICS_MOMENTUM, so that they stand for about 800 samples of the last hundred steps. G_ema's
weights move over about 1 / (1 - ema_decay) steps, so a hundred steps' statistics are its own. (The whole batch
would cost a tenth of an iteration; eight rows cost a fiftieth: benchmarks/RESULTS.md.) The infer program then uses
them in eval mode, as it used G's.
"""
import paddle
from paddle.nn.initializer import Constant

from . import nets

NET = "G_ema"
UPDATES = f"{NET}.updates"  # how many averaging steps were taken: saved with the checkpoint, for the warm-up
WARMUP = 10
STATISTICS_ROWS = 8
STATISTICS_MOMENTUM = 0.99


def keep_statistics(config, z, label=None):
    """In the g program being built: G_ema's forward pass on the first rows of noise `z` (and classes `label`, in a
    conditional run), which declares G_ema and moves its batch-norm statistics (with the weights of before this
    step's averaging: no matter over 100 steps)."""
    label = None if label is None else label[:STATISTICS_ROWS]
    nets.generator(config, z[:STATISTICS_ROWS], training=True, net=NET, bn_momentum=STATISTICS_MOMENTUM, label=label)


def average_weights(config, program):
    """Append to `program` (the g program, being built, after keep_statistics and G's update) the averaging of G's
    weights into G_ema's."""
    params = {p.name: p for p in program.global_block().all_parameters()}
    # A parameter that takes no gradient, as batch norm's statistics are (create_global_var fails under PIR).
    updates = paddle.static.create_parameter([1], "float32", UPDATES, default_initializer=Constant(0.0))
    updates.stop_gradient = True
    decay = paddle.minimum(paddle.full([1], config["ema_decay"], "float32"), (1 + updates) / (WARMUP + updates))
    for name, averaged in params.items():
        if name.startswith(NET + ".") and not averaged.stop_gradient and name != UPDATES:  # not the statistics
            current = params["G." + name[len(NET) + 1:]]
            paddle.assign(decay * averaged + (1 - decay) * current, output=averaged)
    paddle.assign(updates + 1, output=updates)


def generator_name(config):
    """Which generator draws the samples: "G_ema" when the config averages, else "G"."""
    return NET if config["ema_decay"] > 0 else "G"
