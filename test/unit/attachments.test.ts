import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit } from "effect"
import { Mlflow, MlflowConfig, MlflowTracing } from "../../src/index.js"
import type { Sink } from "../../src/index.js"
import { randomUuid } from "../../src/internal/common/ids.js"
import type { Json } from "../../src/internal/common/json.js"
import { extractAttachments } from "../../src/internal/format/attachments.js"
import { inlineAttachments } from "../../src/internal/format/inlineContent.js"
import type { Trace } from "../../src/Trace.js"
import { spanData } from "../support/spanData.js"

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
const inputs = { question: "what is this?", image: `data:image/png;base64,${PNG}` }

const collecting = (storesAttachments: boolean) => {
  const stored: Array<Trace> = []
  const sink: Sink.Sink = {
    export: (traces) => Effect.sync(() => void stored.push(...traces)),
    exportLateSpans: () => Effect.void,
    storesAttachments
  }
  return { sink, stored }
}

const traceInto = (sink: Sink.Sink, options: MlflowConfig.Options = {}) =>
  Effect.succeed({ b64_json: "QUJD" }).pipe(
    Mlflow.span("draw", { inputs }),
    Effect.provide(MlflowTracing.layerSink(sink, { workers: 1, ...options }))
  )

describe("trace attachments", () => {
  it.effect("a destination that stores attachments gets the content moved out, and previews without it", () =>
    Effect.gen(function*() {
      const { sink, stored } = collecting(true)
      yield* traceInto(sink)
      const [trace] = stored
      const [image, drawn] = trace.attachments!
      assert.strictEqual(trace.attachments!.length, 2)
      assert.strictEqual(image.contentType, "image/png")
      assert.strictEqual(image.size, 70)
      assert.deepStrictEqual(Array.from(drawn.content()), [65, 66, 67])
      assert.match(
        image.ref,
        new RegExp(
          `^mlflow-attachment://${image.id}\\?content_type=image%2Fpng&trace_id=${trace.info.traceId}&size=70$`
        )
      )
      assert.deepStrictEqual(trace.spans[0].attributes["mlflow.spanInputs"], { ...inputs, image: image.ref })
      assert.notInclude(trace.info.requestPreview ?? "", PNG)
      assert.notInclude(trace.info.metadata["mlflow.traceInputs"], PNG)
    }))

  it.effect("any other destination keeps the content inline", () =>
    Effect.gen(function*() {
      const { sink, stored } = collecting(false)
      yield* traceInto(sink)
      assert.isUndefined(stored[0].attachments)
      assert.deepStrictEqual(stored[0].spans[0].attributes["mlflow.spanInputs"], inputs)
    }))

  it.effect("extractAttachments: false keeps it inline everywhere", () =>
    Effect.gen(function*() {
      const { sink, stored } = collecting(true)
      yield* traceInto(sink, { extractAttachments: false })
      assert.isUndefined(stored[0].attachments)
      assert.deepStrictEqual(stored[0].spans[0].attributes["mlflow.spanInputs"], inputs)
    }))

  it.effect("content past maxAttachmentSize is replaced by a note, as MLflow does", () =>
    Effect.gen(function*() {
      const { sink, stored } = collecting(true)
      yield* traceInto(sink, { maxAttachmentSize: 10 })
      assert.deepStrictEqual(stored[0].spans[0].attributes["mlflow.spanInputs"], {
        ...inputs,
        image: "[Attachment too large: 70 bytes exceeds 10 bytes limit]"
      })
      assert.strictEqual(stored[0].attachments!.length, 1)
    }))

  it("inlineAttachments puts back exactly what extraction took out", () => {
    const value: Json = {
      messages: [{ content: [{ type: "image", source: { type: "base64", media_type: "image/gif", data: "R0lG" } }] }],
      other: inputs
    }
    const spans = [spanData("a", null, { "mlflow.spanInputs": value, "mlflow.spanOutputs": `data:a/b;base64,QQ==` })]
    let n = 0
    const extracted = extractAttachments(spans, "tr-1", { maxSize: undefined, newId: () => `id${n++}` })
    assert.strictEqual(extracted.attachments.length, 3)
    assert.notDeepEqual(extracted.spans, spans)
    assert.deepStrictEqual(inlineAttachments(extracted.spans, extracted.attachments), spans)
  })

  it("spans without inline content are passed through as they are", () => {
    const spans = [spanData("a", null, { "mlflow.spanInputs": { q: "data: not base64" }, "mlflow.spanOutputs": 1 })]
    const extracted = extractAttachments(spans, "tr-1", { maxSize: undefined, newId: () => "x" })
    assert.strictEqual(extracted.spans, spans)
    assert.deepStrictEqual(extracted.attachments, [])
  })

  it.effect("MLFLOW_TRACE_EXTRACT_ATTACHMENTS and MLFLOW_TRACE_MAX_ATTACHMENT_SIZE are read; a bad size is a typed error", () =>
    Effect.gen(function*() {
      const read = (env: Record<string, string>) =>
        Effect.flatMap(MlflowConfig.fromEnv, MlflowConfig.make).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
        )
      const defaults = yield* read({})
      assert.strictEqual(defaults.extractAttachments, true)
      assert.isUndefined(defaults.maxAttachmentSize)
      const set = yield* read({ MLFLOW_TRACE_EXTRACT_ATTACHMENTS: "false", MLFLOW_TRACE_MAX_ATTACHMENT_SIZE: "2048" })
      assert.strictEqual(set.extractAttachments, false)
      assert.strictEqual(set.maxAttachmentSize, 2048)
      assert.isUndefined((yield* read({ MLFLOW_TRACE_MAX_ATTACHMENT_SIZE: "0" })).maxAttachmentSize)
      const bad = yield* Effect.exit(read({ MLFLOW_TRACE_MAX_ATTACHMENT_SIZE: "big" }))
      assert.isTrue(Exit.isFailure(bad))
      assert.include(String(Exit.isFailure(bad) && bad.cause), "MLFLOW_TRACE_MAX_ATTACHMENT_SIZE")
    }))
})

describe("randomUuid", () => {
  it("makes version 4 UUIDs from Web Crypto random bytes", () => {
    const ids = Array.from({ length: 200 }, randomUuid)
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    assert.strictEqual(new Set(ids).size, ids.length)
  })
})

describe("hostile keys", () => {
  it("a __proto__ key stays an own key of the value, beside the content moved out", () => {
    const value = JSON.parse(`{"__proto__": {"polluted": true}, "image": "data:image/png;base64,QUJD"}`) as Json
    const spans = [spanData("a", null, { "mlflow.spanInputs": value })]
    const extracted = extractAttachments(spans, "tr-1", { maxSize: undefined, newId: () => "id" })
    const inputs = extracted.spans[0].attributes["mlflow.spanInputs"] as Record<string, unknown>
    assert.deepStrictEqual(Object.keys(inputs), ["__proto__", "image"])
    assert.isUndefined(({} as Record<string, unknown>)["polluted"])
    assert.deepStrictEqual(inlineAttachments(extracted.spans, extracted.attachments), spans)
  })
})
