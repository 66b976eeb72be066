//! The station GUI: a thin Tauri v2 shell. It assembles the station like the CLI
//! does, runs it on its own thread (`runner`), and exposes typed commands
//! (`commands`, types in `ipc`). Only this crate knows Tauri.

pub mod commands;
pub mod demo;
pub mod ipc;
mod runner;

use commands::AppState;
use hallmark_ca::{CaStore, KeyLocation, Passphrase};
use hallmark_station::assemble::{assemble, label_template, Overrides};
use hallmark_station::datadir::DataDir;
use ipc::{ApiError, SlotView, StationView};
use tauri::Manager;

/// Command-line options of the GUI.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Demo: throwaway data and CA, simulated boards.
    pub demo: bool,
    /// Faults for extra simulated slots in the demo (one slot each).
    pub demo_faults: Vec<String>,
    /// Full screen.
    pub kiosk: bool,
    /// Configuration file (else `$HALLMARK_CONFIG`, else the embedded default).
    pub config: Option<std::path::PathBuf>,
}

impl Options {
    /// From `std::env::args`.
    pub fn from_args() -> Result<Options, String> {
        let mut o = Options::default();
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--demo" => o.demo = true,
                "--demo-fault" => o.demo_faults.push(args.next().ok_or("--demo-fault needs a fault name")?),
                "--kiosk" => o.kiosk = true,
                "--config" => o.config = Some(args.next().ok_or("--config needs a file")?.into()),
                other => {
                    return Err(format!(
                        "unknown option {other:?} (use --demo, --demo-fault F, --kiosk, --config FILE)"
                    ))
                }
            }
        }
        if o.config.is_none() {
            o.config = std::env::var_os("HALLMARK_CONFIG").map(Into::into);
        }
        Ok(o)
    }
}

/// Runs the GUI.
pub fn run() {
    let options = Options::from_args().unwrap_or_else(|e| {
        eprintln!("hallmark-station: {e}");
        std::process::exit(2)
    });
    tauri::Builder::default()
        .setup(move |app| {
            let state = start_station(app.handle().clone(), &options);
            if options.kiosk {
                if let Some(w) = app.get_webview_window("main") {
                    w.set_fullscreen(true).ok();
                }
            }
            app.manage(state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::station_info,
            commands::start_run,
            commands::reprint,
            commands::runs_page,
            commands::run_detail,
            commands::verify_log,
            commands::statistics,
            commands::label_preview,
            commands::label_template_text,
        ])
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("hallmark-station: the window could not start: {e}");
            std::process::exit(2)
        });
}

/// Builds the station (demo or configured) on its thread; a failure becomes the
/// start-up error the window shows.
fn start_station(app: tauri::AppHandle, options: &Options) -> AppState {
    let prepared = prepare(options);
    let (data_dir, sims, config, passphrase) = match prepared {
        Ok(p) => p,
        Err(e) => return failed_state(options, e),
    };
    let log = data_dir.log_path();
    let config_path = options.config.clone();
    let dir = data_dir.clone();
    let build = Box::new(move || {
        let ca_store = CaStore::new(dir.ca_dir());
        let ca = match ca_store.key_location().map_err(|e| e.to_string())? {
            Some(KeyLocation::File) => ca_store.unlock(&Passphrase::for_unlock(passphrase)),
            Some(KeyLocation::Token(_)) => {
                let pin = std::env::var("HALLMARK_PKCS11_PIN").map_err(|_| "set HALLMARK_PKCS11_PIN")?;
                ca_store.unlock_token(&pin)
            }
            None => ca_store.create(
                &Passphrase::for_new_ca(passphrase).map_err(|e| e.to_string())?,
                time::OffsetDateTime::now_utc(),
            ),
        }
        .map_err(|e| e.to_string())?;
        let over = Overrides::default();
        let template = label_template(&config, config_path.as_deref(), &over)?;
        assemble(config, dir, ca, template, &over, std::sync::Arc::new(hallmark_station::probe::ProbeRs))
    });
    let (runner, info) = runner::start(app, build, sims);
    let view = match info {
        Ok(info) => StationView {
            station_id: info.station_id,
            slots: info
                .slots
                .iter()
                .map(|s| SlotView {
                    name: s.name.clone(),
                    link: s.probe.clone().map(|p| format!("probe {p}")).unwrap_or_else(|| s.port.clone()),
                    auto_start: s.auto_start,
                })
                .collect(),
            demo: options.demo,
            config_origin: info.origin,
            data_dir: info.data_dir,
            error: None,
            kiosk: options.kiosk,
        },
        Err(e) => StationView { error: Some(ApiError::new("STATION", e)), ..empty_view(options) },
    };
    AppState { view, runner, log }
}

type Prepared = (DataDir, std::collections::BTreeMap<String, demo::SimSlot>, hallmark_config::LoadedConfig, String);

/// Data directory, simulated slots, configuration and CA passphrase.
fn prepare(options: &Options) -> Result<Prepared, String> {
    if options.demo {
        let dir = DataDir::resolve(Some(demo::demo_data_dir()?))?;
        let sims = demo::demo_slots(&options.demo_faults)?;
        let config = demo::demo_config(sims.values())?;
        // A throwaway CA for a throwaway data directory: random, never written down.
        let passphrase = hex::encode(rand::random::<[u8; 24]>());
        return Ok((dir, sims, config, passphrase));
    }
    let config = match &options.config {
        Some(p) => hallmark_config::LoadedConfig::load(p).map_err(|e| e.to_string())?,
        None => hallmark_config::LoadedConfig::embedded_default(),
    };
    let dir = DataDir::resolve(None)?;
    let passphrase = std::env::var("HALLMARK_CA_PASSPHRASE").map_err(|_| {
        "The CA passphrase is needed: start the station with HALLMARK_CA_PASSPHRASE set (or use --demo).".to_string()
    })?;
    Ok((dir, Default::default(), config, passphrase))
}

fn empty_view(options: &Options) -> StationView {
    StationView {
        station_id: String::new(),
        slots: Vec::new(),
        demo: options.demo,
        config_origin: String::new(),
        data_dir: String::new(),
        error: None,
        kiosk: options.kiosk,
    }
}

fn failed_state(options: &Options, e: String) -> AppState {
    let view = StationView { error: Some(ApiError::new("STATION", e)), ..empty_view(options) };
    AppState { view, runner: runner::Runner::closed(), log: std::path::PathBuf::new() }
}
