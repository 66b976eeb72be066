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
import type { StatsView } from "./bindings/StatsView";
import type { VerifyView } from "./bindings/VerifyView";

export type Commands = {
  station_info: { args: Record<string, never>; result: StationView };
  start_run: { args: { slot: string; operator: string | null; scannedUid: string | null }; result: null };
  reprint: { args: { uid: string; operator: string | null }; result: string };
  runs_page: { args: { query: RunQuery }; result: RunPage };
  run_detail: { args: { runId: string }; result: RunDetail };
  verify_log: { args: Record<string, never>; result: VerifyView };
  statistics: { args: { query: RunQuery }; result: StatsView };
  label_preview: { args: { template: string; fields: [string, string][] }; result: LabelPreview };
  label_template_text: { args: Record<string, never>; result: string };
};

export async function call<C extends keyof Commands>(command: C, args: Commands[C]["args"]): Promise<Commands[C]["result"]> {
  try {
    return await invoke<Commands[C]["result"]>(command, args);
  } catch (e) {
    throw asApiError(e);
  }
}

export function asApiError(e: unknown): ApiError {
  if (e && typeof e === "object" && "code" in e && "message" in e) return e as ApiError;
  return { code: "UI", message: String(e) };
}

export function onRunEvent(f: (e: RunEvent) => void): Promise<UnlistenFn> {
  return listen<RunEvent>("run-event", (event) => f(event.payload));
}
