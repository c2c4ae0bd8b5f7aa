import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { MlflowConfig } from "../../src/index.js"
import { noDrops } from "../support/stats.js"
import { freePort, mlflowUrl, ownServer, postJson, storedNames, uniqueName } from "./helpers.js"

/** A server of this test's own (stopped with the test's scope; it may be stopped and started again). */
const start = (port?: number, dir?: string) =>
  ownServer({ ...(port === undefined ? {} : { port }), ...(dir === undefined ? {} : { dir }) })

const fastRetry: MlflowConfig.Options = { retryInitialDelay: "200 millis", retryMaxDelay: "1 second" }

const withTracing = <A, E, R>(
  options: MlflowConfig.Options,
  f: (service: MlflowTracing.Service) => Effect.Effect<A, E, R>,
  logger: Layer.Layer<never> = Layer.empty
) =>
  Effect.flatMap(MlflowTracing.MlflowTracing, f).pipe(
    Effect.provide(MlflowTracing.layer(options)),
    Effect.provide(logger)
  )

const trace = (name: string) => Effect.succeed(name).pipe(Mlflow.span(name, { spanType: "CHAIN", inputs: { name } }))

describe("export under faults, against a real MLflow server", () => {
  it.scopedLive("loses nothing when the server stops mid-load and comes back on the same port", () =>
    Effect.gen(function*() {
      const server = yield* start()
      const experimentName = uniqueName("restart")
      const produced: Array<string> = []
      const stats = yield* withTracing(
        { trackingUri: server.url, experimentName, ...fastRetry },
        (tracing) =>
          Effect.gen(function*() {
            const produce = (n: number) =>
              Effect.forEach(
                Array.from({ length: n }, () => `t${produced.length}`),
                (name) => Effect.zipRight(Effect.sync(() => produced.push(name)), trace(name)),
                { discard: true }
              )
            yield* produce(50)
            yield* Effect.promise(() => server.stop())
            yield* produce(50) // server down
            yield* start(server.port, server.dir)
            yield* produce(50)
            expect(yield* tracing.flush("120 seconds")).toBe(true)
            return yield* tracing.stats
          })
      )
      expect(stats.dropped).toEqual(noDrops)
      expect(stats.failed).toBe(0)
      expect(stats.exported).toBe(150)
      expect(stats.retried).toBeGreaterThan(0)
      expect(yield* storedNames(server.url, experimentName)).toEqual([...produced].sort())
    }))

  it.scopedLive(
    "recovers promptly: after an outage the queue goes out within seconds of the server answering, not after each worker's backoff",
    () =>
      Effect.gen(function*() {
        const port = yield* freePort
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-recover-"))
        const url = `http://127.0.0.1:${port}`
        const experimentName = uniqueName("recover")
        // an experiment first, so that what is measured below is the export of the queue
        const first = yield* start(port, dir)
        yield* postJson(`${url}/api/2.0/mlflow/experiments/create`, { name: experimentName })
        const { recoveredInMillis, stats } = yield* withTracing({
          trackingUri: url,
          experimentName,
          workers: 4,
          batchSize: 5,
          // long backoffs, as after a real outage: 2, 4, 8, 16 s...
          retryInitialDelay: "2 seconds",
          retryMaxDelay: "60 seconds"
        }, (tracing) =>
          Effect.gen(function*() {
            // one trace stored before the outage: the experiment is known, and the prober asks the
            // store for it (not /health)
            yield* trace("before")
            expect(yield* tracing.flush("60 seconds")).toBe(true)
            yield* Effect.promise(() => first.stop())
            for (let i = 0; i < 30; i++) yield* trace(`t${i}`)
            yield* Effect.sleep("15 seconds") // the workers are deep in their backoff now
            yield* start(port, dir)
            const back = Date.now()
            expect(yield* tracing.flush("60 seconds")).toBe(true)
            return { recoveredInMillis: Date.now() - back, stats: yield* tracing.stats }
          }))
        expect(stats.exported).toBe(31)
        expect(stats.failed).toBe(0)
        expect(recoveredInMillis).toBeLessThan(5000)
        expect((yield* storedNames(url, experimentName)).length).toBe(31)
      }),
    180_000
  )

  const downWithOverflow = (strategy: "sliding" | "dropping") =>
    Effect.gen(function*() {
      const port = yield* freePort
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-down-"))
      const url = `http://127.0.0.1:${port}`
      const experimentName = uniqueName(`down-${strategy}`)
      const capacity = 20
      const { after, during, heapGrowth } = yield* withTracing({
        trackingUri: url,
        experimentName,
        queueCapacity: capacity,
        queueStrategy: strategy,
        workers: 1,
        batchSize: 1,
        ...fastRetry
      }, (tracing) =>
        Effect.gen(function*() {
          yield* trace("t0")
          yield* Effect.sleep("300 millis") // the worker now holds t0, retrying
          const heapBefore = process.memoryUsage().heapUsed
          for (let i = 1; i <= capacity * 10; i++) yield* trace(`t${i}`)
          const during = yield* tracing.stats
          const heapGrowth = process.memoryUsage().heapUsed - heapBefore
          yield* start(port, dir)
          expect(yield* tracing.flush("120 seconds")).toBe(true)
          return { during, after: yield* tracing.stats, heapGrowth }
        }))
      expect(during.queued).toBe(capacity)
      expect(during.inFlight).toBe(1)
      expect(during.dropped.queueFull).toBe(capacity * 10 - capacity)
      expect(heapGrowth).toBeLessThan(20 * 1024 * 1024)
      expect(after.exported).toBe(capacity + 1)
      expect(after.failed).toBe(0)
      return { names: yield* storedNames(url, experimentName), capacity }
    })

  it.scopedLive("keeps memory bounded while the server is down; the sliding queue keeps the newest traces", () =>
    Effect.gen(function*() {
      const { capacity, names } = yield* downWithOverflow("sliding")
      const expected = ["t0", ...Array.from({ length: capacity }, (_, i) => `t${capacity * 10 - capacity + 1 + i}`)]
      expect(names).toEqual(expected.sort())
    }))

  it.scopedLive("the dropping queue keeps the oldest traces (MLflow's behaviour)", () =>
    Effect.gen(function*() {
      const { capacity, names } = yield* downWithOverflow("dropping")
      const expected = ["t0", ...Array.from({ length: capacity }, (_, i) => `t${i + 1}`)]
      expect(names).toEqual(expected.sort())
    }))

  it.scopedLive("reports a deleted experiment once, clearly, without a retry loop", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const name = uniqueName("deleted")
      const created = yield* postJson(`${url}/api/2.0/mlflow/experiments/create`, { name })
      yield* postJson(`${url}/api/2.0/mlflow/experiments/delete`, { experiment_id: created.experiment_id })
      const errors: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Error") errors.push(String(message))
      })
      const stats = yield* withTracing(
        { trackingUri: url, experimentId: created.experiment_id, ...fastRetry },
        (tracing) =>
          Effect.gen(function*() {
            for (let i = 0; i < 5; i++) yield* trace(`t${i}`).pipe(Mlflow.withFlush())
            return yield* tracing.stats
          }),
        Logger.replace(Logger.defaultLogger, logger)
      )
      expect(stats.retried).toBe(0)
      expect(stats.failed).toBe(5)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(
        /cannot export traces: .*(deleted|does not exist|RESOURCE_DOES_NOT_EXIST|INVALID_PARAMETER)/i
      )
    }))
})
