# FaceMirror. `make run` and `make test` do all set-up on a fresh Debian 12
# machine (as root): apt packages, ONNX Runtime, model files.

SHELL      := /bin/bash
GO         ?= go
BIN        := facemirror
ROOT       := $(abspath .)
VERSION    := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -X facemirror/app.Version=$(VERSION)
SHARED     ?= $(abspath ../shared)
MODELS_SRC := $(wildcard $(SHARED)/openface-models)

export CGO_ENABLED := 1
export FACEMIRROR_ORT_LIB ?= $(ROOT)/.ort/libonnxruntime.so.1

.PHONY: all deps ort models build run test test-faults test-cluster bench lint package screenshot clean

all: build

deps:
	@scripts/deps.sh

ort:
	@scripts/ort.sh

build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) .

models: build
	./$(BIN) models install $(if $(MODELS_SRC),--from $(MODELS_SRC))

run: models
	./$(BIN)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Tests that need ../shared fail, never skip, when it is missing.
test: models lint
	@# FACEMIRROR_FORKSERVER=1: test binaries start their helpers from a fork
	@# server, as the program does (internal/forkserver); app/worker's tests
	@# cover both ways of starting one.
	FACEMIRROR_FORKSERVER=1 FACEMIRROR_REQUIRE_SHARED=1 $(GO) test -count=1 -timeout 25m ./...
	@# The real window (under Xvfb when there is no display), driven by
	@# keyboard: two videos processed, exported, screenshots checked.
	scripts/with-display.sh scripts/window-test.sh ./$(BIN) out

# Not in CI: 20 helper faults drawn at random (mode, fault, input, frame,
# once or on every retry), each checked against a clean run; a table at the
# end. FACEMIRROR_FAULT_RUNS and FACEMIRROR_FAULT_SEED repeat or widen it.
test-faults: models
	set -o pipefail; FACEMIRROR_FORKSERVER=1 FACEMIRROR_REQUIRE_SHARED=1 $(GO) test -tags faultcampaign -count=1 -timeout 60m -run '^TestFaultCampaign$$' -v ./app/job/ | \
		grep -v -e '^=== ' -e '^    faults_linux_test.go'

# Not in CI: a single-node Slurm started here runs a 3-task job array of
# process --shard over the development videos; its CSVs must equal one
# local command's (scripts/test-cluster.sh).
test-cluster: models
	scripts/test-cluster.sh

bench: models
	scripts/bench.sh

screenshot: models
	scripts/with-display.sh scripts/window-test.sh ./$(BIN) out

package: build
	$(GO) run fyne.io/tools/cmd/fyne@v1.7.4 package -os linux -icon assets/icon.png -release

clean:
	rm -f $(BIN) FaceMirror.tar.xz
	rm -rf out
