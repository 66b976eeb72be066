//! Editing a configuration from a form (the engineer screen): the settings a line
//! engineer changes, written back into the TOML text with `toml_edit` so the file
//! keeps its comments and layout. The edited text is then parsed by the one parser
//! ([`crate::LoadedConfig::parse`]), so a form can never save what a file could not
//! say.

use crate::{
    CheckCharacter, ConfigError, PrinterSection, ReprovisionPolicy, SelftestMode, SlotConfig, StationConfig, UidScheme,
};
use serde::{Deserialize, Serialize};
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

/// The editable settings, as plain values (enums as their TOML names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConfigEdit {
    /// `[station] id`.
    pub station_id: String,
    /// `[[slot]]`, in order.
    pub slots: Vec<SlotEdit>,
    /// `[uid]`.
    pub uid: UidEdit,
    /// `[reprovision] policy`: `refuse` or `reissue`.
    pub reprovision: String,
    /// `[selftest]`.
    pub selftest: SelftestEdit,
    /// `[label.printer]`.
    pub printer: PrinterEdit,
    /// `[label] template`: the template file (empty: the embedded default).
    pub label_template: String,
}

/// One fixture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SlotEdit {
    /// Nickname.
    pub name: String,
    /// Serial port (empty for a probe slot).
    pub port: String,
    /// Debug probe selector (empty for a serial slot).
    pub probe: String,
    /// probe-rs chip name (probe slots).
    pub chip: String,
    /// Image to flash first (probe slots; empty for none).
    pub flash: String,
    /// Permit chip erase and unlocking.
    pub allow_erase_all: bool,
    /// Start when a board answers.
    pub auto_start: bool,
    /// `hallmark` or `nrf91-at`.
    pub dialect: String,
    /// The modem's sec tag (`nrf91-at`).
    pub sec_tag: Option<u32>,
    /// CA certificate file for the modem's broker (`nrf91-at`; empty for the station's root).
    pub ca_file: String,
    /// `auto`, `plain` or `shell` (`nrf91-at`).
    pub at_mode: String,
    /// `imei` or `uuid` (`nrf91-at`).
    pub hardware_id: String,
}

/// The UID scheme.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UidEdit {
    /// `hardware-id`, `sequence` or `scanned`.
    pub scheme: String,
    /// Prefix (hardware-id, sequence).
    pub prefix: String,
    /// Date part (sequence).
    pub date: String,
    /// Counter digits (sequence).
    pub width: u8,
    /// `none`, `luhn-mod36` or `iso7064-mod37-36` (sequence, scanned).
    pub check: String,
}

/// The self-test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SelftestEdit {
    /// `auto`, `link`, `possession` or `broker`.
    pub mode: String,
    /// Broker `host:port` (broker mode; empty for none).
    pub broker_address: String,
    /// Name in the broker's certificate (empty: the host).
    pub broker_server_name: String,
    /// Broker deadline, ms.
    pub broker_timeout_ms: u32,
}

/// The printer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrinterEdit {
    /// `none` (PDF archive only), `folder`, `zpl-tcp` or `cups`.
    pub kind: String,
    /// Folder (folder).
    pub path: String,
    /// `pdf`, `zpl` or `png` (folder).
    pub format: String,
    /// `host:port` (zpl-tcp).
    pub address: String,
    /// Queue (cups).
    pub queue: String,
    /// CUPS server (cups; empty: the local scheduler).
    pub server: String,
    /// Deadline, ms (zpl-tcp, cups).
    pub timeout_ms: u32,
}

const DEFAULT_PRINTER_TIMEOUT_MS: u32 = 5000;
const DEFAULT_BROKER_TIMEOUT_MS: u32 = 5000;

impl ConfigEdit {
    /// The form's values for a configuration.
    pub fn from_config(c: &StationConfig) -> ConfigEdit {
        ConfigEdit {
            station_id: c.station.id.clone(),
            slots: c.slot.iter().map(slot_edit).collect(),
            uid: uid_edit(&c.uid),
            reprovision: match c.reprovision.policy {
                ReprovisionPolicy::Refuse => "refuse",
                ReprovisionPolicy::Reissue => "reissue",
            }
            .into(),
            selftest: SelftestEdit {
                mode: match c.selftest.mode {
                    SelftestMode::Auto => "auto",
                    SelftestMode::Link => "link",
                    SelftestMode::Possession => "possession",
                    SelftestMode::Broker => "broker",
                }
                .into(),
                broker_address: c.selftest.broker.as_ref().map(|b| b.address.clone()).unwrap_or_default(),
                broker_server_name: c.selftest.broker.as_ref().and_then(|b| b.server_name.clone()).unwrap_or_default(),
                broker_timeout_ms: c.selftest.broker.as_ref().map_or(DEFAULT_BROKER_TIMEOUT_MS, |b| b.timeout_ms),
            },
            printer: printer_edit(c.label.printer.as_ref()),
            label_template: c.label.template.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        }
    }

    /// What differs from `before`, one `path: old → new` line per setting.
    pub fn changes_from(&self, before: &ConfigEdit) -> Vec<String> {
        let (a, b) = (serde_json::to_value(before), serde_json::to_value(self));
        let mut out = Vec::new();
        if let (Ok(a), Ok(b)) = (a, b) {
            diff("", &a, &b, &mut out);
        }
        out
    }
}

fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in y {
                diff(&join(k), x.get(k).unwrap_or(&Value::Null), v, out);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(u), Some(v)) => diff(&p, u, v, out),
                    (None, Some(v)) => out.push(format!("{p}: added {v}")),
                    (Some(u), None) => out.push(format!("{p}: removed {u}")),
                    (None, None) => {}
                }
            }
        }
        (x, y) if x != y => out.push(format!("{path}: {x} → {y}")),
        _ => {}
    }
}

fn slot_edit(s: &SlotConfig) -> SlotEdit {
    SlotEdit {
        name: s.name.clone(),
        port: s.port.clone(),
        probe: s.probe.clone().unwrap_or_default(),
        chip: s.chip.clone().unwrap_or_default(),
        flash: s.flash.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        allow_erase_all: s.allow_erase_all,
        auto_start: s.auto_start,
        dialect: s.dialect.name().into(),
        sec_tag: s.sec_tag,
        ca_file: s.ca_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        at_mode: s.at_mode.name().into(),
        hardware_id: s.hardware_id.name().into(),
    }
}

fn check_name(c: CheckCharacter) -> &'static str {
    match c {
        CheckCharacter::None => "none",
        CheckCharacter::LuhnMod36 => "luhn-mod36",
        CheckCharacter::Iso7064Mod3736 => "iso7064-mod37-36",
    }
}

fn uid_edit(u: &UidScheme) -> UidEdit {
    let blank =
        UidEdit { scheme: String::new(), prefix: String::new(), date: String::new(), width: 6, check: "none".into() };
    match u {
        UidScheme::HardwareId { prefix } => UidEdit { scheme: "hardware-id".into(), prefix: prefix.clone(), ..blank },
        UidScheme::Sequence { prefix, date, width, check } => UidEdit {
            scheme: "sequence".into(),
            prefix: prefix.clone(),
            date: date.clone(),
            width: *width,
            check: check_name(*check).into(),
        },
        UidScheme::Scanned { check } => UidEdit { scheme: "scanned".into(), check: check_name(*check).into(), ..blank },
    }
}

fn printer_edit(p: Option<&PrinterSection>) -> PrinterEdit {
    let blank = PrinterEdit {
        kind: "none".into(),
        path: String::new(),
        format: "pdf".into(),
        address: String::new(),
        queue: String::new(),
        server: String::new(),
        timeout_ms: DEFAULT_PRINTER_TIMEOUT_MS,
    };
    match p {
        None => blank,
        Some(PrinterSection::Folder { path, format }) => {
            PrinterEdit { kind: "folder".into(), path: path.display().to_string(), format: format.clone(), ..blank }
        }
        Some(PrinterSection::ZplTcp { address, timeout_ms }) => {
            PrinterEdit { kind: "zpl-tcp".into(), address: address.clone(), timeout_ms: *timeout_ms, ..blank }
        }
        Some(PrinterSection::Cups { queue, server, timeout_ms, .. }) => PrinterEdit {
            kind: "cups".into(),
            queue: queue.clone(),
            server: server.clone().unwrap_or_default(),
            timeout_ms: *timeout_ms,
            ..blank
        },
    }
}

/// Writes `edit` into the configuration `text`, keeping everything else (comments,
/// other sections) as it was. The result still has to pass [`crate::LoadedConfig::parse`].
pub fn apply_edit(text: &str, origin: &str, edit: &ConfigEdit) -> Result<String, ConfigError> {
    let mut doc: DocumentMut =
        text.parse().map_err(|e| ConfigError::Invalid { origin: origin.to_string(), message: format!("{e}") })?;
    table(&mut doc, "station")["id"] = value(edit.station_id.trim());

    let mut slots = ArrayOfTables::new();
    for s in &edit.slots {
        let mut t = Table::new();
        t["name"] = value(s.name.trim());
        set_text(&mut t, "port", &s.port);
        set_text(&mut t, "probe", &s.probe);
        set_text(&mut t, "chip", &s.chip);
        set_text(&mut t, "flash", &s.flash);
        if s.allow_erase_all {
            t["allow_erase_all"] = value(true);
        }
        t["auto_start"] = value(s.auto_start);
        // The default dialect is not written, so files without modems stay as they were.
        if !matches!(s.dialect.trim(), "" | "hallmark") {
            t["dialect"] = value(s.dialect.trim());
        }
        if let Some(tag) = s.sec_tag {
            t["sec_tag"] = value(i64::from(tag));
        }
        set_text(&mut t, "ca_file", &s.ca_file);
        if !matches!(s.at_mode.trim(), "" | "auto") {
            t["at_mode"] = value(s.at_mode.trim());
        }
        if !matches!(s.hardware_id.trim(), "" | "imei") {
            t["hardware_id"] = value(s.hardware_id.trim());
        }
        slots.push(t);
    }
    replace_keeping_place(&mut doc, "slot", slots);

    let uid = table(&mut doc, "uid");
    uid.clear();
    uid["scheme"] = value(edit.uid.scheme.trim());
    match edit.uid.scheme.trim() {
        "hardware-id" => uid["prefix"] = value(edit.uid.prefix.trim()),
        "sequence" => {
            uid["prefix"] = value(edit.uid.prefix.trim());
            uid["date"] = value(edit.uid.date.trim());
            uid["width"] = value(i64::from(edit.uid.width));
            uid["check"] = value(edit.uid.check.trim());
        }
        // "scanned", or a typo the parser will name.
        _ => uid["check"] = value(edit.uid.check.trim()),
    }

    table(&mut doc, "reprovision")["policy"] = value(edit.reprovision.trim());

    let selftest = table(&mut doc, "selftest");
    selftest["mode"] = value(edit.selftest.mode.trim());
    if edit.selftest.broker_address.trim().is_empty() {
        selftest.remove("broker");
    } else {
        let mut b = Table::new();
        b["address"] = value(edit.selftest.broker_address.trim());
        set_text(&mut b, "server_name", &edit.selftest.broker_server_name);
        b["timeout_ms"] = value(i64::from(edit.selftest.broker_timeout_ms));
        selftest.insert("broker", Item::Table(b));
    }

    let label = table(&mut doc, "label");
    set_text(label, "template", &edit.label_template);
    let p = &edit.printer;
    if p.kind.trim() == "none" || p.kind.trim().is_empty() {
        label.remove("printer");
    } else {
        let mut t = Table::new();
        t["kind"] = value(p.kind.trim());
        match p.kind.trim() {
            "folder" => {
                t["path"] = value(p.path.trim());
                t["format"] = value(p.format.trim());
            }
            "zpl-tcp" => {
                t["address"] = value(p.address.trim());
                t["timeout_ms"] = value(i64::from(p.timeout_ms));
            }
            "cups" => {
                t["queue"] = value(p.queue.trim());
                set_text(&mut t, "server", &p.server);
                t["timeout_ms"] = value(i64::from(p.timeout_ms));
            }
            _ => {}
        }
        label.insert("printer", Item::Table(t));
    }
    Ok(doc.to_string())
}

/// The table `key`, created if the file had none.
fn table<'d>(doc: &'d mut DocumentMut, key: &str) -> &'d mut Table {
    if !doc.contains_table(key) {
        doc.insert(key, Item::Table(Table::new()));
    }
    // Just ensured to be a table; `Item::Table` has no other shape.
    doc[key].as_table_mut().expect("a table was just ensured")
}

/// Sets `key` to `text`, or removes it when `text` is blank (optional settings).
fn set_text(t: &mut Table, key: &str, text: &str) {
    if text.trim().is_empty() {
        t.remove(key);
    } else {
        t[key] = value(text.trim());
    }
}

/// Replaces an array of tables where the old one stood, keeping the comment above it.
fn replace_keeping_place(doc: &mut DocumentMut, key: &str, mut new: ArrayOfTables) {
    if let Some(old) = doc.get(key).and_then(Item::as_array_of_tables) {
        let first = old.iter().next().map(|t| (t.position(), t.decor().clone()));
        if let Some((position, decor)) = first {
            for (i, t) in new.iter_mut().enumerate() {
                if let Some(p) = position {
                    t.set_position(Some(p + i as isize));
                }
                if i == 0 {
                    *t.decor_mut() = decor.clone();
                }
            }
        }
    }
    doc.insert(key, Item::ArrayOfTables(new));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AtModeSetting, DialectKind, LoadedConfig, EXAMPLE};

    fn edited(f: impl FnOnce(&mut ConfigEdit)) -> Result<LoadedConfig, ConfigError> {
        let mut e = ConfigEdit::from_config(&LoadedConfig::embedded_default().config);
        f(&mut e);
        LoadedConfig::parse(&apply_edit(EXAMPLE, "t", &e)?, "t")
    }

    #[test]
    fn an_unchanged_form_round_trips_and_keeps_the_comments() {
        let before = LoadedConfig::embedded_default();
        let e = ConfigEdit::from_config(&before.config);
        let text = apply_edit(EXAMPLE, "t", &e).unwrap();
        let after = LoadedConfig::parse(&text, "t").unwrap();
        assert_eq!(ConfigEdit::from_config(&after.config), e);
        assert!(text.contains("# How a board gets its UID"), "{text}");
        assert!(text.contains("# Fixtures on this station."), "{text}");
        assert!(e.changes_from(&e).is_empty());
    }

    #[test]
    fn slots_uid_selftest_policy_and_printer_are_written() {
        let c = edited(|e| {
            e.slots.push(SlotEdit {
                name: "C".into(),
                port: String::new(),
                probe: "0d28:0204".into(),
                chip: "nRF52840_xxAA".into(),
                flash: String::new(),
                allow_erase_all: false,
                auto_start: true,
                dialect: "hallmark".into(),
                sec_tag: None,
                ca_file: String::new(),
                at_mode: "auto".into(),
                hardware_id: "imei".into(),
            });
            e.slots.push(SlotEdit {
                name: "M".into(),
                port: "/dev/ttyACM0".into(),
                probe: String::new(),
                chip: String::new(),
                flash: String::new(),
                allow_erase_all: false,
                auto_start: false,
                dialect: "nrf91-at".into(),
                sec_tag: Some(42),
                ca_file: "broker-ca.pem".into(),
                at_mode: "shell".into(),
                hardware_id: "uuid".into(),
            });
            e.slots.remove(0);
            e.uid = UidEdit {
                scheme: "sequence".into(),
                prefix: "HM-".into(),
                date: "YYMM".into(),
                width: 6,
                check: "iso7064-mod37-36".into(),
            };
            e.reprovision = "reissue".into();
            e.selftest.mode = "broker".into();
            e.selftest.broker_address = "127.0.0.1:8883".into();
            e.printer.kind = "folder".into();
            e.printer.path = "print-queue".into();
            e.printer.format = "zpl".into();
        })
        .unwrap()
        .config;
        let names: Vec<_> = c.slot.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["B", "C", "M"]);
        assert_eq!(c.slot[1].probe.as_deref(), Some("0d28:0204"));
        assert!(c.slot[1].auto_start);
        assert_eq!(c.slot[1].dialect, DialectKind::Hallmark);
        let modem = &c.slot[2];
        assert_eq!(
            (modem.dialect, modem.sec_tag, modem.at_mode),
            (DialectKind::Nrf91At, Some(42), AtModeSetting::Shell)
        );
        assert_eq!(modem.ca_file.as_deref(), Some(std::path::Path::new("broker-ca.pem")));
        // And back: the form shows what the file says.
        let back = ConfigEdit::from_config(&c);
        assert_eq!((back.slots[2].dialect.as_str(), back.slots[2].sec_tag), ("nrf91-at", Some(42)));
        assert_eq!(back.slots[2].hardware_id, "uuid");
        assert!(matches!(c.uid, UidScheme::Sequence { width: 6, check: CheckCharacter::Iso7064Mod3736, .. }));
        assert_eq!(c.reprovision.policy, ReprovisionPolicy::Reissue);
        assert_eq!(c.selftest.mode, SelftestMode::Broker);
        assert_eq!(c.selftest.broker.unwrap().address, "127.0.0.1:8883");
        assert!(matches!(c.label.printer, Some(PrinterSection::Folder { ref format, .. }) if format == "zpl"));
    }

    #[test]
    fn invalid_values_are_refused_by_the_parser_with_its_message() {
        let e = edited(|e| e.reprovision = "sometimes".into()).unwrap_err().to_string();
        assert!(e.contains("sometimes") && e.contains("refuse"), "{e}");
        let e = edited(|e| {
            e.selftest.mode = "broker".into();
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("[selftest.broker]"), "{e}");
        let e = edited(|e| e.slots[1].name = "A".into()).unwrap_err().to_string();
        assert!(e.contains("slot"), "{e}");
        let e = edited(|e| e.printer.kind = "telepathy".into()).unwrap_err().to_string();
        assert!(e.contains("telepathy"), "{e}");
    }

    #[test]
    fn changes_name_each_setting() {
        let before = ConfigEdit::from_config(&LoadedConfig::embedded_default().config);
        let mut after = before.clone();
        after.reprovision = "reissue".into();
        after.slots[0].auto_start = true;
        after.slots.pop();
        let c = after.changes_from(&before);
        assert!(c.contains(&"reprovision: \"refuse\" → \"reissue\"".to_string()), "{c:?}");
        assert!(c.contains(&"slots[0].auto_start: false → true".to_string()), "{c:?}");
        assert!(c.iter().any(|l| l.starts_with("slots[1]: removed")), "{c:?}");
    }
}
