/// <reference types="vitest" />
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

// The API's own paths; `npm run dev` forwards them to a running platform.
const API_PREFIXES = [
  "/auth", "/users", "/audio_recordings", "/reports", "/clients", "/tenant",
  "/audit_events", "/v1", "/healthz", "/readyz", "/docs", "/openapi.json",
];

// The built page carries the same policy the API sends (serve_app's security headers), so a
// build that needed inline scripts or styles would fail in the browser here too. Only in builds:
// the dev server injects an inline script for hot reloading.
const POLICY =
  "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'";

function contentSecurityPolicy(): Plugin {
  return {
    name: "fluently-csp",
    apply: "build",
    transformIndexHtml: (html) =>
      html.replace(
        '<meta charset="UTF-8" />',
        `<meta charset="UTF-8" />\n    <meta http-equiv="Content-Security-Policy" content="${POLICY}" />`,
      ),
  };
}

export default defineConfig({
  plugins: [react(), contentSecurityPolicy()],
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
