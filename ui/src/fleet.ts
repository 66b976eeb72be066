// The fleet link on the operator screen: connected or cut off, records waiting, last
// sync, UID numbers left, alarms. A bench keeps provisioning when cut off; this line is
// how the operator (and the engineer walking by) knows it is.

import { t } from "./i18n";
import type { FleetView } from "./bindings/FleetView";

export type FleetLine = { state: "ok" | "cut-off" | "warning"; text: string };

/** Below this many UID numbers left the line warns (the sync leases more when it can). */
export const FEW_NUMBERS = 20;

/** The line for `view`; null without a fleet. `now` formats the last sync's age. */
export function fleetLine(view: FleetView | null, now: Date = new Date()): FleetLine | null {
  if (!view) return null;
  const parts: string[] = [view.connected ? t("fleet.connected") : t("fleet.cut_off")];
  parts.push(t("fleet.waiting", { n: view.waiting }));
  parts.push(view.last_sync ? t("fleet.last_sync", { ago: ago(view.last_sync, now) }) : t("fleet.never"));
  if (view.uid_numbers_left !== null) parts.push(t("fleet.numbers", { n: view.uid_numbers_left }));
  if (view.conflicts > 0) parts.push(t("fleet.conflicts", { n: view.conflicts }));
  const warning = view.conflicts > 0 || (view.uid_numbers_left !== null && view.uid_numbers_left < FEW_NUMBERS);
  return { state: !view.connected ? "cut-off" : warning ? "warning" : "ok", text: parts.join(" · ") };
}

/** "12 s", "4 min", "3 h" since an RFC 3339 time. */
function ago(rfc3339: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - new Date(rfc3339).getTime()) / 1000));
  if (!Number.isFinite(seconds)) return rfc3339;
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}
