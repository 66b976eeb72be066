//! The real app window under Xvfb, driven through WebKitWebDriver (apt
//! `webkit2gtk-driver`), one test per scenario (operator, QA, engineer template,
//! configuration, CA, restart after a crash), each starting its own station: a demo
//! station with a healthy simulated board (SIM-A) and, where needed, one with a bad CSR
//! signature (SIM-B). Screenshots of each screen go to `target/gui-screenshots/`.
//! Without a display the tests say so and skip, unless `HALLMARK_REQUIRE_GUI_TEST=1`
//! (set by scripts/test.sh, which runs them under xvfb-run).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // The driver starts the app; stop the whole process group.
        let pgid = self.0.id() as i32;
        Command::new("kill").args(["-TERM", "--", &format!("-{pgid}")]).status().ok();
        self.0.wait().ok();
    }
}

fn start_driver(port: u16, profile: &std::path::Path, envs: &[(&str, &str)]) -> Driver {
    use std::os::unix::process::CommandExt;
    let child = Command::new("WebKitWebDriver")
        .args([format!("--port={port}"), "--host=127.0.0.1".to_string()])
        .env("TAURI_WEBVIEW_AUTOMATION", "true")
        .envs(envs.iter().copied())
        // A fresh web profile (localStorage: the chosen language) for every run.
        .env("XDG_DATA_HOME", profile.join("data"))
        .env("XDG_CACHE_HOME", profile.join("cache"))
        .env("XDG_CONFIG_HOME", profile.join("config"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("WebKitWebDriver (apt webkit2gtk-driver) must be installed: run scripts/setup.sh");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "WebKitWebDriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver(child)
}

/// The app under a WebDriver session, with its own driver process and web profile.
struct App {
    driver: WebDriver,
    _process: Driver,
    _profile: tempfile::TempDir,
}

impl App {
    async fn start(args: &[&str]) -> App {
        App::start_with(args, &[]).await
    }

    /// The app with extra environment (data directory, CA passphrase).
    async fn start_with(args: &[&str], envs: &[(&str, &str)]) -> App {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let profile = tempfile::tempdir().unwrap();
        let process = start_driver(port, profile.path(), envs);
        let mut caps = Capabilities::new();
        caps.set(
            "webkitgtk:browserOptions",
            serde_json::json!({ "binary": env!("CARGO_BIN_EXE_hallmark-station"), "args": args }),
        )
        .unwrap();
        let driver = WebDriver::new(&format!("http://127.0.0.1:{port}"), caps).await.expect("WebDriver session");
        App { driver, _process: process, _profile: profile }
    }

    /// Kills the app and its driver at once (SIGKILL: no clean-up runs), like a
    /// crash or a power cut.
    fn kill(self) {
        let pgid = self._process.0.id() as i32;
        Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status().ok();
    }
}

/// Skips (or, in CI, fails) without a display.
fn display_or_skip(test: &str) -> bool {
    if std::env::var_os("DISPLAY").is_some() {
        return true;
    }
    assert!(std::env::var_os("HALLMARK_REQUIRE_GUI_TEST").is_none(), "no DISPLAY: run under xvfb-run");
    eprintln!("SKIPPED {test}: no DISPLAY (scripts/test.sh runs it under xvfb-run)");
    false
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/gui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits until `css` matches. The screens re-render on every run event, so tests
/// never hold on to elements: every read or click looks the element up again.
async fn wait_for(driver: &WebDriver, css: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while driver.find(By::Css(css)).await.is_err() {
        assert!(Instant::now() < deadline, "{css} did not appear within {secs} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn retry<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = WebDriverResult<T>>,
{
    let mut last = None;
    for _ in 0..50 {
        match f().await {
            Ok(v) => return v,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {last:?}");
}

async fn text(driver: &WebDriver, css: &str) -> String {
    retry(css, || async { driver.find(By::Css(css)).await?.text().await }).await
}

async fn click(driver: &WebDriver, css: &str) {
    retry(css, || async { driver.find(By::Css(css)).await?.click().await }).await
}

async fn attr(driver: &WebDriver, css: &str, name: &str) -> String {
    retry(css, || async { driver.find(By::Css(css)).await?.attr(name).await }).await.unwrap_or_default()
}

async fn snap(driver: &WebDriver, name: &str) {
    // The last DOM change may not be painted yet.
    tokio::time::sleep(Duration::from_millis(500)).await;
    driver.screenshot(&shots().join(format!("{name}.png"))).await.unwrap();
}

/// One window at a time: the machine has two cores, and a scenario's deadlines assume
/// the window gets them.
static ONE_WINDOW: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs a scenario on a fresh demo station (`args` after `--demo`); the window is
/// closed whether the scenario passes or not.
async fn scenario<F, Fut>(name: &str, faults: &[&str], body: F)
where
    F: FnOnce(WebDriver) -> Fut,
    Fut: std::future::Future<Output = WebDriverResult<()>>,
{
    if !display_or_skip(name) {
        return;
    }
    let _turn = ONE_WINDOW.lock().await;
    let mut args = vec!["--demo"];
    for f in faults {
        args.extend(["--demo-fault", f]);
    }
    let app = App::start(&args).await;
    let driver = app.driver.clone();
    wait_for(&driver, "body[data-ready='true']", 60).await;
    let result = body(driver.clone()).await;
    driver.quit().await.ok();
    result.unwrap();
}

/// Runs SIM-A to PASS from the operator screen; returns its UID.
async fn pass_sim_a(driver: &WebDriver) -> String {
    click(driver, "#tab-operator").await;
    click(driver, "#start-SIM-A").await;
    wait_for(driver, "#tile-SIM-A[data-state='pass']", 60).await;
    text(driver, "#tile-SIM-A .uid").await
}

/// Sets the demo station's first engineer PIN (a weak one is refused) and unlocks.
async fn unlock_engineer(driver: &WebDriver) {
    click(driver, "#tab-engineer").await;
    type_into(driver, "#engineer-pin", "123456").await;
    click(driver, "#engineer-set-pin").await;
    wait_text(driver, "#role-status", 20, |t| t.contains("WEAK_PIN")).await;
    type_into(driver, "#engineer-pin", "482916").await;
    click(driver, "#engineer-set-pin").await;
    wait_for(driver, "#engineer-lock", 20).await;
}

/// The demo station's log, read-only (its data directory is shown on the QA export).
fn log_of(data_dir: &std::path::Path) -> hallmark_store::Store {
    hallmark_store::Store::open_read_only(&data_dir.join("hallmark-log.sqlite")).unwrap()
}

/// The demo data directory, from the file a QA export wrote (`<data>/exports/...`).
async fn data_dir_via_export(driver: &WebDriver) -> PathBuf {
    click(driver, "#tab-qa").await;
    click(driver, "#qa-export-csv").await;
    let exported = wait_text(driver, "#qa-export-result", 30, |t| t.contains(".csv")).await;
    let path = PathBuf::from(exported.split_whitespace().last().unwrap_or_default());
    path.parent().and_then(|p| p.parent()).unwrap().to_path_buf()
}

/// Operator: a healthy board to PASS with its UID and label; a bad one to FAIL with the
/// reason and what to do; the shift counters; the same screen in German.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_runs_a_good_and_a_bad_board() {
    scenario("operator_runs_a_good_and_a_bad_board", &["bad-csr-signature"], |driver| async move {
        snap(&driver, "1-operator-idle").await;
        let uid = pass_sim_a(&driver).await;
        assert_eq!(uid.len(), 16, "UID {uid:?}");
        assert!(text(&driver, "#tile-SIM-A .word").await.contains("PASS"));
        let label = attr(&driver, "#tile-SIM-A .label-pdf", "data-path").await;
        assert!(std::path::Path::new(&label).exists(), "label PDF {label:?}");
        snap(&driver, "2-operator-pass").await;

        click(&driver, "#start-SIM-B").await;
        wait_for(&driver, "#tile-SIM-B[data-state='fail']", 60).await;
        let reason = text(&driver, "#tile-SIM-B .reason").await;
        assert!(reason.contains("CSR_SIGNATURE_INVALID") && reason.contains("What to do"), "{reason}");
        let counters = text(&driver, "#counters").await;
        assert!(counters.contains("1 passed") && counters.contains("1 failed"), "{counters}");
        snap(&driver, "3-operator-fail").await;

        click(&driver, "#lang option[value='de']").await;
        wait_for(&driver, "#start-SIM-A", 10).await;
        assert!(text(&driver, "#tab-operator").await.contains("Bediener"));
        assert!(text(&driver, "#tile-SIM-B .word").await.contains("FEHLER"));
        // The failure in German, with the core's English message kept as the detail.
        let reason = text(&driver, "#tile-SIM-B .reason").await;
        assert!(
            reason.contains("Platine für die Technik beiseitelegen") && reason.contains("invalid signature"),
            "{reason}"
        );
        snap(&driver, "6-operator-de").await;
        Ok(())
    })
    .await;
}

/// QA: the run is listed with its UID, its detail shows the steps, the device's signed
/// evidence is written and verifies in openssl, the log verifies, and an export lands
/// in a file with the run in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qa_lists_verifies_and_exports_runs() {
    scenario("qa_lists_verifies_and_exports_runs", &[], |driver| async move {
        let uid = pass_sim_a(&driver).await;
        click(&driver, "#tab-qa").await;
        wait_for(&driver, "#runs tr.row.pass", 20).await;
        assert!(text(&driver, "#runs tr.row.pass").await.contains(&uid));
        click(&driver, "#runs tr.row.pass td.mono").await;
        wait_for(&driver, "#run-detail", 20).await;
        assert!(text(&driver, "#run-detail").await.contains("selftest"));
        // Signed evidence of the device, from its run: openssl checks it with the root.
        click(&driver, "#qa-evidence").await;
        let said = wait_text(&driver, "#qa-evidence-result", 30, |t| t.contains(".pdf")).await;
        let file = |ext: &str| PathBuf::from(said.split_whitespace().find(|w| w.ends_with(ext)).unwrap_or_default());
        let (json, pdf) = (file(".json"), file(".pdf"));
        assert!(said.contains("active") && pdf.exists() && json.exists(), "{said}");
        let root = json.parent().and_then(|p| p.parent()).and_then(|p| p.parent()).unwrap().join("ca/root.crt.pem");
        let verified = std::process::Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(format!("{}.p7s", json.display()))
            .arg("-content")
            .arg(&json)
            .arg("-CAfile")
            .arg(&root)
            .args(["-out", "/dev/null"])
            .output()
            .unwrap();
        assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
        click(&driver, "#qa-verify").await;
        wait_text(&driver, "#qa-verify-result", 20, |v| v.contains("intact")).await;
        snap(&driver, "4-qa").await;
        click(&driver, "#qa-export-csv").await;
        let exported = wait_text(&driver, "#qa-export-result", 30, |t| t.contains(".csv")).await;
        let csv = std::fs::read_to_string(exported.split_whitespace().last().unwrap_or_default()).unwrap_or_default();
        assert!(csv.contains(&uid) && csv.lines().count() == 2, "{exported}: {csv}");
        Ok(())
    })
    .await;
}

/// Engineer, label template: the editor holds the station's template and previews it;
/// a problem is marked at its element's line and cannot be saved; fixed, it becomes the
/// station's template (audited).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engineer_edits_and_saves_the_label_template() {
    scenario("engineer_edits_and_saves_the_label_template", &[], |driver| async move {
        click(&driver, "#tab-engineer").await;
        wait_for(&driver, "#preview-image", 20).await;
        let template =
            retry("#template-editor", || async { driver.find(By::Id("template-editor")).await?.prop("value").await })
                .await
                .unwrap_or_default();
        assert!(template.contains("kind = \"code128\""), "the editor holds the station's template: {template:?}");
        snap(&driver, "5-engineer").await;
        driver
            .execute(
                r#"const e = document.getElementById("template-editor");
                   e.value = e.value.replace('data = "{uid}"', 'data = "{colour}"');
                   e.dispatchEvent(new Event("input"));"#,
                vec![],
            )
            .await?;
        wait_for(&driver, "#template-gutter .bad", 20).await;
        let problem = text(&driver, "#template-errors li").await;
        assert!(problem.contains("colour") && problem.contains("line"), "{problem}");
        snap(&driver, "7-engineer-template-problem").await;

        // Locked: read-only.
        let enabled =
            retry("#config-save", || async { driver.find(By::Css("#config-save")).await?.is_enabled().await }).await;
        assert!(!enabled, "the configuration must be read-only while locked");
        unlock_engineer(&driver).await;
        click(&driver, "#template-save").await;
        wait_text(&driver, "#template-status", 30, |t| t.contains("LABEL") && t.contains("colour")).await;
        driver
            .execute(
                r#"const e = document.getElementById("template-editor");
                   e.value = e.value.replace('data = "{colour}"', 'data = "{uid}"').replace('size_pt = 6.0', 'size_pt = 5.5');
                   e.dispatchEvent(new Event("input"));"#,
                vec![],
            )
            .await?;
        wait_for(&driver, "#preview-image", 20).await;
        click(&driver, "#template-save").await;
        wait_text(&driver, "#template-status", 30, |t| t.contains("station.toml")).await;
        let data = data_dir_via_export(&driver).await;
        let template = std::fs::read_to_string(data.join("label-templates/station.toml")).unwrap();
        assert!(template.contains("size_pt = 5.5"), "{template}");
        let config = std::fs::read_to_string(data.join("station.toml")).unwrap();
        assert!(config.contains("label-templates/station.toml"), "{config}");
        let store = log_of(&data);
        assert_eq!(store.audit_count("engineer-pin-set").unwrap(), 1);
        assert_eq!(store.audit_count("label-template-change").unwrap(), 1);
        Ok(())
    })
    .await;
}

/// Engineer, configuration: an invalid change is refused with the parser's words; a
/// valid one is saved, put in force and audited; a test print lands in the new folder
/// printer; auto-start then runs the boards it finds without a Start press.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engineer_changes_the_configuration() {
    scenario("engineer_changes_the_configuration", &[], |driver| async move {
        unlock_engineer(&driver).await;
        click(&driver, "#selftest-mode option[value='broker']").await;
        click(&driver, "#config-save").await;
        wait_text(&driver, "#config-status", 30, |t| t.contains("CONFIG") && t.contains("[selftest.broker]")).await;
        click(&driver, "#selftest-mode option[value='auto']").await;

        click(&driver, "#reprovision option[value='reissue']").await;
        click(&driver, "#printer-kind option[value='folder']").await;
        type_into(&driver, "#printer-path", "print-queue").await;
        click(&driver, "#config-save").await;
        let saved = wait_text(&driver, "#config-status", 30, |t| t.contains("→")).await;
        assert!(attr(&driver, "#config-status", "class").await.contains("ok"), "save failed: {saved}");
        wait_text(&driver, "#printer-current", 20, |t| t.contains("folder:print-queue")).await;
        snap(&driver, "8-engineer-config").await;

        click(&driver, "#printer-test").await;
        let printed = wait_text(&driver, "#printer-status", 30, |t| t.contains("saved")).await;
        let file = printed.split_whitespace().last().unwrap_or_default().to_string();
        assert!(file.contains("print-queue") && std::path::Path::new(&file).exists(), "{printed}");

        // Auto-start: tick it for SIM-A and the station runs the boards it finds (the
        // demo fixture puts a fresh board in after every run).
        click(&driver, "#tab-engineer").await;
        enable_auto_start(&driver).await;
        click(&driver, "#tab-operator").await;
        wait_text(&driver, "#counters", 60, |t| t.contains("2 passed")).await;

        let data = data_dir_via_export(&driver).await;
        let store = log_of(&data);
        for (action, n) in
            [("config-change", 2), ("config-changed", 2), ("label-test-print", 1), ("label-test-printed", 1)]
        {
            assert_eq!(store.audit_count(action).unwrap(), n, "audit {action}");
        }
        let config = std::fs::read_to_string(data.join("station.toml")).unwrap();
        assert!(config.contains("policy = \"reissue\"") && config.contains("# How a board gets its UID"), "{config}");
        assert!(store.verify_chain().unwrap().intact());
        Ok(())
    })
    .await;
}

/// Engineer and operator, nRF91: the engineer adds a modem slot (transport, port, sec
/// tag) and the operator runs the simulated modem on it to PASS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engineer_adds_a_modem_slot_and_the_operator_runs_it() {
    scenario("engineer_adds_a_modem_slot_and_the_operator_runs_it", &[], |driver| async move {
        use hallmark_sim::modem::{Modem, ModemState};
        let mut pty = hallmark_sim::Pty::open().expect("pty");
        let port = pty.path.display().to_string();
        let mut modem = Modem::new(ModemState::fresh(), None, Vec::new());
        std::thread::spawn(move || modem.serve(&mut pty.master));

        unlock_engineer(&driver).await;
        let i = driver.find_all(By::Css("#config-slots tbody tr")).await?.len();
        click(&driver, "#slot-add").await;
        let name = attr(&driver, &format!("#slot-{i}-name"), "value").await;
        click(&driver, &format!("#slot-{i}-transport option[value='modem']")).await;
        type_into(&driver, &format!("#slot-{i}-port"), &port).await;
        type_into(&driver, &format!("#slot-{i}-sec-tag"), "42").await;
        snap(&driver, "11-engineer-modem-slot").await;
        click(&driver, "#config-save").await;
        let saved = wait_text(&driver, "#config-status", 30, |t| t.contains("→") || t.contains("CONFIG")).await;
        assert!(attr(&driver, "#config-status", "class").await.contains("ok"), "save failed: {saved}");

        click(&driver, "#tab-operator").await;
        wait_text(&driver, &format!("#tile-{name}"), 30, |t| t.contains("nRF91 modem")).await;
        click(&driver, &format!("#start-{name}")).await;
        wait_for(&driver, &format!("#tile-{name}[data-state='pass']"), 60).await;
        snap(&driver, "10-operator-modem").await;

        let data = data_dir_via_export(&driver).await;
        let config = std::fs::read_to_string(data.join("station.toml")).unwrap();
        assert!(config.contains("dialect = \"nrf91-at\"") && config.contains("sec_tag = 42"), "{config}");
        let runs = log_of(&data).runs().unwrap();
        let run = runs.iter().find(|r| r.slot.as_deref() == Some(name.as_str())).expect("the modem's run");
        assert_eq!(run.outcome, "PASS", "{run:?}");
        Ok(())
    })
    .await;
}

/// Engineer, CA: the CA counts the certificate; an unknown UID has nothing to revoke;
/// revoking the board's UID takes two presses, publishes CRL #1 and is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engineer_revokes_a_board() {
    scenario("engineer_revokes_a_board", &[], |driver| async move {
        let uid = pass_sim_a(&driver).await;
        unlock_engineer(&driver).await;
        wait_text(&driver, "#ca-counts", 20, |t| t.starts_with("1 ")).await;
        type_into(&driver, "#revoke-target", "NO-SUCH-UID").await;
        click(&driver, "#revoke-go").await;
        click(&driver, "#revoke-confirm").await;
        wait_text(&driver, "#revoke-status", 30, |t| t.contains("no valid certificate")).await;
        retry("#revoke-target", || async { driver.find(By::Css("#revoke-target")).await?.clear().await }).await;
        type_into(&driver, "#revoke-target", &uid).await;
        click(&driver, "#revoke-go").await;
        click(&driver, "#revoke-confirm").await;
        wait_text(&driver, "#revoke-status", 30, |t| t.contains("CRL #1")).await;
        wait_text(&driver, "#ca-counts", 20, |t| t.contains("1 revoked")).await;
        snap(&driver, "9-engineer-ca").await;
        let store = log_of(&data_dir_via_export(&driver).await);
        assert!(store.certificates(&uid).unwrap().iter().all(|c| c.revoked.is_some()));
        assert!(store.verify_chain().unwrap().intact());
        Ok(())
    })
    .await;
}

/// A configured (not demo) station whose window is killed in the middle of a run and
/// started again on the same data directory: start-up closes the run as INTERRUPTED,
/// publishes a revocation that never reached a CRL, and tells the operator which board
/// to run again. A slot whose port does not exist says that no fixture is connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_killed_mid_run_closes_the_run_and_publishes_the_crl_when_restarted() {
    if !display_or_skip("a_window_killed_mid_run_closes_the_run_and_publishes_the_crl_when_restarted") {
        return;
    }
    use hallmark_gui::demo::{demo_config, sim_slot};
    let _turn = ONE_WINDOW.lock().await;
    let data = tempfile::tempdir().unwrap();
    let healthy = sim_slot("SIM-A", Vec::new()).unwrap();
    let slow = sim_slot("SIM-B", vec!["slow-keygen=120000".parse().unwrap()]).unwrap();
    let (_, toml) = demo_config([&healthy, &slow].into_iter()).unwrap();
    let toml = format!("{toml}\n[[slot]]\nname = \"SIM-C\"\nport = \"/dev/ttyHALLMARK-NOT-CONNECTED\"\n");
    let config = data.path().join("line.toml");
    std::fs::write(&config, toml).unwrap();
    let data_dir = data.path().join("data");
    let envs =
        [("HALLMARK_DATA_DIR", data_dir.to_str().unwrap()), ("HALLMARK_CA_PASSPHRASE", "restart test passphrase 42")];
    let args = ["--config", config.to_str().unwrap()];

    // First life: SIM-A passes; SIM-B is killed while its board generates a key.
    let app = App::start_with(&args, &envs).await;
    let driver = app.driver.clone();
    wait_for(&driver, "body[data-ready='true']", 60).await;
    wait_for(&driver, "#tile-SIM-C[data-fixture='no_fixture']", 10).await;
    assert!(text(&driver, "#tile-SIM-C .fixture-missing").await.contains("/dev/ttyHALLMARK-NOT-CONNECTED"));
    let enabled = retry("#start-SIM-C", || async { driver.find(By::Css("#start-SIM-C")).await?.is_enabled().await });
    assert!(!enabled.await, "no Start without a fixture");
    click(&driver, "#start-SIM-A").await;
    wait_for(&driver, "#tile-SIM-A[data-state='pass']", 60).await;
    let uid = text(&driver, "#tile-SIM-A .uid").await;
    click(&driver, "#start-SIM-B").await;
    wait_text(&driver, "#tile-SIM-B .step", 60, |t| t.contains("keygen")).await;
    snap(&driver, "restart-1-before-kill").await;
    app.kill();

    // While the station is down, a revocation lands in the log without its CRL (what
    // a station killed between recording a revocation and signing the CRL leaves).
    let log = data_dir.join("hallmark-log.sqlite");
    {
        let store = hallmark_store::Store::open(&log).unwrap();
        let serial = store.certificates(&uid).unwrap()[0].serial.clone();
        store.record_revocation(hallmark_store::RevokedBy::Actor("qa"), &serial, "keyCompromise").unwrap();
    }
    let crl = data_dir.join("ca/crl.pem");
    assert!(!crl.exists());

    // Second life on the same data directory.
    let app = App::start_with(&args, &envs).await;
    let driver = app.driver.clone();
    wait_for(&driver, "body[data-ready='true']", 60).await;
    let report = text(&driver, "#startup-report").await;
    snap(&driver, "restart-2-after-restart").await;
    assert!(report.contains("INTERRUPTED") && report.contains("in slot SIM-B again"), "{report}");
    assert!(report.contains("CRL #1"), "{report}");
    let store = hallmark_store::Store::open_read_only(&log).unwrap();
    let runs = store.runs().unwrap();
    let b: Vec<_> = runs.iter().filter(|r| r.slot.as_deref() == Some("SIM-B")).collect();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].outcome, "INTERRUPTED", "{:?}", b[0]);
    assert_eq!(b[0].failing_step.as_deref(), Some("keygen"));
    let pem = std::fs::read_to_string(&crl).expect("the CRL is published at start");
    assert!(pem.contains("BEGIN X509 CRL"));
    assert!(store.verify_chain().unwrap().intact());
    // The operator dismisses the report and runs the next board.
    click(&driver, "#startup-dismiss").await;
    healthy.next_board();
    tokio::time::sleep(Duration::from_millis(300)).await;
    click(&driver, "#start-SIM-A").await;
    wait_for(&driver, "#tile-SIM-A[data-state='pass']", 60).await;
    driver.quit().await.ok();
    drop(slow);
}

async fn type_into(driver: &WebDriver, css: &str, keys: &str) {
    retry(css, || async { driver.find(By::Css(css)).await?.send_keys(keys).await }).await
}

/// Waits until the text of `css` satisfies `ok`; returns it.
async fn wait_text(driver: &WebDriver, css: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(Ok(t)) =
            tokio::time::timeout(Duration::from_secs(5), async { driver.find(By::Css(css)).await?.text().await }).await
        {
            if ok(&t) {
                return t;
            }
            assert!(Instant::now() < deadline, "{css} says {t:?}");
        }
        assert!(Instant::now() < deadline, "{css} did not appear");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ticks auto-start for the first slot on the (unlocked) engineer screen and saves.
async fn enable_auto_start(driver: &WebDriver) {
    click(driver, "#slot-0-auto").await;
    click(driver, "#config-save").await;
    let saved = wait_text(driver, "#config-status", 30, |t| t.contains("→")).await;
    assert!(attr(driver, "#config-status", "class").await.contains("ok"), "{saved}");
}

/// Benchmark, not a test: cold start to the first interactive frame, and resident
/// memory after `HALLMARK_GUI_BENCH_RUNS` (default 1000) runs on the demo slot.
/// `xvfb-run -a dbus-run-session -- cargo test --release -p hallmark-gui --test window
/// bench_ -- --ignored --nocapture`; figures go to docs/performance.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run by hand"]
async fn bench_cold_start_and_memory() {
    let runs: u32 = std::env::var("HALLMARK_GUI_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let t0 = Instant::now();
    let app = App::start(&["--demo"]).await;
    let driver = app.driver.clone();
    wait_for(&driver, "body[data-ready='true']", 60).await;
    let cold = t0.elapsed();
    // The app's memory is its own process plus the WebKit web process that renders
    // the window (the only one on this display).
    let rss = || {
        let status = |pattern: &str| {
            let out = Command::new("pgrep").args(["-f", pattern]).output().unwrap();
            let pid = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string();
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let line = |k: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(k))
                    .unwrap_or("?")
                    .split_whitespace()
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            format!("RSS {} (peak {})", line("VmRSS"), line("VmHWM"))
        };
        format!("station {}; web view {}", status("hallmark-station --demo"), status("WebKitWebProcess"))
    };
    let before = rss();
    // The runs start themselves: auto-start on the demo slot, whose fixture puts a
    // fresh board in after every run. The window renders every run's events.
    click(&driver, "#tab-engineer").await;
    type_into(&driver, "#engineer-pin", "482916").await;
    click(&driver, "#engineer-set-pin").await;
    wait_for(&driver, "#engineer-lock", 20).await;
    enable_auto_start(&driver).await;
    click(&driver, "#tab-operator").await;
    let t1 = Instant::now();
    let mut reported = 0;
    loop {
        let counters = text(&driver, "#counters").await;
        let passed: u32 = counters
            .split(" passed")
            .next()
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(!counters.contains(" 1 failed"), "a run failed: {counters}");
        if passed >= reported + 250 || passed >= runs {
            reported = passed;
            println!("after {passed} runs ({:?}): {}", t1.elapsed(), rss());
        }
        if passed >= runs {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let per_run = t1.elapsed() / runs.max(1);
    println!("cold start to first interactive frame (session start → data-ready): {cold:?}");
    println!("resident memory: after start {before}; after {runs} runs {}", rss());
    println!("{runs} auto-started runs shown in the window, {per_run:?} per run");
    driver.quit().await.ok();
}

#[path = "../../crates/hallmark-fleet/tests/support/mod.rs"]
mod pg;

/// Operator, fleet (issue #17): the screen shows the fleet link — connected with
/// nothing waiting; cut off (the fleet server stopped) with the backlog growing while
/// boards still pass; connected and caught up again once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sees_when_the_bench_is_cut_off_from_the_fleet() {
    if !display_or_skip("the_operator_sees_when_the_bench_is_cut_off_from_the_fleet") {
        return;
    }
    // The harness and the fleet client block: off the test's async workers.
    let Some(mut server) = tokio::task::block_in_place(|| {
        let server = pg::TestPostgres::start("window_fleet")?;
        server.create_database("fleet");
        hallmark_fleet::Fleet::connect(&server.url(pg::SUPERUSER, "fleet"), Some(server.password()))
            .and_then(|mut f| f.init())
            .expect("fleet schema");
        server
            .admin("fleet")
            .batch_execute("CREATE ROLE bench_window LOGIN PASSWORD 'pw-window' IN ROLE hallmark_station")
            .unwrap();
        Some(server)
    }) else {
        return;
    };

    use hallmark_gui::demo::{demo_config, sim_slot};
    let _turn = ONE_WINDOW.lock().await;
    let data = tempfile::tempdir().unwrap();
    let board = sim_slot("SIM-A", Vec::new()).unwrap();
    let (_, toml) = demo_config([&board].into_iter()).unwrap();
    let toml = format!("{toml}\n[fleet]\nurl = \"{}\"\nsync_interval_ms = 300\n", server.url("bench_window", "fleet"));
    let config = data.path().join("line.toml");
    std::fs::write(&config, toml).unwrap();
    let data_dir = data.path().join("data");
    let envs = [
        ("HALLMARK_DATA_DIR", data_dir.to_str().unwrap()),
        ("HALLMARK_CA_PASSPHRASE", "fleet window passphrase 42"),
        ("HALLMARK_FLEET_PASSWORD", "pw-window"),
    ];
    let app = App::start_with(&["--config", config.to_str().unwrap()], &envs).await;
    let driver = app.driver.clone();
    wait_for(&driver, "body[data-ready='true']", 60).await;

    wait_text(&driver, "#fleet-state", 30, |t| t.starts_with("Fleet: connected")).await;
    click(&driver, "#start-SIM-A").await;
    wait_for(&driver, "#tile-SIM-A[data-state='pass']", 60).await;
    let caught_up = wait_text(&driver, "#fleet-state", 30, |t| t.contains("0 records waiting")).await;
    assert!(caught_up.contains("connected"), "{caught_up}");
    snap(&driver, "fleet-1-connected").await;

    tokio::task::block_in_place(|| server.stop());
    let cut = wait_text(&driver, "#fleet-state", 30, |t| t.contains("NOT CONNECTED")).await;
    assert_eq!(attr(&driver, "#fleet-state", "data-state").await, "cut-off", "{cut}");
    // The bench goes on: the next board passes, and its records wait.
    board.next_board();
    tokio::time::sleep(Duration::from_millis(300)).await;
    click(&driver, "#start-SIM-A").await;
    wait_for(&driver, "#tile-SIM-A[data-state='pass']", 60).await;
    let waiting = wait_text(&driver, "#fleet-state", 30, |t| !t.contains(" 0 records waiting")).await;
    assert!(waiting.contains("NOT CONNECTED") && waiting.contains("records waiting"), "{waiting}");
    snap(&driver, "fleet-2-cut-off").await;

    tokio::task::block_in_place(|| server.start_again());
    let back =
        wait_text(&driver, "#fleet-state", 60, |t| t.contains("connected") && t.contains(" 0 records waiting")).await;
    assert_eq!(attr(&driver, "#fleet-state", "data-state").await, "ok", "{back}");

    // QA, scope "the whole fleet": the runs as the fleet holds them, with their station,
    // and each station's yield.
    click(&driver, "#tab-qa").await;
    wait_for(&driver, "#qa-scope", 20).await;
    click(&driver, "#qa-scope option[value='fleet']").await;
    wait_for(&driver, "#runs[data-scope='fleet'] td.station", 30).await;
    let stations = driver.find_all(By::Css("#runs td.station")).await.unwrap();
    assert_eq!(stations.len(), 2, "both runs, from the fleet");
    assert_eq!(stations[0].text().await.unwrap(), "bench-1");
    let yield_row = wait_text(&driver, "#qa-stations tr[data-station='bench-1']", 30, |t| t.contains("100.0")).await;
    assert!(yield_row.contains("2/2"), "{yield_row}");
    snap(&driver, "fleet-3-qa-fleet-scope").await;
    driver.quit().await.ok();
}
