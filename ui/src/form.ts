// Small form-field builders shared by the engineer panels: every field is a label
// around its control, with an id the tests can find.

import { h } from "./dom";

export function textField(id: string, label: string, value: string, set: (v: string) => void, attrs: Record<string, string> = {}): HTMLElement {
  return h("label", {}, label, h("input", { id, value, ...attrs, oninput: (e: Event) => set((e.target as HTMLInputElement).value) }));
}

export function numberField(id: string, label: string, value: number, set: (v: number) => void): HTMLElement {
  return textField(id, label, String(value), (v) => set(Number.parseInt(v, 10) || 0), { inputmode: "numeric" });
}

export function selectField(id: string, label: string, value: string, options: [string, string][], set: (v: string) => void): HTMLElement {
  return h("label", {}, label, h("select", { id, onchange: (e: Event) => set((e.target as HTMLSelectElement).value) },
    ...options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
}

export function checkField(id: string, label: string, value: boolean, set: (v: boolean) => void): HTMLElement {
  return h("label", { class: "check" }, h("input", { id, type: "checkbox", checked: value, onchange: (e: Event) => set((e.target as HTMLInputElement).checked) }), label);
}

/** A message line under a panel: an error (code and message) or a success. */
export function status(id: string, message: { ok?: string; error?: string } | null): HTMLElement | null {
  if (!message) return null;
  return message.error ? h("p", { class: "error", id, role: "alert" }, message.error) : h("p", { class: "ok", id }, message.ok ?? "");
}
