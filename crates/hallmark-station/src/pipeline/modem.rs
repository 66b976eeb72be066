//! Slots whose board is an nRF91 modem on a serial port (`dialect = "nrf91-at"`): the
//! target as configured, and opening its line as the `connect` step.

use crate::dialect::nrf91::at::AtMode;
use crate::dialect::{ModemId, Nrf91Options};
use crate::transport::{open_modem, PortName};
use crate::{Failure, FailureCode, SetupError};
use hallmark_config::{AtModeSetting, ModemIdSetting};
use std::path::Path;

/// An nRF91 modem on a serial port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModemTarget {
    /// The port.
    pub port: PortName,
    /// Sec tag, AT mode, the CA it is to trust, deadlines.
    pub options: Nrf91Options,
}

impl ModemTarget {
    /// A modem on `port` whose identity goes into `sec_tag`; `ca_file` (PEM) is the CA
    /// it is to trust for its broker (the station's root if `None`).
    pub fn new(
        port: PortName,
        sec_tag: u32,
        at_mode: AtModeSetting,
        ca_file: Option<&Path>,
    ) -> Result<ModemTarget, SetupError> {
        ModemTarget::identified_by(port, sec_tag, at_mode, ca_file, ModemIdSetting::Imei)
    }

    /// As [`ModemTarget::new`], with the modem's hardware id being `hardware_id`.
    pub fn identified_by(
        port: PortName,
        sec_tag: u32,
        at_mode: AtModeSetting,
        ca_file: Option<&Path>,
        hardware_id: ModemIdSetting,
    ) -> Result<ModemTarget, SetupError> {
        let mut options = Nrf91Options::for_sec_tag(sec_tag);
        options.hardware_id = match hardware_id {
            ModemIdSetting::Imei => ModemId::Imei,
            ModemIdSetting::Uuid => ModemId::Uuid,
        };
        options.mode = match at_mode {
            AtModeSetting::Auto => None,
            AtModeSetting::Plain => Some(AtMode::Plain),
            AtModeSetting::Shell => Some(AtMode::Shell),
        };
        if let Some(path) = ca_file {
            let unusable = |why: String| SetupError::ModemCa { path: path.display().to_string(), why };
            let text = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
            let (_, pem) = x509_parser::pem::parse_x509_pem(&text).map_err(|e| unusable(e.to_string()))?;
            let der = pem.contents;
            x509_parser::parse_x509_certificate(&der).map_err(|e| unusable(format!("not a certificate: {e}")))?;
            options.broker_ca = Some(der);
        }
        Ok(ModemTarget { port, options })
    }
}

/// Opens the modem's line (115200 baud, RTS/CTS), as the `connect` step.
pub(crate) fn connect_modem(port: &PortName) -> Result<tokio_serial::SerialStream, Failure> {
    open_modem(port).map_err(|e| {
        Failure::new(
            FailureCode::PortOpenFailed,
            format!(
                "Cannot open the modem's serial port {port}: no modem answers there, or another program (a \
                 terminal, Nordic's tools, another station) has it open."
            ),
            "Check the cable, then run the modem again.",
        )
        .with_detail(e.to_string())
    })
}
