"""A web page that draws with a trained generator, in the browser: `python -m paddle_gan.demo --model_dir DIR`.

Exports the checkpoint's generator as ONNX (export.py, `--format onnx`) into a temporary folder and serves the
repository's `demo/index.html` with Python's http.server on 127.0.0.1, the model under `/model/`. The page runs the
model with onnxruntime-web: a grid of samples, a button for new noise, a slider that walks from one noise to
another, and a class picker for a conditional generator. onnxruntime-web is not in the repository (its WebAssembly
is 14 MB): `make demo-js` copies a pinned version from the npm registry into `demo/onnxruntime-web/`, and from then
on the page works offline.
"""
import functools
import http.server
import posixpath
import sys
import tempfile
import urllib.parse
from pathlib import Path

from . import checkpoint, cli, export
from .config import TOYS
from .device import make_place
from .errors import UserError

PAGE_DIR = Path(__file__).resolve().parent.parent / "demo"  # the repository's demo/ (pip install -e .)
RUNTIME = PAGE_DIR / "onnxruntime-web" / "ort.wasm.min.js"


class Handler(http.server.SimpleHTTPRequestHandler):
    """Files from demo/, and under /model/ the files of the exported model."""
    # .wasm as application/wasm, without which the browser will not compile it as a stream (older Pythons' table lacks it)
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript"}

    def __init__(self, *args, model_dir, **kwargs):
        self.model_dir = model_dir
        super().__init__(*args, directory=str(PAGE_DIR), **kwargs)

    def translate_path(self, path):
        path = urllib.parse.urlsplit(path).path
        if path.startswith("/model/"):  # a file name only: nothing outside the model's folder
            return str(self.model_dir / posixpath.basename(path))
        return super().translate_path(path)

    def log_message(self, format, *args):
        pass  # a line per request would bury the address


def check_page():
    """The page and its JavaScript library are in place, or a UserError says how to put them there."""
    if not (PAGE_DIR / "index.html").is_file():
        raise UserError(f"the demo page is not in this installation ({PAGE_DIR / 'index.html'}); run the demo from "
                        "a clone of the repository, installed with pip install -e .")
    if not RUNTIME.is_file():
        raise UserError(f"the demo's JavaScript library is missing ({RUNTIME}); run make demo-js in the repository "
                        "(it copies onnxruntime-web from the npm registry)")


def serve(model_dir, port):
    """Export `model_dir`'s generator and serve the page on 127.0.0.1:`port` (0: any free port) until Ctrl-C."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port}: a port is a number from 1 to 65535 (0: any free one)")
    check_page()
    dataset = checkpoint.saved_config(model_dir)["dataset"]
    if dataset in TOYS:
        raise UserError(f"{model_dir} is the {dataset} toy's generator, which draws points: the demo page draws "
                        "images; give a checkpoint of mnist, fashion_mnist or cifar")
    with tempfile.TemporaryDirectory(prefix="paddle_gan_demo_") as out:
        try:  # the port first: a busy one is said at once, not after the export
            server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                     functools.partial(Handler, model_dir=Path(out)))
        except OSError as e:
            raise UserError(f"cannot serve on 127.0.0.1:{port} ({e.strerror}); choose another --port") from None
        with server:
            export.export(model_dir, out, make_place(False), format="onnx")
            print(f"serving the demo at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)", flush=True)
            server.serve_forever()


def main(argv=None):
    parser = cli.ArgumentParser(prog="python -m paddle_gan.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True, help="a checkpoint folder, e.g. mnist_params/pass-00009")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0: any free one)")
    args = parser.parse_args(argv)
    # Ctrl-C is how a server ends: KeyboardInterrupt, the page's folder removed on the way out
    return cli.run(lambda: serve(args.model_dir, args.port), ctrl_c=("stopped", 0))


if __name__ == "__main__":
    sys.exit(main())
