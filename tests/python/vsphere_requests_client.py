#!/usr/bin/env python3
"""A third-party vSphere /api client (plain `requests`) run against
`gild simulator serve`.

The expected status codes and field names are written here from VMware's
contract (tests/contract/vsphere-api/CONTRACT.md and the 7.0.3 OpenAPI files),
never read from gild's code: if the simulator drifts from what vCenter
answers, this script fails even when gild's own client still agrees with it.

Usage:
  vsphere_requests_client.py --url https://127.0.0.1:PORT/ --user U \
      --ca CA.pem --guest-user Administrator [--source-vm NAME]
Passwords come from the environment (GILD_PY_PASSWORD, GILD_PY_GUEST_PASSWORD)
so they never appear in a process list.
Exit status 0 when every check passed; otherwise the first failed check is
printed to stderr and the status is 1.
"""

import argparse
import os
import sys
import time
import urllib.parse

import requests

# Field sets from CONTRACT.md / OpenAPI 7.0.3 (required ⊆ seen ⊆ allowed).
VM_SUMMARY = ({"vm", "name", "power_state"}, {"vm", "name", "power_state", "cpu_count", "memory_size_MiB"})
SESSION_INFO = ({"user", "created_time", "last_accessed_time"}, {"user", "created_time", "last_accessed_time"})
POWER_INFO = ({"state"}, {"state", "clean_power_off"})
TOOLS_INFO = (
    {"auto_update_supported", "upgrade_policy", "run_state"},
    {"auto_update_supported", "install_attempt_count", "error", "version_number", "version",
     "upgrade_policy", "version_status", "install_type", "run_state",
     "guest_reboot_status"},  # 9.1 addition (CONTRACT.md Tools)
)
IDENTITY = ({"name", "family", "full_name", "host_name"}, {"name", "family", "full_name", "host_name", "ip_address"})
MESSAGE = ({"id", "default_message", "args"}, {"id", "default_message", "args", "params", "localized"})
PROCESS_INFO = ({"name", "owner", "command", "started"}, {"name", "owner", "command", "started", "finished", "exit_code"})
ERROR_BODY = ({"error_type", "messages"}, {"error_type", "messages", "data", "challenge"})
TOOLS_RUN_STATES = {"NOT_RUNNING", "RUNNING", "EXECUTING_SCRIPTS"}
POWER_STATES = {"POWERED_OFF", "POWERED_ON", "SUSPENDED"}


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


def check_fields(obj, fields, what):
    required, allowed = fields
    check(isinstance(obj, dict), f"{what}: expected a JSON object, got {obj!r}")
    keys = set(obj)
    check(required <= keys, f"{what}: missing fields {sorted(required - keys)} in {sorted(keys)}")
    check(keys <= allowed, f"{what}: fields not in the contract {sorted(keys - allowed)}")


def expect_status(resp, status, what):
    check(resp.status_code == status,
          f"{what}: expected HTTP {status}, got {resp.status_code}: {resp.text[:300]}")


def expect_error(resp, status, error_type, what):
    expect_status(resp, status, what)
    body = resp.json()
    check_fields(body, ERROR_BODY, f"{what} error body")
    check(body["error_type"] == error_type, f"{what}: error_type {body['error_type']!r}, expected {error_type!r}")
    for m in body["messages"]:
        check_fields(m, MESSAGE, f"{what} error message")


def poll(fn, what, deadline_s):
    end = time.monotonic() + deadline_s
    while True:
        result = fn()
        if result is not None:
            return result
        check(time.monotonic() < end, f"{what}: not reached within {deadline_s}s")
        time.sleep(0.05)


class Api:
    def __init__(self, base, ca):
        self.base = base.rstrip("/")
        self.http = requests.Session()
        self.ca = ca
        self.http.headers["Accept"] = "application/json"

    def url(self, path):
        return self.base + path

    def call(self, method, path, **kw):
        # verify= on every call: a Session's own `verify` loses to
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment.
        return self.http.request(method, self.url(path), timeout=60, verify=self.ca, **kw)


def vm_path(vm, rest=""):
    return f"/api/vcenter/vm/{urllib.parse.quote(vm, safe='')}{rest}"


def run(args):
    password = os.environ.get("GILD_PY_PASSWORD", "")
    guest_password = os.environ.get("GILD_PY_GUEST_PASSWORD", "")
    api = Api(args.url, args.ca)
    steps = []

    def step(name):
        steps.append(name)
        print(f"step: {name}", flush=True)

    step("session create with a wrong password is refused")
    r = api.call("POST", "/api/session", auth=(args.user, password + "-wrong"))
    expect_error(r, 401, "UNAUTHENTICATED", "POST /api/session (wrong password)")

    step("session create")
    r = api.call("POST", "/api/session", auth=(args.user, password))
    expect_status(r, 201, "POST /api/session")
    token = r.json()
    check(isinstance(token, str) and token, f"session token is a JSON string, got {token!r}")
    api.http.headers["vmware-api-session-id"] = token

    step("session get")
    r = api.call("GET", "/api/session")
    expect_status(r, 200, "GET /api/session")
    check_fields(r.json(), SESSION_INFO, "session info")

    step("VM list")
    r = api.call("GET", "/api/vcenter/vm")
    expect_status(r, 200, "GET /api/vcenter/vm")
    vms = r.json()
    check(isinstance(vms, list) and vms, f"VM list is a non-empty array, got {vms!r}")
    for v in vms:
        check_fields(v, VM_SUMMARY, "VM summary")
        check(v["power_state"] in POWER_STATES, f"power_state {v['power_state']!r}")
    source = next((v for v in vms if v["name"] == args.source_vm), None) if args.source_vm else vms[0]
    check(source is not None, f"source VM {args.source_vm!r} not in {[v['name'] for v in vms]}")

    step("VM list filtered by name (flat repeated query parameters)")
    r = api.call("GET", "/api/vcenter/vm", params=[("names", source["name"]), ("names", "no-such-vm")])
    expect_status(r, 200, "GET /api/vcenter/vm?names=")
    check([v["vm"] for v in r.json()] == [source["vm"]], f"names filter returned {r.json()!r}")
    r = api.call("GET", "/api/vcenter/vm", params={"power_states": "ON"})
    expect_error(r, 400, "INVALID_ARGUMENT", "GET /api/vcenter/vm?power_states=ON")

    clone_name = f"py-client-{os.getpid()}"
    step("clone")
    r = api.call("POST", "/api/vcenter/vm", params={"action": "clone"},
                 json={"source": source["vm"], "name": clone_name})
    expect_status(r, 200, "POST /api/vcenter/vm?action=clone")
    vm = r.json()
    check(isinstance(vm, str) and vm.startswith("vm-"), f"clone returns the VM id as a JSON string, got {vm!r}")
    r = api.call("POST", "/api/vcenter/vm", params={"action": "clone"},
                 json={"source": source["vm"], "name": clone_name})
    expect_error(r, 400, "ALREADY_EXISTS", "clone onto a taken name")

    step("power on")
    r = api.call("POST", vm_path(vm, "/power"), params={"action": "start"})
    expect_status(r, 204, "POST power?action=start")
    check(r.content == b"", "204 has no body")
    r = api.call("GET", vm_path(vm, "/power"))
    expect_status(r, 200, "GET power")
    check_fields(r.json(), POWER_INFO, "power info")
    check(r.json()["state"] == "POWERED_ON", f"power state after start: {r.json()!r}")
    r = api.call("POST", vm_path(vm, "/power"), params={"action": "start"})
    expect_error(r, 400, "ALREADY_IN_DESIRED_STATE", "second power start")

    step("tools get (wait for RUNNING)")

    def tools_running():
        r = api.call("GET", vm_path(vm, "/tools"))
        expect_status(r, 200, "GET tools")
        check_fields(r.json(), TOOLS_INFO, "tools info")
        check(r.json()["run_state"] in TOOLS_RUN_STATES, f"run_state {r.json()['run_state']!r}")
        return r.json() if r.json()["run_state"] == "RUNNING" else None

    tools = poll(tools_running, "tools RUNNING", args.deadline)
    print(f"  tools version {tools.get('version')} ({tools.get('version_number')})")

    step("guest identity (wait for an IP)")

    def identity():
        r = api.call("GET", vm_path(vm, "/guest/identity"))
        if r.status_code == 503:
            expect_error(r, 503, "SERVICE_UNAVAILABLE", "guest identity before tools")
            return None
        expect_status(r, 200, "GET guest/identity")
        body = r.json()
        check_fields(body, IDENTITY, "guest identity")
        return body if body.get("ip_address") else None

    ident = poll(identity, "guest IP address", args.deadline)
    check(ident["family"] == "WINDOWS", f"family {ident['family']!r}")
    check_fields(ident["full_name"], MESSAGE, "identity full_name")
    print(f"  {ident['host_name']} {ident['ip_address']} {ident['full_name']['default_message']}")

    creds = {"interactive_session": False, "type": "USERNAME_PASSWORD",
             "user_name": args.guest_user, "password": guest_password}

    step("guest process with wrong credentials is refused")
    bad = dict(creds, password=guest_password + "-wrong")
    r = api.call("POST", vm_path(vm, "/guest/processes"), params={"action": "create"},
                 json={"credentials": bad, "spec": {"path": "C:\\Windows\\System32\\cmd.exe", "arguments": "/c exit 0"}})
    expect_error(r, 401, "UNAUTHENTICATED", "process create with bad guest password")

    step("guest process create/get")
    r = api.call("POST", vm_path(vm, "/guest/processes"), params={"action": "create"},
                 json={"credentials": creds, "spec": {"path": "C:\\Windows\\System32\\cmd.exe", "arguments": "/c exit 3"}})
    expect_status(r, 201, "POST guest/processes?action=create")
    pid = r.json()
    check(isinstance(pid, int) and not isinstance(pid, bool), f"pid is a JSON integer, got {pid!r}")

    def finished():
        r = api.call("POST", vm_path(vm, f"/guest/processes/{pid}"), params={"action": "get"},
                     json={"credentials": creds})
        expect_status(r, 200, "POST guest/processes/{pid}?action=get")
        check_fields(r.json(), PROCESS_INFO, "process info")
        return r.json() if "exit_code" in r.json() else None

    info = poll(finished, "process exit", args.deadline)
    check(info["exit_code"] == 3, f"exit_code {info['exit_code']!r}, expected 3")
    check("finished" in info, "a finished process reports 'finished'")

    step("file upload/download round trip through the transfer URL")
    payload = os.urandom(64 * 1024) + b"gild third-party round trip\r\n"
    guest_file = "C:\\Windows\\Temp\\py-roundtrip.bin"
    r = api.call("POST", vm_path(vm, "/guest/filesystem"), params={"action": "create"},
                 json={"credentials": creds, "spec": {"path": guest_file,
                                                       "attributes": {"size": len(payload), "overwrite": True}}})
    expect_status(r, 201, "POST guest/filesystem?action=create (upload)")
    put_url = transfer_url(r.json(), args.url)
    # The transfer URL carries its own authorisation: call it without the session.
    r = requests.put(put_url, data=payload, verify=args.ca, timeout=60)
    check(200 <= r.status_code < 300, f"PUT transfer URL: HTTP {r.status_code}: {r.text[:200]}")
    r = api.call("POST", vm_path(vm, "/guest/filesystem"), params={"action": "create"},
                 json={"credentials": creds, "spec": {"path": guest_file}})
    expect_status(r, 201, "POST guest/filesystem?action=create (download)")
    get_url = transfer_url(r.json(), args.url)
    r = requests.get(get_url, verify=args.ca, timeout=60)
    expect_status(r, 200, "GET transfer URL")
    check(r.content == payload, f"downloaded {len(r.content)} bytes differ from the {len(payload)} uploaded")
    r = api.call("POST", vm_path(vm, "/guest/filesystem/files/" + urllib.parse.quote(guest_file, safe="")),
                 params={"action": "get"}, json={"credentials": creds})
    expect_status(r, 200, "POST guest/filesystem/files/{path}?action=get")
    check(r.json().get("type") == "FILE" and r.json().get("size") == len(payload), f"file info {r.json()!r}")

    step("power off, delete, logout")
    r = api.call("DELETE", vm_path(vm))
    expect_error(r, 400, "NOT_ALLOWED_IN_CURRENT_STATE", "DELETE a powered-on VM")
    r = api.call("POST", vm_path(vm, "/power"), params={"action": "stop"})
    expect_status(r, 204, "POST power?action=stop")
    r = api.call("DELETE", vm_path(vm))
    expect_status(r, 204, "DELETE /api/vcenter/vm/{vm}")
    r = api.call("GET", vm_path(vm))
    expect_error(r, 404, "NOT_FOUND", "GET a deleted VM")
    r = api.call("DELETE", "/api/session")
    expect_status(r, 204, "DELETE /api/session")
    r = api.call("GET", "/api/session")
    expect_error(r, 401, "UNAUTHENTICATED", "GET /api/session after logout")
    print(f"ok: {len(steps)} steps passed")


def transfer_url(value, base):
    """CONTRACT.md: the URL's host may be `*`; replace it with the server we called."""
    check(isinstance(value, str), f"transfer URL is a JSON string, got {value!r}")
    url = urllib.parse.urlsplit(value)
    check(url.scheme in ("http", "https"), f"transfer URL {value!r} is not http(s)")
    if url.hostname == "*":
        server = urllib.parse.urlsplit(base)
        url = url._replace(netloc=server.netloc)
    return urllib.parse.urlunsplit(url)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--ca", help="CA PEM file to trust (default: system roots)")
    p.add_argument("--guest-user", required=True)
    p.add_argument("--source-vm", help="name of the VM to clone (default: the first listed)")
    p.add_argument("--deadline", type=float, default=60.0, help="seconds to wait for tools/IP/process")
    args = p.parse_args()
    if args.ca is None:
        args.ca = True
    try:
        run(args)
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    except requests.RequestException as e:
        print(f"FAILED: HTTP error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
