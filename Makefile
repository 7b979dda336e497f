# Two commands do everything on a fresh machine:
#   make demo   - install into .venv, then train every task briefly on synthetic data and score it
#   make test   - install into .venv, then lint (ruff, import contracts), type-check and run the test suite
# The install takes the exact versions of requirements/lock.txt; `make lock` regenerates the lock files.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_out
PYTEST_ARGS ?=
# `make lock` needs uv (pip install uv) and PyPI; LOCK_FLAGS=--upgrade moves every pin to the newest release
# (without it, the pins already in the lock files are kept wherever the requirements allow).
UV ?= uv
LOCK_FLAGS ?=

.PHONY: install lock demo test lint typecheck pytest bench gpu-wheels clean

install: $(STAMP)

# Every dependency at its locked version, then the package itself without resolving anything.
# A stale lock stops the install (run `make lock`): the grep if it lacks a pin of requirements/cpu.txt,
# pip check if pyproject.toml asks for something it lacks.
# pip compiles every installed module to bytecode on one core; compileall does the same on every core
# (about a minute less on two cores: docs/performance.md). pip skips the few files that do not compile (two in the lock, one of
# them written for Python 3.12 only); compileall reports them and fails, hence `|| true`.
$(STAMP): pyproject.toml requirements/cpu.txt requirements/lock.txt
	grep -E '^[a-z]' requirements/cpu.txt | while read -r pin; do \
	    grep -Eq "^$$pin( |$$)" requirements/lock.txt || { echo "requirements/lock.txt lacks $$pin: run make lock" >&2; exit 1; }; done
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install --no-compile -r requirements/lock.txt
	$(BIN)/python -m compileall -qq -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" || true
	$(BIN)/python -m pip install --no-deps -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# requirements/lock.txt: pyproject.toml's dependencies with the [tasks,dev] extras and the torch pair of
# requirements/cpu.txt, for any Python >= 3.10 and OS (universal: environment markers pick the lines).
# It is resolved against PyPI, not this machine's pip indexes: pip then installs the same versions from
# wherever its configuration finds them (local wheel directories included).
# requirements/lock-docker.txt: the image's set (Python 3.12 of Ubuntu 24.04, [tasks] only) without torch,
# torchvision and the CUDA libraries torch pins (nvidia-*, cuda-*, triton): the Dockerfile installs those
# from the PyTorch CUDA 12.8 index first, at the versions of requirements/cpu.txt.
lock:
	$(UV) pip compile --quiet --no-python-downloads $(LOCK_FLAGS) pyproject.toml requirements/cpu.txt \
	    --extra tasks --extra dev --extra cluster --extra trackers --universal --python-version 3.10 -o requirements/lock.txt \
	    --custom-compile-command "make lock (uv pip compile pyproject.toml requirements/cpu.txt --extra tasks --extra dev --extra cluster --extra trackers --universal --python-version 3.10)"
	$(UV) pip compile --quiet --no-python-downloads $(LOCK_FLAGS) pyproject.toml --extra tasks -c requirements/cpu.txt \
	    --python-version 3.12 --python-platform x86_64-manylinux_2_39 -o requirements/lock-docker.txt \
	    $$(sed -nE 's/^(torch|torchvision|triton|nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+)==.*/--no-emit-package \1/p' requirements/lock.txt | sort -u) \
	    --custom-compile-command "make lock (uv pip compile pyproject.toml --extra tasks -c requirements/cpu.txt --python-version 3.12 --python-platform x86_64-manylinux_2_39 --no-emit-package torch ...)"

demo: $(STAMP)
	$(BIN)/baselines demo --out $(DEMO_OUT)

# lint-imports holds pyproject.toml's import contracts: the floors of docs/extending.md, no import cycles,
# and no torch under baselines validate / evaluate.
lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --durations=15 $(PYTEST_ARGS)

# mypy runs on one core for about a minute: beside the test suite rather than before it (its few lines
# may land among pytest's progress dots; make still fails when either fails).
test: lint
	$(MAKE) --no-print-directory -j2 typecheck pytest

bench: $(STAMP)
	for script in scripts/bench_*.py; do $(BIN)/python $$script || exit 1; done

# The wheels the GPU machines lack for scripts/gpu_check.sh (hydra-core, albumentations, open_clip, MONAI, ...),
# CPython 3.12 manylinux x86-64, at the versions of requirements/lock.txt, no dependencies resolved beyond the
# list in scripts/gpu_wheels.py, into the git-ignored .whl/ (replacing what was there; fails over 64 MiB).
# Carry it with the device tool's `carry: [".whl"]` (docs/performance.md). GPU_PYTHON=3.11 for another Python.
# Needs only $(PYTHON) with pip and PyPI, not the venv.
GPU_PYTHON ?= 3.12

gpu-wheels:
	$(PYTHON) scripts/gpu_wheels.py download --dest .whl --python $(GPU_PYTHON)

clean:
	rm -rf $(DEMO_OUT) outputs .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
