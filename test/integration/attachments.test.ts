import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schedule } from "effect"
import { createHash } from "node:crypto"
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

  it.scopedLive(
    "2,000 inline images in one trace: all stored as attachments, and traces made meanwhile are not held up",
    () =>
      Effect.gen(function*() {
        const images = 2000
        const isUpload = (method: string, url: string) => method === "PUT" && url.includes("/attachments/")
        let uploaded = 0
        // each upload answered 50 ms late: the big trace's uploads take half a minute at least
        const proxy = yield* scopedProxy(
          mlflowUrl(),
          () => undefined,
          ({ method, url }) => {
            if (isUpload(method, url)) uploaded++
          },
          ({ method, url }) => isUpload(method, url) ? 50 : 0
        )
        const content = (i: number) => Buffer.from(`image number ${i}`).toString("base64")
        const big = Effect.void.pipe(Mlflow.span("look", {
          spanType: "CHAT_MODEL",
          inputs: {
            messages: [{
              role: "user",
              content: Array.from({ length: images }, (_, i) => ({
                type: "image_url",
                image_url: { url: `data:image/png;base64,${content(i)}` }
              }))
            }]
          }
        }))
        const small = (i: number) => Effect.succeed(i).pipe(Mlflow.span(`small-${i}`, { inputs: { i } }))
        const { bigId, smallIds, uploadsWhenSmallExported } = yield* Effect.gen(function*() {
          const tracing = yield* MlflowTracing.MlflowTracing
          yield* big
          const bigId = Option.getOrThrow(yield* Mlflow.lastTraceId)
          const smallIds: Array<string> = []
          for (let i = 0; i < 20; i++) {
            yield* small(i)
            smallIds.push(Option.getOrThrow(yield* Mlflow.lastTraceId))
            yield* Effect.sleep("20 millis")
          }
          // the small traces are stored while the big one's uploads go on
          yield* tracing.stats.pipe(
            Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (stats) => stats.exported >= 20 }),
            Effect.timeout("180 seconds")
          )
          const uploadsWhenSmallExported = uploaded
          yield* tracing.flush("300 seconds")
          const stats = yield* tracing.stats
          expect(stats).toMatchObject({ exported: 21, failed: 0 })
          return { bigId, smallIds, uploadsWhenSmallExported }
        }).pipe(Effect.provide(MlflowTracing.layer({
          trackingUri: proxy.url,
          experimentName: uniqueName("attachments-many")
        })))
        expect(uploadsWhenSmallExported).toBeLessThan(images)
        expect(uploaded).toBe(images)

        const found = yield* python(`
import base64, json, re
import mlflow
from mlflow.tracing.client import TracingClient
from mlflow.tracing.attachments import Attachment
mlflow.set_tracking_uri(${JSON.stringify(mlflowUrl())})
small = [mlflow.get_trace(i) for i in ${JSON.stringify(smallIds)}]
trace = mlflow.get_trace(${JSON.stringify(bigId)})
repo = TracingClient()._get_artifact_repo_for_trace(trace.info)
root = trace.to_dict()["data"]["spans"][0]
refs = re.findall(r"mlflow-attachment://[^\\s\\"'\\\\]+", json.dumps(root["attributes"]))
contents = [base64.b64encode(repo.download_trace_attachment(Attachment.parse_ref(ref)["attachment_id"])).decode() for ref in refs]
print(json.dumps({"small": [t is not None and t.info.state == "OK" for t in small], "contents": contents}))
`)
        expect(found.small).toEqual(Array(20).fill(true))
        expect(found.contents).toEqual(Array.from({ length: images }, (_, i) => content(i)))
      }),
    600_000
  )

  it.scopedLive(
    "many traces with large attachments at once: each stored whole, its content exact",
    () =>
      Effect.gen(function*() {
        const traces = 12
        const megabyte = (trace: number, image: number) =>
          Buffer.alloc(1024 * 1024, `trace ${trace} image ${image} `).toString("base64")
        const one = (trace: number) =>
          Effect.void.pipe(
            Mlflow.span(`large-${trace}`, {
              spanType: "CHAT_MODEL",
              inputs: {
                messages: [{
                  role: "user",
                  content: [0, 1].map((image) => ({
                    type: "image_url",
                    image_url: { url: `data:image/png;base64,${megabyte(trace, image)}` }
                  }))
                }]
              }
            }),
            Effect.zipRight(Mlflow.lastTraceId),
            Effect.map(Option.getOrThrow)
          )
        const ids = yield* Effect.gen(function*() {
          const tracing = yield* MlflowTracing.MlflowTracing
          const ids = yield* Effect.forEach(Array.from({ length: traces }, (_, i) => i), one, {
            concurrency: "unbounded"
          })
          yield* tracing.flush("300 seconds")
          expect(yield* tracing.stats).toMatchObject({ exported: traces, failed: 0 })
          return ids
        }).pipe(Effect.provide(MlflowTracing.layer({
          trackingUri: mlflowUrl(),
          experimentName: uniqueName("attachments-large")
        })))

        const found = yield* python(`
import hashlib, json, re
import mlflow
from mlflow.tracing.client import TracingClient
from mlflow.tracing.attachments import Attachment
mlflow.set_tracking_uri(${JSON.stringify(mlflowUrl())})
out = {}
for trace_id in ${JSON.stringify(ids)}:
    trace = mlflow.get_trace(trace_id)
    repo = TracingClient()._get_artifact_repo_for_trace(trace.info)
    root = trace.to_dict()["data"]["spans"][0]
    refs = re.findall(r"mlflow-attachment://[^\\s\\"'\\\\]+", json.dumps(root["attributes"]))
    out[trace_id] = [root["name"], [hashlib.sha256(repo.download_trace_attachment(Attachment.parse_ref(ref)["attachment_id"])).hexdigest() for ref in refs]]
print(json.dumps(out))
`)
        const sha = (text: string) => createHash("sha256").update(Buffer.from(text, "base64")).digest("hex")
        ids.forEach((id, trace) => {
          expect(found[id]).toEqual([`large-${trace}`, [sha(megabyte(trace, 0)), sha(megabyte(trace, 1))]])
        })
      }),
    600_000
  )
})
