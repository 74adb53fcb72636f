//! The vSphere client configuration a pipeline's `vcenter:` section
//! describes (for `gild validate --online` and the build).

use super::load::LoadedPipeline;
use crate::secret::Secret;
use crate::vsphere::{ClientConfig, TlsOptions};
use std::path::PathBuf;

/// What the command line (or `GILD_VCENTER_URL` / `GILD_VCENTER_CA_FILE`)
/// puts in place of the pipeline's own vCenter, so one file runs against
/// another vCenter or a separately served simulator unchanged.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub vcenter_url: Option<url::Url>,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectConfigError {
    /// The URL is not shown: a malformed one may still carry credentials.
    #[error("vcenter.url is not a URL: {reason}")]
    Url { reason: String },
    #[error("vcenter.url must not carry a user name or password; use vcenter.user and vcenter.password_env")]
    CredentialsInUrl,
}

/// The client configuration for the pipeline's vCenter, with `password`
/// (resolved by the caller from the pipeline's secret source) and the
/// command line's `overrides`. `ca_file` resolves against the pipeline's
/// folder.
pub fn client_config(
    loaded: &LoadedPipeline,
    password: Secret,
    overrides: &Overrides,
) -> Result<ClientConfig, ConnectConfigError> {
    let v = &loaded.pipeline().vcenter;
    let url = match &overrides.vcenter_url {
        Some(u) => u.clone(),
        None => url::Url::parse(&v.url).map_err(|e| ConnectConfigError::Url {
            reason: e.to_string(),
        })?,
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConnectConfigError::CredentialsInUrl);
    }
    let mut cfg = ClientConfig::new(url, v.user.clone(), password);
    cfg.tls = TlsOptions {
        ca_file: overrides
            .ca_file
            .clone()
            .or_else(|| v.ca_file.as_ref().map(|p| loaded.resolve_path(p))),
        thumbprint: v.thumbprint.clone(),
        insecure: v.insecure,
    };
    Ok(cfg)
}
