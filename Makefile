# Pooldeck — every target is safe to re-run. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SCRIPTS := ops/scripts

.PHONY: typecheck help deps engine images images-if-missing ui run test test-unit chaos chaos-dockerd bench up provision ssh destroy lint-ops

help:
	@echo "make run      install what is missing, build images if needed, start Pooldeck on :5000"
	@echo "make test     the whole suite on a real dockerd and Chromium (what CI runs)"
	@echo "make images   (re)build the pool images"
	@echo "make up|provision|ssh|destroy   the Vagrant VM"

deps:
	@$(SCRIPTS)/ensure-deps.sh

engine:
	@$(SCRIPTS)/ensure-docker.sh

images: engine
	@$(SCRIPTS)/build-images.sh --force

images-if-missing: engine
	@$(SCRIPTS)/build-images.sh

ui: deps
	@npm run --silent build

run: deps images-if-missing ui
	@npm start

test: deps typecheck images-if-missing ui
	@$(SCRIPTS)/ensure-test-tools.sh
	@npm test

test-unit: deps
	@npx ava 'test/unit/**/*.test.ts'

chaos: deps images-if-missing
	@npx ava --config ava.chaos.config.js

# Restarts the machine's dockerd: every container on it stops. Never while others use the engine.
chaos-dockerd: deps images-if-missing
	@POOLDECK_CHAOS_DOCKERD=1 npx ava --config ava.chaos.config.js test/chaos/dockerd-restart.test.ts

bench: deps images-if-missing
	@npm run --silent bench

up:
	vagrant up --provision

provision:
	vagrant provision

ssh:
	vagrant ssh

destroy:
	vagrant destroy -f

typecheck: deps
	@npm run --silent typecheck

lint-ops:
	@$(SCRIPTS)/ensure-test-tools.sh
	@npx ava test/ops/lint.test.ts
