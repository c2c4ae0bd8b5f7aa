import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Mlflow } from "../../src/index.js"
import { type Answer, grpcCollector, httpCollector, type Received } from "../support/fakeCollector.js"
import { traceWithEnv } from "./helpers.js"

const TOKEN = "tok-PLANTED/9+x&y<z=="
const API_KEY = "key PLANTED"

/** Every form a server may echo a secret in: as is, percent- and form-encoded, escaped in JSON. */
const encodedForms = (secret: string): ReadonlyArray<string> => {
  const json = JSON.stringify(secret).slice(1, -1)
  return [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, "+"),
    json,
    json.replace(/\//g, "\\/"),
    json.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)
  ]
}

/** An answer that echoes the credentials the request carried, in every form. */
const echo = (received: Received): string => {
  const authorization = String(received.headers.authorization)
  const token = authorization.replace(/^Bearer /, "")
  const apiKey = String(received.headers["x-api-key"])
  return [
    `header ${authorization}`,
    ...encodedForms(token).map((form) => `invalid token ${form}`),
    ...encodedForms(apiKey).map((form) => `unknown key ${form}`),
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
})
