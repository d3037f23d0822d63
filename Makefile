# Chop-chop: `make run` starts the whole suite locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONPATH := $(CURDIR)

# Replica counts and ports reach `make run` from the command line, e.g. `make run POSTS_REPLICAS=2`.
export AUTH_REPLICAS POSTS_REPLICAS SOCIAL_REPLICAS CHAT_REPLICAS GATEWAY_REPLICAS GATEWAY_PORT

.PHONY: install web-client run test test-drills test-upgrade test-compose lint format seed bench web-api clean admin

install: $(VENV)/.installed web-client

# The web client (web/) is built when Node.js 20.19+ and npm are here; without them the API
# still runs and the gateway's pages say how to build it. npm ci runs when a lockfile changed,
# the build when a source did (the stamps, like the venv's .installed).
NODE_OK := $(shell node -e 'const [a, b] = process.versions.node.split(".").map(Number); \
	process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' >/dev/null 2>&1 && \
	command -v npm >/dev/null 2>&1 && echo yes)
WEB_NODE := web/node_modules/.installed
WEB_E2E_NODE := web/e2e/node_modules/.installed
WEB_BUILT := web/dist/.built
WEB_SOURCES := $(shell find web/src web/public web/index.html web/package.json web/vite.config.ts \
	web/svelte.config.js web/tsconfig.json -type f 2>/dev/null)

ifeq ($(NODE_OK),yes)
web-client: $(WEB_BUILT) $(WEB_E2E_NODE)
else
web-client:
	@echo "web client not built: Node.js 20+ not found; the API still runs"
endif

$(WEB_NODE): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# playwright-core drives the system's Chromium (/usr/bin/chromium); it never downloads one.
$(WEB_E2E_NODE): web/e2e/package-lock.json
	cd web/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_BUILT): $(VENV)/.installed $(WEB_NODE) $(WEB_SOURCES)
	cd web && npm run build
	$(BIN)/python -m gateway.webclient web/dist
	touch $@

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

run: install
	$(BIN)/python -m devstack

# The suite runs in TEST_WORKERS processes (pytest-xdist), each with servers and a stack of its
# own, a test file staying in one process; TEST_WORKERS=0 runs it in this one.
TEST_WORKERS ?= 2
test: install
ifeq ($(NODE_OK),yes)
	cd web && npm test
endif
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Fault drills against a stack of their own (kills, Redis and PostgreSQL outages), with figures,
# then the long schemathesis run (50 examples per operation: about 3 minutes on 2 cores) with a
# fresh random seed, printed first (SCHEMATHESIS_SEED=<n> replays one), and its stateful phase.
SCHEMATHESIS_EXAMPLES ?= 50
SCHEMATHESIS_STATEFUL ?= 30
test-drills: install
	$(BIN)/python -m pytest -m drill -s -p no:cacheprovider tests/drills $(PYTEST_ARGS)
	@seed=$${SCHEMATHESIS_SEED:-$$($(BIN)/python -c 'import secrets; print(secrets.randbelow(2**32))')}; \
	echo "schemathesis seed: $$seed (replay: SCHEMATHESIS_SEED=$$seed make test-drills)"; \
	SCHEMATHESIS_SEED=$$seed SCHEMATHESIS_EXAMPLES=$(SCHEMATHESIS_EXAMPLES) \
	SCHEMATHESIS_STATEFUL=$(SCHEMATHESIS_STATEFUL) $(BIN)/python -m pytest -p no:cacheprovider \
		-o timeout=900 tests/hardening/test_schemathesis.py $(PYTEST_ARGS)

# The reference release (tests/upgrade/reference.py) writes a data set, this checkout runs on
# it, and the reference release runs again on the upgraded schema (see the README's "Upgrading").
test-upgrade: install
	$(BIN)/python -m pytest -m upgrade -p no:cacheprovider tests/upgrade $(PYTEST_ARGS)

# The compose deployment for real (tests/compose): the engine, Compose v2 and the base images
# are prepared when missing (local stand-ins from Debian's packages where no registry serves
# the real ones: see the README's "Deploying"), the image is built once, the stack scaled, used,
# broken and rolled through the published gateway, and taken down with its volumes.
test-compose: install
	bash tests/compose/prepare.sh
	$(BIN)/python -m pytest -m compose -s -p no:cacheprovider tests/compose $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
ifeq ($(NODE_OK),yes)
	cd web && npm run lint
endif

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

seed: install
	$(BIN)/python -m bench.seed

# Sets a user's role: `make admin NAME=alice ROLE=moderator` (NAME, not USER, which every shell
# sets). Inside the image: `python -m auth_service.admin alice moderator`.
admin: install
	$(BIN)/python -m devstack.admin "$(NAME)" "$(ROLE)"

# The soak runs SOAK_MINUTES (an hour for the figures of bench/README.md: `make bench SOAK_MINUTES=60`).
SOAK_MINUTES ?= 15
bench: install
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.gateway
	$(BIN)/python -m bench.chat
	$(BIN)/python -m bench.chat --idle 10000
	$(BIN)/python -m bench.mixed
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES)
	$(BIN)/python -m bench.writes
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.web

# The committed OpenAPI snapshot of the web client (web/openapi.json) and its types, from the
# merged document of a stack started for the purpose.
web-api: install
	$(BIN)/python -m devstack.openapi web/openapi.json
	cd web && npm run gen:api

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
