//! Guest filesystem: transfer URLs and the streamed PUT/GET on them,
//! directories, and file information.
//!
//! Uploads stream from disk (`tokio::fs::File` → `ReaderStream` → request
//! body) and downloads stream to disk chunk by chunk, so a 1 GiB file never
//! sits in memory. The transfer URL works once, so neither transfer is
//! repeated on failure; the caller starts over with a new transfer.

use super::error::VsphereError;
use super::ops;
use super::session::Client;
use super::wire::VmId;
use super::wire::{
    FileCreationAttributes, GuestCredentials, GuestFileInfo, GuestFileList, TransferSpec,
};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;
use std::path::Path;
use url::Url;

/// The transfer URL vCenter returned, with a `*` host (meaning "the server
/// you called") replaced by `server`'s host, and its port when the URL has
/// none.
pub fn resolve_transfer_url(raw: &str, server: &Url) -> Result<Url, VsphereError> {
    let bad = |reason: String| VsphereError::Decode {
        what: "read the guest transfer URL".into(),
        reason,
    };
    let (scheme, rest) = raw
        .split_once("://")
        .ok_or_else(|| bad(format!("{raw:?} is not an absolute URL")))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let star_port = match authority {
        "*" => Some(None),
        a => a.strip_prefix("*:").map(Some),
    };
    let Some(port) = star_port else {
        return Url::parse(raw).map_err(|e| bad(format!("{raw:?}: {e}")));
    };
    let host = server
        .host_str()
        .ok_or_else(|| bad(format!("the server URL {server} has no host")))?;
    let mut url = Url::parse(&format!("{scheme}://placeholder.invalid{tail}"))
        .map_err(|e| bad(format!("{raw:?}: {e}")))?;
    url.set_host(Some(host))
        .map_err(|e| bad(format!("host {host}: {e}")))?;
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| bad(format!("{raw:?} has a bad port")))?,
        ),
        None => server.port(),
    };
    url.set_port(port)
        .map_err(|_| bad(format!("cannot set port on {raw:?}")))?;
    Ok(url)
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
                json!({ "spec": spec }),
                what,
            )
            .await?;
        resolve_transfer_url(&raw, self.base_url())
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
        let io_err = |e: std::io::Error| VsphereError::Io {
            what: what.clone(),
            path: local.display().to_string(),
            reason: e.to_string(),
        };
        let file = tokio::fs::File::open(local).await.map_err(io_err)?;
        let size = file.metadata().await.map_err(io_err)?.len();
        let url = self
            .upload_url(vm, creds, guest_path, size, overwrite)
            .await?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
            file,
            256 * 1024,
        ));
        self.put_transfer(url, body, size, &what).await?;
        Ok(size)
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
        let url = self
            .upload_url(vm, creds, guest_path, size, overwrite)
            .await?;
        self.put_transfer(url, reqwest::Body::from(content), size, &what)
            .await
    }

    async fn upload_url(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        guest_path: &str,
        size: u64,
        overwrite: bool,
    ) -> Result<Url, VsphereError> {
        let attributes = FileCreationAttributes {
            size: size as i64,
            overwrite: Some(overwrite),
            ..Default::default()
        };
        let spec = TransferSpec {
            path: guest_path.to_string(),
            attributes: Some(attributes),
        };
        self.create_transfer(vm, creds, &spec).await
    }

    async fn put_transfer(
        &self,
        url: Url,
        body: reqwest::Body,
        size: u64,
        what: &str,
    ) -> Result<(), VsphereError> {
        self.transfer(&ops::TRANSFER_PUT, url, Some((body, size)), what)
            .await
            .map(|_| ())
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
        let resp = self.download_response(vm, creds, guest_path, &what).await?;
        let io_err = |e: std::io::Error| VsphereError::Io {
            what: what.clone(),
            path: local.display().to_string(),
            reason: e.to_string(),
        };
        let file = std::fs::File::create(local).map_err(io_err)?;
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
                let chunk = chunk.map_err(|e| self.transfer_error(&what, &e))?;
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
            Ok(w) => w.map_err(io_err),
            Err(e) => Err(io_err(std::io::Error::other(e.to_string()))),
        };
        let result = received.and(written);
        if result.is_err() {
            let _ = tokio::fs::remove_file(local).await;
        }
        result
    }

    /// Downloads small content into memory.
    pub async fn download_bytes(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        guest_path: &str,
    ) -> Result<Bytes, VsphereError> {
        let what = format!("download {guest_path} from {vm}");
        let resp = self.download_response(vm, creds, guest_path, &what).await?;
        resp.bytes()
            .await
            .map_err(|e| self.transfer_error(&what, &e))
    }

    async fn download_response(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        guest_path: &str,
        what: &str,
    ) -> Result<reqwest::Response, VsphereError> {
        let url = self
            .create_transfer(
                vm,
                creds,
                &TransferSpec {
                    path: guest_path.to_string(),
                    attributes: None,
                },
            )
            .await?;
        self.transfer(&ops::TRANSFER_GET, url, None, what).await
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
        let resp = req
            .send()
            .await
            .map_err(|e| self.transfer_error(what, &e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let body = resp.bytes().await.unwrap_or_default();
        Err(VsphereError::from_response(what.to_string(), status, &body))
    }

    fn transfer_error(&self, what: &str, e: &reqwest::Error) -> VsphereError {
        // The URL's query is the transfer ticket: report the origin only.
        let mut shown = self.base_url().clone();
        shown.set_path("/");
        super::transport::send_error(what, &shown, e)
    }

    pub async fn create_directory(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        path: &str,
        create_parents: bool,
    ) -> Result<(), VsphereError> {
        let what = format!("create directory {path} in {vm}");
        let extra = json!({ "path": path, "create_parents": create_parents });
        self.guest_reply(
            &ops::DIRECTORY_CREATE,
            &[("vm", vm.as_str())],
            creds,
            extra,
            &what,
        )
        .await
        .map(drop)
    }

    pub async fn delete_directory(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        path: &str,
        recursive: bool,
    ) -> Result<(), VsphereError> {
        let what = format!("delete directory {path} in {vm}");
        let extra = json!({ "path": path, "recursive": recursive });
        self.guest_reply(
            &ops::DIRECTORY_DELETE,
            &[("vm", vm.as_str())],
            creds,
            extra,
            &what,
        )
        .await
        .map(drop)
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
            json!({}),
            what,
        )
        .await
    }

    pub async fn delete_file(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        path: &str,
    ) -> Result<(), VsphereError> {
        let what = format!("delete file {path} in {vm}");
        self.guest_reply(
            &ops::FILE_DELETE,
            &[("vm", vm.as_str()), ("path", path)],
            creds,
            json!({}),
            &what,
        )
        .await
        .map(drop)
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
            json!({ "path": path }),
            what,
        )
        .await
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
