//! A station built without debug-probe support (`--no-default-features`, no
//! `probe-rs` feature): probe slots are refused in words, and probe-rs is not linked.

use super::{Attached, ProbeBackend, ProbeError, ProbeInfo, ProbeTarget};
use std::time::Duration;

/// No debug probes: every attach is refused.
pub struct NoProbes;

/// Why nothing works here, in words.
const NOT_BUILT: &str = "this station was built without debug-probe support (the `probe-rs` feature)";

/// Connected probes: none can be seen.
pub fn list_probes() -> Vec<ProbeInfo> {
    Vec::new()
}

/// No chip is known without probe-rs's target registry.
pub fn check_chip(name: &str) -> Result<(), ProbeError> {
    Err(ProbeError::UnknownChip { name: name.to_string(), suggestions: format!(": {NOT_BUILT}") })
}

impl ProbeBackend for NoProbes {
    fn attach(&self, target: &ProbeTarget, _deadline: Duration) -> Result<Attached, ProbeError> {
        Err(ProbeError::Attach {
            selector: target.selector.clone(),
            chip: target.chip.clone(),
            why: format!("{NOT_BUILT}; install a build with it"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_slots_are_refused_in_words() {
        let e = check_chip("nRF52840_xxAA").unwrap_err().to_string();
        assert!(e.contains("without debug-probe support"), "{e}");
        let target = ProbeTarget {
            selector: "1366:0105".into(),
            chip: "nRF52840_xxAA".into(),
            flash: None,
            bin_base: None,
            allow_erase_all: false,
        };
        let e = NoProbes.attach(&target, Duration::from_secs(1)).err().expect("refused").to_string();
        assert!(e.contains("without debug-probe support"), "{e}");
        assert!(list_probes().is_empty());
    }
}
