// The station configuration form (engineer screen): slots and their transports,
// UID scheme, self-test and broker, re-provisioning policy, printer. The station
// checks a change with the same parser as the file, then saves it, audits it and
// puts it in force between runs.

import { call, asApiError, errorLine, errorWords } from "./api";
import { h } from "./dom";
import { t } from "./i18n";
import { numberField, selectField, status, textField } from "./form";
import type { ConfigEdit } from "./bindings/ConfigEdit";
import type { ConfigView } from "./bindings/ConfigView";
import type { SlotEdit } from "./bindings/SlotEdit";

export function blankSlot(existing: SlotEdit[]): SlotEdit {
  const used = new Set(existing.map((s) => s.name));
  const name = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("").find((c) => !used.has(c)) ?? `S${existing.length + 1}`;
  return { name, port: "", probe: "", chip: "", flash: "", allow_erase_all: false, auto_start: false, dialect: "hallmark", sec_tag: null, ca_file: "", at_mode: "auto", hardware_id: "imei" };
}

export type Transport = "serial" | "probe" | "modem";

/** A slot's transport: a Hallmark board on a serial port, on a debug probe, or an nRF91 modem (AT). */
export function transportOf(slot: SlotEdit): Transport {
  if (slot.dialect === "nrf91-at") return "modem";
  return slot.probe !== "" || slot.chip !== "" ? "probe" : "serial";
}

/** Clears the fields the other transports use, so a slot is exactly one of them. */
export function setTransport(slot: SlotEdit, transport: Transport): SlotEdit {
  const hallmark = { dialect: "hallmark", sec_tag: null, ca_file: "", at_mode: "auto", hardware_id: "imei" };
  switch (transport) {
    case "serial": return { ...slot, ...hallmark, probe: "", chip: "", flash: "", allow_erase_all: false };
    case "probe": return { ...slot, ...hallmark, port: "" };
    case "modem": return { ...slot, probe: "", chip: "", flash: "", allow_erase_all: false, auto_start: false, dialect: "nrf91-at" };
  }
}

export class ConfigForm {
  view: ConfigView | null = null;
  edit: ConfigEdit | null = null;
  message: { ok?: string; error?: string } | null = null;
  /** The transport chosen for a slot row before its probe or port is typed. */
  private transports = new WeakMap<SlotEdit, Transport>();

  constructor(private root: HTMLElement, private unlocked: () => boolean, private saved: () => void) {}

  async load(): Promise<void> {
    try {
      this.view = await call("config_get", {});
      this.edit = structuredClone(this.view.edit);
    } catch (e) {
      this.message = { error: errorWords(asApiError(e)) };
    }
    this.render();
  }

  private async save(): Promise<void> {
    if (!this.edit) return;
    try {
      const before = this.view?.hash;
      this.view = await call("config_save", { edit: this.edit });
      this.edit = structuredClone(this.view.edit);
      this.message = { ok: t("eng.saved", { changes: before ? `${before.slice(0, 8)} → ${this.view.hash.slice(0, 8)}` : this.view.hash.slice(0, 8) }) };
      this.saved();
    } catch (e) {
      const err = asApiError(e);
      this.message = { error: errorLine(err) };
    }
    this.render();
  }

  render(): void {
    const e = this.edit;
    if (!e || !this.view) {
      this.root.replaceChildren(h("h2", {}, t("eng.config")), status("config-status", this.message) ?? "");
      return;
    }
    const again = () => this.render();
    const slots = h("table", { id: "config-slots", class: "slots" },
      h("thead", {}, h("tr", {}, ...[t("eng.slot.name"), t("eng.slot.transport"), t("eng.slot.port"), t("eng.slot.chip_or_tag"), t("eng.slot.auto"), ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, ...e.slots.map((s, i) => {
        const transport = this.transports.get(s) ?? transportOf(s);
        const probe = transport === "probe";
        const modem = transport === "modem";
        return h("tr", { "data-slot": s.name },
          h("td", {}, h("input", { id: `slot-${i}-name`, value: s.name, "aria-label": t("eng.slot.name"), oninput: (ev: Event) => (s.name = (ev.target as HTMLInputElement).value) })),
          h("td", {}, h("select", { id: `slot-${i}-transport`, "aria-label": t("eng.slot.transport"), onchange: (ev: Event) => {
            const transport = (ev.target as HTMLSelectElement).value as Transport;
            e.slots[i] = setTransport(s, transport);
            this.transports.set(e.slots[i], transport);
            again();
          } },
            h("option", { value: "serial", selected: transport === "serial" }, t("eng.slot.serial")), h("option", { value: "probe", selected: probe }, t("eng.slot.probe")),
            h("option", { value: "modem", selected: modem }, t("eng.slot.modem")))),
          h("td", {}, probe
            ? h("input", { id: `slot-${i}-probe`, value: s.probe, placeholder: "VID:PID[:SERIAL]", "aria-label": t("eng.slot.selector"), oninput: (ev: Event) => (s.probe = (ev.target as HTMLInputElement).value) })
            : h("input", { id: `slot-${i}-port`, value: s.port, placeholder: "/dev/ttyUSB0", "aria-label": t("eng.slot.port"), oninput: (ev: Event) => (s.port = (ev.target as HTMLInputElement).value) })),
          h("td", {}, probe
            ? h("input", { id: `slot-${i}-chip`, value: s.chip, placeholder: "nRF52840_xxAA", "aria-label": t("eng.slot.chip"), oninput: (ev: Event) => (s.chip = (ev.target as HTMLInputElement).value) })
            : modem
              ? h("input", { id: `slot-${i}-sec-tag`, type: "number", min: "0", max: "2147483647", value: s.sec_tag === null ? "" : String(s.sec_tag), placeholder: t("eng.slot.sec_tag"), "aria-label": t("eng.slot.sec_tag"), oninput: (ev: Event) => {
                const v = (ev.target as HTMLInputElement).value.trim();
                s.sec_tag = v === "" ? null : Number(v);
              } })
              : "—"),
          h("td", {}, modem ? "—" : h("input", { id: `slot-${i}-auto`, type: "checkbox", checked: s.auto_start, "aria-label": t("eng.slot.auto"), onchange: (ev: Event) => (s.auto_start = (ev.target as HTMLInputElement).checked) })),
          h("td", {}, h("button", { type: "button", class: "secondary", id: `slot-${i}-remove`, onclick: () => { e.slots.splice(i, 1); again(); } }, t("eng.slot.remove"))));
      })));
    const u = e.uid;
    const uid = h("fieldset", {}, h("legend", {}, t("eng.uid_scheme")),
      selectField("uid-scheme", t("eng.uid_scheme"), u.scheme, [["hardware-id", "hardware-id"], ["sequence", "sequence"], ["scanned", "scanned"]], (v) => { u.scheme = v; again(); }),
      u.scheme !== "scanned" ? textField("uid-prefix", t("eng.uid.prefix"), u.prefix, (v) => (u.prefix = v)) : null,
      u.scheme === "sequence" ? textField("uid-date", t("eng.uid.date"), u.date, (v) => (u.date = v), { placeholder: "YYMM" }) : null,
      u.scheme === "sequence" ? numberField("uid-width", t("eng.uid.width"), u.width, (v) => (u.width = v)) : null,
      u.scheme !== "hardware-id" ? selectField("uid-check", t("eng.uid.check"), u.check, [["none", "none"], ["luhn-mod36", "Luhn mod 36"], ["iso7064-mod37-36", "ISO 7064 MOD 37,36"]], (v) => (u.check = v)) : null);
    const st = e.selftest;
    const selftest = h("fieldset", {}, h("legend", {}, t("eng.selftest")),
      selectField("selftest-mode", t("eng.selftest.mode"), st.mode, [["auto", "auto"], ["link", "link"], ["possession", "possession"], ["broker", "broker (MQTT)"]], (v) => { st.mode = v; again(); }),
      st.mode === "broker" ? textField("selftest-broker", t("eng.selftest.broker"), st.broker_address, (v) => (st.broker_address = v), { placeholder: "127.0.0.1:8883" }) : null,
      st.mode === "broker" ? textField("selftest-server-name", t("eng.selftest.server_name"), st.broker_server_name, (v) => (st.broker_server_name = v)) : null,
      st.mode === "broker" ? numberField("selftest-timeout", t("eng.selftest.timeout"), st.broker_timeout_ms, (v) => (st.broker_timeout_ms = v)) : null);
    const p = e.printer;
    const printer = h("fieldset", {}, h("legend", {}, t("eng.printer")),
      selectField("printer-kind", t("eng.printer.kind"), p.kind, [["none", t("eng.printer.none")], ["folder", "folder"], ["zpl-tcp", "ZPL over TCP"], ["cups", "CUPS"]], (v) => { p.kind = v; again(); }),
      p.kind === "folder" ? textField("printer-path", t("eng.printer.path"), p.path, (v) => (p.path = v), { placeholder: "print-queue" }) : null,
      p.kind === "folder" ? selectField("printer-format", t("eng.printer.format"), p.format, [["pdf", "PDF"], ["zpl", "ZPL"], ["png", "PNG"]], (v) => (p.format = v)) : null,
      p.kind === "zpl-tcp" ? textField("printer-address", t("eng.printer.address"), p.address, (v) => (p.address = v), { placeholder: "10.0.0.20:9100" }) : null,
      p.kind === "cups" ? textField("printer-queue", t("eng.printer.queue"), p.queue, (v) => (p.queue = v)) : null,
      p.kind === "cups" ? textField("printer-server", t("eng.printer.server"), p.server, (v) => (p.server = v), { placeholder: "127.0.0.1:631" }) : null);
    const form = h("form", { id: "config-form", onsubmit: (ev: Event) => { ev.preventDefault(); this.save(); } },
      h("fieldset", { disabled: !this.unlocked(), class: "plain" },
        textField("config-station-id", t("eng.station_id"), e.station_id, (v) => (e.station_id = v)),
        h("h3", {}, t("eng.slots")), slots,
        h("button", { type: "button", class: "secondary", id: "slot-add", onclick: () => { e.slots.push(blankSlot(e.slots)); again(); } }, t("eng.slot.add")),
        h("div", { class: "config-groups" }, uid, selftest, printer,
          h("fieldset", {},
            selectField("reprovision", t("eng.reprovision"), e.reprovision, [["refuse", "refuse"], ["reissue", "reissue"]], (v) => (e.reprovision = v)))),
        h("button", { type: "submit", id: "config-save", class: "primary" }, t("eng.save"))),
      status("config-status", this.message));
    this.root.replaceChildren(h("h2", {}, t("eng.config")),
      h("p", { class: "small muted" }, t("eng.config.file", { file: this.view.file, hash: this.view.hash.slice(0, 16) })), form);
  }
}
