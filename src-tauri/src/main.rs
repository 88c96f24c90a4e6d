// Prevents an extra console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    refill_app_lib::prefer_working_renderer();
    refill_app_lib::run();
}
