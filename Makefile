# Thin wrapper over CMake. `make test` on a fresh Debian machine installs, builds and tests.
BUILD ?= build
JOBS  ?= $(shell nproc)
TYPE  ?= Release

.PHONY: all deps configure test bench demo models clean sanitize

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@./scripts/install-deps.sh

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(TYPE)

test: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: all
	$(BUILD)/trm bench

demo: all
	./scripts/demo.sh $(BUILD)/trm

models: all
	./scripts/train-models.sh $(BUILD)/trm

sanitize: deps
	@test -f build-asan/CMakeCache.txt || cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRM_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan
