# Chop-chop: `make run` starts the whole suite locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONPATH := $(CURDIR)

# Replica counts and ports reach `make run` from the command line, e.g. `make run POSTS_REPLICAS=2`.
export AUTH_REPLICAS POSTS_REPLICAS SOCIAL_REPLICAS CHAT_REPLICAS GATEWAY_PORT

.PHONY: install run test test-drills lint format seed bench clean admin

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

run: install
	$(BIN)/python -m devstack

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Fault drills against a stack of their own (kills, Redis and PostgreSQL outages), with figures,
# then the long schemathesis run (50 examples per operation: about 3 minutes on 2 cores).
SCHEMATHESIS_EXAMPLES ?= 50
test-drills: install
	$(BIN)/python -m pytest -m drill -s -p no:cacheprovider tests/drills $(PYTEST_ARGS)
	SCHEMATHESIS_EXAMPLES=$(SCHEMATHESIS_EXAMPLES) $(BIN)/python -m pytest -p no:cacheprovider \
		-o timeout=600 tests/hardening/test_schemathesis.py $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

seed: install
	$(BIN)/python -m bench.seed

# Sets a user's role: `make admin NAME=alice ROLE=moderator` (NAME, not USER, which every shell
# sets). Inside the image: `python -m auth_service.admin alice moderator`.
admin: install
	$(BIN)/python -m devstack.admin "$(NAME)" "$(ROLE)"

bench: install
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.gateway
	$(BIN)/python -m bench.chat
	$(BIN)/python -m bench.writes
	$(BIN)/python -m bench.scale

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
