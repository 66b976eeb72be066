// Engineer panels for the printer (what is in force, a test print) and the CA
// (chain, expiry warnings, issued count, revoke-by-UID with a second press to confirm).

import { call, asApiError, errorLine, errorWords } from "./api";
import { h } from "./dom";
import { t } from "./i18n";
import { selectField, status, textField } from "./form";
import type { CaStatus } from "./bindings/CaStatus";
import type { CaCertificate } from "./bindings/CaCertificate";

const REASONS = ["keyCompromise", "superseded", "cessationOfOperation", "affiliationChanged", "privilegeWithdrawn", "unspecified"];

export class PrinterPanel {
  private printer = "";
  private message: { ok?: string; error?: string } | null = null;

  constructor(private root: HTMLElement) {}

  async load(): Promise<void> {
    this.printer = (await call("printer_info", {})).printer;
    this.render();
  }

  private async test(): Promise<void> {
    try {
      const p = await call("printer_test", {});
      this.message = { ok: t("eng.printer.done", { pdf: p.label_pdf, job: p.printer ? `→ ${p.printer} ${p.outcome ?? ""} ${p.job_id ?? ""}` : "" }) };
    } catch (e) {
      const err = asApiError(e);
      this.message = { error: errorLine(err) };
    }
    this.render();
  }

  render(): void {
    this.root.replaceChildren(h("h2", {}, t("eng.printer")),
      h("p", { id: "printer-current" }, t("eng.printer.current", { printer: this.printer || t("eng.printer.none") })),
      h("button", { id: "printer-test", class: "secondary", onclick: () => this.test() }, t("eng.printer.test")),
      status("printer-status", this.message) ?? "");
  }
}

export class CaPanel {
  private ca: CaStatus | null = null;
  private target = "";
  private reason = "keyCompromise";
  private confirming = false;
  private message: { ok?: string; error?: string } | null = null;

  constructor(private root: HTMLElement, private unlocked: () => boolean) {}

  async load(): Promise<void> {
    try {
      this.ca = await call("ca_status", {});
    } catch (e) {
      this.message = { error: errorWords(asApiError(e)) };
    }
    this.render();
  }

  private async revoke(): Promise<void> {
    if (!this.confirming) {
      this.confirming = true;
      this.render();
      return;
    }
    this.confirming = false;
    try {
      const r = await call("ca_revoke", { target: this.target, reason: this.reason });
      this.message = r.queued_for.length
        ? { ok: t("eng.revoke.queued", { serials: r.serials.join(", "), stations: r.queued_for.join(", ") }) }
        : { ok: t("eng.revoke.done", { serials: r.serials.join(", "), crl: r.crl_number }) };
      this.target = "";
      this.ca = await call("ca_status", {});
    } catch (e) {
      const err = asApiError(e);
      this.message = { error: errorLine(err) };
    }
    this.render();
  }

  render(): void {
    const ca = this.ca;
    const cert = (name: string, c: CaCertificate) => h("div", { class: "cacert" },
      h("strong", {}, `${name}: `), c.subject, h("br", {}),
      t("eng.ca.valid", { from: c.not_before.slice(0, 10), to: c.not_after.slice(0, 10) }), h("br", {}),
      h("span", { class: "mono small" }, `SHA-256 ${c.sha256}`));
    const summary = ca ? h("div", { id: "ca-summary" },
      cert(t("eng.ca.root"), ca.root), cert(t("eng.ca.issuing"), ca.issuing),
      h("p", { id: "ca-counts" }, t("eng.ca.counts", { issued: ca.certificates_issued, revoked: ca.certificates_revoked })),
      h("p", {}, ca.crl ? t("eng.ca.crl", { number: ca.crl.number, entries: ca.crl.entries, next: ca.crl.next_update.slice(0, 16).replace("T", " ") }) : t("eng.ca.nocrl")),
      ca.warnings.length
        ? h("ul", { class: "warnings", id: "ca-warnings" }, ...ca.warnings.map((w) => h("li", {}, "⚠ ", w)))
        : h("p", { class: "ok" }, t("eng.ca.ok"))) : null;
    const form = h("form", { id: "revoke-form", onsubmit: (e: Event) => { e.preventDefault(); this.revoke(); } },
      h("fieldset", { disabled: !this.unlocked(), class: "plain" },
        h("h3", {}, t("eng.revoke")),
        textField("revoke-target", t("eng.revoke.target"), this.target, (v) => { this.target = v; this.confirming = false; }),
        selectField("revoke-reason", t("eng.revoke.reason"), this.reason, REASONS.map((r) => [r, r]), (v) => (this.reason = v)),
        this.confirming ? h("p", { class: "error" }, t("eng.revoke.confirm", { target: this.target })) : null,
        h("button", { type: "submit", id: this.confirming ? "revoke-confirm" : "revoke-go", class: this.confirming ? "danger" : "secondary" },
          this.confirming ? `${t("eng.revoke.go")} ${this.target}` : t("eng.revoke.go"))),
      status("revoke-status", this.message));
    this.root.replaceChildren(h("h2", {}, t("eng.ca")), summary ?? "", form);
  }
}
