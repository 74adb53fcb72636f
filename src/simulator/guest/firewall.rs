//! Windows Defender Firewall rules, as `Get-NetFirewallRule` shows them.
//!
//! A rule has a unique `Name` and a `DisplayName` that need not be unique.
//! `New-NetFirewallRule -DisplayName X` without `-Name` gives the rule a
//! GUID as its Name, which is what WMCO's documented command does for
//! `ContainerLogsPort`, so a lookup by Name misses it. Of the enabled rules
//! matching a packet, a Block rule wins over any Allow rule (Microsoft:
//! "Block rules take precedence over allow rules").

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    Allow,
    Block,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FirewallRule {
    pub name: String,
    pub display_name: String,
    pub protocol: Protocol,
    pub local_port: u16,
    pub direction: Direction,
    pub action: Action,
    /// `Any`, or a list such as `Domain, Private`.
    pub profile: String,
    /// `EdgeTraversalPolicy`: `Block`, `Allow`, `DeferToUser`, `DeferToApp`.
    pub edge_traversal: String,
    pub enabled: bool,
}

impl FirewallRule {
    /// An enabled inbound Allow rule for every profile, named `name`, with
    /// edge traversal blocked (New-NetFirewallRule's default).
    pub fn inbound(name: &str, display_name: &str, protocol: Protocol, port: u16) -> Self {
        FirewallRule {
            name: name.into(),
            display_name: display_name.into(),
            protocol,
            local_port: port,
            direction: Direction::Inbound,
            action: Action::Allow,
            profile: "Any".into(),
            edge_traversal: "Block".into(),
            enabled: true,
        }
    }

    /// The rule as the scripts' result files report it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "display_name": self.display_name,
            "direction": self.direction,
            "action": self.action,
            "protocol": self.protocol,
            "local_port": self.local_port,
            "profile": self.profile,
            "edge_traversal": self.edge_traversal,
            "enabled": self.enabled,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct Firewall {
    rules: Vec<FirewallRule>,
}

impl Firewall {
    pub fn rules(&self) -> &[FirewallRule] {
        &self.rules
    }

    pub fn by_name(&self, name: &str) -> Option<&FirewallRule> {
        self.rules
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    pub fn by_display_name(&self, display_name: &str) -> Vec<&FirewallRule> {
        self.rules
            .iter()
            .filter(|r| r.display_name.eq_ignore_ascii_case(display_name))
            .collect()
    }

    /// `New-NetFirewallRule -DisplayName X` without `-Name`: a GUID Name.
    pub fn create_by_display_name(&mut self, mut rule: FirewallRule) -> String {
        rule.name = format!("{{{}}}", random_guid());
        let name = rule.name.clone();
        self.rules.push(rule);
        name
    }

    /// Replaces the rule of that Name (creating it when absent); returns
    /// whether anything changed.
    pub fn ensure(&mut self, rule: FirewallRule) -> bool {
        match self
            .rules
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(&rule.name))
        {
            Some(existing) if *existing == rule => false,
            Some(existing) => {
                *existing = rule;
                true
            }
            None => {
                self.rules.push(rule);
                true
            }
        }
    }

    /// Applies `edit` to every rule of that DisplayName; returns whether
    /// any rule changed.
    pub fn edit_by_display_name(
        &mut self,
        display_name: &str,
        edit: impl Fn(&mut FirewallRule),
    ) -> bool {
        let mut changed = false;
        for rule in self
            .rules
            .iter_mut()
            .filter(|r| r.display_name.eq_ignore_ascii_case(display_name))
        {
            let before = rule.clone();
            edit(rule);
            changed |= *rule != before;
        }
        changed
    }

    /// Whether an inbound packet to this protocol and port gets through:
    /// some enabled Allow rule matches and no enabled Block rule does.
    pub fn allows_inbound(&self, protocol: Protocol, port: u16) -> bool {
        let matching = |action: Action| {
            self.rules.iter().any(|r| {
                r.enabled
                    && r.direction == Direction::Inbound
                    && r.protocol == protocol
                    && r.local_port == port
                    && r.action == action
            })
        };
        matching(Action::Allow) && !matching(Action::Block)
    }
}

fn random_guid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:01x}{:02x}-{:02x}{:02x}-{}",
        b[0],
        b[1],
        b[2],
        b[3],
        b[4],
        b[5],
        b[6] & 0x0f,
        b[7],
        (b[8] & 0x3f) | 0x80,
        b[9],
        b[10..]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_rule_wins_over_an_allow_rule_for_the_same_port() {
        let mut fw = Firewall::default();
        fw.create_by_display_name(FirewallRule::inbound(
            "",
            "ContainerLogsPort",
            Protocol::Tcp,
            10250,
        ));
        assert!(fw.allows_inbound(Protocol::Tcp, 10250));
        let mut block = FirewallRule::inbound("", "ContainerLogsPort", Protocol::Tcp, 10250);
        block.action = Action::Block;
        fw.create_by_display_name(block);
        assert!(!fw.allows_inbound(Protocol::Tcp, 10250));
    }

    #[test]
    fn rules_created_by_display_name_get_distinct_guid_names() {
        let mut fw = Firewall::default();
        let a = fw.create_by_display_name(FirewallRule::inbound("", "X", Protocol::Udp, 1));
        let b = fw.create_by_display_name(FirewallRule::inbound("", "X", Protocol::Udp, 1));
        assert_ne!(a, b);
        assert!(
            a.starts_with('{') && a.ends_with('}') && a.len() == 38,
            "{a}"
        );
        assert!(fw.by_name("X").is_none());
        assert_eq!(fw.by_display_name("x").len(), 2);
    }
}
