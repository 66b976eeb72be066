//! `hallmark evidence`.

use crate::args::EvidenceArgs;
use crate::error::CliError;
use crate::setup::{open_station, open_store};
use hallmark_station::evidence::EvidenceWriter;
use std::process::ExitCode;

pub fn run(args: EvidenceArgs) -> Result<ExitCode, CliError> {
    let station = open_station(&args.ca.station())?;
    let store = open_store(&station.data_dir)?;
    let actor = args.actor.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
    let files = EvidenceWriter::new(&station, &store, &actor).write(&args.device, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string(&files).unwrap_or_default());
    } else {
        println!(
            "wrote the evidence of {} ({}): {}, {}, {}",
            files.uid,
            files.status,
            files.json.display(),
            files.signature.display(),
            files.pdf.display()
        );
        println!(
            "check it with the root certificate only: openssl cms -verify -binary -inform DER -in {} -content {} \
             -CAfile {} -out /dev/null",
            files.signature.display(),
            files.json.display(),
            station.data_dir.ca_dir().join("root.crt.pem").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
