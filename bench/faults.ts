/**
 * Export under faults, against the real MLflow server (the pinned one, started here), each scenario
 * in a process of its own:
 *
 * 1. Outage: a service produces TRACES traces over a few seconds while the server is away for
 *    OUTAGE seconds (stopped, then started again on the same port and database), then releases its
 *    tracing layer.
 * 2. Hostile server: the tracking URI answers 200 with an endless body to every request.
 *
 * Printed for each: traces produced, traces stored (counted in MLflow with its Python client),
 * exported / failed / incomplete / dropped as the stats say, peak RSS, event-loop p99 delay, and the
 * release time.
 *
 * Run: npm run bench:faults   (TRACES=300 OUTAGE=20 to change the size)
 */
import { Effect, Layer, Logger } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Mlflow, MlflowTracing } from "../src/index.js"
import type { MlflowConfig } from "../src/index.js"
import { ensureMlflow, freePort, python, type RunningServer, startServer } from "../test/harness/mlflow.js"

const TRACES = Number(process.env.TRACES ?? 300)
const OUTAGE = Number(process.env.OUTAGE ?? 20)

interface Row {
  readonly scenario: string
  readonly produced: number
  readonly stored: number | string
  readonly exported: number
  readonly failed: number
  readonly incomplete: number
  readonly dropped: number
  readonly peakRssMb: number
  readonly p99LagMs: number
  readonly releaseMs: number
}

const storedIn = async (url: string, experimentName: string): Promise<number> =>
  python(
    `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
traces = mlflow.search_traces(locations=[exp.experiment_id], return_type="list", include_spans=False, max_results=100000) if exp else []
print(json.dumps(len(traces)))
`,
    { MLFLOW_TRACKING_URI: url }
  )

const request = (i: number) =>
  Effect.succeed(i).pipe(
    Mlflow.span("retrieve", { spanType: "RETRIEVER", inputs: { i } }),
    Mlflow.span("request", { spanType: "CHAIN", inputs: { question: `q${i}`, context: "x".repeat(800) } })
  )

/** Produces `TRACES` traces spread over `seconds`, running `during` alongside, then releases the layer. */
const scenario = async (
  name: string,
  options: MlflowConfig.Options,
  seconds: number,
  during: () => Promise<void>
): Promise<Omit<Row, "stored">> => {
  let peakRss = process.memoryUsage().rss
  const sampler = setInterval(() => peakRss = Math.max(peakRss, process.memoryUsage().rss), 50)
  const lag = monitorEventLoopDelay({ resolution: 1 })
  lag.enable()
  let releaseStarted = 0
  const stats = await Effect.gen(function*() {
    const tracing = yield* MlflowTracing.MlflowTracing
    const side = Effect.runPromise(Effect.promise(during))
    for (let i = 0; i < TRACES; i++) {
      yield* request(i)
      yield* Effect.sleep(`${Math.round((seconds * 1000) / TRACES)} millis`)
    }
    yield* Effect.promise(() => side)
    releaseStarted = performance.now()
    return tracing
  }).pipe(
    Effect.provide(MlflowTracing.layer(options).pipe(Layer.orDie)),
    Effect.flatMap((tracing) => tracing.stats),
    Effect.provide(Logger.remove(Logger.defaultLogger)),
    Effect.runPromise
  )
  const releaseMs = performance.now() - releaseStarted
  lag.disable()
  clearInterval(sampler)
  const dropped = Object.values(stats.dropped).reduce((a, b) => a + b, 0)
  return {
    scenario: name,
    produced: TRACES,
    exported: stats.exported,
    failed: stats.failed,
    incomplete: stats.incomplete,
    dropped,
    peakRssMb: Math.round(peakRss / 1e5) / 10,
    p99LagMs: Math.round(lag.percentile(99) / 1e5) / 10,
    releaseMs: Math.round(releaseMs)
  }
}

ensureMlflow()
const rows: Array<Row> = []
const servers: Array<RunningServer> = []
try {
  // 1. outage: away for OUTAGE seconds in the middle of 10 s of traffic, then back
  {
    const port = await freePort()
    let server = await startServer({ port })
    servers.push(server)
    const experimentName = `faults-outage-${Date.now()}`
    const row = await scenario(
      `outage ${OUTAGE} s`,
      { trackingUri: server.url, experimentName, shutdownTimeout: "30 seconds" },
      10,
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 2000))
        await server.stop()
        await new Promise((resolve) => setTimeout(resolve, OUTAGE * 1000))
        server = await startServer({ port, dir: server.dir })
        servers.push(server)
      }
    )
    rows.push({ ...row, stored: await storedIn(server.url, experimentName) })
  }
  // 2. hostile: 200 with an endless body
  {
    const hostile = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" })
      const chunk = Buffer.alloc(1024 * 1024, 0x20)
      const pump = () => {
        while (res.write(chunk)) {
          // until the socket pushes back
        }
        res.once("drain", pump)
      }
      res.on("close", () => res.removeAllListeners("drain"))
      pump()
    })
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve))
    const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`
    const row = await scenario(
      "hostile: endless 200 body",
      { trackingUri: url, experimentId: "1", shutdownTimeout: "5 seconds" },
      5,
      async () => {}
    )
    hostile.closeAllConnections()
    hostile.close()
    rows.push({ ...row, stored: "n/a (not a server)" })
  }
} finally {
  await Promise.all(servers.map((server) => server.stop()))
}

console.log(`\nexport under faults (${TRACES} traces per scenario, 2 spans each)`)
const columns = Object.keys(rows[0] ?? {}) as Array<keyof Row>
console.log(`| ${columns.join(" | ")} |`)
console.log(`| ${columns.map((_, i) => i === 0 ? "---" : "---:").join(" | ")} |`)
for (const row of rows) console.log(`| ${columns.map((column) => String(row[column])).join(" | ")} |`)
