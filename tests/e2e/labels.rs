//! Labels as engineers and printers see them: `hallmark label check|render`, the
//! printer backends (raw ZPL to a TCP listener, a folder, a real CUPS scheduler with
//! a cups-pdf queue) and reprints from the log.

use crate::support::*;
use serde_json::Value;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../label-templates")
}

fn invalid(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hallmark-label/tests/invalid").join(name)
}

fn with_printer(station: &Station, printer: &str) -> PathBuf {
    station.config(&[(
        "[label]\n# template = \"label-templates/default-50x25.toml\"   # embedded default when absent",
        &format!("[label]\n[label.printer]\n{printer}"),
    )])
}

#[test]
fn label_check_passes_shipped_templates_and_names_the_element_at_fault() {
    for t in ["default-50x25.toml", "datamatrix-25x12.toml", "qr-logo-62x29.toml"] {
        let out = hallmark().args(["label", "check"]).arg(templates().join(t)).output().unwrap();
        assert!(out.status.success(), "{t}: {}", String::from_utf8_lossy(&out.stdout));
    }
    let out =
        hallmark().args(["label", "check", "--json"]).arg(invalid("code128-too-wide-203dpi.toml")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let error = v["errors"][0].as_str().unwrap();
    assert!(error.contains("element #1 (code128)") && error.contains("203 dpi"), "{error}");
}

#[test]
fn label_render_writes_each_format_for_given_fields() {
    let dir = tempfile::tempdir().unwrap();
    let t = templates().join("default-50x25.toml");
    for format in ["pdf", "zpl", "png"] {
        let out = dir.path().join(format!("l.{format}"));
        run_ok(hallmark().args(["label", "render"]).arg(&t).args([
            "--field",
            "uid=CAFE0001",
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ]));
        assert!(std::fs::metadata(&out).unwrap().len() > 100);
    }
    assert_eq!(scan_pdf(&dir.path().join("l.pdf")), "CAFE0001");
    let png = run_ok(Command::new("zbarimg").args(["--raw", "-q"]).arg(dir.path().join("l.png")));
    assert_eq!(png.trim_end(), "CAFE0001");
    assert!(std::fs::read_to_string(dir.path().join("l.zpl")).unwrap().starts_with("^XA"));
    let bad =
        hallmark().args(["label", "render"]).arg(&t).args(["--field", "colour=red", "--out", "x"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// Collects what one connection sends.
fn listen_once() -> (String, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        sock.read_to_end(&mut bytes).unwrap();
        bytes
    });
    (address, handle)
}

/// The fields the run printed, from its label step in the log.
fn printed_fields(station: &Station) -> Vec<String> {
    let detail: String = station
        .db()
        .query_row(
            "SELECT detail FROM events WHERE step = 'label' AND phase = 'end' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    detail["fields"].as_object().unwrap().iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap())).collect()
}

#[test]
fn zpl_reaches_a_9100_printer_byte_for_byte() {
    let station = Station::new();
    let (address, received) = listen_once();
    let config = with_printer(&station, &format!("kind = \"zpl-tcp\"\naddress = \"{address}\""));
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["label_print"]["printer"], format!("zpl-tcp:{address}"));
    assert_eq!(r["label_print"]["outcome"], "sent");
    let bytes = received.join().unwrap();
    // The same record rendered by the engineers' CLI is the same ZPL, byte for byte.
    let out = station.data_dir().join("expected.zpl");
    let mut render = hallmark();
    render.args(["label", "render"]).arg(templates().join("default-50x25.toml"));
    for f in printed_fields(&station) {
        render.args(["--field", &f]);
    }
    run_ok(render.args(["--format", "zpl", "--out", out.to_str().unwrap()]));
    assert_eq!(bytes, std::fs::read(&out).unwrap());
    assert_eq!(r["label_print"]["bytes"], bytes.len());
    assert!(String::from_utf8(bytes).unwrap().contains(r["uid"].as_str().unwrap()));
}

#[test]
fn a_printer_that_is_off_fails_the_run_with_print_failed_and_the_pdf_kept() {
    let station = Station::new();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let config = with_printer(&station, &format!("kind = \"zpl-tcp\"\naddress = \"{closed}\"\ntimeout_ms = 500"));
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(failed_step(&r), "label");
    assert_eq!(r["failure"]["code"], "PRINT_FAILED");
    assert!(r["failure"]["message"].as_str().unwrap().contains("run the board again"));
    // Running it again once the printer is back resumes without signing again.
    let (address, received) = listen_once();
    let config = with_printer(&station, &format!("kind = \"zpl-tcp\"\naddress = \"{address}\""));
    let (code, again) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["plan"], "reverify");
    assert_eq!(station.certificates_issued(), 1);
    assert!(!received.join().unwrap().is_empty());
}

#[test]
fn reprint_uses_the_logged_fields_and_is_audited() {
    let station = Station::new();
    let config = with_printer(&station, "kind = \"folder\"\npath = \"hot-folder\"\nformat = \"pdf\"");
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap(), "--operator", "OP-7"]);
    assert_eq!(code, 0, "{r}");
    let uid = r["uid"].as_str().unwrap();
    let first = PathBuf::from(r["label_print"]["job_id"].as_str().unwrap());
    assert!(first.starts_with(station.data_dir().join("hot-folder")));
    assert_eq!(scan_pdf(&first), uid);

    let out = station.hallmark(&["label", "reprint", uid, "--json", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reprint: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reprint["run_id"], r["run_id"]);
    let second = PathBuf::from(reprint["print"]["job_id"].as_str().unwrap());
    assert_ne!(first, second);
    assert_eq!(scan_pdf(&second), uid);
    let actions: Vec<String> = station
        .db()
        .prepare("SELECT action FROM audit ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(actions.ends_with(&["label-reprint".to_string(), "label-reprinted".to_string()]), "{actions:?}");
    let unknown = station.hallmark(&["label", "reprint", "NOPE", "--config", config.to_str().unwrap()]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("No passing run of NOPE"));
}

/// A private CUPS scheduler on 127.0.0.1 with a cups-pdf queue; stopped on drop.
struct Cups {
    child: Child,
    server: String,
    _dir: tempfile::TempDir,
}

impl Cups {
    /// `Err` with the reason when no scheduler can run here.
    fn start() -> Result<Cups, String> {
        let cupsd = ["/usr/sbin/cupsd", "/usr/bin/cupsd"].into_iter().find(|p| Path::new(p).exists());
        let cupsd = cupsd.ok_or("cupsd is not installed (apt install cups)")?;
        if !Path::new("/usr/lib/cups/backend/cups-pdf").exists() {
            return Err("the cups-pdf backend is not installed (apt install printer-driver-cups-pdf)".into());
        }
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let d = dir.path();
        for sub in ["spool", "cache", "state", "tmp", "log"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(
            d.join("cupsd.conf"),
            format!(
                "Listen 127.0.0.1:{port}\nLogLevel warn\nWebInterface No\nDefaultAuthType None\n\
                 <Location />\n Order allow,deny\n Allow all\n</Location>\n<Location /admin>\n Order allow,deny\n \
                 Allow all\n</Location>\n<Policy default>\n <Limit All>\n  Order deny,allow\n </Limit>\n</Policy>\n"
            ),
        )
        .unwrap();
        let p = |s: &str| d.join(s).display().to_string();
        std::fs::write(
            d.join("cups-files.conf"),
            format!(
                "ServerRoot {}\nRequestRoot {}\nCacheDir {}\nStateDir {}\nTempDir {}\nErrorLog {}\nAccessLog {}\n\
                 PageLog {}\nServerBin /usr/lib/cups\nDataDir /usr/share/cups\nUser lp\nGroup lp\nSandboxing Relaxed\n",
                p(""),
                p("spool"),
                p("cache"),
                p("state"),
                p("tmp"),
                p("log/error_log"),
                p("log/access_log"),
                p("log/page_log")
            ),
        )
        .unwrap();
        // cupsd drops to lp for filters: the directories must be usable by it.
        run_ok(Command::new("chmod").args(["-R", "a+rwx"]).arg(d));
        let child = Command::new(cupsd)
            .args(["-f", "-c"])
            .arg(d.join("cupsd.conf"))
            .arg("-s")
            .arg(d.join("cups-files.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cupsd cannot start: {e}"))?;
        let server = format!("127.0.0.1:{port}");
        let mut cups = Cups { child, server, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline || cups.child.try_wait().ok().flatten().is_some() {
                let log = std::fs::read_to_string(cups._dir.path().join("log/error_log")).unwrap_or_default();
                return Err(format!("cupsd did not start: {log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let ppd = "/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd";
        let admin = Command::new("lpadmin")
            .args(["-h", &cups.server, "-p", "hallmark-pdf", "-v", "cups-pdf:/", "-P", ppd, "-E"])
            .output()
            .map_err(|e| format!("lpadmin: {e}"))?;
        if !admin.status.success() {
            return Err(format!("lpadmin failed: {}", String::from_utf8_lossy(&admin.stderr)));
        }
        Ok(cups)
    }
}

impl Drop for Cups {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[test]
fn cups_queue_prints_the_label_pdf() {
    let cups = match Cups::start() {
        Ok(c) => c,
        Err(why) => {
            eprintln!("SKIPPED cups_queue_prints_the_label_pdf: {why}");
            return;
        }
    };
    let station = Station::new();
    let config =
        with_printer(&station, &format!("kind = \"cups\"\nqueue = \"hallmark-pdf\"\nserver = \"{}\"", cups.server));
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    let job = r["label_print"]["job_id"].as_str().unwrap().to_string();
    assert!(job.starts_with("hallmark-pdf-"), "{job}");
    assert_eq!(r["label_print"]["outcome"], "submitted");
    // cups-pdf writes the printed job as a PDF in the submitting user's ~/PDF.
    let number = job.rsplit('-').next().unwrap().to_string();
    let out_dir = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join("PDF");
    let deadline = Instant::now() + Duration::from_secs(30);
    let printed = loop {
        let found = std::fs::read_dir(&out_dir).ok().and_then(|entries| {
            entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                p.to_string_lossy().ends_with(&format!("job_{number}.pdf"))
                    && p.to_string_lossy().contains(r["uid"].as_str().unwrap())
            })
        });
        match found {
            Some(p) => break p,
            None if Instant::now() > deadline => panic!("cups-pdf wrote no PDF for job {job} in {}", out_dir.display()),
            None => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    // Give cups-pdf a moment to finish writing before reading it.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(scan_pdf(&printed), r["uid"].as_str().unwrap());
    std::fs::remove_file(printed).ok();
}
