"""The four static programs of the fluid chapter — d_real, d_fake, g, infer — on one shared startup program.

  d_real   real batch -> D -> loss against 1; Adam over D's parameters
  d_fake   noise -> G -> D -> loss against 0; Adam over D's parameters (G is not updated)
  g        noise -> G -> D -> loss against 1; Adam over G's parameters (D is not updated); with `ema_decay` > 0
           it then averages G's weights into G_ema (ema.py)
  infer    noise -> G (G_ema when averaging), batch norm in eval mode
  losses   forward only: the three losses on one real batch and one noise batch, for the strike schedule;
           also D's mean outputs D(x) and D(G(z)) on them, for the dashboard
  rank_mean, rank_max   only when several processes train together (parallel.py): a list of numbers averaged,
           or maximised, over them

In a conditional run (a CGAN, nets.py) every program also takes class ids: d_real the real images' own labels
(feed `img_label`), d_fake and g the classes G is asked to draw (feed `label`, drawn uniformly by
readers.NoiseBatches), infer the classes to draw (`label`), losses both.

The losses, in the v0 demo's words (LOSS_NAMES): d_pos_loss (d_real's), d_neg_loss (d_fake's), their mean d_loss,
and g_loss (g's).

The programs share parameters by name only (see nets.py), all created through the one `startup` program.

On the GPU path (device.gpu_path) d_fake and g draw their noise themselves, `batch_size` rows (this process's
share with several) from Paddle's random generator, instead of taking it as a feed; the trainer seeds that
generator (readers.graph_noise_seed). With `amp` on, the training programs compute in mixed precision (amp.py).

Two deliberate choices:
- d_real and d_fake share D's Adam state. D is one network with one optimizer, as in the v0 demo's single
  discriminator trainer; the two programs' optimizers are built under the same name prefix, so their moments and
  step counters are the same variables. Separate states would give each kind of batch its own full-size,
  separately normalised step.
- infer normalises with the moving statistics (eval mode), as the v0 demo's testing machine and the fluid
  chapter's `clone(for_test=True)` did: a sample then depends only on its own noise vector, so `generate` gives the
  same image for a noise vector whatever batch it is drawn in. The moving statistics are updated by every program
  that runs G in training mode (d_fake and g).
"""
from dataclasses import dataclass, field

import paddle
import paddle.nn.functional as F
from paddle.nn.initializer import Constant

from . import amp, ema, nets, parallel
from .config import NUM_CLASSES, sample_shape

LOSS_NAMES = ("d_pos_loss", "d_neg_loss", "d_loss", "g_loss")
LOSS_OF_PROGRAM = {"d_real": "d_pos_loss", "d_fake": "d_neg_loss", "g": "g_loss"}


@dataclass
class GanPrograms:
    startup: paddle.static.Program
    d_real: paddle.static.Program
    d_fake: paddle.static.Program
    g: paddle.static.Program
    infer: paddle.static.Program
    losses: paddle.static.Program
    fetch: dict = field(default_factory=dict)  # program name -> values to fetch when it runs
    feed: dict = field(default_factory=dict)   # program name -> its input variables
    learning_rates: dict = field(default_factory=dict)  # "G", "D" -> the name of its Adam's learning-rate variable
    rank_mean: paddle.static.Program = None    # None in a single process
    rank_max: paddle.static.Program = None


def get_params(program, prefix):
    """The parameters of `program` whose names start with `prefix` ("G." or "D."): the fluid chapter's helper."""
    return [p for p in program.global_block().all_parameters() if p.name.startswith(prefix)]


def learning_rate(config, net):
    """The Adam rate of network `net` ("G" or "D"): lr, or d_lr for D when it is set."""
    return config["d_lr"] if net == "D" and config["d_lr"] else config["lr"]


def _adam(config, program, loss, prefix, add_saved_gradients=False):
    """Append the backward pass of `loss` and Adam's update of the parameters named `prefix`*; returns the name of
    the learning-rate variable, which holds the rate a checkpoint saves and a resume may change.
    `add_saved_gradients`: the step is taken on these gradients plus those _save_gradients kept (d_update=sum)."""
    # Adam's moments and learning rate are named by the unique_name generator: a fresh guard per network prefix
    # gives d_real and d_fake the same names (one shared state for D) and keeps G's apart from D's.
    with paddle.utils.unique_name.guard(prefix + "opt."):
        optimizer = paddle.optimizer.Adam(learning_rate(config, prefix[0]), beta1=config["beta1"],
                                          parameters=get_params(program, prefix))
        if config["amp"] != "off":
            amp.minimize(config, optimizer, loss)
        else:  # minimize() in two steps, so that several processes can average the gradients in between
            # (with several processes: averaged, with the batch-norm statistics the program wrote)
            params_grads = parallel.average_gradients(optimizer.backward(loss), program)
            if add_saved_gradients:
                params_grads = [(param, grad + _saved_gradient(param)) for param, grad in params_grads]
            optimizer.apply_gradients(params_grads)
    return optimizer._learning_rate_map[program].name  # the variable Adam created for this program


SAVED_GRADIENT = "D_saved_grad."  # + a parameter's name; not "D.": no optimizer moves it, no checkpoint keeps it


def _saved_gradient(param):
    """The variable that carries `param`'s gradient from d_fake to d_real (d_update=sum): persistable, so it
    outlives the program that writes it, and declared in every program that uses it, under one name."""
    saved = paddle.static.create_parameter(param.shape, "float32", SAVED_GRADIENT + param.name,
                                           default_initializer=Constant(0.0))
    saved.stop_gradient = True
    return saved


def _save_gradients(config, program, loss, prefix):
    """d_fake's half of d_update=sum: the gradients of `loss` for the parameters named `prefix`*, kept for
    d_real's step instead of applied. d_fake always runs right before d_real (schedules.D_STEP) and overwrites
    them, so nothing is left from an earlier iteration and a checkpoint need not hold them."""
    with paddle.utils.unique_name.guard(prefix + "opt."):  # Adam's backward, as _adam's: the same gradients
        optimizer = paddle.optimizer.Adam(learning_rate(config, prefix[0]), parameters=get_params(program, prefix))
        params_grads = optimizer.backward(loss)
    # Averaged over the processes now, with this program's batch-norm statistics: declared after, the saved
    # gradients (parameters that take no gradient, like the statistics) are not mistaken for statistics.
    for param, grad in parallel.average_gradients(params_grads, program):
        paddle.assign(grad, output=_saved_gradient(param))


def _logit_loss(logit, label):
    return F.binary_cross_entropy_with_logits(logit, paddle.full_like(logit, label))


def _graph_noise(config):
    """z (and, in a conditional run, the classes to draw) drawn inside the program, as readers.NoiseBatches draws
    them on the host."""
    # No seed on the ops: they draw from Paddle's generator, fresh on every run (a seed here would repeat one z).
    rows = config["batch_size"] // parallel.world_size()
    if config["noise"] == "normal":
        z = paddle.randn([rows, config["noise_dim"]], "float32")
    else:
        z = paddle.uniform([rows, config["noise_dim"]], "float32", min=-1.0, max=1.0)  # U(-1, 1)
    return z, paddle.randint(0, NUM_CLASSES, [rows], "int64") if config["conditional"] else None


def build_programs(config, noise_in_graph=False):
    """Build startup, d_real, d_fake, g, infer and losses for `config`; see the module docstring. `noise_in_graph`:
    d_fake and g draw their noise instead of taking a feed "z"."""
    startup = paddle.static.Program()
    startup.random_seed = config["seed"]
    real_shape = [None, *sample_shape(config)]
    noise_shape = [None, config["noise_dim"]]
    built, fetch, feed, learning_rates = {}, {}, {}, {}

    def program(name):
        main = paddle.static.Program()
        main.random_seed = config["seed"]
        built[name] = main
        return paddle.static.program_guard(main, startup)

    def labels(name):
        """Class ids fed as `name` in a conditional run; None otherwise."""
        return paddle.static.data(name, [None], "int64") if config["conditional"] else None

    def feeds(*variables):
        return [v for v in variables if v is not None]

    def noise():
        """z and the classes to draw for d_fake and g, and the feeds they need."""
        if noise_in_graph:
            return (*_graph_noise(config), [])
        z, label = paddle.static.data("z", noise_shape, "float32"), labels("label")
        return z, label, feeds(z, label)

    with program("d_real"):
        img, img_label = paddle.static.data("img", real_shape, "float32"), labels("img_label")
        with amp.autocast(config):
            logit = nets.discriminator(config, img, training=True, label=img_label)
        loss = _logit_loss(amp.float32(config, logit), config["real_label"])
        learning_rates["D"] = _adam(config, built["d_real"], loss, "D.", config["d_update"] == "sum")
        feed["d_real"], fetch["d_real"] = feeds(img, img_label), [loss]

    with program("d_fake"):
        z, label, feed["d_fake"] = noise()
        with amp.autocast(config):
            fake = nets.generator(config, z, training=True, label=label)
            logit = nets.discriminator(config, fake, training=True, label=label)
        loss = _logit_loss(amp.float32(config, logit), 0)
        if config["d_update"] == "sum":  # d_real takes D's step on both programs' gradients
            _save_gradients(config, built["d_fake"], loss, "D.")
        else:
            _adam(config, built["d_fake"], loss, "D.")
        fetch["d_fake"] = [loss]

    with program("g"):
        z, label, feed["g"] = noise()
        with amp.autocast(config):
            fake = nets.generator(config, z, training=True, label=label)
            logit = nets.discriminator(config, fake, training=True, label=label)
        loss = _logit_loss(amp.float32(config, logit), 1)
        if config["ema_decay"] > 0:  # before the update: G_ema's statistics are averaged over processes with G's
            ema.keep_statistics(config, z, label)
        learning_rates["G"] = _adam(config, built["g"], loss, "G.")
        if config["ema_decay"] > 0:
            ema.average_weights(config, built["g"])
        fetch["g"] = [loss]

    with program("infer"):
        z, label = paddle.static.data("z", noise_shape, "float32"), labels("label")
        samples = nets.generator(config, z, training=False, net=ema.generator_name(config), label=label)
        feed["infer"], fetch["infer"] = feeds(z, label), [samples]

    # The v0 strike rule compares losses from forward passes in test mode (v0's PASS_TEST) on the same batch.
    with program("losses"):
        img, img_label = paddle.static.data("img", real_shape, "float32"), labels("img_label")
        z, label = paddle.static.data("z", noise_shape, "float32"), labels("label")
        fake = nets.generator(config, z, training=False, label=label)
        # One D on both halves: a network built twice in one program would declare its parameters twice. In eval
        # mode batch norm uses the moving statistics, so the halves do not see each other.
        both_labels = paddle.concat([img_label, label]) if config["conditional"] else None
        logits = nets.discriminator(config, paddle.concat([img, fake]), training=False, label=both_labels)
        real_logit, fake_logit = paddle.chunk(logits, 2)  # fed with equal-sized real and noise batches
        feed["losses"] = feeds(img, img_label, z, label)
        fetch["losses"] = [_logit_loss(real_logit, config["real_label"]), _logit_loss(fake_logit, 0),
                           _logit_loss(fake_logit, 1)]
        # D's logits mean nothing to a reader; its probabilities do (D(x) -> 1 and D(G(z)) -> 0: D is winning).
        fetch["d_outputs"] = [paddle.mean(F.sigmoid(real_logit)), paddle.mean(F.sigmoid(fake_logit))]

    if parallel.world_size() > 1:  # what the driver loop must decide alike on every rank (parallel.agree)
        for how in ("mean", "max"):
            with program("rank_" + how):
                values = paddle.static.data("values", [None], "float64")
                feed["rank_" + how], fetch["rank_" + how] = [values], [parallel.reduce_over_ranks(values, how)]

    return GanPrograms(startup=startup, fetch=fetch, feed=feed, learning_rates=learning_rates, **built)
