//! The wasm's stack: 8 MB, as redis-server's main thread has (the linker's default is 1 MB).
//! A Lua script may nest the VM up to Lua's C-call limit (200 levels through metamethods,
//! `pcall`, `table.sort` comparators, coroutines) and the engine must answer its error there,
//! never run off its stack: the optimized build needs well under 1 MB for that, the unoptimized
//! one that `wasm-pack test` runs several. Pages of it that are never used cost no memory.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg=-zstack-size=8388608");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
