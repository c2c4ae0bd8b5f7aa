/**
 * Cost of the traced language model layer per call, against an in-process fake model (so the
 * figure is our cost alone, with no network): the plain model, the plain model under MLflow
 * tracing (only `@effect/ai`'s own span is recorded), and the traced layer under MLflow tracing
 * (a CHAT_MODEL span with messages, tools, outputs and usage; for streams, chunk events).
 * Every configuration runs the full pipeline into a no-op sink and flushes before the clock stops.
 * Configurations alternate within each repeat; the table shows medians over repeats.
 *
 * Run: npm run bench:llm   (CALLS=500 REPEATS=7 CHUNKS=100 to change the size)
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { Effect, Layer, Stream } from "effect"
import { Mlflow, MlflowTracing } from "../src/index.js"
import * as TracedLanguageModel from "../src/providers/TracedLanguageModel.js"

const CALLS = Number(process.env.CALLS ?? 500)
const REPEATS = Number(process.env.REPEATS ?? 7)
const CHUNKS = Number(process.env.CHUNKS ?? 100)

const finish = {
  type: "finish",
  reason: "stop",
  usage: { inputTokens: 120, outputTokens: 40, totalTokens: 160 }
} as const
const words = Array.from({ length: CHUNKS }, (_, i) => `word${i} `)
const streamParts: Array<Response.StreamPartEncoded> = [
  { type: "text-start", id: "t" },
  ...words.map((delta) => ({ type: "text-delta" as const, id: "t", delta })),
  { type: "text-end", id: "t" },
  finish
]

const FakeModel = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: () => Effect.succeed([{ type: "text", text: "A short answer of a few words." }, finish]),
    streamText: () => Stream.fromIterable(streamParts)
  })
)

const prompt = [
  { role: "system" as const, content: "You answer from the context.\n".repeat(20) },
  { role: "user" as const, content: "What does MLflow Tracing record?" }
]

const generate = Effect.gen(function*() {
  for (let i = 0; i < CALLS; i++) yield* LanguageModel.generateText({ prompt }).pipe(Effect.withSpan("request"))
  yield* Mlflow.flush()
})
const stream = Effect.gen(function*() {
  for (let i = 0; i < CALLS; i++) {
    yield* Stream.runDrain(LanguageModel.streamText({ prompt })).pipe(Effect.withSpan("request"))
  }
  yield* Mlflow.flush()
})

const noopSink = MlflowTracing.layerSink({
  export: () => Effect.void,
  exportLateSpans: () => Effect.void
}).pipe(Layer.orDie)
const plain = Layer.merge(FakeModel, noopSink)
const traced = Layer.merge(TracedLanguageModel.layer({ provider: "fake" }).pipe(Layer.provide(FakeModel)), noopSink)

const configurations = [
  [
    "plain model, tracing off",
    (self: Effect.Effect<void, any, any>) => self.pipe(Effect.withTracerEnabled(false), Effect.provide(plain))
  ],
  ["plain model, MLflow tracing", (self: Effect.Effect<void, any, any>) => Effect.provide(self, plain)],
  ["traced layer, MLflow tracing", (self: Effect.Effect<void, any, any>) => Effect.provide(self, traced)]
] as const

const timeOnce = async (run: Effect.Effect<void, any, any>): Promise<number> => {
  const start = process.hrtime.bigint()
  await Effect.runPromise(run as Effect.Effect<void, any>)
  return Number(process.hrtime.bigint() - start) / CALLS / 1000
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

console.log(`${CALLS} calls per run, ${REPEATS} repeats (median), stream of ${CHUNKS} chunks, Node ${process.version}`)
console.log("| call | configuration | µs per call | vs tracing off | vs plain model traced |")
console.log("| --- | --- | ---: | ---: | ---: |")
for (const [label, workload] of [["generateText", generate], ["streamText", stream]] as const) {
  const samples = new Map<string, Array<number>>(configurations.map(([name]) => [name, []]))
  for (const [, wrap] of configurations) await timeOnce(wrap(workload)) // warm up
  for (let r = 0; r < REPEATS; r++) {
    for (const [name, wrap] of configurations) samples.get(name)!.push(await timeOnce(wrap(workload)))
  }
  const off = median(samples.get(configurations[0][0])!)
  const plainTraced = median(samples.get(configurations[1][0])!)
  for (const [name] of configurations) {
    const us = median(samples.get(name)!)
    console.log(
      `| ${label} | ${name} | ${us.toFixed(1)} | ${(us / off).toFixed(2)}x | ${(us / plainTraced).toFixed(2)}x |`
    )
  }
}
