# Thin front to CMake. `make demo` and `make test` install what is missing
# from Debian's packages first (scripts/bootstrap), so both work on a fresh
# machine.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all bootstrap build build-asan demo demo-fleet test test-plain test-asan bench footprint fuzz soak clean arduino-lib dashboard-screenshots

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Ends by printing the dashboard's address and keeping the server up until
# Enter (DEMO_NO_WAIT=1, or no terminal on stdin: it does not wait).
demo: build
	@scripts/demo $(BUILD)

# The browser test (tests/browser) with its screenshots also written to
# docs/img/dashboard-*.png, the pictures of docs/dashboard.md.
dashboard-screenshots: build
	@DOCS_IMG_DIR=$(CURDIR)/docs/img tests/browser/run.sh $(BUILD)/src/server $(BUILD)/src/sim \
	  $(BUILD)/tests/browser

# The fleet simulator: 200 simulated devices (the real core each) against a
# real fota-server; a good release rolls out in stages and completes, then a
# bad one (its self-test fails on 60 % of the devices) halts in its first
# stage. Progress per round, then each rollout as fota-admin shows it.
demo-fleet: build
	@FLEET_SHOW=1 scripts/fleet $(BUILD) --devices 200 --release 2.0.0:0.01 \
	  --release 3.0.0:0.6 --stages 5%,25%,50%,100% --min-devices 4 --drop 0.01 --cut 0.02 \
	  --offline 0.05 --expect completed,halted

# The whole suite twice: a normal build, then one with AddressSanitizer and
# UBSan (any report fails the test that triggered it). After each run,
# scripts/test-labels prints how many tests ran per label and fails if a label
# tests/labels.txt expects ran none (docs/testing.md).
test: test-plain test-asan

test-plain: build
	@rm -f $(BUILD)/ctest-junit.xml; rc=0; \
	  (cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900 \
	    --output-junit ctest-junit.xml) || rc=$$?; \
	  scripts/test-labels $(BUILD) plain $(BUILD)/ctest-junit.xml || rc=1; exit $$rc

build-asan: bootstrap
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFOTA_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

test-asan: build-asan
	@rm -f $(ASAN_BUILD)/ctest-junit.xml; rc=0; \
	  (cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j$(JOBS) --timeout 900 \
	    --output-junit ctest-junit.xml) || rc=$$?; \
	  scripts/test-labels $(ASAN_BUILD) asan $(ASAN_BUILD)/ctest-junit.xml || rc=1; exit $$rc

# Benchmarks: figures with the reference measured in the same run
# (docs/performance.md). Needs wrk and nginx: bootstrap --bench.
bench: build
	@scripts/bootstrap --bench
	@bench/run $(BUILD) ../shared/firmware

footprint: bootstrap
	@scripts/footprint

# Long campaigns: every flash operation of the 1 MB update cut after and torn
# inside (about 10 minutes), the small campaign on an encrypted device with
# every double cut, the same for a delta and a compressed update of a 256 KB
# app (docs/delta.md), and the link-fault campaign with 300 seeds.
soak: build
	@$(BUILD)/tests/powercut/powercut_large ../shared/firmware --full
	@$(BUILD)/tests/powercut/powercut_small --flash-encryption --full
	@$(BUILD)/tests/core/test_core_delta --full
	@LF_SEEDS="$$(seq -s ' ' 1 300)" tests/linkfault/lf_campaign.sh $(BUILD)/src/server \
	  $(BUILD)/src/sim $(BUILD)/tests/linkfault ../shared/firmware

# Long fuzzing: every harness for 300 s (make fuzz FUZZ_SECONDS=60 for less).
FUZZ_SECONDS ?= 300
fuzz: bootstrap
	@fuzz/run $(FUZZ_SECONDS)

# The Arduino library "FOTA" as Arduino's tools take it: build/arduino/FOTA/
# (the class, examples, and the core + ESP-IDF port sources copied into its
# src/) and build/arduino/FOTA.zip (docs/esp32.md, Arduino library).
arduino-lib:
	@scripts/arduino-lib $(BUILD)/arduino

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
