//! What the guest can reach: the internet (directly, only through a proxy,
//! or not at all) and the names its DNS servers answer.
//!
//! Facts modelled for downloads made by Windows PowerShell 5.1's
//! `Invoke-WebRequest` (.NET Framework 4.x):
//! - its default protocols are SSL 3 and TLS 1.0; download.docker.com and
//!   github.com accept only TLS 1.2 or later, so the request fails with
//!   "Could not create SSL/TLS secure channel" unless the script enabled
//!   TLS 1.2 (`[Net.ServicePointManager]::SecurityProtocol`);
//! - it uses the per-user WinINet proxy settings, not the machine's WinHTTP
//!   proxy (`netsh winhttp set proxy`), so where the network allows only
//!   proxied traffic a script must read the WinHTTP proxy and pass `-Proxy`;
//! - with the progress bar shown, a download in a non-interactive host takes
//!   many times longer (the model makes it ten times as long).

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Internet {
    /// Outbound HTTPS works directly.
    Direct,
    /// Only through this proxy (`host:port`), set as the WinHTTP proxy.
    ProxyOnly { proxy: String },
    /// Air-gapped: nothing outside the site network.
    None,
}

/// How a script makes its requests, as read from its text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpClient {
    pub tls12: bool,
    pub winhttp_proxy: bool,
}

/// One DNS answer: addresses, or an alias to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsRecord {
    Addresses(Vec<String>),
    Cname(String),
}

#[derive(Clone, Debug)]
pub struct Network {
    internet: Internet,
    dns: BTreeMap<String, DnsRecord>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            internet: Internet::Direct,
            dns: BTreeMap::new(),
        }
    }
}

/// What .NET reports when the connection cannot be made at all.
pub const UNREACHABLE: &str = "Unable to connect to the remote server";
pub const NO_TLS12: &str = "The request was aborted: Could not create SSL/TLS secure channel.";

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Network {
    pub fn internet(&self) -> &Internet {
        &self.internet
    }

    pub fn set_internet(&mut self, internet: Internet) {
        self.internet = internet;
    }

    /// The WinHTTP proxy the machine is configured with, if any.
    pub fn winhttp_proxy(&self) -> Option<&str> {
        match &self.internet {
            Internet::ProxyOnly { proxy } => Some(proxy),
            _ => None,
        }
    }

    /// An HTTPS download from the internet by `client`.
    pub fn download(&self, url: &str, client: HttpClient) -> Result<(), String> {
        if !url.starts_with("https://") {
            return Err(format!("{url} is not an https URL"));
        }
        match &self.internet {
            Internet::None => return Err(UNREACHABLE.into()),
            Internet::ProxyOnly { .. } if !client.winhttp_proxy => return Err(UNREACHABLE.into()),
            _ => {}
        }
        if !client.tls12 {
            return Err(NO_TLS12.into());
        }
        Ok(())
    }

    pub fn add_record(&mut self, name: &str, record: DnsRecord) {
        self.dns.insert(key(name), record);
    }

    /// `Resolve-DnsName -DnsOnly`: the addresses and the last alias followed.
    pub fn resolve(&self, name: &str) -> Result<(Vec<String>, Option<String>), String> {
        let mut current = key(name);
        let mut alias = None;
        for _ in 0..8 {
            match self.dns.get(&current) {
                Some(DnsRecord::Addresses(addresses)) => return Ok((addresses.clone(), alias)),
                Some(DnsRecord::Cname(target)) => {
                    alias = Some(target.clone());
                    current = key(target);
                }
                None if alias.is_some() => break,
                None => return Err(format!("{name} : DNS name does not exist")),
            }
        }
        Err(format!("{name} : DNS name does not exist"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://download.docker.com/win/static/stable/x86_64/docker-24.0.7.zip";

    #[test]
    fn a_download_needs_tls12_and_behind_a_proxy_the_winhttp_proxy() {
        let mut net = Network::default();
        let both = HttpClient {
            tls12: true,
            winhttp_proxy: true,
        };
        let tls_only = HttpClient {
            tls12: true,
            winhttp_proxy: false,
        };
        assert_eq!(
            net.download(URL, HttpClient::default()),
            Err(NO_TLS12.into())
        );
        assert_eq!(net.download(URL, tls_only), Ok(()));
        net.set_internet(Internet::ProxyOnly {
            proxy: "proxy.corp:3128".into(),
        });
        assert_eq!(net.download(URL, tls_only), Err(UNREACHABLE.into()));
        assert_eq!(net.download(URL, both), Ok(()));
        net.set_internet(Internet::None);
        assert_eq!(net.download(URL, both), Err(UNREACHABLE.into()));
    }

    #[test]
    fn a_cname_is_followed_to_its_addresses() {
        let mut net = Network::default();
        net.add_record(
            "api.c1.example.com",
            DnsRecord::Addresses(vec!["10.0.0.5".into()]),
        );
        net.add_record(
            "API-INT.c1.example.com.",
            DnsRecord::Cname("api.c1.example.com".into()),
        );
        assert_eq!(
            net.resolve("api-int.c1.example.com"),
            Ok((vec!["10.0.0.5".into()], Some("api.c1.example.com".into())))
        );
        assert!(net
            .resolve("nope.example.com")
            .unwrap_err()
            .contains("DNS name does not exist"));
    }
}
