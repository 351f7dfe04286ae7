"""Mixed precision for the three training programs: `--amp fp16` or `--amp bf16`, on a GPU, with paddle.static.amp.

Level O1: parameters, Adam's state and the losses stay float32; the ops on Paddle's white list (matmul, conv,
conv-transpose) compute in half precision, the ops on its black list (exp, log...) in float32, with casts inserted
between; the losses are computed from float32 logits. The losses and infer programs are not trained and stay float32.

fp16 needs loss scaling: gradients below ~6e-8 round to zero in float16, so the loss is multiplied by a scale
(2**15 at first) before the backward pass and the gradients divided by it after. The scale is dynamic: halved,
and the step skipped, when a gradient overflows; doubled after 2,000 good steps (Paddle's defaults). Its state is
named under the optimizer's prefix (`D.opt.`, `G.opt.`), so checkpoints save it with Adam's. bf16 has float32's
exponent range and needs no scaling.

The two IRs differ here (docs/paddle_static_graph.md) and this module is the one place that knows it:
- the legacy IR (Paddle 2.6, the GPU wheel on PyPI): the decorated optimizer rewrites the finished forward pass
  with casts in backward() and scales the loss itself;
- PIR (Paddle 3.x): the forward pass must be built inside paddle.amp.auto_cast, which casts as ops are created, and
  the fp16 loss scale is a paddle.amp.GradScaler handed to the decorated optimizer.
"""
import contextlib

import paddle

DTYPES = {"fp16": "float16", "bf16": "bfloat16"}


def autocast(config):
    """The context to build a training program's forward pass in."""
    if config["amp"] == "off" or not paddle.framework.use_pir_api():
        return contextlib.nullcontext()
    return paddle.amp.auto_cast(level="O1", dtype=DTYPES[config["amp"]])


def float32(config, logit):
    """`logit` in float32, for a loss computed in full precision."""
    return logit if config["amp"] == "off" else paddle.cast(logit, "float32")


def minimize(config, optimizer, loss):
    """Append to the program being built the backward pass of `loss` and the update by `optimizer`, in mixed
    precision. (Several processes never get here: they run on CPU only, where --amp is refused.)"""
    fp16 = config["amp"] == "fp16"
    scaling = dict(init_loss_scaling=2.0 ** 15 if fp16 else 1.0, use_dynamic_loss_scaling=fp16)
    decorated = paddle.static.amp.decorate(optimizer, level="O1", dtype=DTYPES[config["amp"]], **scaling)
    if fp16 and paddle.framework.use_pir_api():
        scaler = paddle.amp.GradScaler(**scaling)
        scaler.minimize(decorated, scaler.scale(loss))
    else:
        decorated.minimize(loss)
