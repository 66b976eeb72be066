// Operator screen: one big tile per slot, readable from two metres, one large
// Start per slot, PASS/FAIL as colour + icon + word, the reason and what to do,
// scanner input for badge and pre-printed labels, shift counters, a sound per result.

import { call, asApiError, errorWords } from "./api";
import { h } from "./dom";
import { t } from "./i18n";
import { ScannerInput, type Scanned } from "./scanner";
import { applyEvent, applyLinks, canStart, yieldText, type Counters, type Tile } from "./tiles";
import { startupNotes } from "./startup";
import type { SlotLink } from "./bindings/SlotLink";
import { failureAdvice } from "./failures";
import type { RunEvent } from "./bindings/RunEvent";
import type { StationView } from "./bindings/StationView";
import type { FleetView } from "./bindings/FleetView";
import { fleetLine } from "./fleet";

export class OperatorScreen {
  tiles: Tile[];
  counters: Counters = { passed: 0, failed: 0 };
  operator: string | null = null;
  scannedUid: string | null = null;
  lastUid: string | null = null;
  notice = "";
  /** The fleet link as last looked at (null without a fleet). */
  fleet: FleetView | null = null;
  /** What start-up found, until the operator dismisses it. */
  startup: string[] = [];
  private scanner = new ScannerInput();
  private manual = "";
  /** The screen render() built, part by part with what each part showed. */
  private built: Built | null = null;

  constructor(station: StationView, private root: HTMLElement) {
    this.tiles = [];
    this.setStation(station);
    this.startup = startupNotes(station.startup);
  }

  /** The slots after a configuration change: tiles of unchanged slots keep their state. */
  setStation(station: StationView): void {
    const old = new Map(this.tiles.map((t) => [t.slot, t]));
    this.tiles = station.slots.map((s) => ({ ...(old.get(s.name) ?? { state: "idle" as const }), slot: s.name, link: s.link, fixture: s.state }));
  }

  /** Slot links as last looked at; re-renders only when one changed. */
  setLinks(links: SlotLink[]): boolean {
    const next = applyLinks(this.tiles, links);
    const changed = next.some((t, i) => t !== this.tiles[i]);
    this.tiles = next;
    return changed;
  }

  /** The fleet link as last looked at; re-renders only when its line changed. */
  setFleet(view: FleetView | null): boolean {
    const before = JSON.stringify(fleetLine(this.fleet));
    this.fleet = view;
    return JSON.stringify(fleetLine(view)) !== before;
  }

  onEvent(e: RunEvent): void {
    const r = applyEvent(this.tiles, this.counters, e);
    this.tiles = r.tiles;
    this.counters = r.counters;
    if (e.kind === "finished") {
      if (e.run.uid && e.run.outcome === "PASS") this.lastUid = e.run.uid;
      cue(e.run.outcome === "PASS");
    } else if (e.kind === "error") {
      cue(false);
    }
    this.update();
  }

  /** Keys from the window while the operator screen is shown. */
  onKey(ev: KeyboardEvent): void {
    const target = ev.target as HTMLElement | null;
    if (target && target.id !== "manual-entry" && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    const scanned = this.scanner.feed(ev.key, ev.timeStamp);
    if (scanned) this.accept(scanned);
  }

  accept(s: Scanned): void {
    if (s.kind === "badge") {
      this.operator = s.value;
      // Auto-started runs are recorded with the badge scanned last.
      call("set_operator", { operator: s.value }).catch(() => {});
    } else this.scannedUid = s.value;
    this.update();
  }

  async start(slot: string): Promise<void> {
    try {
      await call("start_run", { slot, operator: this.operator, scannedUid: this.scannedUid });
      this.scannedUid = null;
    } catch (e) {
      this.onEvent({ kind: "error", slot, error: asApiError(e) });
    }
  }

  async reprint(): Promise<void> {
    if (!this.lastUid) return;
    try {
      const path = await call("reprint", { uid: this.lastUid, operator: this.operator });
      this.notice = t("reprinted", { path });
    } catch (e) {
      this.notice = errorWords(asApiError(e));
    }
    this.update();
  }

  /** Builds the whole screen (a new tab, language or slot set). */
  render(): void {
    const manual = h("input", {
      id: "manual-entry",
      placeholder: t("scan.manual"),
      "aria-label": t("scan.manual"),
      oninput: (e: Event) => (this.manual = (e.target as HTMLInputElement).value),
      onkeydown: (e: Event) => {
        const k = e as KeyboardEvent;
        if (k.key === "Enter") {
          const value = (k.target as HTMLInputElement).value;
          (k.target as HTMLInputElement).value = "";
          this.manual = "";
          const s = value.trim() ? classifyManual(value) : null;
          if (s) this.accept(s);
          k.stopPropagation();
        }
      },
    });
    manual.value = this.manual;
    const part = (): Part => ({ slot: h("div", { class: "part" }), shows: null });
    const b: Built = {
      screen: h("div", { class: "operator" }),
      startup: part(),
      scan: part(),
      fleet: part(),
      tiles: { section: h("section", { class: "tiles" }), shown: new Map() },
      footer: part(),
    };
    b.screen.append(b.startup.slot, b.scan.slot, b.fleet.slot, manual, b.tiles.section, b.footer.slot);
    this.built = b;
    this.root.replaceChildren(b.screen);
    this.update();
  }

  /** Rebuilds only the parts whose content changed since they were built: never the
   * manual entry someone is typing into, nor a slot's Start button someone is pressing
   * while another slot's run sends its steps. */
  update(): void {
    const b = this.built;
    if (!b || !this.root.contains(b.screen)) return this.render();
    showPart(b.startup, this.startup, () => (this.startup.length ? this.renderStartup() : null));
    showPart(b.scan, [this.operator, this.scannedUid], () => this.renderScanLine());
    showPart(b.fleet, [fleetLine(this.fleet), this.fleet?.last_error], () => this.renderFleet());
    showPart(b.footer, [this.counters, this.lastUid, this.notice], () => this.renderFooter());
    const shown = new Map<string, { tile: Tile; el: HTMLElement }>();
    const els = this.tiles.map((tile) => {
      const had = b.tiles.shown.get(tile.slot);
      const el = had && had.tile === tile ? had.el : this.renderTile(tile);
      shown.set(tile.slot, { tile, el });
      return el;
    });
    const section = b.tiles.section;
    if (section.children.length !== els.length) section.replaceChildren(...els);
    else els.forEach((el, i) => { if (section.children[i] !== el) section.children[i].replaceWith(el); });
    b.tiles.shown = shown;
  }

  private renderFleet(): HTMLElement | null {
    const line = fleetLine(this.fleet);
    return line
      ? h("div", { class: `fleet ${line.state}`, id: "fleet-state", role: "status", "data-state": line.state, title: this.fleet?.last_error ?? "" }, line.text)
      : null;
  }

  private renderScanLine(): HTMLElement {
    return h(
      "div",
      { class: "scan", id: "scan-state" },
      h("span", { class: "scan-dot" }),
      t("scan.ready"),
      " · ",
      this.operator ? t("scan.badge", { badge: this.operator }) : t("scan.none"),
      this.scannedUid ? " · " + t("scan.uid", { uid: this.scannedUid }) : "",
    );
  }

  private renderStartup(): HTMLElement {
    return h(
      "div",
      { class: "startup", id: "startup-report", role: "status" },
      h("strong", {}, t("startup.title")),
      h("ul", {}, ...this.startup.map((n) => h("li", {}, n))),
      h("button", { class: "secondary", id: "startup-dismiss", onclick: () => { this.startup = []; this.update(); } }, t("startup.dismiss")),
    );
  }

  private renderFooter(): HTMLElement {
    return h(
      "div",
      { class: "shift" },
      h("span", { id: "counters" }, t("counters", { passed: this.counters.passed, failed: this.counters.failed, yield: yieldText(this.counters) })),
      h("button", { id: "reprint", class: "secondary", onclick: () => this.reprint(), disabled: !this.lastUid }, t("reprint")),
      this.notice ? h("span", { class: "notice" }, this.notice) : null,
    );
  }

  private renderTile(tile: Tile): HTMLElement {
    const missing = tile.fixture === "no_fixture" && tile.state !== "running";
    const word = missing ? t("state.no_fixture") : {
      idle: t("state.idle"),
      waiting: t("state.waiting"),
      running: t("state.running"),
      pass: t("state.pass"),
      fail: t("state.fail"),
      interrupted: t("state.interrupted"),
    }[tile.state];
    const icon = missing ? "⚠" : { idle: "●", waiting: "◌", running: "⟳", pass: "✔", fail: "✖", interrupted: "■" }[tile.state];
    const progress =
      tile.state === "running" && tile.total
        ? h(
            "div",
            { class: "progress" },
            h("div", { class: "bar", style: `width:${Math.round((100 * (tile.index ?? 0)) / tile.total)}%` }),
            h("div", { class: "step" }, t("step", { index: tile.index ?? 0, total: tile.total, step: tile.step ?? "" })),
          )
        : null;
    const advice = tile.failure ? failureAdvice(tile.failure) : null;
    return h(
      "article",
      {
        class: `tile ${tile.state}${missing ? " no-fixture" : ""}`,
        id: `tile-${tile.slot}`,
        "data-state": tile.state,
        "data-fixture": tile.fixture,
        "aria-live": "polite",
      },
      h("header", {}, h("h2", {}, tile.slot), h("span", { class: "link" }, tile.link)),
      h("div", { class: "status" }, h("span", { class: "icon", "aria-hidden": "true" }, icon), h("span", { class: "word" }, word)),
      tile.uid ? h("div", { class: "uid" }, tile.uid) : null,
      tile.labelPdf && tile.state === "pass" ? h("div", { class: "label-pdf", "data-path": tile.labelPdf }, t("label") + ": " + tile.labelPdf.split("/").pop()) : null,
      missing ? h("p", { class: "fixture-missing" }, t("fixture.missing", { port: tile.link })) : null,
      progress,
      advice
        ? h(
            "div",
            { class: "reason" },
            h("div", { class: "code" }, tile.failure?.code ?? ""),
            h("p", { class: "what" }, advice.what),
            advice.todo ? h("p", { class: "todo" }, h("strong", {}, t("what_to_do") + ": "), advice.todo) : null,
            advice.original ? h("p", { class: "original", lang: "en" }, advice.original) : null,
            advice.detail ? h("p", { class: "detail", lang: "en" }, advice.detail) : null,
          )
        : null,
      h(
        "button",
        { class: "start", id: `start-${tile.slot}`, onclick: () => this.start(tile.slot), disabled: !canStart(tile) },
        `${t("start")} ${tile.slot}`,
      ),
    );
  }
}

/** A part of the screen that is rebuilt only when what it shows changed. The slot is
 * a `display: contents` wrapper, so a part may also be absent without moving the rest. */
interface Part {
  slot: HTMLElement;
  /** What the part was built from, as JSON; null before its first build. */
  shows: string | null;
}

/** The operator screen as built: each part with what it showed when it was built. */
interface Built {
  screen: HTMLElement;
  startup: Part;
  scan: Part;
  fleet: Part;
  tiles: { section: HTMLElement; shown: Map<string, { tile: Tile; el: HTMLElement }> };
  footer: Part;
}

/** Rebuilds `part` from `build` when `from` differs from what it was last built from. */
function showPart(part: Part, from: unknown, build: () => HTMLElement | null): void {
  const shows = JSON.stringify(from);
  if (part.shows === shows) return;
  part.shows = shows;
  const el = build();
  part.slot.replaceChildren(...(el ? [el] : []));
}

function classifyManual(value: string): Scanned | null {
  const v = value.trim();
  if (/^(OP|BADGE)[-:]?/i.test(v)) return { kind: "badge", value: v.toUpperCase(), source: "manual" };
  return /^[A-Z0-9-]{1,64}$/.test(v) ? { kind: "uid", value: v, source: "manual" } : null;
}

/** One audio context for the whole shift: browsers keep every context alive (and a
 * context per result grew the web process by hundreds of MB over a shift). */
let audio: AudioContext | null = null;

/** A short tone: high for PASS, low and long for FAIL. */
function cue(pass: boolean): void {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    osc.frequency.value = pass ? 880 : 220;
    osc.connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + (pass ? 0.15 : 0.6));
  } catch {
    // No audio device: the colour, icon and word still say it.
  }
}
