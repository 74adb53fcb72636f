//! The `--var` / `--var-file` arguments every command that loads a
//! pipeline takes (`gild validate`, `gild build`): flatten
//! [`PipelineVarArgs`] into the command's arguments.
use crate::pipeline::vars::{Vars, VarsError};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct PipelineVarArgs {
    /// Set a `${NAME}` variable (repeatable); overrides --var-file and the
    /// environment. Not for secrets: names that look like one are refused.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a file of NAME=VALUE lines (Docker --env-file
    /// format: `#` comments, values taken literally); repeatable, later
    /// files override earlier ones.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

impl PipelineVarArgs {
    /// The variables: environment, then var files, then `--var`.
    pub fn to_vars(&self) -> Result<Vars, VarsError> {
        Vars::from_args(&self.var_files, &self.vars)
    }
}
