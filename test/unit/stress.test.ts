import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Logger, Schedule } from "effect"
import { MlflowTracing, type Sink } from "../../src/index.js"
import type { Trace } from "../../src/Trace.js"

const keeping = () => {
  const stored: Array<Trace> = []
  const sink: Sink.Sink = {
    export: (traces) => Effect.sync(() => void stored.push(...traces)),
    exportLateSpans: () => Effect.void
  }
  return { sink, stored }
}

const flushAndStats = Effect.flatMap(
  MlflowTracing.MlflowTracing,
  (service) => Effect.zipRight(service.flush("60 seconds"), service.stats)
)

describe("under stress", () => {
  it.live("interruption storms and race losers: every started span ends, with a status", () =>
    Effect.gen(function*() {
      const { sink, stored } = keeping()
      const stats = yield* Effect.gen(function*() {
        // races: the losers are interrupted inside their spans
        yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) =>
          Effect.raceAll([
            Effect.sleep("1 millis").pipe(Effect.as("fast"), Effect.withSpan(`winner-${i}`)),
            Effect.never.pipe(Effect.withSpan(`loser-a-${i}`)),
            Effect.sleep("1 second").pipe(Effect.withSpan(`loser-b-${i}`))
          ]).pipe(Effect.withSpan(`race-${i}`)), { concurrency: 20, discard: true })
        // a storm: 2,000 fibers in nested spans interrupted together, mid-flight
        const fibers = yield* Effect.forEach(
          Array.from({ length: 2000 }, (_, i) => i),
          (i) => Effect.never.pipe(Effect.withSpan(`inner-${i}`), Effect.withSpan(`storm-${i}`), Effect.forkDaemon)
        )
        // every storm span started (the races' are done), then all interrupted at once
        yield* Effect.flatMap(MlflowTracing.MlflowTracing, (service) => service.stats).pipe(
          Effect.repeat({ until: (now) => now.spans.started - now.spans.ended >= 2000 * 2 }),
          Effect.timeout("60 seconds")
        )
        yield* Fiber.interruptAll(fibers)
        return yield* flushAndStats
      }).pipe(Effect.provide(MlflowTracing.layerSink(sink, { queueCapacity: 10_000, bufferMaxSize: 10_000 })))
      const spans = stored.flatMap((trace) => trace.spans)
      assert.deepStrictEqual(Object.values(stats.dropped).filter((n) => n > 0), [])
      // a loser whose fiber had not run when the winner won has no span
      assert.isAtLeast(stats.spans.started, 200 * 2 + 2000 * 2)
      assert.strictEqual(stats.spans.ended, stats.spans.started)
      assert.strictEqual(spans.length, stats.spans.started)
      assert.strictEqual(stats.inProgress, 0)
      for (const span of spans) assert.include(["OK", "ERROR"], span.status.code, span.name)
      const losers = spans.filter((span) => span.name.startsWith("loser") || span.name.startsWith("storm"))
      assert.isAtLeast(losers.length, 2000)
      for (const span of losers) assert.strictEqual(span.status.code, "ERROR", span.name)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))), 120_000)

  it.live(
    "100,000 spans open at once in one trace: each ends with a status, and the trace is kept within its bound",
    () =>
      Effect.gen(function*() {
        const { sink, stored } = keeping()
        const open = 100_000
        const { result, stats } = yield* Effect.gen(function*() {
          const gate = yield* Deferred.make<void>()
          const service = yield* MlflowTracing.MlflowTracing
          const fiber = yield* Effect.forEach(
            Array.from({ length: open }, (_, i) => i),
            (i) => Effect.as(Deferred.await(gate), i).pipe(Effect.withSpan(`open-${i}`)),
            { concurrency: "unbounded" }
          ).pipe(
            Effect.map((all) => all.reduce((a, b) => a + b, 0)),
            Effect.withSpan("root"),
            Effect.fork
          )
          yield* service.stats.pipe(
            Effect.repeat({
              schedule: Schedule.spaced("50 millis"),
              until: (now) => now.spans.started - now.spans.ended >= open + 1
            }),
            Effect.timeout("120 seconds")
          )
          yield* Deferred.succeed(gate, undefined)
          const result = yield* Fiber.join(fiber)
          return { result, stats: yield* flushAndStats }
        }).pipe(Effect.provide(MlflowTracing.layerSink(sink, { maxSpansPerTrace: 10_000 })))
        // the program's own answer is untouched
        assert.strictEqual(result, (open * (open - 1)) / 2)
        assert.strictEqual(stats.spans.started, open + 1)
        assert.strictEqual(stats.spans.ended, open + 1)
        assert.strictEqual(stats.inProgress, 0)
        assert.strictEqual(stats.exported, 1)
        assert.deepStrictEqual(Object.values(stats.dropped).filter((n) => n > 0), [])
        assert.strictEqual(stored.length, 1)
        const [trace] = stored
        assert.strictEqual(trace.spans.length, 10_000)
        assert.strictEqual(trace.spans.filter((span) => span.name === "root").length, 1)
        for (const span of trace.spans) assert.strictEqual(span.status.code, "OK", span.name)
        // what was left out is said, exactly
        assert.include(trace.info.metadata["effect_mlflow.truncation"], "\"spans_dropped\": 90001")
      }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))),
    300_000
  )
})
