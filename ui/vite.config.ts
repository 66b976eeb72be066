import { defineConfig } from "vite";

// The window loads the built files (tauri.conf.json frontendDist = ui/dist).
export default defineConfig({
  clearScreen: false,
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  test: { environment: "happy-dom" },
} as never);
