// The web client's timings in headless Chromium, for bench/web.py:
//
//   node bench.mjs BASE_URL SETTINGS_JSON
//
// SETTINGS_JSON: {"loads": n, "messages": n, "sender": {email, password}, "receiver": {...},
// "chatId": id}. Prints one JSON object: the first article card on Home (cold and warm loads,
// ms since navigation start), the JS and CSS that load fetched, the API calls it made, and
// the delays from pressing "Send" in one browser to the message showing in the other.
import { launch } from "./browser.mjs";

const [baseUrl, settingsJson] = process.argv.slice(2);
const base = baseUrl.replace(/\/$/, "");
const settings = JSON.parse(settingsJson);
const TIMEOUT = 30000;

// Installed before any script of the page: when the first article card appears, and when each
// benchmark message shows, by the page's own clock (performance.timeOrigin is shared by
// every page of the machine, so times of two browsers compare).
function instrument() {
  window.__seen = {};
  const observer = new MutationObserver(() => {
    if (window.__firstCard === undefined && document.querySelector("main article")) {
      window.__firstCard = performance.now();
    }
    for (const match of (document.body?.textContent ?? "").matchAll(/bench-message-(\d+)\./g)) {
      window.__seen[match[1]] ??= performance.timeOrigin + performance.now();
    }
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true });
  window.__sent = {};
  document.addEventListener(
    "keydown",
    (event) => {
      const box = event.target;
      if (
        event.key !== "Enter" ||
        !(box instanceof HTMLTextAreaElement || box instanceof HTMLInputElement)
      )
        return;
      const match = box.value.match(/bench-message-(\d+)\./);
      if (match) window.__sent[match[1]] = performance.timeOrigin + performance.now();
    },
    true,
  );
}

function summary(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, median: at(0.5), p95: at(0.95), min: sorted[0], max: sorted.at(-1) };
}

async function home(browser) {
  const cold = [];
  const warm = [];
  let fetched = null;
  let apiCalls = [];
  let timeline = null;
  for (let i = 0; i < settings.loads; i++) {
    const context = await browser.newContext();
    await context.addInitScript(instrument);
    const page = await context.newPage();
    const calls = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith("/api/"))
        calls.push(`${request.method()} ${url.pathname}${url.search}`);
    });
    await page.goto(`${base}/`);
    await page.waitForFunction(() => window.__firstCard !== undefined, null, { timeout: TIMEOUT });
    cold.push(await page.evaluate(() => window.__firstCard));
    if (i === 0) {
      apiCalls = [...calls];
      timeline = await page.evaluate(() => {
        const [navigation] = performance.getEntriesByType("navigation");
        const api = performance
          .getEntriesByType("resource")
          .filter((entry) => new URL(entry.name).pathname.startsWith("/api/articles"));
        return {
          html: navigation.responseEnd,
          scriptsRun: navigation.domContentLoadedEventEnd,
          articlesRequested: api[0]?.startTime,
          articlesAnswered: api[0]?.responseEnd,
          firstCard: window.__firstCard,
        };
      });
      fetched = await page.evaluate(() => {
        const sum = (suffix) =>
          performance
            .getEntriesByType("resource")
            .filter((entry) => new URL(entry.name).pathname.endsWith(suffix))
            .reduce((total, entry) => total + entry.encodedBodySize, 0);
        return { js: sum(".js"), css: sum(".css") };
      });
    }
    await page.reload();
    await page.waitForFunction(() => window.__firstCard !== undefined, null, { timeout: TIMEOUT });
    warm.push(await page.evaluate(() => window.__firstCard));
    await context.close();
  }
  return { cold: summary(cold), warm: summary(warm), fetched, apiCalls, timeline };
}

async function signedIn(browser, person) {
  const context = await browser.newContext();
  await context.addInitScript(instrument);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(person.email);
  await page.getByLabel("Password").fill(person.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("link", { name: "Chat", exact: true }).waitFor();
  await page.goto(`${base}/chat/${settings.chatId}`);
  await page.getByRole("textbox", { name: "Message" }).waitFor();
  return { context, page };
}

async function messages(browser) {
  const sender = await signedIn(browser, settings.sender);
  const receiver = await signedIn(browser, settings.receiver);
  const box = sender.page.getByRole("textbox", { name: "Message" });
  const delays = [];
  const toRequest = [];
  const request = [];
  const toShown = [];
  for (let i = 0; i < settings.messages; i++) {
    await sender.page.evaluate(() => performance.clearResourceTimings());
    await box.fill(`bench-message-${i}.`);
    await box.press("Enter");
    await receiver.page.waitForFunction((n) => window.__seen[n] !== undefined, String(i), {
      timeout: TIMEOUT,
    });
    const sent = await sender.page.evaluate((n) => window.__sent[n], String(i));
    const seen = await receiver.page.evaluate((n) => window.__seen[n], String(i));
    delays.push(seen - sent);
    // Where the time went: the sender's POST, from its resource timing (same clock).
    const post = await sender.page.evaluate(() => {
      const entry = performance
        .getEntriesByType("resource")
        .find((e) => /\/api\/chats\/\d+\/messages$/.test(new URL(e.name).pathname));
      return entry
        ? {
            start: performance.timeOrigin + entry.startTime,
            end: performance.timeOrigin + entry.responseEnd,
          }
        : null;
    });
    if (post) {
      toRequest.push(post.start - sent);
      request.push(post.end - post.start);
      toShown.push(seen - post.end);
    }
  }
  await sender.context.close();
  await receiver.context.close();
  return {
    ...summary(delays),
    keyToRequest: summary(toRequest),
    request: summary(request),
    answeredToShown: summary(toShown),
  };
}

const browser = await launch();
try {
  const result = { home: await home(browser), messages: await messages(browser) };
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
