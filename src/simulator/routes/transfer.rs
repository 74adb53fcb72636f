//! The transfer URL itself (`/guestFile?id=..&token=..`), as ESXi serves it:
//! PUT uploads, GET downloads, each ticket once and before it expires.
//!
//! Both directions stream. Uploads larger than [`MEMORY_LIMIT`] go to a
//! temporary file on the host (a `FileBlob::Disk`) so a 1 GiB transfer never
//! sits in memory; downloads read such a file in chunks. The
//! `transfer-break` fault cuts the connection after a given byte count.

use crate::simulator::error::ApiError;
use crate::simulator::guest::FileBlob;
use crate::simulator::server::ConnectionKill;
use crate::simulator::state::Shared;
use crate::vsphere::wire::ErrorType;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{Stream, StreamExt};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Uploads up to this size stay in memory.
pub const MEMORY_LIMIT: u64 = 4 * 1024 * 1024;
const ROUTE: &str = "/guestFile";

type ByteStream = std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

pub fn router() -> Router<Shared> {
    Router::new().route(ROUTE, get(download).put(upload))
}

/// A blob's full content (for small files and admin assertions).
pub fn blob_bytes(blob: &FileBlob) -> std::io::Result<Vec<u8>> {
    blob.to_bytes().map(|b| b.to_vec())
}

fn ticket_token(req: &Request) -> Option<String> {
    let q = req.uri().query()?;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// Redeems a ticket: it is removed whether or not the transfer succeeds.
fn redeem(s: &Shared, req: &Request) -> Result<crate::simulator::state::Transfer, ApiError> {
    let token =
        ticket_token(req).ok_or_else(|| ApiError::not_found("Transfer", "without token"))?;
    s.world()
        .transfers
        .remove(&token)
        .ok_or_else(|| ApiError::not_found("Transfer ticket", "(unknown, used or expired)"))
}

fn kill_connection(req_kill: Option<ConnectionKill>) {
    if let Some(kill) = req_kill {
        kill.0.notify_one();
    }
}

async fn upload(State(s): State<Shared>, req: Request) -> Response {
    let ticket = match redeem(&s, &req) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let Some((announced, overwrite)) = ticket.upload else {
        return ApiError::invalid_argument("This transfer URL is for a download (GET)")
            .into_response();
    };
    let break_after = s.faults.transfer_break("PUT", ROUTE);
    let kill = req.extensions().get::<ConnectionKill>().cloned();
    let blob = match receive(req.into_body(), announced, break_after).await {
        Ok(Received::Stored(blob)) => blob,
        Ok(Received::Broken) => {
            kill_connection(kill);
            return std::future::pending().await;
        }
        Ok(Received::WrongSize { received }) => {
            let message =
                format!("The upload has {received}+ bytes but the transfer announced {announced}");
            return ApiError::invalid_argument(message).into_response();
        }
        Err(e) => {
            return ApiError::new(ErrorType::Error, format!("Cannot store the upload: {e}"))
                .into_response()
        }
    };
    let mut world = s.world();
    let Some(vm) = world.vms.get_mut(&ticket.vm) else {
        return ApiError::not_found("Virtual machine", ticket.vm.as_str()).into_response();
    };
    match vm.guest_mut().write_file(&ticket.path, blob, overwrite) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => super::guest_error(e).into_response(),
    }
}

/// What became of an upload body.
enum Received {
    Stored(FileBlob),
    /// The break fault fired: cut the connection.
    Broken,
    /// The body did not match the size announced in the transfer spec.
    WrongSize {
        received: u64,
    },
}

/// Reads the request body into memory or a temp file. A body running past
/// the announced size is refused at once, so a lying client cannot make the
/// simulator buffer without bound.
async fn receive(
    body: Body,
    announced: u64,
    break_after: Option<u64>,
) -> std::io::Result<Received> {
    let mut stream = body.into_data_stream();
    let mut received: u64 = 0;
    let mut memory = Vec::new();
    let mut disk: Option<(tokio::fs::File, tempfile::TempPath)> = None;
    if announced > MEMORY_LIMIT {
        let (file, path) = tempfile::NamedTempFile::new()?.into_parts();
        disk = Some((tokio::fs::File::from_std(file), path));
    }
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(std::io::Error::other)?;
        received += chunk.len() as u64;
        if break_after.is_some_and(|limit| received >= limit) {
            return Ok(Received::Broken);
        }
        if received > announced {
            return Ok(Received::WrongSize { received });
        }
        match disk.as_mut() {
            Some((file, _)) => file.write_all(&chunk).await?,
            None => memory.extend_from_slice(&chunk),
        }
    }
    if received != announced {
        return Ok(Received::WrongSize { received });
    }
    Ok(Received::Stored(match disk {
        Some((mut file, path)) => {
            file.flush().await?;
            FileBlob::Disk {
                path: Arc::new(path),
                size: received,
            }
        }
        None => FileBlob::Memory(Bytes::from(memory)),
    }))
}

async fn download(State(s): State<Shared>, req: Request) -> Response {
    let ticket = match redeem(&s, &req) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    if ticket.upload.is_some() {
        return ApiError::invalid_argument("This transfer URL is for an upload (PUT)")
            .into_response();
    }
    let blob = {
        let world = s.world();
        let Some(vm) = world.vms.get(&ticket.vm) else {
            return ApiError::not_found("Virtual machine", ticket.vm.as_str()).into_response();
        };
        match vm.guest().read_file(&ticket.path) {
            Ok(b) => b,
            Err(e) => return super::guest_error(e).into_response(),
        }
    };
    let size = blob.size();
    let chunks: ByteStream = match blob {
        FileBlob::Memory(bytes) => Box::pin(futures_util::stream::iter(
            bytes
                .chunks(256 * 1024)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        )),
        FileBlob::Disk { path, .. } => {
            match tokio::fs::File::open(path.as_ref() as &std::path::Path).await {
                // `path` moves into the stream so the temp file outlives the download.
                Ok(file) => Box::pin(
                    tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).map(move |c| {
                        let _keep = &path;
                        c
                    }),
                ),
                Err(e) => {
                    return ApiError::new(ErrorType::Error, format!("Cannot read the file: {e}"))
                        .into_response()
                }
            }
        }
    };
    let chunks = match s.faults.transfer_break("GET", ROUTE) {
        Some(limit) => truncate(chunks, limit),
        None => chunks,
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, size)
        .body(Body::from_stream(chunks))
        .unwrap_or_else(|e| ApiError::new(ErrorType::Error, e.to_string()).into_response())
}

/// Passes `limit` bytes, then fails the stream, which makes hyper abort the
/// response mid-body (the client sees a short read or a reset). A file
/// shorter than `limit` goes through whole.
fn truncate(inner: ByteStream, limit: u64) -> ByteStream {
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cut_seen = cut.clone();
    let mut sent = 0u64;
    let head = inner.scan((), move |_, item| {
        if sent >= limit {
            cut.store(true, std::sync::atomic::Ordering::SeqCst);
            return futures_util::future::ready(None);
        }
        let out = item.map(|mut chunk| {
            let room = (limit - sent) as usize;
            if chunk.len() > room {
                cut.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            chunk.truncate(room);
            sent += chunk.len() as u64;
            chunk
        });
        futures_util::future::ready(Some(out))
    });
    let tail = futures_util::stream::once(async move {
        cut_seen
            .load(std::sync::atomic::Ordering::SeqCst)
            .then(|| Err(std::io::Error::other("transfer broken by fault injection")))
    })
    .filter_map(futures_util::future::ready);
    Box::pin(head.chain(tail))
}
