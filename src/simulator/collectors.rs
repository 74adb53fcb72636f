//! PropertyCollector state: the session-private collectors clients create
//! (`CreatePropertyCollector`), their filters, and the data version each
//! has reported, so `WaitForUpdatesEx` answers only what changed since the
//! version the client holds.
//!
//! The rules follow VMware's description of `vmodl.query.PropertyCollector`
//! (VI JSON API reference, 8.0.3):
//! - a collector and its filters belong to the session that created them;
//!   another session (a re-login included) finds no such object, and they
//!   go when that session ends;
//! - version `""` is the initial version: everything the filters select is
//!   reported (`enter`); a later version reports changed properties only
//!   (`modify`), and an object that is gone `leave`s;
//! - a version the collector did not hand out is `InvalidCollectorVersion`.
//!
//! Only what a build waits on is modelled: single-object filters on
//! VirtualMachine properties (no traversal specs, no partial updates).
//! Property values come from the caller ([`Collectors::updates`] takes a
//! reader), so this model knows nothing of VMs or routes.

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The VirtualMachine property paths a filter may select.
pub const VM_PATHS: &[&str] = &[
    "runtime.powerState",
    "guest.toolsRunningStatus",
    "guest.guestOperationsReady",
];

#[derive(Debug, PartialEq, Eq)]
pub enum CollectorError {
    /// No collector (or filter) by that id in the caller's session.
    NotFound(String),
    /// A version this collector never handed out.
    InvalidVersion(String),
    /// A property no modelled filter can select.
    InvalidProperty(String),
}

struct Filter {
    obj: String,
    paths: Vec<String>,
}

struct Collector {
    session: String,
    filters: BTreeMap<String, Filter>,
    /// The version last handed out; 0 before the first report.
    version: u64,
    /// What the client was last told: (object, path) → value, and the
    /// objects already reported (so the next report says `modify`).
    reported: BTreeMap<(String, String), Value>,
    entered: std::collections::BTreeSet<String>,
}

#[derive(Default)]
pub struct Collectors {
    next: u64,
    by_id: BTreeMap<String, Collector>,
}

impl Collectors {
    /// A new collector owned by `session`; its id as vCenter writes them
    /// (`session[<session key>]<n>`), which a client must percent-encode
    /// in a URL path.
    pub fn create(&mut self, session: &str) -> String {
        self.next += 1;
        let key: String = session
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let id = format!("session[{key}]{:012x}", self.next);
        self.by_id.insert(
            id.clone(),
            Collector {
                session: session.to_string(),
                filters: BTreeMap::new(),
                version: 0,
                reported: BTreeMap::new(),
                entered: Default::default(),
            },
        );
        id
    }

    fn mine(&mut self, session: &str, id: &str) -> Result<&mut Collector, CollectorError> {
        match self.by_id.get_mut(id) {
            Some(c) if c.session == session => Ok(c),
            _ => Err(CollectorError::NotFound(id.to_string())),
        }
    }

    /// Whether `id` is a collector of `session` (for routes that must
    /// answer ManagedObjectNotFound before reading their parameters).
    pub fn exists(&self, session: &str, id: &str) -> bool {
        self.by_id.get(id).is_some_and(|c| c.session == session)
    }

    /// `DestroyPropertyCollector`: the collector and its filters.
    pub fn destroy(&mut self, session: &str, id: &str) -> Result<(), CollectorError> {
        self.mine(session, id)?;
        self.by_id.remove(id);
        Ok(())
    }

    /// `CreateFilter` for one object's `paths`; the filter's id.
    pub fn create_filter(
        &mut self,
        session: &str,
        id: &str,
        obj: &str,
        paths: &[String],
    ) -> Result<String, CollectorError> {
        if let Some(bad) = paths.iter().find(|p| !VM_PATHS.contains(&p.as_str())) {
            return Err(CollectorError::InvalidProperty(bad.clone()));
        }
        self.next += 1;
        let filter = format!("filter-{}", self.next);
        self.mine(session, id)?.filters.insert(
            filter.clone(),
            Filter {
                obj: obj.to_string(),
                paths: paths.to_vec(),
            },
        );
        Ok(filter)
    }

    /// One update calculation for `version`: the UpdateSet (JSON, as
    /// VI/JSON writes it) when something changed since that version,
    /// `None` when nothing did. `read(obj, path)` is the property's value
    /// now, `None` for each path of an object that no longer exists.
    pub fn updates(
        &mut self,
        session: &str,
        id: &str,
        version: &str,
        read: impl Fn(&str, &str) -> Option<Option<Value>>,
    ) -> Result<Option<Value>, CollectorError> {
        let c = self.mine(session, id)?;
        let initial = version.is_empty();
        if !initial && version != c.version.to_string() {
            return Err(CollectorError::InvalidVersion(version.to_string()));
        }
        if initial {
            c.reported.clear();
            c.entered.clear();
        }
        let mut filter_set = Vec::new();
        for (fid, f) in &c.filters {
            let mut changes = Vec::new();
            let mut gone = false;
            for path in &f.paths {
                match read(&f.obj, path) {
                    None => gone = true,
                    Some(now) => {
                        let key = (f.obj.clone(), path.clone());
                        if c.reported.get(&key) != Some(&now.clone().unwrap_or(Value::Null)) {
                            let mut change = json!({"_typeName": "PropertyChange", "name": path, "op": "assign"});
                            if let Some(v) = &now {
                                change["val"] = v.clone();
                            }
                            changes.push(change);
                            c.reported.insert(key, now.unwrap_or(Value::Null));
                        }
                    }
                }
            }
            let moref = json!({"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": f.obj});
            let update = if gone {
                if !c.entered.remove(&f.obj) {
                    continue;
                }
                json!({"_typeName": "ObjectUpdate", "kind": "leave", "obj": moref})
            } else if changes.is_empty() {
                continue;
            } else {
                let kind = if c.entered.insert(f.obj.clone()) {
                    "enter"
                } else {
                    "modify"
                };
                json!({"_typeName": "ObjectUpdate", "kind": kind, "obj": moref, "changeSet": changes})
            };
            filter_set.push(json!({
                "_typeName": "PropertyFilterUpdate",
                "filter": {"_typeName": "ManagedObjectReference", "type": "PropertyFilter", "value": fid},
                "objectSet": [update],
            }));
        }
        if filter_set.is_empty() && !initial {
            return Ok(None);
        }
        c.version += 1;
        Ok(Some(json!({
            "_typeName": "UpdateSet",
            "version": c.version.to_string(),
            "filterSet": filter_set,
            "truncated": false,
        })))
    }

    /// A session ended (logout, expiry): its collectors go with it.
    pub fn forget_session(&mut self, session: &str) {
        self.by_id.retain(|_, c| c.session != session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn power(v: &str) -> Option<Value> {
        Some(json!({"_typeName": "VirtualMachinePowerState", "_value": v}))
    }

    #[test]
    fn the_initial_version_reports_everything_then_only_changes() {
        let mut c = Collectors::default();
        let pc = c.create("tok-1");
        c.create_filter("tok-1", &pc, "vm-1", &["runtime.powerState".into()])
            .unwrap();
        let state = RefCell::new("poweredOn");
        let read = |_: &str, _: &str| Some(power(*state.borrow()));
        let first = c.updates("tok-1", &pc, "", read).unwrap().unwrap();
        assert_eq!(first["version"], "1");
        assert_eq!(first["filterSet"][0]["objectSet"][0]["kind"], "enter");
        assert_eq!(c.updates("tok-1", &pc, "1", read).unwrap(), None);
        *state.borrow_mut() = "poweredOff";
        let next = c.updates("tok-1", &pc, "1", read).unwrap().unwrap();
        let update = &next["filterSet"][0]["objectSet"][0];
        assert_eq!(update["kind"], "modify");
        assert_eq!(update["changeSet"][0]["val"]["_value"], "poweredOff");
        assert_eq!(next["version"], "2");
    }

    #[test]
    fn another_session_and_an_unknown_version_are_refused() {
        let mut c = Collectors::default();
        let pc = c.create("tok-1");
        assert_eq!(
            c.updates("tok-2", &pc, "", |_, _| None),
            Err(CollectorError::NotFound(pc.clone()))
        );
        assert_eq!(
            c.updates("tok-1", &pc, "7", |_, _| None),
            Err(CollectorError::InvalidVersion("7".into()))
        );
        assert_eq!(
            c.create_filter("tok-1", &pc, "vm-1", &["config.name".into()]),
            Err(CollectorError::InvalidProperty("config.name".into()))
        );
        c.forget_session("tok-1");
        assert!(!c.exists("tok-1", &pc));
    }

    #[test]
    fn an_object_that_is_gone_leaves() {
        let mut c = Collectors::default();
        let pc = c.create("t");
        c.create_filter("t", &pc, "vm-1", &["runtime.powerState".into()])
            .unwrap();
        c.updates("t", &pc, "", |_, _| Some(power("poweredOn")))
            .unwrap();
        let gone = c.updates("t", &pc, "1", |_, _| None).unwrap().unwrap();
        assert_eq!(gone["filterSet"][0]["objectSet"][0]["kind"], "leave");
    }
}
