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
    let mut writer = EvidenceWriter::new(&station, &store, &actor);
    let root = station.data_dir.ca_dir().join("root.crt.pem");
    let (printed, said, (signature, content)) = match args.device {
        Some(uid) => {
            let files = writer.write(&uid, &args.out)?;
            let said = format!(
                "wrote the evidence of {} ({}): {}, {}, {}",
                files.uid,
                files.status,
                files.json.display(),
                files.signature.display(),
                files.pdf.display()
            );
            (serde_json::to_string(&files), said, (files.signature, files.json))
        }
        None => {
            let filter = super::log::to_filter(args.filter);
            let files = writer.write_batch(&filter, &args.out)?;
            let said = format!(
                "wrote the evidence of {} devices ({} runs), the signed manifest {} and the QA report {}",
                files.devices,
                files.runs,
                files.manifest.display(),
                files.report.display()
            );
            (serde_json::to_string(&files), said, (files.signature, files.manifest))
        }
    };
    if args.json {
        println!("{}", printed.unwrap_or_default());
    } else {
        println!("{said}");
        println!(
            "check it with the root certificate only: openssl cms -verify -binary -inform DER -in {} -content {} \
             -CAfile {} -out /dev/null",
            signature.display(),
            content.display(),
            root.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
