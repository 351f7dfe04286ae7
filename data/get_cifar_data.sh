#!/bin/sh
# Fetch CIFAR-10 into data/cifar-10-batches-py/: cifar-10-python.tar.gz from the mirrors, MD5-checked, its
# batches unpacked and checked one by one. Valid files already there are kept.
#   sh data/get_cifar_data.sh [--force] [--from DIR] [--dest DIR]
# The work is done by paddle_gan/fetch.py (python -m paddle_gan.fetch cifar), the same code the trainer uses when
# data is missing. It downloads with Python's urllib, so neither curl nor wget is needed.
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
if [ "$PYTHON" = python3 ] && [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; fi
if ! "$PYTHON" -c "import numpy" 2>/dev/null; then
    echo "error: $PYTHON cannot import numpy; run make install first (or pip install numpy, or set PYTHON=...)" >&2
    exit 1
fi
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m paddle_gan.fetch cifar \
    --dest "$ROOT/data/cifar-10-batches-py" "$@"
