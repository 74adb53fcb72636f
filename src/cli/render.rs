//! `gild render` (owned by the unattend work).
use super::Outcome;

#[derive(clap::Subcommand, Debug)]
pub enum RenderCommand {
    /// Render an unattend.xml template.
    Unattend,
}

pub async fn run(_cmd: RenderCommand) -> anyhow::Result<Outcome> {
    anyhow::bail!("gild render is not built yet")
}
