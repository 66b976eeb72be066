// Barcode scanners are keyboards that type fast and end with Enter. A burst of keys
// with short gaps ending in Enter is a scan; slower typing ending in Enter is manual
// entry (the fallback). Either way the value is classified as a badge or a UID.

export type Scanned = { kind: "badge" | "uid"; value: string; source: "scanner" | "manual" };

/** Longest gap between a scanner's keystrokes, ms. */
export const SCAN_GAP_MS = 50;

const BADGE = /^(OP|BADGE)[-:]?[A-Z0-9-]{1,32}$/i;
const UID = /^[A-Z0-9-]{1,64}$/;

export function classify(value: string, source: Scanned["source"]): Scanned | null {
  const v = value.trim();
  if (BADGE.test(v)) return { kind: "badge", value: v.toUpperCase(), source };
  if (UID.test(v)) return { kind: "uid", value: v, source };
  return null;
}

export class ScannerInput {
  private buffer = "";
  private last = -Infinity;
  private slow = false;

  /** Feeds one key (KeyboardEvent.key) at `now` ms; returns a value when Enter ends one. */
  feed(key: string, now: number): Scanned | null {
    if (key === "Enter") {
      const value = this.buffer;
      const source = this.slow || value.length < 3 ? "manual" : "scanner";
      this.reset();
      return value ? classify(value, source) : null;
    }
    if (key === "Escape") {
      this.reset();
      return null;
    }
    if (key.length !== 1) return null;
    if (this.buffer && now - this.last > SCAN_GAP_MS) this.slow = true;
    this.buffer += key;
    this.last = now;
    return null;
  }

  private reset(): void {
    this.buffer = "";
    this.slow = false;
    this.last = -Infinity;
  }
}
