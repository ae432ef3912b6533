// The technician's web UI in a real browser: Debian's chromium driven by
// playwright-core, against a running Fixpoint.
//
// Usage: node run.js BASE_URL ADMIN_KEY EMAIL PASSWORD SCREENSHOT_DIR
//   ADMIN_KEY seeds a company and a contact through the native API; EMAIL/PASSWORD
//   sign in (`fixpoint user create`). Screenshots of each page go to SCREENSHOT_DIR.
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const [BASE, KEY, EMAIL, PASSWORD, SHOTS] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

function check(condition, what) {
  if (!condition) {
    throw new Error("FAILED: " + what);
  }
  console.log("ok   " + what);
}

async function native(method, route, body) {
  const response = await fetch(BASE + "/api/v1" + route, {
    method,
    headers: { Authorization: "Bearer " + KEY, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(method + " " + route + ": " + response.status + " " + (await response.text()));
  return response.json();
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
}

(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const stamp = Date.now().toString(36);
  const company = await native("POST", "/companies", { name: "Browser Test Co " + stamp });
  const contact = await native("POST", "/contacts", {
    company_id: company.id, first_name: "Grace", last_name: "Hopper " + stamp, email: "grace." + stamp + "@browser.example",
  });
  const other = await native("POST", "/companies", { name: "Elsewhere Ltd " + stamp });
  await native("POST", "/contacts", { company_id: other.id, first_name: "Not", last_name: "Mine " + stamp });

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));

    // Sign in.
    await page.goto(BASE + "/");
    check(page.url().includes("/signin"), "a visitor is sent to sign in");
    await shot(page, "01-sign-in");
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(BASE + "/");
    check(await page.getByRole("heading", { name: "My work" }).isVisible(), "signed in to My work");
    await shot(page, "02-my-work");

    // A ticket for a company and one of its contacts.
    await page.keyboard.press("n");
    await page.waitForURL(/\/tickets\/new$/);
    await page.getByLabel("Company").selectOption({ label: company.name });
    const offered = await page.locator("#contact_id option:not([hidden])").allTextContents();
    check(offered.some((t) => t.includes("Hopper")) && !offered.some((t) => t.includes("Mine")),
      "the contact picker offers only the company's contacts");
    await page.getByLabel("Contact").selectOption({ label: "Grace Hopper " + stamp });
    const title = "Laptop " + stamp + " will not dock";
    await page.getByLabel("Title").fill(title);
    await page.getByLabel("Description").fill("The USB-C dock is not detected since this morning.");
    await shot(page, "03-new-ticket");
    await page.getByRole("button", { name: "Open ticket" }).click();
    await page.waitForURL(/\/tickets\/\d+$/);
    const ticketUrl = page.url();
    check(await page.getByRole("heading", { name: new RegExp(title) }).isVisible(), "the ticket is opened");

    // An internal note, 30 minutes of work, In Progress.
    await page.getByLabel("Note", { exact: true }).fill("Checked the dock firmware: outdated.");
    await page.getByLabel("Visible to").selectOption("internal");
    await page.getByRole("button", { name: "Add note" }).click();
    await page.waitForURL(ticketUrl);
    check(await page.getByText("Checked the dock firmware: outdated.").isVisible(), "the internal note is on the timeline");
    await page.getByLabel("Minutes").fill("30");
    await page.getByRole("button", { name: "Log time" }).click();
    await page.waitForURL(ticketUrl);
    check(await page.getByText("logged 30 minutes").isVisible(), "30 minutes logged");
    await page.getByRole("button", { name: "In Progress" }).click();
    await page.waitForURL(ticketUrl);
    check(await page.locator(".moves strong").textContent() === "In Progress", "moved to In Progress");
    await shot(page, "04-ticket");

    // Completing asks for the resolution first.
    await page.getByRole("button", { name: "Complete" }).click();
    const prompt = page.getByRole("alert");
    check((await prompt.textContent()).toLowerCase().includes("resolution"), "completing without a resolution asks for one");
    await shot(page, "05-resolution-required");
    await page.getByLabel("Resolution").fill("Updated the dock firmware.");
    await page.getByRole("button", { name: "Complete" }).click();
    await page.waitForURL(ticketUrl);
    check(await page.locator(".moves strong").textContent() === "Complete", "completed with a resolution");

    // Found again through search ("/" focuses it).
    await page.keyboard.press("/");
    await page.keyboard.type(stamp);
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/tickets\?q=/);
    check(await page.getByRole("link", { name: title }).isVisible(), "search finds the ticket");
    await shot(page, "06-search");

    // Reports.
    await page.getByRole("link", { name: "Reports" }).click();
    await page.waitForURL(/\/reports/);
    check(await page.locator("svg").count() >= 4, "reports draw their charts");
    await shot(page, "07-reports");

    // A phone's width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(ticketUrl);
    await shot(page, "08-ticket-phone");
    await page.goto(BASE + "/tickets");
    await shot(page, "09-tickets-phone");

    check(errors.length === 0, "no script errors (" + errors.join("; ") + ")");
    console.log("web UI in chromium: all checks passed; screenshots in " + SHOTS);
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
