// The app's own commands are declared here so that Tauri generates one permission per command and
// the window's capability can grant exactly those (least privilege).
include!("src/command_names.rs");

fn main() {
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("../capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("failed to run the Tauri build script");
}
