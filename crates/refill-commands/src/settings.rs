//! The settings page's settings: kept whole in `settings.json` in the app's config folder
//! (written beside, then moved over, so a crash never leaves half of them), read at start, and
//! applied at once: starting at login writes or removes the desktop's autostart entry; the
//! others are read where they act (closing the window, raising a notification).

use crate::notices::{Notice, NoticeKind};
use crate::{cache, launch, AppCore, AppError, ServiceInfo};
use refill_client::{CertificateProblem, Client, ClientError, Fingerprint, Trust};
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
    /// The Refill service to use (`None`: the sandbox on this computer); chosen with
    /// [`AppCore::choose_service`], which checks it first. `--service` or `REFILL_SERVICE_URL`
    /// override it for a launch.
    pub service_url: Option<String>,
    /// The certificate of the service at `service_url` (DER, base64), when no authority vouches
    /// for it (a home server's own) and the person trusted it on seeing its fingerprint: then
    /// only this certificate is trusted for that service. Chosen with it.
    pub service_certificate: Option<String>,
    /// The OAuth 2.0 provider to sign in with (`None`: the Refill service's own sign-in); chosen
    /// with [`AppCore::choose_sign_in`]. The `--authorize-url`… flags and `REFILL_AUTH_*`
    /// override it for a launch.
    pub sign_in: Option<SignInProvider>,
    /// Let devices on the home network reach the embedded sandbox (HTTPS, the device API
    /// only; off at first); changed with [`AppCore::network_access`], which starts or stops it.
    pub serve_network: bool,
}

/// Another OAuth 2.0 provider's addresses and this app's client id there (authorization code
/// with PKCE). A client secret, which some providers give installed apps, is never kept in a
/// file: give it with `REFILL_AUTH_CLIENT_SECRET`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct SignInProvider {
    /// Its authorization endpoint.
    pub authorize_url: String,
    /// Its token endpoint.
    pub token_url: String,
    /// Its revocation endpoint, if it has one ("" for none).
    pub revoke_url: String,
    /// Its profile or userinfo endpoint, if it has one ("" for none).
    pub profile_url: String,
    /// This app's client id there.
    pub client_id: String,
    /// The scopes to ask for, space-separated ("" for the provider's default).
    pub scopes: String,
}

impl SignInProvider {
    /// As refill-auth's provider, or what is wrong with it, in words.
    pub fn provider(&self) -> Result<refill_auth::Provider, AppError> {
        let field = |name: &str| {
            let value = match name {
                "authorize-url" => &self.authorize_url,
                "token-url" => &self.token_url,
                "revoke-url" => &self.revoke_url,
                "profile-url" => &self.profile_url,
                "client-id" => &self.client_id,
                "scopes" => &self.scopes,
                _ => return None,
            };
            Some(value.trim().to_owned())
        };
        let refused = |why: String| {
            AppError::new(
                ErrorCode::BadRequest,
                format!("This sign-in provider can't be used: {why}. Nothing was changed."),
            )
        };
        if self.token_url.trim().is_empty() {
            return Err(refused("its token URL is missing".to_owned()));
        }
        for (what, url) in [
            ("revocation", &self.revoke_url),
            ("profile", &self.profile_url),
        ] {
            let url = url.trim();
            if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
                return Err(refused(format!(
                    "the {what} URL '{url}' must start with https:// or http://"
                )));
            }
        }
        refill_auth::Provider::from_settings(field)
            .map_err(|e| {
                refused(
                    e.replace(" (--authorize-url or REFILL_AUTH_AUTHORIZE_URL)", "")
                        .replace(" (--client-id or REFILL_AUTH_CLIENT_ID)", ""),
                )
            })?
            .map(|mut provider| {
                provider.client_secret =
                    std::env::var(refill_auth::Provider::env_var("client-secret"))
                        .ok()
                        .filter(|s| !s.is_empty())
                        .map(refill_core::Sensitive::new);
                provider
            })
            .ok_or_else(|| refused("its token URL is missing".to_owned()))
    }
}

/// What a check of a Refill service found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServiceCheck {
    /// Its base URL, as it will be used.
    pub url: String,
    /// The version it runs.
    pub version: String,
    /// Whether it is a sandbox (simulated devices and orders).
    pub sandbox: bool,
    /// The SHA-256 fingerprint of its own certificate, when no authority this computer trusts
    /// vouches for it (a home server's): to compare with the one the service printed, then
    /// give to `choose_service` to trust it. `null` otherwise.
    pub fingerprint: Option<String>,
}

/// A Refill service that announced itself on the local network (mDNS): a hint to check, not a
/// proof (anyone on the network can announce anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FoundService {
    /// The name it announced ("Refill on nas").
    pub name: String,
    /// Its base URL, by address.
    pub url: String,
    /// The SHA-256 fingerprint of its certificate, as it announced it.
    pub fingerprint: Option<String>,
    /// The version it announced.
    pub version: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            start_at_login: false,
            close_to_tray: true,
            notify_low_supply: true,
            notify_orders: true,
            quiet_devices: Vec::new(),
            service_url: None,
            service_certificate: None,
            sign_in: None,
            serve_network: false,
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
            | NoticeKind::Problem
            // A device waits for the customer's answer; it told the device it would ask.
            | NoticeKind::ApprovalNeeded
            | NoticeKind::ApprovalExpired
            // A limit stopped a reorder: the supply will run out unless they act.
            | NoticeKind::ReorderRefused
            // The customer asked for it a moment ago.
            | NoticeKind::PriceRose => true,
            // The customer answered: nothing more to say.
            NoticeKind::ApprovalAnswered => false,
        }
    }
}

/// A certificate that could not be looked at or is not the one given, in words.
fn tls_error(e: refill_tls::TlsError) -> AppError {
    let code = match &e {
        refill_tls::TlsError::NotHttps { .. } => ErrorCode::BadRequest,
        refill_tls::TlsError::Unreachable { .. } => ErrorCode::ServiceUnreachable,
        refill_tls::TlsError::Certificate(CertificateProblem::Changed { .. }) => {
            ErrorCode::CertificateChanged
        }
        refill_tls::TlsError::Certificate(_) => ErrorCode::CertificateUntrusted,
    };
    AppError::new(code, e.to_string())
}

/// `text` as a Refill service's base URL (`http` or `https`, no query), or why it is not one.
fn service_address(text: &str) -> Result<String, AppError> {
    let refused = || {
        AppError::new(
            ErrorCode::BadRequest,
            format!(
                "\"{}\" is not a web address of a Refill service: give one such as \
                 https://refill.example.com",
                text.trim()
            ),
        )
    };
    let parsed = url::Url::parse(text.trim()).map_err(|_| refused())?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.host_str().is_none_or(str::is_empty)
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(refused());
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
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
        // The service and the sign-in change only through choose_service and choose_sign_in,
        // which check them first.
        let settings = Settings {
            service_url: before.service_url.clone(),
            service_certificate: before.service_certificate.clone(),
            sign_in: before.sign_in.clone(),
            serve_network: before.serve_network,
            ..settings
        };
        self.write_settings(&before, settings)
    }

    /// Checks that `url` is a Refill service that answers: its version, or why not, in words.
    /// A service whose certificate no authority vouches for (a home server's own) is checked
    /// through that certificate, and its fingerprint returned for the person to compare and
    /// trust ([`AppCore::choose_service`]).
    pub async fn check_service(&self, url: String) -> Result<ServiceCheck, AppError> {
        let url = service_address(&url)?;
        let (health, certificate) = match Client::new(&url).health().await {
            Ok(health) => (health, None),
            Err(ClientError::Certificate(CertificateProblem::Untrusted { found, .. })) => {
                let certificate = refill_tls::pin(&url, found).await.map_err(tls_error)?;
                let health = Client::trusting(&url, Trust::Pinned(certificate.clone()))
                    .health()
                    .await
                    .map_err(|e| self.error(e, crate::Doing::Listing))?;
                (health, Some(certificate))
            }
            Err(e) => return Err(self.error(e, crate::Doing::Listing)),
        };
        Ok(ServiceCheck {
            url,
            version: health.version,
            sandbox: health.sandbox,
            fingerprint: certificate.map(|c| c.fingerprint().to_string()),
        })
    }

    /// The Refill services that announce themselves on the local network (looked for for two
    /// seconds), by name.
    pub async fn discover_services(&self) -> Result<Vec<FoundService>, AppError> {
        let found = refill_client::discover::browse(std::time::Duration::from_secs(2))
            .await
            .map_err(|e| {
                AppError::new(
                    ErrorCode::ServiceUnreachable,
                    format!(
                        "Refill could not look for services on this network ({e}). Type the \
                         service's address instead."
                    ),
                )
            })?;
        Ok(found
            .into_iter()
            .map(|f| FoundService {
                name: f.name,
                url: f.url,
                fingerprint: f.fingerprint,
                version: f.version,
            })
            .collect())
    }

    /// Uses the Refill service at `url` from now on (checked first: nothing changes if it does
    /// not answer as a Refill service), or the sandbox on this computer (`None`). A service with
    /// its own certificate needs the `fingerprint` the person compared and trusted (from
    /// [`AppCore::check_service`]): that certificate, and no other, is trusted for it from then
    /// on. Applied at once, unless `--service` or `REFILL_SERVICE_URL` set the service for this
    /// launch (then from the next launch without them).
    pub async fn choose_service(
        &self,
        url: Option<String>,
        fingerprint: Option<String>,
    ) -> Result<ServiceInfo, AppError> {
        let (url, certificate) = match url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => {
                let url = service_address(url)?;
                let certificate = match fingerprint.as_deref().map(str::trim) {
                    Some(fingerprint) if !fingerprint.is_empty() => {
                        let fingerprint: Fingerprint = fingerprint
                            .parse()
                            .map_err(|e: String| AppError::new(ErrorCode::BadRequest, e))?;
                        Some(
                            refill_tls::pin(&url, fingerprint)
                                .await
                                .map_err(tls_error)?,
                        )
                    }
                    _ => None,
                };
                let trust = certificate.clone().map_or(Trust::System, Trust::Pinned);
                Client::trusting(&url, trust)
                    .health()
                    .await
                    .map_err(|e| self.error(e, crate::Doing::Listing))?;
                (Some(url), certificate.map(|c| c.to_base64()))
            }
            None => (None, None),
        };
        let before = self.settings();
        if before.service_url != url || before.service_certificate != certificate {
            let settings = Settings {
                service_url: url,
                service_certificate: certificate,
                ..before.clone()
            };
            self.write_settings(&before, settings)?;
            if self.inner.config.service_url.is_none() {
                self.service_changed();
            }
        }
        Ok(self.service_info())
    }

    /// Signs in with `provider` from now on (checked first), or with the Refill service's own
    /// sign-in (`None`). Applied at once (the sign-in with each provider is kept apart, so the
    /// account shown is that provider's), unless the `--authorize-url`… flags or `REFILL_AUTH_*`
    /// chose a provider for this launch.
    pub async fn choose_sign_in(
        &self,
        provider: Option<SignInProvider>,
    ) -> Result<crate::Account, AppError> {
        if let Some(provider) = &provider {
            provider.provider()?;
        }
        let before = self.settings();
        if before.sign_in != provider {
            let settings = Settings {
                sign_in: provider,
                ..before.clone()
            };
            self.write_settings(&before, settings)?;
            if self.inner.config.auth_provider.is_none() {
                self.service_changed();
            }
        }
        self.account().await
    }

    pub(crate) fn write_settings(
        &self,
        before: &Settings,
        settings: Settings,
    ) -> Result<Settings, AppError> {
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
