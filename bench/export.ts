/**
 * Export under load, against a real MLflow server started here (the pinned one, as in the tests).
 *
 * 1. Throughput: TRACES traces of 5 spans each are produced as fast as the program can (the queue
 *    holds them all, so nothing is dropped), then flushed; traces stored per second from the first
 *    span to the last trace stored, and the p99 event-loop delay while exporting, for three sinks
 *    side by side (no-op, local store, MLflow), and MLflow's Python SDK against the same server. What
 *    the server holds is counted afterwards with MLflow's Python client, for ours and for Python's
 *    (whose queue discards traces when it is full: only those stored count).
 * 2. Server down: 10x the queue capacity is produced while nothing listens on the tracking URI;
 *    peak RSS against the RSS before, and the drop count.
 * 3. Shutdown: 1000 traces queued, then the layer released with the default shutdown timeout; how
 *    long the drain takes and how many traces the server holds.
 * 4. Event loop: 100 KB payloads at 40 traces/s to the server; the delay percentiles.
 *
 * Run: npm run bench:export   (TRACES=2000 REPEATS=3 to change the size)
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Mlflow, MlflowTracing } from "../src/index.js"
import type { MlflowConfig } from "../src/index.js"
import { ensureMlflow, freePort, python, startServer } from "../test/harness/mlflow.js"

const TRACES = Number(process.env.TRACES ?? 2000)
const REPEATS = Number(process.env.REPEATS ?? 3)
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

const run = (layer: Layer.Layer<MlflowTracing.MlflowTracing, unknown>, traces: number) =>
  Effect.gen(function*() {
    const tracing = yield* MlflowTracing.MlflowTracing
    const lag = monitorEventLoopDelay({ resolution: 1 })
    lag.enable()
    const start = performance.now()
    for (let i = 0; i < traces; i++) {
      yield* request(i)
      if (i % 50 === 0) yield* Effect.yieldNow() // a server handling requests yields between them
    }
    const drained = yield* tracing.flush("300 seconds")
    const seconds = (performance.now() - start) / 1000
    lag.disable()
    const stats = yield* tracing.stats
    if (!drained || stats.exported !== traces) throw new Error(`exported ${stats.exported} of ${traces}`)
    return { perSecond: traces / seconds, p99LagMs: lag.percentile(99) / 1e6 }
  }).pipe(Effect.provide(layer.pipe(Layer.orDie)))

ensureMlflow()
const server = await startServer()
try {
  const localDir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-bench-"))
  const serverExperiments: Array<string> = []
  const sinks: ReadonlyArray<readonly [string, () => Layer.Layer<MlflowTracing.MlflowTracing, unknown>]> = [
    ["no-op sink", () =>
      MlflowTracing.layerSink({ export: () => Effect.void, exportLateSpans: () => Effect.void }, {
        queueCapacity: TRACES
      })],
    ["local store", () => MlflowTracing.layer({ localDirectory: localDir, queueCapacity: TRACES })],
    [
      "MLflow server (OTLP + StartTraceV3)",
      () => {
        serverExperiments.push(`bench-${Date.now()}-${serverExperiments.length}`)
        return MlflowTracing.layer({
          trackingUri: server.url,
          experimentName: serverExperiments[serverExperiments.length - 1],
          queueCapacity: TRACES
        })
      }
    ]
  ]
  const results = new Map<string, Array<{ perSecond: number; p99LagMs: number }>>(sinks.map(([name]) => [name, []]))
  for (let r = 0; r < REPEATS; r++) {
    for (const [name, layer] of sinks) results.get(name)!.push(await Effect.runPromise(run(layer(), TRACES)))
  }
  // reference: MLflow's own Python SDK (async logging, its defaults) against the same server; what
  // counts is what the server stored (its queue discards traces when full), counted afterwards
  const pythonRuns: Array<{ readonly perSecond: number; readonly stored: number }> = []
  for (let r = 0; r < REPEATS; r++) {
    pythonRuns.push(
      (await python(
        `
import json, time, mlflow
exp = mlflow.set_experiment("bench-python-${Date.now()}-" + str(${r}))
payload = {"question": "What is MLflow?", "context": "x" * 800}
start = time.perf_counter()
for i in range(${TRACES}):
    with mlflow.start_span("request", span_type="CHAIN") as root:
        root.set_inputs(payload)
        for j in range(4):
            with mlflow.start_span(f"step-{j}", span_type="TOOL") as s:
                s.set_inputs({"i": i, "j": j})
                s.set_outputs({"step": j})
mlflow.flush_trace_async_logging()
seconds = time.perf_counter() - start
stored = len(mlflow.search_traces(locations=[exp.experiment_id], return_type="list", include_spans=False,
                                  max_results=${TRACES} + 100))
print(json.dumps({"perSecond": stored / seconds, "stored": stored}))
`,
        { MLFLOW_TRACKING_URI: server.url, MLFLOW_ENABLE_ASYNC_TRACE_LOGGING: "true" }
      )) as { perSecond: number; stored: number }
    )
  }
  // what the server holds of ours, counted by MLflow's own client
  const serverStored: Array<number> = await python(
    `
import json, mlflow
out = []
for name in json.loads(${JSON.stringify(JSON.stringify(serverExperiments))}):
    exp = mlflow.get_experiment_by_name(name)
    out.append(len(mlflow.search_traces(locations=[exp.experiment_id], return_type="list", include_spans=False,
                                        max_results=${TRACES} + 100)))
print(json.dumps(out))
`,
    { MLFLOW_TRACKING_URI: server.url }
  )
  const storedOf = (name: string) =>
    name.startsWith("MLflow server") ? `${median(serverStored)} of ${TRACES}` : `${TRACES} of ${TRACES}`
  console.log(`\n${TRACES} traces x 5 spans (~1 KB inputs), ${REPEATS} repeats (median), Node ${process.version}`)
  console.log("| sink | traces/s stored | stored of produced | vs no-op | p99 event-loop delay (ms) |")
  console.log("| --- | ---: | ---: | ---: | ---: |")
  const noop = median(results.get("no-op sink")!.map((r) => r.perSecond))
  for (const [name] of sinks) {
    const perSecond = median(results.get(name)!.map((r) => r.perSecond))
    const lag = median(results.get(name)!.map((r) => r.p99LagMs))
    console.log(
      `| ${name} | ${perSecond.toFixed(0)} | ${storedOf(name)} | ${(perSecond / noop).toFixed(2)}x | ${
        lag.toFixed(1)
      } |`
    )
  }
  const pythonRate = median(pythonRuns.map((run) => run.perSecond))
  const pythonStored = median(pythonRuns.map((run) => run.stored))
  console.log(
    `| MLflow Python SDK, same server (reference) | ${pythonRate.toFixed(0)} | ${pythonStored} of ${TRACES} | ${
      (pythonRate / noop).toFixed(2)
    }x | n/a |`
  )

  // server down: nothing listens on this port
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

  // shutdown: 1000 traces queued at once, then the layer is released with the default shutdown
  // timeout (30 s); how long the drain takes, and how many the server holds afterwards
  const drainName = `bench-drain-${Date.now()}`
  let drainMillis = 0
  const drained = await Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) yield* request(i)
    drainMillis = performance.now()
  }).pipe(
    Effect.provide(MlflowTracing.layer({ trackingUri: server.url, experimentName: drainName }).pipe(Layer.orDie)),
    Effect.runPromise
  ).then(() => performance.now() - drainMillis)
  const drainStored: number = await python(
    `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(drainName)})
print(json.dumps(len(mlflow.search_traces(locations=[exp.experiment_id], return_type="list", include_spans=False,
                                          max_results=1100))))
`,
    { MLFLOW_TRACKING_URI: server.url }
  )
  console.log("\nShutdown with 1000 traces queued (default shutdownTimeout 30 s)")
  console.log("| drain at release (s) | stored |")
  console.log("| ---: | ---: |")
  console.log(`| ${(drained / 1000).toFixed(1)} | ${drainStored} of 1000 |`)

  // event loop: 100 KB payloads at 40 traces/s for 10 s, exported to the server while produced
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
}
