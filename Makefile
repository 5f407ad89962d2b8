# The two commands of the README: `make book` and `make test`. Both create .venv on their own.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# nbgrader 0.9.6 runs `alembic` in a subprocess, and jupyter-book its kernels: the venv's bin/
# goes first on PATH for every recipe.
export PATH := $(abspath $(VENV))/bin:$(PATH)

# CPU-only torch: `make book CPU=1` (or `make venv CPU=1`) installs torch from PyTorch's CPU
# wheel index (TORCH_INDEX), for torch alone, before the rest of requirements.txt: a .venv near
# 2 GB instead of the ~6 GB of torch's CUDA build, which the public index serves by default on
# Linux. Without it pip takes torch from its configured index (the CPU wheel on the course's
# build machines).
TORCH_INDEX ?= $(if $(CPU),https://download.pytorch.org/whl/cpu)

RELEASE := _build/release
JB_FLAGS := --warningiserror --keep-going

.PHONY: book release html instructor test clean venv

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX),$(PY) -m pip install --quiet --index-url $(TORCH_INDEX) \
	  "$$(grep -E '^torch==' requirements.txt)")
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# Student notebooks: _build/release/<assignment>/<assignment>.ipynb, and a copy of each as the
# book's exercise page (book/exercises/<assignment>.ipynb, shown but never executed).
# For a fast rebuild they are released again only when what they are made from changed, and a
# page is copied only when its content changed (a new copy makes Sphinx re-read the page).
RELEASE_INPUTS := _toc.yml $(wildcard solutions/*.md) $(shell find autograder -name '*.py')

$(RELEASE)/.released: $(VENV)/.installed $(RELEASE_INPUTS)
	$(PY) -m autograder release --out $(RELEASE)
	touch $@

release: $(RELEASE)/.released
	mkdir -p book/exercises
	for nb in $(RELEASE)/*/*.ipynb; do \
	  cmp -s "$$nb" "book/exercises/$${nb##*/}" || cp "$$nb" book/exercises/; done

# tools/jb.py is the jupyter-book command with ~1 s less startup (see its docstring).
html: $(VENV)/.installed
	$(PY) tools/jb.py build . $(JB_FLAGS)

book: release
	$(MAKE) html

# The instructor edition in _build/instructor/html: conceptual solutions shown, and each
# exercise page is its instructor source (reference solution and tests, executed). For
# instructors only, never published; it writes nothing outside _build/instructor.
instructor: $(VENV)/.installed
	$(PY) tools/instructor_edition.py

test: $(VENV)/.installed
	$(PY) -m pytest

clean:
	rm -rf _build .jupyter_cache book/exercises/*.ipynb
