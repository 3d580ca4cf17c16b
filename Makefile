# aigw — the two commands a newcomer needs are `make run` and `make test`.
# Both work on a fresh Debian machine as root: they install what is missing first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test test-native build build-debug lint typecheck bench clean sysdeps pgdeps test-sysdeps image

# System packages: a Python with venv and headers, and a C compiler and SQLite's header for the
# Cython core (its call-log writer uses SQLite's C API).
sysdeps:
	@$(PYTHON) -c 'import sys, sysconfig, os, venv, ensurepip; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null \
	  && command -v cc >/dev/null \
	  && echo '#include <sqlite3.h>' | cc -E - >/dev/null 2>&1 \
	  || (apt-get update -q && apt-get install -y -q python3 python3-venv python3-dev build-essential libsqlite3-dev)

# The tests start a private PostgreSQL server of their own (bench/services.py): its programs.
pgdeps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || (apt-get update -q && apt-get install -y -q postgresql)

$(BIN)/python: | sysdeps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The native core's sources: a change to any of them (or to the build files) recompiles it.
NATIVE_SRC := setup.py pyproject.toml $(wildcard _native/*.pyx _native/*.pxi _native/*.pxd)
NATIVE     := $(VENV)/.native-built

# Compiles _native/ into gateway/_native*.so (editable install: Python source changes apply at
# once). The stamp makes a second `make build` / `make run` a no-op until a native source changes.
build: $(NATIVE)

$(NATIVE): $(NATIVE_SRC) | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# A debug build drops the stamp, so the next `make build` compiles the optimised core again.
build-debug: $(BIN)/python
	AIGW_DEBUG=1 $(BIN)/pip install -q -e .
	rm -f $(NATIVE)
	@echo "annotated Cython: _native/core.html"

run: build
	$(BIN)/aigw serve $(ARGS)

# Installing the test extras compiles the native core too: its stamp is fresh afterwards.
# atheris (coverage-guided fuzzing, tests/fuzz) ships wheels for some platforms only; elsewhere it
# needs a clang with libFuzzer, so its tests skip where it does not install.
$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --only-binary :all: atheris \
	  || echo "atheris has no wheel here: the atheris fuzz targets are skipped"
	touch $@ $(NATIVE)

# What tests/deploy runs for real: nginx and HAProxy in front of aigw nodes, tini (the image's
# PID 1), shellcheck for the image's scripts, and Debian's Python for a venv any user can run;
# the headless Chromium that tests/console drives through Playwright's driver (nothing is
# downloaded at test time); promtool (Debian's prometheus) for deploy/observability; and the
# redis-server the cluster tests and bench start privately (bench/services.py).
TEST_SYSDEPS := nginx haproxy tini shellcheck python3-venv chromium chromium-driver prometheus redis-server

test-sysdeps:
	@missing=$$(for p in $(TEST_SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  [ -z "$$missing" ] || (apt-get update -q && apt-get install -y -q --no-install-recommends $$missing)

test: $(VENV)/.test-deps build pgdeps test-sysdeps
	$(BIN)/python -m pytest tests

# The end-to-end suite again with every gateway on the native HTTP/1.1 front (`server.engine`).
test-native: $(VENV)/.test-deps build pgdeps test-sysdeps
	AIGW_TEST_ENGINE=native $(BIN)/python -m pytest tests/e2e

lint: $(VENV)/.test-deps
	$(BIN)/ruff check gateway tests bench fuzz
	$(BIN)/ruff format --check gateway tests bench fuzz
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.test-deps
	$(BIN)/mypy

bench: build
	$(BIN)/python -m bench $(ARGS)

# The container image (deploy/docker/Dockerfile), built and smoke-tested: needs a Docker engine.
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' gateway/_version.py)
image:
	@docker info >/dev/null 2>&1 || { echo "make image: no Docker engine answers here (docker info failed)"; exit 1; }
	sh deploy/docker/smoke.sh aigw:$(VERSION)

clean:
	rm -rf build dist *.egg-info gateway/*.so _native/*.c _native/*.html .pytest_cache .mypy_cache .ruff_cache $(NATIVE)
