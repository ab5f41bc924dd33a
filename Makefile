# AOF Lab. The two commands (see README.md):
#   make serve   installs the build tools if missing, builds pkg/ and serves the lab on
#                http://127.0.0.1:$(PORT)/www/
#   make test    installs the test tools if missing and runs every check (scripts/test.sh)
PORT ?= 8080

.PHONY: serve pkg test soak setup clean

serve: pkg
	@scripts/serve.sh $(PORT)

pkg:
	@scripts/setup.sh build
	@scripts/build.sh

test:
	@scripts/test.sh

# The long modes (crash matrix, fuzzing, random differential, load + kill -9), ~25 min; the
# figures go into README.md. Settings: scripts/soak.sh (SOAK_* variables).
soak:
	@scripts/soak.sh

setup:
	@scripts/setup.sh test

clean:
	rm -rf pkg target/e2e
