// Keeps the bot's status page open in headless Chromium for SECONDS, as an operator's browser
// tab would (bench/http_status measures what that costs the bot):
//   node keep_page_open.mjs URL SECONDS
import { chromium } from "playwright-core";

const [url, seconds] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage();
await page.goto(url);
await page.waitForFunction(() => document.getElementById("link-state").textContent === "ready");
console.log("page open");
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
await browser.close();
