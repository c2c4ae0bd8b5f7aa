import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { freePort, mlflowUrl, postJson, python, pythonGetTraces, uniqueName } from "./helpers.js"

const root = path.resolve(import.meta.dirname, "../..")
const tsx = path.join(root, "node_modules/.bin/tsx")
const service = (name: string) => path.join(root, "test/support/services", name)

/** A service process of its own, with the output it wrote, stopped with the scope. */
const start = (script: string, env: Readonly<Record<string, string>>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(tsx, [service(script)], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      const output = { stdout: "", stderr: "" }
      child.stdout!.on("data", (chunk) => output.stdout += chunk)
      child.stderr!.on("data", (chunk) => output.stderr += chunk)
      return { child, output }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

const exited = (child: ChildProcess) =>
  Effect.async<number | null>((resume) => {
    if (child.exitCode !== null) return resume(Effect.succeed(child.exitCode))
    child.once("exit", (code) => resume(Effect.succeed(code)))
  })

/**
 * A proxy to the MLflow server that records what goes through it and holds every request until
 * `release` (so that what it carries arrives after everything else).
 */
const holdingProxy = (target: string) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; seen: Array<string>; release: () => void; server: http.Server }>((resume) => {
      let release!: () => void
      const released = new Promise<void>((resolve) => release = resolve)
      const seen: Array<string> = []
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", async () => {
          seen.push(`${req.method} ${req.url!.split("?")[0]}`)
          await released
          const headers: Record<string, string> = {}
          for (const [name, value] of Object.entries(req.headers)) {
            if (typeof value === "string" && name !== "host" && name !== "content-length") headers[name] = value
          }
          const body = Buffer.concat(chunks)
          const upstream = await fetch(`${target}${req.url}`, {
            method: req.method!,
            headers,
            ...(body.length > 0 ? { body: new Uint8Array(body) } : {})
          })
          res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" })
          res.end(Buffer.from(await upstream.arrayBuffer()))
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          seen,
          release: () => release(),
          server
        })))
    }),
    ({ release, server }) =>
      Effect.async<void>((resume) => {
        release()
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

// probed with a caller that does not sample: the service records nothing for it
const NOT_SAMPLED = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00" }

const listening = (url: string) =>
  Effect.promise(async () => {
    for (let i = 0; i < 300; i++) {
      const up = await fetch(url, { headers: NOT_SAMPLED }).then((r) => r.ok, () => false)
      if (up) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`${url} never answered`)
  })

describe("distributed tracing", () => {
  it.scopedLive(
    "a client service and the service it calls give one trace, with the client's trace info",
    () =>
      Effect.gen(function*() {
        const url = mlflowUrl()
        const experimentName = uniqueName("distributed")
        const { experiment_id: experimentId } = yield* postJson(`${url}/api/2.0/mlflow/experiments/create`, {
          name: experimentName
        })
        const env = { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_ID: experimentId }
        // the called service's export is held until the caller's trace is stored: its spans arrive last
        const proxy = yield* holdingProxy(url)
        const port = yield* freePort
        const answer = yield* start("answerService.ts", {
          ...env,
          MLFLOW_TRACKING_URI: proxy.url,
          PORT: String(port)
        })
        yield* listening(`http://127.0.0.1:${port}/answer`)

        const ask = yield* start("askService.ts", { ...env, ANSWER_URL: `http://127.0.0.1:${port}/answer` })
        expect(yield* exited(ask.child), ask.output.stderr).toBe(0)
        const { traceId } = JSON.parse(ask.output.stdout.trim().split("\n").at(-1)!)
        proxy.release()
        answer.child.kill("SIGTERM")
        expect(yield* exited(answer.child), answer.output.stderr).not.toBeNull()
        // the called service sent its spans, and no trace info
        expect(proxy.seen).toContain("POST /v1/traces")
        expect(proxy.seen.filter((request) => request.startsWith("POST /api/3.0/mlflow/traces"))).toEqual([])

        const [trace] = yield* pythonGetTraces(url, [traceId])
        const spans: Array<any> = trace.data.spans
        const byName = (name: string) => spans.filter((span) => span.name === name)
        expect(spans.map((span) => span.name).sort()).toEqual(
          ["ask", "http.client GET", "http.server GET", "GET /answer", "retrieve"].sort()
        )
        const [ask_, client, server, route, retrieve] = [
          "ask",
          "http.client GET",
          "http.server GET",
          "GET /answer",
          "retrieve"
        ]
          .map((name) => byName(name)[0])
        expect(ask_.parent_span_id).toBeNull()
        expect(client.parent_span_id).toBe(ask_.span_id)
        // the answer service's spans hang under the client's HTTP span
        expect(server.parent_span_id).toBe(client.span_id)
        expect(route.parent_span_id).toBe(server.span_id)
        expect(retrieve.parent_span_id).toBe(route.span_id)
        // one trace info, the client's: its name, its previews, its process as the source
        expect(trace.info.tags["mlflow.traceName"]).toBe("ask")
        expect(trace.info.request_preview).toBe("{\"question\": \"What is MLflow?\"}")
        expect(trace.info.state).toBe("OK")
        expect(trace.info.trace_metadata["mlflow.source.name"]).toContain("askService")

        // and the experiment holds that one trace
        const listed = yield* python(
          `import json, mlflow
traces = mlflow.search_traces(locations=["${experimentId}"], return_type="list")
print(json.dumps([t.info.trace_id for t in traces]))`,
          { MLFLOW_TRACKING_URI: url }
        )
        expect(listed).toEqual([traceId])
      }),
    180_000
  )
})
