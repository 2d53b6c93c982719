# Tasks for developers and CI (.ci/run calls these). Every target runs through uv and the lock file.
UV ?= uv
PY313 ?= 3.13

.PHONY: install lint format docs test-fast test test-py313 ci demo

install:
	$(UV) sync --frozen

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports
	$(UV) run sqlfluff lint metrics/definitions

format:
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

docs:
	$(UV) run mkdocs build --strict -d /tmp/hwb-scorecard-site

# The fast tier: unit tests, metric cases and small integration, no servers (tests/conftest.py).
test-fast:
	$(UV) run pytest -m fast -q

# The README's test command, verbatim.
test:
	$(UV) run pytest

# The fast tier again on the newest supported Python, in its own environment.
test-py313:
	UV_PROJECT_ENVIRONMENT=.venv-py313 $(UV) sync --frozen --python $(PY313) -q
	UV_PROJECT_ENVIRONMENT=.venv-py313 $(UV) run --python $(PY313) pytest -m fast -q -p no:cacheprovider

demo:
	$(UV) run scorecard run

ci: install lint docs test-fast test
