// Node's file reading, for tests that check the UI against the repository's docs
// (the UI itself never reads files).
declare module "node:fs" {
  export function readFileSync(path: string, encoding: "utf8"): string;
}
declare const process: { cwd(): string };
