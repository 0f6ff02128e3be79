# Thin front to CMake. `make demo` and `make test` install what is missing
# from Debian's packages first (scripts/bootstrap), so both work on a fresh
# machine.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all bootstrap build demo test test-asan bench footprint fuzz soak clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	@scripts/demo $(BUILD)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

footprint: bootstrap
	@scripts/footprint

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
