// Engineer screen: the label template editor with a live preview from the same
// renderer as the print, and the validation messages that name the element at fault.

import { call, asApiError } from "./api";
import { h } from "./dom";
import { t } from "./i18n";

export class EngineerScreen {
  private text = "";
  private uid = "0123456789ABCDEF";
  private png: string | null = null;
  private errors: string[] = [];
  private timer: number | undefined;

  constructor(private root: HTMLElement) {}

  async load(): Promise<void> {
    if (!this.text) {
      this.text = await call("label_template_text", {});
      this.render();
    }
    await this.preview();
  }

  private async preview(): Promise<void> {
    try {
      const p = await call("label_preview", { template: this.text, fields: [["uid", this.uid]] });
      this.png = p.png_base64;
      this.errors = p.errors;
    } catch (e) {
      this.errors = [asApiError(e).message];
    }
    this.renderPreview();
  }

  private schedule(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.preview(), 250);
  }

  render(): void {
    const editor = h("textarea", {
      id: "template-editor", spellcheck: "false",
      oninput: (e: Event) => { this.text = (e.target as HTMLTextAreaElement).value; this.schedule(); },
    });
    editor.value = this.text;
    const uid = h("input", { id: "sample-uid", value: this.uid, oninput: (e: Event) => { this.uid = (e.target as HTMLInputElement).value; this.schedule(); } });
    this.root.replaceChildren(h("div", { class: "engineer" },
      h("section", {}, h("h2", {}, t("eng.template")), h("label", {}, t("eng.uid"), uid), editor),
      h("section", { id: "preview-pane" }, h("h2", {}, t("eng.preview")), h("div", { id: "preview" }))));
    this.renderPreview();
  }

  private renderPreview(): void {
    const pane = this.root.querySelector("#preview");
    if (!pane) return;
    pane.replaceChildren(
      this.png ? h("img", { id: "preview-image", src: `data:image/png;base64,${this.png}`, alt: t("eng.preview") }) : "",
      this.errors.length
        ? h("div", { class: "errors", id: "template-errors" }, h("h3", {}, t("eng.errors")), h("ul", {}, ...this.errors.map((e) => h("li", {}, e))))
        : h("p", { class: "ok" }, t("eng.ok")));
  }
}
