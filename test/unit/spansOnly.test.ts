import { assert, describe, it } from "@effect/vitest"
import { finalize } from "../../src/internal/prepare/finalize.js"
import { spansCarry, withTraceInfoOnRoot } from "../../src/internal/sinks/spansOnly.js"
import { emptyUpdates, type TraceUpdates } from "../../src/internal/tracing/assembler.js"
import type { SpanData } from "../../src/Trace.js"
import { completedTrace } from "../support/completedTrace.js"
import { spanData } from "../support/spanData.js"

const span = spanData

const environment = { "mlflow.source.name": "app.ts", "mlflow.source.type": "LOCAL", "mlflow.source.git.commit": "abc" }

const traceOf = (spans: Array<SpanData>, update: (updates: TraceUpdates) => void = () => {}) => {
  const updates = emptyUpdates()
  update(updates)
  return finalize(completedTrace(spans, updates), environment, "1")
}

const root = (attributes: Record<string, any> = {}) =>
  span("1", null, { "mlflow.spanInputs": { q: "hi" }, "mlflow.spanOutputs": "ok", ...attributes })

describe("storing a trace from its spans alone", () => {
  it("is enough for a routine trace: the producer's metadata, session, user, tags and token usage", () => {
    const trace = traceOf([root(), span("2", "1", { "mlflow.chat.tokenUsage": { input_tokens: 1 } })], (u) => {
      u.metadata["mlflow.trace.session"] = "s-1"
      u.metadata["mlflow.trace.user"] = "ada"
      u.tags.team = "search"
      u.tags["a/b c:d"] = "plain"
    })
    assert.isTrue(spansCarry(trace))
  })

  it("is not enough for what the user set outside the spans, or what the server would not read", () => {
    const cases: Record<string, ReturnType<typeof traceOf>> = {
      metadata: traceOf([root()], (u) => u.metadata.deployment = "canary"),
      runLink: traceOf([root()], (u) => u.metadata["mlflow.sourceRun"] = "run-1"),
      clientRequestId: traceOf([root()], (u) => u.clientRequestId = "req-1"),
      requestPreview: traceOf([root()], (u) => u.requestPreview = "asked"),
      responsePreview: traceOf([root()], (u) => u.responsePreview = "answered"),
      state: traceOf([root()], (u) => u.state = "ERROR"),
      nonAsciiTag: traceOf([root()], (u) => u.tags["équipe"] = "x"),
      dotSegmentTag: traceOf([root()], (u) => u.tags["a/../b"] = "x"),
      leadingSlashTag: traceOf([root()], (u) => u.tags["/a"] = "x"),
      remoteParent: traceOf([{ ...root(), parentSpanId: "00000000000000ff" }]),
      sessionOnASpan: traceOf([root(), span("2", "1", { "session.id": "other" })]),
      userOnTheRoot: traceOf([root({ "user.id": "bob" })]),
      conversationId: traceOf([root(), span("2", "1", { "gen_ai.conversation.id": "c" })]),
      tagAttribute: traceOf([root({ "mlflow.traceTag.x": "y" })])
    }
    for (const [name, trace] of Object.entries(cases)) assert.isFalse(spansCarry(trace), name)
  })

  it("a preview set by hand to what the server would derive anyway is carried", () => {
    assert.isTrue(spansCarry(traceOf([root()], (u) => u.requestPreview = "{\"q\": \"hi\"}")))
    assert.isFalse(spansCarry(traceOf([span("1", null)], (u) => u.requestPreview = "no inputs to derive it from")))
  })

  it("puts tags, name, session and user on the root, root first, and leaves the other spans as they are", () => {
    const child = span("2", "1")
    const finalized = traceOf([root(), child], (u) => {
      u.metadata["mlflow.trace.session"] = "s-1"
      u.metadata["mlflow.trace.user"] = "ada"
      u.tags.team = "search"
    })
    const trace = { ...finalized, spans: [child, finalized.spans[0]] }
    const spans = withTraceInfoOnRoot(trace)
    assert.strictEqual(spans[0].parentSpanId, null)
    assert.strictEqual(spans[1], child)
    assert.deepInclude(spans[0].attributes, {
      "mlflow.traceTag.team": "search",
      "mlflow.traceTag.mlflow.traceName": "span-1",
      "session.id": "s-1",
      "user.id": "ada",
      "mlflow.spanInputs": { q: "hi" }
    })
    assert.notProperty(trace.spans.find((s) => s.parentSpanId === null)!.attributes, "session.id")
  })
})
