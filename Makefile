# cheeseshop — the two commands a new user needs are `make run` and `make test`.

GO ?= go
BIN := bin/cheeseshop
DATA ?= ./data
ADDR ?= 127.0.0.1:8080

.PHONY: run test bench bench-full build vet fmt fuzz clean

## run: build and start the server on SQLite + $(DATA) at $(ADDR)
run: build
	./$(BIN) serve --data $(DATA) --addr $(ADDR)

## test: install missing Debian packages, start PostgreSQL, run every test
test:
	scripts/test.sh

## bench: Go benchmarks and the wrk/nginx load comparison
bench:
	scripts/bench.sh

## bench-full: fill (once, cached) and measure indexes of every PyPI name, SQLite and PostgreSQL
bench-full:
	scripts/bench-full.sh

build:
	$(GO) build -trimpath -buildvcs=auto -o $(BIN) ./cmd/cheeseshop

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: run every fuzzer for FUZZTIME each (new interesting inputs land in testdata/fuzz)
FUZZTIME ?= 30s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
