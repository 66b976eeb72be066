import { describe, expect, it } from "vitest";
import { ScannerInput, SCAN_GAP_MS, classify } from "../src/scanner";

function type(s: ScannerInput, text: string, start: number, gap: number) {
  let now = start;
  let result = null;
  for (const ch of text) {
    result = s.feed(ch, now) ?? result;
    now += gap;
  }
  return s.feed("Enter", now) ?? result;
}

describe("scanner input", () => {
  it("takes a fast burst ending in Enter as a scan", () => {
    const s = new ScannerInput();
    expect(type(s, "OP-1234", 0, 8)).toEqual({ kind: "badge", value: "OP-1234", source: "scanner" });
    expect(type(s, "0123456789ABCDEF", 1000, 5)).toEqual({ kind: "uid", value: "0123456789ABCDEF", source: "scanner" });
  });

  it("takes slow typing as manual entry", () => {
    const s = new ScannerInput();
    expect(type(s, "A1B2", 0, SCAN_GAP_MS + 100)?.source).toBe("manual");
  });

  it("ignores modifier keys and resets on Escape", () => {
    const s = new ScannerInput();
    s.feed("Shift", 0);
    s.feed("X", 1);
    s.feed("Escape", 2);
    expect(type(s, "OP-9", 10, 5)?.value).toBe("OP-9");
  });

  it("refuses what is neither a badge nor a UID", () => {
    expect(classify("hello world", "manual")).toBeNull();
    expect(classify("op:77", "scanner")?.kind).toBe("badge");
  });
});
