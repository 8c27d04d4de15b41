# The README's two commands: `make demo` and `make test`. Both install missing
# Debian packages first (scripts/install-deps.sh) and build with CMake.
BUILD ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CMAKE_BUILD_TYPE ?= RelWithDebInfo

.PHONY: all deps build test unit e2e demo install deb bench test-real stress fuzz clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE) -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 300 -j$(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

e2e: build
	cd $(BUILD) && ctest --output-on-failure -L e2e -j$(JOBS)

demo: build
	bash examples/demo/demo.sh $(BUILD)

# `make install PREFIX=/usr/local [DESTDIR=/tmp/stage]`: the layout of GNUInstallDirs
# (bin, lib or lib/<multiarch>, include, share/man, ...), docs/packaging.md.
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)

# Debian packages (hotpatch, libhotpatch0, libhotpatch-dev) from debian/, checked by
# lintian; installs debhelper and lintian first if missing. Results in $(DEB_DIR);
# a second run rebuilds only what changed. docs/packaging.md.
DEB_DIR ?= $(BUILD)/deb
deb:
	@bash scripts/install-deps.sh deb
	JOBS=$(JOBS) bash scripts/make-deb.sh $(DEB_DIR)

# Benchmarks (issue 5): call cost, pause against the ptrace floor, latency under load.
# Takes a few minutes; not part of `make test`. Results: docs/benchmarks.md.
bench: build
	bash bench/run.sh $(BUILD)

# Real code no one here wrote (issues 4, 10): Debian's memcached, Debian's nginx
# (master + 2 workers) and Debian's redis (its vendored Lua and hiredis linked in), and
# the CVE fixes in their debian/patches, made into patches and applied live under load.
# Needs the network to Debian's mirrors (apt-get source); 30-40 minutes the first time
# (the trees are built and kept in $(BUILD)/real-*), less after. Each runs even if an
# earlier one fails. Results: docs/real-world.md.
test-real: build
	@rc=0; bash tests/real/memcached.sh $(BUILD) || rc=1; bash tests/real/nginx.sh $(BUILD) || rc=1; \
	  bash tests/real/redis.sh $(BUILD) || rc=1; exit $$rc

# Torture tests, long versions (issue 5): 10 000 apply/revert cycles under 32
# calling threads, 200 applies against malloc/dlopen hammering, forks and execs
# during applies. Under an hour; not part of `make test`. Results: docs/reliability.md.
stress: build
	bash tests/stress/run.sh $(BUILD)

# Fuzzing, time-boxed: every libFuzzer target for FUZZ_SECONDS (60) each; what it
# finds is kept in build/fuzz/NAME.corpus and replayed by `make test`.
fuzz: build
	bash tests/fuzz/run.sh $(BUILD)
