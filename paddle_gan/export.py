"""Export a checkpoint's generator for Paddle Inference, or as ONNX:
`python -m paddle_gan.export --model_dir mnist_params/pass-00009 --out mnist_generator [--format onnx]`.

Writes `generator.json` (Paddle 3; `generator.pdmodel` on Paddle 2.6) with `generator.pdiparams`: the infer
program, batch norm in eval mode, input `z` of shape (N, noise_dim) (and, for a conditional generator, `label`:
int64 class ids of shape (N,)), output images in [-1, 1] (or a toy's points: 2-D for uniform, 1-D for gaussian).
`meta.json` beside them says which noise to feed, and which classes. Load them with
`paddle.inference.Config(model_file, params_file)` and `paddle.inference.create_predictor`, as `predictor()` below
does.

`--format onnx` also converts that model with paddle2onnx (an optional extra: `pip install -e .[onnx]`) into
`generator.onnx`, with the same inputs (`z`, and `label` when conditional) and output, for onnxruntime in Python or
in a browser (`python -m paddle_gan.demo`).
"""
import json
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import paddle

from . import checkpoint, cli
from .config import NUM_CLASSES, sample_shape
from .device import make_place
from .errors import UserError
from .generate import load_generator

MODEL_NAME = "generator"
TOY_OUTPUTS = {"uniform": "2-D points", "gaussian": "1-D numbers"}  # meta.json's output range of the toys
FORMATS = ("paddle", "onnx")
ONNX_FILE = MODEL_NAME + ".onnx"
ONNX_OPSET = 13  # what onnxruntime, in Python and in the browser (onnxruntime-web), has run for years


def export(model_dir, out_dir, place=None, format="paddle"):
    """Save the generator of checkpoint `model_dir` as an inference model in `out_dir`, and with format "onnx" as
    `generator.onnx` too; returns the file written last."""
    paddle2onnx = import_paddle2onnx() if format == "onnx" else None  # missing: say so before any work
    exe, programs, scope, config = load_generator(model_dir, place)
    out_dir = Path(out_dir)
    try:  # before Paddle writes there: its own error for an unwritable folder is a C++ trace
        out_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out_dir).close()
    except OSError as e:
        raise UserError(f"cannot write to {out_dir} ({e.strerror}); choose a writable --out") from None
    with paddle.static.scope_guard(scope):  # save_inference_model reads the parameters from the current scope
        paddle.static.save_inference_model(str(out_dir / MODEL_NAME), programs.feed["infer"],
                                           programs.fetch["infer"], exe, program=programs.infer)
    meta = {"checkpoint": str(model_dir), "paddle": paddle.__version__, "config": config,
            "input": {"name": "z", "shape": [-1, config["noise_dim"]], "noise": config["noise"]},
            "label": {"name": "label", "shape": [-1], "dtype": "int64", "classes": NUM_CLASSES} if config["conditional"]
            else None,
            "output": {"shape": [-1, *sample_shape(config)],
                       "range": TOY_OUTPUTS.get(config["dataset"], "[-1, 1]")}}
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    if paddle2onnx is None:
        return model_file(out_dir)
    # Converted from the files just written: every feed of the infer program (z, label) becomes an ONNX input.
    # save_file=None returns the model: with a file name, paddle2onnx also folds constants with polygraphy, which
    # pip-installs missing modules while it runs.
    program = model_file(out_dir)
    onnx_model = paddle2onnx.export(str(program), str(program.with_suffix(".pdiparams")), save_file=None,
                                    opset_version=ONNX_OPSET)
    (out_dir / ONNX_FILE).write_bytes(onnx_model)
    return out_dir / ONNX_FILE


def import_paddle2onnx():
    """The paddle2onnx module, or a UserError saying how to install it."""
    try:
        import paddle2onnx
    except ImportError as e:
        raise UserError(f"--format onnx needs paddle2onnx ({e}): pip install paddle2onnx, or pip install -e .[onnx]") \
            from None
    except ValueError:  # paddle2onnx 2.x refuses Paddle 2 as it loads; its 1.x converts Paddle 2's models
        raise UserError(f"paddle2onnx {version('paddle2onnx')} needs Paddle 3, and this is Paddle {paddle.__version__}: "
                        "pip install 'paddle2onnx<2' (1.3.1 converts Paddle 2 models)") from None
    return paddle2onnx


def model_file(out_dir):
    """The program file of an exported model: .json under PIR (Paddle 3), .pdmodel under the legacy IR."""
    for suffix in (".json", ".pdmodel"):
        path = Path(out_dir) / (MODEL_NAME + suffix)
        if path.is_file():
            return path
    raise checkpoint.CheckpointError(f"{out_dir} holds no exported generator; run python -m paddle_gan.export")


def predictor(out_dir):
    """A Paddle Inference predictor for an exported generator (CPU)."""
    from paddle import inference
    program = model_file(out_dir)
    config = inference.Config(str(program), str(program.with_suffix(".pdiparams")))
    config.disable_gpu()
    return inference.create_predictor(config)


def main(argv=None):
    parser = cli.ArgumentParser(prog="python -m paddle_gan.export", description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True, help="a checkpoint folder, e.g. mnist_params/pass-00009")
    parser.add_argument("--out", required=True, help="folder to write the inference model to")
    parser.add_argument("--format", choices=FORMATS, default="paddle",
                        help="paddle: Paddle Inference files (default); onnx: those and generator.onnx (paddle2onnx)")
    args = parser.parse_args(argv)

    def job():
        if not args.out.strip():
            raise UserError(f"--out {args.out!r}: name the folder to write the inference model to, e.g. --out gen")
        path = export(args.model_dir, args.out, make_place(False), args.format)
        program = model_file(args.out)
        also = f", and {path}" if args.format == "onnx" else ""
        print(f"wrote {program} and {program.with_suffix('.pdiparams')}{also}")
    return cli.run(job)


if __name__ == "__main__":
    sys.exit(main())
