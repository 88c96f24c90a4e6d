//! The benchmark's baseline: a bare Tauri 2 hello-world, built with Refill's release profile.
//! Its page calls `ui_ready` at its first animation frame, exactly as Refill's does.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// Writes the time of the first paint where the bench asked (`REFILL_READY_FILE`).
#[tauri::command]
fn ui_ready() {
    if let Some(path) = std::env::var_os("REFILL_READY_FILE") {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let _ = std::fs::write(path, nanos.to_string());
    }
}

fn main() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| panic!("bare-tauri failed to start: {e}"));
}
