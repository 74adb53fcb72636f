//! `gild simulator serve` as a separate process, for measurements that must
//! not count the simulator's own memory or CPU in gild's figures, and for
//! third-party clients. Reads the start banner (URL, vCenter credentials,
//! guest credentials, CA file) from its stdout.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// What `serve` prints on start, one line each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServeBanner {
    pub url: String,
    pub user: String,
    pub password: String,
    pub guest_user: String,
    pub guest_password: String,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`gild simulator serve` exited or went silent before printing {missing} (lines seen: {seen:?})")]
    Banner {
        missing: &'static str,
        seen: Vec<String>,
    },
}

/// A running `gild simulator serve`; killed on drop.
pub struct ServeProcess {
    pub banner: ServeBanner,
    child: Child,
}

impl ServeProcess {
    /// Starts `program simulator serve` with `extra` arguments and waits
    /// (at most `timeout`) for its banner.
    pub async fn start(
        program: &std::path::Path,
        extra: &[&str],
        timeout: Duration,
    ) -> Result<ServeProcess, ServeError> {
        let mut child = Command::new(program)
            .args(["simulator", "serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ServeError::Spawn {
                program: program.display().to_string(),
                source,
            })?;
        let stdout = child.stdout.take().ok_or(ServeError::Banner {
            missing: "anything",
            seen: Vec::new(),
        })?;
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let read = async {
            while let Ok(Some(line)) = lines.next_line().await {
                seen.push(line);
                if let Ok(banner) = parse_banner(&seen) {
                    return Ok(banner);
                }
            }
            Err(())
        };
        let banner = match tokio::time::timeout(timeout, read).await {
            Ok(Ok(b)) => b,
            _ => {
                let missing = parse_banner(&seen).err().unwrap_or("the banner");
                return Err(ServeError::Banner { missing, seen });
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ServeProcess { banner, child })
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Parses the banner lines. Each line is `label: value`; the labels are
/// matched loosely (case-insensitive keywords) so a reworded banner still
/// parses, while a missing item is named in the error.
pub fn parse_banner(lines: &[String]) -> Result<ServeBanner, &'static str> {
    let mut b = ServeBanner::default();
    let mut have_ca_line = false;
    for line in lines {
        let lower = line.to_ascii_lowercase();
        let value = line.split_once(':').map(|(_, v)| v.trim()).unwrap_or("");
        if b.url.is_empty() {
            if let Some(url) = line
                .split_whitespace()
                .find(|w| w.starts_with("https://") || w.starts_with("http://"))
            {
                b.url = url.to_owned();
                continue;
            }
        }
        if lower.contains("guest") {
            let (u, p) = user_password(value);
            b.guest_user = u;
            b.guest_password = p;
        } else if lower.contains("ca")
            && (lower.contains("file") || lower.contains("cert") || lower.contains("pem"))
        {
            have_ca_line = true;
            b.ca_file = line
                .split_whitespace()
                .rev()
                .find(|w| w.contains('/') || w.ends_with(".pem"))
                .map(PathBuf::from);
        } else if lower.contains("user") || lower.contains("vcenter") || lower.contains("login") {
            let (u, p) = user_password(value);
            b.user = u;
            b.password = p;
        }
    }
    if b.url.is_empty() {
        return Err("the URL");
    }
    if b.user.is_empty() || b.password.is_empty() {
        return Err("the vCenter user and password");
    }
    if b.guest_user.is_empty() || b.guest_password.is_empty() {
        return Err("the guest credentials");
    }
    if b.url.starts_with("https://") && !have_ca_line {
        return Err("the CA file");
    }
    Ok(b)
}

/// `user / password`, `user password`, `user=U password=P` or `user:password`.
fn user_password(value: &str) -> (String, String) {
    let cleaned: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == '/' || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.split_once('=').map_or(w, |(_, v)| v))
        .filter(|w| {
            !matches!(
                w.to_ascii_lowercase().as_str(),
                "user" | "password" | "pass" | "and"
            )
        })
        .collect();
    match cleaned.as_slice() {
        [user, password, ..] => ((*user).to_owned(), (*password).to_owned()),
        [one] => match one.split_once(':') {
            Some((u, p)) => (u.to_owned(), p.to_owned()),
            None => ((*one).to_owned(), String::new()),
        },
        [] => (String::new(), String::new()),
    }
}
