import { describe, expect, it } from "@effect/vitest"
import { Effect, Tracer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Mlflow, MlflowClient, Search } from "../../src/index.js"
import { flaskOnlyUrl, mlflowUrl, pyAttributes, python, pythonGetTraces, runTraced, uniqueName } from "./helpers.js"

const elsewhere = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }

/** A producer trace, then a consumer trace whose spans link to the producer and to a span elsewhere. */
const program = Effect.gen(function*() {
  const producer = yield* Effect.currentSpan.pipe(Mlflow.span("producer"), Effect.orDie)
  yield* Effect.gen(function*() {
    const consumer = yield* Effect.orDie(Effect.currentSpan)
    consumer.addLinks([
      { _tag: "SpanLink", span: Tracer.externalSpan(elsewhere), attributes: { reason: "handoff", attempt: 2 } },
      // ids OTLP cannot carry: dropped, and counted on the span
      { _tag: "SpanLink", span: Tracer.externalSpan({ traceId: "not-hex", spanId: "x" }), attributes: {} }
    ])
  }).pipe(
    Effect.withSpan("consumer", {
      links: [{ _tag: "SpanLink", span: producer, attributes: { "messaging.operation": "receive", api_key: "sk-1" } }]
    })
  )
  return { traceId: producer.traceId, spanId: producer.spanId }
})

/** The consumer span as MLflow's Python client reads it: from a server, or from a local store file. */
const consumerFrom = (url: string) =>
  Effect.gen(function*() {
    if (url.startsWith("file:")) {
      const { result, traceId } = yield* runTraced(program, { trackingUri: url })
      const [trace] = yield* python(`
import json
from mlflow.entities import Trace
t = Trace.from_json(open(${
        JSON.stringify(path.join(url.slice("file:".length), `${traceId}.json`))
      }, encoding="utf-8").read())
print(json.dumps([t.to_dict()]))
`)
      return { result, trace }
    }
    const { result, traceId } = yield* runTraced(program, { trackingUri: url, experimentName: uniqueName("links") })
    const [trace] = yield* pythonGetTraces(url, [traceId])
    // and as the library reads the trace back
    const ours = yield* Search.getTrace(traceId).pipe(
      Effect.provide(MlflowClient.layerConfigFetch({ trackingUri: url })),
      Effect.orDie
    )
    expect(ours.spans.find((span) => span.name === "consumer")?.links).toEqual([
      {
        traceId: result.traceId,
        spanId: result.spanId,
        attributes: { "messaging.operation": "receive", api_key: "<redacted>" }
      },
      { traceId: elsewhere.traceId, spanId: elsewhere.spanId, attributes: { reason: "handoff", attempt: 2 } }
    ])
    return { result, trace }
  })

const expectLinks = (url: string) =>
  Effect.gen(function*() {
    const { result, trace } = yield* consumerFrom(url)
    const consumer = trace.data.spans.find((span: any) => span.name === "consumer")
    expect(consumer.links).toEqual([
      // the secret-looking attribute is redacted as any other content
      {
        trace_id: `tr-${result.traceId}`,
        span_id: result.spanId,
        attributes: { "messaging.operation": "receive", api_key: "<redacted>" }
      },
      { trace_id: `tr-${elsewhere.traceId}`, span_id: elsewhere.spanId, attributes: { reason: "handoff", attempt: 2 } }
    ])
    expect(pyAttributes(consumer)["effect_mlflow.links_dropped"]).toBe(1)
  })

describe("span links, as MLflow shows them", () => {
  it.live("reach the tracking store over OTLP with the linked trace, span and attributes", () =>
    expectLinks(mlflowUrl()))

  it.live("reach a server without span storage in traces.json", () => expectLinks(flaskOnlyUrl()))

  it.live("are in the local store's files, which MLflow's Trace.from_json reads", () =>
    expectLinks(`file:${fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-links-"))}`))
})
