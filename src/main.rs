//! The native `aof-lab` binary: `aof-lab serve` (a RESP2 / RESP3 server), and the AOF tools.
//! Everything lives in [`cli`]; the wasm build has no binary to speak of.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

/// mimalloc rather than the C library's malloc: a load allocates every element and frees every
/// command's leftovers, and glibc's `free` / `malloc_consolidate` took a quarter of it
/// (BENCHMARKS.md, "Loading an AOF").
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::exit(cli::run(&args));
}

#[cfg(target_arch = "wasm32")]
fn main() {}
