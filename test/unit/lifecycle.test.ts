import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Logger, Option, Scope } from "effect"
import { Mlflow, MlflowTracing, type Sink } from "../../src/index.js"
import * as ExporterModule from "../../src/Sink.js"

const hanging: Sink.Sink = { export: () => Effect.never, exportLateSpans: () => Effect.never }
const storing = (stored: Array<string>): Sink.Sink => ({
  export: (traces) => Effect.sync(() => void stored.push(...traces.map((t) => t.info.traceId))),
  exportLateSpans: () => Effect.void
})

/** Builds the tracing layer in a scope of its own, to release it while fibers it traced still run. */
const buildIn = (sink: Sink.Sink, options: Parameters<typeof MlflowTracing.layerSink>[1]) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      MlflowTracing.layerSink(sink, { workers: 1, batchSize: 1, shutdownTimeout: "300 millis", ...options }),
      scope
    )
    return { scope, context, service: Context.get(context, MlflowTracing.MlflowTracing) }
  })

describe("lifecycle edges", () => {
  it.live("a root span that ends after the layer was released is counted as dropped (shutdown), and waits on nothing", () =>
    Effect.gen(function*() {
      for (const asyncLogging of [true, false]) {
        const stored: Array<string> = []
        const { context, scope, service } = yield* buildIn(storing(stored), { asyncLogging })
        const started = yield* Deferred.make<void>()
        const late = yield* Effect.gen(function*() {
          yield* Deferred.succeed(started, undefined)
          yield* Effect.sleep("200 millis")
        }).pipe(Mlflow.span("late root"), Effect.provide(context), Effect.forkDaemon)
        yield* Deferred.await(started)
        yield* Scope.close(scope, Exit.void)
        const exit = yield* Fiber.await(late).pipe(Effect.timeout("2 seconds"), Effect.option)
        assert.isTrue(Option.isSome(exit), `asyncLogging ${asyncLogging}: the late root span waited on the queue`)
        const stats = yield* service.stats
        assert.strictEqual(stats.dropped.shutdown, 1, `asyncLogging ${asyncLogging}`)
        assert.strictEqual(stats.queued, 0)
        assert.strictEqual(stored.length, 0)
      }
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))

  it.live("traces still queued at release are counted, and none is left queued", () =>
    Effect.gen(function*() {
      const { context, scope, service } = yield* buildIn(hanging, {})
      yield* Effect.forEach([1, 2, 3, 4, 5], (i) => Effect.void.pipe(Effect.withSpan(`t${i}`)), { discard: true }).pipe(
        Effect.provide(context)
      )
      yield* Scope.close(scope, Exit.void)
      const stats = yield* service.stats
      assert.strictEqual(stats.queued, 0)
      assert.strictEqual(stats.inFlight, 0)
      assert.strictEqual(stats.dropped.shutdown, 5)
      assert.strictEqual(stats.exported + stats.failed + stats.dropped.shutdown, 5)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))

  it.live("synchronous logging: interrupting a request whose export hangs does not wait for the retry budget", () =>
    Effect.gen(function*() {
      const { context, scope } = yield* buildIn(hanging, { asyncLogging: false, shutdownTimeout: "100 millis" })
      const request = yield* Effect.void.pipe(Mlflow.span("request"), Effect.provide(context), Effect.fork)
      yield* Effect.sleep("100 millis")
      const interrupted = yield* Fiber.interrupt(request).pipe(Effect.timeout("1 second"), Effect.option)
      assert.isTrue(Option.isSome(interrupted), "interrupting the request blocked")
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))

  it.live("at shutdown, an export waiting out a long backoff tries again at once", () =>
    Effect.gen(function*() {
      let attempts = 0
      const stored: Array<string> = []
      const flaky: Sink.Sink = {
        export: (traces) =>
          Effect.suspend(() =>
            ++attempts === 1
              ? Effect.fail(new ExporterModule.ExportError({ detail: "503", retryable: true }))
              : Effect.sync(() => void stored.push(...traces.map((t) => t.info.traceId)))
          ),
        exportLateSpans: () => Effect.void
      }
      const { context, scope, service } = yield* buildIn(flaky, {
        retryInitialDelay: "20 seconds",
        retryMaxDelay: "60 seconds",
        shutdownTimeout: "5 seconds"
      })
      yield* Effect.void.pipe(Effect.withSpan("t"), Effect.provide(context))
      yield* Effect.sleep("200 millis") // the first attempt failed; the retry waits 20 s
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      assert.isBelow(Date.now() - started, 2000)
      assert.strictEqual(stored.length, 1)
      assert.strictEqual((yield* service.stats).exported, 1)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))

  it.live("at release, a late span still queued is counted as a dropped late span, its trace in flight as shutdown", () =>
    Effect.gen(function*() {
      const { context, scope, service } = yield* buildIn(hanging, { lateSpanGrace: "50 millis" })
      // the root ends while a child runs on: after the grace the trace goes out (and hangs), then
      // the child ends and waits in the queue as a late span
      yield* Effect.gen(function*() {
        yield* Effect.sleep("1500 millis").pipe(Effect.withSpan("child"), Effect.forkDaemon)
      }).pipe(Effect.withSpan("root"), Effect.provide(context))
      yield* Effect.sleep("2500 millis")
      yield* Scope.close(scope, Exit.void)
      const stats = yield* service.stats
      assert.strictEqual(stats.dropped.shutdown, 1)
      assert.strictEqual(stats.dropped.lateSpan, 1)
      assert.strictEqual(stats.queued, 0)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))
})
