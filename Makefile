# The two commands that matter: `make run` (the platform with demo data) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ONESTOP_CACHE ?= $(HOME)/.cache/onestop
export ONESTOP_CACHE
BIN := $(ONESTOP_CACHE)/bin
# The services come from the one list in the chassis (read with the system Python: no venv needed).
SERVICES_PY := libs/chassis/src/onestop_chassis/services.py
SERVICES := $(shell $(PYTHON) $(SERVICES_PY) names)
PACKAGES := libs/contracts libs/chassis $(addprefix services/,$(SERVICES))
PROTOS := $(shell find protos -name '*.proto')
GENERATED := libs/contracts/src/onestop/__init__.py
PYTEST := $(PY) -m pytest -p no:cacheprovider

.PHONY: help deps tools install protos lint lint-protos breaking stack stack-down run stop status \
        token test test-unit test-integration test-e2e bench clean constraints image service \
        stubs dist asyncapi docs openapi

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

deps:  ## system packages from Debian (needs root): RabbitMQ; Chromium for the page tests
	@[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && command -v chromium >/dev/null || { \
	  echo "installing rabbitmq-server and chromium from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server chromium >/dev/null; }
	@command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null

tools:  ## build FerretDB, MinIO, grpcurl, buf, ghz, kustomize, kubeconform (and its schemas) into $(ONESTOP_CACHE), outside the clone
	@bash deploy/local/build-tools.sh

$(VENV)/.installed: constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	@$(PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); } \
	  || { echo "ERROR: '$(PYTHON) -m venv' failed: on Debian install python3-venv" >&2; exit 1; }
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
	$(PY) libs/contracts/generate.py
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt $(addprefix -e ,$(PACKAGES))
	@touch $@

$(GENERATED): $(PROTOS) libs/contracts/generate.py | $(VENV)/.installed
	$(PY) libs/contracts/generate.py

install: $(VENV)/.installed $(GENERATED)  ## the virtualenv with every package (editable) and generated stubs

protos: install  ## regenerate the Python stubs from protos/
	$(PY) libs/contracts/generate.py

lint: install  ## the lint and type gate: ruff (ruff.toml), then mypy (mypy.ini); fails on any finding
	@rc=0; $(VENV)/bin/ruff check . || rc=1; $(VENV)/bin/mypy || rc=1; exit $$rc

lint-protos: tools  ## buf STANDARD lint
	$(BIN)/buf lint

breaking: tools  ## buf breaking: protos/ against the recent history of main
	@bash deploy/local/proto-breaking.sh

stack: deps tools  ## start RabbitMQ, FerretDB and MinIO on 127.0.0.1 (harmless when already up)
	@bash deploy/local/stack.sh up

stack-down:  ## stop the local stack
	@bash deploy/local/stack.sh down

run: install stack  ## the whole platform with demo data, in the background; `make stop` ends it
	@$(VENV)/bin/onestop-intake-seed
	@bash deploy/local/services.sh up
	@$(VENV)/bin/onestop-routing-seed
	@bash deploy/local/endpoints.sh

stop:  ## stop the services and the stack
	@bash deploy/local/services.sh down
	@bash deploy/local/stack.sh down

status:  ## what is running
	@bash deploy/local/stack.sh status
	@bash deploy/local/services.sh status

token: install  ## print a demo desk-officer bearer token
	@$(VENV)/bin/onestop-token

test: install lint lint-protos breaking stack  ## the lint gate first, then every test tier: unit, integration, end-to-end
	$(PYTEST) tests/unit
	$(PYTEST) tests/integration
	$(PYTEST) tests/e2e

test-unit: install tools  ## unit tests only (no servers; the manifest tests use kustomize)
	$(PYTEST) tests/unit

test-integration: install stack  ## integration tests against the real local stack
	$(PYTEST) tests/integration

test-e2e: install stack  ## end-to-end: services as processes, called over gRPC
	$(PYTEST) tests/e2e

BENCH_SECTIONS := outbox documents intake relay routing survey delivery
bench: install stack  ## benchmarks, all or some (`make bench relay`); writes bench/reports/
	$(PY) -m bench $(filter $(BENCH_SECTIONS),$(MAKECMDGOALS))
ifneq ($(filter bench,$(MAKECMDGOALS)),)
$(BENCH_SECTIONS): ; @:  # section names after `bench` are its arguments, not targets
endif

IMAGE_TAG ?= 0.1.0
image:  ## build one service's container image (SERVICE=intake), with Docker BuildKit
	@[ -n "$(SERVICE)" ] || { echo "usage: make image SERVICE=<$(SERVICES)>" >&2; exit 2; }
	docker build --build-arg SERVICE=$(SERVICE) --build-arg PORTS="$$($(PYTHON) $(SERVICES_PY) ports $(SERVICE))" \
	  --build-arg REVISION="$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	  -t ghcr.io/onestop-vn/onestop-$(SERVICE):$(IMAGE_TAG) .

service:  ## a new service from the template (NAME=<name>, AGGREGATE=<Word>): rendered, registered, installed
	@[ -n "$(NAME)" ] || { echo "usage: make service NAME=<name> [AGGREGATE=<Word>]; see CONTRIBUTING.md" >&2; exit 2; }
	@$(MAKE) --no-print-directory install
	$(PY) templates/scaffold.py $(NAME) $(if $(AGGREGATE),--aggregate $(AGGREGATE))
	@$(MAKE) --no-print-directory install  # again: the list now names the new package (and its contract)

constraints:  ## re-pin every installed package into constraints.txt
	@{ head -2 constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^onestop-'; } > constraints.new && mv constraints.new constraints.txt

STUBS_OUT ?= .
stubs: tools  ## partner kit: Go, Java, Python and TypeScript stubs from protos/ into gen/ (buf.gen.yaml, local plugins)
	@bash deploy/local/build-tools.sh protoc protoc-gen-grpc-java ts-proto
	rm -rf $(STUBS_OUT)/gen
	PATH="$(BIN):$(ONESTOP_CACHE)/ts-proto/node_modules/.bin:$$PATH" $(BIN)/buf generate --template buf.gen.yaml -o $(STUBS_OUT)
	cp deploy/partner-kit/go.mod $(STUBS_OUT)/gen/go/go.mod

DIST_DIR ?= dist
dist: install  ## partner kit: the onestop-contracts wheel (the Python stubs) into dist/
	$(PY) -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w $(DIST_DIR) libs/contracts
	@ls $(DIST_DIR)/onestop_contracts-*.whl

asyncapi: install  ## partner kit: regenerate docs/asyncapi.yaml from the event protos
	$(PY) libs/contracts/asyncapi.py

docs: install tools  ## partner kit: everything generated from the protos (reference, AsyncAPI, OpenAPI)
	$(PY) libs/contracts/reference.py
	$(PY) libs/contracts/asyncapi.py
	$(PY) libs/contracts/openapi.py

openapi: install tools  ## partner kit: the REST gateway's OpenAPI document into docs/openapi/ (protoc-gen-openapiv2)
	$(PY) libs/contracts/openapi.py

clean:  ## remove the virtualenv, generated stubs and local data (not the tool cache)
	rm -rf $(VENV) libs/contracts/src .local
