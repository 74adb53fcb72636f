//! Errors the guest model reports to the simulator's routes.
//!
//! Each variant corresponds to a Windows condition vCenter surfaces with a
//! specific vAPI error (SIM-CORE maps them: `NotFound`/`ProgramNotFound` to
//! 404 NOT_FOUND with `FileErrorDetails`, `AlreadyExists` to 400
//! ALREADY_EXISTS, the rest to 400 INVALID_ARGUMENT), so the variants keep the
//! guest path the client asked about.

/// Why a guest file or process operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestError {
    #[error("guest file {path} was not found")]
    NotFound { path: String },
    #[error("guest file {path} already exists")]
    AlreadyExists { path: String },
    #[error("guest path {path} is not a directory")]
    NotADirectory { path: String },
    #[error("guest path {path} is a directory")]
    IsADirectory { path: String },
    #[error("guest directory {path} is not empty")]
    DirectoryNotEmpty { path: String },
    #[error("invalid guest path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("program {path} was not found in the guest")]
    ProgramNotFound { path: String },
    #[error("guest file {path} is not a valid Win32 application")]
    NotExecutable { path: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("cannot read guest file {path} from its backing store: {message}")]
    Io { path: String, message: String },
}

impl GuestError {
    /// The guest path the error is about, for vCenter's `FileErrorDetails`.
    pub fn file_path(&self) -> Option<&str> {
        match self {
            GuestError::NotFound { path }
            | GuestError::AlreadyExists { path }
            | GuestError::NotADirectory { path }
            | GuestError::IsADirectory { path }
            | GuestError::DirectoryNotEmpty { path }
            | GuestError::InvalidPath { path, .. }
            | GuestError::ProgramNotFound { path }
            | GuestError::NotExecutable { path }
            | GuestError::Io { path, .. } => Some(path),
            GuestError::InvalidArgument(_) => None,
        }
    }

    /// vCenter's `FileErrorDetails.reason` wording for this condition.
    pub fn file_error_reason(&self) -> &'static str {
        match self {
            GuestError::NotFound { .. } | GuestError::ProgramNotFound { .. } => "FILE_NOT_FOUND",
            GuestError::AlreadyExists { .. } => "FILE_ALREADY_EXISTS",
            GuestError::NotADirectory { .. } => "NOT_A_DIRECTORY",
            GuestError::IsADirectory { .. } => "NOT_A_FILE",
            GuestError::DirectoryNotEmpty { .. } => "DIRECTORY_NOT_EMPTY",
            GuestError::InvalidPath { .. } => "INVALID_PATH",
            GuestError::NotExecutable { .. } => "NOT_EXECUTABLE",
            GuestError::InvalidArgument(_) | GuestError::Io { .. } => "INVALID_ARGUMENT",
        }
    }
}
