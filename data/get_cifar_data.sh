#!/bin/sh
# Fetch CIFAR-10 into data/cifar-10-batches-py/: cifar-10-python.tar.gz from the mirrors, MD5-checked, its
# batches unpacked and checked one by one. Valid files already there are kept.
#   sh data/get_cifar_data.sh [--force] [--from DIR] [--dest DIR]
# The work is done by data/fetch.sh, i.e. python -m paddle_gan.download cifar (no curl or wget needed).
exec sh "$(dirname "$0")/fetch.sh" cifar cifar-10-batches-py "$@"
