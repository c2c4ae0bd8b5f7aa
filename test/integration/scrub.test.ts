import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Mlflow } from "../../src/index.js"
import { echoedForms } from "../support/echoedForms.js"
import { type Answer, grpcCollector, httpCollector, type Received } from "../support/fakeCollector.js"
import { recorder } from "../support/recorder.js"
import { ownServer, postJson, traceWithEnv, uniqueName } from "./helpers.js"

const TOKEN = "tok-PLANTED/9+x&y<z=="
const API_KEY = "key PLANTED"

/** An answer that echoes the credentials the request carried, in every form. */
const echo = (received: Received): string => {
  const authorization = String(received.headers.authorization)
  const token = authorization.replace(/^Bearer /, "")
  const apiKey = String(received.headers["x-api-key"])
  return [
    `header ${authorization}`,
    ...echoedForms(token).map((form) => `invalid token ${form}`),
    ...echoedForms(apiKey).map((form) => `unknown key ${form}`),
    JSON.stringify({ error: "unauthenticated", token, header: authorization })
  ].join("; ")
}

const traceOne = Effect.succeed("ok").pipe(Mlflow.span("refused"))

describe("secrets echoed by a server never reach the logs", () => {
  it.scopedLive(
    "an OTLP collector answering 401 with the token of OTEL_EXPORTER_OTLP_HEADERS, in every form",
    () =>
      Effect.gen(function*() {
        for (const protocol of ["http/protobuf", "http/json", "grpc"] as const) {
          const collector = protocol === "grpc"
            ? yield* grpcCollector((received): Answer => ({ status: 16, message: echo(received) }))
            : yield* httpCollector((received): Answer => ({ status: 401, body: echo(received) }))
          const { logs, stats } = yield* traceWithEnv(
            {
              OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url,
              OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
              OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${encodeURIComponent(TOKEN)},x-api-key=${
                encodeURIComponent(API_KEY)
              }`
            },
            traceOne
          )
          const text = logs.join("\n")
          // the token did go, and came back
          expect(collector.received.length, protocol).toBeGreaterThan(0)
          expect(collector.received[0].headers.authorization, protocol).toBe(`Bearer ${TOKEN}`)
          expect(stats.failed, `${protocol}\n${text}`).toBe(1)
          expect(text, protocol).toMatch(/401|UNAUTHENTICATED/)
          expect(text, protocol).toContain("invalid token <redacted>")
          expect(text, protocol).not.toContain("PLANTED")
        }
      }),
    120_000
  )

  it.scopedLive(
    "attachments for an artifact location on another host go without the tracking server's credentials",
    () =>
      Effect.gen(function*() {
        // MLflow 3.18 takes an http(s) artifact location on another host only when allowed to
        const server = yield* ownServer({ env: { MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES: "http" } })
        const artifactHost = yield* recorder(() => ({ status: 200, body: "{}" }))
        const name = uniqueName("foreign-artifacts")
        const created = yield* postJson(`${server.url}/api/2.0/mlflow/experiments/create`, {
          name,
          artifact_location: `${artifactHost.url}/store/${name}`
        })
        expect(created.experiment_id, JSON.stringify(created)).toBeDefined()
        const png = Buffer.from("89504e470d0a1a0a" + "00".repeat(64), "hex").toString("base64")
        const describe = Effect.succeed("a cat").pipe(
          Mlflow.span("describe", { spanType: "CHAT_MODEL", inputs: { image: `data:image/png;base64,${png}` } })
        )
        for (
          const auth of [
            { MLFLOW_TRACKING_TOKEN: "PLANTED-tracking-token" },
            { MLFLOW_TRACKING_USERNAME: "alice", MLFLOW_TRACKING_PASSWORD: "PLANTED-password" }
          ]
        ) {
          artifactHost.seen.length = 0
          const { logs, stats } = yield* traceWithEnv(
            { MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: name, ...auth },
            describe
          )
          expect(stats.exported, logs.join("\n")).toBe(1)
          // the attachment went to the artifact host, without any of the tracking server's credentials
          const uploads = artifactHost.seen.filter((seen) => seen.method === "PUT")
          expect(uploads.length, logs.join("\n")).toBe(1)
          expect(uploads[0].url).toMatch(new RegExp(`^/store/${name}/traces/tr-[0-9a-f]+/artifacts/attachments/`))
          for (const seen of artifactHost.seen) {
            expect(seen.headers.authorization).toBeUndefined()
            expect(JSON.stringify(seen.headers)).not.toContain("PLANTED")
          }
        }
      }),
    180_000
  )
})
