// Opens the bot's status page in headless Chromium (Debian's /usr/bin/chromium) and checks what
// an operator sees, talking to the C++ test over stdin/stdout:
//   node status_page.mjs URL NODES PLUGIN SCREENSHOT
//   -> "PAGE READY reconnects=N" once the page shows the link ready, NODES nodes and PLUGIN loaded
//   <- "dropped"  (the test made the simulator drop the link)
//   -> "PAGE UPDATED reconnects=M" once the page, never reloaded, shows M > N
// Any failure prints "PAGE FAILED: why" and exits 1.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const [url, nodes, plugin, screenshot] = process.argv.slice(2);
const deadline = 20000;

const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // The machine's network is closed: Chromium's own background traffic would only fail.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(url);
  const text = (selector) => page.locator(selector).first().textContent();
  await page.waitForFunction(
    ([n, p]) => document.getElementById("link-state").textContent === "ready" &&
      document.getElementById("node-count").textContent === n &&
      document.querySelector(`tr[data-plugin="${p}"] .state`)?.textContent === "loaded" &&
      document.querySelectorAll("#nodes tr").length > 0,
    [nodes, plugin], { timeout: deadline });
  const outside = requests.filter((r) => !r.startsWith(new URL(url).origin));
  if (outside.length) throw new Error("the page loaded from elsewhere: " + outside.join(", "));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: false });
  const before = Number(await text("#link-reconnects"));
  console.log(`PAGE READY reconnects=${before}`);
  await nextLine();
  const loads = requests.filter((r) => r === url).length;
  await page.waitForFunction(
    (n) => Number(document.getElementById("link-reconnects").textContent) > n &&
      document.getElementById("link-state").textContent === "ready",
    before, { timeout: deadline });
  if (requests.filter((r) => r === url).length !== loads) throw new Error("the page was reloaded");
  console.log(`PAGE UPDATED reconnects=${await text("#link-reconnects")}`);
} catch (e) {
  console.log(`PAGE FAILED: ${e.message.split("\n")[0]}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  lines.close();
}
