import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Logger } from "effect"
import { Mlflow, MlflowTracing, Sink } from "../../src/index.js"

const noopSink: Sink.Sink = { export: () => Effect.void, exportLateSpans: () => Effect.void }

/** Warnings logged while running `program`. */
const warnings = <A, E>(program: Effect.Effect<A, E>) => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })
  return Effect.as(program.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger))), lines)
}

/** An OpenTelemetry NodeSdk layer whose spans are kept in `exported` (past its shutdown). */
const otel = () => {
  const exported: Array<ReadableSpan> = []
  const layer = NodeSdk.layer(() => ({
    resource: { serviceName: "conflict" },
    spanProcessor: new SimpleSpanProcessor({
      export: (spans, done) => {
        exported.push(...spans)
        done({ code: 0 })
      },
      shutdown: () => Promise.resolve()
    })
  }))
  return { exported, layer }
}

const spans = Effect.forEach([1, 2, 3], (i) => Effect.void.pipe(Mlflow.span(`span-${i}`)), { discard: true })

describe("two tracers, one hiding the other", () => {
  it.effect("the MLflow layer inside an OpenTelemetry layer: one warning that it replaces it", () => {
    const { layer } = otel()
    return Effect.gen(function*() {
      const lines = yield* warnings(
        spans.pipe(Effect.provide(MlflowTracing.layerSink(noopSink)), Effect.provide(layer))
      )
      const replaced = lines.filter((line) => line.includes("replaces it"))
      assert.strictEqual(replaced.length, 1, lines.join("\n"))
    })
  })

  it.effect("an OpenTelemetry layer inside the MLflow layer: one warning, however many spans", () => {
    const { exported, layer } = otel()
    return Effect.gen(function*() {
      const lines = yield* warnings(
        spans.pipe(Effect.provide(layer), Effect.provide(MlflowTracing.layerSink(noopSink)))
      )
      assert.strictEqual(exported.length, 3)
      const hidden = lines.filter((line) => line.includes("made by another tracer"))
      assert.strictEqual(hidden.length, 1, lines.join("\n"))
    })
  })

  it.effect("one tracer, or tracing switched off: no warning", () =>
    Effect.gen(function*() {
      const alone = yield* warnings(spans.pipe(Effect.provide(MlflowTracing.layerSink(noopSink))))
      const off = yield* warnings(
        Mlflow.withoutTracing(spans).pipe(Effect.provide(MlflowTracing.layerSink(noopSink)))
      )
      const nested = yield* warnings(
        spans.pipe(Effect.provide(MlflowTracing.layerSink(noopSink)), Effect.provide(MlflowTracing.layerSink(noopSink)))
      )
      assert.deepStrictEqual([...alone, ...off, ...nested], [])
    }))
})
