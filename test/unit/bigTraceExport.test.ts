import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { MlflowTracing, type Sink } from "../../src/index.js"
import { encodeTraceRequest, encodeTraceRequestYielding } from "../../src/internal/format/otlp.js"
import type { SpanData, Trace } from "../../src/Trace.js"
import { decodeRequest } from "../support/otlpDecode.js"
import { spanData } from "../support/spanData.js"

const SPANS = 10_000

/** Counts turns of the event loop (one a turn: it schedules itself again) until stopped. */
const ticker = () => {
  let ticks = 0
  let running = true
  const tick = () => {
    if (!running) return
    ticks++
    setImmediate(tick)
  }
  setImmediate(tick)
  return {
    ticks: () => ticks,
    stop: () => void (running = false)
  }
}

/** A root with SPANS - 1 children, each with a few hundred bytes of inputs. */
const bigTrace = Effect.forEach(
  Array.from({ length: SPANS - 1 }, (_, i) => i),
  (i) =>
    Effect.void.pipe(
      Effect.withSpan(`step-${i}`, { attributes: { "mlflow.spanInputs": { i, text: "x".repeat(300) } } })
    ),
  { discard: true }
)

/** A span processor that takes its time: 20 µs a span, 200 ms for the trace, on any machine. */
const slowProcessor = () => {
  const until = performance.now() + 0.02
  while (performance.now() < until) {
    // busy
  }
}

describe("a trace of 10,000 spans", () => {
  it.live("is prepared for export in slices: the event loop turns while it is", () =>
    Effect.gen(function*() {
      let turns: number | undefined
      let exported: ReadonlyArray<Trace> = []
      let counter: ReturnType<typeof ticker> | undefined
      const sink: Sink.Sink = {
        export: (traces) =>
          Effect.sync(() => {
            // what the export fibers did between the root's end and the sink
            turns = counter?.ticks()
            exported = traces
          }),
        exportLateSpans: () => Effect.void
      }
      yield* Effect.gen(function*() {
        yield* bigTrace.pipe(
          Effect.zipRight(Effect.sync(() => counter = ticker())),
          Effect.withSpan("root")
        )
        yield* Effect.flatMap(MlflowTracing.MlflowTracing, (service) => service.flush("60 seconds"))
      }).pipe(
        Effect.provide(MlflowTracing.layerSink(sink, { maxSpansPerTrace: 100_000, spanProcessors: [slowProcessor] }))
      )
      counter?.stop()
      assert.strictEqual(exported.length, 1)
      assert.strictEqual(exported[0].spans.length, SPANS)
      // in one piece, the loop turns once or twice on the way (a hand-off, a batch taken); in slices of
      // a few milliseconds, dozens of times in 200 ms of work
      assert.isAtLeast(turns ?? 0, 10, `the event loop turned ${turns} times while the trace was prepared`)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))

  it.live("is encoded as OTLP in slices, into the same bytes as at once", () =>
    Effect.gen(function*() {
      // 4 KB of attributes a span, 40 MB for the request: tens of milliseconds of encoding anywhere
      const spans: ReadonlyArray<SpanData> = Array.from(
        { length: SPANS },
        (_, i) =>
          spanData((i + 1).toString(16), i === 0 ? null : "1", {
            "mlflow.spanInputs": { i, text: "x".repeat(4096) }
          })
      )
      const resource = { attributes: { "service.name": "big" } }
      const counter = ticker()
      const sliced = yield* encodeTraceRequestYielding(spans, resource)
      counter.stop()
      const whole = encodeTraceRequest(spans, resource)
      assert.isTrue(Buffer.from(sliced).equals(Buffer.from(whole)), "the same request")
      const names = decodeRequest(sliced)[0].scopes.flatMap((scope) => scope.spans.map((span) => span.name))
      assert.deepStrictEqual(names, spans.map((span) => span.name))
      assert.isAtLeast(counter.ticks(), 3, `the event loop turned ${counter.ticks()} times while it was encoded`)
    }))
})
