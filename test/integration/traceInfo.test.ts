import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Mlflow, MlflowClient, MlflowTracing } from "../../src/index.js"
import type { MlflowConfig } from "../../src/index.js"
import { finalize } from "../../src/internal/prepare/finalize.js"
import * as MlflowSink from "../../src/internal/sinks/mlflow.js"
import { emptyUpdates, type TraceUpdates } from "../../src/internal/tracing/assembler.js"
import type { Trace } from "../../src/Trace.js"
import { completedTrace } from "../support/completedTrace.js"
import { spanData } from "../support/spanData.js"
import { experimentIdByName, mlflowUrl, pyAttributes, python, pythonGetTraces, uniqueName } from "./helpers.js"

const usage = { input_tokens: 11, output_tokens: 4, total_tokens: 15 }
const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "What is MLflow?" }]
const completion = { choices: [{ message: { role: "assistant", content: "A platform for ML." } }] }

/** A chat agent in a session, for a user, with a tag: everything the server derives from spans. */
const agent = (extra: Mlflow.TraceUpdate = {}) =>
  Effect.gen(function*() {
    yield* Mlflow.updateCurrentTrace({ sessionId: "session-7", user: "ada", tags: { team: "search" }, ...extra })
    yield* Effect.gen(function*() {
      yield* Mlflow.setAttribute("mlflow.chat.tokenUsage", usage)
      return completion
    }).pipe(Mlflow.span("generate", { spanType: "CHAT_MODEL", inputs: { messages } }))
    return completion
  }).pipe(Mlflow.span("agent", { spanType: "AGENT", inputs: { messages } }))

// what differs by construction between two runs: ids, times, where the trace's artifacts go
const comparable = (trace: any) => ({
  state: trace.info.state,
  request_preview: trace.info.request_preview,
  response_preview: trace.info.response_preview,
  tags: Object.fromEntries(Object.entries(trace.info.tags).filter(([key]) => key !== "mlflow.artifactLocation")),
  session: trace.info.trace_metadata["mlflow.trace.session"],
  user: trace.info.trace_metadata["mlflow.trace.user"],
  tokenUsage: JSON.parse(trace.info.trace_metadata["mlflow.trace.tokenUsage"]),
  spans: trace.data.spans.map((span: any) => span.name).sort()
})

const storeOne = (program: Effect.Effect<unknown>, traceInfo: MlflowConfig.TraceInfoDelivery) =>
  Effect.gen(function*() {
    const url = mlflowUrl()
    const experimentName = uniqueName(`info-${traceInfo}`)
    const { stats, traceId } = yield* Effect.gen(function*() {
      yield* program
      const traceId = Option.getOrThrow(yield* Mlflow.lastTraceId)
      yield* Mlflow.flush("60 seconds")
      return { traceId, stats: yield* Effect.flatMap(MlflowTracing.MlflowTracing, (tracing) => tracing.stats) }
    }).pipe(Effect.provide(MlflowTracing.layer({ trackingUri: url, experimentName, traceInfo }).pipe(Layer.orDie)))
    const [trace] = yield* pythonGetTraces(url, [traceId])
    return { trace, stats, experimentName }
  })

describe("trace info from the spans alone (MLflow 3.18 builds the record from /v1/traces)", () => {
  it.live("a routine trace stored from its spans reads back as with StartTraceV3, less the producer's metadata", () =>
    Effect.gen(function*() {
      const full = yield* storeOne(agent(), "always")
      const abridged = yield* storeOne(agent(), "whenNeeded")
      expect(comparable(abridged.trace)).toEqual(comparable(full.trace))
      expect(comparable(abridged.trace).tags["mlflow.traceName"]).toBe("agent")
      expect(comparable(abridged.trace).tags.team).toBe("search")
      expect(comparable(abridged.trace).request_preview).toBe("What is MLflow?")

      // exactly what the server cannot derive is missing, nothing else
      const keys = (trace: any) => new Set(Object.keys(trace.info.trace_metadata))
      const missing = [...keys(full.trace)].filter((key) => !keys(abridged.trace).has(key)).sort()
      expect(missing.filter((key) => !key.startsWith("mlflow.source.git."))).toEqual([
        "mlflow.source.name",
        "mlflow.source.type",
        "mlflow.trace.infoFinalized", // the server's own mark that StartTraceV3 wrote the info
        "mlflow.trace.sizeBytes",
        "mlflow.trace.sizeStats",
        "mlflow.traceInputs",
        "mlflow.traceOutputs",
        "mlflow.trace_schema.version",
        "mlflow.user"
      ].filter((key) => keys(full.trace).has(key)))
      expect(full.trace.info.trace_metadata["mlflow.source.name"]).toBeDefined()
      expect(full.stats).toMatchObject({ exported: 1, abridged: 0 })
      expect(abridged.stats).toMatchObject({ exported: 1, abridged: 1 })
    }))

  it.live("search finds abridged traces by session, user, tag and name, as MLflow's client runs it", () =>
    Effect.gen(function*() {
      const { experimentName } = yield* storeOne(agent(), "whenNeeded")
      const experimentId = yield* experimentIdByName(mlflowUrl(), experimentName)
      const found = yield* python(
        `
import json, mlflow
filters = ["metadata.\`mlflow.trace.session\` = 'session-7'", "metadata.\`mlflow.trace.user\` = 'ada'",
           "tags.team = 'search'", "trace.name = 'agent'", "trace.status = 'OK'"]
print(json.dumps([len(mlflow.search_traces(locations=["${experimentId}"], filter_string=f, return_type="list"))
                  for f in filters]))
`,
        { MLFLOW_TRACKING_URI: mlflowUrl() }
      )
      expect(found).toEqual([1, 1, 1, 1, 1])
    }))

  it.live("a trace carrying what spans cannot (metadata, a client request id, a preview) keeps it", () =>
    Effect.gen(function*() {
      const { stats, trace } = yield* storeOne(
        agent({ metadata: { deployment: "canary" }, clientRequestId: "req-42", requestPreview: "asked about MLflow" }),
        "whenNeeded"
      )
      expect(trace.info.trace_metadata.deployment).toBe("canary")
      expect(trace.info.client_request_id).toBe("req-42")
      expect(trace.info.request_preview).toBe("asked about MLflow")
      expect(trace.info.trace_metadata["mlflow.source.name"]).toBeDefined()
      expect(stats).toMatchObject({ exported: 1, abridged: 0 })
    }))

  it.live(
    "auto: complete while the exporter keeps up, abridged under a backlog, every trace stored and counted",
    () =>
      Effect.gen(function*() {
        const url = mlflowUrl()
        const experimentName = uniqueName("info-auto")
        const burst = 300
        const stats = yield* Effect.gen(function*() {
          // one trace alone: the exporter keeps up
          yield* agent()
          yield* Mlflow.flush("60 seconds")
          // a burst produced faster than the server stores traces with StartTraceV3
          for (let i = 0; i < burst; i++) yield* agent()
          yield* Mlflow.flush("120 seconds")
          return yield* Effect.flatMap(MlflowTracing.MlflowTracing, (tracing) => tracing.stats)
        }).pipe(
          // two workers: the burst outruns them at once
          Effect.provide(MlflowTracing.layer({ trackingUri: url, experimentName, workers: 2 }).pipe(Layer.orDie))
        )
        expect(stats.exported).toBe(burst + 1)
        expect(stats.failed + stats.dropped.queueFull + stats.dropped.shutdown).toBe(0)
        expect(stats.abridged).toBeGreaterThan(0)
        expect(stats.abridged).toBeLessThan(burst + 1)

        const experimentId = yield* experimentIdByName(url, experimentName)
        const counted = yield* python(
          `
import json, mlflow
traces = mlflow.search_traces(locations=["${experimentId}"], return_type="list", max_results=1000)
print(json.dumps({
    "stored": len(traces),
    "complete": sum(1 for t in traces if "mlflow.source.name" in t.info.trace_metadata),
    "named": sum(1 for t in traces if t.info.tags.get("mlflow.traceName") == "agent"),
    "inSession": sum(1 for t in traces if t.info.trace_metadata.get("mlflow.trace.session") == "session-7"),
    "previewed": sum(1 for t in traces if t.info.request_preview == "What is MLflow?"),
}))
`,
          { MLFLOW_TRACKING_URI: url }
        )
        expect(counted).toEqual({
          stored: burst + 1,
          complete: burst + 1 - stats.abridged,
          named: burst + 1,
          inSession: burst + 1,
          previewed: burst + 1
        })
      }),
    180_000
  )
})

describe("token usage the server cannot add up", () => {
  it.live("does not cost the trace: stored without token usage, the value kept on its span under another key", () =>
    Effect.gen(function*() {
      const unsummable = { input_tokens: "12", output_tokens: 3 }
      for (const traceInfo of ["whenNeeded", "always"] as const) {
        const { stats, trace } = yield* storeOne(
          Effect.gen(function*() {
            yield* Mlflow.setAttribute("mlflow.chat.tokenUsage", unsummable)
            return completion
          }).pipe(Mlflow.span("generate", { spanType: "CHAT_MODEL" }), Mlflow.span("agent", { inputs: { messages } })),
          traceInfo
        )
        expect(stats).toMatchObject({ exported: 1, failed: 0 })
        expect(trace, traceInfo).not.toBeNull()
        expect(trace.info.trace_metadata?.["mlflow.trace.tokenUsage"]).toBeUndefined()
        const generate = trace.data.spans.find((span: any) => span.name === "generate")
        expect(pyAttributes(generate)).toMatchObject({ "effect_mlflow.unsummable.mlflow.chat.tokenUsage": unsummable })
        expect(pyAttributes(generate)["mlflow.chat.tokenUsage"]).toBeUndefined()
      }
    }))
})

describe("auto: a batch taken while keeping up, then the exporter falls behind", () => {
  const randomHex = (bytes: number) =>
    crypto.getRandomValues(new Uint8Array(bytes)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "")

  /** A routine agent trace (session, user, a tag) with fresh ids, as the exporter hands it over. */
  const routine = (update: (updates: TraceUpdates) => void = () => {}): Trace => {
    const traceId = randomHex(16)
    const at = BigInt(Date.now()) * 1_000_000n
    const span = (id: string, parent: string | null, attributes: Record<string, unknown>) => ({
      ...spanData(id, parent, attributes as Record<string, any>),
      traceId,
      name: parent === null ? "agent" : "generate",
      startTimeUnixNano: at,
      endTimeUnixNano: at + 5_000_000n
    })
    const updates = emptyUpdates()
    updates.metadata["mlflow.trace.session"] = "session-9"
    updates.metadata["mlflow.trace.user"] = "grace"
    updates.tags.team = "search"
    update(updates)
    const spans = [
      span("1", null, { "mlflow.spanInputs": { messages }, "mlflow.spanOutputs": completion }),
      span("2", "1", { "mlflow.chat.tokenUsage": usage })
    ]
    return finalize(
      completedTrace(spans, updates),
      { "mlflow.source.name": "agent.ts", "mlflow.source.type": "LOCAL" },
      undefined
    )
  }

  it.live("stores the rest abridged: roots sent again with tags, session and user; what spans cannot carry stays complete", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const experimentName = uniqueName("info-downgrade")
      const client = yield* MlflowClient.make({ trackingUri: url }).pipe(Effect.provide(FetchHttpClient.layer))
      const calls = { startTrace: 0, logSpans: 0 }
      const counted: MlflowClient.Service = {
        ...client,
        startTrace: (info) => Effect.suspend(() => (calls.startTrace++, client.startTrace(info))),
        logSpans: (id, spans) => Effect.suspend(() => (calls.logSpans++, client.logSpans(id, spans)))
      }
      const sink = yield* MlflowSink.make(counted, { _tag: "Name", name: experimentName }, "auto")
      const traces = [routine(), routine(), routine((u) => void (u.metadata.deployment = "canary"))]
      const outcome = yield* sink.export(traces, { backlogged: false, behindNow: () => true })
      // one spans request, one for the roots again, one StartTraceV3 for the trace with metadata
      expect(calls).toEqual({ logSpans: 2, startTrace: 1 })
      expect(outcome).toMatchObject({ rejected: [], abridged: 2 })
      expect(sink.partiallyStored!(traces)).toBe(0)

      const stored = yield* pythonGetTraces(url, traces.map((trace) => trace.info.traceId))
      for (const trace of stored) {
        expect(trace.info.tags).toMatchObject({ "mlflow.traceName": "agent", team: "search" })
        expect(trace.info.trace_metadata).toMatchObject({
          "mlflow.trace.session": "session-9",
          "mlflow.trace.user": "grace"
        })
        expect(JSON.parse(trace.info.trace_metadata["mlflow.trace.tokenUsage"])).toEqual(usage)
        expect(trace.info.request_preview).toBe("What is MLflow?")
        expect(trace.data.spans).toHaveLength(2)
      }
      expect(stored.map((trace) => trace.info.trace_metadata["mlflow.source.name"])).toEqual([
        undefined,
        undefined,
        "agent.ts"
      ])
      expect(stored[2].info.trace_metadata.deployment).toBe("canary")
    }))

  it.live("keeps StartTraceV3 for every trace while the exporter keeps up", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const client = yield* MlflowClient.make({ trackingUri: url }).pipe(Effect.provide(FetchHttpClient.layer))
      const sink = yield* MlflowSink.make(client, { _tag: "Name", name: uniqueName("info-keeping-up") }, "auto")
      const traces = [routine(), routine()]
      const outcome = yield* sink.export(traces, { backlogged: false, behindNow: () => false })
      expect(outcome).toMatchObject({ rejected: [], abridged: 0 })
      const stored = yield* pythonGetTraces(url, traces.map((trace) => trace.info.traceId))
      expect(stored.map((trace) => trace.info.trace_metadata["mlflow.source.name"])).toEqual(["agent.ts", "agent.ts"])
    }))
})
