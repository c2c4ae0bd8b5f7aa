import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Option } from "effect"
import { Mlflow, MlflowTracing, Sink, TraceContext } from "../../src/index.js"
import { normalizeTraceState, parseTraceparent } from "../../src/internal/tracing/traceContext.js"
import type { Trace } from "../../src/Trace.js"
import { recorder } from "../support/recorder.js"

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
const SPAN = "00f067aa0ba902b7"

const recording = (samplingRatio?: number) => {
  const stored: Array<Trace> = []
  const sink: Sink.Sink = {
    export: (traces) => Effect.sync(() => void stored.push(...traces)),
    exportLateSpans: () => Effect.void
  }
  return { stored, layer: MlflowTracing.layerSink(sink, { workers: 1, samplingRatio }) }
}

describe("W3C trace context", () => {
  it("reads traceparent as the recommendation says", () => {
    assert.deepStrictEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN, sampled: true })
    assert.deepStrictEqual(parseTraceparent(` 00-${TRACE}-${SPAN}-00 `), {
      traceId: TRACE,
      spanId: SPAN,
      sampled: false
    })
    // a later version may add fields; the sampled flag is bit 0
    assert.deepStrictEqual(parseTraceparent(`01-${TRACE}-${SPAN}-03-more`), {
      traceId: TRACE,
      spanId: SPAN,
      sampled: true
    })
    for (
      const invalid of [
        undefined,
        "",
        `00-${TRACE}-${SPAN}`,
        `00-${TRACE}-${SPAN}-01-extra`,
        `ff-${TRACE}-${SPAN}-01`,
        `00-${TRACE.toUpperCase()}-${SPAN}-01`,
        `00-${"0".repeat(32)}-${SPAN}-01`,
        `00-${TRACE}-${"0".repeat(16)}-01`,
        `00-${TRACE}-${SPAN}-1`,
        `0-${TRACE}-${SPAN}-01`,
        `00-${TRACE}x-${SPAN}-01`
      ]
    ) assert.isUndefined(parseTraceparent(invalid), String(invalid))
  })

  it("passes tracestate on whole members, within the W3C limits", () => {
    assert.strictEqual(normalizeTraceState(" a=1 , ,b=2"), "a=1,b=2")
    assert.isUndefined(normalizeTraceState(" , "))
    assert.strictEqual(normalizeTraceState("a=1,bad\u0001=2,novalue"), "a=1")
    const many = Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(",")
    assert.strictEqual(normalizeTraceState(many)!.split(",").length, 32)
    const long = Array.from({ length: 10 }, (_, i) => `k${i}=${"v".repeat(100)}`).join(",")
    const kept = normalizeTraceState(long)!
    assert.isAtMost(kept.length, 512)
    assert.strictEqual(kept.split(",").length, 4)
  })

  it.effect("traceHeaders: the current span's traceparent, empty outside a span", () => {
    const { layer } = recording()
    return Effect.gen(function*() {
      assert.deepStrictEqual(yield* Mlflow.traceHeaders, {})
      const [headers, traceId, spanId] = yield* Effect.gen(function*() {
        const span = yield* Effect.currentSpan
        return [yield* Mlflow.traceHeaders, span.traceId, span.spanId] as const
      }).pipe(Mlflow.span("call"))
      assert.deepStrictEqual(headers, { traceparent: `00-${traceId}-${spanId}-01` })
      const unsampled = yield* Mlflow.traceHeaders.pipe(Mlflow.span("skipped", { samplingRatio: 0 }))
      assert.match(unsampled.traceparent, /-00$/)
    }).pipe(Effect.provide(layer))
  })

  it.effect("continueTrace: spans join the caller's trace under its span, and tracestate travels on", () => {
    const { layer, stored } = recording()
    return Effect.gen(function*() {
      const headers = { TraceParent: [`00-${TRACE}-${SPAN}-01`], tracestate: ["vendor=a", "other=b"] }
      const onward = yield* Mlflow.traceHeaders.pipe(
        Mlflow.span("retrieve"),
        Mlflow.span("served"),
        Mlflow.continueTrace(headers)
      )
      yield* Mlflow.flush()
      assert.strictEqual(stored.length, 1)
      const served = stored[0].spans.find((span) => span.name === "served")!
      assert.strictEqual(served.traceId, TRACE)
      assert.strictEqual(served.parentSpanId, SPAN)
      assert.strictEqual(onward.tracestate, "vendor=a,other=b")
      assert.match(onward.traceparent, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`))
      // a web Headers object, and a caller that did not sample: nothing is recorded, the decision travels on
      const webHeaders = new Headers({ traceparent: `00-${TRACE.replace("4b", "5b")}-${SPAN}-00` })
      const notSampled = yield* Mlflow.traceHeaders.pipe(Mlflow.span("served"), Mlflow.continueTrace(webHeaders))
      assert.match(notSampled.traceparent, /-00$/)
      // no valid traceparent: a trace of its own
      const own = yield* Mlflow.currentTraceId.pipe(Mlflow.span("own"), Mlflow.continueTrace({ traceparent: "junk" }))
      yield* Mlflow.flush()
      assert.strictEqual(stored.length, 2)
      assert.notStrictEqual(Option.getOrThrow(own), `tr-${TRACE}`)
      assert.strictEqual(stored[1].spans[0].parentSpanId, null)
    }).pipe(Effect.provide(layer))
  })

  it.effect("TraceContext is the module of propagation, and Mlflow's names for it stay the same functions", () => {
    assert.strictEqual(Mlflow.traceHeaders, TraceContext.traceHeaders)
    assert.strictEqual(Mlflow.continueTrace, TraceContext.continueTrace)
    const { layer, stored } = recording()
    return Effect.gen(function*() {
      const onward = yield* TraceContext.traceHeaders.pipe(
        Mlflow.span("served"),
        TraceContext.continueTrace({ traceparent: `00-${TRACE}-${SPAN}-01` })
      )
      yield* Mlflow.flush()
      assert.strictEqual(stored[0].spans[0].traceId, TRACE)
      assert.strictEqual(stored[0].spans[0].parentSpanId, SPAN)
      assert.match(onward.traceparent, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`))
    }).pipe(Effect.provide(layer))
  })

  it.effect("a continued trace follows the caller's sampling decision, not this service's ratio", () => {
    const { layer, stored } = recording(0)
    return Effect.gen(function*() {
      yield* Effect.void.pipe(Mlflow.span("served"), Mlflow.continueTrace({ traceparent: `00-${TRACE}-${SPAN}-01` }))
      yield* Effect.void.pipe(Mlflow.span("own"))
      yield* Mlflow.flush()
      assert.deepStrictEqual(stored.map((trace) => trace.spans[0].name), ["served"])
    }).pipe(Effect.provide(layer))
  })

  const continued = (reply: (url: string) => { status: number; body: string }) =>
    Effect.gen(function*() {
      const server = yield* recorder((seen) => reply(seen.url))
      const stats = yield* Effect.gen(function*() {
        yield* Effect.void.pipe(
          Mlflow.span("served"),
          Mlflow.continueTrace({ traceparent: `00-${TRACE}-${SPAN}-01` })
        )
        yield* Mlflow.flush("10 seconds")
        return yield* Effect.flatMap(MlflowTracing.MlflowTracing, (tracing) => tracing.stats)
      }).pipe(
        Effect.provide(
          MlflowTracing.layer({ trackingUri: server.url, experimentId: "7", traceInfo: "always" }).pipe(Layer.orDie)
        ),
        Effect.provide(Logger.remove(Logger.defaultLogger))
      )
      return { stats, paths: server.seen.map((seen) => `${seen.method} ${seen.url}`) }
    })

  it.scopedLive("a continued trace goes out as spans only, even with traceInfo always: its info is the caller's", () =>
    Effect.gen(function*() {
      const { paths, stats } = yield* continued(() => ({ status: 200, body: "{}" }))
      assert.deepStrictEqual(paths, ["POST /v1/traces"])
      assert.strictEqual(stats.exported, 1)
      assert.strictEqual(stats.abridged, 0)
    }))

  it.scopedLive("a continued trace is refused, not written over the caller's, by a server without span storage", () =>
    Effect.gen(function*() {
      const { paths, stats } = yield* continued((url) =>
        url === "/v1/traces" ? { status: 404, body: "{}" } : { status: 200, body: "{}" }
      )
      assert.deepStrictEqual(paths, ["POST /v1/traces"])
      assert.strictEqual(stats.exported, 0)
      assert.strictEqual(stats.failed, 1)
    }))
})
