// The typed IPC map: each command's arguments and result, from the generated
// bindings. `call` is the only place that invokes Tauri; errors arrive as ApiError.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { ApiError } from "./bindings/ApiError";
import type { LabelPreview } from "./bindings/LabelPreview";
import type { RunDetail } from "./bindings/RunDetail";
import type { RunEvent } from "./bindings/RunEvent";
import type { RunPage } from "./bindings/RunPage";
import type { RunQuery } from "./bindings/RunQuery";
import type { StationView } from "./bindings/StationView";
import type { SlotLink } from "./bindings/SlotLink";
import type { StatsView } from "./bindings/StatsView";
import type { VerifyView } from "./bindings/VerifyView";
import type { EngineerView } from "./bindings/EngineerView";
import type { ConfigView } from "./bindings/ConfigView";
import type { ConfigEdit } from "./bindings/ConfigEdit";
import type { CaStatus } from "./bindings/CaStatus";
import type { RevokeView } from "./bindings/RevokeView";
import type { PrinterView } from "./bindings/PrinterView";
import type { PrintView } from "./bindings/PrintView";
import type { ExportView } from "./bindings/ExportView";
import type { EvidenceView } from "./bindings/EvidenceView";
import type { FleetView } from "./bindings/FleetView";

export type Commands = {
  station_info: { args: Record<string, never>; result: StationView };
  slot_links: { args: Record<string, never>; result: SlotLink[] };
  fleet_state: { args: Record<string, never>; result: FleetView | null };
  start_run: { args: { slot: string; operator: string | null; scannedUid: string | null }; result: null };
  reprint: { args: { uid: string; operator: string | null }; result: string };
  runs_page: { args: { query: RunQuery }; result: RunPage };
  run_detail: { args: { runId: string }; result: RunDetail };
  verify_log: { args: Record<string, never>; result: VerifyView };
  statistics: { args: { query: RunQuery }; result: StatsView };
  label_preview: { args: { template: string; fields: [string, string][] }; result: LabelPreview };
  label_template_text: { args: Record<string, never>; result: string };
  label_template_save: { args: { text: string }; result: ConfigView };
  set_operator: { args: { operator: string | null }; result: null };
  export_runs: { args: { query: RunQuery; kind: "csv" | "jsonl" | "onboarding" }; result: ExportView };
  write_evidence: { args: { uid: string }; result: EvidenceView };
  engineer_state: { args: Record<string, never>; result: EngineerView };
  engineer_set_pin: { args: { pin: string; caPassphrase: string | null }; result: EngineerView };
  engineer_login: { args: { pin: string }; result: EngineerView };
  engineer_logout: { args: Record<string, never>; result: EngineerView };
  config_get: { args: Record<string, never>; result: ConfigView };
  config_save: { args: { edit: ConfigEdit }; result: ConfigView };
  ca_status: { args: Record<string, never>; result: CaStatus };
  ca_revoke: { args: { target: string; reason: string }; result: RevokeView };
  printer_info: { args: Record<string, never>; result: PrinterView };
  printer_test: { args: Record<string, never>; result: PrintView };
};

export async function call<C extends keyof Commands>(command: C, args: Commands[C]["args"]): Promise<Commands[C]["result"]> {
  try {
    return await invoke<Commands[C]["result"]>(command, args);
  } catch (e) {
    throw asApiError(e);
  }
}

/** Every error as the station's shape: a station error as it came, anything else
 * (a failed invoke, a bug in the window) as code `UI` with its text as the detail. */
export function asApiError(e: unknown): ApiError {
  if (e && typeof e === "object" && "code" in e && "what" in e && "todo" in e) return e as ApiError;
  return {
    code: "UI",
    what: "Something went wrong in the window.",
    todo: "Try again; if it repeats, restart the application.",
    detail: String(e),
  };
}

/** An error in one line for the engineer and QA screens: code, what happened, what to
 * do, and the detail in brackets. */
export function errorLine(e: ApiError): string {
  return `${e.code}: ${errorWords(e)}`;
}

/** What happened, what to do, and the detail in brackets. */
export function errorWords(e: ApiError): string {
  return [e.what, e.todo, e.detail ? `(${e.detail})` : ""].filter((s) => s).join(" ");
}

export function onStationChanged(f: () => void): Promise<UnlistenFn> {
  return listen("station-changed", () => f());
}

export function onRunEvent(f: (e: RunEvent) => void): Promise<UnlistenFn> {
  return listen<RunEvent>("run-event", (event) => f(event.payload));
}
