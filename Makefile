# The README's commands. `make test` is what CI runs.
GO ?= go

.PHONY: test demo build fuzz chaos chaos-long bench

# The packages run two at a time on a 2-core machine (go test -p is
# GOMAXPROCS), in the order they are named: the longest first (worker about
# 200 s, tasks 100, cmd/pagereply and chaos 80 each), then ./... for the rest,
# so that worker, the longest, does not start last and run alone at the end
# (listed in ./...'s order it began after every other package had, and CI
# waited about 100 s on it with one slot idle). The same packages and tests.
# TEST_TIMEOUT and CHAOS_TIMEOUT are go test's -timeout; .ci/run lowers them
# to what is left of CI's 15 minutes.
TEST_TIMEOUT ?= 12m
CHAOS_TIMEOUT ?= 10m

test:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./worker/ ./tasks/ ./cmd/pagereply/ ./chaos/ ./api/ ./e2e/ ./...

demo:
	$(GO) run ./cmd/pagereply demo

build:
	CGO_ENABLED=0 $(GO) build -o pagereply ./cmd/pagereply

# Short fuzz runs of every decoder (each target a bounded time; CI runs this:
# 2s a target keeps CI well under its 15 minutes; scripts/fuzz.sh 1m for more).
fuzz:
	./scripts/fuzz.sh 2s

# The chaos suite (issue 7): processes SIGKILLed, Redis restarted, Graph
# faults. The short form runs in CI; chaos-long is the full 10,000 comments.
chaos:
	$(GO) test -tags chaos -count=1 -timeout $(CHAOS_TIMEOUT) -v -run Chaos ./chaos/

chaos-long:
	$(GO) test -tags chaos -count=1 -timeout 60m -v -run Chaos ./chaos/ -chaos.long
