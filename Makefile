# Thin shortcuts; the README's two commands are scripts/demo and scripts/test, which need
# nothing but the Swift toolchain (scripts/setup installs the rest, make included).
.PHONY: setup build demo test bench fuzz clean

setup:
	scripts/setup

build: setup
	swift build

demo:
	scripts/demo

test:
	scripts/test

bench: build
	evaluation/run

# Each fuzz target for FUZZ_SECONDS (default 600) on its corpus; findings go to out/fuzz/.
fuzz: setup
	scripts/fuzz $${FUZZ_SECONDS:-600}

clean:
	rm -rf .build .build-fuzz out
