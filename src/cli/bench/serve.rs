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

/// Parses the banner `gild simulator serve` prints, one `label: value`
/// line each: `url: URL`, `vcenter credentials: USER PASSWORD`,
/// `guest credentials: USER PASSWORD`, `ca file: PATH` (or
/// `ca file: none (plain http)`). On an incomplete banner, names what is
/// still missing.
pub fn parse_banner(lines: &[String]) -> Result<ServeBanner, &'static str> {
    let mut b = ServeBanner::default();
    let mut ca_line = false;
    for line in lines {
        let Some((label, value)) = line.split_once(": ") else {
            continue;
        };
        let value = value.trim();
        match label.trim().to_ascii_lowercase().as_str() {
            "url" => b.url = value.to_owned(),
            "vcenter credentials" => (b.user, b.password) = user_and_password(value),
            "guest credentials" => (b.guest_user, b.guest_password) = user_and_password(value),
            "ca file" => {
                ca_line = true;
                b.ca_file = (!value.starts_with("none")).then(|| PathBuf::from(value));
            }
            _ => {}
        }
    }
    if b.url.is_empty() {
        return Err("the url line");
    }
    if b.user.is_empty() || b.password.is_empty() {
        return Err("the vcenter credentials line");
    }
    if b.guest_user.is_empty() || b.guest_password.is_empty() {
        return Err("the guest credentials line");
    }
    if !ca_line {
        return Err("the ca file line");
    }
    Ok(b)
}

/// `USER PASSWORD`: the user name has no spaces; the password is the rest.
fn user_and_password(value: &str) -> (String, String) {
    match value.split_once(' ') {
        Some((u, p)) => (u.to_owned(), p.to_owned()),
        None => (value.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn banner_of_a_tls_simulator_parses_every_item() {
        let b = parse_banner(&lines(
            "url: https://127.0.0.1:4443/\nvcenter credentials: administrator@vsphere.local s3cret pw\n\
             guest credentials: Administrator Gu3st!\nca file: /tmp/gild-sim-x/ca.pem",
        ))
        .expect("complete banner");
        assert_eq!(b.url, "https://127.0.0.1:4443/");
        assert_eq!(
            (b.user.as_str(), b.password.as_str()),
            ("administrator@vsphere.local", "s3cret pw")
        );
        assert_eq!(
            (b.guest_user.as_str(), b.guest_password.as_str()),
            ("Administrator", "Gu3st!")
        );
        assert_eq!(b.ca_file, Some(PathBuf::from("/tmp/gild-sim-x/ca.pem")));
    }

    #[test]
    fn plain_http_banner_has_no_ca_file() {
        let b = parse_banner(&lines("url: http://127.0.0.1:80/\nvcenter credentials: u p\nguest credentials: g q\nca file: none (plain http)"))
            .expect("complete banner");
        assert_eq!(b.ca_file, None);
    }

    #[test]
    fn incomplete_banner_names_the_missing_line() {
        assert_eq!(
            parse_banner(&lines("url: https://h/\nvcenter credentials: u p")),
            Err("the guest credentials line")
        );
        assert_eq!(
            parse_banner(&lines(
                "url: https://h/\nvcenter credentials: u p\nguest credentials: g q"
            )),
            Err("the ca file line")
        );
        assert_eq!(parse_banner(&[]), Err("the url line"));
    }
}
