# AOF Lab. The two commands (see README.md):
#   make serve   installs the build tools if missing, builds pkg/ and serves the lab on
#                http://127.0.0.1:$(PORT)/www/
#   make test    installs the test tools if missing and runs every check (scripts/test.sh)
PORT ?= 8080

.PHONY: serve pkg test setup clean

serve: pkg
	@scripts/serve.sh $(PORT)

pkg:
	@scripts/setup.sh build
	@scripts/build.sh

test:
	@scripts/test.sh

setup:
	@scripts/setup.sh test

clean:
	rm -rf pkg target/e2e
