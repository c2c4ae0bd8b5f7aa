import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Logger, Scope } from "effect"
import { MlflowTracing, type Sink } from "../../src/index.js"
import * as TestTracing from "../../src/testing/TestTracing.js"
import type { Trace } from "../../src/Trace.js"

/** A sink that keeps what it stores, by root span name. */
const recording = () => {
  const stored: Array<Trace> = []
  const sink: Sink.Sink = {
    export: (traces) => Effect.sync(() => void stored.push(...traces)),
    exportLateSpans: () => Effect.void
  }
  return {
    sink,
    roots: () => stored.map((trace) => trace.spans[0].name),
    names: () => stored.map((trace) => trace.spans.map((span) => span.name))
  }
}

const span = (name: string) => Effect.void.pipe(Effect.withSpan(name))

/** Spans before, inside and after an inner layer provided in the middle of the program. */
const around = <E>(inner: Layer.Layer<any, E>) =>
  Effect.gen(function*() {
    yield* span("before")
    yield* span("inside").pipe(Effect.provide(inner))
    yield* span("after")
  })

const statsOf = Effect.flatMap(MlflowTracing.MlflowTracing, (service) => service.stats)

const quiet = Logger.remove(Logger.defaultLogger)

describe("nested tracing layers", () => {
  it.effect("after the inner MlflowTracing layer is released, the outer one records again", () =>
    Effect.gen(function*() {
      const outer = recording()
      const inner = recording()
      const stats = yield* around(MlflowTracing.layerSink(inner.sink)).pipe(
        Effect.zipRight(Effect.flatMap(MlflowTracing.MlflowTracing, (service) => service.flush())),
        Effect.zipRight(statsOf),
        Effect.provide(MlflowTracing.layerSink(outer.sink))
      )
      assert.deepStrictEqual(inner.roots(), ["inside"])
      assert.deepStrictEqual(outer.roots(), ["before", "after"])
      assert.deepStrictEqual(stats.spans, { started: 2, ended: 2 })
      assert.strictEqual(stats.exported, 2)
    }).pipe(Effect.provide(quiet)))

  it.effect("after the inner TestTracing layer is released, the outer one records again", () =>
    Effect.gen(function*() {
      const names = yield* around(TestTracing.layer()).pipe(
        Effect.zipRight(TestTracing.traces),
        Effect.map((traces) => traces.map((trace) => trace.spans[0].name)),
        Effect.provide(TestTracing.layer())
      )
      assert.deepStrictEqual(names, ["before", "after"])
    }))

  it.effect("TestTracing outside, MlflowTracing inside: the test layer gets the spans after the inner one", () =>
    Effect.gen(function*() {
      const inner = recording()
      const names = yield* around(MlflowTracing.layerSink(inner.sink)).pipe(
        Effect.zipRight(TestTracing.traces),
        Effect.map((traces) => traces.map((trace) => trace.spans[0].name)),
        Effect.provide(TestTracing.layer())
      )
      assert.deepStrictEqual(names, ["before", "after"])
      assert.deepStrictEqual(inner.roots(), ["inside"])
    }).pipe(Effect.provide(quiet)))

  it.effect("an inner layer merged with another layer by the user gives the tracer back too", () =>
    Effect.gen(function*() {
      const outer = recording()
      const inner = recording()
      class Other extends Context.Tag("Other")<Other, number>() {}
      yield* around(Layer.merge(MlflowTracing.layerSink(inner.sink), Layer.succeed(Other, 1))).pipe(
        Effect.provide(MlflowTracing.layerSink(outer.sink))
      )
      assert.deepStrictEqual(inner.roots(), ["inside"])
      assert.deepStrictEqual(outer.roots(), ["before", "after"])
    }).pipe(Effect.provide(quiet)))

  it.live("a fiber that outlives the inner layer records its later spans into the outer layer", () =>
    Effect.gen(function*() {
      const outer = recording()
      const inner = recording()
      const innerDone = yield* Deferred.make<void>()
      const stats = yield* Effect.gen(function*() {
        const daemon = yield* Deferred.await(innerDone).pipe(
          Effect.zipRight(span("later")),
          Effect.forkDaemon,
          Effect.provide(MlflowTracing.layerSink(inner.sink))
        )
        yield* Deferred.succeed(innerDone, undefined)
        yield* Fiber.join(daemon)
        yield* Effect.flatMap(MlflowTracing.MlflowTracing, (service) => service.flush())
        return yield* statsOf
      }).pipe(Effect.provide(MlflowTracing.layerSink(outer.sink)))
      assert.deepStrictEqual(inner.roots(), [])
      assert.deepStrictEqual(outer.roots(), ["later"])
      assert.deepStrictEqual(stats.spans, { started: 1, ended: 1 })
    }).pipe(Effect.provide(quiet)))

  it.effect("spans of an inner layer under a span of the outer one are the inner layer's: each counts exactly its own", () =>
    Effect.gen(function*() {
      const outer = recording()
      const inner = recording()
      const [innerStats, outerStats] = yield* Effect.gen(function*() {
        yield* span("before")
        const stats = yield* span("inside").pipe(
          Effect.zipRight(statsOf),
          Effect.provide(MlflowTracing.layerSink(inner.sink))
        )
        yield* span("after")
        return stats
      }).pipe(
        Effect.withSpan("root"),
        Effect.zip(
          Effect.flatMap(MlflowTracing.MlflowTracing, (service) => service.flush()).pipe(Effect.zipRight(statsOf))
        ),
        Effect.provide(MlflowTracing.layerSink(outer.sink))
      )
      assert.deepStrictEqual(innerStats.spans, { started: 1, ended: 1 })
      assert.deepStrictEqual(outerStats.spans, { started: 3, ended: 3 })
      assert.deepStrictEqual(inner.roots(), ["inside"])
      assert.deepStrictEqual(outer.names(), [["root", "before", "after"]])
    }).pipe(Effect.provide(quiet)))

  it.live("with no outer layer, a span started after release is counted by the released layer, with a warning", () =>
    Effect.gen(function*() {
      const { roots, sink } = recording()
      const warnings: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(Array.isArray(message) ? message[0] : message))
      })
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(MlflowTracing.layerSink(sink), scope).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      const service = Context.get(context, MlflowTracing.MlflowTracing)
      const released = yield* Deferred.make<void>()
      const daemon = yield* Deferred.await(released).pipe(
        Effect.zipRight(Effect.forEach(["after release", "and again"], span)),
        Effect.forkDaemon,
        Effect.provide(context)
      )
      yield* Scope.close(scope, Exit.void)
      yield* Deferred.succeed(released, undefined)
      yield* Fiber.join(daemon)
      const stats = yield* service.stats
      assert.deepStrictEqual(roots(), [])
      assert.deepStrictEqual(stats.spans, { started: 2, ended: 2 })
      assert.strictEqual(stats.dropped.shutdown, 2)
      yield* Effect.sleep("10 millis")
      const late = warnings.filter((line) => line.includes("after the MLflow tracing layer was released"))
      assert.strictEqual(late.length, 1, warnings.join("\n"))
    }))
})
