// The app's own commands are declared here so that Tauri generates one permission per command and
// the window's capability can grant exactly those (least privilege).
include!("src/command_names.rs");

fn main() {
    // The capabilities live outside this crate: without this, editing one kept the old one
    // embedded in the binary until something else made the build script run.
    println!("cargo:rerun-if-changed=../capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("../capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("failed to run the Tauri build script");
}
