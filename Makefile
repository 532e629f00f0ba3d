# The suite's commands. Each target says what it does; a missing tool stops
# it with the tool's name. CI runs `make test` (see .ci/run).

SHELL          := /bin/bash
.SHELLFLAGS    := -eu -o pipefail -c
FUNCTIONS      := $(notdir $(wildcard functions/*))
BIN            := bin
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags "-s -w"
CDK            := npx --yes aws-cdk@2
# CDK's Go bindings run on Node 20, which jsii flags as end-of-life.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

need = $(foreach t,$(1),$(if $(shell command -v $(t)),,$(error missing tool: $(t) (see README "Prerequisites"))))

.PHONY: help build test local bench lint fuzz synth deploy clean

help:
	@echo "make build   build every function for Lambda (linux/arm64) into $(BIN)/<name>/bootstrap and $(BIN)/<name>.zip"
	@echo "make test    unit, integration (moto) and infrastructure tests: what CI runs"
	@echo "make local   run the built functions against a local AWS (moto) with the sample events"
	@echo "make bench   benchmarks against moto (wall time and API calls per operation)"
	@echo "make lint    gofmt, go vet, staticcheck"
	@echo "make fuzz    run each fuzz test for FUZZTIME (default 20s)"
	@echo "make synth   synthesize the CDK stacks (after build)"
	@echo "make deploy  deploy the CDK stacks to the current AWS account (after build)"

build:
	$(call need,go zip)
	@for fn in $(FUNCTIONS); do \
	  echo "build $$fn -> $(BIN)/$$fn/bootstrap (linux/arm64)"; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GOFLAGS_LAMBDA) -o $(BIN)/$$fn/bootstrap ./functions/$$fn; \
	  (cd $(BIN)/$$fn && rm -f ../$$fn.zip && zip -q -X ../$$fn.zip bootstrap); \
	done

# AWSTEST_REQUIRE makes the moto and cfn-lint tests fail, not skip, when
# their tools are missing: CI must never pass by skipping.
test:
	$(call need,go moto_server cfn-lint node)
	@echo "go test: unit, moto integration, CDK and SAM template tests (artifacts such as page screenshots in test-output/)"
	@rm -rf test-output && mkdir -p test-output
	AWSTEST_REQUIRE=1 go test -count=1 -timeout 15m -artifacts -outputdir $(CURDIR)/test-output ./...

local:
	$(call need,go moto_server)
	@echo "run every function as a built binary, through a local Lambda Runtime API, against moto"
	go run ./scripts/local $(ARGS)

bench:
	$(call need,go moto_server)
	@echo "benchmarks against moto: ns/op plus API calls per operation"
	AWSTEST_REQUIRE=1 go test -run '^$$' -bench . -benchmem -timeout 60m ./shared/...

lint:
	$(call need,go)
	@echo "gofmt"
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "go vet"
	go vet ./...
	@echo "staticcheck"
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

FUZZTIME ?= 20s
fuzz:
	$(call need,go)
	@for pkg in $$(go list ./...); do \
	  for fz in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$fz for $(FUZZTIME)"; \
	    go test -run '^$$' -fuzz "^$$fz$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

synth: build
	$(call need,node npx)
	@echo "cdk synth (templates in infra/cdk.out)"
	cd infra && $(CDK) synth --no-notices --quiet

deploy: build
	$(call need,node npx)
	@echo "cdk deploy every stack to the account of your current AWS credentials"
	cd infra && $(CDK) deploy --all --no-notices $(CDK_ARGS)

clean:
	rm -rf $(BIN) infra/cdk.out test-output
