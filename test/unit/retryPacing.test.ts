import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Logger } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { MlflowTracing } from "../../src/index.js"
import type { Options } from "../../src/MlflowConfig.js"

interface Answer {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * A loopback OTLP/HTTP endpoint that answers exports (`POST`, by their index) and anything else
 * (the prober's `GET`) as told, and notes when each export came.
 */
const collector = (exports: (index: number) => Answer, others: Answer = { status: 405 }) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly times: Array<number>; readonly server: http.Server }>((resume) => {
      const times: Array<number> = []
      const server = http.createServer((req, res) => {
        req.resume()
        req.on("end", () => {
          const answer = req.method === "POST" ? exports(times.push(Date.now()) - 1) : others
          res.writeHead(answer.status, answer.headers).end()
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, times, server })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() =>
          resume(Effect.void)
        )
      })
  )

const tracing = (url: string, options: Options) =>
  MlflowTracing.layer({
    otlp: { endpoint: url, protocol: "http/protobuf" },
    workers: 2,
    batchSize: 1,
    shutdownTimeout: "200 millis",
    ...options
  })

const trace = (name: string) => Effect.void.pipe(Effect.withSpan(name))
const stats = Effect.flatMap(MlflowTracing.MlflowTracing, (t) => t.stats)
const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((at, i) => at - times[i])
const quiet = Logger.remove(Logger.defaultLogger)

/**
 * The times one trace was sent at, by one worker, while `window` passes: before the release (which
 * tries once more at once).
 */
const attemptsWithin = (
  server: { readonly url: string; readonly times: ReadonlyArray<number> },
  retryInitialDelay: Duration.DurationInput,
  window: Duration.DurationInput
) =>
  Effect.gen(function*() {
    yield* trace("a")
    yield* Effect.sleep(window)
    return Date.now()
  }).pipe(
    Effect.provide(tracing(server.url, { workers: 1, retryInitialDelay, retryMaxDelay: "60 seconds" })),
    Effect.provide(quiet),
    Effect.map((released) => server.times.filter((at) => at < released))
  )

describe("retry pacing against a loopback collector", () => {
  it.scopedLive(
    "429 with Retry-After in seconds: no export of any batch before the time the collector gave",
    () =>
      Effect.gen(function*() {
        // "slow down, 3 s", then it takes everything; the prober's GET is answered 405 (there)
        const server = yield* collector((i) =>
          i === 0 ? { status: 429, headers: { "retry-after": "3" } } : { status: 200 }
        )
        const done = yield* Effect.gen(function*() {
          yield* trace("a")
          while (server.times.length === 0) yield* Effect.sleep("10 millis")
          yield* Effect.sleep("500 millis")
          // offered while the collector's wait runs, to the other worker: this batch waits too
          yield* trace("b")
          yield* Effect.flatMap(MlflowTracing.MlflowTracing, (t) => t.flush("30 seconds"))
          return yield* stats
        }).pipe(Effect.provide(tracing(server.url, { retryInitialDelay: "100 millis" })), Effect.provide(quiet))
        expect(done.exported).toBe(2)
        expect(server.times).toHaveLength(3)
        const [first, ...rest] = server.times
        for (const at of rest) expect(at - first).toBeGreaterThanOrEqual(2950)
      }),
    30_000
  )

  it.scopedLive("429 with Retry-After as an HTTP date is honoured too", () =>
    Effect.gen(function*() {
      // a date 4 s ahead, to the second: 3 to 4 s from the answer
      const server = yield* collector((i) =>
        i === 0
          ? { status: 429, headers: { "retry-after": new Date(Date.now() + 4000).toUTCString() } }
          : { status: 200 }
      )
      const done = yield* Effect.gen(function*() {
        yield* trace("a")
        yield* Effect.flatMap(MlflowTracing.MlflowTracing, (t) => t.flush("30 seconds"))
        return yield* stats
      }).pipe(Effect.provide(tracing(server.url, { retryInitialDelay: "100 millis" })), Effect.provide(quiet))
      expect(done.exported).toBe(1)
      expect(server.times).toHaveLength(2)
      expect(server.times[1] - server.times[0]).toBeGreaterThanOrEqual(2900)
    }), 30_000)

  it.scopedLive(
    "503 forever (to the prober too): the retries keep their exponential backoff",
    () =>
      Effect.gen(function*() {
        const server = yield* collector(() => ({ status: 503 }), { status: 503 })
        const attempts = yield* attemptsWithin(server, "500 millis", "10 seconds")
        // delays of 0.5, 1, 2, 4, 8 s, each 0.8 to 1.2 times: five attempts in 10 s (one a second
        // would be ten); a loaded machine may be late for one, never early
        expect(attempts.length).toBeGreaterThanOrEqual(4)
        expect(attempts.length).toBeLessThanOrEqual(5)
        const delays = gaps(attempts)
        delays.slice(1).forEach((delay, i) => expect(delay).toBeGreaterThan(delays[i] * 1.2))
      }),
    30_000
  )

  it.scopedLive(
    "a collector that answers the prober while its exports keep failing wakes no waiting retry",
    () =>
      Effect.gen(function*() {
        // exports fail (502) while the prober's GET is answered (405): it was never away, so never back
        const server = yield* collector(() => ({ status: 502 }))
        const attempts = yield* attemptsWithin(server, "2 seconds", "8 seconds")
        // attempts at 0, ~2 and ~6 s: three in 8 s (one a second would be eight)
        expect(attempts.length).toBeGreaterThanOrEqual(2)
        expect(attempts.length).toBeLessThanOrEqual(3)
      }),
    30_000
  )
})
