import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Logger, Scope } from "effect"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import { type Intercept, scopedProxy, type Seen } from "../support/proxy.js"
import { mlflowUrl, python, uniqueName } from "./helpers.js"

const TRACES = 40

const isStartTrace = ({ method, url }: Seen) => method === "POST" && url === "/api/3.0/mlflow/traces"

/** Whether each trace of an experiment is stored whole (its trace info went through), read with MLflow's Python client. */
const storedWhole = (experimentName: string): Effect.Effect<Array<boolean>> =>
  python(
    `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
traces = mlflow.search_traces(locations=[exp.experiment_id], return_type="list", include_spans=False, max_results=1000) if exp else []
print(json.dumps([t.info.trace_metadata.get("mlflow.trace.infoFinalized") == "true" for t in traces]))
`,
    { MLFLOW_TRACKING_URI: mlflowUrl() }
  )

/**
 * Traces released while the server holds back its answers to StartTraceV3 (it stores the trace
 * info, and the proxy keeps the answer): answers the stats after release, what the server holds,
 * how many trace infos it stored unanswered, and how long the release took.
 */
const releasedWhileUnanswered = (intercept: Intercept) =>
  Effect.gen(function*() {
    const experimentName = uniqueName("cut-off")
    let unanswered = 0
    const proxy = yield* scopedProxy(mlflowUrl(), intercept, undefined, (request) => {
      if (!isStartTrace(request)) return 0
      unanswered++
      return 60_000
    })
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      MlflowTracing.layer({
        trackingUri: proxy.url,
        experimentName,
        traceInfo: "always",
        workers: 3,
        batchSize: 10,
        shutdownTimeout: "10 seconds"
      }),
      scope
    )
    const tracing = Context.get(context, MlflowTracing.MlflowTracing)
    for (let i = 0; i < TRACES; i++) {
      yield* Effect.void.pipe(Mlflow.span(`t${i}`, { spanType: "CHAIN" }), Effect.provide(context))
    }
    // until the server has stored every trace info sent so far (the count holds still for a while)
    let seen = -1
    for (let i = 0; i < 600 && (unanswered === 0 || unanswered !== seen); i++) {
      seen = unanswered
      yield* Effect.sleep("1500 millis")
    }
    const releasing = Date.now()
    yield* Scope.close(scope, Exit.void)
    const releaseMillis = Date.now() - releasing
    return { stats: yield* tracing.stats, held: yield* storedWhole(experimentName), unanswered, releaseMillis }
  }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger)))

describe("traces cut off at shutdown are counted as the server holds them (real MLflow server)", () => {
  it.scopedLive(
    "the server is asked on the way out: exported + incomplete is what it holds",
    () =>
      Effect.gen(function*() {
        const { held, releaseMillis, stats, unanswered } = yield* releasedWhileUnanswered(() => undefined)
        const whole = held.filter(Boolean).length
        expect(unanswered).toBeGreaterThan(0)
        // stored though their answers never came: exported, not lost
        expect(whole).toBeGreaterThanOrEqual(unanswered)
        expect(stats.exported).toBe(whole)
        expect(stats.incomplete).toBe(held.length - whole)
        expect(stats.unconfirmed).toBe(0)
        expect(stats.dropped.shutdown).toBe(TRACES - held.length)
        expect(stats.failed).toBe(0)
        expect(releaseMillis).toBeLessThan(10_000 + 3000)
      }),
    300_000
  )

  it.scopedLive(
    "a server that cannot be asked in time: those it may hold are unconfirmed, not lost",
    () =>
      Effect.gen(function*() {
        // the question about a trace is never answered either
        const { held, releaseMillis, stats, unanswered } = yield* releasedWhileUnanswered(({ method, url }) =>
          method === "GET" && url.startsWith("/api/3.0/mlflow/traces/tr-") ? "hold" : undefined
        )
        const whole = held.filter(Boolean).length
        expect(unanswered).toBeGreaterThan(0)
        expect(stats.exported).toBe(0)
        expect(stats.unconfirmed).toBe(unanswered)
        expect(stats.unconfirmed).toBe(whole)
        expect(stats.incomplete).toBe(held.length - whole)
        expect(stats.dropped.shutdown).toBe(TRACES - held.length)
        expect(releaseMillis).toBeLessThan(10_000 + 3000)
      }),
    300_000
  )
})
