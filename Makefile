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

# The CDK app's stacks, one per capability (infra/main.go). STACKS picks some
# of them for deploy and destroy; empty means all of them.
SUITE_STACKS := LambdaSuiteRootVolume LambdaSuitePipelineHealth LambdaSuiteAmiApproval LambdaSuiteDiskAlarm
STACKS       ?=
check_stacks = $(if $(filter-out $(SUITE_STACKS),$(STACKS)),$(error unknown stack(s) in STACKS: $(filter-out $(SUITE_STACKS),$(STACKS)) (known: $(SUITE_STACKS))))
cdk_stacks   = $(if $(strip $(STACKS)),$(STACKS),--all)

# The organization rollout (docs/operations.md): the organization, the target
# OUs and Regions (comma-separated) become the app's org* context.
ORG_ID      ?=
ORG_OUS     ?=
ORG_REGIONS ?=
ORG_STACKS  := 'LambdaSuiteOrg*'
check_org   = $(foreach v,ORG_ID ORG_OUS ORG_REGIONS,$(if $($(v)),,$(error $(v) is required: make $(MAKECMDGOALS) ORG_ID=o-... ORG_OUS=ou-...,ou-... ORG_REGIONS=eu-west-1,us-east-1)))
org_context = -c orgId=$(ORG_ID) -c orgTargetOus=$(ORG_OUS) -c orgRegions=$(ORG_REGIONS)

# run_cdk runs one CDK CLI command in infra/, with the caller's CDK_ARGS.
run_cdk = cd infra && $(CDK) $(1) --no-notices $(CDK_ARGS)

.PHONY: FORCE help build test local iam bench lint fuzz synth deploy deploy-org destroy destroy-org stacks-ok org-ok clean

help:
	@echo "make build   build every function for Lambda (linux/arm64) into $(BIN)/<name>/bootstrap and $(BIN)/<name>.zip"
	@echo "make test    unit, integration (moto) and infrastructure tests: what CI runs"
	@echo "make local   run the built functions against a local AWS (moto) with the sample events"
	@echo "make iam    the least-privilege report: each role's actions the tests exercised under the IAM layer,"
	@echo "             and every statement no test exercised with its reason; ARGS=-drop also drops each statement in turn"
	@echo "make bench   the performance report (sizes, cold start, RSS, API calls, scale) in $(BIN)/bench/report.md"
	@echo "make lint    gofmt, goimports, go mod tidy -diff, go vet, staticcheck, golangci-lint, gosec (pinned versions)"
	@echo "make fuzz    run each fuzz test for FUZZTIME (default 20s); CI runs FUZZTIME=5s"
	@echo "make synth   synthesize the CDK stacks (after build)"
	@echo "make deploy  deploy the CDK stacks to the current AWS account (after build);"
	@echo "             STACKS=\"LambdaSuiteDiskAlarm ...\" deploys only those (of: $(SUITE_STACKS))"
	@echo "make deploy-org   ORG_ID=o-... ORG_OUS=ou-...,ou-... ORG_REGIONS=eu-west-1,...: roll root volume and"
	@echo "             disk alarms out to every account of those OUs and Regions with StackSets (docs/operations.md)"
	@echo "make destroy delete the CDK stacks (STACKS as for deploy; asks first); what stays behind: docs/operations.md"
	@echo "make destroy-org  ORG_ID=... ORG_OUS=... ORG_REGIONS=...: delete the StackSets, their instances, the asset stacks"

# One rule per output, so `make -j` builds the functions in parallel. go
# build runs every time (FORCE): the Go build cache, not make, knows whether
# a function's sources changed. A zip follows its bootstrap.
BOOTSTRAPS := $(FUNCTIONS:%=$(BIN)/%/bootstrap)
ZIPS       := $(FUNCTIONS:%=$(BIN)/%.zip)

build: $(BOOTSTRAPS) $(ZIPS)

$(BIN)/%/bootstrap: FORCE
	$(call need,go)
	@echo "build $* -> $@ (linux/arm64)"
	@GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GOFLAGS_LAMBDA) -o $@ ./functions/$*

$(BIN)/%.zip: $(BIN)/%/bootstrap
	$(call need,zip)
	@echo "zip $< -> $@"
	@cd $(BIN)/$* && rm -f ../$*.zip && zip -q -X ../$*.zip bootstrap

FORCE:

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

# The function tests write what the IAM layer evaluated into
# test-output/iam; scripts/iam reads it against the templates and
# infra/sam/iam-unexercised.json. ARGS=-drop also takes out each exercised
# statement in turn and shows that a test needing it then fails.
iam:
	$(call need,go moto_server)
	@echo "least-privilege report: function tests under the IAM layer, then every role's statements (test-output/iam.md)"
	@rm -rf test-output/iam && mkdir -p test-output/iam
	IAM_REPORT_DIR=$(CURDIR)/test-output/iam AWSTEST_REQUIRE=1 go test -count=1 -timeout 15m ./functions/...
	go run ./scripts/iam -dir test-output/iam $(ARGS) | tee test-output/iam.md

# The sizes come from build's arm64 zips; the rest from the functions run
# as binaries against moto, and the cleanup and reconcile scale benchmarks.
# ARGS passes flags on: ARGS="-runs 9 -reconcile-sizes 100,1000,5000".
bench: build
	$(call need,go moto_server)
	@echo "performance report: sizes, cold start, warm latency, peak RSS, API calls per event, scale, the disk alarms' scale model (about an hour with its 100,000-instance size; ARGS=\"-model-sizes 1000,20000\" for a shorter run)"
	go run ./scripts/bench $(ARGS)

# The linters' versions are pinned (docs/dependencies.md says what resolves
# here); `go run pkg@version` builds each once into the Go build
# cache, so a fresh machine needs only the module proxy.
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOLANGCI_LINT := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
GOSEC         := github.com/securego/gosec/v2/cmd/gosec@v2.29.0
# goimports has no @version: it resolves through go.mod (golang.org/x/tools,
# which jsii-runtime-go requires), so it runs at the module's own version.
GOIMPORTS     := golang.org/x/tools/cmd/goimports

lint:
	$(call need,go)
	@echo "gofmt"
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "goimports"
	@out=$$(go run $(GOIMPORTS) -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "goimports needed:"; echo "$$out"; exit 1; fi
	@echo "go mod tidy -diff (go.mod and go.sum as go mod tidy leaves them)"
	go mod tidy -diff
	@echo "go vet"
	go vet ./...
	@echo "staticcheck"
	go run $(STATICCHECK) ./...
	@echo "golangci-lint (.golangci.yml: the standard set plus gosec, errorlint, bodyclose, misspell, ...)"
	go run $(GOLANGCI_LINT) run ./...
	@echo "gosec (G104 is errcheck's, which golangci-lint runs)"
	go run $(GOSEC) -quiet -exclude=G104 ./...

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

# The checks come before build, so that a typo fails at once.
stacks-ok:
	$(check_stacks)
org-ok:
	$(check_org)

deploy: stacks-ok build
	$(call need,node npx)
	@echo "cdk deploy $(if $(strip $(STACKS)),$(STACKS),every stack) to the account and Region of your current AWS credentials"
	$(call run_cdk,deploy $(cdk_stacks))

deploy-org: org-ok build
	$(call need,node npx)
	@echo "cdk deploy the organization rollout: asset buckets in $(ORG_REGIONS), StackSets for the accounts of $(ORG_OUS)"
	$(call run_cdk,deploy $(ORG_STACKS) $(org_context))

# cdk destroy synthesizes the app first, which needs the built functions.
destroy: stacks-ok build
	$(call need,node npx)
	@echo "cdk destroy $(if $(strip $(STACKS)),$(STACKS),every stack) (retained resources stay: docs/operations.md)"
	$(call run_cdk,destroy $(cdk_stacks))

destroy-org: org-ok build
	$(call need,node npx)
	@echo "cdk destroy the organization rollout: the StackSets (and every stack instance), then the asset stacks"
	$(call run_cdk,destroy $(ORG_STACKS) $(org_context))

clean:
	rm -rf $(BIN) infra/cdk.out test-output
