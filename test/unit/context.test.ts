import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { Mlflow, MlflowClient, MlflowTracing, Sink } from "../../src/index.js"
import * as TestTracing from "../../src/testing/TestTracing.js"

// a client that would fail if used: tags applied in-process must not reach it
const unusedClient = MlflowClient.layer({ trackingUri: "http://127.0.0.1:9", requestTimeout: "1 second" }).pipe(
  Layer.provide(FetchHttpClient.layer)
)

describe("trace context and tags", () => {
  it.effect("gives traces started in scope the context's tags and metadata; nested scopes merge", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(
        Effect.withSpan("inner"),
        Mlflow.withTraceContext({ tags: { layer: "inner" }, user: "bob" }),
        Mlflow.withTraceContext({ tags: { layer: "outer", env: "prod" }, sessionId: "s1", metadata: { v: "1" } })
      )
      yield* Effect.void.pipe(Effect.withSpan("outside"))
      yield* Effect.void.pipe(Effect.withSpan("off"), Mlflow.withTraceContext({ enabled: false }))
      const traces = yield* TestTracing.traces
      assert.deepStrictEqual(traces.map((t) => t.info.tags["mlflow.traceName"]), ["inner", "outside"])
      const [inner, outside] = traces
      assert.strictEqual(inner.info.tags.layer, "inner")
      assert.strictEqual(inner.info.tags.env, "prod")
      assert.strictEqual(inner.info.metadata["mlflow.trace.session"], "s1")
      assert.strictEqual(inner.info.metadata["mlflow.trace.user"], "bob")
      assert.strictEqual(inner.info.metadata.v, "1")
      assert.isUndefined(outside.info.tags.layer)
      assert.isFalse("effect_mlflow.traceContext" in inner.spans[0].attributes)
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("sets and deletes tags of a trace in progress", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        const id = yield* Mlflow.currentTraceId
        const traceId = id._tag === "Some" ? id.value : ""
        yield* Mlflow.setTraceTag(traceId, "review", "pending")
        yield* Mlflow.setTraceTag(traceId, "gone", "x")
        yield* Mlflow.deleteTraceTag(traceId, "gone")
      }).pipe(Effect.withSpan("root"))
      const [trace] = yield* TestTracing.traces
      assert.strictEqual(trace.info.tags.review, "pending")
      assert.isUndefined(trace.info.tags.gone)
    }).pipe(Effect.provide(TestTracing.layer()), Effect.provide(unusedClient)))

  it.effect("sets a tag of a trace still waiting in the export queue", () => {
    const gate = Deferred.unsafeMake<void>(undefined as any)
    const stored: Array<Record<string, string>> = []
    const sink: Sink.Sink = {
      export: (traces) =>
        Effect.zipRight(Deferred.await(gate), Effect.sync(() => void stored.push(...traces.map((t) => t.info.tags)))),
      exportLateSpans: () => Effect.void
    }
    return Effect.gen(function*() {
      yield* Effect.void.pipe(Effect.withSpan("blocker")) // taken by the only worker, which then waits
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      yield* Effect.void.pipe(Effect.withSpan("queued"))
      const queued = yield* Mlflow.lastTraceId
      yield* Mlflow.setTraceTag(queued._tag === "Some" ? queued.value : "", "label", "late but kept")
      yield* Deferred.succeed(gate, undefined)
      yield* Mlflow.flush()
      assert.deepStrictEqual(stored.map((tags) => tags.label), [undefined, "late but kept"])
    }).pipe(
      Effect.provide(
        MlflowTracing.layerSink(sink, { workers: 1, batchSize: 1 })
      ),
      Effect.provide(unusedClient)
    )
  })

  it.effect("knows the last trace completed on this fiber", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(Mlflow.span("mine"))
      const mine = yield* Mlflow.lastTraceIdInFiber
      const other = yield* Effect.fork(Effect.void.pipe(Mlflow.span("other")))
      yield* Fiber.join(other)
      const traces = yield* TestTracing.traces
      const byName = Object.fromEntries(traces.map((t) => [t.info.tags["mlflow.traceName"], t.info.traceId]))
      assert.strictEqual(mine._tag === "Some" ? mine.value : "", byName.mine)
    }).pipe(Effect.provide(TestTracing.layer())))
})
