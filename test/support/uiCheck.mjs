/**
 * Opens the real MLflow UI in headless Chromium on one trace and reports what a person sees, through
 * the DevTools protocol: the span tree (names, the error mark, the metric row), then, after clicking
 * a span, the text of its detail view; a screenshot of each view goes to `outDir`.
 *
 * Run (Node 20 needs the flag for its WebSocket):
 *   node --experimental-websocket uiCheck.mjs <url> <outDir> <spanIdToOpen> <textToWaitFor>
 * Prints one JSON line.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const [url, outDir, openSpanId, waitText] = process.argv.slice(2)
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-chromium-"))
const chromium = spawn("chromium", [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--window-size=1600,1000",
  "--remote-debugging-port=0",
  `--user-data-dir=${profile}`,
  "about:blank"
], { stdio: "ignore", detached: true })

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const deadline = Date.now() + 90_000
const until = async (what, f) => {
  for (;;) {
    const value = await f()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(250)
  }
}

try {
  const port = await until("DevToolsActivePort", () => {
    try {
      return fs.readFileSync(path.join(profile, "DevToolsActivePort"), "utf8").split("\n")[0]
    } catch {
      return undefined
    }
  })
  const targets = await until("a page target", async () => {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()
    return list.find((t) => t.type === "page")
  })
  const socket = new WebSocket(targets.webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    socket.onopen = resolve
    socket.onerror = reject
  })
  let next = 0
  const pending = new Map()
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data)
    if (message.id !== undefined && pending.has(message.id)) {
      pending.get(message.id)(message)
      pending.delete(message.id)
    }
  }
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      const id = ++next
      pending.set(id, resolve)
      socket.send(JSON.stringify({ id, method, params }))
    })
  const evaluate = async (expression) =>
    (await send("Runtime.evaluate", { expression, returnByValue: true })).result?.result?.value
  const screenshot = async (file) => {
    const shot = await send("Page.captureScreenshot", { format: "png" })
    fs.writeFileSync(path.join(outDir, file), Buffer.from(shot.result.data, "base64"))
  }

  await send("Page.enable")
  await send("Page.navigate", { url })
  await until(
    "the span tree",
    () => evaluate(`document.querySelectorAll('[data-testid^="span-title-row-"]').length >= 4`)
  )
  await sleep(1000)
  const tree = await evaluate(`[...document.querySelectorAll('[data-testid^="timeline-tree-node-"]')].map((node) => {
    const id = node.dataset.testid.replace("timeline-tree-node-", "")
    const icon = node.querySelector('[data-testid="span-icon-' + id + '"]')
    const title = node.querySelector('[data-testid="span-title-row-' + id + '"]')
    const metrics = node.querySelector('[data-testid="span-metric-row-' + id + '"]')
    const titleText = title ? title.querySelector("span") : null
    return {
      id,
      name: title ? title.textContent : "",
      // the red dot MLflow draws on a failed span's icon
      errorMark: icon ? icon.firstElementChild.children.length > 1 : false,
      titleColor: titleText ? getComputedStyle(titleText).color : "",
      metrics: metrics ? metrics.textContent : ""
    }
  })`)
  await screenshot("trace-tree.png")
  await evaluate(`document.querySelector('[data-testid="span-title-row-${openSpanId}"]').click()`)
  // the opened span's view: wait for its text, then give it a moment to settle (a missing text is
  // reported by the caller's assertions, with what was there)
  const contains = async () => ((await evaluate("document.body.innerText")) ?? "").includes(waitText)
  for (let i = 0; i < 40 && !(await contains()); i++) await sleep(250)
  await sleep(1500)
  const detail = await evaluate("document.body.innerText")
  await sleep(500)
  await screenshot("chat-span.png")
  socket.close()
  process.stdout.write(JSON.stringify({ tree, detail }) + "\n")
} finally {
  // the whole process group: Chromium's helpers too
  const exited = new Promise((resolve) => chromium.once("exit", resolve))
  try {
    process.kill(-chromium.pid, "SIGKILL")
  } catch {
    // already gone
  }
  await exited
  await sleep(300)
  try {
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
  } catch {
    // a helper still writing: the profile is a temporary directory
  }
}
