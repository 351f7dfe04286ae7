# The whole setup on a fresh machine:
#   make run    create .venv, install the right Paddle, fetch MNIST if missing, train the MNIST GAN
#               (make run ARGS=--resume continues it; ARGS passes any flags of python -m paddle_gan.train)
#   make test   the same environment, then the test suite (make test MARK="not slow": the quick part)
#   make demo-js   the demo page's JavaScript library (python -m paddle_gan.demo), from the npm registry
# Other Paddle builds: make test VENV=.venv-paddle2.6 PADDLE=paddlepaddle==2.6.2

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CUDA build when nvidia-smi sees a GPU, else the CPU build.
PADDLE ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo paddlepaddle-gpu || echo paddlepaddle)
# paddle2onnx 2.x (the ONNX tests) refuses Paddle 2 as it loads; its last 1.x, 1.3.1, converts Paddle 2 models.
PADDLE2ONNX ?= $(if $(filter paddlepaddle==2.% paddlepaddle-gpu==2.%,$(PADDLE)),paddle2onnx<2,paddle2onnx)
MNIST := data/mnist_data/train-images-idx3-ubyte

.PHONY: install run test data demo-js clean-venv

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

# The suite runs a test file per core (pytest-xdist), then alone the tests marked serial, whose signals must arrive
# at a moment a busy machine would delay. MARK narrows both, e.g. make test MARK="not slow".
TEST_JOBS ?= 2
MARK ?=
test: install
	$(PY) -m pytest -n $(TEST_JOBS) --dist loadfile -m "not serial$(if $(MARK), and ($(MARK)))" $(PYTEST_ARGS)
	$(PY) -m pytest -p no:xdist -m "serial$(if $(MARK), and ($(MARK)))" $(PYTEST_ARGS) || [ $$? -eq 5 ]  # 5: none

# onnxruntime-web, pinned, for demo/index.html: its CPU (WebAssembly) build only, out of the npm package; not in the
# repository, its .wasm being 14 MB. npm pack checks the tarball against the registry's checksum.
ORT_WEB := 1.30.0
ORT_DIR := demo/onnxruntime-web
ORT_FILES := ort.wasm.min.js ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm

demo-js: $(ORT_DIR)/package.json

$(ORT_DIR)/package.json:
	rm -rf $(ORT_DIR).tmp && mkdir -p $(ORT_DIR).tmp
	cd $(ORT_DIR).tmp && npm pack --silent onnxruntime-web@$(ORT_WEB) >/dev/null
	tar -xzf $(ORT_DIR).tmp/onnxruntime-web-$(ORT_WEB).tgz -C $(ORT_DIR).tmp package/package.json \
		$(addprefix package/dist/,$(ORT_FILES))
	mkdir -p $(ORT_DIR)
	mv $(addprefix $(ORT_DIR).tmp/package/dist/,$(ORT_FILES)) $(ORT_DIR)/
	mv $(ORT_DIR).tmp/package/package.json $(ORT_DIR)/  # last: the target, so a failed copy is redone
	rm -rf $(ORT_DIR).tmp

clean-venv:
	rm -rf $(VENV)
