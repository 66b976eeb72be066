import { describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a) }));
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn() }));

import { QaScreen } from "../src/qa";

describe("QA screen", () => {
  it("shows one device's history by filtering the runs to its UID from the first page", async () => {
    invoke.mockImplementation(async (command: string) =>
      command === "runs_page"
        ? { total: 1, runs: [{ run_id: "r1", outcome: "PASS", slot: "A", uid: "UID7", operator: null, started_at: "2026-11-22T08:00:00Z", failure: null, failing_step: null, steps: [], label_pdf: null, cert_serial: null }] }
        : { runs: 1, passed: 1, yield_percent: 100, first_pass_yield_percent: 100, failures_by_step: [], per_hour: [] });
    const root = document.createElement("div");
    const qa = new QaScreen(root);
    qa.query.page = 3;
    qa.query.outcome = "FAIL";
    await qa.history("UID7");
    const sent = invoke.mock.calls.find(([c]) => c === "runs_page")?.[1] as { query: { uid: string; page: number; outcome: string | null } };
    expect(sent.query).toMatchObject({ uid: "UID7", page: 0, outcome: null });
    expect(root.querySelector("#runs tbody")?.textContent).toContain("UID7");
    expect((root.querySelector("#qa-uid") as HTMLInputElement).value).toBe("UID7");
  });
});
