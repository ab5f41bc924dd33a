# AOF Lab. The two commands (see README.md):
#   make serve   installs the build tools if missing, builds pkg/ and serves the lab on
#                http://127.0.0.1:$(PORT)/www/
#   make test    installs the test tools if missing and runs every check (scripts/test.sh)
PORT ?= 8080

.PHONY: serve pkg test soak setup clean dist package

serve: pkg
	@scripts/serve.sh $(PORT)

pkg:
	@scripts/setup.sh build
	@scripts/build.sh

test:
	@scripts/test.sh

# The static site (the lab, the embed example, the tutorial) in dist/, for any static host.
dist: pkg
	@scripts/dist.sh

# The npm package: target/npm/aof-lab-<version>.tgz (the element, the worker, the engine).
package: pkg
	@scripts/package.sh

# The long modes (crash matrix, fuzzing, random differential, load + kill -9, the client
# library suite), ~28 min; the figures go into README.md. Settings: scripts/soak.sh (SOAK_* variables).
soak:
	@scripts/soak.sh

setup:
	@scripts/setup.sh test

clean:
	rm -rf pkg target/e2e target/npm dist
