//! OpenSSH for Windows' host keys.
//!
//! sshd creates its host keys in `C:\ProgramData\ssh` the first time it
//! starts (Microsoft, "Key-based authentication in OpenSSH for Windows":
//! host keys are generated when sshd starts and none exist), and nothing in
//! sysprep touches ProgramData: an image generalized with its keys in place
//! gives every clone the same host identity. The model creates fresh random
//! keys whenever sshd goes from stopped to running and finds none, and
//! sysprep leaves them alone.

use super::fs::GuestPath;
use super::WindowsGuest;
use base64::Engine;

pub const SSH_DIR: &str = r"C:\ProgramData\ssh";
/// What `ssh-keygen -A` writes on Windows (DSA is no longer generated).
const HOST_KEY_TYPES: &[(&str, &str)] = &[
    ("rsa", "ssh-rsa"),
    ("ecdsa", "ecdsa-sha2-nistp256"),
    ("ed25519", "ssh-ed25519"),
];

/// The `ssh_host_*` files present, sorted.
pub fn host_key_files(guest: &WindowsGuest) -> Vec<String> {
    let Ok(dir) = GuestPath::parse(SSH_DIR) else {
        return Vec::new();
    };
    let mut names: Vec<String> = guest
        .fs
        .list(&dir)
        .unwrap_or_default()
        .into_iter()
        .map(|f| f.filename)
        .filter(|n| n.to_ascii_lowercase().starts_with("ssh_host_"))
        .collect();
    names.sort();
    names
}

/// What sshd does when it starts and finds no host keys.
pub fn ensure_host_keys(guest: &mut WindowsGuest) {
    if !host_key_files(guest).is_empty() {
        return;
    }
    let Ok(dir) = GuestPath::parse(SSH_DIR) else {
        return;
    };
    if guest.fs.create_dir(&dir, true).is_err() && !guest.fs.is_dir(&dir) {
        return;
    }
    let host = guest.hostname.to_ascii_lowercase();
    for (short, key_type) in HOST_KEY_TYPES {
        let secret: [u8; 32] = rand::random();
        let b64 = base64::engine::general_purpose::STANDARD;
        let private = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            b64.encode(secret)
        );
        let public = format!("{key_type} {} system@{host}\n", b64.encode(&secret[..16]));
        let base = format!("ssh_host_{short}_key");
        for (name, content) in [(base.clone(), private), (format!("{base}.pub"), public)] {
            if let Err(e) = guest.fs.write(&dir.join(&name), content.into(), true) {
                tracing::error!(error = %e, "guest model: cannot write an sshd host key");
            }
        }
    }
}
