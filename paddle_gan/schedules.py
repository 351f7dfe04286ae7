"""Who trains next. Each iteration the driver reads one real batch and one noise batch and asks the schedule which
programs to run on them, in order.

  strike     the v0 demo: train whichever network has the larger loss (forward passes on this iteration's
             batch), never more than `max_strike` times in a row; ties go to G
  alternate  the fluid chapter: d_fake, d_real, g every iteration
  kstep      the textbook loop: k iterations training D, then n iterations training G (fresh data each step)

A schedule's `state()` goes into every checkpoint, so a resumed run trains the same networks in the same order.
"""

D_STEP = ("d_fake", "d_real")  # the v0 demo trained D on the fake batch, then the real one
G_STEP = ("g",)

# The losses an iteration reports, in the v0 demo's words: d_real's (d_pos_loss), d_fake's (d_neg_loss), their mean
# (d_loss) and g's (g_loss); the log's columns and the progress line show them in this order.
LOSS_NAMES = ("d_pos_loss", "d_neg_loss", "d_loss", "g_loss")
LOSS_OF_PROGRAM = {"d_real": "d_pos_loss", "d_fake": "d_neg_loss", "g": "g_loss"}


class Strike:
    """The v0 rule: 选择训练那个损失函数更大的网络，同时限制不去连续训练一个网络太多次."""
    needs_losses = True

    def __init__(self, max_strike=5):
        self.max_strike = max_strike
        self.current = None  # "D" or "G": the network trained last
        self.strike = 0      # how many times in a row it was trained

    def steps(self, d_loss, g_loss):
        """Programs to run, given this batch's D loss ((pos + neg) / 2) and G loss."""
        capped = self.strike >= self.max_strike
        if self.current == "D" and capped:
            choice = "G"
        elif self.current == "G" and capped:
            choice = "D"
        else:
            choice = "D" if d_loss > g_loss else "G"
        self.strike = self.strike + 1 if choice == self.current else 1
        self.current = choice
        return D_STEP if choice == "D" else G_STEP

    def state(self):
        return {"current": self.current, "strike": self.strike}

    def restore(self, state):
        self.current, self.strike = state["current"], state["strike"]


class Alternate:
    """The fluid chapter's loop: every iteration one D step on fake, one on real, one G step."""
    needs_losses = False

    def steps(self, d_loss=None, g_loss=None):
        return D_STEP + G_STEP

    def state(self):
        return {}

    def restore(self, state):
        pass


class KStep:
    """Goodfellow et al.'s loop: `d_steps` iterations of D, then `g_steps` iterations of G, over and over."""
    needs_losses = False

    def __init__(self, d_steps=1, g_steps=1):
        self.d_steps, self.g_steps = d_steps, g_steps
        self.position = 0  # where in the cycle of d_steps + g_steps iterations we are

    def steps(self, d_loss=None, g_loss=None):
        in_d_phase = self.position < self.d_steps
        self.position = (self.position + 1) % (self.d_steps + self.g_steps)
        return D_STEP if in_d_phase else G_STEP

    def state(self):
        return {"position": self.position}

    def restore(self, state):
        self.position = state["position"]


def make_schedule(config):
    """The schedule named by config["schedule"]."""
    name = config["schedule"]
    if name == "strike":
        return Strike(config["max_strike"])
    if name == "alternate":
        return Alternate()
    return KStep(config["d_steps"], config["g_steps"])
