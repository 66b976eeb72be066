import { describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", () => ({ invoke: vi.fn() }));
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn() }));

import { gutterLines, lineRange } from "../src/engineer";
import { blankSlot, ConfigForm, setTransport, transportOf } from "../src/config-form";
import { applyEvent, type Tile } from "../src/tiles";
import type { ConfigView } from "../src/bindings/ConfigView";

describe("template editor", () => {
  it("marks the lines of the elements at fault in the gutter", () => {
    const text = "width_mm = 50\n[[element]]\nkind = \"text\"\n[[element]]\nkind = \"qr\"";
    const lines = gutterLines(text, [{ element: 2, line: 4, message: "element #2 (qr): does not fit" }, { element: null, line: null, message: "label: x" }]);
    expect(lines).toHaveLength(5);
    expect(lines.filter((l) => l.bad).map((l) => l.line)).toEqual([4]);
  });

  it("selects a whole line to jump to a problem", () => {
    const text = "ab\ncde\nf";
    expect(lineRange(text, 2)).toEqual([3, 6]);
    expect(text.slice(...lineRange(text, 3))).toBe("f");
  });
});

const view: ConfigView = {
  origin: "demo", file: "/tmp/station.toml", hash: "ab".repeat(32),
  edit: {
    station_id: "bench-1",
    slots: [{ name: "A", port: "/dev/pts/3", probe: "", chip: "", flash: "", allow_erase_all: false, auto_start: false, dialect: "hallmark", sec_tag: null, ca_file: "", at_mode: "auto", hardware_id: "imei" }],
    uid: { scheme: "hardware-id", prefix: "", date: "", width: 6, check: "none" },
    reprovision: "refuse",
    selftest: { mode: "auto", broker_address: "", broker_server_name: "", broker_timeout_ms: 5000 },
    printer: { kind: "none", path: "", format: "pdf", address: "", queue: "", server: "", timeout_ms: 5000 },
    label_template: "",
  },
};

describe("configuration form", () => {
  it("names new slots after the free letters and keeps a slot to one transport", () => {
    expect(blankSlot(view.edit.slots).name).toBe("B");
    const probe = setTransport({ ...view.edit.slots[0] }, "probe");
    expect(probe.port).toBe("");
    const serial = setTransport({ ...probe, probe: "0d28:0204", chip: "nRF52840_xxAA" }, "serial");
    expect([serial.probe, serial.chip]).toEqual(["", ""]);
    const modem = setTransport({ ...serial, auto_start: true }, "modem");
    expect([modem.dialect, modem.auto_start, transportOf(modem)]).toEqual(["nrf91-at", false, "modem"]);
    const back = setTransport({ ...modem, sec_tag: 42, ca_file: "ca.pem" }, "serial");
    expect([back.dialect, back.sec_tag, back.ca_file, transportOf(back)]).toEqual(["hallmark", null, "", "serial"]);
  });

  it("shows a modem slot with its sec tag and keeps what the form does not show", () => {
    const root = document.createElement("div");
    const form = new ConfigForm(root, () => true, () => {});
    form.view = view;
    form.edit = structuredClone(view.edit);
    form.edit.slots.push({ name: "M", port: "/dev/ttyACM0", probe: "", chip: "", flash: "", allow_erase_all: false, auto_start: false, dialect: "nrf91-at", sec_tag: 42, ca_file: "broker-ca.pem", at_mode: "shell", hardware_id: "uuid" });
    form.render();
    // The option marked selected (the test DOM computes <select>.value from the first options appended).
    expect(root.querySelector<HTMLOptionElement>("#slot-1-transport option[selected]")!.value).toBe("modem");
    const tag = root.querySelector<HTMLInputElement>("#slot-1-sec-tag")!;
    expect(tag.value).toBe("42");
    tag.value = "7";
    tag.dispatchEvent(new Event("input"));
    expect(form.edit.slots[1]).toMatchObject({ sec_tag: 7, ca_file: "broker-ca.pem", at_mode: "shell", hardware_id: "uuid", dialect: "nrf91-at" });
    expect(root.querySelector("#slot-1-auto")).toBeNull();
  });

  it("is read-only until the engineer role is unlocked, and shows broker fields only in broker mode", () => {
    const root = document.createElement("div");
    let unlocked = false;
    const form = new ConfigForm(root, () => unlocked, () => {});
    form.view = view;
    form.edit = structuredClone(view.edit);
    form.render();
    expect(root.querySelector<HTMLFieldSetElement>("fieldset.plain")!.disabled).toBe(true);
    expect(root.querySelector("#selftest-broker")).toBeNull();
    unlocked = true;
    form.edit.selftest.mode = "broker";
    form.render();
    expect(root.querySelector<HTMLFieldSetElement>("fieldset.plain")!.disabled).toBe(false);
    expect(root.querySelector("#selftest-broker")).not.toBeNull();
    (root.querySelector("#slot-add") as HTMLButtonElement).click();
    expect(form.edit.slots.map((s) => s.name)).toEqual(["A", "B"]);
    expect(root.querySelectorAll("#config-slots tbody tr")).toHaveLength(2);
  });
});

describe("auto-start tiles", () => {
  it("clear the last result when the slot waits for the next board", () => {
    const tiles: Tile[] = [{ slot: "A", link: "/dev/pts/1", state: "fail", fixture: "connected", uid: "X", failure: { code: "CSR_INVALID", what: "w", todo: "t", detail: null } }];
    const s = applyEvent(tiles, { passed: 0, failed: 1 }, { kind: "waiting", slot: "A" });
    expect(s.tiles[0]).toMatchObject({ state: "waiting", uid: null, failure: null });
    expect(s.counters).toEqual({ passed: 0, failed: 1 });
  });
});
