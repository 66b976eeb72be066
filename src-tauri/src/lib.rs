//! The station GUI: a thin Tauri v2 shell. It assembles the station like the CLI
//! does, runs it on its own thread (`runner`), and exposes typed commands
//! (`commands`, types in `ipc`). Only this crate knows Tauri.

mod autostart;
pub mod commands;
pub mod demo;
pub mod ipc;
mod runner;

use commands::engineer::ConfigSource;
use commands::AppState;
use hallmark_station::admin::{EngineerRole, FirstPin};
use hallmark_station::assemble::Overrides;
use hallmark_station::datadir::DataDir;
use hallmark_station::pipeline::Station;
use hallmark_station::startup::{ConfigChoice, GivenSecrets, OpenOptions};
use ipc::{ApiError, FailureCode, SlotView, StationView};
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
            commands::slot_links,
            commands::fleet_state,
            commands::start_run,
            commands::set_operator,
            commands::reprint,
            commands::qa::runs_page,
            commands::qa::run_detail,
            commands::qa::verify_log,
            commands::qa::statistics,
            commands::qa::export_runs,
            commands::label::label_preview,
            commands::label::label_template_text,
            commands::label::label_template_save,
            commands::engineer::engineer_state,
            commands::engineer::engineer_set_pin,
            commands::engineer::engineer_login,
            commands::engineer::engineer_logout,
            commands::engineer::config_get,
            commands::engineer::config_save,
            commands::engineer::ca_status,
            commands::engineer::ca_revoke,
            commands::qa::write_evidence,
            commands::engineer::printer_info,
            commands::engineer::printer_test,
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
    let prepared = match prepare(options) {
        Ok(p) => p,
        Err(e) => return failed_state(options, e),
    };
    let Prepared { data_dir, sims, source, passphrase } = prepared;
    let log = data_dir.log_path();
    let open = OpenOptions {
        data_dir: data_dir.clone(),
        config: ConfigChoice::Given { config: Box::new(source.config.clone()), file: Some(source.file.clone()) },
        overrides: Overrides::default(),
        probes: std::sync::Arc::new(hallmark_station::probe::SystemProbes),
    };
    let secrets = GivenSecrets { passphrase: Some(passphrase), ..GivenSecrets::from_env() };
    let build = Box::new(move || Station::open(open, &secrets));
    let (runner, info) = runner::start(app, build, sims);
    let fleet = info.as_ref().ok().and_then(|i| i.fleet.clone());
    let view = match info {
        Ok(info) => StationView {
            station_id: info.station_id,
            slots: slot_views(&info.slots),
            demo: options.demo,
            config_origin: info.origin,
            data_dir: info.data_dir,
            error: None,
            kiosk: options.kiosk,
            startup: info.startup,
            fleet: info.fleet.is_some(),
        },
        Err(e) => StationView { error: Some(not_started(e)), ..empty_view(options) },
    };
    // Demo stations set their first PIN without the CA passphrase: their CA is
    // thrown away with their data.
    let first_pin = if options.demo { FirstPin::Free } else { FirstPin::CaSecret };
    let engineer = Some(std::sync::Arc::new(EngineerRole::new(&data_dir, first_pin)));
    AppState { view: view.into(), runner, log, data_dir: Some(data_dir), config: source.into(), engineer, fleet }
}

/// The slots as the operator screen shows them, with their links as they are now.
pub fn slot_views(slots: &[hallmark_config::SlotConfig]) -> Vec<SlotView> {
    slots
        .iter()
        .map(|s| {
            let link = hallmark_station::fixture::slot_link(s);
            SlotView { name: s.name.clone(), link: link.link, state: link.state, auto_start: s.auto_start }
        })
        .collect()
}

/// What the station is built from.
struct Prepared {
    data_dir: DataDir,
    sims: std::collections::BTreeMap<String, demo::SimSlot>,
    source: ConfigSource,
    passphrase: String,
}

/// The station could not start; `why` says what stopped it.
fn not_started(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        FailureCode::Station,
        "The station could not start.",
        "Fix what the detail names, then start the station again.",
    )
    .with_detail(why)
}

/// Data directory, simulated slots, configuration and CA passphrase.
fn prepare(options: &Options) -> Result<Prepared, ApiError> {
    prepare_files(options).map_err(not_started)?.ok_or_else(|| {
        ApiError::new(
            FailureCode::CaPassphrase,
            "The CA passphrase is needed.",
            format!("Start the station with {} set (or use --demo).", hallmark_station::startup::PASSPHRASE_ENV),
        )
    })
}

/// [`prepare`], `None` when the CA passphrase is missing.
fn prepare_files(options: &Options) -> Result<Option<Prepared>, String> {
    if options.demo {
        let data_dir = DataDir::resolve(Some(demo::demo_data_dir()?)).map_err(|e| e.to_string())?;
        let sims = demo::demo_slots(&options.demo_faults)?;
        let (config, text) = demo::demo_config(sims.values())?;
        let source = ConfigSource { config, text, file: data_dir.config_path() };
        // A throwaway CA for a throwaway data directory: random, never written down.
        let passphrase = hex::encode(rand::random::<[u8; 24]>());
        return Ok(Some(Prepared { data_dir, sims, source, passphrase }));
    }
    let data_dir = DataDir::resolve(None).map_err(|e| e.to_string())?;
    let source = ConfigSource::load(options.config.as_deref(), &data_dir).map_err(|e| e.to_string())?;
    let Ok(passphrase) = std::env::var(hallmark_station::startup::PASSPHRASE_ENV) else { return Ok(None) };
    Ok(Some(Prepared { data_dir, sims: Default::default(), source, passphrase }))
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
        startup: None,
        fleet: false,
    }
}

fn failed_state(options: &Options, e: ApiError) -> AppState {
    let view = StationView { error: Some(e), ..empty_view(options) };
    AppState {
        view: view.into(),
        runner: runner::Runner::closed(),
        log: std::path::PathBuf::new(),
        data_dir: None,
        config: ConfigSource {
            config: hallmark_config::LoadedConfig::embedded_default(),
            text: hallmark_config::EXAMPLE.to_string(),
            file: std::path::PathBuf::new(),
        }
        .into(),
        engineer: None,
        fleet: None,
    }
}
