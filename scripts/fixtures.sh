#!/usr/bin/env bash
# Writes tests/fixtures/corrupt.rs: every file of tests/fixtures/corrupt/ embedded, so that the
# browser tests (wasm32: no file system) replay them too. tests/prop_fixtures.rs fails when the
# list and the directory differ; scripts/fuzz.sh runs this after keeping a crasher.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo '//! Every saved corrupt input of `tests/fixtures/corrupt/`, embedded, so that the browser tests'
  echo '//! (wasm32, where `usize` is 32 bits and nothing reads files) replay them too. Written by'
  echo '//! `scripts/fixtures.sh`; a native test (`tests/prop_fixtures.rs`) checks that this list is the'
  echo '//! directory.'
  echo
  echo 'pub const FIXTURES: &[(&str, &[u8])] = &['
  for f in $(ls tests/fixtures/corrupt | LC_ALL=C sort); do
    printf '    ("%s", include_bytes!("corrupt/%s")),\n' "$f" "$f"
  done
  echo '];'
} > tests/fixtures/corrupt.rs
