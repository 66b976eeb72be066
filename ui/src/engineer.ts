// Engineer screen: the role (PIN), the label template editor with a live preview
// from the same renderer as the print and each problem at its element's line, the
// station configuration, the printer and the CA. Viewing needs no role; every
// change needs the unlocked engineer role and is audited by the station.

import { call, asApiError, errorLine, errorWords } from "./api";
import { h } from "./dom";
import { t } from "./i18n";
import { status, textField } from "./form";
import { ConfigForm } from "./config-form";
import { CaPanel, PrinterPanel } from "./ca-panel";
import type { EngineerView } from "./bindings/EngineerView";
import type { TemplateProblem } from "./bindings/TemplateProblem";

/** Line numbers for the editor gutter, with the lines that have problems marked. */
export function gutterLines(text: string, problems: TemplateProblem[]): { line: number; bad: boolean }[] {
  const bad = new Set(problems.map((p) => p.line).filter((l): l is number => l !== null));
  return text.split("\n").map((_, i) => ({ line: i + 1, bad: bad.has(i + 1) }));
}

/** The character range of a 1-based line, to select it in the editor. */
export function lineRange(text: string, line: number): [number, number] {
  const lines = text.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  return [start, start + (lines[line - 1]?.length ?? 0)];
}

export class EngineerScreen {
  private text = "";
  private uid = "0123456789ABCDEF";
  private png: string | null = null;
  private errors: TemplateProblem[] = [];
  private timer: number | undefined;
  private role: EngineerView = { pin_set: false, unlocked: false, minutes_left: 0, needs_ca_passphrase: true };
  private pin = "";
  private passphrase = "";
  private roleMessage: { ok?: string; error?: string } | null = null;
  private templateMessage: { ok?: string; error?: string } | null = null;
  private roleRoot = h("section", { id: "role-panel", class: "panel wide" });
  private templateRoot = h("section", { class: "panel wide", id: "template-panel" });
  private configRoot = h("section", { class: "panel wide", id: "config-panel" });
  private printerRoot = h("section", { class: "panel", id: "printer-panel" });
  private caRoot = h("section", { class: "panel", id: "ca-panel" });
  private config = new ConfigForm(this.configRoot, () => this.role.unlocked, () => { this.printer.load(); this.changed(); });
  private printer = new PrinterPanel(this.printerRoot);
  private ca = new CaPanel(this.caRoot, () => this.role.unlocked);

  constructor(private root: HTMLElement, private changed: () => void = () => {}) {}

  async load(): Promise<void> {
    try {
      this.role = await call("engineer_state", {});
      if (!this.text) this.text = await call("label_template_text", {});
    } catch (e) {
      this.roleMessage = { error: errorWords(asApiError(e)) };
    }
    this.render();
    await Promise.all([this.preview(), this.config.load(), this.printer.load(), this.ca.load()]);
  }

  private async roleAction(action: "login" | "set" | "logout"): Promise<void> {
    try {
      if (action === "login") this.role = await call("engineer_login", { pin: this.pin });
      if (action === "set") this.role = await call("engineer_set_pin", { pin: this.pin, caPassphrase: this.passphrase || null });
      if (action === "logout") this.role = await call("engineer_logout", {});
      this.roleMessage = null;
    } catch (e) {
      const err = asApiError(e);
      this.roleMessage = { error: errorLine(err) };
    }
    this.pin = "";
    this.passphrase = "";
    this.renderRole();
    this.renderTemplate();
    this.config.render();
    this.ca.render();
  }

  private renderRole(): void {
    const r = this.role;
    const pin = textField("engineer-pin", r.pin_set ? t("eng.pin") : t("eng.pin.new"), "", (v) => (this.pin = v),
      { type: "password", inputmode: "numeric", autocomplete: "off" });
    let body: (HTMLElement | string | null)[];
    if (r.unlocked) {
      body = [h("p", { class: "ok", id: "role-state" }, t("eng.unlocked", { minutes: r.minutes_left })),
        h("button", { id: "engineer-lock", class: "secondary", onclick: () => this.roleAction("logout") }, t("eng.lock")),
        h("form", { class: "inline", onsubmit: (e: Event) => { e.preventDefault(); this.roleAction("set"); } }, pin,
          h("button", { type: "submit", id: "engineer-change-pin", class: "secondary" }, t("eng.pin.change")))];
    } else if (!r.pin_set) {
      body = [h("p", { id: "role-state" }, t("eng.pin.none")),
        h("form", { class: "inline", onsubmit: (e: Event) => { e.preventDefault(); this.roleAction("set"); } }, pin,
          r.needs_ca_passphrase ? textField("ca-passphrase", t("eng.ca_passphrase"), "", (v) => (this.passphrase = v), { type: "password", autocomplete: "off" }) : null,
          h("button", { type: "submit", id: "engineer-set-pin", class: "primary" }, t("eng.pin.set")))];
    } else {
      body = [h("p", { id: "role-state" }, t("eng.locked")),
        h("form", { class: "inline", onsubmit: (e: Event) => { e.preventDefault(); this.roleAction("login"); } }, pin,
          h("button", { type: "submit", id: "engineer-unlock", class: "primary" }, t("eng.unlock")))];
    }
    this.roleRoot.replaceChildren(h("h2", {}, t("eng.role")), ...body.filter((b): b is HTMLElement | string => b !== null), status("role-status", this.roleMessage) ?? "");
  }

  private async preview(): Promise<void> {
    try {
      const p = await call("label_preview", { template: this.text, fields: [["uid", this.uid]] });
      this.png = p.png_base64;
      this.errors = p.errors;
    } catch (e) {
      this.errors = [{ element: null, line: null, message: errorWords(asApiError(e)) }];
    }
    this.renderPreview();
  }

  private async saveTemplate(): Promise<void> {
    try {
      const v = await call("label_template_save", { text: this.text });
      this.templateMessage = { ok: t("eng.template.saved", { file: v.edit.label_template }) };
      await this.config.load();
    } catch (e) {
      const err = asApiError(e);
      this.templateMessage = { error: errorLine(err) };
    }
    this.renderPreview();
  }

  private schedule(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.preview(), 250);
  }

  render(): void {
    this.renderRole();
    this.renderTemplate();
    this.config.render();
    this.printer.render();
    this.ca.render();
    this.root.replaceChildren(h("div", { class: "engineer" }, this.roleRoot, this.templateRoot, this.configRoot, this.printerRoot, this.caRoot));
  }

  private renderTemplate(): void {
    const gutter = h("pre", { class: "gutter", id: "template-gutter", "aria-hidden": "true" });
    const editor = h("textarea", {
      id: "template-editor", spellcheck: "false", wrap: "off",
      oninput: (e: Event) => { this.text = (e.target as HTMLTextAreaElement).value; this.renderGutter(); this.schedule(); },
      onscroll: (e: Event) => { gutter.scrollTop = (e.target as HTMLTextAreaElement).scrollTop; },
    });
    editor.value = this.text;
    const uid = h("input", { id: "sample-uid", value: this.uid, oninput: (e: Event) => { this.uid = (e.target as HTMLInputElement).value; this.schedule(); } });
    this.templateRoot.replaceChildren(h("div", { class: "template" },
      h("div", {}, h("h2", {}, t("eng.template")), h("label", {}, t("eng.uid"), uid), h("div", { class: "editor" }, gutter, editor)),
      h("div", { id: "preview-pane" }, h("h2", {}, t("eng.preview")), h("div", { id: "preview" }),
        h("button", { id: "template-save", class: "primary", disabled: !this.role.unlocked, onclick: () => this.saveTemplate() }, t("eng.template.save")),
        h("div", { id: "template-status-slot" }))));
    this.renderGutter();
    this.renderPreview();
  }

  private renderGutter(): void {
    const gutter = this.templateRoot.querySelector("#template-gutter");
    if (!gutter) return;
    gutter.replaceChildren(...gutterLines(this.text, this.errors).map((l) =>
      h("span", { class: l.bad ? "bad" : "", "data-line": String(l.line) }, `${l.bad ? "⚠" : ""}${l.line}\n`)));
  }

  private goTo(line: number): void {
    const editor = this.templateRoot.querySelector<HTMLTextAreaElement>("#template-editor");
    if (!editor) return;
    const [start, end] = lineRange(this.text, line);
    editor.focus();
    editor.setSelectionRange(start, end);
  }

  private renderPreview(): void {
    this.renderGutter();
    this.templateRoot.querySelector("#template-status-slot")?.replaceChildren(status("template-status", this.templateMessage) ?? "");
    const pane = this.templateRoot.querySelector("#preview");
    if (!pane) return;
    pane.replaceChildren(
      this.png ? h("img", { id: "preview-image", src: `data:image/png;base64,${this.png}`, alt: t("eng.preview") }) : "",
      this.errors.length
        ? h("div", { class: "errors", id: "template-errors" }, h("h3", {}, t("eng.errors")), h("ul", {}, ...this.errors.map((e) =>
          h("li", { "data-line": String(e.line ?? ""), "data-element": String(e.element ?? "") },
            e.line ? h("button", { class: "linkish", onclick: () => this.goTo(e.line ?? 1) }, `${t("eng.line", { line: e.line })}`) : null,
            " ", e.message))))
        : h("p", { class: "ok" }, t("eng.ok")));
  }
}
