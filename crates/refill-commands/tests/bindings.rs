//! The committed TypeScript bindings match what the Rust declarations generate.
//! Run `cargo xtask bindings` to update them.

#[test]
fn bindings_are_up_to_date() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join(refill_commands::bindings::PATH);
    let generated = refill_commands::bindings::typescript();
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the Rust declarations: run `cargo xtask bindings` and commit the result",
        refill_commands::bindings::PATH
    );
}
