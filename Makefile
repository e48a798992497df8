# The README's commands. `make test` is what CI runs.
GO ?= go

.PHONY: test demo build fuzz chaos chaos-long bench

# The packages run three at a time (go test -p 3; its default is GOMAXPROCS,
# two on a 2-core machine), in the order they are named: the longest first
# (worker about 300-370 s, api 190, cmd/pagereply 140, tasks 100, chaos 70),
# then ./... for the rest. Most of a package's run waits on the product's
# timers, Redis and child processes, not on the CPU: at two at a time the
# machine sat half idle and the run took about 600 s on a 2-core host; at
# three, the other packages all finish while worker runs, and the run takes
# about 380 s (measured 8 Dec 2026: 619 s at -p 2, 381 s at -p 3, the same
# tests, all passing). The same packages and tests.
# TEST_TIMEOUT and CHAOS_TIMEOUT are go test's -timeout; .ci/run lowers them
# to what is left of CI's 15 minutes.
TEST_TIMEOUT ?= 12m
CHAOS_TIMEOUT ?= 10m

test:
	$(GO) test -p 3 -race -count=1 -timeout $(TEST_TIMEOUT) ./worker/ ./tasks/ ./cmd/pagereply/ ./chaos/ ./api/ ./e2e/ ./...

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
