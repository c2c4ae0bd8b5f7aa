import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { Mlflow, Redaction } from "../../src/index.js"
import { applyBudgets } from "../../src/internal/prepare/budget.js"
import * as TestTracing from "../../src/testing/TestTracing.js"
import type { SpanData } from "../../src/Trace.js"

const span = (attributes: Record<string, any>, events: SpanData["events"] = []): SpanData => ({
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
  parentSpanId: null,
  name: "s",
  kind: "internal",
  startTimeUnixNano: 1n,
  endTimeUnixNano: 2n,
  status: { code: "OK", message: "" },
  attributes: { "mlflow.traceRequestId": "tr-x", "mlflow.spanType": "LLM", ...attributes },
  events
})

describe("redaction", () => {
  it("redacts secret-named keys anywhere, but not look-alikes such as token counts", () => {
    const { span: out } = Redaction.process(
      span({
        "mlflow.spanInputs": {
          headers: { Authorization: "Bearer abc", "x-api-key": "k" },
          password: "p",
          max_tokens: 5
        },
        "mlflow.chat.tokenUsage": { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
        "db.password": "hunter2",
        "client_secret": { nested: "whole value goes" }
      }, [{ name: "log", timeUnixNano: 1n, attributes: { access_token: "t", note: "fine" } }]),
      [Redaction.redactKeys()]
    )
    assert.deepStrictEqual(out.attributes["mlflow.spanInputs"], {
      headers: { Authorization: "<redacted>", "x-api-key": "<redacted>" },
      password: "<redacted>",
      max_tokens: 5
    })
    assert.deepStrictEqual(out.attributes["mlflow.chat.tokenUsage"], {
      input_tokens: 1,
      output_tokens: 2,
      total_tokens: 3
    })
    assert.strictEqual(out.attributes["db.password"], "<redacted>")
    assert.strictEqual(out.attributes.client_secret, "<redacted>")
    assert.deepStrictEqual(out.events[0].attributes, { access_token: "<redacted>", note: "fine" })
    assert.strictEqual(out.attributes["mlflow.traceRequestId"], "tr-x")
  })

  it("returns the span itself when nothing changed, and notices a change to attributes alone", () => {
    const clean = span({ "mlflow.spanInputs": { q: 1 }, note: "fine" })
    assert.strictEqual(Redaction.process(clean, [Redaction.redactKeys()]).span, clean)
    const secret = span({ "mlflow.spanInputs": { q: 1 }, "http.authorization": "Bearer x" })
    const out = Redaction.process(secret, [Redaction.redactKeys()]).span
    assert.notStrictEqual(out, secret)
    assert.strictEqual(out.attributes["http.authorization"], "<redacted>")
    const removed = Redaction.process(secret, [(view) => void delete view.attributes["http.authorization"]]).span
    assert.isFalse("http.authorization" in removed.attributes)
  })

  it("masks cards (Luhn-checked), national ids, e-mails and phone numbers", () => {
    const text = "card 4111 1111 1111 1111, not-a-card 4111 1111 1111 1112, ssn 123-45-6789, " +
      "mail jane.doe@example.com, call +1 (415) 555-0100, order 2024-01-02"
    const { span: out } = Redaction.process(span({ "mlflow.spanOutputs": { text } }), [Redaction.maskPatterns()])
    assert.strictEqual(
      (out.attributes["mlflow.spanOutputs"] as any).text,
      "card <CARD>, not-a-card 4111 1111 1111 1112, ssn <NATIONAL_ID>, mail <EMAIL>, call <PHONE>, order 2024-01-02"
    )
  })

  it("drops content but keeps usage, globally or per span type", () => {
    const input = span({
      "mlflow.spanInputs": "prompt",
      "mlflow.spanOutputs": "answer",
      "mlflow.chat.tokenUsage": { input_tokens: 1 }
    })
    const dropped = Redaction.process(input, [Redaction.dropContent()]).span
    assert.deepStrictEqual(Object.keys(dropped.attributes).sort(), [
      "mlflow.chat.tokenUsage",
      "mlflow.spanType",
      "mlflow.traceRequestId"
    ])
    const kept = Redaction.process(input, [Redaction.dropContent({ spanTypes: ["RETRIEVER"] })]).span
    assert.strictEqual(kept.attributes["mlflow.spanInputs"], "prompt")
  })

  it.effect("masks the span's content when a processor fails, and still exports the trace", () =>
    Effect.gen(function*() {
      const errors: Array<string> = []
      yield* Effect.gen(function*() {
        yield* Effect.succeed("secret answer").pipe(Mlflow.span("llm", { inputs: { prompt: "secret prompt" } }))
        yield* Effect.succeed("ok").pipe(Mlflow.span("other", { inputs: "fine" }))
        const traces = yield* TestTracing.traces
        const byName = Object.fromEntries(traces.map((t) => [t.spans[0].name, t.spans[0]]))
        assert.strictEqual(byName.llm.attributes["mlflow.spanInputs"], "<redacted: a span processor failed>")
        assert.strictEqual(byName.llm.attributes["mlflow.spanOutputs"], "<redacted: a span processor failed>")
        assert.strictEqual(byName.other.attributes["mlflow.spanInputs"], "fine")
        assert.notInclude(JSON.stringify(traces, (_, v) => typeof v === "bigint" ? String(v) : v), "secret prompt")
        assert.notInclude(traces.find((t) => t.spans[0].name === "llm")!.info.requestPreview ?? "", "secret")
      }).pipe(
        Effect.provide(TestTracing.layer({
          spanProcessors: [(view) => {
            if (view.name === "llm") throw new Error("processor bug")
          }]
        })),
        Effect.provide(
          Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void errors.push(String(message))))
        )
      )
      assert.strictEqual(errors.filter((m) => m.includes("processor bug")).length, 1)
    }))

  it.effect("redacts secrets by default in exported traces, previews included", () =>
    Effect.gen(function*() {
      yield* Effect.succeed(1).pipe(Mlflow.span("call", { inputs: { api_key: "sk-live-1", q: "hi" } }))
      const [trace] = yield* TestTracing.traces
      assert.deepStrictEqual(trace.spans[0].attributes["mlflow.spanInputs"], { api_key: "<redacted>", q: "hi" })
      assert.notInclude(JSON.stringify(trace.info), "sk-live-1")
    }).pipe(Effect.provide(TestTracing.layer())))
})

describe("payload budgets", () => {
  const big = (n: number) => "y".repeat(n)
  it("cuts oversized attributes with markers and says so on the span and the trace", () => {
    const { spans, truncation } = applyBudgets(
      [span({ "mlflow.spanInputs": big(5000), "mlflow.spanOutputs": "small" })],
      "b7ad6b7169203331",
      { maxAttributeBytes: 1000, maxSpanBytes: 1_000_000, maxTraceBytes: 1_000_000, maxSpansPerTrace: 10 }
    )
    const inputs = spans[0].attributes["mlflow.spanInputs"] as string
    assert.isAtMost(Buffer.byteLength(JSON.stringify(inputs)), 1000)
    assert.match(inputs, /\.\.\.\[truncated \d+ of 5002 bytes\]$/)
    assert.strictEqual(spans[0].attributes["mlflow.spanOutputs"], "small")
    const cut = spans[0].attributes["effect_mlflow.truncated"] as Record<string, number>
    assert.deepStrictEqual(Object.keys(cut), ["mlflow.spanInputs"])
    assert.strictEqual(cut["mlflow.spanInputs"], truncation?.bytesRemoved)
    assert.strictEqual(truncation?.attributes, 1)
    assert.isAbove(truncation!.bytesRemoved, 3000)
  })

  it("keeps spans and traces within their budgets, and caps spans per trace keeping the root", () => {
    const spans = Array.from({ length: 20 }, (_, i) => ({
      ...span({ "mlflow.spanInputs": big(3000), "mlflow.spanOutputs": big(3000) }),
      spanId: i.toString(16).padStart(16, "0"),
      parentSpanId: i === 0 ? null : "0".repeat(16),
      startTimeUnixNano: BigInt(100 - i)
    }))
    const budgets = { maxAttributeBytes: 100_000, maxSpanBytes: 4000, maxTraceBytes: 30_000, maxSpansPerTrace: 10 }
    const result = applyBudgets(spans, "0".repeat(16), budgets)
    assert.strictEqual(result.spans.length, 10)
    assert.strictEqual(result.spans[0].spanId, "0".repeat(16), "the root is kept")
    assert.strictEqual(result.truncation?.spansDropped, 10)
    let total = 0
    for (const s of result.spans) {
      const size = ["mlflow.spanInputs", "mlflow.spanOutputs"].reduce(
        (n, k) => n + Buffer.byteLength(JSON.stringify(s.attributes[k])),
        0
      )
      assert.isAtMost(size, 4000 + 64)
      total += size
    }
    assert.isAtMost(total, 30_000 + 1000)
  })

  it("leaves traces within budget untouched", () => {
    const spans = [span({ "mlflow.spanInputs": "a" })]
    const result = applyBudgets(spans, "b7ad6b7169203331", {
      maxAttributeBytes: 100,
      maxSpanBytes: 1000,
      maxTraceBytes: 10_000,
      maxSpansPerTrace: 5
    })
    assert.strictEqual(result.spans, spans)
    assert.isUndefined(result.truncation)
  })

  it.effect("records the truncation in the trace metadata", () =>
    Effect.gen(function*() {
      yield* Effect.succeed(1).pipe(Mlflow.span("big", { inputs: big(10_000) }))
      const [trace] = yield* TestTracing.traces
      const truncation = JSON.parse(trace.info.metadata["effect_mlflow.truncation"])
      assert.strictEqual(truncation.attributes_truncated, 1)
      assert.isAbove(truncation.bytes_removed, 8000)
      assert.isAtMost(trace.info.requestPreview!.length, 1000)
      // the size stats of a truncated trace are measured on first read too, and measure what was kept
      const sizeStats = Object.getOwnPropertyDescriptor(trace.info.metadata, "mlflow.trace.sizeStats")
      assert.isFunction(sizeStats?.get)
      assert.isBelow(Number(trace.info.metadata["mlflow.trace.sizeBytes"]), 8000)
    }).pipe(Effect.provide(TestTracing.layer({ maxAttributeBytes: 2000 }))))
})
