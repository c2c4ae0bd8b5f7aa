/**
 * Per-span cost of MLflow tracing compared with Effect's built-in tracer and with tracing off.
 *
 * Each configuration runs the same program: traces of one root and 9 child spans, with inputs and
 * outputs on every span (Mlflow.span). "MLflow (no-op sink)" runs the whole pipeline (assembly,
 * finalization, queue, workers) and flushes before the clock stops; only the sink does nothing.
 * Configurations alternate within each repeat; the table shows medians over repeats.
 *
 * Run: npm run bench   (TRACES=2000 REPEATS=9 to change the size)
 */
import { Effect, Layer } from "effect"
import { Mlflow, MlflowTracing } from "../src/index.js"

const TRACES = Number(process.env.TRACES ?? 2000)
const REPEATS = Number(process.env.REPEATS ?? 9)
const SPANS_PER_TRACE = 10

const request = (i: number) =>
  Effect.forEach(
    Array.from({ length: SPANS_PER_TRACE - 1 }, (_, j) => j),
    (j) =>
      Effect.succeed({ step: j, text: "ok" }).pipe(Mlflow.span(`step-${j}`, { spanType: "TOOL", inputs: { i, j } })),
    { discard: true }
  ).pipe(Mlflow.span("request", { spanType: "CHAIN", inputs: { i } }))

const workload = Effect.gen(function*() {
  for (let i = 0; i < TRACES; i++) yield* request(i)
  yield* Mlflow.flush()
})

const noopSink = MlflowTracing.layerSink({ export: () => Effect.void, exportLateSpans: () => Effect.void })

const configurations: ReadonlyArray<readonly [string, (self: typeof workload) => Effect.Effect<void>]> = [
  ["tracing off", (self) => Effect.withTracerEnabled(self, false)],
  ["Effect built-in tracer", (self) => self],
  ["MLflow (no-op sink)", (self) => Effect.provide(self, noopSink.pipe(Layer.orDie))]
]

const timeOnce = async (run: Effect.Effect<void>): Promise<number> => {
  const start = process.hrtime.bigint()
  await Effect.runPromise(run)
  return Number(process.hrtime.bigint() - start) / (TRACES * SPANS_PER_TRACE)
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

const samples = new Map<string, Array<number>>(configurations.map(([name]) => [name, []]))
for (const [, wrap] of configurations) await timeOnce(wrap(workload)) // warm up
for (let r = 0; r < REPEATS; r++) {
  for (const [name, wrap] of configurations) samples.get(name)!.push(await timeOnce(wrap(workload)))
}

const baseline = median(samples.get("tracing off")!)
const builtIn = median(samples.get("Effect built-in tracer")!)
console.log(`${TRACES} traces x ${SPANS_PER_TRACE} spans, ${REPEATS} repeats (median), Node ${process.version}`)
console.log("| configuration | ns per span | vs tracing off | vs built-in tracer |")
console.log("| --- | ---: | ---: | ---: |")
for (const [name] of configurations) {
  const ns = median(samples.get(name)!)
  console.log(`| ${name} | ${ns.toFixed(0)} | ${(ns / baseline).toFixed(2)}x | ${(ns / builtIn).toFixed(2)}x |`)
}
