// Operator advice per failure code, by language. The station sends what happened
// and what to do as separate English fields, with the specifics (which port, which
// step); a language here words both in the operator's language by code and keeps the
// core's English underneath. Codes without an entry (and English) show the core's
// fields as they are.

import type { ApiError } from "./bindings/ApiError";
import type { FailureCode } from "./bindings/FailureCode";
import { language } from "./i18n";

const SET_ASIDE = "Platine für die Technik beiseitelegen.";
const RETRY = "Erneut starten; tritt es wieder auf, Platine für die Technik beiseitelegen.";

const de: Partial<Record<FailureCode, [string, string]>> = {
  PORT_OPEN_FAILED: ["Die Schnittstelle dieses Platzes lässt sich nicht öffnen.", "Kabel und Adapter prüfen, dann erneut starten."],
  PROBE_FAILED: ["Die Debug-Probe oder der Chip antwortet nicht.", "Probe-Kabel und Sitz der Platine prüfen, dann erneut starten."],
  FLASH_FAILED: ["Die Firmware ließ sich nicht schreiben oder nicht prüfen.", SET_ASIDE],
  DEVICE_TIMEOUT: ["Die Platine hat nicht rechtzeitig geantwortet.", "Sitz der Platine prüfen und erneut starten."],
  LINK_LOST: ["Die Verbindung zur Platine ist abgebrochen.", "Platine neu einlegen und erneut starten: der Lauf wird sicher fortgesetzt."],
  LINK_CORRUPT: ["Die Verbindung zur Platine ist gestört.", "Kabel prüfen und erneut starten."],
  FRAME_TOO_LARGE: ["Die Platine hat eine übergroße Nachricht gesendet.", SET_ASIDE],
  PROTOCOL_VIOLATION: ["Die Platine hat eine ungültige Antwort gesendet.", SET_ASIDE],
  UNSUPPORTED_PROTOCOL: ["Die Firmware spricht eine Protokollversion, die diese Station nicht kennt.", "Firmware-Stand prüfen und die Technik rufen."],
  DEVICE_ERROR: ["Die Platine hat einen Fehler gemeldet.", RETRY],
  ALREADY_PROVISIONED: ["Diese Platine hat bereits eine Identität.", "Platine für die QS beiseitelegen."],
  UID_INVALID: ["Die UID ist ungültig (Format oder Prüfzeichen).", "Etikett erneut scannen oder ein anderes Etikett nehmen."],
  UID_COLLISION: ["Die UID gehört bereits zu einer anderen Platine.", "Platine und Etikett für die QS beiseitelegen."],
  KEY_UNSUPPORTED: ["Die Platine nutzt einen Schlüsseltyp, den die Station nicht zulässt.", SET_ASIDE],
  CSR_INVALID: ["Die Zertifikatsanforderung der Platine ist ungültig. Es wurde kein Zertifikat ausgestellt.", SET_ASIDE],
  CSR_SIGNATURE_INVALID: ["Die Zertifikatsanforderung hat eine ungültige Signatur. Es wurde kein Zertifikat ausgestellt.", SET_ASIDE],
  CSR_KEY_MISMATCH: ["Die Zertifikatsanforderung passt nicht zum Schlüssel der Platine. Es wurde kein Zertifikat ausgestellt.", SET_ASIDE],
  CSR_ALGORITHM_REJECTED: ["Die Zertifikatsanforderung nutzt ein nicht zugelassenes Verfahren. Es wurde kein Zertifikat ausgestellt.", SET_ASIDE],
  SIGNING_FAILED: ["Die Station konnte das Zertifikat nicht signieren.", "Die Technik rufen."],
  INSTALL_REJECTED: ["Die Platine hat das Zertifikat nicht übernommen.", RETRY],
  READBACK_MISMATCH: ["Das zurückgelesene Zertifikat stimmt nicht mit dem geschriebenen überein.", SET_ASIDE],
  SELFTEST_FAILED: ["Der Verbindungstest mit der neuen Identität ist fehlgeschlagen. Es wird kein Etikett gedruckt.", SET_ASIDE],
  BROKER_UNAVAILABLE: ["Die Station erreicht den Broker nicht; die Platine ist nicht schuld.", "Die Technik rufen, danach die Platine erneut starten."],
  LABEL_FAILED: ["Das Etikett konnte nicht erstellt werden.", "Die Technik rufen."],
  PRINT_FAILED: ["Das Etikett wurde nicht gedruckt.", "Drucker prüfen, dann die Platine erneut starten: es wird nichts neu signiert."],
  LOG_FAILED: ["Das QS-Protokoll konnte nicht geschrieben werden.", "Die Technik rufen (Speicherplatz prüfen)."],
  CANCELLED: ["Der Lauf wurde abgebrochen.", "Platine erneut starten."],
  CRL_PUBLISH_FAILED: ["Die Sperrliste konnte nicht veröffentlicht werden.", "Die Technik rufen."],
  KEY_REUSED: ["Der Schlüssel der Platine gehört schon einem anderen Gerät. Es wurde nichts ausgestellt.", "Platine für die Technik beiseitelegen und die QS informieren."],
  KEY_INVALID: ["Die Platine meldete einen ungültigen Schlüssel. Es wurde nichts ausgestellt.", "Platine für die Technik beiseitelegen."],
  CSR_NOT_BOUND: ["Der Zertifikatsantrag der Platine gehört nicht zu diesem Lauf. Es wurde nichts ausgestellt.", "Platine für die Technik beiseitelegen."],
  FLEET_UNAVAILABLE: ["Die Station erreicht den Flottenserver nicht und darf ohne ihn nicht fortfahren; die Platine ist nicht schuld. Es wurde nichts ausgestellt.", "Die Technik rufen (Verbindung zum Flottenserver), danach die Platine erneut starten."],
  INTERRUPTED: ["Die Station wurde während dieses Laufs beendet (Absturz, Stromausfall).", "Platine erneut starten: der Lauf wird sicher fortgesetzt."],
  BUSY: ["Dieser Platz läuft bereits.", "Auf das Ergebnis warten."],
  STATION: ["Die Station ist dafür nicht bereit.", "Die Anwendung neu starten; tritt es wieder auf, die Technik rufen."],
  LOG: ["Das QS-Protokoll lässt sich nicht lesen oder schreiben.", "Die Technik rufen (Datenverzeichnis prüfen)."],
  UI: ["In der Oberfläche ist ein Fehler aufgetreten.", "Erneut versuchen; tritt es wieder auf, die Anwendung neu starten."],
};

const catalogues: Record<string, Partial<Record<FailureCode, [string, string]>>> = { de };

/** What an operator reads about a failure: what happened and what to do (in their
 * language when there is advice for the code), the core's English words when they
 * were translated, and the technical detail. */
export type Advice = { what: string; todo: string; original: string | null; detail: string | null };

export function failureAdvice(failure: ApiError, lang: string = language()): Advice {
  const entry = catalogues[lang]?.[failure.code];
  if (entry) return { what: entry[0], todo: entry[1], original: englishWords(failure), detail: failure.detail };
  return { what: failure.what, todo: failure.todo, original: null, detail: failure.detail };
}

/** The core's English words in one line: what happened, then what to do. */
export function englishWords(e: ApiError): string {
  return [e.what, e.todo].filter((s) => s).join(" ");
}
