# The README's commands. `make test` is what CI runs.
GO ?= go

.PHONY: test demo build fuzz bench

test:
	$(GO) test -race -count=1 -timeout 12m ./...

demo:
	$(GO) run ./cmd/pagereply demo

build:
	CGO_ENABLED=0 $(GO) build -o pagereply ./cmd/pagereply

# Short fuzz runs of every decoder (each target a bounded time).
fuzz:
	./scripts/fuzz.sh 20s
