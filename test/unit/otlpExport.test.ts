import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { Options } from "../../src/MlflowConfig.js"
import { type Answer, grpcCollector, httpCollector, type Received } from "../support/fakeCollector.js"
import { freeClosedPort } from "../support/ports.js"

/** Runs `names.length` traces (one root span each) through the layer, flushes, answers stats and logs. */
const run = (names: ReadonlyArray<string>, options: Options) => {
  const logs: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    logs.push(`${logLevel.label} ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
  })
  return Effect.gen(function*() {
    const tracing = yield* MlflowTracing.MlflowTracing
    for (const name of names) yield* Effect.void.pipe(Effect.withSpan(name))
    const flushed = yield* tracing.flush("20 seconds")
    return { flushed, stats: yield* tracing.stats, logs }
  }).pipe(
    Effect.provide(MlflowTracing.layer({ retryInitialDelay: "10 millis", retryMaxDelay: "50 millis", ...options })),
    Effect.provide(Logger.replace(Logger.defaultLogger, logger))
  )
}

const ok: Answer = { status: 200 }
const SECRET = "Bearer s3cret-token-value"

/** ExportTraceServiceResponse { partial_success { rejected_spans: 3, error_message: "too old" } } */
const partialSuccess = new Uint8Array([0x0a, 0x0b, 0x08, 0x03, 0x12, 0x07, ...new TextEncoder().encode("too old")])

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

  it.scopedLive("a partial success is stored and the rejected spans are reported", () =>
    Effect.gen(function*() {
      const collector = yield* httpCollector(() => ({
        status: 200,
        body: JSON.stringify({ partialSuccess: { rejectedSpans: "2", errorMessage: "too old" } })
      }))
      const { logs, stats } = yield* run(["one"], { otlp: { endpoint: collector.url, protocol: "http/json" } })
      expect(stats.exported).toBe(1)
      expect(logs.some((line) => line.includes("rejected 2 span(s): too old"))).toBe(true)
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

  it.scopedLive("a partial success in the answer message is reported", () =>
    Effect.gen(function*() {
      const collector = yield* grpcCollector(() => ({ status: 0, body: partialSuccess }))
      const { logs, stats } = yield* run(["one"], { otlp: { endpoint: collector.url, protocol: "grpc" } })
      expect(stats.exported).toBe(1)
      expect(logs.some((line) => line.includes("rejected 3 span(s): too old"))).toBe(true)
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
