/**
 * Export under load, against real MLflow servers started here (the pinned one, as in the tests).
 *
 * 1. In-process sinks: TRACES traces of 5 spans each, produced as fast as the program can (the queue
 *    holds them all), then flushed; traces per second and the p99 event-loop delay (no-op sink, local store).
 * 2. Throughput on a real server, one table per backend: SQLite and PostgreSQL (Debian's, on
 *    loopback), each with 1 and 4 server workers. SERVER_TRACES traces per run, interleaved repeats,
 *    medians. Contenders: ours with each `traceInfo` delivery, MLflow's Python SDK (async logging,
 *    its defaults), and the server's OTLP-only ceiling: the same traces pre-encoded 40 to a
 *    `/v1/traces` request and replayed 4 at a time. What counts is what the server holds afterwards,
 *    counted with MLflow's Python client; server CPU per stored trace from /proc; requests per trace
 *    counted at the client (our fetch, Python's `requests`).
 * 3. Server down: 10x the queue capacity is produced while nothing listens on the tracking URI;
 *    peak RSS against the RSS before, and the drop count.
 * 4. Shutdown: 1000 traces queued, then the layer released with the default shutdown timeout; how
 *    long the drain takes and how many traces the server holds, for `auto` and `always`.
 * 5. Event loop: 100 KB payloads at 40 traces/s to the server; the delay percentiles.
 *
 * Run: npm run bench:export   (TRACES=2000 SERVER_TRACES=600 REPEATS=3 BACKENDS=sqlite,postgres)
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Mlflow, MlflowTracing } from "../src/index.js"
import type { MlflowConfig, Trace } from "../src/index.js"
import { encodeTraceRequest } from "../src/internal/format/otlp.js"
import { withTraceInfoOnRoot } from "../src/internal/sinks/spansOnly.js"
import {
  ensureMlflow,
  freePort,
  python,
  type RunningServer,
  serverCpuSeconds,
  startServer
} from "../test/harness/mlflow.js"
import { ensurePostgres, postgresAvailable, type RunningPostgres, startPostgres } from "../test/harness/postgres.js"

const TRACES = Number(process.env.TRACES ?? 2000)
const SERVER_TRACES = Number(process.env.SERVER_TRACES ?? 600)
const REPEATS = Number(process.env.REPEATS ?? 3)
const BACKENDS = (process.env.BACKENDS ?? "sqlite,postgres").split(",")
const payload = { question: "What is MLflow?", context: "x".repeat(800) }

const request = (i: number) =>
  Effect.forEach(
    [0, 1, 2, 3],
    (j) => Effect.succeed({ step: j }).pipe(Mlflow.span(`step-${j}`, { spanType: "TOOL", inputs: { i, j } })),
    {
      discard: true
    }
  ).pipe(Mlflow.span("request", { spanType: "CHAIN", inputs: payload }))

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const produce = (layer: Layer.Layer<MlflowTracing.MlflowTracing, unknown>, traces: number) =>
  Effect.gen(function*() {
    const tracing = yield* MlflowTracing.MlflowTracing
    const lag = monitorEventLoopDelay({ resolution: 1 })
    lag.enable()
    const start = performance.now()
    for (let i = 0; i < traces; i++) {
      yield* request(i)
      if (i % 50 === 0) yield* Effect.yieldNow() // a server handling requests yields between them
    }
    const drained = yield* tracing.flush("600 seconds")
    const seconds = (performance.now() - start) / 1000
    lag.disable()
    const stats = yield* tracing.stats
    if (!drained || stats.exported !== traces) throw new Error(`exported ${stats.exported} of ${traces}`)
    return { perSecond: traces / seconds, seconds, p99LagMs: lag.percentile(99) / 1e6, abridged: stats.abridged }
  }).pipe(Effect.provide(layer.pipe(Layer.orDie)))

/** Requests our process sends (the library's client uses `fetch`). */
let fetches = 0
const realFetch = globalThis.fetch
globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
  fetches++
  return realFetch(...args)
}) as typeof fetch

const countStored = (url: string, names: ReadonlyArray<string>): Promise<Array<number>> =>
  python(
    `
import json, mlflow
out = []
for name in json.loads(${JSON.stringify(JSON.stringify(names))}):
    exp = mlflow.get_experiment_by_name(name)
    out.append(0 if exp is None else len(mlflow.search_traces(locations=[exp.experiment_id], return_type="list",
                                                              include_spans=False, max_results=100000)))
print(json.dumps(out))
`,
    { MLFLOW_TRACKING_URI: url }
  )

interface Run {
  readonly seconds: number
  readonly cpu: number
  readonly requests: number
  readonly experiment: string
  readonly produced: number
  readonly abridged?: number
}

let experiments = 0
const experimentName = (label: string) => `bench-${label}-${Date.now()}-${experiments++}`

const ours = async (server: RunningServer, traceInfo: MlflowConfig.TraceInfoDelivery): Promise<Run> => {
  const experiment = experimentName(traceInfo)
  const cpu = serverCpuSeconds(server)
  const requests = fetches
  const result = await Effect.runPromise(produce(
    MlflowTracing.layer({
      trackingUri: server.url,
      experimentName: experiment,
      queueCapacity: SERVER_TRACES,
      traceInfo
    }),
    SERVER_TRACES
  ))
  return {
    seconds: result.seconds,
    cpu: serverCpuSeconds(server) - cpu,
    requests: fetches - requests,
    experiment,
    produced: SERVER_TRACES,
    abridged: result.abridged
  }
}

const pythonSdk = async (server: RunningServer): Promise<Run> => {
  const experiment = experimentName("python")
  const cpu = serverCpuSeconds(server)
  const result: { seconds: number; requests: number } = await python(
    `
import json, time, mlflow, requests
mlflow.set_experiment(${JSON.stringify(experiment)})
sent = [0]
send = requests.Session.send
def counting(self, *args, **kwargs):
    sent[0] += 1
    return send(self, *args, **kwargs)
requests.Session.send = counting
payload = {"question": "What is MLflow?", "context": "x" * 800}
start = time.perf_counter()
for i in range(${SERVER_TRACES}):
    with mlflow.start_span("request", span_type="CHAIN") as root:
        root.set_inputs(payload)
        for j in range(4):
            with mlflow.start_span(f"step-{j}", span_type="TOOL") as s:
                s.set_inputs({"i": i, "j": j})
                s.set_outputs({"step": j})
mlflow.flush_trace_async_logging()
print(json.dumps({"seconds": time.perf_counter() - start, "requests": sent[0]}))
`,
    { MLFLOW_TRACKING_URI: server.url, MLFLOW_ENABLE_ASYNC_TRACE_LOGGING: "true" }
  )
  return { ...result, cpu: serverCpuSeconds(server) - cpu, experiment, produced: SERVER_TRACES }
}

/** The traces our pipeline would send, as their spans with the root's trace-info attributes. */
const capturedTraces = async (count: number): Promise<Array<Trace.Trace>> => {
  const captured: Array<Trace.Trace> = []
  await Effect.runPromise(produce(
    MlflowTracing.layerSink({
      export: (traces) => Effect.sync(() => void captured.push(...traces)),
      exportLateSpans: () => Effect.void
    }, { queueCapacity: count }),
    count
  ))
  return captured
}

const resource = { attributes: { "telemetry.sdk.name": "effect-mlflow", "telemetry.sdk.language": "nodejs" } }

/** The server's OTLP-only ceiling: pre-encoded requests of 40 traces each, replayed 4 at a time. */
const ceiling = async (server: RunningServer): Promise<Run> => {
  const experiment = experimentName("ceiling")
  const created = await realFetch(`${server.url}/api/2.0/mlflow/experiments/create`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: experiment })
  }).then((response) => response.json()) as { experiment_id: string }
  const traces = await capturedTraces(SERVER_TRACES)
  const bodies: Array<Uint8Array> = []
  for (let i = 0; i < traces.length; i += 40) {
    bodies.push(encodeTraceRequest(traces.slice(i, i + 40).flatMap(withTraceInfoOnRoot), resource))
  }
  const cpu = serverCpuSeconds(server)
  const start = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++]
      const response = await realFetch(`${server.url}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf", "x-mlflow-experiment-id": created.experiment_id },
        body: body as Uint8Array<ArrayBuffer>
      })
      if (!response.ok) throw new Error(`replay: ${response.status} ${await response.text()}`)
    }
  }))
  return {
    seconds: (performance.now() - start) / 1000,
    cpu: serverCpuSeconds(server) - cpu,
    requests: bodies.length,
    experiment,
    produced: traces.length
  }
}

const contenders: ReadonlyArray<readonly [string, (server: RunningServer) => Promise<Run>]> = [
  ["effect-mlflow, traceInfo always (StartTraceV3 per trace)", (server) => ours(server, "always")],
  ["effect-mlflow, traceInfo auto (default)", (server) => ours(server, "auto")],
  ["effect-mlflow, traceInfo whenNeeded", (server) => ours(server, "whenNeeded")],
  ["MLflow Python SDK (async logging)", pythonSdk],
  ["OTLP-only ceiling (pre-encoded replay, 40 traces/request)", ceiling]
]

const throughputTable = async (label: string, server: RunningServer) => {
  const runs = new Map<string, Array<Run>>(contenders.map(([name]) => [name, []]))
  for (let r = 0; r < REPEATS; r++) {
    for (const [name, run] of contenders) runs.get(name)!.push(await run(server))
  }
  const all = [...runs.values()].flat()
  const stored = await countStored(server.url, all.map((run) => run.experiment))
  const storedOf = new Map(all.map((run, i) => [run, stored[i]]))
  const summary = new Map([...runs].map(([name, list]) => {
    const perSecond = median(list.map((run) => storedOf.get(run)! / run.seconds))
    return [name, {
      perSecond,
      stored: median(list.map((run) => storedOf.get(run)!)),
      produced: list[0].produced,
      cpuMs: median(list.map((run) => (run.cpu * 1000) / Math.max(1, storedOf.get(run)!))),
      requests: median(list.map((run) => run.requests / run.produced)),
      abridged: list[0].abridged === undefined ? undefined : median(list.map((run) => run.abridged!))
    }]
  }))
  const python = summary.get("MLflow Python SDK (async logging)")!.perSecond
  const top = summary.get("OTLP-only ceiling (pre-encoded replay, 40 traces/request)")!.perSecond
  console.log(
    `\n${label}: ${SERVER_TRACES} traces x 5 spans (~1 KB inputs) per run, ${REPEATS} interleaved repeats (median)`
  )
  console.log(
    "| contender | traces/s stored | stored of produced | abridged | server CPU ms/trace | requests/trace | vs Python SDK | vs OTLP ceiling |"
  )
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
  for (const [name, row] of summary) {
    console.log(
      `| ${name} | ${row.perSecond.toFixed(1)} | ${row.stored} of ${row.produced} | ${
        row.abridged === undefined ? "n/a" : row.abridged
      } | ${row.cpuMs.toFixed(1)} | ${row.requests.toFixed(2)} | ${(row.perSecond / python).toFixed(2)}x | ${
        (row.perSecond / top).toFixed(2)
      }x |`
    )
  }
}

ensureMlflow()
const server = await startServer()
let postgres: RunningPostgres | undefined
try {
  // 1. in-process sinks
  const localDir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-bench-"))
  const sinks: ReadonlyArray<readonly [string, () => Layer.Layer<MlflowTracing.MlflowTracing, unknown>]> = [
    ["no-op sink", () =>
      MlflowTracing.layerSink({ export: () => Effect.void, exportLateSpans: () => Effect.void }, {
        queueCapacity: TRACES
      })],
    ["local store", () => MlflowTracing.layer({ localDirectory: localDir, queueCapacity: TRACES })]
  ]
  const results = new Map<string, Array<{ perSecond: number; p99LagMs: number }>>(sinks.map(([name]) => [name, []]))
  for (let r = 0; r < REPEATS; r++) {
    for (const [name, layer] of sinks) results.get(name)!.push(await Effect.runPromise(produce(layer(), TRACES)))
  }
  console.log(`\nIn-process sinks: ${TRACES} traces x 5 spans (~1 KB inputs), ${REPEATS} repeats (median)`)
  console.log("| sink | traces/s | p99 event-loop delay (ms) |")
  console.log("| --- | ---: | ---: |")
  for (const [name] of sinks) {
    const list = results.get(name)!
    console.log(
      `| ${name} | ${median(list.map((r) => r.perSecond)).toFixed(0)} | ${
        median(list.map((r) => r.p99LagMs)).toFixed(1)
      } |`
    )
  }

  // 2. throughput on real servers
  if (BACKENDS.includes("sqlite")) {
    await throughputTable("SQLite, 1 server worker", server)
    const four = await startServer({ workers: 4 })
    try {
      await throughputTable("SQLite, 4 server workers", four)
    } finally {
      await four.stop()
    }
  }
  if (BACKENDS.includes("postgres") && postgresAvailable()) {
    ensurePostgres()
    postgres = await startPostgres()
    for (const workers of [1, 4]) {
      const pg = await startServer({ backendStoreUri: postgres.createDatabase(`bench_${workers}`), workers })
      try {
        await throughputTable(`PostgreSQL, ${workers} server worker${workers === 1 ? "" : "s"}`, pg)
      } finally {
        await pg.stop()
      }
    }
  }

  // 3. server down: nothing listens on this port
  const capacity = 1000
  const down = `http://127.0.0.1:${await freePort()}`
  const options: MlflowConfig.Options = { trackingUri: down, experimentName: "down", queueCapacity: capacity }
  global.gc?.()
  const rssBefore = process.memoryUsage().rss
  let peak = rssBefore
  const sampler = setInterval(() => peak = Math.max(peak, process.memoryUsage().rss), 20)
  const stats = await Effect.gen(function*() {
    const tracing = yield* MlflowTracing.MlflowTracing
    for (let i = 0; i < capacity * 10; i++) {
      yield* request(i)
      if (i % 50 === 0) yield* Effect.yieldNow()
    }
    return yield* tracing.stats
  }).pipe(
    Effect.provide(
      MlflowTracing.layer({ ...options, shutdownTimeout: "1 second" }).pipe(Layer.orDie)
    ),
    Effect.runPromise
  )
  clearInterval(sampler)
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
  console.log(`\nServer down, ${capacity * 10} traces produced, queue capacity ${capacity}`)
  console.log("| RSS before (MB) | peak RSS (MB) | growth (MB) | queued | dropped (queue full) |")
  console.log("| ---: | ---: | ---: | ---: | ---: |")
  console.log(
    `| ${mb(rssBefore)} | ${mb(peak)} | ${mb(peak - rssBefore)} | ${stats.queued} | ${stats.dropped.queueFull} |`
  )

  // 4. shutdown: 1000 traces queued at once, then the layer is released with the default shutdown
  // timeout (30 s); how long the drain takes, and how many the server holds afterwards
  const drainRows: Array<string> = []
  for (const traceInfo of ["auto", "always"] as const) {
    const drainName = experimentName(`drain-${traceInfo}`)
    let drainStart = 0
    const drained = await Effect.gen(function*() {
      for (let i = 0; i < 1000; i++) yield* request(i)
      drainStart = performance.now()
    }).pipe(
      Effect.provide(
        MlflowTracing.layer({ trackingUri: server.url, experimentName: drainName, traceInfo }).pipe(Layer.orDie)
      ),
      Effect.runPromise
    ).then(() => performance.now() - drainStart)
    const [stored] = await countStored(server.url, [drainName])
    drainRows.push(`| ${traceInfo} | ${(drained / 1000).toFixed(1)} | ${stored} of 1000 |`)
  }
  console.log("\nShutdown with 1000 traces queued (default shutdownTimeout 30 s), SQLite, 1 server worker")
  console.log("| traceInfo | drain at release (s) | stored |")
  console.log("| --- | ---: | ---: |")
  for (const row of drainRows) console.log(row)

  // 5. event loop: 100 KB payloads at 40 traces/s for 10 s, exported to the server while produced
  const big = { document: "d".repeat(100 * 1024) }
  const lag = monitorEventLoopDelay({ resolution: 1 })
  await Effect.gen(function*() {
    lag.enable()
    for (let i = 0; i < 400; i++) {
      yield* Effect.succeed({ ok: i }).pipe(Mlflow.span("large", { spanType: "CHAIN", inputs: big }))
      yield* Effect.sleep("25 millis")
    }
    yield* Mlflow.flush("120 seconds")
    lag.disable()
  }).pipe(
    Effect.provide(
      MlflowTracing.layer({ trackingUri: server.url, experimentName: `bench-lag-${Date.now()}` }).pipe(Layer.orDie)
    ),
    Effect.runPromise
  )
  console.log("\nEvent loop while exporting 100 KB payloads at 40 traces/s (400 traces)")
  console.log("| p50 delay (ms) | p99 delay (ms) | max (ms) |")
  console.log("| ---: | ---: | ---: |")
  console.log(
    `| ${(lag.percentile(50) / 1e6).toFixed(1)} | ${(lag.percentile(99) / 1e6).toFixed(1)} | ${
      (lag.max / 1e6).toFixed(1)
    } |`
  )
} finally {
  await server.stop()
  postgres?.stop()
}
