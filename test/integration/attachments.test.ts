import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import type { MlflowConfig } from "../../src/index.js"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import { scopedProxy } from "../support/proxy.js"
import { mlflowUrl, ownServer, pyAttributes, python, runTraced, uniqueName } from "./helpers.js"

/** a 1x1 PNG, 70 bytes */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
const WAV = Buffer.from("RIFF-not-really-a-wav").toString("base64")

const inputs = {
  messages: [{
    role: "user",
    content: [{ type: "text", text: "What is in this picture?" }, {
      type: "image_url",
      image_url: { url: `data:image/png;base64,${PNG}` }
    }]
  }]
}
const outputs = { role: "assistant", content: "a dot", audio: { data: WAV, transcript: "a dot" } }

const program = Effect.succeed(outputs).pipe(Mlflow.span("describe", { spanType: "CHAT_MODEL", inputs }))

/**
 * The root span's inputs and outputs as MLflow's Python client reads the trace, each attachment it
 * refers to parsed with MLflow's `Attachment.parse_ref` and downloaded from the trace's artifacts as
 * MLflow's client does; and the request preview.
 */
const readBack = (url: string, traceId: string) =>
  python(`
import base64, json, re
import mlflow
from mlflow.tracing.attachments import Attachment
from mlflow.tracing.client import TracingClient
mlflow.set_tracking_uri(${JSON.stringify(url)})
trace = mlflow.get_trace(${JSON.stringify(traceId)})
client = TracingClient()
repo = client._get_artifact_repo_for_trace(trace.info)
root = trace.to_dict()["data"]["spans"][0]
attachments = []
for ref in sorted(set(re.findall(r"mlflow-attachment://[^\\s\\"'\\\\]+", json.dumps(root["attributes"])))):
    parsed = Attachment.parse_ref(ref)
    content = repo.download_trace_attachment(parsed["attachment_id"])
    attachments.append({**parsed, "content": base64.b64encode(content).decode()})
print(json.dumps({"root": root, "attachments": attachments, "requestPreview": trace.info.request_preview}))
`)

/** An attachment as the MLflow UI fetches it: the server's own route. */
const uiFetch = (url: string, traceId: string, attachmentId: string) =>
  Effect.promise(async () => {
    const response = await fetch(
      `${url}/ajax-api/2.0/mlflow/get-trace-artifact?request_id=${traceId}&path=${attachmentId}`
    )
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()).toString("base64") }
  })

const stored = (url: string, traceInfo: MlflowConfig.TraceInfoDelivery) =>
  Effect.gen(function*() {
    const { traceId } = yield* runTraced(program, {
      trackingUri: url,
      experimentName: uniqueName(`attachments-${traceInfo}`),
      traceInfo
    })
    return { traceId, ...(yield* readBack(url, traceId)) }
  })

describe("inline images and audio, stored as MLflow 3.18 stores trace attachments", () => {
  for (const traceInfo of ["always", "whenNeeded"] as const) {
    it.live(`the spans refer to attachments that MLflow's client and UI read back (traceInfo ${traceInfo})`, () =>
      Effect.gen(function*() {
        const url = mlflowUrl()
        const { attachments, requestPreview, root, traceId } = yield* stored(url, traceInfo)
        const attributes = pyAttributes(root)
        const image = attachments.find((a: any) => a.content_type === "image/png")
        const audio = attachments.find((a: any) => a.content_type === "audio/wav")
        expect(attachments).toHaveLength(2)
        expect(image).toMatchObject({ trace_id: traceId, size: 70, content: PNG })
        expect(audio).toMatchObject({ trace_id: traceId, content: WAV })
        const ref = (a: any) =>
          `mlflow-attachment://${a.attachment_id}?content_type=${
            encodeURIComponent(a.content_type)
          }&trace_id=${traceId}&size=${a.size}`
        expect((attributes["mlflow.spanInputs"] as any).messages[0].content[1].image_url.url).toBe(ref(image))
        expect((attributes["mlflow.spanOutputs"] as any).audio).toEqual({ data: ref(audio), transcript: "a dot" })
        expect(JSON.stringify(root)).not.toContain(PNG)
        expect(requestPreview).not.toContain(PNG)
        expect(yield* uiFetch(url, traceId, image.attachment_id)).toEqual({ status: 200, body: PNG })
      }))
  }

  it.scopedLive("uploads refused for a while (503) are retried before the spans go; a refusal (403) keeps the content inline", () =>
    Effect.gen(function*() {
      let refusals = 2
      let forbidden = false
      const isUpload = (method: string, url: string) => method === "PUT" && url.includes("/attachments/")
      const proxy = yield* scopedProxy(mlflowUrl(), ({ method, url }) => {
        if (!isUpload(method, url)) return undefined
        if (forbidden) return { status: 403, body: "{\"error_code\":\"PERMISSION_DENIED\"}" }
        return refusals-- > 0 ? { status: 503, body: "busy" } : undefined
      })
      const run = (experimentName: string) =>
        Effect.gen(function*() {
          yield* program
          const tracing = yield* MlflowTracing.MlflowTracing
          yield* tracing.flush()
          return { stats: yield* tracing.stats, traceId: Option.getOrThrow(yield* Mlflow.lastTraceId) }
        }).pipe(Effect.provide(MlflowTracing.layer({
          trackingUri: proxy.url,
          experimentName,
          retryInitialDelay: "100 millis"
        })))

      const retried = yield* run(uniqueName("attachments-retried"))
      expect(retried.stats).toMatchObject({ exported: 1, failed: 0 })
      expect(retried.stats.retried).toBeGreaterThanOrEqual(1)
      expect(proxy.count("POST /v1/traces")).toBe(1)
      const { attachments } = yield* readBack(mlflowUrl(), retried.traceId)
      expect(attachments.map((a: any) => a.content).sort()).toEqual([PNG, WAV].sort())

      forbidden = true
      const refused = yield* run(uniqueName("attachments-forbidden"))
      expect(refused.stats).toMatchObject({ exported: 1, failed: 0 })
      const inline = yield* readBack(mlflowUrl(), refused.traceId)
      expect(inline.attachments).toEqual([])
      expect((pyAttributes(inline.root)["mlflow.spanOutputs"] as any).audio.data).toBe(WAV)
    }))

  it.live("a server whose artifacts the client cannot write: the content stays inline, nothing lost", () =>
    Effect.gen(function*() {
      const server = yield* ownServer({ serveArtifacts: false })
      const { attachments, root } = yield* stored(server.url, "always")
      const attributes = pyAttributes(root)
      expect(attachments).toEqual([])
      expect((attributes["mlflow.spanInputs"] as any).messages[0].content[1].image_url.url).toBe(
        `data:image/png;base64,${PNG}`
      )
      expect((attributes["mlflow.spanOutputs"] as any).audio.data).toBe(WAV)
    }).pipe(Effect.scoped))

  it.live("MLFLOW_TRACE_EXTRACT_ATTACHMENTS=false: the content stays inline", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const { traceId } = yield* runTraced(program, {
        trackingUri: url,
        experimentName: uniqueName("attachments-off"),
        extractAttachments: false
      })
      const { attachments, root } = yield* readBack(url, traceId)
      expect(attachments).toEqual([])
      expect((pyAttributes(root)["mlflow.spanOutputs"] as any).audio.data).toBe(WAV)
    }))
})
