import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger } from "effect"
import { Mlflow, MlflowTracing, type Sink } from "../../src/index.js"

describe("flush under concurrent traffic", () => {
  it.live("waits for the traces that ended before it, not for the whole process to be idle", () => {
    const stored = new Set<string>()
    const sink: Sink.Sink = {
      export: (traces) =>
        Effect.sleep("20 millis").pipe(Effect.as(traces.forEach((trace) => stored.add(trace.info.traceId)))),
      exportLateSpans: () => Effect.void
    }
    return Effect.gen(function*() {
      // other requests: a trace every 5 ms, so the queue is never empty
      const traffic = yield* Effect.void.pipe(
        Effect.withSpan("other"),
        Effect.zipRight(Effect.sleep("5 millis")),
        Effect.forever,
        Effect.fork
      )
      yield* Effect.sleep("100 millis")
      for (let i = 0; i < 5; i++) {
        const started = Date.now()
        yield* Effect.void.pipe(Mlflow.span(`request ${i}`))
        const id = yield* Mlflow.lastTraceIdInFiber
        const flushed = yield* Mlflow.flush("3 seconds")
        const elapsed = Date.now() - started
        assert.isTrue(flushed, `flush ${i} timed out`)
        assert.isBelow(elapsed, 1000)
        assert.isTrue(id._tag === "Some" && stored.has(id.value), "the request's own trace is stored")
      }
      // the scoped helper too
      const started = Date.now()
      yield* Effect.void.pipe(Mlflow.span("scoped request"), Mlflow.withFlush("3 seconds"))
      assert.isBelow(Date.now() - started, 1000)
      yield* Fiber.interrupt(traffic)
    }).pipe(
      Effect.provide(
        MlflowTracing.layerSink(sink, { workers: 2, batchSize: 50 })
      ),
      Effect.provide(Logger.remove(Logger.defaultLogger))
    )
  })
})
