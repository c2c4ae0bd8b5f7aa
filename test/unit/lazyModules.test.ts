import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import { lazyModule } from "../../src/internal/common/lazy.js"
import { SpanAttributeKey, type Trace } from "../../src/Trace.js"

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

describe("modules loaded on first use", () => {
  it.effect("load once, and answer synchronously once loaded", () =>
    Effect.gen(function*() {
      let loads = 0
      const load = lazyModule(() => Promise.resolve({ loaded: ++loads }))
      const [first, second] = yield* Effect.all([load, load], { concurrency: "unbounded" })
      assert.strictEqual(first, second)
      assert.strictEqual(loads, 1)
      assert.strictEqual(Effect.runSync(load), first)
    }))

  it.live("attachment extraction, loaded by the first trace with inline content, loses and changes nothing", () =>
    Effect.gen(function*() {
      const exported: Array<Trace> = []
      const sink = {
        export: (traces: ReadonlyArray<Trace>) => Effect.sync(() => void exported.push(...traces)),
        exportLateSpans: () => Effect.void,
        storesAttachments: true
      }
      const image = `data:image/png;base64,${PNG}`
      yield* Effect.gen(function*() {
        yield* Effect.void.pipe(Mlflow.span("plain", { inputs: { question: "what is MLflow?" } }))
        yield* Effect.void.pipe(Mlflow.span("with an image", { inputs: { question: "what is this?", image } }))
        yield* Effect.void.pipe(Mlflow.span("plain again", { inputs: { question: "and this?" } }))
      }).pipe(Effect.provide(MlflowTracing.layerSink(sink)))

      // the workers export in parallel: the trace that waited for the module may come out after the next one
      const byName = new Map(exported.map((trace) => [trace.spans[0].name, trace]))
      assert.deepStrictEqual([...byName.keys()].sort(), ["plain", "plain again", "with an image"])
      const [plain, withImage, plainAgain] = [
        byName.get("plain")!,
        byName.get("with an image")!,
        byName.get("plain again")!
      ]
      assert.isUndefined(plain.attachments)
      assert.isUndefined(plainAgain.attachments)
      assert.deepStrictEqual(plain.spans[0].attributes[SpanAttributeKey.INPUTS], { question: "what is MLflow?" })
      assert.strictEqual(withImage.attachments?.length, 1)
      const [attachment] = withImage.attachments!
      assert.strictEqual(attachment.contentType, "image/png")
      assert.strictEqual(attachment.source, image)
      const inputs = withImage.spans[0].attributes[SpanAttributeKey.INPUTS] as { readonly image: string }
      assert.strictEqual(inputs.image, attachment.ref)
      assert.isTrue(attachment.ref.startsWith("mlflow-attachment://"))
    }))
})
