#!/bin/sh
# The shared body of data/get_*_data.sh: sh data/fetch.sh DATASET FOLDER [--force] [--from DIR] [--dest DIR]
# fetches DATASET into data/FOLDER/ with python -m paddle_gan.download, the same code the trainer
# uses when data is missing. It downloads with Python's urllib, so neither curl nor wget is needed.
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATASET=$1
FOLDER=$2
shift 2
PYTHON=${PYTHON:-python3}
if [ "$PYTHON" = python3 ] && [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; fi
if ! "$PYTHON" -c "import numpy" 2>/dev/null; then
    echo "error: $PYTHON cannot import numpy; run make install first (or pip install numpy, or set PYTHON=...)" >&2
    exit 1
fi
# A later --dest wins over this default one.
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m paddle_gan.download "$DATASET" \
    --dest "$ROOT/data/$FOLDER" "$@"
