import { describe, expect, it } from "vitest";
import { catalogues, setLanguage, t } from "../src/i18n";

describe("string catalogue", () => {
  it("has every key in every language", () => {
    const keys = Object.keys(catalogues.en).sort();
    for (const [lang, table] of Object.entries(catalogues)) expect(Object.keys(table).sort(), lang).toEqual(keys);
  });

  it("fills parameters", () => {
    setLanguage("de");
    expect(t("step", { index: 2, total: 10, step: "csr" })).toBe("Schritt 2 von 10: csr");
    setLanguage("en");
    expect(t("state.pass")).toBe("PASS");
  });
});
