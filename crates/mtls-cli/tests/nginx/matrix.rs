//! The compact matrix printed to stderr: situation × mode, nginx's answer
//! and ours.

use std::fmt::Write as _;

use super::answer::{Answer, openssl_code};
use super::{Mode, ServerKind};

/// One cell: both answers (or the error that prevented one).
pub(crate) struct Cell {
    pub(crate) kind: ServerKind,
    pub(crate) situation: &'static str,
    pub(crate) nginx: Result<Answer, String>,
    pub(crate) ours: Result<Answer, String>,
    /// A documented improvement over nginx applies to this cell.
    pub(crate) improvement: bool,
    /// What is wrong with this cell (empty: as expected).
    pub(crate) problems: Vec<String>,
}

/// `495 F20`, `200 SUCCESS`, `496 NONE`, `ERR`.
pub(crate) fn short(answer: &Result<Answer, String>) -> String {
    match answer {
        Err(_) => "ERR".to_owned(),
        Ok(a) => match a.verify().strip_prefix("FAILED:") {
            Some(error) => format!("{} F{}", a.status, openssl_code(error)),
            None => format!("{} {}", a.status, a.verify()),
        },
    }
}

/// One table per CRL variant: rows are situations, columns modes; a cell
/// shows `nginx` when both agree, `nginx | ours` otherwise (`*`: a
/// documented improvement, `!`: a discrepancy).
pub(crate) fn render(title: &str, situations: &[&'static str], cells: &[Cell]) -> String {
    const W: usize = 22;
    let mut out = String::new();
    for crl in [false, true] {
        let _ = writeln!(
            out,
            "\n{title}, {}",
            if crl {
                "ssl_crl = a CRL per CA (not the \"no CRL\" CA)"
            } else {
                "no ssl_crl"
            }
        );
        let _ = write!(out, "{:<W$}", "situation");
        for mode in Mode::ALL {
            let _ = write!(out, "| {:<W$}", mode.as_str());
        }
        out.push('\n');
        let _ = writeln!(out, "{}", "-".repeat(W + 4 * (W + 2)));
        for situation in situations {
            let _ = write!(out, "{situation:<W$}");
            for mode in Mode::ALL {
                let kind = ServerKind { mode, crl };
                let text = cells
                    .iter()
                    .find(|c| c.kind == kind && c.situation == *situation)
                    .map_or_else(String::new, |c| {
                        let (n, o) = (short(&c.nginx), short(&c.ours));
                        let mark = if !c.problems.is_empty() {
                            " !"
                        } else if c.improvement {
                            " *"
                        } else {
                            ""
                        };
                        if n == o {
                            format!("{n}{mark}")
                        } else {
                            format!("{n} | {o}{mark}")
                        }
                    });
                let _ = write!(out, "| {text:<W$}");
            }
            out.push('\n');
        }
    }
    out.push_str(
        "cells: status + $ssl_client_verify (Fnn = FAILED with OpenSSL code nn); \
         \"nginx | ours\" where they differ; * documented improvement, ! discrepancy\n",
    );
    out
}
