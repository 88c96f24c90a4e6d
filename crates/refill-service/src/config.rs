//! The service's configuration file (`/etc/refill/refill.toml` in the package, `--config FILE`
//! or `REFILL_CONFIG` elsewhere): the same settings as the command line's flags, which, like
//! their environment variables, override it. Unknown keys are refused, so that a misspelt
//! setting is not silently ignored.

use serde::Deserialize;
use std::path::Path;

/// What a configuration file may say; each key is the flag of the same name (`max_connections`
/// is `--max-connections`).
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--db`: a SQLite file or a postgres:// URL.
    pub database: Option<String>,
    /// `--sandbox`.
    pub sandbox: Option<bool>,
    /// `--speed`.
    pub speed: Option<f64>,
    /// `--require-sign-in`.
    pub require_sign_in: Option<bool>,
    /// `--allow-private-webhooks`.
    pub allow_private_webhooks: Option<bool>,
    /// `--max-connections`.
    pub max_connections: Option<usize>,
    /// `--read-timeout`, in seconds.
    pub read_timeout: Option<f64>,
    /// `--approval-hours`.
    pub approval_hours: Option<i64>,
    /// `--data-dir`: where the service keeps its own files (its self-signed certificate).
    pub data_dir: Option<std::path::PathBuf>,
    /// `--tls-cert`: the certificate chain (PEM).
    pub tls_cert: Option<std::path::PathBuf>,
    /// `--tls-key`: its private key (PEM).
    pub tls_key: Option<std::path::PathBuf>,
    /// `--self-signed`.
    pub self_signed: Option<bool>,
    /// `--plain-http`.
    pub plain_http: Option<bool>,
    /// `announce = false` is `--no-announce`.
    pub announce: Option<bool>,
    /// `--name`.
    pub name: Option<String>,
    /// `--orders-go`.
    pub orders_go: Option<String>,
    /// `--mail-server`: `smtps://host` or `smtp://host`.
    pub mail_server: Option<String>,
    /// `--mail-user`.
    pub mail_user: Option<String>,
    /// `--mail-password` (never shown: `Debug` redacts it).
    pub mail_password: Option<refill_core::Sensitive<String>>,
    /// `--mail-from`.
    pub mail_from: Option<String>,
    /// `--mail-ca`: a certificate (PEM) to trust for the mail server.
    pub mail_ca: Option<std::path::PathBuf>,
}

impl FileConfig {
    /// Reads `path`; what is wrong with it, in words naming the file (and the line, for a
    /// mistake in it).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "the configuration file {} cannot be read: {e}",
                path.display()
            )
        })?;
        Self::parse(&text).map_err(|e| format!("the configuration file {}: {e}", path.display()))
    }

    /// Parses a configuration file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_settings_it_knows() {
        let config = FileConfig::parse(
            "listen = \"0.0.0.0:8750\"\ndatabase = \"/var/lib/refill/refill.sqlite\"\n\
             allow_private_webhooks = true\nmax_connections = 100\n",
        )
        .unwrap();
        assert_eq!(config.listen.as_deref(), Some("0.0.0.0:8750"));
        assert_eq!(
            config.database.as_deref(),
            Some("/var/lib/refill/refill.sqlite")
        );
        assert_eq!(config.allow_private_webhooks, Some(true));
        assert_eq!(config.max_connections, Some(100));
        assert_eq!(config.sandbox, None);
    }

    #[test]
    fn a_misspelt_or_mistyped_setting_is_refused_with_its_line() {
        let e =
            FileConfig::parse("listen = \"0.0.0.0:8750\"\nlisten_address = \"x\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("listen_address"), "{e}");
        let e = FileConfig::parse("max_connections = \"many\"\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("max_connections"), "{e}");
    }
}
