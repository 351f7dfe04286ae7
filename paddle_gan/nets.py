"""The generator and discriminator networks of the Paddle GAN tutorials.

Every weight, bias and batch-norm statistic gets an explicit name under `G.` or `D.` (`G_ema.` for the averaged
generator, ema.py): static programs share a parameter only through its name (docs/paddle_static_graph.md), and the
names are the checkpoint format. Layers are created afresh each time a network is built, because one layer object
reused in two programs fails at run time.

A conditional run (config `conditional`, a CGAN) gives both networks the class as a one-hot vector: G gets it joined
to its noise, D as ten extra input planes, all zeros but the class's, all ones (the conditional DCGAN's way; see
`generator` and `discriminator`). It adds no parameters: the first layer of each network only grows wider.

Four families:
  v0_mlp       gan_conf.py, the 2-D uniform toy (and the same net on the 1-D Gaussian toy)
  v0_dcgan     gan_conf_image.py, MNIST 28x28x1 and CIFAR 32x32x3
  fluid_dcgan  the fluid chapter / LearnPaddle2 MNIST nets, with their defects fixed
  basic_mlp    the TensorFlow write-up's basic GAN (基础GAN): one hidden layer each, MNIST

On a GPU (untested here): images are NCHW, Paddle's default and the layout cuDNN takes without a transpose. The
hidden widths (64, 128, 256 channels; 1024, 2048, 6272 features) and the shipped batch of 128 are multiples of 8,
which fp16 Tensor Cores want (--amp fp16); the image's own 1 or 3 channels and the tutorials' noise_dim of 100 are
not, so D's first convolution, G's last one and G's first layer may take slower kernels. The networks stay the
tutorials'; `-o noise_dim=128` is a choice left to the user (it changes the model).
"""
import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle import ParamAttr
from paddle.nn.initializer import Assign, Constant, Normal, XavierUniform

from .config import NUM_CLASSES, sample_shape

# gan_conf_image.py: weights N(0, 0.02), biases 0, batch-norm scale N(1, 0.02). The random ones are made afresh
# for every parameter: a Paddle initializer writes the random_seed of the first program it initialises into itself
# and keeps it, so a shared one would carry one run's seed into the next run in the same process (a notebook)
# whenever a program has a seed set (ours leave it at 0: docs/paddle_static_graph.md, "Initial weights and seeds").
def dcgan_w():
    return Normal(0.0, 0.02)


def bn_scale():
    return Normal(1.0, 0.02)


ZERO = Constant(0.0)
LEAKY_SLOPE = 0.02  # the fluid leaky_relu default; Paddle 2.x/3.x defaults to 0.01


def _attr(name, initializer):
    return ParamAttr(name=name, initializer=initializer)


def fc(x, size, name, w_init=None, b_init=None):
    """Fully connected layer with parameters `{name}.w` and `{name}.b` (None: Paddle's default initializer)."""
    layer = nn.Linear(x.shape[-1], size, weight_attr=_attr(f"{name}.w", w_init), bias_attr=_attr(f"{name}.b", b_init))
    return layer(x)


def conv(x, channels, kernel, stride, padding, name, w_init=None, b_init=None):
    layer = nn.Conv2D(x.shape[1], channels, kernel, stride, padding,
                      weight_attr=_attr(f"{name}.w", w_init), bias_attr=_attr(f"{name}.b", b_init))
    return layer(x)


def deconv(x, channels, kernel, stride, padding, name, w_init=None, b_init=None, output_size=None):
    layer = nn.Conv2DTranspose(x.shape[1], channels, kernel, stride, padding,
                               weight_attr=_attr(f"{name}.w", w_init), bias_attr=_attr(f"{name}.b", b_init))
    return layer(x, output_size=output_size)


def batch_norm(x, name, training, scale_init=None, bias_init=None, momentum=0.9):
    """Batch norm over features (2-D input) or channels (4-D input).

    Parameters `{name}.w`, `{name}.b`; moving statistics `{name}_mean`, `{name}_variance` (Paddle derives those
    two from the layer's name), each step moved by 1 - `momentum` toward the batch's. In eval mode the layer reads
    the moving statistics and never writes them.
    """
    cls = nn.BatchNorm1D if len(x.shape) == 2 else nn.BatchNorm2D
    layer = cls(x.shape[1], momentum=momentum, weight_attr=_attr(f"{name}.w", scale_init),
                bias_attr=_attr(f"{name}.b", bias_init), name=name)
    if not training:
        layer.eval()
    return layer(x)


# ---- v0 uniform toy (gan_conf.py) ----------------------------------------------------------------------------

def v0_mlp_generator(z, training, dims=2, net="G", bn_momentum=0.9):
    """noise -> fc 10 ReLU -> fc 10 -> BN ReLU -> fc `dims` (a point in the plane, or a number for the 1-D toy)."""
    hidden = 10
    w, b = _v0_default_init(z.shape[-1]), Constant(1.0)  # biases 1.0 "keep the ReLUs alive"
    h = F.relu(fc(z, hidden, f"{net}.gen_layer_hidden", w, b))
    h = fc(h, hidden, f"{net}.gen_hidden2", _v0_default_init(hidden), b)
    h = F.relu(batch_norm(h, f"{net}.gen_layer_hidden_bn", training, bn_scale(), b, bn_momentum))
    return fc(h, dims, f"{net}.gen_layer1", _v0_default_init(hidden), b)


def reference_batch_norm(h, rows, name, scale_init=None, bias_init=None):
    """Batch norm over features whose mean and variance come from the first `rows` rows of `h` (the reference
    batch's activations), applied to every row; parameters `{name}.w`, `{name}.b` as batch_norm's. It keeps no
    moving statistics: the reference batch is there in every program."""
    reference = h[:rows]
    mean = paddle.mean(reference, axis=0)
    variance = paddle.mean(paddle.square(reference - mean), axis=0)
    features = h.shape[-1]
    scale = paddle.static.create_parameter([features], "float32", f"{name}.w", default_initializer=scale_init)
    shift = paddle.static.create_parameter([features], "float32", f"{name}.b", default_initializer=bias_init)
    return (h - mean) / paddle.sqrt(variance + 1e-5) * scale + shift  # 1e-5: batch_norm's epsilon


def v0_mlp_discriminator(x, training, use_batch_norm=True, reference=None):
    """point -> fc 10 ReLU -> fc 10 -> BN ReLU -> one logit (the v0 2-way softmax, as sigmoid + BCE).

    With `reference` (real points, a persistable variable), the batch norm is reference batch norm (Salimans et al.
    2016): D runs on the reference points and `x` together, and normalises both with the reference points'
    statistics. Each batch's own statistics, as v0 had it, hide where an all-fake batch lies and how far it
    spreads; the reference's are the same for real and fake batches, so D sees both."""
    hidden = 10
    b = Constant(1.0)
    rows = 0 if reference is None else reference.shape[0]
    if reference is not None:
        x = paddle.concat([reference, x])
    h = F.relu(fc(x, hidden, "D.dis_hidden", _v0_default_init(x.shape[-1]), b))
    h = fc(h, hidden, "D.dis_hidden2", _v0_default_init(hidden), b)
    if reference is not None:
        h = reference_batch_norm(h, rows, "D.dis_hidden_bn", bn_scale(), b)
    elif use_batch_norm:
        h = batch_norm(h, "D.dis_hidden_bn", training, bn_scale(), b)
    return fc(F.relu(h), 1, "D.dis_prob", _v0_default_init(hidden), b)[rows:]


def _v0_default_init(fan_in):
    # Paddle v0's default ("smart") initialisation: N(0, 1/sqrt(fan_in)).
    return Normal(0.0, 1.0 / math.sqrt(fan_in))


# ---- v0 image DCGAN (gan_conf_image.py) ----------------------------------------------------------------------

def _v0_dcgan_shapes(size):
    # G's first feature map is 3x3 for 28x28 and 4x4 for 32x32; 3 -> 7 (and D's 7 -> 3) needs a 5x5 kernel.
    return (3, 5) if size == 28 else (4, 4)


def v0_dcgan_generator(z, training, channels, size, net="G", bn_momentum=0.9):
    """noise -> fc s*s*256 BN ReLU -> deconv 128 BN ReLU -> deconv 64 BN ReLU -> deconv C tanh."""
    s, k = _v0_dcgan_shapes(size)
    h = fc(z, s * s * 256, f"{net}.gen_layer_h1", dcgan_w(), ZERO)
    h = F.relu(batch_norm(h, f"{net}.gen_layer_h1_bn", training, bn_scale(), ZERO, bn_momentum))
    h = paddle.reshape(h, [-1, 256, s, s])
    h = deconv(h, 128, k, 2, 1, f"{net}.gen_layer_h2", dcgan_w(), ZERO)
    h = F.relu(batch_norm(h, f"{net}.gen_layer_h2_bn", training, bn_scale(), ZERO, bn_momentum))
    h = deconv(h, 64, 4, 2, 1, f"{net}.gen_layer_h3", dcgan_w(), ZERO)
    h = F.relu(batch_norm(h, f"{net}.gen_layer_h3_bn", training, bn_scale(), ZERO, bn_momentum))
    return paddle.tanh(deconv(h, channels, 4, 2, 1, f"{net}.gen_layer_h4", dcgan_w(), ZERO))


def v0_dcgan_discriminator(x, training, use_batch_norm=True):
    """image -> conv 64 ReLU -> conv 128 BN ReLU -> conv 256 BN ReLU -> fc 1 logit."""
    _, k = _v0_dcgan_shapes(x.shape[-1])
    h = F.relu(conv(x, 64, 4, 2, 1, "D.dis_h0", dcgan_w(), ZERO))
    h = conv(h, 128, 4, 2, 1, "D.dis_h1", dcgan_w(), ZERO)
    if use_batch_norm:
        h = batch_norm(h, "D.dis_h1_bn", training, bn_scale(), ZERO)
    h = conv(F.relu(h), 256, k, 2, 1, "D.dis_h2", dcgan_w(), ZERO)
    if use_batch_norm:
        h = batch_norm(h, "D.dis_h2_bn", training, bn_scale(), ZERO)
    h = paddle.flatten(F.relu(h), 1)
    return fc(h, 1, "D.dis_prob", dcgan_w(), ZERO)


# ---- fluid chapter / LearnPaddle2 MNIST DCGAN ----------------------------------------------------------------
# Paddle's default initializers are the fluid ones the chapter used. Defects fixed here: no sigmoid in front of
# the logit loss, a ReLU after each of G's fc + BN layers, and the fluid leaky ReLU slope of 0.02.

def fluid_dcgan_generator(z, training, net="G", bn_momentum=0.9):
    """noise -> fc 2048 BN ReLU -> fc 128*7*7 BN ReLU -> deconv 128 to 14x14 ReLU -> deconv 1 to 28x28 tanh."""
    h = F.relu(batch_norm(fc(z, 2048, f"{net}.fc1"), f"{net}.fc1_bn", training, momentum=bn_momentum))
    h = F.relu(batch_norm(fc(h, 128 * 7 * 7, f"{net}.fc2"), f"{net}.fc2_bn", training, momentum=bn_momentum))
    h = paddle.reshape(h, [-1, 128, 7, 7])
    h = F.relu(deconv(h, 128, 5, 2, 2, f"{net}.deconv1", output_size=[14, 14]))
    return paddle.tanh(deconv(h, 1, 5, 2, 2, f"{net}.deconv2", output_size=[28, 28]))


def fluid_dcgan_discriminator(x, training, use_batch_norm=True):
    """image -> conv 64 pool lrelu -> conv 128 pool BN lrelu -> fc 1024 BN lrelu -> fc 1 logit."""
    h = F.leaky_relu(F.max_pool2d(conv(x, 64, 5, 1, 0, "D.conv1"), 2), LEAKY_SLOPE)
    h = F.max_pool2d(conv(h, 128, 5, 1, 0, "D.conv2"), 2)
    if use_batch_norm:
        h = batch_norm(h, "D.conv2_bn", training)
    h = fc(paddle.flatten(F.leaky_relu(h, LEAKY_SLOPE), 1), 1024, "D.fc1")
    if use_batch_norm:
        h = batch_norm(h, "D.fc1_bn", training)
    return fc(F.leaky_relu(h, LEAKY_SLOPE), 1, "D.fc2")


# ---- the TensorFlow write-up's basic GAN (基础GAN) ---------------------------------------------------------------
# Its images are in [0, 1] (G ends in a sigmoid); the rest of paddle_gan feeds and reads images in [-1, 1]. So D's
# first step maps its input to [0, 1] and G's last maps its sigmoid back: the two networks compute exactly the
# write-up's functions with its parameters, and data, pictures, the evaluator, export and the demo stay as they are.

BASIC_HIDDEN = 128


def basic_mlp_generator(z, net="G"):
    """noise -> fc 128 ReLU -> fc 784 sigmoid, reshaped 28x28 (Xavier weights, biases 0.1)."""
    h = F.relu(fc(z, BASIC_HIDDEN, f"{net}.g_fc1", XavierUniform(), Constant(0.1)))
    pixels = F.sigmoid(fc(h, 28 * 28, f"{net}.g_fc3", XavierUniform(), Constant(0.1)))  # in [0, 1]
    return paddle.reshape(pixels * 2.0 - 1.0, [-1, 1, 28, 28])


def basic_mlp_discriminator(x):
    """image, flattened to 784 -> fc 128 ReLU -> fc 1 logit (Xavier weights, biases 0.1)."""
    pixels = (paddle.flatten(x, 1) + 1.0) / 2.0  # in [0, 1], as the write-up's D sees them
    h = F.relu(fc(pixels, BASIC_HIDDEN, "D.d_fc1", XavierUniform(), Constant(0.1)))
    return fc(h, 1, "D.d_fc3", XavierUniform(), Constant(0.1))


def one_hot(label):
    """int64 class ids (N,) -> float32 one-hot vectors (N, NUM_CLASSES)."""
    return F.one_hot(label, NUM_CLASSES)


def generator(config, z, training, net="G", bn_momentum=0.9, label=None):
    """Build the config's generator on noise `z` (and class ids `label`, shape (N,), in a conditional run); returns
    samples ((N, 2) points or (N, C, H, W) images). `net` prefixes its parameter names: "G", or "G_ema" for the
    weight-averaged copy (ema.py), whose batch norm keeps its statistics with another `bn_momentum`."""
    if label is not None:  # the CGAN's generator: noise and class, side by side, into the first layer
        z = paddle.concat([z, one_hot(label)], axis=1)
    network = config["network"]
    if network == "v0_mlp":
        return v0_mlp_generator(z, training, sample_shape(config)[0], net, bn_momentum)
    if network == "v0_dcgan":
        channels, size, _ = sample_shape(config)
        return v0_dcgan_generator(z, training, channels, size, net, bn_momentum)
    if network == "basic_mlp":
        return basic_mlp_generator(z, net)
    return fluid_dcgan_generator(z, training, net, bn_momentum)


REFERENCE = "D.reference_batch"
REFERENCE_ROWS = 128  # the v0 toy's batch: the statistics of 128 points of U[0,1)^2 are within a few percent


def uses_reference(config):
    """Whether D's batch norm is reference batch norm, whose real points the caller hands to `discriminator`."""
    return config["d_reference_batch"] and config["d_batch_norm"]


def reference_points(points):
    """The persistable variable REFERENCE holding `points` (REFERENCE_ROWS real points, readers.reference_batch),
    the points D's reference batch norm takes its statistics from: the startup program writes them, a checkpoint
    keeps them."""
    variable = paddle.static.create_parameter(list(points.shape), "float32", REFERENCE,
                                              default_initializer=Assign(points))
    variable.stop_gradient = True  # data, not a weight: no optimizer moves it
    return variable


def discriminator(config, x, training, label=None, reference=None):
    """Build the config's discriminator on samples `x` (and class ids `label` in a conditional run); returns one
    logit per sample, shape (N, 1). `reference`: the real points of D's reference batch norm (`uses_reference`)."""
    if label is not None:
        # The class as NUM_CLASSES more input planes, so D's first convolution sees every pixel beside the class
        # it should show: (N, C, H, W) + (N, 10, H, W), built by broadcasting (N, 1, H, W) ones against (N, 10, 1, 1).
        planes = paddle.reshape(one_hot(label), [-1, NUM_CLASSES, 1, 1])
        x = paddle.concat([x, paddle.ones_like(x[:, :1]) * planes], axis=1)
    network, use_bn = config["network"], config["d_batch_norm"]
    if uses_reference(config) and reference is None:  # plain batch norm would be another D than the one trained
        raise ValueError("this config's D takes its batch-norm statistics from real points: pass reference=")
    if network == "v0_mlp":
        return v0_mlp_discriminator(x, training, use_bn, None if reference is None else reference_points(reference))
    if network == "v0_dcgan":
        return v0_dcgan_discriminator(x, training, use_bn)
    if network == "basic_mlp":
        return basic_mlp_discriminator(x)
    return fluid_dcgan_discriminator(x, training, use_bn)
