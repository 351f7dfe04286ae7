"""`--visualdl DIR`: training curves and sample pictures for VisualDL, Paddle's dashboard
(`visualdl --logdir DIR --language en`: without a language, VisualDL 2.5.3 answers HTTP 500 to browsers that prefer
any other than English or Chinese).

Logged: the four losses and D's mean outputs D(x), D(G(z)) every `log_every` iterations (step = iteration), and
each pass the learning rates and the fixed-noise sample picture (step = pass). VisualDL is an optional extra
(`pip install visualdl`, or `pip install -e .[vis]`): training without `--visualdl` never imports it.
"""
import math

import numpy as np

from .config import ConfigError
from .schedules import LOSS_NAMES


class VisualDLLog:
    """A VisualDL LogWriter with the tags of this trainer: loss/*, D/*, lr/*, samples."""

    def __init__(self, logdir):
        try:
            from visualdl import LogWriter
        except ImportError as e:
            raise ConfigError(f"--visualdl needs VisualDL ({e}): pip install visualdl, or pip install -e .[vis]") \
                from None
        self.writer = LogWriter(logdir=str(logdir))

    def iteration(self, step, loss, d_real, d_fake):
        """The losses (those computed this iteration) and D's mean outputs on the real and the fake batch."""
        for name in LOSS_NAMES:
            if not math.isnan(loss[name]):  # e.g. kstep computes only the loss of the network it trains
                self.writer.add_scalar(tag=f"loss/{name}", step=step, value=loss[name])
        self.writer.add_scalar(tag="D/D(x)", step=step, value=d_real)
        self.writer.add_scalar(tag="D/D(G(z))", step=step, value=d_fake)

    def pass_end(self, pass_id, learning_rates, picture):
        """Each network's learning rate and the pass's sample picture (an RGB array, pass_pictures.draw's)."""
        for net, lr in learning_rates.items():
            self.writer.add_scalar(tag=f"lr/{net}", step=pass_id, value=lr)
        self.writer.add_image(tag="samples", img=picture, step=pass_id)

    def close(self):
        self.writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def learning_rates(programs, scope):
    """{"G": rate, "D": rate}: what each Adam will use now (read from its state, so a --lr set on resume shows)."""
    return {net: float(np.array(scope.find_var(name).get_tensor()).item())
            for net, name in programs.learning_rates.items()}
