//! Settings: defaults < TOML file < `FIXPOINT_*` environment < command-line flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use fixpoint_core::catalog::WorkflowSettings;
use serde::{Deserialize, Serialize};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/fixpoint.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_SWEEP_INTERVAL_SECS: u64 = 30;
/// Atera's documented limit per API key.
pub const DEFAULT_ATERA_REQUESTS_PER_MINUTE: u32 = 700;

/// What can be set in the TOML file (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub log_format: Option<LogFormat>,
    pub sweep_interval_secs: Option<u64>,
    pub atera_requests_per_minute: Option<u32>,
    pub autotask_requests_per_hour: Option<u32>,
    pub halopsa_requests_per_window: Option<u32>,
    pub tenant_profile: Option<String>,
    pub mail_from: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_listen: Option<String>,
    pub webhook_allow: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The settings in force.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    pub log_format: LogFormat,
    /// Seconds between escalation sweeps; 0 turns the sweep off on this server.
    pub sweep_interval_secs: u64,
    /// Requests per minute per API key on the Atera dialect (`/api/v3`), then 429.
    pub atera_requests_per_minute: u32,
    /// Requests per hour for the whole database on the Autotask dialect, then 429.
    pub autotask_requests_per_hour: u32,
    /// Requests per rolling 180 s per API client on the HaloPSA dialect, then 429.
    pub halopsa_requests_per_window: u32,
    /// Workflow switches a new installation starts with: default, autotask, halopsa
    /// or atera (resolve before close; technicians without roles).
    pub tenant_profile: Option<String>,
    /// The sender of Fixpoint's mail, `Service Desk <support@msp.example>`; mail is
    /// written and sent only when this and `smtp_url` are set.
    pub mail_from: Option<String>,
    /// The SMTP server mail goes through: smtp://host:25, smtp://user:pass@host:587?tls=required
    /// (STARTTLS) or smtps://user:pass@host:465 (TLS).
    #[serde(skip_serializing)]
    pub smtp_url: Option<String>,
    /// Where Fixpoint receives mail by SMTP (e.g. 0.0.0.0:2525); none when unset.
    pub smtp_listen: Option<String>,
    /// Networks webhooks may reach besides public addresses: loopback, private.
    pub webhook_allow: Vec<String>,
}

/// What flags and environment gave (clap reads both; a flag wins over its variable).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Database URL: sqlite://path/to/file.db (the default is sqlite://data/fixpoint.db).
    #[arg(long, global = true, env = "FIXPOINT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, global = true, env = "FIXPOINT_LISTEN")]
    pub listen: Option<String>,
    /// Log format: text or json.
    #[arg(long, global = true, env = "FIXPOINT_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Seconds between escalation sweeps (default 30; 0 turns them off on this server).
    #[arg(long, global = true, env = "FIXPOINT_SWEEP_INTERVAL_SECS")]
    pub sweep_interval_secs: Option<u64>,
    /// Requests per minute per API key on the Atera dialect (default 700, as Atera).
    #[arg(long, global = true, env = "FIXPOINT_ATERA_REQUESTS_PER_MINUTE")]
    pub atera_requests_per_minute: Option<u32>,
    /// Requests per hour on the Autotask dialect, all callers together (default 10,000).
    #[arg(long, global = true, env = "FIXPOINT_AUTOTASK_REQUESTS_PER_HOUR")]
    pub autotask_requests_per_hour: Option<u32>,
    /// Requests per 180 s per API client on the HaloPSA dialect (default 500, as HaloPSA).
    #[arg(long, global = true, env = "FIXPOINT_HALOPSA_REQUESTS_PER_WINDOW")]
    pub halopsa_requests_per_window: Option<u32>,
    /// The workflow a new installation starts with: default, autotask, halopsa or atera.
    #[arg(long, global = true, env = "FIXPOINT_TENANT_PROFILE")]
    pub tenant_profile: Option<String>,
    /// The sender of Fixpoint's mail: "Service Desk <support@msp.example>".
    #[arg(long, global = true, env = "FIXPOINT_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// SMTP server for mail out: smtp://host:25, smtp://user:pass@host:587?tls=required, smtps://…:465.
    #[arg(long, global = true, env = "FIXPOINT_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Address to receive mail on by SMTP, e.g. 0.0.0.0:2525 (off when unset).
    #[arg(long, global = true, env = "FIXPOINT_SMTP_LISTEN")]
    pub smtp_listen: Option<String>,
    /// Networks webhooks may reach besides public addresses, comma-separated: loopback, private.
    #[arg(long, global = true, env = "FIXPOINT_WEBHOOK_ALLOW")]
    pub webhook_allow: Option<String>,
    /// A TOML file with any of database_url, listen, log_format, sweep_interval_secs,
    /// atera_requests_per_minute, autotask_requests_per_hour, halopsa_requests_per_window,
    /// tenant_profile, mail_from, smtp_url, smtp_listen, webhook_allow.
    #[arg(long, global = true, env = "FIXPOINT_CONFIG")]
    pub config: Option<PathBuf>,
}

impl Overrides {
    pub fn resolve(&self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        Ok(Settings {
            database_url: pick(
                self.database_url.clone(),
                file.database_url,
                DEFAULT_DATABASE_URL,
            ),
            listen: pick(self.listen.clone(), file.listen, DEFAULT_LISTEN),
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            sweep_interval_secs: self
                .sweep_interval_secs
                .or(file.sweep_interval_secs)
                .unwrap_or(DEFAULT_SWEEP_INTERVAL_SECS),
            atera_requests_per_minute: self
                .atera_requests_per_minute
                .or(file.atera_requests_per_minute)
                .unwrap_or(DEFAULT_ATERA_REQUESTS_PER_MINUTE),
            autotask_requests_per_hour: self
                .autotask_requests_per_hour
                .or(file.autotask_requests_per_hour)
                .unwrap_or(10_000),
            halopsa_requests_per_window: self
                .halopsa_requests_per_window
                .or(file.halopsa_requests_per_window)
                .unwrap_or(500),
            tenant_profile: match self.tenant_profile.clone().or(file.tenant_profile) {
                Some(name) if WorkflowSettings::profile(&name).is_none() => anyhow::bail!(
                    "unknown tenant profile '{name}'; use {}",
                    WorkflowSettings::PROFILES.join(", ")
                ),
                other => other,
            },
            mail_from: self.mail_from.clone().or(file.mail_from),
            smtp_url: self.smtp_url.clone().or(file.smtp_url),
            smtp_listen: self.smtp_listen.clone().or(file.smtp_listen),
            webhook_allow: {
                let list = self
                    .webhook_allow
                    .clone()
                    .or(file.webhook_allow)
                    .unwrap_or_default();
                let names: Vec<String> = list
                    .split(',')
                    .map(|n| n.trim().to_ascii_lowercase())
                    .filter(|n| !n.is_empty())
                    .collect();
                if let Some(bad) = names
                    .iter()
                    .find(|n| !matches!(n.as_str(), "loopback" | "private"))
                {
                    anyhow::bail!(
                        "webhook_allow: unknown network '{bad}'; use loopback, private or both"
                    );
                }
                names
            },
        })
    }
}

fn pick(flag_or_env: Option<String>, file: Option<String>, default: &str) -> String {
    flag_or_env.or(file).unwrap_or_else(|| default.to_owned())
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flags_then_file_then_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fixpoint.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\ndatabase_url = \"sqlite://file.db\"\n",
        )
        .unwrap();
        let o = Overrides {
            config: Some(path.clone()),
            database_url: Some("sqlite://flag.db".into()),
            ..Default::default()
        };
        let s = o.resolve().unwrap();
        assert_eq!(s.database_url, "sqlite://flag.db");
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert_eq!(s.log_format, LogFormat::Text);
        let s = Overrides::default().resolve().unwrap();
        assert_eq!(
            (s.database_url.as_str(), s.listen.as_str()),
            (DEFAULT_DATABASE_URL, DEFAULT_LISTEN)
        );
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fixpoint.toml");
        std::fs::write(&path, "listn = \"x\"\n").unwrap();
        let err = Overrides {
            config: Some(path),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(format!("{err:#}").contains("listn"), "{err:#}");
    }
}
