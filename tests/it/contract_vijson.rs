//! The VI/JSON routes (`/sdk/vim25/{release}/...`) and the 8.0.2+ release
//! negotiation are not in the 7.0.3 OpenAPI files; they are held here to
//! the facts of tests/contract/vsphere-api/CONTRACT.md (vendored from the shared reference) ("VI/JSON" section),
//! written out independently of gild's code: paths, MarkAsTemplate's 204,
//! the fault body (`_typeName` + `faultMessage[{key,arg,message}]`), the
//! TaskInfo shape and the Login token header.

use gild::simulator::{self, Simulator, SimulatorConfig};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const REL: &str = "8.0.3.0";

struct Sim {
    sim: Simulator,
    http: reqwest::Client,
    base: String,
}

impl Sim {
    async fn start() -> Sim {
        let sim = simulator::start(SimulatorConfig {
            tls: false,
            ..SimulatorConfig::default()
        })
        .await
        .expect("simulator");
        let base = sim.base_url().as_str().trim_end_matches('/').to_owned();
        Sim {
            sim,
            http: reqwest::Client::new(),
            base,
        }
    }

    fn sdk(&self, rest: &str) -> String {
        format!("{}/sdk/vim25/{REL}/{rest}", self.base)
    }

    async fn vi_login(&self) -> String {
        let content = self
            .get_json(&self.sdk("ServiceInstance/ServiceInstance/content"), None)
            .await
            .1;
        let sm = content["sessionManager"]["value"]
            .as_str()
            .expect("sessionManager moId")
            .to_owned();
        let resp = self
            .http
            .post(self.sdk(&format!("SessionManager/{sm}/Login")))
            .json(&json!({"userName": self.sim.user(), "password": self.sim.password().expose()}))
            .send()
            .await
            .expect("Login");
        assert_eq!(resp.status(), 200, "Login answers 200");
        let token = resp
            .headers()
            .get("vmware-api-session-id")
            .expect("Login returns the token header");
        token.to_str().expect("token text").to_owned()
    }

    async fn get_json(&self, url: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(url);
        if let Some(t) = token {
            req = req.header("vmware-api-session-id", t);
        }
        let resp = req.send().await.expect("GET");
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    async fn post(&self, url: &str, token: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(url)
            .header("vmware-api-session-id", token)
            .json(&body)
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, v)
    }

    /// `POST /api/vcenter/vm/{vm}/power?action=...`; the status.
    async fn power(&self, vm: &str, action: &str, api_token: &str) -> u16 {
        let url = format!("{}/api/vcenter/vm/{vm}/power?action={action}", self.base);
        self.post(&url, api_token, Value::Null).await.0
    }

    async fn mark_as_template(&self, vm: &str, token: &str) -> (u16, Value) {
        self.post(
            &self.sdk(&format!("VirtualMachine/{vm}/MarkAsTemplate")),
            token,
            json!({}),
        )
        .await
    }

    /// Calls a `*_Task` method (200 + Task MoRef) and polls `Task/{id}/info`
    /// until it ends, checking the TaskInfo shape on every poll.
    async fn run_task(&self, method_path: &str, token: &str, body: Value) -> Value {
        let (status, task) = self.post(&self.sdk(method_path), token, body).await;
        assert_eq!(status, 200, "{method_path}: {task}");
        assert_moref(&task, "Task");
        let id = task["value"].as_str().expect("task id");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, info) = self
                .get_json(&self.sdk(&format!("Task/{id}/info")), Some(token))
                .await;
            assert_eq!(status, 200, "{info}");
            assert_eq!(info["_typeName"], "TaskInfo", "{info}");
            assert!(info["key"].is_string(), "TaskInfo.key: {info}");
            assert_moref(&info["task"], "Task");
            let state = info["state"].as_str().expect("state");
            assert!(
                ["queued", "running", "success", "error"].contains(&state),
                "state {state}"
            );
            if state == "success" || state == "error" {
                return info;
            }
            assert!(Instant::now() < deadline, "task still {state}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A fresh powered-off VM made through /api (session, clone).
    async fn clone_vm(&self, name: &str) -> (String, String) {
        let token: String = self
            .http
            .post(format!("{}/api/session", self.base))
            .basic_auth(self.sim.user(), Some(self.sim.password().expose()))
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("token");
        let list: Value = self
            .http
            .get(format!("{}/api/vcenter/vm?names=win2022-base", self.base))
            .header("vmware-api-session-id", &token)
            .send()
            .await
            .expect("vm list")
            .json()
            .await
            .expect("vm list JSON");
        let source = list[0]["vm"].as_str().expect("win2022-base").to_owned();
        let (status, vm) = self
            .post(
                &format!("{}/api/vcenter/vm?action=clone", self.base),
                &token,
                json!({"source": source, "name": name}),
            )
            .await;
        assert_eq!(status, 200, "clone: {vm}");
        (token, vm.as_str().expect("vm id").to_owned())
    }
}

fn assert_moref(v: &Value, ty: &str) {
    assert_eq!(v["_typeName"], "ManagedObjectReference", "{v}");
    assert_eq!(v["type"], ty, "{v}");
    assert!(v["value"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
}

fn assert_fault(body: &Value, type_name: &str) {
    assert_eq!(body["_typeName"], type_name, "fault body: {body}");
    let messages = body["faultMessage"]
        .as_array()
        .unwrap_or_else(|| panic!("faultMessage array in {body}"));
    assert!(!messages.is_empty(), "{body}");
    for m in messages {
        assert!(m["key"].is_string(), "faultMessage[].key in {body}");
        assert!(m["arg"].is_array(), "faultMessage[].arg in {body}");
        assert!(m["message"].is_string(), "faultMessage[].message in {body}");
    }
}

#[tokio::test]
async fn service_content_needs_no_session_and_names_session_manager_and_property_collector() {
    let s = Sim::start().await;
    let (status, content) = s
        .get_json(&s.sdk("ServiceInstance/ServiceInstance/content"), None)
        .await;
    assert_eq!(status, 200);
    assert_moref(&content["sessionManager"], "SessionManager");
    assert_moref(&content["propertyCollector"], "PropertyCollector");
}

#[tokio::test]
async fn login_returns_user_session_and_token_header_and_wrong_password_is_invalid_login() {
    let s = Sim::start().await;
    let token = s.vi_login().await;
    assert!(!token.is_empty());
    let resp = s
        .http
        .post(s.sdk("SessionManager/SessionManager/Login"))
        .json(&json!({"userName": s.sim.user(), "password": "wrong"}))
        .send()
        .await
        .expect("Login");
    assert!(
        resp.status().is_client_error() || resp.status().is_server_error(),
        "{}",
        resp.status()
    );
    assert!(
        resp.headers().get("vmware-api-session-id").is_none(),
        "no token on a failed login"
    );
    assert_fault(&resp.json().await.expect("fault JSON"), "InvalidLogin");
}

#[tokio::test]
async fn mark_as_template_is_204_without_body_and_refuses_a_powered_on_vm_with_invalid_power_state()
{
    let s = Sim::start().await;
    let (api_token, vm) = s.clone_vm("vi-template").await;
    let token = s.vi_login().await;
    assert_eq!(s.power(&vm, "start", &api_token).await, 204);
    let (status, fault) = s.mark_as_template(&vm, &token).await;
    assert!(
        status >= 400,
        "MarkAsTemplate on a powered-on VM must fail, got {status}"
    );
    assert_fault(&fault, "InvalidPowerState");
    assert_eq!(s.power(&vm, "stop", &api_token).await, 204);
    let (status, body) = s.mark_as_template(&vm, &token).await;
    assert_eq!(status, 204, "MarkAsTemplate answers 204: {body}");
    assert!(body.is_null(), "204 carries no body: {body}");
    let (status, config) = s
        .get_json(&s.sdk(&format!("VirtualMachine/{vm}/config")), Some(&token))
        .await;
    assert_eq!(status, 200);
    assert_eq!(config["template"], true, "{config}");
}

#[tokio::test]
async fn rename_task_returns_a_task_whose_info_has_the_task_info_shape() {
    let s = Sim::start().await;
    let (_, vm) = s.clone_vm("vi-rename").await;
    let token = s.vi_login().await;
    let body = json!({"newName": "vi-renamed"});
    let info = s
        .run_task(&format!("VirtualMachine/{vm}/Rename_Task"), &token, body)
        .await;
    assert_eq!(info["state"], "success", "{info}");
    let (_, config) = s
        .get_json(&s.sdk(&format!("VirtualMachine/{vm}/config")), Some(&token))
        .await;
    assert_eq!(config["name"], "vi-renamed");
}

#[tokio::test]
async fn destroy_task_removes_the_vm_from_the_api_inventory() {
    let s = Sim::start().await;
    let (api_token, vm) = s.clone_vm("vi-destroy").await;
    let token = s.vi_login().await;
    let info = s
        .run_task(
            &format!("VirtualMachine/{vm}/Destroy_Task"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(info["state"], "success", "{info}");
    let resp = s
        .http
        .get(format!("{}/api/vcenter/vm/{vm}", s.base))
        .header("vmware-api-session-id", &api_token)
        .send()
        .await
        .expect("GET vm");
    assert_eq!(resp.status(), 404, "a destroyed VM is gone from /api");
}

#[tokio::test]
async fn vi_calls_without_a_session_are_refused_with_a_fault() {
    let s = Sim::start().await;
    let resp = s
        .http
        .get(s.sdk("VirtualMachine/vm-1/config"))
        .send()
        .await
        .expect("GET");
    assert!(resp.status().is_client_error() || resp.status().is_server_error());
    let body: Value = resp.json().await.expect("fault JSON");
    assert!(
        body["_typeName"]
            .as_str()
            .is_some_and(|t| t == "NotAuthenticated" || t == "InvalidLogin"),
        "{body}"
    );
}

/// CONTRACT.md: `POST /api/vcenter/system?action=hello` `{"api_releases":[...]}`
/// → 200 `{"api_release": "..."}`, `""` when there is no common release.
#[tokio::test]
async fn hello_negotiates_the_newest_common_release_or_empty() {
    let s = Sim::start().await;
    let hello = |offered: Value| {
        let req = s
            .http
            .post(format!("{}/api/vcenter/system?action=hello", s.base));
        async move {
            let resp = req
                .json(&json!({ "api_releases": offered }))
                .send()
                .await
                .expect("hello");
            assert_eq!(resp.status(), 200);
            resp.json::<Value>().await.expect("JSON")
        }
    };
    let answer = hello(json!(["9.9.9.9", "8.0.2.0", "8.0.1.0"])).await;
    assert_eq!(answer, json!({"api_release": "8.0.2.0"}));
    let none = hello(json!(["7.0.3.0"])).await;
    assert_eq!(none, json!({"api_release": ""}));
}
