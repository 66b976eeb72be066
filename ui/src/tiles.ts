// Slot tile state: a pure reducer over run events, so the rendering is testable
// without a window.

import type { RunEvent } from "./bindings/RunEvent";
import type { ApiError } from "./bindings/ApiError";
import type { LinkState } from "./bindings/LinkState";
import type { SlotLink } from "./bindings/SlotLink";

export type Tile = {
  slot: string;
  link: string;
  /** Whether a fixture is connected on the slot's port (as last looked). */
  fixture: LinkState;
  state: "idle" | "waiting" | "running" | "pass" | "fail" | "interrupted";
  step?: string;
  index?: number;
  total?: number;
  uid?: string | null;
  failure?: ApiError | null;
  failingStep?: string | null;
  labelPdf?: string | null;
};

export type Counters = { passed: number; failed: number };

export function applyEvent(tiles: Tile[], counters: Counters, e: RunEvent): { tiles: Tile[]; counters: Counters } {
  const next = tiles.map((t) => {
    if (t.slot !== e.slot) return t;
    switch (e.kind) {
      case "step":
        return { ...t, state: "running" as const, step: e.step, index: e.index, total: e.total, failure: null };
      case "finished": {
        const state = e.run.outcome === "PASS" ? "pass" : e.run.outcome === "FAIL" ? "fail" : "interrupted";
        return {
          ...t,
          state: state as Tile["state"],
          uid: e.run.uid,
          failure: e.run.failure,
          failingStep: e.run.failing_step,
          labelPdf: e.run.label_pdf,
        };
      }
      case "waiting":
        // Auto-start: the board was taken out, the slot watches for the next one.
        return { ...t, state: "waiting" as const, step: undefined, uid: null, failure: null, failingStep: null, labelPdf: null };
      case "error":
        return { ...t, state: "fail" as const, failure: e.error, failingStep: null };
    }
  });
  let { passed, failed } = counters;
  if (e.kind === "finished") {
    if (e.run.outcome === "PASS") passed += 1;
    else failed += 1;
  }
  return { tiles: next, counters: { passed, failed } };
}

/** The links as last looked at: a tile whose port vanished says so (and offers no
 * Start); one whose fixture came back is ready again. Run state is kept. */
export function applyLinks(tiles: Tile[], links: SlotLink[]): Tile[] {
  const bySlot = new Map(links.map((l) => [l.slot, l]));
  return tiles.map((t) => {
    const l = bySlot.get(t.slot);
    return l && (l.state !== t.fixture || l.link !== t.link) ? { ...t, fixture: l.state, link: l.link } : t;
  });
}

/** A slot can start a run: not running, and a fixture (or a probe) is there. */
export function canStart(t: Tile): boolean {
  return t.state !== "running" && t.fixture !== "no_fixture";
}

export function yieldText(c: Counters): string {
  const n = c.passed + c.failed;
  return n === 0 ? "—" : `${Math.round((100 * c.passed) / n)} %`;
}
