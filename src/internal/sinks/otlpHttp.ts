import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { OtlpConfig } from "../../MlflowConfig.js"
import { describeTransportError, parseRetryAfter } from "../client/errors.js"
import { readCappedBytes } from "../client/http.js"
import { decodeExportResponse, decodeExportResponseJson } from "../format/otlpResponse.js"
import { scrubbedError, type Transport, type TransportFailure } from "./otlp.js"

/** Answers read at most this much: a collector's answer is a few bytes. */
const MAX_ANSWER_BYTES = 64 * 1024

/** Statuses the OTLP specification says to retry. */
const RETRYABLE = new Set([429, 502, 503, 504])

/**
 * OTLP over HTTP (`http/protobuf`, `http/json`) through the `HttpClient` in context, untraced and
 * without trace propagation (the export never becomes part of a trace).
 */
export const make = (config: OtlpConfig): Effect.Effect<Transport, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.withTracerDisabledWhen(() => true),
      HttpClient.withTracerPropagation(false)
    )
    const json = config.protocol === "http/json"
    const contentType = json ? "application/json" : "application/x-protobuf"
    const headers: Record<string, string> = { "user-agent": "effect-mlflow/0.1.0" }
    for (const [name, value] of config.headers) headers[name] = Redacted.value(value)
    if (config.compression === "gzip") headers["content-encoding"] = "gzip"

    const failure = (
      refusesBatch: boolean,
      fields: Parameters<typeof scrubbedError>[1]
    ): TransportFailure => ({ refusesBatch, error: scrubbedError(config, fields) })

    const send: Transport["send"] = (body) =>
      Effect.gen(function*() {
        // the sink compresses (with `compression: gzip`) and times each request
        const request = HttpClientRequest.post(config.url).pipe(
          HttpClientRequest.setHeaders(headers),
          HttpClientRequest.bodyUint8Array(body, contentType)
        )
        const response = yield* client.execute(request)
        const { bytes: text } = yield* readCappedBytes(response.stream, MAX_ANSWER_BYTES)
        if (response.status >= 200 && response.status < 300) {
          return json ? decodeExportResponseJson(new TextDecoder().decode(text)) : decodeExportResponse(text)
        }
        const retryAfterMillis = parseRetryAfter(response.headers["retry-after"])
        const answer = new TextDecoder().decode(text).slice(0, 2000)
        return yield* Effect.fail(failure(response.status === 400 || response.status === 413, {
          detail: `POST ${config.url}: HTTP ${response.status}${answer.trim() === "" ? "" : `: ${answer}`}`,
          retryable: RETRYABLE.has(response.status),
          reason: `HTTP ${response.status}`,
          retryAfterMillis
        }))
      }).pipe(
        Effect.scoped,
        Effect.catchTags({
          RequestError: (error) => Effect.fail(transportFailure(error)),
          ResponseError: (error) => Effect.fail(transportFailure(error))
        }),
        Effect.withTracerEnabled(false)
      )

    const transportFailure = (error: { readonly message: string; readonly cause?: unknown }) => {
      const { description, detail, untrusted } = describeTransportError(error)
      return failure(false, { detail: `POST ${config.url}: ${detail}`, retryable: !untrusted, reason: description })
    }

    // an answer means the collector is back (an OTLP endpoint answers GET with 405), unless it is
    // one it answers when it (or the gateway before it) cannot take exports: "slow down" is not back
    const probe = client.execute(HttpClientRequest.get(config.url)).pipe(
      Effect.map((response) => !RETRYABLE.has(response.status)),
      Effect.timeoutTo({ duration: Duration.seconds(5), onSuccess: (up) => up, onTimeout: () => false }),
      Effect.catchAll(() => Effect.succeed(false)),
      Effect.scoped,
      Effect.withTracerEnabled(false)
    )
    return { send, probe }
  })
