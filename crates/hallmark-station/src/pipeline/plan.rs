//! What a run will do with this board, decided once at `identify` from what the
//! board holds, what the log says was issued for its UID, and the re-provisioning
//! policy. Interrupted runs always resume without a second valid certificate.

use crate::{Failure, FailureCode};
use hallmark_config::ReprovisionPolicy;
use hallmark_store::IssuedCertificate;
use serde::Serialize;

/// The course of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "plan", rename_all = "kebab-case")]
pub enum Plan {
    /// New key, new certificate. `supersede`: valid certificates of this UID to revoke
    /// first (the board lost them).
    Fresh {
        /// Serials to revoke as superseded before signing.
        supersede: Vec<String>,
    },
    /// A certificate was issued in an interrupted run but never installed: install it
    /// (if the board still holds that key).
    ResumeInstall {
        /// Serial of the certificate to install.
        serial: String,
    },
    /// The board holds the latest certificate but its run never completed: read back,
    /// self-test and label, no new certificate.
    Reverify {
        /// Serial of the installed certificate.
        serial: String,
    },
    /// New certificate for the board's existing key; the old ones are revoked as
    /// superseded.
    Reissue {
        /// Serials to revoke as superseded before signing.
        supersede: Vec<String>,
    },
}

impl Plan {
    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Plan::Fresh { .. } => "fresh",
            Plan::ResumeInstall { .. } => "resume-install",
            Plan::Reverify { .. } => "reverify",
            Plan::Reissue { .. } => "reissue",
        }
    }
}

/// The plan as the log records it: the store's mirror of this type (the store cannot
/// name the station's types), field for field.
impl From<&Plan> for hallmark_store::PlanRecord {
    fn from(plan: &Plan) -> Self {
        use hallmark_store::PlanRecord;
        match plan.clone() {
            Plan::Fresh { supersede } => PlanRecord::Fresh { supersede },
            Plan::ResumeInstall { serial } => PlanRecord::ResumeInstall { serial },
            Plan::Reverify { serial } => PlanRecord::Reverify { serial },
            Plan::Reissue { supersede } => PlanRecord::Reissue { supersede },
        }
    }
}

/// What is known at `identify`.
pub struct Facts<'a> {
    /// The UID.
    pub uid: &'a str,
    /// Certificates issued for the UID, oldest first.
    pub issued: &'a [IssuedCertificate],
    /// Fingerprint of the certificate the board holds, if any.
    pub installed_fingerprint: Option<&'a str>,
    /// The board holds a key.
    pub board_has_key: bool,
    /// Policy for completed boards.
    pub policy: ReprovisionPolicy,
    /// Whether a run for the UID passed at or after the run that issued `serial`.
    pub passed_since: &'a dyn Fn(&str) -> Result<bool, Failure>,
}

/// Every refusal asks for the same thing: QA decides what happens to the board.
fn refuse(what: String) -> Failure {
    Failure::new(FailureCode::AlreadyProvisioned, what, "Put the board aside for QA.")
}

/// Decides the plan, or refuses the board.
pub fn decide(f: &Facts<'_>) -> Result<Plan, Failure> {
    let uid = f.uid;
    let valid: Vec<&IssuedCertificate> = f.issued.iter().filter(|c| c.revoked.is_none()).collect();
    let valid_serials = || valid.iter().map(|c| c.serial.clone()).collect::<Vec<_>>();
    let Some(fingerprint) = f.installed_fingerprint else {
        // The board holds no certificate.
        let Some(latest) = valid.last() else { return Ok(Plan::Fresh { supersede: Vec::new() }) };
        if (f.passed_since)(&latest.serial)? {
            return match f.policy {
                ReprovisionPolicy::Refuse => Err(refuse(format!(
                    "Board {uid} completed provisioning earlier (certificate serial {}) but no longer holds its \
                     certificate. Re-provisioning is not enabled on this station.",
                    latest.serial
                ))),
                ReprovisionPolicy::Reissue => Ok(Plan::Fresh { supersede: valid_serials() }),
            };
        }
        if f.board_has_key {
            return Ok(Plan::ResumeInstall { serial: latest.serial.clone() });
        }
        return Ok(Plan::Fresh { supersede: valid_serials() });
    };
    match f.issued.iter().find(|c| c.fingerprint == fingerprint) {
        Some(held) if held.revoked.is_none() => {
            if !(f.passed_since)(&held.serial)? {
                return Ok(Plan::Reverify { serial: held.serial.clone() });
            }
            match f.policy {
                ReprovisionPolicy::Refuse => Err(refuse(format!(
                    "Board {uid} already has its identity (certificate serial {}). Re-provisioning is not enabled on \
                     this station.",
                    held.serial
                ))),
                ReprovisionPolicy::Reissue => Ok(Plan::Reissue { supersede: valid_serials() }),
            }
        }
        Some(held) if held.revoked.as_deref() == Some("superseded") => {
            // An interrupted re-issue: the old certificate is already revoked. But if
            // any certificate of this UID was revoked for another reason (say the new
            // one, for keyCompromise), the board's key is not to be certified again.
            if let Some(bad) = f.issued.iter().find(|c| c.revoked.as_deref().is_some_and(|r| r != "superseded")) {
                return Err(refuse(format!(
                    "Board {uid}: certificate serial {} of this UID was revoked ({}).",
                    bad.serial,
                    bad.revoked.as_deref().unwrap_or("")
                )));
            }
            match (valid.last(), f.policy) {
                (Some(next), _) => Ok(Plan::ResumeInstall { serial: next.serial.clone() }),
                (None, ReprovisionPolicy::Reissue) => Ok(Plan::Reissue { supersede: Vec::new() }),
                (None, ReprovisionPolicy::Refuse) => Err(refuse(format!(
                    "Board {uid} holds a superseded certificate from an interrupted re-issue, and re-provisioning is \
                     not enabled on this station."
                ))),
            }
        }
        Some(held) => Err(refuse(format!(
            "Board {uid} holds certificate serial {}, which was revoked ({}).",
            held.serial,
            held.revoked.as_deref().unwrap_or("")
        ))),
        None => match f.policy {
            ReprovisionPolicy::Refuse => Err(refuse(format!(
                "Board {uid} holds a certificate this station did not issue. Re-provisioning is not enabled on this \
                 station."
            ))),
            ReprovisionPolicy::Reissue => Ok(Plan::Reissue { supersede: valid_serials() }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logs_plan_record_serialises_as_the_plan() {
        let serials = || vec!["01".to_string(), "02".to_string()];
        for plan in [
            Plan::Fresh { supersede: vec![] },
            Plan::Fresh { supersede: serials() },
            Plan::ResumeInstall { serial: "01".into() },
            Plan::Reverify { serial: "01".into() },
            Plan::Reissue { supersede: serials() },
        ] {
            let record = hallmark_store::PlanRecord::from(&plan);
            let json = serde_json::to_value(&plan).expect("plan serialises");
            assert_eq!(serde_json::to_value(&record).expect("record serialises"), json, "{}", plan.name());
            assert_eq!(json["plan"], plan.name());
        }
    }

    fn cert(serial: &str, revoked: Option<&str>) -> IssuedCertificate {
        IssuedCertificate {
            serial: serial.into(),
            fingerprint: format!("fp-{serial}"),
            pem: String::new(),
            run_uuid: String::new(),
            run_outcome: None,
            revoked: revoked.map(str::to_string),
        }
    }

    fn plan(
        issued: &[IssuedCertificate],
        installed: Option<&str>,
        key: bool,
        policy: ReprovisionPolicy,
        passed: &[&str],
    ) -> Result<Plan, Failure> {
        let passed_since = |s: &str| Ok(passed.contains(&s));
        decide(&Facts {
            uid: "U",
            issued,
            installed_fingerprint: installed,
            board_has_key: key,
            policy,
            passed_since: &passed_since,
        })
    }

    use ReprovisionPolicy::{Refuse, Reissue};

    #[test]
    fn blank_board_is_fresh() {
        assert_eq!(plan(&[], None, false, Refuse, &[]), Ok(Plan::Fresh { supersede: vec![] }));
        assert_eq!(plan(&[], None, true, Refuse, &[]), Ok(Plan::Fresh { supersede: vec![] }));
    }

    #[test]
    fn signed_but_not_installed_resumes_the_same_certificate() {
        assert_eq!(plan(&[cert("1", None)], None, true, Refuse, &[]), Ok(Plan::ResumeInstall { serial: "1".into() }));
        // Without the key the certificate is useless: revoke it and start over.
        assert_eq!(plan(&[cert("1", None)], None, false, Refuse, &[]), Ok(Plan::Fresh { supersede: vec!["1".into()] }));
    }

    #[test]
    fn installed_but_unfinished_is_reverified() {
        assert_eq!(
            plan(&[cert("1", None)], Some("fp-1"), true, Refuse, &[]),
            Ok(Plan::Reverify { serial: "1".into() })
        );
    }

    #[test]
    fn completed_board_follows_the_policy() {
        let issued = [cert("1", None)];
        let refused = plan(&issued, Some("fp-1"), true, Refuse, &["1"]).unwrap_err();
        assert_eq!(refused.code, FailureCode::AlreadyProvisioned);
        assert_eq!(
            plan(&issued, Some("fp-1"), true, Reissue, &["1"]),
            Ok(Plan::Reissue { supersede: vec!["1".into()] })
        );
        assert_eq!(plan(&issued, None, true, Refuse, &["1"]).unwrap_err().code, FailureCode::AlreadyProvisioned);
        assert_eq!(plan(&issued, None, true, Reissue, &["1"]), Ok(Plan::Fresh { supersede: vec!["1".into()] }));
    }

    #[test]
    fn interrupted_reissue_resumes() {
        let issued = [cert("1", Some("superseded")), cert("2", None)];
        assert_eq!(plan(&issued, Some("fp-1"), true, Reissue, &["1"]), Ok(Plan::ResumeInstall { serial: "2".into() }));
        let issued = [cert("1", Some("superseded"))];
        assert_eq!(plan(&issued, Some("fp-1"), true, Reissue, &["1"]), Ok(Plan::Reissue { supersede: vec![] }));
        assert_eq!(
            plan(&issued, Some("fp-1"), true, Refuse, &["1"]).unwrap_err().code,
            FailureCode::AlreadyProvisioned
        );
    }

    #[test]
    fn a_key_whose_certificate_was_compromised_is_never_certified_again() {
        // A passed; a re-issue superseded A and signed B; install failed; QA revoked B.
        let issued = [cert("A", Some("superseded")), cert("B", Some("keyCompromise"))];
        let refused = plan(&issued, Some("fp-A"), true, Reissue, &["A"]).unwrap_err();
        assert_eq!(refused.code, FailureCode::AlreadyProvisioned);
        assert!(refused.message.contains("keyCompromise"));
    }

    #[test]
    fn foreign_or_compromised_certificates_are_refused() {
        assert_eq!(plan(&[], Some("fp-x"), true, Refuse, &[]).unwrap_err().code, FailureCode::AlreadyProvisioned);
        assert_eq!(plan(&[], Some("fp-x"), true, Reissue, &[]), Ok(Plan::Reissue { supersede: vec![] }));
        let issued = [cert("1", Some("keyCompromise"))];
        assert_eq!(plan(&issued, Some("fp-1"), true, Reissue, &[]).unwrap_err().code, FailureCode::AlreadyProvisioned);
    }
}
