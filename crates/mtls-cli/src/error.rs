//! Errors and exit codes.

use std::fmt;

/// Exit code: success (`check`: the chain verified).
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: usage or I/O error (and `lint`: a lint of severity error).
pub(crate) const EXIT_ERROR: u8 = 1;
/// Exit code of `check`: the chain is invalid (a server answers 495).
pub(crate) const EXIT_INVALID: u8 = 2;
/// Exit code of `check`: no certificate (a server in mode `on` answers 496).
pub(crate) const EXIT_NO_CERTIFICATE: u8 = 3;
/// Exit code of `check`: an input file holds something that is not what the
/// flag expects (no certificate in the PEM, a CRL that does not parse...).
pub(crate) const EXIT_UNSUPPORTED: u8 = 4;

/// A failure that stops a command, with a message that names the flag and
/// the file at fault.
#[derive(Debug)]
pub(crate) enum CliError {
    /// Bad flags or flag combinations, or a configuration that cannot work.
    Usage(String),
    /// A file could not be read or written, or a socket not bound.
    Io(String),
    /// A file holds something the flag does not accept.
    Unsupported(String),
}

impl CliError {
    /// The exit code `mtls check` uses for this error: 4 for unsupported
    /// input, 1 otherwise. The other commands exit 1 on any error.
    pub(crate) fn check_exit_code(&self) -> u8 {
        match self {
            Self::Unsupported(_) => EXIT_UNSUPPORTED,
            Self::Usage(_) | Self::Io(_) => EXIT_ERROR,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) | Self::Io(message) | Self::Unsupported(message) => {
                f.write_str(message)
            }
        }
    }
}

impl std::error::Error for CliError {}
