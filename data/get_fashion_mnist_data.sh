#!/bin/sh
# Fetch Fashion-MNIST into data/fashion_mnist_data/ (four raw IDX files): from Debian's package
# dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/) when installed, else MD5-checked mirrors.
# Valid files already there are kept.
#   sh data/get_fashion_mnist_data.sh [--force] [--from DIR] [--dest DIR]
# The work is done by data/fetch.sh, i.e. python -m paddle_gan.download fashion_mnist (no curl or wget needed).
exec sh "$(dirname "$0")/fetch.sh" fashion_mnist fashion_mnist_data "$@"
