import { defineConfig } from "vitest/config";

// Library mode: one ES module with no dependencies, which a device's page loads as it is.
export default defineConfig({
  clearScreen: false,
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    minify: true,
    lib: { entry: "src/index.ts", formats: ["es"], fileName: () => "refill-buttons.js" },
  },
  test: { environment: "jsdom", include: ["src/**/*.test.ts"], env: { TZ: "UTC" } },
});
