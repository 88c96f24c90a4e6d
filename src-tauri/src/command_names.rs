/// The app's commands, as registered with Tauri. A test checks this list against the commands
/// declared in `refill_commands::bindings`, so the UI's bindings and the shell cannot drift apart.
pub const COMMANDS: &[&str] = &[
    "list_buttons",
    "press_button",
    "cancel_order",
    "service_info",
    "ui_ready",
    "account",
    "start_sign_in",
    "finish_sign_in",
    "cancel_sign_in",
    "sign_out",
    "onboarding_scan",
    "onboarding_open",
    "onboarding_secure",
    "onboarding_more_networks",
    "onboarding_join",
    "onboarding_link",
    "onboarding_finish_link",
    "onboarding_cancel",
    "list_devices",
];
