#!/bin/sh
# Fetch Fashion-MNIST into data/fashion_mnist_data/ (four raw IDX files): from Debian's package
# dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/) when installed, else MD5-checked mirrors.
# Valid files already there are kept.
#   sh data/get_fashion_mnist_data.sh [--force] [--from DIR] [--dest DIR]
# The work is done by paddle_gan/fetch.py (python -m paddle_gan.fetch fashion_mnist), the same code the trainer
# uses when data is missing. It downloads with Python's urllib, so neither curl nor wget is needed.
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
if [ "$PYTHON" = python3 ] && [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; fi
if ! "$PYTHON" -c "import numpy" 2>/dev/null; then
    echo "error: $PYTHON cannot import numpy; run make install first (or pip install numpy, or set PYTHON=...)" >&2
    exit 1
fi
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m paddle_gan.fetch fashion_mnist \
    --dest "$ROOT/data/fashion_mnist_data" "$@"
