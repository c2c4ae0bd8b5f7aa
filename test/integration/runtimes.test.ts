import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { freePort, pythonGetTraces } from "../harness/mlflow.js"
import { stopGroup } from "../harness/processes.js"
import { type RuntimeName, scratchApp } from "../harness/runtimes.js"
import { interceptingProxy } from "../support/proxy.js"
import type { Report, Settings } from "../support/runtimes/program.js"
import { mlflowUrl, uniqueName } from "./helpers.js"

let app: string

beforeAll(async () => {
  app = await scratchApp()
}, 180_000)

afterAll(() => {
  if (app !== undefined) fs.rmSync(path.dirname(app), { recursive: true, force: true })
})

/** Runs `binary` in the scratch application to its end; answers its output, or fails with it. */
const runToEnd = (binary: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(binary, args, { cwd: app, env: { ...process.env, ...env }, detached: true })
    let output = ""
    let stdout = ""
    child.stdout.on("data", (chunk) => (stdout += chunk, output += chunk))
    child.stderr.on("data", (chunk) => output += chunk)
    const timer = setTimeout(() => void stopGroup(child), 60_000)
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(stdout)
      else reject(new Error(`${path.basename(binary)} ${args.join(" ")} ended with ${code ?? signal}:\n${output}`))
    })
  })

const lastLine = (output: string): Report => JSON.parse(output.trim().split("\n").at(-1)!)

/** Runs `f` with workerd serving the bundled worker on a loopback port (its URL given to `f`). */
const withWorkerd = async <A>(binary: string, f: (url: string) => Promise<A>): Promise<A> => {
  const port = await freePort()
  const child = spawn(binary, ["serve", "workerd.capnp", "--socket-addr", `http=127.0.0.1:${port}`], {
    cwd: app,
    detached: true
  })
  let output = ""
  child.stdout.on("data", (chunk) => output += chunk)
  child.stderr.on("data", (chunk) => output += chunk)
  try {
    for (let i = 0; !output.includes("Listening on"); i++) {
      if (child.exitCode !== null || i > 300) throw new Error(`workerd did not start:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return await f(`http://127.0.0.1:${port}`).catch((error) => {
      throw new Error(`${error}\nworkerd said:\n${output}`)
    })
  } finally {
    await stopGroup(child)
  }
}

/** POSTs the settings to the worker; answers its JSON answer. */
const ask = async (url: string, settings: Settings): Promise<any> => {
  const response = await fetch(url, {
    method: "POST",
    body: JSON.stringify(settings),
    signal: AbortSignal.timeout(60_000)
  })
  const body = await response.text()
  if (!response.ok) throw new Error(`the worker answered ${response.status}: ${body}`)
  return JSON.parse(body)
}

const programOn: Record<RuntimeName, (binary: string, settings: Settings) => Promise<Report>> = {
  bun: (binary, settings) => runToEnd(binary, ["run", "program.ts", JSON.stringify(settings)]).then(lastLine),
  // with no permission but the network to loopback, as a server on the Web APIs alone
  deno: (binary, settings) =>
    runToEnd(binary, ["run", "--no-prompt", "--allow-net=127.0.0.1", "program.ts", JSON.stringify(settings)], {
      DENO_DIR: path.join(path.dirname(app), "deno"),
      DENO_NO_UPDATE_CHECK: "1"
    }).then(lastLine),
  // the settings go in a request, the report comes back
  workerd: (binary, settings) => withWorkerd(binary, (url) => ask(url, settings))
}

const ready = (runtime: RuntimeName): string => {
  const installed = inject("runtimes")[runtime]
  if (installed._tag === "Missing") throw new Error(`the test set-up could not install ${installed.reason}`)
  return installed.binary
}

const byName = (trace: any): Record<string, any> =>
  Object.fromEntries(trace.data.spans.map((span: any) => [span.name, span]))

describe.each(["bun", "deno", "workerd"] as const)("the packed library on %s", (runtime) => {
  it("traces a pipeline into MLflow through a refused export, a flush and the end of the program", async () => {
    const binary = ready(runtime)
    let refused = 0
    // the first export is refused as by a server that is busy: the exporter must retry it
    const proxy = await interceptingProxy(mlflowUrl(), (request) => {
      if (request.method !== "POST" || request.url !== "/v1/traces" || refused > 0) return undefined
      refused++
      return { status: 503, body: "busy" }
    })
    try {
      const settings: Settings = { trackingUri: proxy.url, experimentName: uniqueName(`runtime-${runtime}`), runtime }
      const report = await programOn[runtime](binary, settings)

      expect(report.answer).toBe("From 1 document: MLflow stores traces.")
      expect(report.flushed).toBe(true)
      // the flush waited for the retry of the refused export
      expect(report.afterFlush).toMatchObject({ exported: 1, retried: 1, failed: 0, queued: 0, inFlight: 0 })
      // the end of the program exported the epilogue's trace
      expect(report.afterRelease).toMatchObject({ exported: 2, retried: 1, failed: 0, queued: 0, inFlight: 0 })
      expect(Object.values<number>(report.afterRelease.dropped).filter((n) => n > 0)).toEqual([])
      expect(refused).toBe(1)
      // the refused request, its retry, the epilogue's
      expect(proxy.count("POST /v1/traces")).toBe(3)

      const [pipeline, epilogue] = await pythonGetTraces(mlflowUrl(), [report.pipelineTraceId, report.epilogueTraceId])
      expect(pipeline.info.state).toBe("OK")
      expect(pipeline.info.tags["mlflow.traceName"]).toBe("pipeline")
      expect(pipeline.info.request_preview).toContain(runtime)
      const spans = byName(pipeline)
      expect(Object.keys(spans).sort()).toEqual(["check", "generate", "pipeline", "retrieve"])
      expect(spans.pipeline.parent_span_id).toBeNull()
      for (const child of ["retrieve", "generate", "check"]) {
        expect(spans[child].parent_span_id, child).toBe(spans.pipeline.span_id)
      }
      expect(spans.pipeline.status.code).toBe("STATUS_CODE_OK")
      expect(spans.retrieve.status.code).toBe("STATUS_CODE_OK")
      expect(spans.generate.status.code).toBe("STATUS_CODE_OK")
      expect(spans.check.status.code).toBe("STATUS_CODE_ERROR")
      expect(spans.retrieve.attributes["mlflow.spanType"]).toBe(JSON.stringify("RETRIEVER"))

      expect(epilogue.info.state).toBe("OK")
      expect(epilogue.data.spans.map((span: any) => [span.name, span.parent_span_id])).toEqual([["epilogue", null]])
    } finally {
      await proxy.close()
    }
  })
})

describe("the packed library on workerd, the layer kept across requests", () => {
  it("each request's trace is stored whole when the request flushes before it answers", async () => {
    const settings: Settings = { trackingUri: mlflowUrl(), experimentName: uniqueName("runtime-kept"), runtime: "kept" }
    const [first, second] = await withWorkerd(ready("workerd"), async (url) => [
      await ask(`${url}/kept`, settings),
      await ask(`${url}/kept`, settings)
    ])
    expect([first.flushed, second.flushed]).toEqual([true, true])
    // one layer: the second request's stats count the first's trace too
    expect(second.stats).toMatchObject({ exported: 2, failed: 0, queued: 0, inFlight: 0 })
    const traces = await pythonGetTraces(mlflowUrl(), [first.traceId, second.traceId])
    for (const trace of traces) {
      expect(trace.info.state).toBe("OK")
      expect(trace.data.spans.map((span: any) => [span.name, span.parent_span_id])).toEqual([["request", null]])
    }
  })
})
