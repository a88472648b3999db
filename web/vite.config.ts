/// <reference types="vitest" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API's own paths; `npm run dev` forwards them to a running platform.
const API_PREFIXES = [
  "/auth", "/users", "/audio_recordings", "/reports", "/clients", "/tenant",
  "/audit_events", "/v1", "/healthz", "/readyz", "/docs", "/openapi.json",
];

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false },
  server: {
    proxy: Object.fromEntries(API_PREFIXES.map((p) => [p, "http://127.0.0.1:8000"])),
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
  },
});
