# pqlbot — run `make help` for the targets.
SHELL := /bin/bash
GO    ?= go

.PHONY: help run test lint bench bench-service migrate fuzz build docker demo

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/pqlbot
	$(GO) build -o bin/pqlbot ./cmd/pqlbot

run: ## run the bot (finds or starts PostgreSQL, dev write key, Slack dry run)
	@scripts/run.sh

test: ## start PostgreSQL if needed, then go vet and go test -race (with the real-SDK suite when node and chromium exist)
	@command -v node >/dev/null && [ -x "$${CHROMIUM:-/usr/bin/chromium}" ] || \
	  echo "make test: the real-SDK suite (e2e/sdk) will NOT run: install node and chromium (apt-get install -y nodejs npm chromium)"
	@export PQLBOT_TEST_DATABASE_URL=$${PQLBOT_TEST_DATABASE_URL:-$$(scripts/devdb.sh)} && \
	  $(GO) vet ./... && \
	  $(GO) test -race -count=1 -timeout 20m ./...

lint: ## go vet, gofmt and staticcheck
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: ## run the benchmarks against real PostgreSQL and print figures
	@export PQLBOT_TEST_DATABASE_URL=$${PQLBOT_TEST_DATABASE_URL:-$$(scripts/devdb.sh)} && \
	  echo "== pure code (ns/op, allocs/op)" && \
	  $(GO) test -run '^$$' -bench . -benchmem ./internal/... && \
	  echo "== end to end over real HTTP and PostgreSQL (one run each; builds 100k accounts / 10M events)" && \
	  $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./handlers ./store ./cmd/pqlbot

bench-service: ## only the whole-service benchmark (the real binary, all workers, baselines in the same run)
	@export PQLBOT_TEST_DATABASE_URL=$${PQLBOT_TEST_DATABASE_URL:-$$(scripts/devdb.sh)} && \
	  $(GO) test -run '^$$' -bench BenchmarkService -benchtime 1x -timeout 30m ./cmd/pqlbot

migrate: ## apply migrations to DATABASE_URL (or the dev database)
	@if [ -z "$$DATABASE_URL" ]; then admin=$$(scripts/devdb.sh); \
	  psql "$$admin" -tAc "SELECT 1 FROM pg_database WHERE datname='pqlbot'" | grep -q 1 || psql "$$admin" -qc "CREATE DATABASE pqlbot"; \
	  export DATABASE_URL=$${admin%%/postgres\?*}/pqlbot?sslmode=disable; fi; \
	  $(GO) run ./cmd/pqlbot migrate

fuzz: ## run each fuzz target for 30s
	$(GO) test ./internal/events -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 30s
	$(GO) test ./internal/events -run '^$$' -fuzz FuzzDecodeBody -fuzztime 30s
	$(GO) test ./internal/model -run '^$$' -fuzz FuzzParse -fuzztime 30s
	$(GO) test ./internal/slackui -run '^$$' -fuzz FuzzParseCommand -fuzztime 30s
	$(GO) test ./internal/slackapi -run '^$$' -fuzz FuzzParseTS -fuzztime 30s
	$(GO) test ./internal/commands -run '^$$' -fuzz FuzzHandle -fuzztime 30s
	$(GO) test ./internal/outcomes -run '^$$' -fuzz FuzzParseCSV -fuzztime 30s

demo: ## replay the bundled demo dataset into a running `make run`, then play its past month (reps, CRM outcomes)
	@if [ -z "$$DATABASE_URL" ]; then admin=$$(scripts/devdb.sh); \
	  export DATABASE_URL=$${admin%%/postgres\?*}/pqlbot?sslmode=disable; fi; \
	  $(GO) run ./cmd/pqldemo $(DEMO_FLAGS)

docker: ## build the container image (needs a Docker engine)
	docker build -t pqlbot:dev .
