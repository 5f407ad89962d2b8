# The two commands of the README: `make book` and `make test`. Both create .venv on their own.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# nbgrader 0.9.6 runs `alembic` in a subprocess, and jupyter-book its kernels: the venv's bin/
# goes first on PATH for every recipe.
export PATH := $(abspath $(VENV))/bin:$(PATH)

RELEASE := _build/release
JB_FLAGS := --warningiserror --keep-going

.PHONY: book release html instructor test clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# Student notebooks: _build/release/<assignment>/<assignment>.ipynb, and a copy of each as the
# book's exercise page (book/exercises/<assignment>.ipynb, shown but never executed).
release: $(VENV)/.installed
	$(PY) -m autograder release --out $(RELEASE)
	mkdir -p book/exercises
	for nb in $(RELEASE)/*/*.ipynb; do cp "$$nb" book/exercises/; done

html: $(VENV)/.installed
	$(VENV)/bin/jupyter-book build . $(JB_FLAGS)

book: release
	$(MAKE) html

test: $(VENV)/.installed
	$(PY) -m pytest

clean:
	rm -rf _build .jupyter_cache book/exercises/*.ipynb
