# The whole setup on a fresh machine:
#   make run    create .venv, install the right Paddle, fetch MNIST if missing, train the MNIST GAN
#               (make run ARGS=--resume continues it; ARGS passes any flags of python -m paddle_gan.train)
#   make test   the same environment, then the test suite
# Other Paddle builds: make test VENV=.venv-paddle2.6 PADDLE=paddlepaddle==2.6.2

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CUDA build when nvidia-smi sees a GPU, else the CPU build.
PADDLE ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo paddlepaddle-gpu || echo paddlepaddle)
# paddle2onnx 2.x (the ONNX tests) refuses Paddle 2 as it loads; its last 1.x, 1.3.1, converts Paddle 2 models.
PADDLE2ONNX ?= $(if $(filter paddlepaddle==2.% paddlepaddle-gpu==2.%,$(PADDLE)),paddle2onnx<2,paddle2onnx)
MNIST := data/mnist_data/train-images-idx3-ubyte

.PHONY: install run test data clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e ".[test]" "$(PADDLE)" "$(PADDLE2ONNX)"
	$(PY) -c "import paddle, numpy; print('paddle', paddle.__version__, 'numpy', numpy.__version__)"
	touch $@

data: $(MNIST)

$(MNIST): | install
	PYTHON=$(PY) sh data/get_mnist_data.sh

run: install data
	$(PY) -m paddle_gan.train -d mnist $(ARGS)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
