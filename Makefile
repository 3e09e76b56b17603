# Kexie — the two commands are `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= kexie.settings.local

.PHONY: run install setup test lint pytest messages bench clean help

help:
	@echo "make run    install, migrate, load the demo and serve on http://127.0.0.1:$(PORT)"
	@echo "make test   lint and the whole test suite (DATABASE_URL picks the database)"
	@echo "make lint   ruff, djlint, Django checks, migrations check"

$(VENV)/.installed: requirements/dev.lock
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements/dev.lock
	touch $@

node_modules/.installed: package.json package-lock.json scripts/vendor.sh
	npm ci --no-audit --no-fund --ignore-scripts
	bash scripts/vendor.sh
	touch $@

kexie/locale/zh_Hans/LC_MESSAGES/django.mo: kexie/locale/zh_Hans/LC_MESSAGES/django.po $(VENV)/.installed
	cd kexie && ../$(PY) ../manage.py compilemessages --ignore=.venv -v 0

install: $(VENV)/.installed node_modules/.installed kexie/locale/zh_Hans/LC_MESSAGES/django.mo

setup: install
	mkdir -p var
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py sync_code_tables
	$(PY) manage.py load_demo --if-empty --quiet-logins

run: setup
	@bash scripts/run.sh $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djlint kexie/templates --lint
	bash scripts/check_messages.sh
	bash scripts/pip_audit.sh
	DJANGO_SETTINGS_MODULE=kexie.settings.test $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=kexie.settings.test $(PY) manage.py makemigrations --check --dry-run -v 0

pytest: install
	DJANGO_SETTINGS_MODULE=kexie.settings.test $(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint pytest

messages: install
	cd kexie && ../$(PY) ../manage.py makemessages -l zh_Hans --ignore=.venv --no-obsolete
	cd kexie && ../$(PY) ../manage.py compilemessages --ignore=.venv

bench: install
	DJANGO_SETTINGS_MODULE=kexie.settings.test $(PY) scripts/bench.py

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache
