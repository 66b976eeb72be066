import { describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", () => ({ invoke: vi.fn(async () => null) }));
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn() }));

import { OperatorScreen } from "../src/operator";
import type { StationView } from "../src/bindings/StationView";

const station: StationView = {
  station_id: "bench-1", demo: true, config_origin: "embedded", data_dir: "/tmp/d", error: null, kiosk: false, startup: null, fleet: false,
  slots: [
    { name: "A", link: "/dev/pts/1", state: "connected", auto_start: false },
    { name: "B", link: "/dev/pts/2", state: "connected", auto_start: false },
  ],
};
const run = (uid: string) => ({
  run_id: uid, outcome: "PASS", slot: "A", uid, operator: null, started_at: null, failure: null,
  failing_step: null, steps: [], label_pdf: null, cert_serial: null, station: null,
});

describe("operator screen, several slots", () => {
  it("updates a running slot without replacing the other slots' Start buttons or the manual entry", () => {
    const root = document.createElement("div");
    const screen = new OperatorScreen(station, root);
    screen.render();
    const startB = root.querySelector("#start-B");
    const tileA = root.querySelector("#tile-A");
    const manual = root.querySelector("#manual-entry") as HTMLInputElement;
    manual.value = "UID-HALF";
    manual.dispatchEvent(new Event("input"));

    for (let index = 1; index <= 10; index++) screen.onEvent({ kind: "step", slot: "A", step: "csr", index, total: 10 });
    screen.onEvent({ kind: "finished", slot: "A", run: run("UID1") });

    expect(root.querySelector("#tile-A")).not.toBe(tileA);
    expect(root.querySelector("#tile-A")?.getAttribute("data-state")).toBe("pass");
    expect(root.querySelector("#counters")?.textContent).toContain("1");
    expect(root.querySelector("#start-B")).toBe(startB);
    expect(root.querySelector("#manual-entry")).toBe(manual);
    expect(manual.value).toBe("UID-HALF");
    // A full rebuild (another tab and back) keeps what was typed, too.
    screen.render();
    expect((root.querySelector("#manual-entry") as HTMLInputElement).value).toBe("UID-HALF");
  });
});
