//! The `sysgate` command.

fn main() {
    println!("sysgate {}", env!("CARGO_PKG_VERSION"));
}
