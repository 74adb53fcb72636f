//! `gild validate --online`: log in to the pipeline's vCenter and resolve
//! every inventory object it names, one diagnostic per missing or
//! ambiguous object, placed at the field that names it.

use super::Findings;
use crate::pipeline::connect::client_config;
use crate::pipeline::load::LoadedPipeline;
use crate::pipeline::resolve::resolve;
use crate::pipeline::rules;
use crate::pipeline::secret_source::SecretRole;
use crate::report::Diagnostic;
use crate::vsphere::Client;

/// The online checks. Secrets must be available (the offline checks have
/// already reported an unset one as an error under `--online`).
pub async fn check(loaded: &LoadedPipeline) -> Vec<Diagnostic> {
    let mut f = Findings::new(loaded);
    let Some(source) = loaded.secret_source(SecretRole::Vcenter) else {
        return f.out;
    };
    let password = match source.resolve() {
        Ok(p) => p,
        Err(e) => {
            f.at(
                rules::ONLINE_LOGIN,
                "vcenter.user",
                format!("cannot log in: the vCenter password: {e}"),
            );
            return f.out;
        }
    };
    let cfg = match client_config(loaded, password, &Default::default()) {
        Ok(c) => c,
        Err(e) => {
            f.at(rules::ONLINE_LOGIN, "vcenter.url", e.to_string());
            return f.out;
        }
    };
    let client = match Client::connect(cfg).await {
        Ok(c) => c,
        Err(e) => {
            f.at(
                rules::ONLINE_LOGIN,
                "vcenter.url",
                format!("cannot log in to vCenter: {e}"),
            );
            return f.out;
        }
    };
    if let Err(e) = resolve(&client, loaded.pipeline()).await {
        for u in e.unresolved {
            f.at(rules::ONLINE_MISSING, u.field, u.to_string());
        }
    }
    if let Err(e) = client.close().await {
        tracing::warn!(error = %e, "logging out of vCenter failed");
    }
    f.out
}
