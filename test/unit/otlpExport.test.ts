import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { OtlpProtocol } from "../../src/internal/config/otlp.js"
import type { Options } from "../../src/MlflowConfig.js"
import { type Answer, grpcCollector, httpCollector, partialSuccess, type Received } from "../support/fakeCollector.js"
import { freeClosedPort } from "../support/ports.js"
import { noDrops } from "../support/stats.js"

/** Runs `names.length` traces (one root span each) through the layer, flushes, answers stats and logs. */
const run = (names: ReadonlyArray<string>, options: Options) =>
  runTraces(names.map((name) => Effect.void.pipe(Effect.withSpan(name))), options)

/** Runs each of `traces` (its spans ended by the time it returns) through the layer, as `run`. */
const runTraces = (traces: ReadonlyArray<Effect.Effect<void>>, options: Options) => {
  const logs: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    logs.push(`${logLevel.label} ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
  })
  return Effect.gen(function*() {
    const tracing = yield* MlflowTracing.MlflowTracing
    for (const trace of traces) yield* trace
    const flushed = yield* tracing.flush("20 seconds")
    return { flushed, stats: yield* tracing.stats, logs }
  }).pipe(
    Effect.provide(MlflowTracing.layer({ retryInitialDelay: "10 millis", retryMaxDelay: "50 millis", ...options })),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger))
  )
}

const ok: Answer = { status: 200 }
const SECRET = "Bearer s3cret-token-value"

describe("OTLP/HTTP export to a misbehaving collector", () => {
  it.scopedLive("sends the headers, gzip and the resource, and marks nothing as traced", () =>
    Effect.gen(function*() {
      const collector = yield* httpCollector(() => ok)
      const { stats } = yield* run(["one"], {
        otlp: {
          endpoint: collector.url,
          protocol: "http/protobuf",
          compression: "gzip",
          headers: { Authorization: SECRET, "x-tenant": "acme" },
          resourceAttributes: { "deployment.environment": "test" }
        },
        serviceName: "svc"
      })
      expect(stats.exported).toBe(1)
      const [request] = collector.received
      expect(request.headers.authorization).toBe(SECRET)
      expect(request.headers["x-tenant"]).toBe("acme")
      expect(request.headers["content-encoding"]).toBe("gzip")
      expect(request.headers["content-type"]).toBe("application/x-protobuf")
      expect(request.headers.traceparent).toBeUndefined()
      expect(request.spanNames).toEqual(["one"])
      expect(request.resource).toMatchObject({ "service.name": "svc", "deployment.environment": "test" })
    }))

  it.scopedLive("retries 503 (honouring Retry-After) until the collector takes the trace", () =>
    Effect.gen(function*() {
      const collector = yield* httpCollector((_, i) =>
        i < 2 ? { status: 503, headers: { "retry-after": "0" }, body: "busy" } : ok
      )
      const { stats } = yield* run(["one"], { otlp: { endpoint: collector.url, protocol: "http/json" } })
      expect(collector.received).toHaveLength(3)
      expect(collector.received[0].headers["content-type"]).toBe("application/json")
      expect(stats).toMatchObject({ exported: 1, failed: 0, retried: 2 })
    }))

  it.scopedLive("a 400 for one trace of a batch: the others are stored, that one is counted failed", () =>
    Effect.gen(function*() {
      const collector = yield* httpCollector((received: Received) =>
        received.spanNames.includes("bad") ? { status: 400, body: "invalid span" } : ok
      )
      const { logs, stats } = yield* run(["a", "bad", "b", "c"], {
        otlp: { endpoint: collector.url, protocol: "http/protobuf" },
        workers: 1,
        asyncLogging: true
      })
      expect(stats).toMatchObject({ exported: 3, failed: 1, retried: 0 })
      const stored = collector.received.filter((r) => !r.spanNames.includes("bad")).flatMap((r) => r.spanNames)
      expect(stored.sort()).toEqual(["a", "b", "c"])
      expect(logs.some((line) => line.includes("refused a trace") && line.includes("HTTP 400"))).toBe(true)
    }))

  it.scopedLive("an error answer that echoes the credentials is logged without them, once, and not retried", () =>
    Effect.gen(function*() {
      const collector = yield* httpCollector((received) => ({
        status: 401,
        body: `unauthorized: ${received.headers.authorization}`
      }))
      const { logs, stats } = yield* run(["one", "two"], {
        otlp: { endpoint: collector.url, protocol: "http/protobuf", headers: { authorization: SECRET } },
        batchSize: 1,
        workers: 1
      })
      expect(stats).toMatchObject({ exported: 0, failed: 2, retried: 0 })
      expect(logs.join("\n")).not.toContain("s3cret")
      const errors = logs.filter((line) => line.startsWith("ERROR"))
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain("<redacted>")
    }))

  it.scopedLive("a collector that never answers: each request times out, the trace is given up after the retry budget", () =>
    Effect.gen(function*() {
      const collector = yield* httpCollector(() => ({ status: 200 }))
      // answers nothing: the handler above is never reached for this path
      collector.server.removeAllListeners("request")
      const { stats } = yield* run(["one"], {
        otlp: { endpoint: collector.url, protocol: "http/protobuf", timeout: "100 millis" },
        retryTimeout: "400 millis"
      })
      expect(stats).toMatchObject({ exported: 0, failed: 1 })
      expect(stats.retried).toBeGreaterThan(0)
    }))
})

describe("OTLP/gRPC export to a misbehaving collector", () => {
  it.scopedLive("UNAVAILABLE is retried; metadata and gzip go with the call", () =>
    Effect.gen(function*() {
      const collector = yield* grpcCollector((_, i) => i === 0 ? { status: 14, message: "warming up" } : { status: 0 })
      const { stats } = yield* run(["one"], {
        otlp: { endpoint: collector.url, protocol: "grpc", compression: "gzip", headers: { authorization: SECRET } }
      })
      expect(stats).toMatchObject({ exported: 1, failed: 0, retried: 1 })
      const [first] = collector.received
      expect(first.headers.authorization).toBe(SECRET)
      expect(first.headers["content-type"]).toBe("application/grpc")
      expect(first.headers["grpc-encoding"]).toBe("gzip")
      expect(first.headers[":path"]).toBe("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
      expect(first.spanNames).toEqual(["one"])
    }))

  it.scopedLive("INVALID_ARGUMENT for one trace of a batch isolates it", () =>
    Effect.gen(function*() {
      const collector = yield* grpcCollector((received) =>
        received.spanNames.includes("bad") ? { status: 3, message: "bad span" } : { status: 0 }
      )
      const { stats } = yield* run(["a", "bad", "b"], {
        otlp: { endpoint: collector.url, protocol: "grpc" },
        workers: 1
      })
      expect(stats).toMatchObject({ exported: 2, failed: 1, retried: 0 })
    }))

  it.scopedLive("a request over the collector's message size is not retried, though the code is RESOURCE_EXHAUSTED", () =>
    Effect.gen(function*() {
      const collector = yield* grpcCollector(() => ({
        status: 8,
        message: "grpc: received message larger than max (5000000 vs. 4194304)"
      }))
      const { logs, stats } = yield* run(["big"], { otlp: { endpoint: collector.url, protocol: "grpc" } })
      expect(stats).toMatchObject({ exported: 0, failed: 1, retried: 0 })
      expect(collector.received).toHaveLength(1)
      expect(logs.some((line) => line.includes("RESOURCE_EXHAUSTED"))).toBe(true)
    }))

  it.scopedLive("a stream reset and a dropped connection are retried on a new stream and connection", () =>
    Effect.gen(function*() {
      const collector = yield* grpcCollector((_, i) =>
        i === 0 ? { status: 0, reset: "stream" } : i === 1 ? { status: 0, reset: "connection" } : { status: 0 }
      )
      const { stats } = yield* run(["one", "two", "three"], {
        otlp: { endpoint: collector.url, protocol: "grpc" },
        batchSize: 1,
        workers: 1
      })
      expect(stats).toMatchObject({ exported: 3, failed: 0, retried: 2 })
      expect(collector.received.slice(2).flatMap((request) => request.spanNames).sort()).toEqual(
        ["one", "three", "two"]
      )
    }))

  it.scopedLive("a CA certificate file that cannot be read: every trace counted failed, not retried, said once", () =>
    Effect.gen(function*() {
      const collector = yield* grpcCollector(() => ({ status: 0 }))
      const { logs, stats } = yield* run(["one", "two"], {
        otlp: { endpoint: collector.url, protocol: "grpc", certificate: "/nonexistent/ca.pem" },
        batchSize: 1,
        workers: 1
      })
      expect(stats).toMatchObject({ exported: 0, failed: 2, retried: 0 })
      expect(collector.received).toHaveLength(0)
      expect(logs.filter((line) => line.includes("cannot read the CA certificate"))).toHaveLength(1)
    }))

  it.scopedLive("nothing listening: retried, then given up and counted", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freeClosedPort)
      const { stats } = yield* run(["one"], {
        otlp: { endpoint: `http://127.0.0.1:${port}`, protocol: "grpc" },
        retryTimeout: "300 millis"
      })
      expect(stats).toMatchObject({ exported: 0, failed: 1 })
    }))
})

/** A collector of `protocol` that answers every request with `answer` (given what it holds and its index). */
const answering = (protocol: OtlpProtocol, answer: (received: Received, index: number) => Answer) =>
  Effect.map(
    protocol === "grpc" ? grpcCollector(answer) : httpCollector(answer),
    ({ received, url }: { readonly url: string; readonly received: ReadonlyArray<Received> }) => ({
      received,
      options: { endpoint: url, protocol }
    })
  )

/** the answer of a collector that took the request and rejected `rejected` of its spans, saying `message` */
const partial = (protocol: OtlpProtocol, rejected: number, message: string): Answer =>
  protocol === "grpc"
    ? { status: 0, body: partialSuccess(rejected, message, false) }
    : { status: 200, body: partialSuccess(rejected, message, protocol === "http/json") }

/** a trace of a root and `children` child spans */
const traceOf = (name: string, children: number) =>
  Effect.forEach(
    Array.from({ length: children }, (_, i) => `${name} child ${i}`),
    (child) => Effect.void.pipe(Effect.withSpan(child)),
    { discard: true }
  ).pipe(Effect.withSpan(name))

describe("OTLP partial success (the collector took the request but rejected spans)", () => {
  for (const protocol of ["http/json", "http/protobuf", "grpc"] as const) {
    it.scopedLive(`${protocol}: every span rejected (a quota): no trace counted exported, the reason logged once`, () =>
      Effect.gen(function*() {
        const collector = yield* answering(
          protocol,
          (received, i) => partial(protocol, received.spanNames.length, `tenant quota exceeded (request ${i + 1})`)
        )
        const names = Array.from({ length: 12 }, (_, i) => `trace ${i}`)
        const { logs, stats } = yield* run(names, { otlp: collector.options, batchSize: 1, workers: 1 })
        expect(collector.received).toHaveLength(12)
        expect(stats).toMatchObject({ exported: 0, failed: 12, retried: 0, rejectedSpans: 12, incomplete: 0 })
        const lines = logs.filter((line) => line.includes("tenant quota exceeded"))
        expect(lines).toHaveLength(1)
        expect(lines[0]).toContain("rejected 1 of the 1 span(s)")
      }))
  }

  it.scopedLive("one span of a trace rejected: the trace is counted failed and held in part, the span counted", () =>
    Effect.gen(function*() {
      const collector = yield* answering("grpc", () => partial("grpc", 1, "span too old"))
      const { logs, stats } = yield* runTraces([traceOf("three spans", 2)], { otlp: collector.options })
      expect(collector.received.flatMap((r) => r.spanNames)).toHaveLength(3)
      expect(stats).toMatchObject({ exported: 0, failed: 1, rejectedSpans: 1, incomplete: 1 })
      expect(logs.filter((line) => line.includes("span too old"))).toHaveLength(1)
    }))

  it.scopedLive("spans rejected in a request of several traces: none of them is called stored (which ones is not said)", () =>
    Effect.gen(function*() {
      const collector = yield* answering("http/protobuf", () => partial("http/protobuf", 1, "invalid span"))
      const { stats } = yield* runTraces(["a", "b", "c", "d"].map((name) => traceOf(name, 1)), {
        otlp: collector.options,
        batchSize: 4,
        workers: 1
      })
      expect(collector.received.flatMap((r) => r.traceIds)).toHaveLength(4)
      expect(stats).toMatchObject({ exported: 0, failed: 4, rejectedSpans: collector.received.length })
    }))

  it.scopedLive("a warning with nothing rejected: the traces are stored, each distinct warning logged once", () =>
    Effect.gen(function*() {
      const collector = yield* answering(
        "http/json",
        (_, i) => partial("http/json", 0, i % 2 === 0 ? "attribute values truncated" : "unknown resource")
      )
      const { logs, stats } = yield* run(["a", "b", "c", "d", "e"], {
        otlp: collector.options,
        batchSize: 1,
        workers: 1
      })
      expect(stats).toMatchObject({ exported: 5, failed: 0, rejectedSpans: 0 })
      expect(logs.filter((line) => line.includes("attribute values truncated"))).toHaveLength(1)
      expect(logs.filter((line) => line.includes("unknown resource"))).toHaveLength(1)
    }))
})

/** a trace of a root and `children` child spans of about `bytes` bytes each */
const bigTrace = (name: string, children: number, bytes: number) =>
  Effect.forEach(
    Array.from({ length: children }, (_, i) => `${name} child ${i}`),
    (child) => Effect.void.pipe(Effect.withSpan(child, { attributes: { payload: "x".repeat(bytes) } })),
    { discard: true }
  ).pipe(
    Effect.withSpan(name)
  )

const LIMIT = 64 * 1024

describe("OTLP requests within otlp.maxRequestBytes", () => {
  for (const protocol of ["grpc", "http/json"] as const) {
    it.scopedLive(`${protocol}: a trace larger than one request goes in several, each span once`, () =>
      Effect.gen(function*() {
        const collector = yield* answering(protocol, () => protocol === "grpc" ? { status: 0 } : ok)
        const { stats } = yield* runTraces([bigTrace("big", 40, 5000), bigTrace("small", 1, 10)], {
          otlp: { ...collector.options, compression: "gzip", maxRequestBytes: LIMIT },
          batchSize: 2,
          workers: 1
        })
        expect(stats).toMatchObject({ exported: 2, failed: 0, incomplete: 0 })
        expect(collector.received.length).toBeGreaterThanOrEqual(4)
        for (const request of collector.received) expect(request.bytes).toBeLessThanOrEqual(LIMIT)
        const names = collector.received.flatMap((request) => request.spanNames)
        expect(names).toHaveLength(43)
        expect(new Set(names).size).toBe(43)
      }))
  }

  it.scopedLive("a span larger than a request: its trace is counted failed with why, the others are stored", () =>
    Effect.gen(function*() {
      const collector = yield* answering("grpc", () => ({ status: 0 }))
      const { logs, stats } = yield* runTraces(
        [bigTrace("a", 2, 10), bigTrace("huge", 2, 100_000), bigTrace("b", 20, 5000)],
        { otlp: { ...collector.options, maxRequestBytes: LIMIT }, batchSize: 3, workers: 1 }
      )
      expect(stats).toMatchObject({ exported: 2, failed: 1, incomplete: 0, retried: 0 })
      const names = collector.received.flatMap((request) => request.spanNames)
      expect(names.filter((name) => name.startsWith("huge"))).toEqual([])
      expect(names).toHaveLength(3 + 21)
      const lines = logs.filter((line) => line.includes("over the 65536-byte limit of one OTLP request"))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain("huge child 0")
    }))

  it.scopedLive("a request of a split trace that fails is retried alone: what the collector took is not sent again", () =>
    Effect.gen(function*() {
      const collector = yield* answering("http/protobuf", (_, i) => i === 1 ? { status: 503, body: "busy" } : ok)
      const { stats } = yield* runTraces([bigTrace("big", 40, 5000)], {
        otlp: { ...collector.options, maxRequestBytes: LIMIT }
      })
      expect(stats).toMatchObject({ exported: 1, failed: 0, retried: 1 })
      const names = collector.received.filter((_, i) => i !== 1).flatMap((request) => request.spanNames)
      expect(names).toHaveLength(41)
      expect(new Set(names).size).toBe(41)
    }))

  it.scopedLive("spans of a split trace rejected in one of its requests: counted failed, held in part", () =>
    Effect.gen(function*() {
      const collector = yield* answering(
        "grpc",
        (received, i) => i === 2 ? partial("grpc", received.spanNames.length, "too old") : { status: 0 }
      )
      const { stats } = yield* runTraces([bigTrace("big", 40, 5000)], {
        otlp: { ...collector.options, maxRequestBytes: LIMIT }
      })
      expect(collector.received.length).toBeGreaterThan(3)
      expect(stats).toMatchObject({
        exported: 0,
        failed: 1,
        incomplete: 1,
        rejectedSpans: collector.received[2].spanNames.length
      })
    }))
})

describe("dual export", () => {
  it.scopedLive("a collector outage costs MLflow nothing, and each destination counts its own", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freeClosedPort)
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), "dual-"))
      const started = Date.now()
      const { stats } = yield* run(["one", "two"], {
        trackingUri: `file:${directory}`,
        otlp: { endpoint: `http://127.0.0.1:${port}/v1/traces`, protocol: "http/protobuf" },
        dualExport: true,
        retryTimeout: "1 second"
      })
      expect(Date.now() - started).toBeLessThan(15_000)
      expect(stats.destinations?.mlflow).toMatchObject({ exported: 2, failed: 0 })
      expect(stats.destinations?.otlp).toMatchObject({ exported: 0, failed: 2 })
      expect(stats.exported).toBe(2)
      const stored = fs.readdirSync(directory, { recursive: true }).filter((file) => String(file).endsWith(".json"))
      expect(stored.length).toBeGreaterThanOrEqual(2)
    }))

  it.scopedLive("a collector that hangs: MLflow stores every trace, the collector's queue stays bounded, its counts exact", () =>
    Effect.gen(function*() {
      const collector = yield* httpCollector(() => ok)
      collector.server.removeAllListeners("request")
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), "dual-hang-"))
      const traces = 400
      const capacity = 100
      let largestQueue = 0
      const stats = yield* Effect.gen(function*() {
        const tracing = yield* MlflowTracing.MlflowTracing
        for (let i = 0; i < traces; i++) {
          yield* Effect.void.pipe(Effect.withSpan(`trace ${i}`))
          if (i % 10 === 0) largestQueue = Math.max(largestQueue, (yield* tracing.stats).destinations!.otlp.queued)
          yield* Effect.sleep("2 millis")
        }
        expect(yield* tracing.flush("30 seconds")).toBe(true)
        return yield* tracing.stats
      }).pipe(Effect.provide(MlflowTracing.layer({
        trackingUri: `file:${directory}`,
        otlp: { endpoint: collector.url, protocol: "http/protobuf", timeout: "50 millis" },
        dualExport: true,
        queueCapacity: capacity,
        batchSize: 10,
        retryTimeout: "2 seconds",
        retryInitialDelay: "10 millis"
      })))
      expect(stats.destinations?.mlflow).toMatchObject({ exported: traces, failed: 0, dropped: noDrops })
      const otlp = stats.destinations!.otlp
      expect(otlp.exported).toBe(0)
      expect(largestQueue).toBeLessThanOrEqual(capacity)
      expect(otlp.failed + Object.values(otlp.dropped).reduce((sum, n) => sum + n, 0)).toBe(traces)
    }))

  it.scopedLive("synchronous logging waits for both destinations", () =>
    Effect.gen(function*() {
      let answered = 0
      const collector = yield* httpCollector(() => {
        answered++
        return ok
      })
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), "dual-sync-"))
      const seen = yield* Mlflow.span("root")(Effect.void).pipe(
        Effect.zipRight(Effect.sync(() => answered)),
        Effect.provide(MlflowTracing.layer({
          trackingUri: `file:${directory}`,
          otlp: { endpoint: collector.url, protocol: "http/protobuf" },
          dualExport: true,
          asyncLogging: false
        }))
      )
      expect(seen).toBe(1)
    }))
})
