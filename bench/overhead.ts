/**
 * The hot path: CPU, wall time and heap allocated per trace, for the same traced program under each
 * tracer. A trace is one root and 9 children, each span with ~1 KB of inputs and ~1 KB of outputs
 * (`Mlflow.span`, which on other tracers sets them as span attributes). Every tracer runs its whole
 * pipeline to an exporter that does nothing, flushed before the clock stops:
 *
 * - tracing off, and Effect's built-in tracer (records spans, exports nothing);
 * - effect-mlflow into a no-op sink (assembly, processors, budgets, finalization, queue, workers);
 * - `@effect/opentelemetry` NodeSdk with a BatchSpanProcessor, the same Effect program;
 * - `@effect/opentelemetry` OtlpTracer, the same Effect program, exporting OTLP protobuf over HTTP to
 *   a loopback collector that answers and stores nothing (so it does the encoding and the requests a
 *   no-op sink skips);
 * - the plain OpenTelemetry JS SDK (BasicTracerProvider + BatchSpanProcessor), the same work written
 *   without Effect (attributes as JSON strings, as OTel wants them).
 *
 * Each measure runs in a fresh process (after two warm-up runs, and again warm, at run 10, once the
 * JIT has settled: a long-running service runs warm), configurations alternating within each repeat; medians over repeats; heap allocated is the sum of
 * what each garbage collection freed plus what is still held at the end (`v8.GCProfiler`).
 *
 * Run: npm run bench:overhead   (TRACES=1000 REPEATS=7 to change the size; npm run bench:compare -- <rev> runs it
 * against another revision)
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { context as otelContext, trace as otelTrace } from "@opentelemetry/api"
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter
} from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import * as v8 from "node:v8"
import { Mlflow, MlflowTracing } from "../src/index.js"

const TRACES = Number(process.env.TRACES ?? 1000)
const REPEATS = Number(process.env.REPEATS ?? 7)
const SPANS_PER_TRACE = 10

const inputs = (i: number, j: number) => ({
  request: i,
  step: j,
  question: "What is MLflow?",
  context: "c".repeat(960)
})
const outputs = (j: number) => ({ step: j, answer: "a".repeat(990) })

const request = (i: number) =>
  Effect.forEach(
    Array.from({ length: SPANS_PER_TRACE - 1 }, (_, j) => j),
    (j) => Effect.sync(() => outputs(j)).pipe(Mlflow.span(`step-${j}`, { spanType: "TOOL", inputs: inputs(i, j) })),
    { discard: true }
  ).pipe(Effect.as(outputs(-1)), Mlflow.span("request", { spanType: "CHAIN", inputs: inputs(i, -1) }))

const workload = (flush: Effect.Effect<unknown>) =>
  Effect.gen(function*() {
    for (let i = 0; i < TRACES; i++) yield* request(i)
    yield* flush
  })

const noopExporter: SpanExporter = {
  export: (_spans: Array<ReadableSpan>, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve()
}
const batch = () => new BatchSpanProcessor(noopExporter, { maxQueueSize: 100_000, maxExportBatchSize: 512 })

const mlflowNoop = MlflowTracing.layerSink({ export: () => Effect.void, exportLateSpans: () => Effect.void }, {
  queueCapacity: 100_000
}).pipe(Layer.orDie)

/** The plain OTel SDK doing the same work: nested active spans, inputs and outputs as JSON attributes. */
const plainOtel = async () => {
  const provider = new BasicTracerProvider({ spanProcessors: [batch()] })
  const tracer = provider.getTracer("bench")
  for (let i = 0; i < TRACES; i++) {
    const root = tracer.startSpan("request", {
      attributes: { "mlflow.spanType": "CHAIN", "mlflow.spanInputs": JSON.stringify(inputs(i, -1)) }
    })
    const context = otelTrace.setSpan(otelContext.active(), root)
    for (let j = 0; j < SPANS_PER_TRACE - 1; j++) {
      const span = tracer.startSpan(`step-${j}`, {
        attributes: { "mlflow.spanType": "TOOL", "mlflow.spanInputs": JSON.stringify(inputs(i, j)) }
      }, context)
      span.setAttribute("mlflow.spanOutputs", JSON.stringify(outputs(j)))
      span.end()
    }
    root.setAttribute("mlflow.spanOutputs", JSON.stringify(outputs(-1)))
    root.end()
  }
  await provider.forceFlush()
  await provider.shutdown()
}

/** A loopback OTLP endpoint that reads each request and answers success. */
const collector = http.createServer((req, res) => {
  req.resume()
  req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"))
})
await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve))
const collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`

const otlpTracer = OtlpTracer.layer({ url: collectorUrl, resource: { serviceName: "bench" }, maxBatchSize: 1000 }).pipe(
  Layer.provide(OtlpSerialization.layerProtobuf),
  Layer.provide(FetchHttpClient.layer)
)

const configurations: ReadonlyArray<readonly [string, () => Promise<unknown>]> = [
  ["tracing off", () => Effect.runPromise(Effect.withTracerEnabled(workload(Effect.void), false))],
  ["Effect built-in tracer", () => Effect.runPromise(workload(Effect.void))],
  ["effect-mlflow (no-op sink)", () => Effect.runPromise(Effect.provide(workload(Mlflow.flush()), mlflowNoop))],
  [
    "@effect/opentelemetry NodeSdk + BatchSpanProcessor",
    () =>
      Effect.runPromise(
        Effect.provide(
          workload(Effect.void),
          NodeSdk.layer(() => ({ resource: { serviceName: "bench" }, spanProcessor: batch() }))
        )
      )
  ],
  [
    "@effect/opentelemetry OtlpTracer (protobuf to a loopback collector)",
    () => Effect.runPromise(Effect.provide(workload(Effect.void), otlpTracer))
  ],
  ["OpenTelemetry JS SDK (no Effect)", plainOtel]
]

/** the run measured warm (the first measure is the third run) */
const WARM_AFTER = Number(process.env.WARM_AFTER ?? 10)

interface Sample {
  readonly cpu: number
  readonly warmCpu: number
  readonly wall: number
  readonly heap: number
}

const measure = async (run: () => Promise<unknown>): Promise<Omit<Sample, "warmCpu">> => {
  const profiler = new v8.GCProfiler()
  profiler.start()
  const heapBefore = process.memoryUsage().heapUsed
  const cpuBefore = process.cpuUsage()
  const start = process.hrtime.bigint()
  await run()
  const wall = Number(process.hrtime.bigint() - start) / 1e6
  const cpu = process.cpuUsage(cpuBefore)
  const heapAfter = process.memoryUsage().heapUsed
  const gcs = profiler.stop()?.statistics ?? []
  const freed = gcs.reduce((sum, gc) => {
    const before = gc.beforeGC.heapStatistics.usedHeapSize
    const after = gc.afterGC.heapStatistics.usedHeapSize
    return sum + Math.max(0, before - after)
  }, 0)
  return {
    cpu: (cpu.user + cpu.system) / 1000 / TRACES,
    wall: wall / TRACES,
    heap: (freed + heapAfter - heapBefore) / TRACES
  }
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

// Each measure runs in a process of its own, so that no configuration pays for the garbage another
// left behind (collections of an old generation that others filled); repeats interleave them.
const only = process.env.OVERHEAD_CONFIGURATION
if (only !== undefined) {
  const run = configurations.find(([name]) => name === only)![1]
  await run() // warm up
  await run()
  const early = await measure(run)
  // a long-running service runs warm: the same measure once the JIT has settled on every path
  for (let i = 0; i < WARM_AFTER - 3; i++) await run()
  const warm = await measure(run)
  console.log(JSON.stringify({ ...early, warmCpu: warm.cpu }))
  collector.close()
  process.exit(0)
}
const samples = new Map<string, Array<Sample>>(configurations.map(([name]) => [name, []]))
for (let r = 0; r < REPEATS; r++) {
  for (const [name] of configurations) {
    const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, OVERHEAD_CONFIGURATION: name },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
    samples.get(name)!.push(JSON.parse(out.trim().split("\n").at(-1)!) as Sample)
  }
}

const med = (name: string, field: keyof Sample) => median(samples.get(name)!.map((s) => s[field]))
const builtIn = med("Effect built-in tracer", "cpu")
const builtInWarm = med("Effect built-in tracer", "warmCpu")
console.log(
  `Hot path: ${TRACES} traces of ${SPANS_PER_TRACE} spans (~1 KB inputs and ~1 KB outputs each), ${REPEATS} interleaved repeats (median, one process per measure), Node ${process.version}`
)
console.log(
  `| configuration | CPU µs/trace | vs built-in (CPU) | wall µs/trace | heap KB/trace | warm CPU µs/trace (run ${WARM_AFTER}) | vs built-in (warm) |`
)
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for (const [name] of configurations) {
  const cpu = med(name, "cpu")
  console.log(
    `| ${name} | ${(cpu * 1000).toFixed(0)} | ${(cpu / builtIn).toFixed(2)}x | ${
      (med(name, "wall") * 1000).toFixed(0)
    } | ${(med(name, "heap") / 1024).toFixed(0)} | ${(med(name, "warmCpu") * 1000).toFixed(0)} | ${
      (med(name, "warmCpu") / builtInWarm).toFixed(2)
    }x |`
  )
}
collector.close()
