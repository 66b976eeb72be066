import { afterEach, describe, expect, it } from "vitest";
import { setLanguage } from "../src/i18n";
import { startupNotes } from "../src/startup";
import type { StartupReport } from "../src/bindings/StartupReport";

const quiet: StartupReport = { ca_created: false, interrupted: [], crl: { state: "up_to_date" }, slots: [] };

describe("start-up report", () => {
  afterEach(() => setLanguage("en"));

  it("says nothing when start-up found nothing", () => {
    expect(startupNotes(quiet)).toEqual([]);
    expect(startupNotes(null)).toEqual([]);
  });

  it("names the board to run again and the slot it was in", () => {
    const notes = startupNotes({
      ...quiet,
      interrupted: [
        { run_id: "r1", slot: "A", port: "/dev/ttyUSB0", uid: "HM-0042", hardware_id: "0a0b", step: "keygen" },
        { run_id: "r2", slot: null, port: "/dev/ttyUSB1", uid: null, hardware_id: "0c0d", step: "identify" },
      ],
    });
    expect(notes).toHaveLength(2);
    expect(notes[0]).toContain("run board HM-0042 in slot A again");
    expect(notes[1]).toContain("the board with hardware id 0c0d");
    setLanguage("de");
    expect(startupNotes({ ...quiet, interrupted: [{ run_id: "r1", slot: "A", port: "p", uid: "HM-0042", hardware_id: null, step: null }] })[0])
      .toContain("Platine HM-0042 in Platz A erneut starten");
  });

  it("reports a CRL published at start, or one that failed", () => {
    expect(startupNotes({ ...quiet, crl: { state: "published", number: 3, revoked: 2, path: "/x/crl.pem" } })[0]).toContain("CRL #3");
    expect(startupNotes({ ...quiet, crl: { state: "failed", detail: "disk full" } })[0]).toContain("disk full");
  });
});
