import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Http2 from "node:http2"
import type { OtlpConfig } from "../../MlflowConfig.js"
import { describeTransportError } from "../client/errors.js"
import { decodeExportResponse, type ExportAnswer } from "../format/otlpResponse.js"
import { scrubbedError, type Transport, type TransportFailure } from "./otlp.js"

const EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
const MAX_ANSWER_BYTES = 64 * 1024

const CODES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED"
]

/** The codes the OTLP specification says to retry. */
const RETRYABLE = new Set([1, 4, 8, 10, 11, 14, 15])

/** gRPC's mapping of HTTP statuses from something that is not a gRPC server (a proxy) */
const fromHttpStatus = (status: number): number =>
  status === 401 ? 16 : status === 403 ? 7 : status === 404 ? 12 : [429, 502, 503, 504].includes(status) ? 14 : 13

const frame = (message: Uint8Array, compressed: boolean): Uint8Array => {
  const out = new Uint8Array(5 + message.length)
  out[0] = compressed ? 1 : 0
  new DataView(out.buffer).setUint32(1, message.length)
  out.set(message, 5)
  return out
}

const decodeMessage = (message: string | undefined): string => {
  if (message === undefined) return ""
  try {
    return decodeURIComponent(message)
  } catch {
    return message
  }
}

const SLICE_BYTES = 64 * 1024

/**
 * Writes `body` as the stream takes it: given whole, Node buffers it all at once, and when the server
 * answers early (a message over its limit) and stops reading, the stream ends without its answer.
 */
const writeInSlices = (stream: Http2.ClientHttp2Stream, body: Uint8Array): void => {
  let at = 0
  const pump = (): void => {
    while (at < body.length) {
      if (stream.closed || stream.destroyed) return
      const slice = body.subarray(at, Math.min(body.length, at + SLICE_BYTES))
      at += slice.length
      if (!stream.write(slice)) {
        stream.once("drain", pump)
        return
      }
    }
    stream.end()
  }
  pump()
}

/**
 * OTLP over gRPC with Node's own `node:http2` (loaded when first used, so the core loads no Node
 * module): unary `TraceService/Export` calls on one HTTP/2 connection, opened again when it drops.
 */
export const make = (config: OtlpConfig): Effect.Effect<Transport, never, Scope.Scope> =>
  Effect.gen(function*() {
    const http2 = yield* Effect.promise(() => import("node:http2"))
    // the CAs of `certificate`, read once; a file that cannot be read fails every call, not retried
    const ca = config.certificate === undefined ?
      undefined :
      yield* Effect.promise(() =>
        import("node:fs/promises").then((fs) => fs.readFile(config.certificate!, "utf8")).then(
          (text) => ({ text }),
          (error: Error) => ({ error: error.message })
        )
      )
    let session: Http2.ClientHttp2Session | undefined
    const connect = (): Http2.ClientHttp2Session => {
      if (session !== undefined && !session.closed && !session.destroyed) return session
      const opened = http2.connect(config.url, ca !== undefined && "text" in ca ? { ca: ca.text } : {})
      const forget = () => {
        if (session === opened) session = undefined
      }
      opened.on("error", forget)
      opened.on("close", forget)
      opened.on("goaway", forget)
      // an idle connection does not keep the process alive
      opened.unref()
      session = opened
      return opened
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => session?.close()))

    const headers: Record<string, string> = {
      ":method": "POST",
      ":path": EXPORT_PATH,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-accept-encoding": "identity",
      "grpc-timeout": `${Math.max(1, Math.round(Duration.toMillis(config.timeout)))}m`,
      "user-agent": "effect-mlflow/0.1.0"
    }
    for (const [name, value] of config.headers) headers[name] = Redacted.value(value)
    if (config.compression === "gzip") headers["grpc-encoding"] = "gzip"

    const failure = (refusesBatch: boolean, fields: Parameters<typeof scrubbedError>[1]): TransportFailure => ({
      refusesBatch,
      error: scrubbedError(config, fields)
    })

    const statusFailure = (code: number, message: string): TransportFailure => {
      const name = CODES[code] ?? String(code)
      // a request over the collector's message size is refused for itself, whatever the code says
      const tooLarge = /larger than max|message too large/i.test(message)
      return failure(code === 3 || tooLarge, {
        detail: `gRPC ${config.url}${EXPORT_PATH}: ${name}${message === "" ? "" : `: ${message}`}`,
        retryable: RETRYABLE.has(code) && !tooLarge,
        reason: `gRPC ${name}`
      })
    }

    const unreadable = ca !== undefined && "error" in ca
      ? failure(false, {
        detail: `cannot read the CA certificate of the OTLP collector (otlp.certificate): ${ca.error}`,
        retryable: false,
        reason: "CA certificate unreadable"
      })
      : undefined

    const call = (body: Uint8Array) =>
      Effect.async<ExportAnswer, TransportFailure>((resumeOnce) => {
        let settled = false
        const resume = (effect: Effect.Effect<ExportAnswer, TransportFailure>) => {
          if (settled) return
          settled = true
          // what is left of the request is not sent
          if (request !== undefined && !request.closed) request.close(http2.constants.NGHTTP2_CANCEL)
          resumeOnce(effect)
        }
        let request: Http2.ClientHttp2Stream | undefined
        try {
          request = connect().request(headers)
        } catch (error) {
          resume(Effect.fail(failure(false, { detail: String(error), retryable: true, reason: "connection failed" })))
          return
        }
        const chunks: Array<Uint8Array> = []
        let size = 0
        let status: number | undefined
        let code: number | undefined
        let message: string | undefined
        const readStatus = (fields: Http2.IncomingHttpHeaders) => {
          const given = fields["grpc-status"]
          if (given !== undefined) code = Number(given)
          const text = fields["grpc-message"]
          if (typeof text === "string") message = text
        }
        request.on("response", (fields) => {
          status = Number(fields[":status"])
          readStatus(fields)
        })
        request.on("trailers", readStatus)
        request.on("data", (chunk: Uint8Array) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk)
          size += chunk.length
        })
        request.on("error", (error) => {
          // a certificate not trusted is the same on every retry
          const { description, detail, untrusted } = describeTransportError({
            message: `gRPC ${config.url}`,
            cause: error
          })
          resume(Effect.fail(failure(false, { detail, retryable: !untrusted, reason: description })))
        })
        // the status, once the answer is read whole: at its end (a collector that answers before it
        // has read the request may close the stream without 'close' while the request is unsent)
        const finish = () => {
          if (status !== undefined && status !== 200) {
            resume(Effect.fail(statusFailure(fromHttpStatus(status), `HTTP ${status}`)))
            return
          }
          if (code === undefined) {
            resume(Effect.fail(failure(false, {
              detail: `gRPC ${config.url}: the call ended without a status`,
              retryable: true,
              reason: "transport error"
            })))
            return
          }
          if (code !== 0) {
            resume(Effect.fail(statusFailure(code, decodeMessage(message))))
            return
          }
          const answer = Buffer.concat(chunks)
          // an uncompressed answer frame: flag 0, length, message
          resume(Effect.succeed(
            answer.length >= 5 && answer[0] === 0
              ? decodeExportResponse(answer.subarray(5, 5 + answer.readUInt32BE(1)))
              : { rejectedSpans: 0, errorMessage: "" }
          ))
        }
        request.on("end", finish)
        request.on("close", finish)
        writeInSlices(request, body)
        return Effect.sync(() => request.close(http2.constants.NGHTTP2_CANCEL))
      })

    // the sink compresses (with `compression: gzip`) and times each request
    const send: Transport["send"] = (body) =>
      unreadable === undefined ? call(frame(body, config.compression === "gzip")) : Effect.fail(unreadable)

    const probe = Effect.async<boolean>((resume) => {
      const attempt = connect()
      if (!attempt.connecting) {
        resume(Effect.succeed(!attempt.destroyed))
        return
      }
      const done = (up: boolean) => () => resume(Effect.succeed(up))
      attempt.once("connect", done(true))
      attempt.once("error", done(false))
    }).pipe(Effect.timeoutTo({ duration: Duration.seconds(5), onSuccess: (up) => up, onTimeout: () => false }))

    return { send, probe }
  })
