import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { MlflowConfig } from "../../src/index.js"
import { scopedProxy } from "../support/proxy.js"
import { mlflowUrl, storedNames, uniqueName } from "./helpers.js"

const quiet = Logger.remove(Logger.defaultLogger)

const withTracing = <A, E, R>(
  options: MlflowConfig.Options,
  f: (service: MlflowTracing.Service) => Effect.Effect<A, E, R>
) =>
  Effect.flatMap(MlflowTracing.MlflowTracing, f).pipe(
    Effect.provide(MlflowTracing.layer(options)),
    Effect.provide(quiet)
  )

const trace = (name: string) => Effect.succeed(name).pipe(Mlflow.span(name, { spanType: "CHAIN" }))

const isSpans = (request: { readonly method: string; readonly url: string }) =>
  request.method === "POST" && request.url.startsWith("/v1/traces")

describe("retry pacing against a real MLflow server", () => {
  it.scopedLive(
    "429 with Retry-After from a proxy: no export before its time, then all are stored",
    () =>
      Effect.gen(function*() {
        const experimentName = uniqueName("retry-after")
        const times: Array<number> = []
        const proxy = yield* scopedProxy(mlflowUrl(), (request) => {
          if (!isSpans(request)) return undefined
          times.push(Date.now())
          return times.length === 1
            ? { status: 429, body: "slow down", headers: { "retry-after": "3" } }
            : undefined
        })
        const stats = yield* withTracing(
          { trackingUri: proxy.url, experimentName, workers: 2, batchSize: 1, retryInitialDelay: "100 millis" },
          (tracing) =>
            Effect.gen(function*() {
              yield* trace("a")
              while (times.length === 0) yield* Effect.sleep("10 millis")
              yield* Effect.sleep("500 millis")
              yield* trace("b") // to the other worker, while the server's wait runs
              expect(yield* tracing.flush("60 seconds")).toBe(true)
              return yield* tracing.stats
            })
        )
        expect(stats.exported).toBe(2)
        expect(times).toHaveLength(3)
        for (const at of times.slice(1)) expect(at - times[0]).toBeGreaterThanOrEqual(2950)
        expect(yield* storedNames(proxy.url, experimentName)).toEqual(["a", "b"])
      }),
    60_000
  )

  it.scopedLive(
    "exports failing with 503 while the server answers the prober: the retry keeps its backoff",
    () =>
      Effect.gen(function*() {
        const experimentName = uniqueName("backoff")
        const times: Array<number> = []
        let failUntil = Number.POSITIVE_INFINITY
        const proxy = yield* scopedProxy(mlflowUrl(), (request) => {
          if (!isSpans(request)) return undefined
          times.push(Date.now())
          return Date.now() < failUntil ? { status: 503, body: "unavailable" } : undefined
        })
        const stats = yield* withTracing(
          {
            trackingUri: proxy.url,
            experimentName,
            workers: 1,
            batchSize: 1,
            retryInitialDelay: "1 second",
            retryMaxDelay: "60 seconds"
          },
          (tracing) =>
            Effect.gen(function*() {
              yield* trace("a")
              while (times.length === 0) yield* Effect.sleep("10 millis")
              failUntil = times[0] + 8000
              yield* Effect.sleep(`${failUntil - Date.now()} millis`)
              expect(yield* tracing.flush("60 seconds")).toBe(true)
              return yield* tracing.stats
            })
        )
        // delays of 1, 2, 4 s (each 0.8 to 1.2 times): attempts at 0, ~1, ~3, ~7 s while it fails;
        // one a second would be eight
        const failing = times.filter((at) => at < failUntil)
        expect(failing.length).toBeGreaterThanOrEqual(3)
        expect(failing.length).toBeLessThanOrEqual(4)
        expect(stats.exported).toBe(1)
        expect(yield* storedNames(proxy.url, experimentName)).toEqual(["a"])
      }),
    90_000
  )
})
