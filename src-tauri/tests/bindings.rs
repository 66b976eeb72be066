//! The TypeScript bindings in `ui/src/bindings/` must be what the Rust IPC types
//! generate: CI fails on stale bindings. Regenerate with
//! `HALLMARK_BLESS=1 cargo test -p hallmark-gui --test bindings`.

use hallmark_gui::ipc::*;
use std::path::{Path, PathBuf};
use ts_rs::{Config, TS};

fn check<T: TS + 'static>(dir: &Path, stale: &mut Vec<String>) {
    let cfg = Config::new().with_out_dir(dir);
    let text = T::export_to_string(&cfg).expect("export");
    let path = dir.join(T::output_path().expect("named type"));
    if std::env::var_os("HALLMARK_BLESS").is_some() {
        std::fs::write(&path, &text).expect("write binding");
    } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        stale.push(path.display().to_string());
    }
}

#[test]
fn checked_in_bindings_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings");
    let mut stale = Vec::new();
    check::<ApiError>(&dir, &mut stale);
    check::<FailureCode>(&dir, &mut stale);
    check::<SlotView>(&dir, &mut stale);
    check::<FleetView>(&dir, &mut stale);
    check::<StationView>(&dir, &mut stale);
    check::<StepView>(&dir, &mut stale);
    check::<RunView>(&dir, &mut stale);
    check::<RunEvent>(&dir, &mut stale);
    check::<RunQuery>(&dir, &mut stale);
    check::<RunPage>(&dir, &mut stale);
    check::<EventView>(&dir, &mut stale);
    check::<CertificateView>(&dir, &mut stale);
    check::<RunDetail>(&dir, &mut stale);
    check::<VerifyView>(&dir, &mut stale);
    check::<StatsView>(&dir, &mut stale);
    check::<LabelPreview>(&dir, &mut stale);
    check::<TemplateProblem>(&dir, &mut stale);
    check::<EngineerView>(&dir, &mut stale);
    check::<ConfigView>(&dir, &mut stale);
    check::<PrinterView>(&dir, &mut stale);
    check::<PrintView>(&dir, &mut stale);
    check::<RevokeView>(&dir, &mut stale);
    check::<ExportView>(&dir, &mut stale);
    check::<EvidenceView>(&dir, &mut stale);
    check::<hallmark_config::ConfigEdit>(&dir, &mut stale);
    check::<hallmark_config::SlotEdit>(&dir, &mut stale);
    check::<hallmark_config::UidEdit>(&dir, &mut stale);
    check::<hallmark_config::SelftestEdit>(&dir, &mut stale);
    check::<hallmark_config::PrinterEdit>(&dir, &mut stale);
    check::<hallmark_station::ca_status::CaStatus>(&dir, &mut stale);
    check::<hallmark_station::ca_status::CaCertificate>(&dir, &mut stale);
    check::<hallmark_station::ca_status::CrlStatus>(&dir, &mut stale);
    check::<hallmark_station::startup::StartupReport>(&dir, &mut stale);
    check::<hallmark_station::startup::CrlAtStart>(&dir, &mut stale);
    check::<hallmark_station::fixture::SlotLink>(&dir, &mut stale);
    check::<hallmark_station::fixture::LinkState>(&dir, &mut stale);
    check::<hallmark_store::InterruptedRun>(&dir, &mut stale);
    assert!(stale.is_empty(), "stale TypeScript bindings (re-bless, see the module docs): {stale:?}");
}
