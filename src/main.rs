//! The native `aof-lab` binary.
fn main() {
    std::process::exit(aof_lab_cli::run());
}
mod aof_lab_cli {
    pub fn run() -> i32 {
        eprintln!("usage: aof-lab serve|check|inspect|load");
        1
    }
}
