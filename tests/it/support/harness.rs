//! Shared set-up for the simulator's HTTP-level tests: start a simulator,
//! trust its CA, log in, and small helpers for JSON calls.

use gild::simulator::{self, Simulator, SimulatorConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct Harness {
    pub sim: Simulator,
    pub http: reqwest::Client,
    pub token: String,
}

/// A client trusting the simulator's CA (or plain, without TLS).
/// gild's client configuration for `sim`: its URL, user, password and CA,
/// the tests' timeouts (10 ms polls) and `retry`.
pub fn client_config(
    sim: &Simulator,
    retry: gild::vsphere::RetryPolicy,
) -> gild::vsphere::ClientConfig {
    let mut cfg = gild::vsphere::ClientConfig::new(
        sim.base_url().clone(),
        sim.user(),
        sim.password().clone(),
    );
    cfg.tls = gild::vsphere::TlsOptions {
        ca_file: sim.ca_pem_path().map(Into::into),
        ..gild::vsphere::TlsOptions::default()
    };
    cfg.retry = retry;
    cfg.timeouts = gild::vsphere::Timeouts::for_tests();
    cfg
}

/// A clone of the simulator's base VM, powered off.
pub async fn clone_base(client: &gild::vsphere::Client, name: &str) -> gild::vsphere::wire::VmId {
    let base = client.find_vm("win2022-base").await.expect("base VM");
    client
        .clone_vm(&gild::vsphere::wire::CloneSpec {
            source: base,
            name: name.into(),
            placement: None,
            power_on: None,
        })
        .await
        .expect("clone")
}

/// A clone of the base VM, powered on, with guest operations ready.
pub async fn running_clone(
    client: &gild::vsphere::Client,
    name: &str,
    wait: std::time::Duration,
) -> gild::vsphere::wire::VmId {
    let vm = clone_base(client, name).await;
    client.power_on(&vm).await.expect("power on");
    client
        .wait_for_guest_operations(&vm, wait)
        .await
        .expect("Tools");
    vm
}

pub fn client_for(sim: &Simulator) -> reqwest::Client {
    let mut builder = reqwest::Client::builder();
    if let Some(ca) = sim.ca_pem_path() {
        let pem = std::fs::read(ca).expect("CA file is readable");
        builder = builder
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA PEM parses"));
    }
    builder.build().expect("client builds")
}

impl Harness {
    pub async fn start(config: SimulatorConfig) -> Self {
        let sim = simulator::start(config).await.expect("simulator starts");
        let http = client_for(&sim);
        let mut h = Harness {
            sim,
            http,
            token: String::new(),
        };
        h.token = h.login().await;
        h
    }

    pub async fn default() -> Self {
        Self::start(SimulatorConfig::default()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sim.base_url(), path.trim_start_matches('/'))
    }

    pub async fn login(&self) -> String {
        let resp = self
            .http
            .post(self.url("/api/session"))
            .basic_auth(self.sim.user(), Some(self.sim.password().expose()))
            .send()
            .await
            .expect("login request");
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json::<String>().await.expect("token is a JSON string")
    }

    /// Sends a JSON call with the session token; returns status and body
    /// (`Value::Null` for an empty body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("vmware-api-session-id", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request completes");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body reads");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("body is JSON")
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub fn vm_id(&self, name: &str) -> String {
        self.sim
            .admin()
            .vm_by_name(name)
            .unwrap_or_else(|| panic!("no VM {name}"))
            .id
            .to_string()
    }

    pub fn credentials(&self) -> Value {
        json!({"interactive_session": false, "type": "USERNAME_PASSWORD",
               "user_name": self.sim.guest_user(), "password": self.sim.guest_password().expose()})
    }

    pub async fn power_on(&self, vm: &str) {
        let (status, body) = self
            .post(
                &format!("/api/vcenter/vm/{vm}/power?action=start"),
                json!(null),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }

    /// Clones the built-in base VM under `name` and returns the new id.
    pub async fn clone_base(&self, name: &str) -> String {
        let source = self.vm_id("win2022-base");
        let (status, body) = self
            .post(
                "/api/vcenter/vm?action=clone",
                json!({"source": source, "name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_str()
            .expect("clone returns an id string")
            .to_string()
    }

    /// Starts a guest process and returns its pid.
    pub async fn run(&self, vm: &str, path: &str, arguments: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/vcenter/vm/{vm}/guest/processes?action=create"),
            json!({"credentials": self.credentials(), "spec": {"path": path, "arguments": arguments}}),
        )
        .await
    }

    pub async fn process_info(&self, vm: &str, pid: i64) -> Value {
        let (status, body) = self
            .post(
                &format!("/api/vcenter/vm/{vm}/guest/processes/{pid}?action=get"),
                json!({"credentials": self.credentials()}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

impl Harness {
    pub async fn with_timing(timing: gild::simulator::Timing) -> Self {
        Self::start(SimulatorConfig {
            timing,
            ..Default::default()
        })
        .await
    }

    /// `POST /api/vcenter/vm/{vm}/{suffix}` without a body (power and tools actions).
    pub async fn act(&self, vm: &str, suffix: &str) -> (StatusCode, Value) {
        self.post(&format!("/api/vcenter/vm/{vm}/{suffix}"), Value::Null)
            .await
    }

    /// The body of `GET /api/vcenter/vm/{vm}/{suffix}` (whatever its status).
    pub async fn vm_get(&self, vm: &str, suffix: &str) -> Value {
        self.get(&format!("/api/vcenter/vm/{vm}/{suffix}")).await.1
    }

    /// A clone of the base VM, powered on.
    pub async fn powered_clone(&self, name: &str) -> String {
        let vm = self.clone_base(name).await;
        self.power_on(&vm).await;
        vm
    }

    /// A VI/JSON call under `/sdk/vim25/8.0.3.0/` with this harness's token.
    pub async fn vi(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, &format!("/sdk/vim25/8.0.3.0/{path}"), body)
            .await
    }

    /// A JSON answer from the `/_sim` admin prefix.
    pub async fn admin_get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(self.url(path))
            .send()
            .await
            .expect("admin request");
        resp.json().await.expect("admin answers JSON")
    }

    /// Creates a guest transfer ticket and returns its URL with the `*` host replaced.
    pub async fn ticket(&self, vm: &str, spec: Value) -> String {
        let (status, url) = self
            .post(
                &format!("/api/vcenter/vm/{vm}/guest/filesystem?action=create"),
                json!({"credentials": self.credentials(), "spec": spec}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{url}");
        let url = url.as_str().expect("transfer URL is a string");
        assert!(url.contains("://*:"), "{url}");
        url.replace('*', "127.0.0.1")
    }

    /// Uploads `content` to a guest path (overwriting).
    pub async fn upload(
        &self,
        vm: &str,
        path: &str,
        content: Vec<u8>,
    ) -> reqwest::Result<reqwest::Response> {
        let url = self
            .ticket(
                vm,
                json!({"path": path, "attributes": {"size": content.len(), "overwrite": true}}),
            )
            .await;
        self.http.put(url).body(content).send().await
    }
}

const UNATTEND: &str = r#"<?xml version="1.0" encoding="utf-8"?><unattend xmlns="urn:schemas-microsoft-com:unattend"></unattend>"#;

impl Harness {
    /// Uploads a minimal unattend file and starts `sysprep /generalize /oobe
    /// /shutdown` with it; returns the create call's status and body (the pid).
    pub async fn run_sysprep(&self, vm: &str) -> (StatusCode, Value) {
        let path = r"C:\Windows\Temp\unattend.xml";
        let resp = self
            .upload(vm, path, UNATTEND.as_bytes().to_vec())
            .await
            .expect("upload completes");
        assert_eq!(resp.status(), StatusCode::OK);
        let args = format!("/generalize /oobe /shutdown /unattend:{path}");
        self.run(vm, r"C:\Windows\System32\Sysprep\sysprep.exe", &args)
            .await
    }
}

pub fn error_type(body: &Value) -> &str {
    body["error_type"].as_str().unwrap_or("<no error_type>")
}

/// `gild simulator serve` (this build's binary) as a subprocess, for the
/// third-party clients, once it has printed its banner.
pub async fn serve_process() -> gild::cli::bench::serve::ServeProcess {
    serve_process_with(&[]).await
}

/// [`serve_process`] with extra `gild simulator serve` arguments.
pub async fn serve_process_with(extra: &[&str]) -> gild::cli::bench::serve::ServeProcess {
    gild::cli::bench::serve::ServeProcess::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_gild")),
        extra,
        std::time::Duration::from_secs(60),
    )
    .await
    .expect("gild simulator serve starts and prints its banner")
}
