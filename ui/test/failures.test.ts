import { describe, expect, it } from "vitest";
import { failureAdvice } from "../src/failures";
import { setLanguage } from "../src/i18n";
import { readFileSync } from "node:fs";

const failure = { code: "CSR_SIGNATURE_INVALID", message: "The board's certificate request has an invalid signature. Set the board aside for engineering." };

describe("failure advice", () => {
  it("is the core's own message in English", () => {
    setLanguage("en");
    expect(failureAdvice(failure)).toEqual({ what: "The board's certificate request has an invalid signature.", todo: "Set the board aside for engineering.", detail: null });
  });

  it("is translated per code in German, keeping the core's message as the detail", () => {
    setLanguage("de");
    const a = failureAdvice(failure);
    expect(a.what).toContain("ungültige Signatur");
    expect(a.todo).toBe("Platine für die Technik beiseitelegen.");
    expect(a.detail).toBe(failure.message);
    expect(failureAdvice({ code: "SOMETHING_NEW", message: "A new thing. Call engineering." })).toEqual({ what: "A new thing.", todo: "Call engineering.", detail: null });
    setLanguage("en");
  });

  it("has German advice for every failure code the README lists", () => {
    const readme = readFileSync(`${process.cwd()}/../README.md`, "utf8");
    const section = readme.slice(readme.indexOf("## Failure codes"), readme.indexOf("Each comes with an operator message"));
    const codes = [...section.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(25);
    for (const code of codes) expect(failureAdvice({ code, message: "x" }, "de").detail, code).toBe("x");
  });
});
