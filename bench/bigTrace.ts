/**
 * One big trace: how long the event loop is held while a trace of 1k, 5k and 10k spans is
 * recorded and exported to a loopback sink, beside Effect's own tracer running the same program.
 *
 * The program: a root span whose children (~200 bytes of inputs each) run one after the other, every
 * 20th waiting for a turn of the event loop (as I/O would; Effect's scheduler otherwise runs the
 * whole program in one go, whatever the tracer); then the layer's flush. The event-loop delay
 * (`perf_hooks.monitorEventLoopDelay`, 1 ms resolution, enabled 20 ms before) is sampled from the
 * program's start until the trace is stored: its max is the longest block, its p99 the usual one.
 * The process has made one request (`fetch` loads its HTTP client at the first) and one trace first. Sinks: an MLflow server stand-in on loopback (answers every
 * request; the spans go over OTLP/protobuf, the trace info with `StartTraceV3`), an OTLP/HTTP
 * collector on loopback (protobuf), and the local store (MLflow's `traces.json` in a temporary
 * directory). Each measure runs in a process of its own; medians over interleaved repeats.
 *
 * Run: npm run bench:bigtrace   (SIZES=1000,5000,10000 REPEATS=5 SINKS=effect,mlflow,otlp,local)
 */
import { Effect, Layer, Logger } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Mlflow, MlflowTracing } from "../src/index.js"

const SIZES = (process.env.SIZES ?? "1000,5000,10000").split(",").map(Number)
const REPEATS = Number(process.env.REPEATS ?? 5)
const SINKS = (process.env.SINKS ?? "effect,mlflow,otlp,local").split(",")
const LABELS: Record<string, string> = {
  effect: "Effect built-in tracer (nothing exported)",
  mlflow: "effect-mlflow, MLflow server stand-in on loopback",
  otlp: "effect-mlflow, OTLP/HTTP collector on loopback",
  local: "effect-mlflow, local store (temporary directory)"
}

const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

const program = (spans: number) =>
  Effect.forEach(
    Array.from({ length: spans - 1 }, (_, i) => i),
    (i) =>
      (i % 20 === 0 ? turn : Effect.succeed(i)).pipe(
        Mlflow.span(`step-${i}`, { spanType: "TOOL", inputs: { i, text: "x".repeat(200) } })
      ),
    { discard: true }
  ).pipe(Mlflow.span("big", { spanType: "CHAIN", inputs: { question: "a big trace" } }))

/** A loopback server answering every request with `{}` (enough for the MLflow sink and a collector). */
const loopback = () =>
  new Promise<{ url: string; server: http.Server }>((resolve) => {
    const server = http.createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        if (req.url?.startsWith("/v1/traces")) res.writeHead(200, { "content-type": "application/x-protobuf" }).end()
        else res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }))
  })

/** One measure in this process: the delay figures while `spans` spans are traced and exported. */
const measure = async (sink: string, spans: number) => {
  const { server, url } = await loopback()
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "bigtrace-"))
  const options: MlflowTracing.PipelineOptions & { trackingUri?: string; localDirectory?: string } = sink === "mlflow"
    ? { trackingUri: url, experimentId: "1" }
    : sink === "otlp"
    ? { otlp: { endpoint: url, protocol: "http/protobuf" } }
    : { localDirectory: directory }
  await fetch(url).then((answer) => answer.arrayBuffer())
  const lag = monitorEventLoopDelay({ resolution: 1 })
  const started = Effect.zipRight(
    Effect.sync(() => lag.enable()),
    Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
  )
  const run = sink === "effect"
    ? Effect.zipRight(started, program(spans))
    : Effect.gen(function*() {
      const tracing = yield* MlflowTracing.MlflowTracing
      yield* program(10)
      yield* tracing.flush("120 seconds")
      yield* started
      yield* program(spans)
      yield* tracing.flush("120 seconds")
      const stats = yield* tracing.stats
      if (stats.exported !== 2) throw new Error(`${sink}: exported ${stats.exported} of 2 (${JSON.stringify(stats)})`)
    }).pipe(Effect.provide(Layer.orDie(MlflowTracing.layer({ ...options, maxSpansPerTrace: 100_000 }))))
  await Effect.runPromise(run.pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))
  // a block at the very end is sampled only when the monitor's timer runs again
  await new Promise((resolve) => setTimeout(resolve, 20))
  lag.disable()
  server.close()
  fs.rmSync(directory, { recursive: true, force: true })
  return { max: lag.max / 1e6, p99: lag.percentile(99) / 1e6 }
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

if (process.env.BIGTRACE_ONE !== undefined) {
  const [sink, spans] = process.env.BIGTRACE_ONE.split(":")
  console.log(JSON.stringify(await measure(sink, Number(spans))))
} else {
  const results = new Map<string, Array<{ max: number; p99: number }>>()
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    for (const spans of SIZES) {
      for (const sink of SINKS) {
        const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1]], {
          env: { ...process.env, BIGTRACE_ONE: `${sink}:${spans}` },
          encoding: "utf8",
          stdio: ["ignore", "pipe", "inherit"]
        })
        const key = `${sink}:${spans}`
        results.set(key, [...(results.get(key) ?? []), JSON.parse(out.trim().split("\n").pop()!)])
      }
    }
  }
  console.log(
    `One trace of N spans traced and exported: event-loop delay (ms), median of ${REPEATS} interleaved repeats ` +
      `(one process per measure), Node ${process.version}\n`
  )
  console.log(`| tracer, sink | ${SIZES.map((n) => `${n} spans: max | p99`).join(" | ")} |`)
  console.log(`| --- | ${SIZES.map(() => "---: | ---:").join(" | ")} |`)
  for (const sink of SINKS) {
    const cells = SIZES.map((spans) => {
      const runs = results.get(`${sink}:${spans}`)!
      return `${median(runs.map((r) => r.max)).toFixed(1)} | ${median(runs.map((r) => r.p99)).toFixed(1)}`
    })
    console.log(`| ${LABELS[sink] ?? sink} | ${cells.join(" | ")} |`)
  }
}
