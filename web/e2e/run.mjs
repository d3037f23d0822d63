// The web client end to end in Chromium, as two people in two browser contexts:
//
//   node run.mjs BASE_URL MAIL_API_URL [SCREENSHOT_FOLDER]
//
// Controls are found by role and accessible name only: the names are the client's contract.
// Fails on any console error, uncaught exception, unexpected failed request or request to
// another origin; saves a screenshot of each main page.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, Watch } from "./browser.mjs";

const [baseUrl, mailApi, shots = "screenshots"] = process.argv.slice(2);
if (!baseUrl || !mailApi) {
  console.error("usage: node run.mjs BASE_URL MAIL_API_URL [SCREENSHOT_FOLDER]");
  process.exit(2);
}
const base = baseUrl.replace(/\/$/, "");
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS ?? 20000);
// A scheduled message is due within the minute after it is set, and then delivered.
const SCHEDULE_TIMEOUT = 100000;
const run = Date.now().toString(36).slice(-5);
const anna = { username: `anna${run}`, email: `anna${run}@example.com`, password: "anna-pass-1" };
const ben = { username: `ben${run}`, email: `ben${run}@example.com`, password: "ben-pass-12" };
const title = `Tomato soup ${run}`;
// A 1x1 PNG, the recipe's photo.
const PHOTO = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

mkdirSync(shots, { recursive: true });
const watch = new Watch(base);
const pages = new Map(); // label -> page, for a screenshot of each when the run fails
const steps = [];
let current = "start";

function step(name) {
  current = name;
  steps.push(name);
  console.log(`- ${name}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

function button(page, name) {
  return page.getByRole("button", { name, exact: typeof name === "string" });
}

function link(page, name) {
  return page.getByRole("link", { name, exact: typeof name === "string" });
}

/** A form field by its label's exact text. */
function field(page, name) {
  return page.getByLabel(name, { exact: true });
}

/** A control that may be a link or a button (the "Message" action of a profile). */
function action(page, name) {
  return button(page, name).or(link(page, name)).first();
}

async function mailTo(address, subject) {
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const search = await fetch(
      `${mailApi}/api/v1/search?query=${encodeURIComponent(`to:${address}`)}`,
    );
    const listing = await search.json();
    const found = listing.messages.find((m) => m.Subject.toLowerCase().includes(subject));
    if (found) {
      const message = await fetch(`${mailApi}/api/v1/message/${found.ID}`);
      return (await message.json()).Text;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no mail "${subject}" to ${address}`);
}

async function signUp(page, person) {
  await page.goto(`${base}/`);
  await link(page, "Sign up").first().click();
  await field(page, "Username").fill(person.username);
  await field(page, "Email").fill(person.email);
  await field(page, "Password").fill(person.password);
  await button(page, "Sign up").click();
  await link(page, "Chat").waitFor();
}

/** A moment a little ahead, as a datetime-local field's value in the page's time zone. */
async function soon(page, seconds) {
  return page.evaluate((ahead) => {
    const at = new Date(Date.now() + ahead * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return (
      `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}` +
      `T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`
    );
  }, seconds);
}

async function journey(browser) {
  const annaContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const benContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  annaContext.setDefaultTimeout(TIMEOUT);
  benContext.setDefaultTimeout(TIMEOUT);
  const a = watch.page(await annaContext.newPage(), "anna");
  const b = watch.page(await benContext.newPage(), "ben");
  pages.set("anna", a);
  pages.set("ben", b);

  step("both sign up");
  await Promise.all([signUp(a, anna), signUp(b, ben)]);

  step("anna confirms her e-mail from the link in the mail");
  const mail = await mailTo(anna.email, "confirm");
  const confirmLink = mail.match(/https?:\/\/\S+\/confirm-email\?token=[\w-]+/)[0];
  await a.goto(`${base}${new URL(confirmLink).pathname}${new URL(confirmLink).search}`);
  await a.getByText(/e-mail address is confirmed/i).waitFor();

  step("anna publishes a recipe with two ingredients and a photo");
  await link(a, "New recipe").click();
  await field(a, "Title").fill(title);
  await field(a, "Description").fill("A warm soup for cold days");
  await field(a, "Body").fill("Roast the **tomatoes**, then blend.\n\n<script>alert(1)</script>");
  await field(a, "Tags").fill("soup, dinner");
  await field(a, "Complexity").selectOption({ label: "Easy" });
  await field(a, "Cooking time (minutes)").fill("45");
  const rows = () => field(a, "Ingredient");
  if ((await rows().count()) === 0) await button(a, "Add ingredient").click();
  await rows().nth(0).fill("Tomatoes");
  await field(a, "Quantity").nth(0).fill("1 kg");
  await button(a, "Add ingredient").click();
  await rows().nth(1).fill("Basil");
  await field(a, "Quantity").nth(1).fill("a handful");
  const photoUploaded = a.waitForResponse(
    (r) => r.url().endsWith("/api/media") && r.request().method() === "POST",
  );
  await field(a, "Photo").setInputFiles({ name: "soup.png", mimeType: "image/png", buffer: PHOTO });
  const uploaded = await photoUploaded;
  if (uploaded.status() !== 201 && uploaded.status() !== 200) {
    throw new Error(`the photo upload answered ${uploaded.status()}`);
  }
  await a.locator('img[src*="/api/media/"], img[src^="blob:"]').first().waitFor();
  await shot(a, "editor");
  await button(a, "Publish").click();
  await a.waitForURL(/\/article\//);
  await a.getByRole("heading", { name: title }).waitFor();
  await a.getByText("Tomatoes").first().waitFor();
  await a.getByText("a handful").first().waitFor();
  await a.locator('img[src*="/api/media/"]').first().waitFor();
  if ((await a.locator("article script, main script").count()) > 0) {
    throw new Error("raw HTML from the recipe's body reached the page");
  }
  await shot(a, "recipe");
  const recipeUrl = a.url();

  step("ben follows anna from her profile");
  await b.goto(`${base}/profile/${anna.username}`);
  await b.getByRole("heading", { name: anna.username }).waitFor();
  await button(b, "Follow").click();
  await button(b, "Unfollow").waitFor();
  await b.getByText(title).first().waitFor();
  await shot(b, "profile");

  step("ben sees the recipe in Your feed");
  await link(b, "Home").click();
  await b.getByRole("tab", { name: "Your feed" }).or(link(b, "Your feed")).first().click();
  await link(b, title).first().waitFor();
  await shot(b, "home");

  step("ben likes the recipe and comments on it");
  await link(b, title).first().click();
  await b.waitForURL(recipeUrl);
  await button(b, /^Like\b/)
    .first()
    .click();
  await button(b, /^Unlike\b/)
    .first()
    .waitFor();
  await field(b, "Comment").fill("Made it tonight, lovely.");
  await button(b, "Post comment").click();
  await b.getByText("Made it tonight, lovely.").waitFor();

  step("anna's bell counts the follow, the like and the comment live; reading them clears it");
  // Her recipe's page has stayed open since she published it: the socket brought them.
  await link(a, "Notifications, 3 unread").click();
  await a.getByRole("heading", { name: "Notifications" }).waitFor();
  const listed = a.getByRole("list", { name: "Notifications" });
  await listed.getByText("followed you").waitFor();
  await listed.getByText(`liked your recipe “${title}”`).waitFor();
  await listed.getByText(`commented on your recipe “${title}”`).waitFor();
  await shot(a, "notifications");
  await button(a, "Mark all as read").click();
  await link(a, "Notifications").waitFor();
  await a.getByText("Nothing unread.").waitFor();
  await a.goto(recipeUrl);

  step("anna sees the like and the comment");
  await a.reload();
  await a.getByText("Made it tonight, lovely.").waitFor();
  // The count beside the button, as a screen reader reads it: "1 like".
  await button(a, /^Like\b/)
    .first()
    .locator("xpath=..")
    .getByText(/^\s*1\s*like\s*$/)
    .waitFor();

  step("ben opens a direct chat from anna's profile and writes");
  await b.goto(`${base}/profile/${anna.username}`);
  await action(b, "Message").click();
  await b.waitForURL(/\/chat\/\d+/);
  const chatUrl = b.url();
  const benBox = b.getByRole("textbox", { name: "Message" });
  await benBox.fill("Hello Anna, loved the soup!");
  await benBox.press("Enter");
  await b.getByText("Hello Anna, loved the soup!").waitFor();

  step("the chat's details name who each action is for");
  await button(b, "Details").click();
  await button(b, `Report ${anna.username}`).click();
  await b.getByText(`Report ${anna.username} to the moderators`).waitFor();
  await button(b, "Details").click();

  step("anna's two tabs show the unread chat; opening it in one clears the other live");
  const a2 = watch.page(await annaContext.newPage(), "anna/second-tab");
  pages.set("anna-second-tab", a2);
  await Promise.all([a.goto(`${base}/chat`), a2.goto(`${base}/chat`)]);
  await a.getByText("1 unread").waitFor();
  await a2.getByText("1 unread").waitFor();
  await link(a, new RegExp(ben.username)).first().click();
  await a.getByText("Hello Anna, loved the soup!").waitFor();
  await a2.getByText("1 unread").waitFor({ state: "detached" });

  step("messages travel live both ways");
  const annaBox = a.getByRole("textbox", { name: "Message" });
  await annaBox.fill("Thank you Ben!");
  await button(a, "Send").click();
  await b.getByText("Thank you Ben!").waitFor();
  await benBox.fill("Will you post the bread too?");
  await button(b, "Send").click();
  await a.getByText("Will you post the bread too?").waitFor();

  step("anna sends an attachment that ben downloads under its name");
  await field(a, "Attach file").setInputFiles({
    name: "shopping-list.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("tomatoes\nbasil\n"),
  });
  await annaBox.fill("The list");
  await button(a, "Send").click();
  const attachment = b
    .getByRole("link", { name: /shopping-list\.txt/ })
    .or(b.getByRole("button", { name: /shopping-list\.txt/ }));
  await attachment.first().waitFor();
  const [download] = await Promise.all([b.waitForEvent("download"), attachment.first().click()]);
  if (download.suggestedFilename() !== "shopping-list.txt") {
    throw new Error(`the download is named ${download.suggestedFilename()}`);
  }

  step("anna schedules a message that arrives by itself");
  await annaBox.fill("A message from the past");
  await field(a, "Send at").fill(await soon(a, 6));
  await button(a, "Schedule").click();
  await b.getByText("A message from the past").waitFor({ timeout: SCHEDULE_TIMEOUT });
  await shot(b, "chat");
  if (b.url() !== chatUrl) throw new Error(`ben left the chat for ${b.url()}`);

  step("Swagger UI works under its own policy");
  const docs = watch.page(await benContext.newPage(), "ben/docs");
  await docs.goto(`${base}/api/docs`);
  await docs.getByText("Chop-chop API").first().waitFor();
  await docs.close();

  step("anna signs out and her old token is refused");
  const token = watch.tokens.get("anna");
  if (!token) throw new Error("anna's pages never sent a token");
  let signOut = button(a, "Sign out");
  if ((await signOut.count()) === 0) {
    await link(a, "Settings").click();
    signOut = button(a, "Sign out");
  }
  await signOut.click();
  await link(a, "Sign in").first().waitFor();
  const refused = await fetch(`${base}/api/user`, { headers: { Authorization: token } });
  if (refused.status !== 401) throw new Error(`the old token answered ${refused.status}, not 401`);
  await a2.close();
  await annaContext.close();
  await benContext.close();
}

const browser = await launch();
let failure = null;
try {
  await journey(browser);
} catch (error) {
  failure = error;
  for (const [label, page] of pages) {
    await page
      .screenshot({ path: join(shots, `failed-${label}.png`), fullPage: true })
      .catch(() => undefined);
  }
} finally {
  await browser.close();
}
if (failure) console.error(`FAILED at "${current}": ${failure.stack ?? failure}`);
// The first ones say what went wrong; a loop that repeats a failing request says it a thousand times.
for (const problem of watch.problems.slice(0, 40)) console.error(`PROBLEM ${problem}`);
if (watch.problems.length > 40)
  console.error(`... and ${watch.problems.length - 40} more problems`);
if (failure || watch.problems.length) process.exit(1);
console.log(`passed: ${steps.length} steps; screenshots in ${shots}`);
