// QA screen: filtered, paged runs (newest first), run detail with the step
// timeline, certificates and evidence, statistics charts, log verification.

import { call, asApiError, errorLine, errorWords } from "./api";
import { h } from "./dom";
import { t } from "./i18n";
import type { RunQuery } from "./bindings/RunQuery";
import type { RunView } from "./bindings/RunView";
import type { RunDetail } from "./bindings/RunDetail";
import type { StatsView } from "./bindings/StatsView";

const PAGE_SIZE = 50;

/** How often the QA screen follows runs finishing while it is open. */
export const LIVE_REFRESH_MS = 1000;

export class QaScreen {
  query: RunQuery = {
    outcome: null, uid: null, operator: null, slot: null, failing_step: null, from: null, to: null,
    page: 0, page_size: PAGE_SIZE, fleet: false,
  };
  /** A fleet is configured: the scope switch (this station / fleet) is offered. */
  fleetAvailable = false;
  private runs: RunView[] = [];
  private total = 0;
  private detail: RunDetail | null = null;
  private stats: StatsView | null = null;
  private verify = "";
  private exported = "";
  private evidence = "";
  private error = "";
  /** A refresh for runs that finished meanwhile, waiting its turn. */
  private liveTimer: number | null = null;
  /** Where the data goes (error, statistics, pager, runs, detail) and where the
   * results of the controls' actions go; the controls around them stay put. */
  private slots: { error: HTMLElement; data: HTMLElement; verify: HTMLElement; exported: HTMLElement } | null = null;

  constructor(private root: HTMLElement) {}

  /** A run finished somewhere: refresh at most once every LIVE_REFRESH_MS. A fast
   * bench (auto-start) finishes several runs a second; even so a refresh rebuilds only
   * the data (renderData), never a control someone is clicking or typing into. */
  runFinished(): void {
    if (this.liveTimer !== null) return;
    this.liveTimer = window.setTimeout(() => {
      this.liveTimer = null;
      void this.refresh();
    }, LIVE_REFRESH_MS);
  }

  async refresh(): Promise<void> {
    try {
      const page = await call("runs_page", { query: this.query });
      this.runs = page.runs;
      this.total = page.total;
      this.stats = await call("statistics", { query: this.query });
      this.error = "";
    } catch (e) {
      this.error = errorWords(asApiError(e));
    }
    this.renderData();
  }

  private async open(runId: string): Promise<void> {
    this.evidence = "";
    try {
      this.detail = await call("run_detail", { runId });
    } catch (e) {
      this.error = errorWords(asApiError(e));
    }
    this.renderData();
  }

  /** Every run of one device, newest first: the table filtered to its UID. */
  history(uid: string): Promise<void> {
    this.query = { outcome: null, uid, operator: null, slot: null, failing_step: null, from: null, to: null, page: 0, page_size: PAGE_SIZE, fleet: this.query.fleet };
    this.detail = null;
    this.render(); // the filters show the UID at once
    return this.refresh();
  }

  private async verifyLog(): Promise<void> {
    try {
      const v = await call("verify_log", {});
      this.verify = v.ok ? t("qa.verify.ok", { events: v.events }) : t("qa.verify.bad", { problem: v.problem ?? "" });
    } catch (e) {
      this.verify = errorWords(asApiError(e));
    }
    if (this.slots) this.slots.verify.textContent = this.verify;
  }

  /** Signed evidence of one device (JSON, CMS signature, PDF) in the exports folder. */
  private async writeEvidence(uid: string): Promise<void> {
    try {
      const x = await call("write_evidence", { uid });
      this.evidence = t("qa.evidence.done", { status: x.status, pdf: x.pdf, json: x.json });
    } catch (e) {
      this.evidence = errorWords(asApiError(e));
    }
    this.renderData();
  }

  private async exportRuns(kind: "csv" | "jsonl" | "onboarding"): Promise<void> {
    try {
      const x = await call("export_runs", { query: this.query, kind });
      this.exported = t("qa.export.done", { rows: x.rows, path: x.path });
    } catch (e) {
      this.exported = errorWords(asApiError(e));
    }
    if (this.slots) this.slots.exported.textContent = this.exported;
  }

  /** Builds the whole screen: the controls (filters, log check, exports) and the data. */
  render(): void {
    const field = (key: "uid" | "operator" | "from" | "to", label: string) =>
      h("label", {}, label, h("input", {
        id: `qa-${key}`,
        value: this.query[key] ?? "",
        onchange: (e: Event) => (this.query[key] = (e.target as HTMLInputElement).value || null),
      }));
    const outcome = h("select", { id: "qa-outcome", onchange: (e: Event) => (this.query.outcome = (e.target as HTMLSelectElement).value || null) },
      ...["", "PASS", "FAIL", "INTERRUPTED"].map((o) => h("option", { value: o, selected: (this.query.outcome ?? "") === o }, o || t("qa.any"))));
    const scope = this.fleetAvailable
      ? h("label", {}, t("qa.scope"), h("select", {
          id: "qa-scope",
          onchange: (e: Event) => { this.query.fleet = (e.target as HTMLSelectElement).value === "fleet"; this.query.page = 0; this.detail = null; this.refresh(); },
        },
        h("option", { value: "station", selected: !this.query.fleet }, t("qa.scope.station")),
        h("option", { value: "fleet", selected: this.query.fleet }, t("qa.scope.fleet"))))
      : null;
    const filters = h("form", { class: "filters", onsubmit: (e: Event) => { e.preventDefault(); this.query.page = 0; this.refresh(); } },
      scope, h("label", {}, t("qa.outcome"), outcome), field("uid", t("qa.uid")), field("operator", t("qa.operator")),
      field("from", t("qa.from")), field("to", t("qa.to")), h("button", { type: "submit", id: "qa-search" }, t("qa.search")));
    const slots = {
      error: h("div", { id: "qa-error" }),
      data: h("div", { id: "qa-data" }),
      verify: h("span", { id: "qa-verify-result" }, this.verify),
      exported: h("span", { id: "qa-export-result", class: "small" }, this.exported),
    };
    const verify = h("div", { class: "verify" }, h("button", { id: "qa-verify", class: "secondary", onclick: () => this.verifyLog() }, t("qa.verify")), slots.verify);
    const exports = h("div", { class: "verify" }, h("span", {}, t("qa.export")),
      ...(["csv", "jsonl", "onboarding"] as const).map((kind) =>
        h("button", { id: `qa-export-${kind}`, class: "secondary", onclick: () => this.exportRuns(kind) }, t(`qa.export.${kind}`))),
      slots.exported);
    this.slots = slots;
    this.root.replaceChildren(h("div", { class: "qa" }, filters, slots.error, verify, exports, slots.data));
    this.renderData();
  }

  /** Rebuilds only what shows the data, inside the screen render() built (or builds it). */
  private renderData(): void {
    const slots = this.slots;
    if (!slots || !this.root.contains(slots.data)) return this.render();
    const pages = Math.max(1, Math.ceil(this.total / PAGE_SIZE));
    const pager = h("div", { class: "pager" },
      h("span", {}, t("qa.total", { total: this.total })),
      h("button", { class: "secondary", disabled: this.query.page === 0, onclick: () => { this.query.page -= 1; this.refresh(); } }, t("qa.prev")),
      h("span", {}, `${this.query.page + 1} / ${pages}`),
      h("button", { class: "secondary", disabled: this.query.page + 1 >= pages, onclick: () => { this.query.page += 1; this.refresh(); } }, t("qa.next")));
    const fleet = this.query.fleet;
    const heads = [t("qa.started"), ...(fleet ? [t("qa.station")] : []), t("qa.slot"), t("qa.uid"), t("qa.outcome"), t("qa.operator"), t("qa.failure")];
    const table = h("table", { id: "runs", "data-scope": fleet ? "fleet" : "station" },
      h("thead", {}, h("tr", {}, ...heads.map((c) => h("th", {}, c)))),
      h("tbody", {}, ...this.runs.map((r) => h("tr", { class: `row ${r.outcome.toLowerCase()}`, "data-run": r.run_id, onclick: () => this.open(r.run_id) },
        h("td", {}, (r.started_at ?? "").replace("T", " ").slice(0, 19)), fleet ? h("td", { class: "station" }, r.station ?? "") : null,
        h("td", {}, r.slot ?? ""), h("td", { class: "mono" }, r.uid ?? ""),
        h("td", { class: "outcome" }, r.outcome), h("td", {}, r.operator ?? ""), h("td", {}, r.failure ? `${r.failing_step ?? ""} ${r.failure.code}` : "")))));
    slots.error.replaceChildren(...(this.error ? [h("p", { class: "error" }, this.error)] : []));
    slots.data.replaceChildren(...[this.renderStats(), pager, table, this.renderDetail()].filter((e): e is HTMLElement => e !== null));
  }

  private renderStats(): HTMLElement | null {
    const s = this.stats;
    if (!s) return null;
    const max = Math.max(1, ...s.failures_by_step.map(([, n]) => n));
    const maxHour = Math.max(1, ...s.per_hour.map(([, n]) => n));
    const stations = s.stations.length
      ? h("table", { id: "qa-stations" },
          h("thead", {}, h("tr", {}, ...[t("qa.station"), t("qa.runs"), t("qa.devices"), t("qa.station_yield")].map((c) => h("th", {}, c)))),
          h("tbody", {}, ...s.stations.map(([station, runs, devices, passed, pct]) => h("tr", { "data-station": station },
            h("td", {}, station), h("td", {}, String(runs)), h("td", {}, `${passed}/${devices}`),
            h("td", {}, h("span", { class: "barfill pass", style: `width:${pct}px` }), ` ${pct.toFixed(1)} %`)))))
      : null;
    return h("section", { class: "stats" },
      h("p", {}, t("qa.yield", { yield: s.yield_percent.toFixed(1), fpy: s.first_pass_yield_percent.toFixed(1) })),
      stations,
      h("div", { class: "charts" },
        h("figure", {}, h("figcaption", {}, t("qa.pareto")), ...s.failures_by_step.slice(0, 8).map(([label, n]) =>
          h("div", { class: "barrow" }, h("span", { class: "barlabel" }, label), h("span", { class: "barfill fail", style: `width:${(100 * n) / max}%` }), h("span", {}, String(n))))),
        h("figure", {}, h("figcaption", {}, t("qa.per_hour")), ...s.per_hour.slice(-12).map(([hour, n, passed]) =>
          h("div", { class: "barrow" }, h("span", { class: "barlabel" }, hour.slice(5).replace("T", " ") + "h"),
            h("span", { class: "barfill pass", style: `width:${(100 * passed) / maxHour}%` }),
            h("span", { class: "barfill fail", style: `width:${(100 * (n - passed)) / maxHour}%` }), h("span", {}, `${passed}/${n}`))))));
  }

  private renderDetail(): HTMLElement | null {
    const d = this.detail;
    if (!d) return null;
    const ends = d.events.filter((e) => e.phase === "end");
    const longest = Math.max(1, ...ends.map((e) => e.ms ?? 0));
    return h("section", { class: "detail", id: "run-detail" },
      h("h2", {}, t("qa.detail", { id: d.run.run_id }), " ", h("span", { class: `badge ${d.run.outcome.toLowerCase()}` }, d.run.outcome)),
      d.run.uid ? h("button", { id: "qa-history", class: "secondary", onclick: () => this.history(d.run.uid ?? "") }, t("qa.history", { uid: d.run.uid })) : null,
      d.run.uid && !this.query.fleet ? h("button", { id: "qa-evidence", class: "secondary", onclick: () => this.writeEvidence(d.run.uid ?? "") }, t("qa.evidence")) : null,
      h("span", { id: "qa-evidence-result", class: "small" }, this.evidence),
      d.run.failure ? h("p", { class: "error" }, errorLine(d.run.failure)) : null,
      h("h3", {}, t("qa.events")),
      ...ends.map((e) => h("details", { class: "event" },
        h("summary", {}, h("span", { class: "barlabel" }, e.step), h("span", { class: `barfill ${e.outcome === "PASS" ? "pass" : "fail"}`, style: `width:${(60 * (e.ms ?? 0)) / longest}%` }), h("span", {}, `${(e.ms ?? 0).toFixed(1)} ms ${e.outcome ?? ""}`)),
        h("pre", {}, pretty(e.detail)))),
      h("h3", {}, t("qa.certificates")),
      h("table", {}, h("tbody", {}, ...d.certificates.map((c) => h("tr", {},
        h("td", { class: "mono" }, c.serial), h("td", {}, c.subject), h("td", {}, `${c.not_before.slice(0, 10)} – ${c.not_after.slice(0, 10)}`),
        h("td", { class: "mono small" }, c.fingerprint), h("td", {}, c.revoked ? t("qa.revoked", { reason: c.revoked }) : t("qa.valid")))))));
  }
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}
