//! Writes the UI's TypeScript bindings (`ui/src/lib/bindings.ts`), or with `--check` says whether
//! the committed file is up to date. `cargo xtask bindings` and the test gate run it: the xtask
//! itself links none of Refill's crates, so that it builds before the system libraries they need
//! are installed.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().nth(1).as_deref() == Some("--check");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join(refill_commands::bindings::PATH);
    let generated = refill_commands::bindings::typescript();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current == generated {
        println!("{} is up to date", refill_commands::bindings::PATH);
        return ExitCode::SUCCESS;
    }
    if check {
        eprintln!(
            "{} is out of date with the Rust declarations: run `cargo xtask bindings` and commit it",
            refill_commands::bindings::PATH
        );
        return ExitCode::FAILURE;
    }
    match std::fs::write(&path, generated) {
        Ok(()) => {
            println!("wrote {}", refill_commands::bindings::PATH);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("could not write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
