//! Guest filesystem: transfer URLs and the streamed PUT/GET on them,
//! directories, and file information.
//!
//! Uploads stream from disk (`tokio::fs::File` → `ReaderStream` → request
//! body) and downloads stream to disk chunk by chunk, so a 1 GiB file never
//! sits in memory.
//!
//! A transfer URL works once, so a PUT or GET on it is never repeated.
//! When one fails transiently (a 503, a dropped connection, a body cut
//! short) the whole transfer is done again with a fresh URL
//! ([`Client::with_fresh_transfers`]): asking for a second ticket is
//! harmless, a download is a read, and an upload sends the same bytes
//! again (a file upload reopens the file). The one case that needs care
//! is an upload without `overwrite` whose lost answer hid a success: the
//! repeat then finds the file there, which counts as done when its size
//! is the size sent.

use super::error::VsphereError;
use super::guest::{NoParams, SpecParam};
use super::ops;
use super::session::Client;
use super::wire::VmId;
use super::wire::{
    FileCreationAttributes, GuestCredentials, GuestFileInfo, GuestFileList, GuestFileType,
    TransferSpec,
};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Serialize;
use std::future::Future;
use std::path::Path;
use url::Url;

/// The transfer URL vCenter returned, with a `*` host (meaning "the server
/// you called") replaced by `server`'s host, and its port when the URL has
/// none. Errors show the URL without its query: that is the ticket.
pub fn resolve_transfer_url(raw: &str, server: &Url) -> Result<Url, VsphereError> {
    let shown = raw.split('?').next().unwrap_or_default();
    let bad = |reason: String| {
        VsphereError::unexpected(
            "read the guest transfer URL",
            format!("{shown:?} (query left out) {reason}"),
        )
    };
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or_else(|| bad("is not an absolute URL".into()))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let star_port = match authority {
        "*" => Some(None),
        a => a.strip_prefix("*:").map(Some),
    };
    let Some(port) = star_port else {
        return Url::parse(raw).map_err(|e| bad(format!("is not a URL: {e}")));
    };
    let host = server.host_str().ok_or_else(|| {
        bad(format!(
            "cannot be completed: the server URL {server} has no host"
        ))
    })?;
    let mut url = Url::parse(&format!("{scheme}://placeholder.invalid{tail}"))
        .map_err(|e| bad(format!("is not a URL: {e}")))?;
    url.set_host(Some(host))
        .map_err(|e| bad(format!("cannot take host {host}: {e}")))?;
    let port = match port {
        Some(p) => Some(p.parse::<u16>().map_err(|_| bad("has a bad port".into()))?),
        None => server.port(),
    };
    url.set_port(port)
        .map_err(|_| bad("cannot take a port".into()))?;
    Ok(url)
}

/// `path` parameter of the directory, file and list operations.
#[derive(Serialize)]
struct PathParam<'a> {
    path: &'a str,
}

#[derive(Serialize)]
struct CreateDirectory<'a> {
    path: &'a str,
    create_parents: bool,
}

#[derive(Serialize)]
struct DeleteDirectory<'a> {
    path: &'a str,
    recursive: bool,
}

impl Client {
    /// `POST .../guest/filesystem?action=create`: with `attributes` an
    /// upload URL, without a download URL.
    pub async fn create_transfer(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        spec: &TransferSpec,
    ) -> Result<Url, VsphereError> {
        let kind = if spec.attributes.is_some() {
            "upload"
        } else {
            "download"
        };
        let what = format!("prepare {kind} of {} in {vm}", spec.path);
        let raw: String = self
            .guest_call(
                &ops::TRANSFER_CREATE,
                &[("vm", vm.as_str())],
                creds,
                &SpecParam { spec },
                what,
            )
            .await?;
        resolve_transfer_url(&raw, self.base_url())
    }

    /// Creates a transfer for `spec` and runs `transfer` on its URL; after
    /// a transient failure of `transfer`, does both again (a fresh URL:
    /// the old one may have been spent), within the retry policy. A
    /// failure to create the URL is final: that call had its retries.
    ///
    /// For an upload without overwrite, a repeat that vCenter refuses with
    /// ALREADY_EXISTS after an ambiguous failure counts as done when the
    /// file has the size sent: the earlier PUT went through.
    async fn with_fresh_transfers<T, F, Fut>(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        spec: &TransferSpec,
        what: &str,
        landed: impl Fn() -> T,
        mut transfer: F,
    ) -> Result<T, VsphereError>
    where
        F: FnMut(Url) -> Fut,
        Fut: Future<Output = Result<T, VsphereError>>,
    {
        let mut backoff = self.t().retry.start();
        let mut maybe_landed = false;
        loop {
            let url = match self.create_transfer(vm, creds, spec).await {
                Ok(url) => url,
                Err(e) if maybe_landed && e.is_already_exists() => {
                    let sent = spec.attributes.as_ref().map(|a| a.size);
                    let there = self.file_info(vm, creds, &spec.path).await?;
                    if there.file_type == GuestFileType::File && Some(there.size) == sent {
                        tracing::info!(%what, "the earlier upload went through after all");
                        return Ok(landed());
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            match transfer(url).await {
                Err(e) if e.is_transient() && backoff.wait().await => {
                    tracing::info!(%what, error = %e, retry = backoff.retries(), "transfer failed; starting it again with a new URL");
                    maybe_landed |= e.is_ambiguous();
                }
                other => return other,
            }
        }
    }

    /// Uploads a local file to `guest_path`, streaming it from disk.
    /// Returns the bytes sent.
    pub async fn upload_file(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        local: &Path,
        guest_path: &str,
        overwrite: bool,
    ) -> Result<u64, VsphereError> {
        let what = format!("upload {} to {guest_path} in {vm}", local.display());
        let io_err = |doing: &'static str| {
            let what = what.clone();
            move |source: std::io::Error| VsphereError::Io {
                what,
                doing,
                path: local.display().to_string(),
                source,
            }
        };
        let size = tokio::fs::metadata(local)
            .await
            .map_err(io_err("read the size of"))?
            .len();
        let spec = upload_spec(guest_path, size, overwrite);
        self.with_fresh_transfers(
            vm,
            creds,
            &spec,
            &what,
            || size,
            |url| async {
                // Opened for each attempt: a request body stream is spent by
                // the attempt that sent it.
                let file = tokio::fs::File::open(local).await.map_err(io_err("open"))?;
                let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
                    file,
                    256 * 1024,
                ));
                self.transfer(&ops::TRANSFER_PUT, url, Some((body, size)), &what)
                    .await
                    .map(|_| size)
            },
        )
        .await
    }

    /// Uploads small in-memory content (a script, an answer file).
    pub async fn upload_bytes(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        content: impl Into<Bytes>,
        guest_path: &str,
        overwrite: bool,
    ) -> Result<(), VsphereError> {
        let content: Bytes = content.into();
        let size = content.len() as u64;
        let what = format!("upload {size} bytes to {guest_path} in {vm}");
        let spec = upload_spec(guest_path, size, overwrite);
        let what = what.as_str();
        self.with_fresh_transfers(
            vm,
            creds,
            &spec,
            what,
            || (),
            |url| {
                let body = reqwest::Body::from(content.clone());
                async move {
                    self.transfer(&ops::TRANSFER_PUT, url, Some((body, size)), what)
                        .await
                        .map(drop)
                }
            },
        )
        .await
    }

    /// Downloads `guest_path` into `local`, streaming to disk. A partial
    /// file is removed when the transfer fails. Returns the bytes written.
    pub async fn download_file(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        guest_path: &str,
        local: &Path,
    ) -> Result<u64, VsphereError> {
        let what = format!("download {guest_path} from {vm} to {}", local.display());
        let spec = download_spec(guest_path);
        let result = self
            .with_fresh_transfers(
                vm,
                creds,
                &spec,
                &what,
                || 0,
                |url| async {
                    let resp = self.transfer(&ops::TRANSFER_GET, url, None, &what).await?;
                    self.stream_to_file(resp, local, &what).await
                },
            )
            .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(local).await;
        }
        result
    }

    /// Writes a download's body to `local` (created or truncated).
    async fn stream_to_file(
        &self,
        resp: reqwest::Response,
        local: &Path,
        what: &str,
    ) -> Result<u64, VsphereError> {
        let io_err = |doing: &'static str| {
            move |source: std::io::Error| VsphereError::Io {
                what: what.to_string(),
                doing,
                path: local.display().to_string(),
                source,
            }
        };
        let file = std::fs::File::create(local).map_err(io_err("create"))?;
        // Disk writes happen on one blocking thread fed through a bounded
        // channel: the network keeps reading while the disk writes, and at
        // most CHANNEL_CHUNKS chunks are in memory. (tokio::fs::File hops to
        // the blocking pool once per chunk, which halved throughput.)
        const CHANNEL_CHUNKS: usize = 32;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            use std::io::Write;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            let mut written = 0u64;
            while let Some(chunk) = rx.blocking_recv() {
                out.write_all(&chunk)?;
                written += chunk.len() as u64;
            }
            out.flush()?;
            Ok(written)
        });
        let received = async {
            let mut stream = resp.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.transfer_error(what, e))?;
                if tx.send(chunk).await.is_err() {
                    // The writer stopped on an I/O error; it reports it below.
                    break;
                }
            }
            Ok::<(), VsphereError>(())
        }
        .await;
        drop(tx);
        let written = match writer.await {
            Ok(w) => w.map_err(io_err("write")),
            Err(e) => Err(io_err("write")(std::io::Error::other(e))),
        };
        received.and(written)
    }

    /// Downloads small content into memory.
    pub async fn download_bytes(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        guest_path: &str,
    ) -> Result<Bytes, VsphereError> {
        let what = format!("download {guest_path} from {vm}");
        let spec = download_spec(guest_path);
        self.with_fresh_transfers(vm, creds, &spec, &what, Bytes::new, |url| async {
            let resp = self.transfer(&ops::TRANSFER_GET, url, None, &what).await?;
            resp.bytes()
                .await
                .map_err(|e| self.transfer_error(&what, e))
        })
        .await
    }

    /// One request on a transfer URL (the ticket in the URL is the
    /// authentication). Sent once; a non-2xx answer becomes a typed error.
    async fn transfer(
        &self,
        op: &'static ops::Operation,
        url: Url,
        body: Option<(reqwest::Body, u64)>,
        what: &str,
    ) -> Result<reqwest::Response, VsphereError> {
        let url = op.render(self.base_url(), &[("url", url.as_str())], &[])?;
        let mut req = self
            .t()
            .transfer_http
            .request(op.method.to_reqwest(), url.clone())
            .timeout(self.t().timeouts.transfer);
        if let Some((body, size)) = body {
            req = req.header(reqwest::header::CONTENT_LENGTH, size).body(body);
        }
        tracing::debug!(operation = op.name, request = %super::transport::describe_request(op, &url, &super::transport::Auth::None, None), "guest transfer");
        let resp = req.send().await.map_err(|e| self.transfer_error(what, e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let body = resp.bytes().await.unwrap_or_default();
        Err(VsphereError::from_response(what.to_string(), status, &body))
    }

    fn transfer_error(&self, what: &str, e: reqwest::Error) -> VsphereError {
        // The URL's query is the transfer ticket: report the origin only.
        let mut shown = self.base_url().clone();
        shown.set_path("/");
        super::transport::send_error(what, &shown, e)
    }

    /// Creates a directory. After a lost answer a directory found at
    /// `path` counts as created (had it been there before, the first
    /// attempt would have been refused with ALREADY_EXISTS instead).
    pub async fn create_directory(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        path: &str,
        create_parents: bool,
    ) -> Result<(), VsphereError> {
        let what = format!("create directory {path} in {vm}");
        let params = [("vm", vm.as_str())];
        let extra = CreateDirectory {
            path,
            create_parents,
        };
        self.recover_then_retry(
            &what,
            || async {
                self.guest_reply(&ops::DIRECTORY_CREATE, &params, creds, &extra, &what)
                    .await
                    .map(drop)
            },
            || async {
                match self.file_info(vm, creds, path).await {
                    Ok(info) => Ok((info.file_type == GuestFileType::Directory).then_some(())),
                    Err(e) if e.is_not_found() => Ok(None),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    /// Deletes a directory; after a lost answer, one gone counts as deleted.
    pub async fn delete_directory(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        path: &str,
        recursive: bool,
    ) -> Result<(), VsphereError> {
        let what = format!("delete directory {path} in {vm}");
        let params = [("vm", vm.as_str())];
        let extra = DeleteDirectory { path, recursive };
        self.recover_then_retry(
            &what,
            || async {
                self.guest_reply(&ops::DIRECTORY_DELETE, &params, creds, &extra, &what)
                    .await
                    .map(drop)
            },
            || self.gone(vm, creds, path),
        )
        .await
    }

    pub async fn file_info(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        path: &str,
    ) -> Result<GuestFileInfo, VsphereError> {
        let what = format!("get file {path} in {vm}");
        self.guest_call(
            &ops::FILE_GET,
            &[("vm", vm.as_str()), ("path", path)],
            creds,
            &NoParams {},
            what,
        )
        .await
    }

    /// Deletes a file; after a lost answer, a file gone counts as deleted.
    pub async fn delete_file(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        path: &str,
    ) -> Result<(), VsphereError> {
        let what = format!("delete file {path} in {vm}");
        let params = [("vm", vm.as_str()), ("path", path)];
        self.recover_then_retry(
            &what,
            || async {
                self.guest_reply(&ops::FILE_DELETE, &params, creds, &NoParams {}, &what)
                    .await
                    .map(drop)
            },
            || self.gone(vm, creds, path),
        )
        .await
    }

    /// `Some(())` when nothing is at `path` (the look of the deletes).
    async fn gone(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        path: &str,
    ) -> Result<Option<()>, VsphereError> {
        match self.file_info(vm, creds, path).await {
            Ok(_) => Ok(None),
            Err(e) if e.is_not_found() => Ok(Some(())),
            Err(e) => Err(e),
        }
    }

    /// The first page of a directory listing (vCenter's default page size).
    pub async fn list_files(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        path: &str,
    ) -> Result<GuestFileList, VsphereError> {
        let what = format!("list directory {path} in {vm}");
        self.guest_call(
            &ops::FILE_LIST,
            &[("vm", vm.as_str())],
            creds,
            &PathParam { path },
            what,
        )
        .await
    }
}

fn upload_spec(guest_path: &str, size: u64, overwrite: bool) -> TransferSpec {
    TransferSpec {
        path: guest_path.to_string(),
        attributes: Some(FileCreationAttributes {
            size: size as i64,
            overwrite: Some(overwrite),
            ..Default::default()
        }),
    }
}

fn download_spec(guest_path: &str) -> TransferSpec {
    TransferSpec {
        path: guest_path.to_string(),
        attributes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_host_is_replaced_by_the_server_host_and_port() {
        let server = Url::parse("https://127.0.0.1:8443/").unwrap();
        let url = resolve_transfer_url("https://*/guestFile?id=7&token=abc", &server).unwrap();
        assert_eq!(
            url.as_str(),
            "https://127.0.0.1:8443/guestFile?id=7&token=abc"
        );
    }

    #[test]
    fn star_host_with_its_own_port_keeps_that_port() {
        let server = Url::parse("https://vc.example/").unwrap();
        let url = resolve_transfer_url("https://*:9443/guestFile?id=1", &server).unwrap();
        assert_eq!(url.as_str(), "https://vc.example:9443/guestFile?id=1");
    }

    #[test]
    fn a_real_host_is_left_alone() {
        let server = Url::parse("https://vc.example/").unwrap();
        let url = resolve_transfer_url("https://esx-3.example/guestFile?id=1", &server).unwrap();
        assert_eq!(url.host_str(), Some("esx-3.example"));
        assert!(resolve_transfer_url("/relative", &server).is_err());
    }

    #[test]
    fn ipv6_server_host_is_bracketed() {
        let server = Url::parse("https://[::1]:8443/").unwrap();
        let url = resolve_transfer_url("https://*/guestFile", &server).unwrap();
        assert_eq!(url.as_str(), "https://[::1]:8443/guestFile");
    }
}

#[cfg(test)]
mod ticket_tests {
    use super::*;

    #[test]
    fn a_bad_transfer_url_is_reported_without_its_ticket() {
        let server = Url::parse("https://vc.example/").unwrap();
        for raw in [
            "guestFile?id=1&token=s3cr3t-ticket",
            "https://*:notaport/guestFile?id=1&token=s3cr3t-ticket",
        ] {
            let e = resolve_transfer_url(raw, &server).unwrap_err().to_string();
            assert!(!e.contains("s3cr3t-ticket"), "{e}");
            assert!(e.contains("guestFile"), "{e}");
        }
    }
}
