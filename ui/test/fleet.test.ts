import { describe, expect, it } from "vitest";
import { fleetLine } from "../src/fleet";
import { setLanguage } from "../src/i18n";
import type { FleetView } from "../src/bindings/FleetView";

const now = new Date("2026-12-03T12:00:00Z");
const view = (over: Partial<FleetView>): FleetView => ({
  connected: true, waiting: 0, last_sync: "2026-12-03T11:59:50Z", last_error: null, conflicts: 0, uid_numbers_left: null, ...over,
});

describe("the fleet line", () => {
  it("is absent without a fleet", () => {
    expect(fleetLine(null, now)).toBeNull();
  });

  it("says connected, waiting and the age of the last sync", () => {
    setLanguage("en");
    expect(fleetLine(view({}), now)).toEqual({ state: "ok", text: "Fleet: connected · 0 records waiting · last sync 10 s ago" });
  });

  it("says a bench is cut off, with its backlog, and that it keeps working", () => {
    setLanguage("en");
    const line = fleetLine(view({ connected: false, waiting: 412, last_sync: "2026-12-03T11:20:00Z", last_error: "cannot connect" }), now)!;
    expect(line.state).toBe("cut-off");
    expect(line.text).toContain("NOT CONNECTED");
    expect(line.text).toContain("provisioning continues");
    expect(line.text).toContain("412 records waiting");
    expect(line.text).toContain("40 min ago");
  });

  it("warns when few UID numbers are left or the fleet raised alarms", () => {
    setLanguage("en");
    expect(fleetLine(view({ uid_numbers_left: 7 }), now)).toMatchObject({ state: "warning" });
    expect(fleetLine(view({ uid_numbers_left: 7 }), now)!.text).toContain("7 UID numbers left");
    expect(fleetLine(view({ conflicts: 2 }), now)!.text).toContain("2 alarms");
    expect(fleetLine(view({ last_sync: null }), now)!.text).toContain("never synced");
  });

  it("speaks German too", () => {
    setLanguage("de");
    expect(fleetLine(view({ connected: false }), now)!.text).toContain("NICHT VERBUNDEN");
    setLanguage("en");
  });
});
