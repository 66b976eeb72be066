import { describe, expect, it } from "vitest";
import { failureAdvice } from "../src/failures";
import { asApiError, errorLine } from "../src/api";
import { setLanguage } from "../src/i18n";
import { readFileSync } from "node:fs";
import type { ApiError } from "../src/bindings/ApiError";
import type { FailureCode } from "../src/bindings/FailureCode";

const failure: ApiError = {
  code: "CSR_SIGNATURE_INVALID",
  what: "The board's certificate request has an invalid signature.",
  todo: "Set the board aside for engineering.",
  detail: null,
};

const withCode = (code: FailureCode): ApiError => ({ code, what: "w.", todo: "t.", detail: "d" });

describe("failure advice", () => {
  it("is the core's own fields in English", () => {
    setLanguage("en");
    expect(failureAdvice(failure)).toEqual({ what: failure.what, todo: failure.todo, original: null, detail: null });
    expect(failureAdvice({ ...failure, detail: "bad DER" })).toMatchObject({ detail: "bad DER" });
  });

  it("is translated per code in German, keeping the core's English words and the detail", () => {
    setLanguage("de");
    const a = failureAdvice({ ...failure, detail: "sig" });
    expect(a.what).toContain("ungültige Signatur");
    expect(a.todo).toBe("Platine für die Technik beiseitelegen.");
    expect(a.original).toBe(`${failure.what} ${failure.todo}`);
    expect(a.detail).toBe("sig");
    // A code without German advice shows the core's fields as they are.
    expect(failureAdvice(withCode("WEAK_PIN"))).toEqual({ what: "w.", todo: "t.", original: null, detail: "d" });
    setLanguage("en");
  });

  it("has German advice for every failure code the README lists", () => {
    const readme = readFileSync(`${process.cwd()}/../README.md`, "utf8");
    const section = readme.slice(readme.indexOf("## Failure codes"), readme.indexOf("Each comes with an operator message"));
    const codes = [...section.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1] as FailureCode);
    expect(codes.length).toBeGreaterThan(25);
    for (const code of codes) expect(failureAdvice(withCode(code), "de").original, code).toBe("w. t.");
  });

  it("has German advice for the other codes an operator's tile can show", () => {
    const tile: FailureCode[] = ["INTERRUPTED", "BUSY", "STATION", "LOG", "UI"];
    for (const code of tile) expect(failureAdvice(withCode(code), "de").original, code).toBe("w. t.");
  });
});

describe("errors outside the station", () => {
  it("take the station's shape with code UI", () => {
    const e = asApiError(new Error("invoke failed"));
    expect(e.code).toBe("UI");
    expect(e.what && e.todo).toBeTruthy();
    expect(e.detail).toContain("invoke failed");
    expect(asApiError(failure)).toBe(failure);
    expect(errorLine({ ...failure, detail: "x" })).toBe(`CSR_SIGNATURE_INVALID: ${failure.what} ${failure.todo} (x)`);
  });
});
