// What start-up found, in the operator's language: interrupted runs closed (and which
// board to run again), a CRL published for revocations that were waiting, a new CA.

import { t } from "./i18n";
import type { StartupReport } from "./bindings/StartupReport";
import type { InterruptedRun } from "./bindings/InterruptedRun";

function board(run: InterruptedRun): string {
  if (run.uid) return t("startup.board.uid", { uid: run.uid });
  if (run.hardware_id) return t("startup.board.hw", { hw: run.hardware_id });
  return t("startup.board.unknown");
}

/** One sentence per finding; empty when start-up found nothing to tell. */
export function startupNotes(report: StartupReport | null): string[] {
  if (!report) return [];
  const notes: string[] = [];
  if (report.ca_created) notes.push(t("startup.ca_created"));
  for (const run of report.interrupted) {
    const where = run.slot ? t("startup.where", { slot: run.slot }) : "";
    notes.push(t("startup.interrupted", { board: board(run), where }));
  }
  if (report.crl.state === "published") notes.push(t("startup.crl.published", { number: report.crl.number, revoked: report.crl.revoked }));
  if (report.crl.state === "failed") notes.push(t("startup.crl.failed", { detail: report.crl.detail }));
  return notes;
}
