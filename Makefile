# Pooldeck — every target is safe to re-run. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SCRIPTS := ops/scripts

.PHONY: typecheck help deps engine images images-if-missing load-images ui build run test test-unit chaos chaos-dockerd bench up provision ssh destroy lint-ops swarm-lab swarm-lab-down

help:
	@echo "make run      install what is missing, build images if needed, start Pooldeck on :5000"
	@echo "make test     the whole suite on a real dockerd and Chromium (what CI runs)"
	@echo "make images   (re)build the pool images (and load them into NODES=\"tcp://node:2375 ...\" or the Swarm at POOLDECK_DOCKER_HOST)"
	@echo "make swarm-lab|swarm-lab-down   a 2-node Docker Swarm lab on this machine (docs/swarm.md)"
	@echo "make up|provision|ssh|destroy   the Vagrant VM"

deps:
	@$(SCRIPTS)/ensure-deps.sh

engine:
	@$(SCRIPTS)/ensure-docker.sh

images: engine
	@$(SCRIPTS)/build-images.sh --force
	@$(MAKE) --no-print-directory load-images

# Air-gapped clusters: copy the pool images into each node's engine (no registry needed).
# NODES="tcp://10.0.0.5:2375 ssh://admin@node2 ..." and/or, with POOLDECK_ENGINE=swarm, every node
# of the Swarm at POOLDECK_DOCKER_HOST (through its pooldeck.engine label). Nothing to do otherwise.
load-images:
	@if [ -n "$(NODES)" ] || [ "$(POOLDECK_ENGINE)" = swarm ]; then \
	  $(SCRIPTS)/load-images.sh $(if $(filter swarm,$(POOLDECK_ENGINE)),--swarm "$(POOLDECK_DOCKER_HOST)") $(NODES); \
	fi

images-if-missing: engine
	@$(SCRIPTS)/build-images.sh

ui: deps
	@npm run --silent build:ui

# The UI into dist/ and the compiled server and CLI into build/ (plain node at run time).
build: deps
	@npm run --silent build

run: deps images-if-missing build
	@exec node --max-semi-space-size=2 build/server.js

# The Swarm tests need the lab (ops/scripts/swarm-lab.sh): brought up first (a running one is
# reused); when this run started it, its nodes are stopped afterwards (kept for a fast next start).
test: deps typecheck images-if-missing ui
	@$(SCRIPTS)/ensure-test-tools.sh
	@was_up=0; $(SCRIPTS)/swarm-lab.sh is-up && was_up=1; \
	$(SCRIPTS)/swarm-lab.sh up || echo "[swarm-lab] the lab did not come up: the Swarm tests will fail"; \
	rc=0; npm test || rc=$$?; \
	[ $$was_up = 1 ] || $(SCRIPTS)/swarm-lab.sh stop; \
	exit $$rc

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

# A Swarm of docker-in-docker nodes on this machine (ops/scripts/swarm-lab.sh, docs/swarm.md).
swarm-lab: engine images-if-missing
	@$(SCRIPTS)/swarm-lab.sh up $(N)

swarm-lab-down:
	@$(SCRIPTS)/swarm-lab.sh down
