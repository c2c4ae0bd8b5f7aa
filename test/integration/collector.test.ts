import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger, Option, Schedule } from "effect"
import * as crypto from "node:crypto"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { OtlpProtocol } from "../../src/internal/config/otlp.js"
import { SpanType } from "../../src/SpanType.js"
import { type RunningCollector, startCollector } from "../harness/collector.js"
import { makePki, type Pki } from "../harness/nginx.js"
import { experimentIdByName, freePort, mlflowUrl, postJson, python, pythonGetTraces, uniqueName } from "./helpers.js"

/**
 * Through a real OpenTelemetry Collector (OTLP receiver on HTTP and gRPC, batch processor, a file
 * exporter and an OTLP/HTTP exporter to MLflow): what arrives in the collector, and what MLflow
 * stores from what the collector forwards, read back with MLflow's Python client.
 */

let collector: RunningCollector
let experimentId: string

beforeAll(async () => {
  const name = uniqueName("collector")
  await Effect.runPromise(postJson(`${mlflowUrl()}/api/2.0/mlflow/experiments/create`, { name }))
  experimentId = await Effect.runPromise(experimentIdByName(mlflowUrl(), name))
  collector = await startCollector({ mlflow: { url: mlflowUrl(), experimentId } })
}, 300_000)

afterAll(async () => {
  await collector?.stop()
})

const program = (label: string) =>
  Mlflow.span(`agent ${label}`, { spanType: SpanType.AGENT, inputs: { question: `why ${label}?` } })(
    Effect.gen(function*() {
      yield* Mlflow.updateCurrentTrace({ tags: { team: "search" }, sessionId: `session-${label}`, user: "ada" })
      yield* Mlflow.span("retrieve", { spanType: SpanType.RETRIEVER, inputs: { query: label } })(
        Effect.succeed([{ id: "doc-1", score: 0.5 }])
      )
      yield* Effect.succeed(42).pipe(Effect.withSpan("plain effect span", { attributes: { "app.count": 3 } }))
      return { answer: `because ${label}` }
    })
  )

const traced = <A, E>(effect: Effect.Effect<A, E>, layer: Layer.Layer<MlflowTracing.MlflowTracing, unknown>) =>
  Effect.gen(function*() {
    yield* effect
    const traceId = Option.getOrThrow(yield* Mlflow.lastTraceId)
    const tracing = yield* MlflowTracing.MlflowTracing
    expect(yield* tracing.flush("20 seconds")).toBe(true)
    return { traceId, stats: yield* tracing.stats }
  }).pipe(Effect.provide(layer))

/** a collector's spans of one trace, once `count` have arrived */
const arrived = (otelTraceId: string, count: number, from: RunningCollector = collector) =>
  Effect.promise(() => from.spansOf(otelTraceId, count))

/** the trace as MLflow's Python client reads it, once stored whole */
const storedInMlflow = (traceId: string, spans: number) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 60_000
    for (;;) {
      const [trace] = await pythonGetTraces(mlflowUrl(), [traceId]).pipe(Effect.runPromise)
      if ((trace?.data?.spans?.length ?? 0) >= spans || Date.now() > deadline) return trace
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  })

const otelIdOf = (traceId: string) => traceId.replace(/^tr-/, "")
const attribute = (span: any, key: string) => span.attributes?.find((kv: any) => kv.key === key)?.value

const endpointFor = (protocol: OtlpProtocol) =>
  protocol === "grpc" ? collector.grpcUrl : `${collector.httpUrl}/v1/traces`

describe("OTLP export through a real OpenTelemetry Collector", () => {
  for (
    const [protocol, compression] of [
      ["http/protobuf", "none"],
      ["http/protobuf", "gzip"],
      ["http/json", "none"],
      ["http/json", "gzip"],
      ["grpc", "none"],
      ["grpc", "gzip"]
    ] as const
  ) {
    it.live(`${protocol} (${compression}): spans arrive with attributes, resource and parents, and MLflow stores the trace`, () =>
      Effect.gen(function*() {
        const label = `${protocol}-${compression}`
        const { stats, traceId } = yield* traced(
          program(label),
          MlflowTracing.layer({
            otlp: { endpoint: endpointFor(protocol), protocol, compression },
            serviceName: "checkout"
          })
        )
        expect(stats.exported).toBe(1)
        expect(stats.failed).toBe(0)

        const spans = yield* arrived(otelIdOf(traceId), 3)
        expect(spans).toHaveLength(3)
        const root = spans.find((span) => span.parentSpanId === undefined || span.parentSpanId === "")!
        const retrieve = spans.find((span) => span.name === "retrieve")!
        const plain = spans.find((span) => span.name === "plain effect span")!
        expect(root.name).toBe(`agent ${label}`)
        expect(retrieve.parentSpanId).toBe(root.spanId)
        expect(plain.parentSpanId).toBe(root.spanId)
        expect(root.resource["service.name"]).toEqual({ stringValue: "checkout" })
        expect(root.resource["telemetry.sdk.name"]).toEqual({ stringValue: "effect-mlflow" })
        expect(root.scope).toBe("effect-mlflow")
        expect(attribute(root, "mlflow.spanType")).toEqual({ stringValue: "AGENT" })
        expect(JSON.parse(attribute(root, "mlflow.spanInputs").stringValue)).toEqual({ question: `why ${label}?` })
        expect(attribute(root, "mlflow.traceTag.team")).toEqual({ stringValue: "search" })
        expect(attribute(root, "session.id")).toEqual({ stringValue: `session-${label}` })
        expect(attribute(plain, "app.count")).toEqual({ intValue: "3" })
        expect(root.status.code).toBe(1)

        // the collector forwarded the spans to MLflow, which built the trace from them
        const trace = yield* storedInMlflow(traceId, 3)
        expect(trace.info.trace_id).toBe(traceId)
        expect(trace.info.trace_location.mlflow_experiment.experiment_id).toBe(experimentId)
        expect(trace.info.state).toBe("OK")
        expect(trace.info.tags.team).toBe("search")
        expect(trace.info.tags["mlflow.traceName"]).toBe(`agent ${label}`)
        expect(trace.info.trace_metadata["mlflow.trace.session"]).toBe(`session-${label}`)
        expect(trace.info.trace_metadata["mlflow.trace.user"]).toBe("ada")
        expect(trace.info.request_preview).toContain(`why ${label}?`)
        expect(trace.data.spans.map((span: any) => span.name).sort()).toEqual(
          [`agent ${label}`, "plain effect span", "retrieve"].sort()
        )
      }))
  }

  it.live("configured from OTEL_EXPORTER_OTLP_* alone (the endpoint gets /v1/traces), with headers and resource", () =>
    Effect.gen(function*() {
      const env = ConfigProvider.fromMap(
        new Map([
          ["OTEL_EXPORTER_OTLP_ENDPOINT", collector.httpUrl],
          ["OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"],
          ["OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme%20corp,authorization=Bearer%20s3cret"],
          ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"],
          ["OTEL_SERVICE_NAME", "from-env"],
          ["OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging,service.name=overridden"]
        ])
      )
      const { traceId } = yield* traced(
        program("env"),
        MlflowTracing.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(env)))
      )
      const spans = yield* arrived(otelIdOf(traceId), 3)
      expect(spans).toHaveLength(3)
      expect(spans[0].resource["service.name"]).toEqual({ stringValue: "from-env" })
      expect(spans[0].resource["deployment.environment"]).toEqual({ stringValue: "staging" })
      const trace = yield* storedInMlflow(traceId, 3)
      expect(trace.info.trace_metadata["mlflow.trace.session"]).toBe("session-env")
    }))

  it.live("GenAI semantic conventions: a chat span arrives as gen_ai.*, and MLflow still stores the trace", () =>
    Effect.gen(function*() {
      const chat = Mlflow.span("llm call", {
        spanType: SpanType.CHAT_MODEL,
        inputs: {
          messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
          temperature: 0.1
        }
      })(
        Effect.gen(function*() {
          yield* Mlflow.setAttributes({ "mlflow.llm.model": "gpt-4o", "mlflow.message.format": "openai" })
          return {
            id: "chatcmpl-9",
            choices: [{ message: { role: "assistant", content: "hello" }, finish_reason: "stop" }]
          }
        })
      )
      const { traceId } = yield* traced(
        Mlflow.span("agent", { spanType: SpanType.AGENT })(chat),
        MlflowTracing.layer({
          otlp: { endpoint: `${collector.httpUrl}/v1/traces`, protocol: "http/protobuf" },
          genAiSemanticConventions: true
        })
      )
      const spans = yield* arrived(otelIdOf(traceId), 2)
      const llm = spans.find((span) => span.name === "chat gpt-4o")!
      expect(llm).toBeDefined()
      expect(llm.kind).toBe(3)
      expect(attribute(llm, "gen_ai.operation.name")).toEqual({ stringValue: "chat" })
      expect(attribute(llm, "gen_ai.request.temperature")).toEqual({ doubleValue: 0.1 })
      expect(JSON.parse(attribute(llm, "gen_ai.input.messages").stringValue)).toEqual([
        { role: "user", parts: [{ type: "text", content: "hi" }] }
      ])
      expect(attribute(llm, "gen_ai.response.finish_reasons")).toEqual({
        arrayValue: { values: [{ stringValue: "stop" }] }
      })
      expect(attribute(llm, "mlflow.spanInputs")).toBeUndefined()
      expect(spans.find((span) => span.name === "invoke_agent agent")).toBeDefined()
      const trace = yield* storedInMlflow(traceId, 2)
      expect(trace.data.spans).toHaveLength(2)
    }))

  // A collector of its own that does not forward to MLflow: with the shared one, MLflow would get the
  // same trace twice, into two experiments, and refuse whichever came second.
  it.live("dual export: MLflow gets the whole trace info directly, the collector the same spans", () =>
    Effect.acquireUseRelease(
      Effect.promise(() => startCollector()),
      (own) =>
        Effect.gen(function*() {
          const name = uniqueName("dual")
          const { stats, traceId } = yield* traced(
            program("dual"),
            MlflowTracing.layer({
              trackingUri: mlflowUrl(),
              experimentName: name,
              otlp: { endpoint: own.grpcUrl, protocol: "grpc" },
              dualExport: true
            })
          )
          expect(stats.destinations?.mlflow?.exported).toBe(1)
          expect(stats.destinations?.otlp?.exported).toBe(1)
          const spans = yield* arrived(otelIdOf(traceId), 3, own)
          const stored = yield* storedInMlflow(traceId, 3)
          expect(spans.map((span) => span.spanId).sort()).toEqual(
            // MLflow's `to_dict` writes ids in base64
            stored.data.spans.map((span: any) => Buffer.from(span.span_id, "base64").toString("hex")).sort()
          )
          const [direct] = yield* pythonGetTraces(mlflowUrl(), [traceId])
          expect(direct.info.trace_location.mlflow_experiment.experiment_id).toBe(
            yield* experimentIdByName(mlflowUrl(), name)
          )
          // written by the library's own StartTraceV3: what spans cannot carry
          expect(direct.info.trace_metadata["mlflow.trace_schema.version"]).toBe("3")
          expect(direct.info.trace_metadata["mlflow.source.type"]).toBeDefined()
        }),
      (own) => Effect.promise(() => own.stop())
    ))
})

describe("dual export with the collector down", () => {
  it.live(
    "MLflow keeps pace and stores every trace; the collector's side stays within its queue and counts each loss",
    () =>
      Effect.gen(function*() {
        const name = uniqueName("dual-down")
        const count = 300
        const capacity = 100
        const down = `http://127.0.0.1:${yield* freePort}` // nothing listens: every request is refused
        const ids: Array<string> = []
        let peakQueued = 0
        const service = yield* Effect.gen(function*() {
          const tracing = yield* MlflowTracing.MlflowTracing
          const exported = (n: number) =>
            tracing.stats.pipe(
              Effect.repeat({
                schedule: Schedule.spaced("100 millis"),
                until: (now) => (now.destinations?.mlflow?.exported ?? 0) >= n
              }),
              Effect.timeout("120 seconds"),
              Effect.ignore
            )
          for (let i = 0; i < count; i++) {
            yield* Effect.succeed(i).pipe(Mlflow.span("step"), Mlflow.span(`down ${i}`))
            ids.push(Option.getOrThrow(yield* Mlflow.lastTraceId))
            // the first trace creates the experiment: the others follow once it is stored
            if (i === 0) yield* exported(1)
            // paced as traffic is, not a burst: a burst would fill the MLflow side's queue as well
            yield* Effect.sleep("20 millis")
            const now = yield* tracing.stats
            peakQueued = Math.max(peakQueued, now.destinations?.otlp?.queued ?? 0)
          }
          // the MLflow side is not held back by the other one
          yield* exported(count)
          const { destinations } = yield* tracing.stats
          expect(destinations?.mlflow).toMatchObject({ exported: count, failed: 0 })
          expect(destinations?.otlp?.exported).toBe(0)
          return tracing
        }).pipe(Effect.provide(MlflowTracing.layer({
          trackingUri: mlflowUrl(),
          experimentName: name,
          otlp: { endpoint: down, protocol: "grpc" },
          dualExport: true,
          queueCapacity: capacity,
          shutdownTimeout: "2 seconds"
        })))
        const { destinations } = yield* service.stats
        const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0)
        expect(destinations?.mlflow).toMatchObject({ exported: count, failed: 0, queued: 0 })
        expect(sum(destinations!.mlflow.dropped)).toBe(0)
        const otlp = destinations!.otlp
        expect(peakQueued).toBeLessThanOrEqual(capacity)
        expect(otlp.exported).toBe(0)
        expect(otlp.dropped.queueFull).toBeGreaterThan(0)
        // every trace the collector's side took is accounted for, once
        expect(otlp.failed + sum(otlp.dropped) + otlp.unconfirmed).toBe(count)
        const stored = yield* python(
          `
import json, mlflow
traces = mlflow.search_traces(experiment_ids=[${
            JSON.stringify(yield* experimentIdByName(mlflowUrl(), name))
          }], return_type="list", max_results=1000)
print(json.dumps(sorted(t.info.trace_id for t in traces if len(t.data.spans) == 2)))
`,
          { MLFLOW_TRACKING_URI: mlflowUrl() }
        )
        expect(stored).toEqual([...ids].sort())
      }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))),
    300_000
  )
})

/** `count` traces, one at a time; their OTLP trace ids, and the stats once flushed */
const tracedMany = (
  traces: ReadonlyArray<Effect.Effect<void>>,
  layer: Layer.Layer<MlflowTracing.MlflowTracing, unknown>
) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    for (const trace of traces) {
      yield* trace
      ids.push(otelIdOf(Option.getOrThrow(yield* Mlflow.lastTraceId)))
    }
    const tracing = yield* MlflowTracing.MlflowTracing
    expect(yield* tracing.flush("60 seconds")).toBe(true)
    return { ids, stats: yield* tracing.stats }
  }).pipe(Effect.provide(layer))

/** a trace of a root and `children` spans of `bytes` bytes of hex text each (random: gzip saves half) */
const bigTrace = (name: string, children: number, bytes: number) =>
  Effect.forEach(
    Array.from({ length: children }, (_, i) => i),
    (i) =>
      Mlflow.span(`${name} part ${i}`, { inputs: { text: crypto.randomBytes(bytes / 2).toString("hex") } })(
        Effect.void
      ),
    { discard: true }
  ).pipe(Mlflow.span(name))

const MiB = 1024 * 1024

/** a logger that keeps the messages it is given */
const capturedLogs = () => {
  const logs: Array<string> = []
  const logger = Logger.make(({ message }) => {
    logs.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })
  return { logger, logs }
}

describe("OTLP/gRPC at the collector's default message limit (4 MiB)", () => {
  // a collector of its own, not forwarding to MLflow: the requests are large
  let own: RunningCollector
  beforeAll(async () => {
    own = await startCollector()
  }, 300_000)
  afterAll(async () => {
    await own?.stop()
  })

  for (const compression of ["none", "gzip"] as const) {
    it.live(`a 10 MiB trace arrives whole, in requests under the limit (${compression})`, () =>
      Effect.gen(function*() {
        const { ids, stats } = yield* tracedMany(
          [bigTrace(`ten MiB ${compression}`, 20, MiB / 2), bigTrace(`small ${compression}`, 2, 100)],
          MlflowTracing.layer({ otlp: { endpoint: own.grpcUrl, protocol: "grpc", compression }, batchSize: 2 })
        )
        expect(stats).toMatchObject({ exported: 2, failed: 0, retried: 0, rejectedSpans: 0 })
        const spans = yield* Effect.promise(() => own.spansOf(ids[0], 21))
        expect(spans).toHaveLength(21)
        expect(new Set(spans.map((span) => span.spanId)).size).toBe(21)
        const bytes = spans.reduce(
          (sum, span) => sum + (attribute(span, "mlflow.spanInputs")?.stringValue.length ?? 0),
          0
        )
        expect(bytes).toBeGreaterThan(10 * MiB)
        expect(yield* Effect.promise(() => own.spansOf(ids[1], 3))).toHaveLength(3)
        expect(own.log()).not.toMatch(/larger than max/)
      }))
  }

  // 10 MiB uncompressed: the collector answers before it has read the request (which hung it until
  // the timeout). The limit is on the message as decompressed: 6 MiB of hex gzipped to 3 MiB is refused
  // all the same (grpc-go checks the size on the wire, then as it decompresses)
  for (
    const [compression, parts, refusal] of [
      ["none", 20, /received message larger than max \(10\d{6} vs\. 4194304\)/],
      ["gzip", 12, /received message after decompression larger than max 4194304/]
    ] as const
  ) {
    it.live(`a request over the limit (ours raised to 16 MiB) is counted failed once, the others stored (${compression})`, () =>
      Effect.gen(function*() {
        const { logger, logs } = capturedLogs()
        const { ids, stats } = yield* tracedMany(
          [bigTrace(`over ${compression}`, parts, MiB / 2), bigTrace("before", 2, 100), bigTrace("after", 2, 100)],
          MlflowTracing.layer({
            otlp: { endpoint: own.grpcUrl, protocol: "grpc", compression, maxRequestBytes: 16 * MiB },
            batchSize: 3,
            workers: 1
          })
        ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        expect(stats).toMatchObject({ exported: 2, failed: 1, retried: 0 })
        const refusals = logs.filter((line) => line.includes("RESOURCE_EXHAUSTED"))
        expect(refusals).toHaveLength(1)
        expect(refusals[0]).toMatch(refusal)
        expect(yield* Effect.promise(() => own.spansOf(ids[1], 3))).toHaveLength(3)
        expect(yield* Effect.promise(() => own.spansOf(ids[2], 3))).toHaveLength(3)
        expect(own.spans().filter((span) => span.traceId === ids[0])).toEqual([])
      }))
  }
})

describe("OTLP/gRPC over TLS (a throw-away CA) with gzip, at the collector's default limit", () => {
  let pki: Pki
  let own: RunningCollector
  beforeAll(async () => {
    pki = makePki()
    own = await startCollector({ grpcTls: { certFile: pki.serverCert, keyFile: pki.serverKey } })
  }, 300_000)
  afterAll(async () => {
    await own?.stop()
  })

  it.live("with the CA (OTEL_EXPORTER_OTLP_CERTIFICATE), a 10 MiB trace arrives whole, gzipped", () =>
    Effect.gen(function*() {
      const env = ConfigProvider.fromMap(
        new Map([
          ["OTEL_EXPORTER_OTLP_ENDPOINT", own.grpcUrl],
          ["OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"],
          ["OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"],
          ["OTEL_EXPORTER_OTLP_CERTIFICATE", pki.ca]
        ])
      )
      const { ids, stats } = yield* tracedMany(
        [bigTrace("tls ten MiB", 20, MiB / 2), bigTrace("tls small", 2, 100)],
        MlflowTracing.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(env)))
      )
      expect(stats).toMatchObject({ exported: 2, failed: 0, retried: 0 })
      const spans = yield* Effect.promise(() => own.spansOf(ids[0], 21))
      expect(new Set(spans.map((span) => span.spanId)).size).toBe(21)
      expect(yield* Effect.promise(() => own.spansOf(ids[1], 3))).toHaveLength(3)
    }))

  it.live("without it, the collector's certificate is refused: counted failed, not retried, said once", () =>
    Effect.gen(function*() {
      const { logger, logs } = capturedLogs()
      const { stats } = yield* tracedMany(
        [bigTrace("untrusted a", 1, 100), bigTrace("untrusted b", 1, 100)],
        MlflowTracing.layer({ otlp: { endpoint: own.grpcUrl, protocol: "grpc" }, batchSize: 1, workers: 1 })
      ).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(stats).toMatchObject({ exported: 0, failed: 2, retried: 0 })
      const lines = logs.filter((line) => /certificate/i.test(line))
      expect(lines).toHaveLength(1)
    }))
})
