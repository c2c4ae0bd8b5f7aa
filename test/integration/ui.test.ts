import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import { ensureChromium } from "../harness/chromium.js"
import { base64ToHex, mlflowUrl, restGetTrace, uniqueName } from "./helpers.js"

const outDir = path.resolve(import.meta.dirname, "../../test-output/ui")

interface Seen {
  readonly tree: ReadonlyArray<{ id: string; name: string; errorMark: boolean; titleColor: string; metrics: string }>
  readonly detail: string
}

/** What a person sees in the MLflow UI, through headless Chromium (`test/support/uiCheck.mjs`). */
const look = (url: string, openSpanId: string, waitText: string): Promise<Seen> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        "--experimental-websocket",
        path.resolve(import.meta.dirname, "../support/uiCheck.mjs"),
        url,
        outDir,
        openSpanId,
        waitText
      ],
      { timeout: 150_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split("\n").pop()!))
    )
  })

const agent = Effect.gen(function*() {
  yield* Effect.gen(function*() {
    yield* Mlflow.setAttribute("mlflow.message.format", "openai")
    yield* Mlflow.setTokenUsage({ input_tokens: 12, output_tokens: 7 })
    // the span's success value is its outputs
    return {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-test",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi from the model" }, finish_reason: "stop" }]
    }
  }).pipe(Mlflow.span("chat-call", {
    spanType: "CHAT_MODEL",
    inputs: { messages: [{ role: "user", content: "Hello UI" }] }
  }))
  yield* Effect.race(Effect.never.pipe(Mlflow.span("interrupted-step", { spanType: "TOOL" })), Effect.sleep(10))
  yield* Effect.fail(new Error("tool exploded")).pipe(Mlflow.span("failed-step", { spanType: "TOOL" }), Effect.ignore)
  return Option.getOrThrow(yield* Mlflow.currentTraceId)
}).pipe(Mlflow.span("ui-root", { spanType: "AGENT", inputs: { question: "Hello UI" } }))

describe("the MLflow UI, in a real browser, shows our traces truthfully", () => {
  beforeAll(() => {
    ensureChromium()
    fs.mkdirSync(outDir, { recursive: true })
  }, 600_000)

  it.live(
    "span tree, error marks on failed and interrupted spans, token usage, the chat view",
    () =>
      Effect.gen(function*() {
        const experimentName = uniqueName("ui")
        const traceId = yield* agent.pipe(
          Effect.provide(
            MlflowTracing.layer({ trackingUri: mlflowUrl(), experimentName })
          )
        )
        const stored = yield* restGetTrace(mlflowUrl(), traceId)
        const spanId = (name: string) => base64ToHex(stored.spans.find((span: any) => span.name === name).span_id)!
        const experimentId = stored.trace_info.trace_location.mlflow_experiment.experiment_id
        const seen = yield* Effect.promise(() =>
          look(
            `${mlflowUrl()}/#/experiments/${experimentId}/traces?selectedEvaluationId=${traceId}`,
            spanId("chat-call"),
            "Hi from the model"
          )
        )
        const byName = Object.fromEntries(seen.tree.map((node) => [node.name, node]))
        expect(Object.keys(byName).sort()).toEqual(["chat-call", "failed-step", "interrupted-step", "ui-root"])
        expect(byName["failed-step"].errorMark).toBe(true)
        expect(byName["interrupted-step"].errorMark).toBe(true)
        expect(byName["chat-call"].errorMark).toBe(false)
        expect(byName["ui-root"].errorMark).toBe(false)
        expect(byName["interrupted-step"].titleColor).toBe(byName["failed-step"].titleColor)
        expect(byName["interrupted-step"].titleColor).not.toBe(byName["chat-call"].titleColor)
        expect(byName["chat-call"].metrics).toContain("19")
        // the chat view of the CHAT_MODEL span: the roles and messages, and its token count
        expect(seen.detail).toMatch(/User\s+Hello UI/)
        expect(seen.detail).toMatch(/Assistant\s+Hi from the model/)
        expect(seen.detail).toContain("19 tokens")
        expect(fs.existsSync(path.join(outDir, "trace-tree.png"))).toBe(true)
        expect(fs.existsSync(path.join(outDir, "chat-span.png"))).toBe(true)
      }),
    200_000
  )
})
