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

The losses, in the v0 demo's words (schedules.LOSS_NAMES): d_pos_loss (d_real's), d_neg_loss (d_fake's), their
mean d_loss, and g_loss (g's).

The programs share parameters by name only (see nets.py), all created through the one `startup` program.

On the GPU path (device.gpu_path) d_fake and g draw their noise themselves, `batch_size` rows (this process's
share with several) from Paddle's random generator, instead of taking it as a feed; the trainer seeds that
generator (readers.graph_noise_seed). With `amp` on, the training programs compute in mixed precision (amp.py).

Deliberate choices:
- d_real and d_fake share D's Adam state. D is one network with one optimizer, as in the v0 demo's single
  discriminator trainer; the two programs' optimizers are built under the same name prefix, so their moments and
  step counters are the same variables. Separate states would give each kind of batch its own full-size,
  separately normalised step.
- How a D iteration updates D (config `d_update`). "each": d_fake takes an Adam step, then d_real another, as the
  tutorials' programs did. "sum": d_fake only computes D's gradients and keeps them (persistable variables named
  KEPT_GRADIENT + the parameter's name); d_real adds its own and takes one Adam step on the sum, the gradient of
  log D(x) + log(1 - D(G(z))) that PyTorch's DCGAN example steps on. At the tutorials' rate of 2e-4 the two hardly
  differ; at the tuned configs' 1.6e-3, "each" gives D two full-size steps per iteration, and D runs away from G
  (benchmarks/RESULTS.md).
- infer normalises with the moving statistics (eval mode), as the v0 demo's testing machine and the fluid
  chapter's `clone(for_test=True)` did: a sample then depends only on its own noise vector, so `generate` gives the
  same image for a noise vector whatever batch it is drawn in. The moving statistics are updated by every program
  that runs G in training mode (d_fake and g).
"""
from dataclasses import dataclass, field

import paddle
import paddle.nn.functional as F
from paddle.nn.initializer import Constant

from . import amp, ema, nets, parallel, readers
from .config import NUM_CLASSES, sample_shape


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


def build_programs(config, noise_in_graph=False):
    """Build startup, d_real, d_fake, g, infer and losses for `config`; see the module docstring. `noise_in_graph`:
    d_fake and g draw their noise instead of taking a feed "z"."""
    startup = paddle.static.Program()
    inputs = _Inputs(config, noise_in_graph)
    built, fetch, feed, learning_rates = {}, {}, {}, {}
    summed = config["d_update"] == "sum"  # d_fake keeps D's gradients, d_real steps on both
    # the real points of D's reference batch norm, read once for every program that builds D
    reference = readers.reference_batch(config, nets.REFERENCE_ROWS) if nets.uses_reference(config) else None

    def program(name):
        built[name] = paddle.static.Program()
        return paddle.static.program_guard(built[name], startup)

    def D(x, label):  # noqa: N802  the networks' names in the maths
        return nets.discriminator(config, x, training=True, label=label, reference=reference)

    def G(z, label):  # noqa: N802
        return nets.generator(config, z, training=True, label=label)

    with program("d_real"):  # D(x) -> 1: D learns to call the data real
        img, img_label, feed["d_real"] = inputs.real()
        loss = _loss(config, lambda: D(img, img_label), config["real_label"])
        learning_rates["D"] = _update(config, built["d_real"], loss, "D.", add_kept_gradients=summed)
        fetch["d_real"] = [loss]

    with program("d_fake"):  # D(G(z)) -> 0: D learns to call G's samples fake; G is not updated
        z, label, feed["d_fake"] = inputs.noise()
        loss = _loss(config, lambda: D(G(z, label), label), 0)
        if summed:
            _keep_gradients(config, built["d_fake"], loss, "D.")
        else:
            _update(config, built["d_fake"], loss, "D.")
        fetch["d_fake"] = [loss]

    with program("g"):  # D(G(z)) -> 1: G learns to make samples D calls real; D is not updated
        z, label, feed["g"] = inputs.noise()
        loss = _loss(config, lambda: D(G(z, label), label), 1)
        if config["ema_decay"] > 0:  # before the update: G_ema's statistics are averaged over processes with G's
            ema.keep_statistics(config, z, label)
        learning_rates["G"] = _update(config, built["g"], loss, "G.")
        if config["ema_decay"] > 0:
            ema.average_weights(config, built["g"])
        fetch["g"] = [loss]

    with program("infer"):  # G(z), batch norm on its moving statistics; G_ema when averaging
        z, label, feed["infer"] = inputs.noise(always_fed=True)
        fetch["infer"] = [nets.generator(config, z, training=False, net=ema.generator_name(config), label=label)]

    with program("losses"):
        feed["losses"], fetch["losses"], fetch["d_outputs"], fetch["d_of_each"] = _monitor(config, inputs, reference)

    if parallel.world_size() > 1:  # what the driver loop must decide alike on every rank (parallel.agree)
        for how in ("mean", "max"):
            with program("rank_" + how):
                values = paddle.static.data("values", [None], "float64")
                feed["rank_" + how], fetch["rank_" + how] = [values], [parallel.reduce_over_ranks(values, how)]

    return GanPrograms(startup=startup, fetch=fetch, feed=feed, learning_rates=learning_rates, **built)


class _Inputs:
    """The feeds of the programs being built: real images (and their classes, in a conditional run) and noise (and
    the classes to draw), or noise drawn inside the program on the GPU path."""

    def __init__(self, config, noise_in_graph):
        self.config, self.noise_in_graph = config, noise_in_graph

    def _labels(self, name):
        return paddle.static.data(name, [None], "int64") if self.config["conditional"] else None

    def real(self):
        """(img, img_label or None, the feeds)."""
        img = paddle.static.data("img", [None, *sample_shape(self.config)], "float32")
        img_label = self._labels("img_label")
        return img, img_label, _present(img, img_label)

    def noise(self, always_fed=False):
        """(z, the classes to draw or None, the feeds: none when the program draws them)."""
        if self.noise_in_graph and not always_fed:
            return (*_graph_noise(self.config), [])
        z = paddle.static.data("z", [None, self.config["noise_dim"]], "float32")
        label = self._labels("label")
        return z, label, _present(z, label)


def _present(*variables):
    return [v for v in variables if v is not None]


def _loss(config, logit_of, target):
    """The logit loss of D's logits `logit_of()` against `target` (1: "real", 0: "fake"). With --amp the networks
    run in mixed precision and the loss in float32."""
    with amp.autocast(config):
        logit = logit_of()
    logit = amp.float32(config, logit)
    return F.binary_cross_entropy_with_logits(logit, paddle.full_like(logit, target))


def _update(config, program, loss, prefix, add_kept_gradients=False):
    """Append the backward pass of `loss` and Adam's update of the parameters named `prefix`* (one network); returns
    the name of the learning-rate variable, which holds the rate a checkpoint saves and a resume may change.
    With several processes the gradients are averaged first; `add_kept_gradients`: the step is taken on these
    gradients plus those _keep_gradients kept (d_update=sum)."""
    # Adam's moments and learning rate are named by the unique_name generator: a fresh guard per network prefix
    # gives d_real and d_fake the same names (one shared state for D) and keeps G's apart from D's.
    with paddle.utils.unique_name.guard(prefix + "opt."):
        optimizer = paddle.optimizer.Adam(learning_rate(config, prefix[0]), beta1=config["beta1"],
                                          parameters=get_params(program, prefix))
        if config["amp"] != "off":
            amp.minimize(config, optimizer, loss)
        else:  # minimize() in two steps, so that several processes can average the gradients in between
            params_grads = parallel.average_gradients(optimizer.backward(loss), program)
            if add_kept_gradients:
                params_grads = [(param, grad + _kept_gradient(param)) for param, grad in params_grads]
            optimizer.apply_gradients(params_grads)
    return optimizer._learning_rate_map[program].name  # the variable Adam created for this program


KEPT_GRADIENT = "D_kept_grad."  # + a parameter's name; not "D.": no optimizer moves it, no checkpoint keeps it


def _kept_gradient(param):
    """The variable that carries `param`'s gradient from d_fake to d_real (d_update=sum): persistable, so it
    outlives the program that writes it, and declared in every program that uses it, under one name."""
    kept = paddle.static.create_parameter(param.shape, "float32", KEPT_GRADIENT + param.name,
                                          default_initializer=Constant(0.0))
    kept.stop_gradient = True
    return kept


def _keep_gradients(config, program, loss, prefix):
    """d_fake's half of d_update=sum: the gradients of `loss` for the parameters named `prefix`*, kept for d_real's
    step instead of applied. d_fake always runs right before d_real (schedules.D_STEP) and overwrites them, so
    nothing is left from an earlier iteration and a checkpoint need not hold them."""
    with paddle.utils.unique_name.guard(prefix + "opt."):  # Adam's backward, as _update's: the same gradients
        optimizer = paddle.optimizer.Adam(learning_rate(config, prefix[0]), parameters=get_params(program, prefix))
        params_grads = optimizer.backward(loss)
    # Averaged over the processes now, with this program's batch-norm statistics; declared after that, the kept
    # gradients (parameters that take no gradient, as the statistics) are not taken for statistics.
    for param, grad in parallel.average_gradients(params_grads, program):
        paddle.assign(grad, output=_kept_gradient(param))


def _monitor(config, inputs, reference):
    """The losses program's body: the three losses on one real batch and one noise batch, forward only, batch norm in
    eval mode, and D's mean outputs D(x), D(G(z)). Returns (feeds, the losses, D's mean outputs, D(x) per row)."""
    # The v0 strike rule compares losses from forward passes in test mode (v0's PASS_TEST) on the same batch.
    img, img_label, real_feeds = inputs.real()
    z, label, noise_feeds = inputs.noise(always_fed=True)
    fake = nets.generator(config, z, training=False, label=label)
    # One D on both halves: a network built twice in one program would declare its parameters twice. In eval mode
    # batch norm uses the moving statistics, so the halves do not see each other.
    both_labels = paddle.concat([img_label, label]) if config["conditional"] else None
    logits = nets.discriminator(config, paddle.concat([img, fake]), training=False, label=both_labels,
                                reference=reference)
    real_logit, fake_logit = paddle.chunk(logits, 2)  # fed with equal-sized real and noise batches

    def loss(logit, target):
        return F.binary_cross_entropy_with_logits(logit, paddle.full_like(logit, target))

    losses = [loss(real_logit, config["real_label"]), loss(fake_logit, 0), loss(fake_logit, 1)]
    # D's logits mean nothing to a reader; its probabilities do (D(x) -> 1 and D(G(z)) -> 0: D is winning).
    d_outputs = [paddle.mean(F.sigmoid(real_logit)), paddle.mean(F.sigmoid(fake_logit))]
    # and D(x) of every fed row: the toy's picture of what D thinks (d_view.d_map)
    return real_feeds + noise_feeds, losses, d_outputs, [F.sigmoid(real_logit)]


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
