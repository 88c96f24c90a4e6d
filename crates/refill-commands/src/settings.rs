//! The settings page's settings: kept whole in `settings.json` in the app's config folder
//! (written beside, then moved over, so a crash never leaves half of them), read at start, and
//! applied at once: starting at login writes or removes the desktop's autostart entry; the
//! others are read where they act (closing the window, raising a notification).

use crate::notices::{Notice, NoticeKind};
use crate::{cache, launch, AppCore, AppError};
use refill_wire::ErrorCode;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::PoisonError;
use ts_rs::TS;

/// The file in the config folder.
const FILE: &str = "settings.json";

/// The app's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Start Refill, in the tray with no window, when the user logs in (off at first).
    pub start_at_login: bool,
    /// Closing the window keeps Refill running in the tray (on at first).
    pub close_to_tray: bool,
    /// Desktop notifications when a supply runs low or a device stops reporting.
    pub notify_low_supply: bool,
    /// Desktop notifications when an order is placed, shipped, delivered or cancelled.
    pub notify_orders: bool,
    /// Devices whose notifications are off (the inbox still gets them), by model and serial.
    pub quiet_devices: Vec<refill_wire::DeviceRef>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            start_at_login: false,
            close_to_tray: true,
            notify_low_supply: true,
            notify_orders: true,
            quiet_devices: Vec::new(),
        }
    }
}

impl Settings {
    /// Whether `notice` is raised as a desktop notification (the inbox gets all): its kind is
    /// on, and its device, if it has one, is not one of the quiet ones.
    pub fn raises(&self, notice: &Notice) -> bool {
        let device_on = notice
            .device
            .as_ref()
            .is_none_or(|d| !self.quiet_devices.contains(d));
        device_on && self.raises_kind(notice.kind)
    }

    /// Whether a notice of `kind` is raised as a desktop notification.
    pub fn raises_kind(&self, kind: NoticeKind) -> bool {
        match kind {
            NoticeKind::LowSupply | NoticeKind::DeviceSilent => self.notify_low_supply,
            NoticeKind::OrderPlaced
            | NoticeKind::Shipped
            | NoticeKind::Delivered
            | NoticeKind::Cancelled => self.notify_orders,
            NoticeKind::DeviceAdded
            | NoticeKind::DeviceRemoved
            | NoticeKind::Summary
            | NoticeKind::Problem => true,
        }
    }
}

/// Where the app's binary is started from at login: this binary, hidden in the tray.
fn login_command() -> std::io::Result<Vec<String>> {
    let exe = std::env::current_exe()?;
    Ok(vec![
        exe.to_string_lossy().into_owned(),
        "--hidden".to_owned(),
    ])
}

impl AppCore {
    fn settings_path(&self) -> PathBuf {
        self.inner
            .config
            .config_dir
            .as_ref()
            .unwrap_or(&self.inner.config.data_dir)
            .join(FILE)
    }

    /// The settings now (read from the config folder the first time; a missing file gives the
    /// defaults, an unreadable one too, said in the log).
    pub fn settings(&self) -> Settings {
        let mut cached = self
            .inner
            .settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cached
            .get_or_insert_with(|| {
                let path = self.settings_path();
                match std::fs::read(&path) {
                    Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                        tracing::warn!(
                            "{} is not readable, so the defaults apply: {e}",
                            path.display()
                        );
                        Settings::default()
                    }),
                    Err(_) => Settings::default(),
                }
            })
            .clone()
    }

    /// Saves `settings` and applies them; on failure nothing changes (not the file, not the
    /// autostart entry) and the error says why.
    pub fn save_settings(&self, settings: Settings) -> Result<Settings, AppError> {
        let before = self.settings();
        let autostart = |on: bool| -> Result<(), String> {
            if !cfg!(target_os = "linux") {
                return if on {
                    Err("starting at login is not available on this system yet".to_owned())
                } else {
                    Ok(())
                };
            }
            let dirs = launch::DesktopDirs::of_user()
                .ok_or_else(|| "there is no home folder to start from".to_owned())?;
            let command = login_command().map_err(|e| e.to_string())?;
            launch::set_autostart(&dirs, crate::APP_ID, "Refill", &command, on)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        if settings.start_at_login != before.start_at_login {
            autostart(settings.start_at_login).map_err(|e| {
                AppError::new(
                    ErrorCode::SettingsNotSaved,
                    format!(
                        "Refill could not {} starting at login: {e}. Nothing was changed.",
                        if settings.start_at_login {
                            "turn on"
                        } else {
                            "turn off"
                        }
                    ),
                )
            })?;
        }
        if let Err(e) = serde_json::to_vec_pretty(&settings)
            .map_err(std::io::Error::other)
            .and_then(|json| cache::replace_file(&self.settings_path(), &json))
        {
            // Put the autostart entry back as it was, so nothing is half-saved.
            if settings.start_at_login != before.start_at_login {
                let _ = autostart(before.start_at_login);
            }
            return Err(AppError::new(
                ErrorCode::SettingsNotSaved,
                format!(
                    "The settings could not be saved in {}: {e}. Nothing was changed.",
                    self.settings_path().display()
                ),
            ));
        }
        tracing::info!(?settings, "settings saved");
        *self
            .inner
            .settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(settings.clone());
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_notice_follows_its_switch() {
        let quiet_orders = Settings {
            notify_orders: false,
            ..Settings::default()
        };
        assert!(quiet_orders.raises_kind(NoticeKind::LowSupply));
        assert!(!quiet_orders.raises_kind(NoticeKind::OrderPlaced));
        assert!(!quiet_orders.raises_kind(NoticeKind::Delivered));
        assert!(quiet_orders.raises_kind(NoticeKind::Problem));
        let quiet_low = Settings {
            notify_low_supply: false,
            ..Settings::default()
        };
        assert!(!quiet_low.raises_kind(NoticeKind::LowSupply));
        assert!(!quiet_low.raises_kind(NoticeKind::DeviceSilent));
        assert!(quiet_low.raises_kind(NoticeKind::Shipped));
    }

    #[test]
    fn a_quiet_device_raises_nothing_and_the_others_still_do() {
        let brewer = refill_wire::DeviceRef {
            model: "RefillBrew-200".into(),
            serial: "S1".into(),
        };
        let printer = refill_wire::DeviceRef {
            model: "RefillInk-4C".into(),
            serial: "P1".into(),
        };
        let settings = Settings {
            quiet_devices: vec![brewer.clone()],
            ..Settings::default()
        };
        let of = |kind, device: Option<&refill_wire::DeviceRef>| Notice {
            device: device.cloned(),
            ..crate::notices::told(kind, "t".into(), "b".into())
        };
        assert!(!settings.raises(&of(NoticeKind::LowSupply, Some(&brewer))));
        assert!(!settings.raises(&of(NoticeKind::OrderPlaced, Some(&brewer))));
        assert!(settings.raises(&of(NoticeKind::LowSupply, Some(&printer))));
        assert!(settings.raises(&of(NoticeKind::OrderPlaced, None)));
        let no_orders = Settings {
            notify_orders: false,
            ..settings
        };
        assert!(!no_orders.raises(&of(NoticeKind::OrderPlaced, Some(&printer))));
    }

    #[test]
    fn settings_missing_from_the_file_take_their_defaults() {
        let read: Settings = serde_json::from_str(r#"{"startAtLogin": true}"#).unwrap();
        assert_eq!(
            read,
            Settings {
                start_at_login: true,
                ..Settings::default()
            }
        );
    }
}
