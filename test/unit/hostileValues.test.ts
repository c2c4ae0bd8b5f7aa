import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, FastCheck as fc, Layer, Logger } from "effect"
import { Assessment, Mlflow, MlflowClient } from "../../src/index.js"
import * as TestTracing from "../../src/testing/TestTracing.js"
import { recorder } from "../support/recorder.js"

/** Values that make `JSON.stringify`, `String` or property access throw. */
const revoked = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}
const cyclic = (): object => {
  const out: Record<string, unknown> = { name: "c" }
  out.self = out
  return out
}
const throwingGetter = (): object =>
  Object.defineProperty({ ok: 1 }, "bad", {
    enumerable: true,
    get() {
      throw new Error("getter")
    }
  })
const unprintable = (): object =>
  Object.assign(Object.create(null), {
    [Symbol.toPrimitive]() {
      throw new Error("toPrimitive")
    }
  })
const throwingToJson = (): object => ({
  toJSON() {
    throw new Error("toJSON")
  }
})

// fast-check inspects generated values (and a revoked proxy throws on any inspection), so the
// arbitraries generate recipes and `build` turns them into hostile values inside the property
type Recipe =
  | { readonly h: "cyclic" | "revoked" | "getter" | "unprintable" | "toJson" | "symbol" | "function" | "undefined" }
  | { readonly big: string }
  | { readonly list: ReadonlyArray<Recipe> }
  | { readonly record: ReadonlyArray<readonly [string, Recipe]> }
  | string
  | number
  | null

const makers = {
  cyclic,
  revoked,
  getter: throwingGetter,
  unprintable,
  toJson: throwingToJson,
  symbol: () => Symbol("s"),
  function: () => () => 1,
  undefined: () => undefined
}

const build = (recipe: Recipe): any => {
  if (recipe === null || typeof recipe !== "object") return recipe
  if ("h" in recipe) return makers[recipe.h]()
  if ("big" in recipe) return BigInt(recipe.big)
  if ("list" in recipe) return recipe.list.map(build)
  const out: Record<string, unknown> = {}
  for (const [key, value] of recipe.record) {
    Object.defineProperty(out, key, { value: build(value), enumerable: true, writable: true, configurable: true })
  }
  return out
}

const leaf: fc.Arbitrary<Recipe> = fc.oneof(
  fc.constantFrom(...(Object.keys(makers) as Array<keyof typeof makers>)).map((h) => ({ h })),
  fc.bigInt().map((n) => ({ big: n.toString() })),
  fc.double(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("\ud800", "a\udc00b", "__proto__"),
  fc.constant(null)
)
const keys = fc.constantFrom("a", "b", "__proto__", "constructor", "\ud800", "k")
const hostile: fc.Arbitrary<Recipe> = fc.oneof(
  leaf,
  fc.array(leaf, { maxLength: 3 }).map((list) => ({ list })),
  fc.array(fc.tuple(keys, leaf), { maxLength: 4 }).map((record) => ({ record }))
)
/** Records (tags, metadata, attributes...), some of which cannot be read whole. */
const hostileRecord: fc.Arbitrary<Recipe> = fc.oneof(
  fc.constantFrom({ h: "revoked" as const }, { h: "getter" as const }),
  fc.array(fc.tuple(keys, hostile), { maxLength: 4 }).map((record) => ({ record })),
  hostile
)
const fields = <K extends string>(names: ReadonlyArray<K>, records: ReadonlyArray<K> = []) =>
  fc.tuple(...names.map((name) => records.includes(name) ? hostileRecord : hostile)).map((values) =>
    names.map((name, i) => [name, values[i]] as const)
  )
const buildFields = (entries: ReadonlyArray<readonly [string, Recipe]>): any =>
  Object.fromEntries(entries.map(([name, recipe]) => [name, build(recipe)]))

const runs = { numRuns: 60 }

/** Runs `body` in a root span under in-memory tracing; it must succeed and produce one whole trace. */
const tracedOk = (body: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(body.pipe(Effect.withSpan("root")))
    assert.isTrue(Exit.isSuccess(exit), `the user's effect failed: ${String(exit)}`)
    const traces = yield* TestTracing.traces
    assert.strictEqual(traces.length, 1)
    const [trace] = traces
    for (const value of Object.values(trace.info.tags)) assert.typeOf(value, "string")
    for (const value of Object.values(trace.info.metadata)) assert.typeOf(value, "string")
    // what is kept is plain JSON
    JSON.stringify(trace.spans.map((span) => [span.attributes, span.events.map((event) => event.attributes)]))
  }).pipe(
    Effect.provide(TestTracing.layer()),
    // Effect's console logger itself dies on some of these values (with or without tracing); the
    // tracer logger, which turns logs into span events, stays
    Effect.provide(Logger.remove(Logger.defaultLogger))
  )

const property = <A>(arb: fc.Arbitrary<A>, body: (value: any) => Effect.Effect<void>) =>
  Effect.promise(() =>
    fc.assert(fc.asyncProperty(arb, (recipe) => Effect.runPromise(tracedOk(body(buildAny(recipe))))), runs)
  )
const buildAny = (recipe: unknown): any => Array.isArray(recipe) ? buildFields(recipe) : build(recipe as Recipe)

describe("hostile values never fail the user's effect", () => {
  it.effect("updateCurrentTrace: tags, metadata, session, user, request id, previews, state", () =>
    property(
      fields(
        ["tags", "metadata", "sessionId", "user", "clientRequestId", "requestPreview", "responsePreview", "state"],
        ["tags", "metadata"]
      ),
      (update) => Mlflow.updateCurrentTrace(update as any)
    ))

  it.effect("updateCurrentTrace given a record that cannot be read", () =>
    property(hostileRecord, (update) => Mlflow.updateCurrentTrace(update)))

  it.effect("withTraceContext", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fields(["tags", "metadata", "sessionId", "user"], ["tags", "metadata"]),
          (recipe) => Effect.runPromise(tracedOk(Effect.void).pipe(Mlflow.withTraceContext(buildFields(recipe))))
        ),
        runs
      )
    ))

  it.effect("span helpers: attributes, inputs, outputs, token usage, span options, events", () =>
    property(
      fields(["key", "value", "attributes", "usage"], ["attributes", "usage"]),
      ({ attributes, key, usage, value }) =>
        Effect.gen(function*() {
          yield* Mlflow.setAttribute(key as any, value)
          yield* Mlflow.setAttributes(attributes)
          yield* Mlflow.setInputs(value)
          yield* Mlflow.setOutputs(value)
          yield* Mlflow.setTokenUsage(usage)
          yield* Effect.annotateCurrentSpan("annotated", value)
          // (log messages and log annotations are left out: Effect's own tracer logger dies on a
          // symbol or a revoked proxy there before any tracer sees them, with Effect's built-in tracer too)
          yield* Effect.logInfo("a log line becomes a span event")
          yield* Effect.succeed(value).pipe(Mlflow.span("child", { inputs: value, attributes }))
        })
    ))

  it.effect("setTraceTag on a trace in progress and in the queue", () =>
    property(fields(["key", "value"]), ({ key, value }) =>
      Effect.gen(function*() {
        const id = yield* Mlflow.currentTraceId
        if (id._tag === "None") return assert.fail("no trace id")
        yield* Mlflow.setTraceTag(id.value, key as any, value as any).pipe(
          Effect.provide(Layer.succeed(MlflowClient.MlflowClient, {} as any)),
          Effect.orDie
        )
      })))

  it.scoped("assessments and tags of stored traces: a JSON body, never a defect", () =>
    Effect.gen(function*() {
      const server = yield* recorder((seen) => ({
        status: 200,
        body: JSON.stringify({
          assessment: { assessment_id: "a-1", assessment_name: "n", trace_id: "tr-1", ...JSON.parse(seen.body || "{}") }
        })
      }))
      const client = Layer.provide(MlflowClient.layer({ trackingUri: server.url }), FetchHttpClient.layer)
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fields(["value", "name", "rationale", "metadata", "error"], ["metadata"]),
            async (recipe) => {
              const options = buildFields(recipe)
              const seenBefore = server.seen.length
              const exit = await Effect.runPromiseExit(
                Effect.all([
                  Assessment.logFeedback({ traceId: "tr-1", ...options } as any),
                  Assessment.logExpectation({ traceId: "tr-1", ...options } as any),
                  Assessment.updateAssessment("tr-1", "a-1", options as any),
                  Mlflow.setTraceTag("tr-1", options.name as any, options.value as any)
                ]).pipe(Effect.provide(client))
              )
              // a typed MlflowError is allowed (the server may refuse); a defect is not
              if (Exit.isFailure(exit)) assert.notStrictEqual(exit.cause._tag, "Die", String(exit.cause))
              for (const seen of server.seen.slice(seenBefore)) {
                if (seen.body !== "") JSON.parse(seen.body)
              }
            }
          ),
          { numRuns: 40 }
        )
      )
    }))
})
