import { fileURLToPath, URL } from "node:url";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vitest/config";

// The API runs behind the gateway of `make run`; the dev server proxies it, websockets included.
const gateway = process.env.CHOPCHOP_GATEWAY ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [svelte()],
  resolve: {
    alias: { $lib: fileURLToPath(new URL("./src/lib", import.meta.url)) },
    // Components under test run as in the browser (Svelte's client build, not its server one).
    ...(process.env.VITEST ? { conditions: ["browser"] } : {}),
  },
  server: {
    port: 5173,
    strictPort: false,
    proxy: { "/api": { target: gateway, ws: true, changeOrigin: false } },
  },
  // `npm run preview` serves the build under the same policy as the gateway, so that anything
  // the policy would refuse shows up before it ships.
  preview: {
    port: 4173,
    proxy: { "/api": { target: gateway, ws: true, changeOrigin: false } },
    headers: {
      "Content-Security-Policy":
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; " +
        "frame-ancestors 'none'; form-action 'self'",
    },
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    target: "es2022",
    // One CSS file per chunk, no styles injected at runtime (the CSP allows no inline style).
    cssCodeSplit: true,
    // Small assets are still files: no data: URLs, which the CSP would refuse.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "jsdom",
  },
});
