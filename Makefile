# Thin shortcuts; the README's two commands are scripts/demo and scripts/test, which need
# nothing but the Swift toolchain (scripts/setup installs the rest, make included).
.PHONY: setup build demo test bench clean

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

clean:
	rm -rf .build out
