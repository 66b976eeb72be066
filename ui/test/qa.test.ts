import { describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...a: unknown[]) => invoke(...a) }));
vi.mock("@tauri-apps/api/event", () => ({ listen: vi.fn() }));

import { LIVE_REFRESH_MS, QaScreen } from "../src/qa";

describe("QA screen", () => {
  it("shows one device's history by filtering the runs to its UID from the first page", async () => {
    invoke.mockImplementation(async (command: string) =>
      command === "runs_page"
        ? { total: 1, runs: [{ run_id: "r1", outcome: "PASS", slot: "A", uid: "UID7", operator: null, started_at: "2026-11-22T08:00:00Z", failure: null, failing_step: null, steps: [], label_pdf: null, cert_serial: null }] }
        : { runs: 1, passed: 1, yield_percent: 100, first_pass_yield_percent: 100, failures_by_step: [], per_hour: [], stations: [] });
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

describe("QA screen, fleet scope", () => {
  it("offers the scope only with a fleet, then lists every station's runs and each station's yield", async () => {
    const run = (station: string, uid: string) => ({ run_id: `${station}-${uid}`, outcome: "PASS", slot: "A", uid, operator: null, started_at: "2026-12-03T08:00:00Z", failure: null, failing_step: null, steps: [], label_pdf: null, cert_serial: null, station });
    invoke.mockReset();
    invoke.mockImplementation(async (command: string, args: { query: { fleet: boolean } }) =>
      command === "runs_page"
        ? { total: 2, runs: args.query.fleet ? [run("bench-a", "U1"), run("bench-b", "U2")] : [run("bench-a", "U1")] }
        : { runs: 2, passed: 2, yield_percent: 100, first_pass_yield_percent: 100, failures_by_step: [], per_hour: [],
            stations: args.query.fleet ? [["bench-a", 1, 1, 1, 100], ["bench-b", 3, 2, 1, 50]] : [] });
    const root = document.createElement("div");
    const qa = new QaScreen(root);
    await qa.refresh();
    expect(root.querySelector("#qa-scope")).toBeNull();
    qa.fleetAvailable = true;
    qa.render();
    const scope = root.querySelector("#qa-scope") as HTMLSelectElement;
    expect(scope).not.toBeNull();
    scope.value = "fleet";
    scope.dispatchEvent(new Event("change"));
    await new Promise((r) => setTimeout(r, 0));
    const sent = invoke.mock.calls.filter(([c]) => c === "runs_page").at(-1)?.[1] as { query: { fleet: boolean; page: number } };
    expect(sent.query).toMatchObject({ fleet: true, page: 0 });
    expect(root.querySelector("#runs")?.getAttribute("data-scope")).toBe("fleet");
    expect([...root.querySelectorAll("#runs td.station")].map((td) => td.textContent)).toEqual(["bench-a", "bench-b"]);
    const rows = [...root.querySelectorAll("#qa-stations tbody tr")];
    expect(rows.map((r) => r.getAttribute("data-station"))).toEqual(["bench-a", "bench-b"]);
    expect(rows[1].textContent).toContain("1/2");
    expect(rows[1].textContent).toContain("50.0 %");
  });
});

describe("QA screen, a live bench", () => {
  it("follows runs finishing at most once a second, however fast they come", async () => {
    vi.useFakeTimers();
    invoke.mockReset();
    invoke.mockImplementation(async (command: string) =>
      command === "runs_page"
        ? { total: 0, runs: [] }
        : { runs: 0, passed: 0, yield_percent: 0, first_pass_yield_percent: 0, failures_by_step: [], per_hour: [], stations: [] });
    const qa = new QaScreen(document.createElement("div"));
    for (let i = 0; i < 20; i++) qa.runFinished();
    expect(invoke).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(LIVE_REFRESH_MS);
    expect(invoke.mock.calls.filter(([c]) => c === "runs_page")).toHaveLength(1);
    qa.runFinished();
    await vi.advanceTimersByTimeAsync(LIVE_REFRESH_MS);
    expect(invoke.mock.calls.filter(([c]) => c === "runs_page")).toHaveLength(2);
    vi.useRealTimers();
  });

  it("refreshes the data under the controls without replacing them: a click or half-typed filter survives", async () => {
    const run = (uid: string) => ({ run_id: uid, outcome: "PASS", slot: "A", uid, operator: null, started_at: "2026-12-04T08:00:00Z", failure: null, failing_step: null, steps: [], label_pdf: null, cert_serial: null });
    let finished = 1;
    invoke.mockReset();
    invoke.mockImplementation(async (command: string) => {
      if (command === "runs_page") return { total: finished, runs: Array.from({ length: finished }, (_, i) => run(`U${i}`)) };
      if (command === "export_runs") return { rows: finished, path: "/data/exports/hallmark-csv-1.csv" };
      return { runs: finished, passed: finished, yield_percent: 100, first_pass_yield_percent: 100, failures_by_step: [], per_hour: [], stations: [] };
    });
    const root = document.createElement("div");
    const qa = new QaScreen(root);
    qa.render();
    await qa.refresh();
    const exportButton = root.querySelector("#qa-export-csv") as HTMLButtonElement;
    const uid = root.querySelector("#qa-uid") as HTMLInputElement;
    uid.value = "U4"; // typed, not yet committed with Enter or a change
    finished = 5;
    await qa.refresh();
    expect(root.querySelectorAll("#runs tbody tr")).toHaveLength(5);
    expect(root.querySelector("#qa-export-csv")).toBe(exportButton);
    expect(root.querySelector("#qa-uid")).toBe(uid);
    expect(uid.value).toBe("U4");
    exportButton.click();
    await new Promise((r) => setTimeout(r, 0));
    expect(root.querySelector("#qa-export-result")?.textContent).toContain("hallmark-csv-1.csv");
    await qa.refresh();
    expect(root.querySelector("#qa-export-result")?.textContent).toContain("hallmark-csv-1.csv");
  });
});
