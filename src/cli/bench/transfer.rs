//! `gild bench transfer`: streaming a large file through a guest transfer
//! URL, next to `curl` on fresh transfer URLs of the same server in the same
//! run. The simulator runs as a separate `gild simulator serve` process so
//! that this process's peak RSS (VmHWM) is gild's client alone: a streamed
//! 1 GiB transfer must stay far below the file size.
//!
//! Targets (issue 2, section 5): gild ≥ 80% of curl's throughput in each
//! direction, peak RSS < 64 MiB. Each is printed PASS or MISS as measured.

use super::serve::ServeProcess;
use crate::cli::{BadInputExt, Outcome};
use crate::secret::Secret;
use crate::vsphere::wire::VmId;
use crate::vsphere::wire::{CloneSpec, FileCreationAttributes, GuestCredentials, TransferSpec};
use crate::vsphere::{Client, ClientConfig};
use anyhow::Context as _;
use rand::RngCore;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

#[derive(clap::Args, Debug)]
pub struct TransferBenchArgs {
    /// File size: bytes, or with a unit (KiB, MiB, GiB, KB, MB, GB).
    #[arg(long, default_value = "1GiB")]
    pub size: String,
    /// curl binary to compare with.
    #[arg(long, default_value = "curl")]
    pub curl: PathBuf,
    /// Directory for the test files (default: the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

const GUEST_PATH: &str = r"C:\Windows\Temp\gild-bench.bin";
const RSS_TARGET_MIB: f64 = 64.0;
const THROUGHPUT_TARGET: f64 = 0.8;

pub async fn run(args: TransferBenchArgs) -> anyhow::Result<Outcome> {
    let size = parse_size(&args.size)
        .with_context(|| format!("--size {:?}", args.size))
        .bad_input()?;
    let exe = std::env::current_exe().context("locating the gild executable")?;
    let serve = ServeProcess::start(&exe, &[], Duration::from_secs(60)).await?;
    let result = measure(&args, size, &serve).await;
    serve.stop().await;
    result
}

async fn measure(
    args: &TransferBenchArgs,
    size: u64,
    serve: &ServeProcess,
) -> anyhow::Result<Outcome> {
    let banner = &serve.banner;
    let url =
        url::Url::parse(&banner.url).with_context(|| format!("simulator URL {:?}", banner.url))?;
    let mut cfg = ClientConfig::new(url, &banner.user, Secret::new(banner.password.clone()));
    cfg.tls.ca_file = banner.ca_file.clone();
    let client = Client::connect(cfg)
        .await
        .context("logging in to the simulator")?;
    let creds = GuestCredentials {
        user_name: banner.guest_user.clone(),
        password: Secret::new(banner.guest_password.clone()),
    };
    let vm = prepare_vm(&client).await?;

    let dir = tempfile::Builder::new()
        .prefix("gild-bench-")
        .tempdir_in(args.dir.clone().unwrap_or_else(std::env::temp_dir))
        .context("creating the bench directory")?;
    let source = dir.path().join("source.bin");
    write_random_file(&source, size).await?;
    println!(
        "gild bench transfer: {} through a guest transfer URL (simulator in a separate process)",
        human(size)
    );

    let t = Instant::now();
    client
        .upload_file(&vm, &creds, &source, GUEST_PATH, true)
        .await?;
    let gild_up = t.elapsed();
    let gild_out = dir.path().join("gild-download.bin");
    let t = Instant::now();
    let got = client
        .download_file(&vm, &creds, GUEST_PATH, &gild_out)
        .await?;
    let gild_down = t.elapsed();
    check_size(&gild_out, got, size)?;
    std::fs::remove_file(&gild_out).ok();
    let rss_mib = peak_rss_mib();

    let ca = banner.ca_file.as_deref();
    let up_url = client
        .create_transfer(
            &vm,
            &creds,
            &TransferSpec {
                path: GUEST_PATH.into(),
                attributes: Some(FileCreationAttributes {
                    size: size as i64,
                    overwrite: Some(true),
                    ..Default::default()
                }),
            },
        )
        .await?;
    let curl_up = curl(
        &args.curl,
        ca,
        &["-T", &source.display().to_string()],
        up_url.as_str(),
    )
    .await?;
    let down_url = client
        .create_transfer(
            &vm,
            &creds,
            &TransferSpec {
                path: GUEST_PATH.into(),
                attributes: None,
            },
        )
        .await?;
    let curl_out = dir.path().join("curl-download.bin");
    let curl_down = curl(
        &args.curl,
        ca,
        &["-o", &curl_out.display().to_string()],
        down_url.as_str(),
    )
    .await?;
    check_size(
        &curl_out,
        std::fs::metadata(&curl_out).map(|m| m.len()).unwrap_or(0),
        size,
    )?;

    client.power_off(&vm).await.ok();
    client.delete_vm(&vm).await.ok();
    client.logout().await.ok();

    let mbps = |d: Duration| size as f64 / 1e6 / d.as_secs_f64().max(f64::EPSILON);
    let mut all_pass = true;
    let mut verdict = |ok: bool| {
        all_pass &= ok;
        if ok {
            "PASS"
        } else {
            "MISS"
        }
    };
    for (dir_name, g, c) in [
        ("upload", gild_up, curl_up),
        ("download", gild_down, curl_down),
    ] {
        let ratio = mbps(g) / mbps(c);
        println!(
            "  {dir_name:<9} gild {:>8.1} MB/s   curl {:>8.1} MB/s   gild/curl {:>5.1}% (target ≥ {:.0}%)  {}",
            mbps(g),
            mbps(c),
            ratio * 100.0,
            THROUGHPUT_TARGET * 100.0,
            verdict(ratio >= THROUGHPUT_TARGET)
        );
    }
    match rss_mib {
        Some(rss) => println!(
            "  peak RSS  {rss:.1} MiB (VmHWM of this process; target < {RSS_TARGET_MIB} MiB)  {}",
            verdict(rss < RSS_TARGET_MIB)
        ),
        None => println!(
            "  peak RSS  unknown (no VmHWM in /proc/self/status)  {}",
            verdict(false)
        ),
    }
    Ok(if all_pass {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// A powered-on clone with Tools running: guest transfers need one.
async fn prepare_vm(client: &Client) -> anyhow::Result<VmId> {
    let source = client.find_vm("win2022-base").await?;
    let name = format!("gild-bench-{}", std::process::id());
    let vm = client
        .clone_vm(&CloneSpec {
            source,
            name,
            placement: None,
            power_on: None,
        })
        .await?;
    client.power_on(&vm).await?;
    client
        .wait_for_guest_operations(&vm, Duration::from_secs(300))
        .await?;
    Ok(vm)
}

/// Incompressible content, written in 1 MiB blocks (never the whole file in memory).
async fn write_random_file(path: &Path, size: u64) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::create(path)
        .await
        .with_context(|| format!("creating {}", path.display()))?;
    let mut block = vec![0u8; 1 << 20];
    rand::thread_rng().fill_bytes(&mut block);
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])
            .await
            .with_context(|| format!("writing {}", path.display()))?;
        block[0] = block[0].wrapping_add(1);
        left -= n as u64;
    }
    file.flush().await?;
    Ok(())
}

fn check_size(path: &Path, got: u64, want: u64) -> anyhow::Result<()> {
    if got != want {
        anyhow::bail!(
            "{}: downloaded {got} bytes, expected {want}",
            path.display()
        );
    }
    Ok(())
}

/// Runs curl once on a transfer URL; the elapsed wall time of the process.
async fn curl(
    curl: &Path,
    ca: Option<&Path>,
    args: &[&str],
    url: &str,
) -> anyhow::Result<Duration> {
    let mut cmd = tokio::process::Command::new(curl);
    cmd.args(["-sS", "--fail", "--http1.1"]).args(args);
    if let Some(ca) = ca {
        cmd.arg("--cacert").arg(ca);
    }
    // The URL's query is the transfer ticket: it goes on the command line
    // (a loopback bench URL, valid once), but never into an error message.
    cmd.arg(url);
    let t = Instant::now();
    let out = cmd
        .output()
        .await
        .with_context(|| format!("running {}", curl.display()))
        .bad_input()?;
    let took = t.elapsed();
    if !out.status.success() {
        anyhow::bail!(
            "{} {}: {} {}",
            curl.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(took)
}

/// Peak resident set size of this process (Linux `VmHWM`).
pub(super) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn human(bytes: u64) -> String {
    format!(
        "{:.2} GiB ({bytes} bytes)",
        bytes as f64 / (1u64 << 30) as f64
    )
}

#[derive(Debug, thiserror::Error)]
#[error("expected a size such as 1GiB, 512MiB, 100MB or 1048576, got {0:?}")]
pub struct SizeError(String);

/// `1GiB`, `512 MiB`, `100MB`, `4096`.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| SizeError(text.into()))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(SizeError(text.into())),
    };
    let bytes = n * mult as f64;
    if !(bytes >= 1.0 && bytes.is_finite()) {
        return Err(SizeError(text.into()));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn parse_size_accepts_binary_and_decimal_units() {
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("512 MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("100MB").unwrap(), 100_000_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
    }

    #[test]
    fn parse_size_rejects_unknown_units_and_zero() {
        for bad in ["1TiB", "GiB", "0", "-1MiB", ""] {
            assert!(parse_size(bad).is_err(), "{bad} should be refused");
        }
    }
}
