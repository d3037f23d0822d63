// The system's Chromium under playwright-core (never a downloaded browser), and a watch on every
// page that turns console errors, uncaught exceptions, failed requests and requests to another
// origin into problems the run reports and fails on.
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Everything that went wrong in the browser, and what a step said it expects to fail. */
export class Watch {
  constructor(baseUrl) {
    this.origin = new URL(baseUrl).origin;
    this.problems = [];
    this.expected = []; // { method, path: RegExp, status } of answers a step expects
    this.tokens = new Map(); // label -> the last Authorization header its pages sent
  }

  /** A step expects `method path` to answer `status` (e.g. a refused old token). */
  expect(method, path, status) {
    this.expected.push({ method, path, status });
  }

  isExpected(method, url, status) {
    const path = new URL(url).pathname;
    return this.expected.some(
      (e) => e.method === method && e.path.test(path) && (e.status === status || e.status === 0),
    );
  }

  page(page, label) {
    const problem = (text) => this.problems.push(`${label}: ${text}`);
    page.on("request", (request) => {
      const url = request.url();
      if (
        !url.startsWith("data:") &&
        !url.startsWith("blob:") &&
        new URL(url).origin !== this.origin
      ) {
        problem(`request to another origin: ${request.method()} ${url}`);
      }
      const auth = request.headers()["authorization"];
      if (auth) this.tokens.set(label.split("/")[0], auth);
    });
    page.on("response", (response) => {
      const request = response.request();
      if (
        response.status() >= 400 &&
        !this.isExpected(request.method(), response.url(), response.status())
      ) {
        problem(`${request.method()} ${response.url()} answered ${response.status()}`);
      }
    });
    page.on("requestfailed", (request) => {
      const error = request.failure()?.errorText ?? "failed";
      // A read the application cancels (it left the page, or a newer search replaced it) is
      // its own decision, not a failure; anything else that fails is.
      if (error === "net::ERR_ABORTED" && request.method() === "GET") return;
      if (this.isExpected(request.method(), request.url(), 0)) return;
      problem(`${request.method()} ${request.url()} failed: ${error}`);
    });
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const where = message.location()?.url ?? "";
      // Chromium logs every answer >= 400 as a console error; those are judged above.
      if (/Failed to load resource: the server responded/.test(message.text()) && where) return;
      problem(`console error: ${message.text()} ${where}`);
    });
    page.on("pageerror", (error) => problem(`uncaught: ${error.message}`));
    return page;
  }
}
