import { describe, expect, it } from "vitest";
import { applyEvent, applyLinks, canStart, yieldText, type Tile } from "../src/tiles";
import type { ApiError } from "../src/bindings/ApiError";

const idle: Tile[] = [{ slot: "A", link: "/dev/pts/1", state: "idle", fixture: "connected" }, { slot: "B", link: "/dev/pts/2", state: "idle", fixture: "connected" }];
const run = (outcome: string, failure: ApiError | null = null) => ({
  run_id: "r1", outcome, slot: "A", uid: "UID1", operator: null, started_at: null, failure,
  failing_step: failure ? "csr" : null, steps: [], label_pdf: null, cert_serial: null, station: null,
});

describe("slot tiles", () => {
  it("show progress, then PASS, and count the shift", () => {
    let s = applyEvent(idle, { passed: 0, failed: 0 }, { kind: "step", slot: "A", step: "keygen", index: 3, total: 10 });
    expect(s.tiles[0]).toMatchObject({ state: "running", step: "keygen", index: 3 });
    expect(s.tiles[1].state).toBe("idle");
    s = applyEvent(s.tiles, s.counters, { kind: "finished", slot: "A", run: run("PASS") });
    expect(s.tiles[0]).toMatchObject({ state: "pass", uid: "UID1" });
    expect(s.counters).toEqual({ passed: 1, failed: 0 });
    expect(yieldText(s.counters)).toBe("100 %");
  });

  it("show FAIL with the reason", () => {
    const failure: ApiError = { code: "CSR_SIGNATURE_INVALID", what: "The CSR signature is wrong.", todo: "Set the board aside for engineering.", detail: null };
    const s = applyEvent(idle, { passed: 1, failed: 0 }, { kind: "finished", slot: "A", run: run("FAIL", failure) });
    expect(s.tiles[0]).toMatchObject({ state: "fail", failingStep: "csr" });
    expect(s.tiles[0].failure).toEqual(failure);
    expect(yieldText(s.counters)).toBe("50 %");
  });

  it("turn a start error into FAIL", () => {
    const s = applyEvent(idle, { passed: 0, failed: 0 }, { kind: "error", slot: "B", error: { code: "BUSY", what: "This slot is running.", todo: "Wait for its result.", detail: null } });
    expect(s.tiles[1]).toMatchObject({ state: "fail" });
    expect(s.counters.failed).toBe(0);
  });
});

describe("fixture links", () => {
  const tiles: Tile[] = [
    { slot: "A", link: "/dev/ttyUSB0", state: "idle", fixture: "connected" },
    { slot: "B", link: "/dev/ttyUSB1", state: "pass", fixture: "connected", uid: "U1" },
  ];

  it("a vanished port means no fixture and no Start; the run state is kept", () => {
    const next = applyLinks(tiles, [
      { slot: "A", link: "/dev/ttyUSB0", state: "connected" },
      { slot: "B", link: "/dev/ttyUSB1", state: "no_fixture" },
    ]);
    expect(next[0]).toBe(tiles[0]);
    expect(next[1]).toMatchObject({ fixture: "no_fixture", state: "pass", uid: "U1" });
    expect(canStart(next[0])).toBe(true);
    expect(canStart(next[1])).toBe(false);
  });

  it("a fixture that comes back can start again; a running slot never starts twice", () => {
    const gone = applyLinks(tiles, [{ slot: "A", link: "/dev/ttyUSB0", state: "no_fixture" }]);
    expect(canStart(gone[0])).toBe(false);
    const back = applyLinks(gone, [{ slot: "A", link: "/dev/ttyUSB0", state: "connected" }]);
    expect(canStart(back[0])).toBe(true);
    expect(canStart({ ...back[0], state: "running" })).toBe(false);
  });
});
