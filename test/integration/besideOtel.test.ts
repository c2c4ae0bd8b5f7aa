import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as Resource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as OtelApi from "@opentelemetry/api"
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { Effect, Layer, Option } from "effect"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import * as MlflowSpanProcessor from "../../src/opentelemetry/MlflowSpanProcessor.js"
import * as OtelContext from "../../src/opentelemetry/OtelContext.js"
import * as OtelExporterSink from "../../src/opentelemetry/OtelExporterSink.js"
import { SpanType } from "../../src/SpanType.js"
import { type RunningCollector, startCollector } from "../harness/collector.js"
import { mlflowUrl, pythonGetTraces, uniqueName } from "./helpers.js"

/**
 * Beside an existing OpenTelemetry set-up: the MLflow span processor in `@effect/opentelemetry`'s
 * NodeSdk and in the plain OpenTelemetry SDK, next to an OTLP exporter to a real collector; and our
 * tracer feeding an OpenTelemetry exporter. The same trace, with the same ids, in both backends.
 */

let collector: RunningCollector
beforeAll(async () => {
  collector = await startCollector()
}, 300_000)
afterAll(async () => {
  await collector?.stop()
})

const hex = (base64: string) => Buffer.from(base64, "base64").toString("hex")

const inCollector = (otelTraceId: string, count: number) => Effect.promise(() => collector.spansOf(otelTraceId, count))

const otlpExporter = () => new OTLPTraceExporter({ url: `${collector.httpUrl}/v1/traces` })

describe("beside OpenTelemetry", () => {
  it.live("NodeSdk: Effect's spans land in MLflow as a proper trace, and in the collector with the same ids", () =>
    Effect.gen(function*() {
      const experimentName = uniqueName("beside-nodesdk")
      const traceId = yield* Mlflow.span("agent", { spanType: SpanType.AGENT, inputs: { question: "why?" } })(
        Effect.gen(function*() {
          yield* Effect.sleep("1 millis").pipe(Effect.withSpan("effect step"))
          yield* Effect.void.pipe(Effect.withSpan("effect step 2"))
          return { answer: "because" }
        })
      ).pipe(
        Effect.zipRight(Mlflow.lastTraceId),
        Effect.map(Option.getOrThrow),
        Effect.tap(() => Effect.flatMap(MlflowTracing.MlflowTracing, (tracing) => tracing.flush("20 seconds"))),
        Effect.provide(MlflowSpanProcessor.layerNodeSdk((mlflow) => ({
          resource: { serviceName: "beside-nodesdk" },
          spanProcessor: [mlflow, new BatchSpanProcessor(otlpExporter(), { scheduledDelayMillis: 50 })]
        }), { trackingUri: mlflowUrl(), experimentName }))
      )
      const [trace] = yield* pythonGetTraces(mlflowUrl(), [traceId])
      expect(trace.data.spans.map((span: any) => span.name).sort()).toEqual(["agent", "effect step", "effect step 2"])
      const byName = Object.fromEntries(trace.data.spans.map((span: any) => [span.name, span]))
      expect(byName["effect step 2"].parent_span_id).toBe(byName["agent"].span_id)
      expect(byName["effect step"].parent_span_id).toBe(byName["agent"].span_id)
      // the trace info finalized as ours is
      expect(trace.info.state).toBe("OK")
      expect(trace.info.tags["mlflow.traceName"]).toBe("agent")
      expect(trace.info.request_preview).toContain("why?")
      expect(trace.info.trace_metadata["mlflow.trace_schema.version"]).toBe("3")
      expect(JSON.parse(byName["agent"].attributes["mlflow.spanType"])).toBe("AGENT")

      const spans = yield* inCollector(traceId.replace(/^tr-/, ""), 3)
      expect(spans.map((span) => span.spanId).sort()).toEqual(
        trace.data.spans.map((span: any) => hex(span.span_id)).sort()
      )
      expect(spans[0].resource["service.name"]).toEqual({ stringValue: "beside-nodesdk" })
    }))

  it.live("NodeSdk's provider registered globally: an @opentelemetry/api span joins, same ids in MLflow and the collector", () =>
    Effect.gen(function*() {
      const experimentName = uniqueName("beside-nodesdk-api")
      const traceId = yield* Effect.scoped(Effect.gen(function*() {
        const mlflow = yield* MlflowSpanProcessor.make({ trackingUri: mlflowUrl(), experimentName })
        const program = Effect.gen(function*() {
          // what a service that lets vendor SDKs trace does: NodeSdk's provider is the global one
          OtelApi.trace.setGlobalTracerProvider(yield* OtelTracer.OtelTracerProvider)
          OtelApi.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
          yield* Mlflow.span("agent", { spanType: SpanType.AGENT, inputs: { question: "why?" } })(
            Effect.sync(() =>
              OtelApi.trace.getTracer("vendor-sdk").startActiveSpan("vendor call", (span) => {
                span.setAttribute("vendor.tokens", 12)
                span.end()
              })
            ).pipe(Effect.zipRight(Effect.void.pipe(Effect.withSpan("effect step"))))
          )
          return Option.getOrThrow(yield* mlflow.service.lastTraceId)
        })
        return yield* program.pipe(Effect.provide(
          OtelTracer.layer.pipe(
            Layer.provideMerge(
              NodeSdk.layerTracerProvider([
                mlflow,
                new BatchSpanProcessor(otlpExporter(), { scheduledDelayMillis: 50 })
              ])
            ),
            Layer.provide(Resource.layer({ serviceName: "beside-nodesdk-api" }))
          )
        ))
      }))
      OtelApi.trace.disable()
      OtelApi.context.disable()
      const [trace] = yield* pythonGetTraces(mlflowUrl(), [traceId])
      expect(trace.data.spans.map((span: any) => span.name).sort()).toEqual(["agent", "effect step", "vendor call"])
      const byName = Object.fromEntries(trace.data.spans.map((span: any) => [span.name, span]))
      expect(byName["vendor call"].parent_span_id).toBe(byName["agent"].span_id)
      expect(trace.info.tags["mlflow.traceName"]).toBe("agent")
      const spans = yield* inCollector(traceId.replace(/^tr-/, ""), 3)
      expect(spans.map((span) => span.spanId).sort()).toEqual(
        trace.data.spans.map((span: any) => hex(span.span_id)).sort()
      )
      expect(spans.find((span) => span.name === "vendor call")?.scope).toBe("vendor-sdk")
    }))

  it.live("a global OpenTelemetry provider with Effect on it: an @opentelemetry/api span joins Effect's trace", () =>
    Effect.gen(function*() {
      const experimentName = uniqueName("beside-global")
      const mlflow = yield* Effect.promise(() =>
        MlflowSpanProcessor.create({ trackingUri: mlflowUrl(), experimentName })
      )
      const provider = new NodeTracerProvider({ spanProcessors: [mlflow, new BatchSpanProcessor(otlpExporter())] })
      provider.register()
      const traceId = yield* Mlflow.span("handler", { spanType: SpanType.CHAIN, inputs: { user: "ada" } })(
        Effect.sync(() =>
          OtelApi.trace.getTracer("vendor-sdk").startActiveSpan("vendor call", (span) => {
            span.setAttribute("vendor.tokens", 12)
            span.end()
          })
        )
      ).pipe(
        Effect.provide(OtelTracer.layerGlobal.pipe(Layer.provide(Resource.layer({ serviceName: "beside-global" })))),
        Effect.zipRight(Effect.promise(() => provider.forceFlush())),
        Effect.zipRight(Effect.map(mlflow.service.lastTraceId, Option.getOrThrow))
      )
      yield* Effect.promise(() => provider.shutdown())
      OtelApi.trace.disable()
      OtelApi.context.disable()
      const [trace] = yield* pythonGetTraces(mlflowUrl(), [traceId])
      expect(trace.data.spans.map((span: any) => span.name).sort()).toEqual(["handler", "vendor call"])
      const byName = Object.fromEntries(trace.data.spans.map((span: any) => [span.name, span]))
      expect(byName["vendor call"].parent_span_id).toBe(byName["handler"].span_id)
      expect(JSON.parse(byName["vendor call"].attributes["vendor.tokens"])).toBe(12)
      expect(trace.info.tags["mlflow.traceName"]).toBe("handler")
      expect(trace.info.request_preview).toContain("ada")
      const spans = yield* inCollector(traceId.replace(/^tr-/, ""), 2)
      expect(spans.map((span) => span.spanId).sort()).toEqual(
        trace.data.spans.map((span: any) => hex(span.span_id)).sort()
      )
    }))

  it.live("our tracer with OtelContext: an @opentelemetry/api span inside an MLflow span joins its trace", () =>
    Effect.gen(function*() {
      const experimentName = uniqueName("otel-context")
      const traceId = yield* Effect.gen(function*() {
        const mlflow = yield* MlflowSpanProcessor.fromTracing
        const provider = new NodeTracerProvider({ spanProcessors: [mlflow] })
        provider.register()
        yield* Mlflow.span("retrieve", { spanType: SpanType.RETRIEVER, inputs: { query: "docs" } })(
          Effect.sync(() =>
            OtelApi.trace.getTracer("vector-db").startActiveSpan("vector search", (span) => {
              span.setAttribute("db.system", "qdrant")
              span.end()
            })
          )
        )
        yield* Effect.promise(() => provider.shutdown())
        OtelApi.trace.disable()
        OtelApi.context.disable()
        const tracing = yield* MlflowTracing.MlflowTracing
        yield* tracing.flush("20 seconds")
        return Option.getOrThrow(yield* Mlflow.lastTraceId)
      }).pipe(Effect.provide(
        OtelContext.layer.pipe(Layer.provideMerge(MlflowTracing.layer({ trackingUri: mlflowUrl(), experimentName })))
      ))
      const [trace] = yield* pythonGetTraces(mlflowUrl(), [traceId])
      expect(trace.data.spans.map((span: any) => span.name).sort()).toEqual(["retrieve", "vector search"])
      const byName = Object.fromEntries(trace.data.spans.map((span: any) => [span.name, span]))
      expect(byName["vector search"].parent_span_id).toBe(byName["retrieve"].span_id)
      expect(JSON.parse(byName["vector search"].attributes["db.system"])).toBe("qdrant")
      expect(trace.info.tags["mlflow.traceName"]).toBe("retrieve")
    }))

  it.live("the plain OpenTelemetry SDK: its spans land in MLflow; provider shutdown flushes", () =>
    Effect.gen(function*() {
      const experimentName = uniqueName("beside-plain")
      const mlflow = yield* Effect.promise(() =>
        MlflowSpanProcessor.create({ trackingUri: mlflowUrl(), experimentName })
      )
      const provider = new BasicTracerProvider({ spanProcessors: [mlflow, new BatchSpanProcessor(otlpExporter())] })
      const tracer = provider.getTracer("plain")
      const root = tracer.startSpan("request", { attributes: { "http.route": "/chat" } })
      const child = tracer.startSpan("db query", {}, OtelApi.trace.setSpan(OtelApi.context.active(), root))
      child.setStatus({ code: OtelApi.SpanStatusCode.ERROR, message: "timeout" })
      child.end()
      root.end()
      yield* Effect.promise(() => provider.shutdown())
      const traceId = `tr-${root.spanContext().traceId}`
      const [trace] = yield* pythonGetTraces(mlflowUrl(), [traceId])
      expect(trace.data.spans).toHaveLength(2)
      expect(trace.info.state).toBe("OK")
      const db = trace.data.spans.find((span: any) => span.name === "db query")
      expect(db.status).toEqual({ code: "STATUS_CODE_ERROR", message: "timeout" })
      const spans = yield* inCollector(root.spanContext().traceId, 2)
      expect(spans).toHaveLength(2)
    }))

  it.live("our tracer also feeds an OpenTelemetry exporter, with the same trace and span ids", () =>
    Effect.gen(function*() {
      const experimentName = uniqueName("also-otel")
      const { stats, traceId } = yield* Effect.gen(function*() {
        yield* Mlflow.span("root", { inputs: { q: 1 } })(Effect.void.pipe(Effect.withSpan("child")))
        const tracing = yield* MlflowTracing.MlflowTracing
        yield* tracing.flush("20 seconds")
        return { traceId: Option.getOrThrow(yield* Mlflow.lastTraceId), stats: yield* tracing.stats }
      }).pipe(Effect.provide(MlflowTracing.layer({
        trackingUri: mlflowUrl(),
        experimentName,
        alsoExportTo: { jaeger: OtelExporterSink.make(otlpExporter(), { serviceName: "also-otel" }) }
      })))
      expect(stats.destinations?.mlflow?.exported).toBe(1)
      expect(stats.destinations?.jaeger?.exported).toBe(1)
      const [trace] = yield* pythonGetTraces(mlflowUrl(), [traceId])
      const spans = yield* inCollector(traceId.replace(/^tr-/, ""), 2)
      expect(spans.map((span) => span.spanId).sort()).toEqual(
        trace.data.spans.map((span: any) => hex(span.span_id)).sort()
      )
      const root = spans.find((span) => span.name === "root")!
      expect(root.resource["service.name"]).toEqual({ stringValue: "also-otel" })
      expect(root.attributes.find((kv: any) => kv.key === "mlflow.spanInputs").value).toEqual({
        stringValue: "{\"q\": 1}"
      })
    }))
})
