import { Effect } from "effect"
import * as http from "node:http"
import * as http2 from "node:http2"
import type { AddressInfo } from "node:net"
import * as zlib from "node:zlib"
import { decodeRequest } from "./otlpDecode.js"

/** An export request a fake collector took: its headers and the trace ids of its spans. */
export interface Received {
  readonly headers: Readonly<Record<string, string | Array<string> | undefined>>
  readonly traceIds: ReadonlyArray<string>
  readonly spanNames: ReadonlyArray<string>
  readonly resource: Readonly<Record<string, unknown>>
  /** size of the request message, uncompressed */
  readonly bytes: number
}

/** What the fake answers a request with (`status` HTTP, or for gRPC its `grpc-status`). */
export interface Answer {
  readonly status: number
  readonly body?: Uint8Array | string
  readonly message?: string
  readonly headers?: Readonly<Record<string, string>>
  /** gRPC: no answer, the stream reset (`RST_STREAM`) or the whole connection dropped */
  readonly reset?: "stream" | "connection"
}

/**
 * The body of an `ExportTraceServiceResponse` with a partial success (`rejected` spans, `message`): as
 * OTLP/JSON (the number as a decimal string, as the JSON mapping writes an int64) or as protobuf.
 */
export const partialSuccess = (rejected: number, message: string, json: boolean): Uint8Array | string => {
  if (json) return JSON.stringify({ partialSuccess: { rejectedSpans: String(rejected), errorMessage: message } })
  const text = new TextEncoder().encode(message)
  const varint = (value: number): Array<number> => {
    const out: Array<number> = []
    for (; value >= 0x80; value >>>= 7) out.push((value & 0x7f) | 0x80)
    return [...out, value]
  }
  const inner = [0x08, ...varint(rejected), 0x12, ...varint(text.length), ...text]
  return new Uint8Array([0x0a, ...varint(inner.length), ...inner])
}

const decode = (headers: Received["headers"], body: Buffer, json: boolean): Received => {
  const inflated = headers["content-encoding"] === "gzip" ? zlib.gunzipSync(body) : body
  if (json) {
    const request = JSON.parse(inflated.toString("utf8"))
    const spans = request.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans))
    return {
      headers,
      traceIds: [...new Set<string>(spans.map((span: any) => span.traceId))],
      spanNames: spans.map((span: any) => span.name),
      resource: Object.fromEntries(request.resourceSpans[0].resource.attributes.map((kv: any) => [kv.key, kv.value])),
      bytes: inflated.length
    }
  }
  const [first] = decodeRequest(new Uint8Array(inflated))
  const spans = first?.scopes.flatMap((scope) => scope.spans) ?? []
  return {
    headers,
    traceIds: [...new Set(spans.map((span) => span.traceId))],
    spanNames: spans.map((span) => span.name),
    resource: first?.resource ?? {},
    bytes: inflated.length
  }
}

/** A loopback OTLP/HTTP endpoint answering with `reply`; closed with the scope. */
export const httpCollector = (reply: (received: Received, index: number) => Answer) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; received: Array<Received>; server: http.Server }>((resume) => {
      const received: Array<Received> = []
      const server = http.createServer((req, res) => {
        // a health probe (GET), answered as a collector does and not counted as an export
        if (req.method !== "POST") {
          res.writeHead(405).end()
          return
        }
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const entry = decode(req.headers, Buffer.concat(chunks), req.headers["content-type"] === "application/json")
          received.push(entry)
          const answer = reply(entry, received.length - 1)
          res.writeHead(answer.status, answer.headers).end(answer.body ?? "")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}/v1/traces`, received, server }))
      })
    }),
    (handle) =>
      Effect.async<void>((resume) => {
        handle.server.closeAllConnections()
        handle.server.close(() => resume(Effect.void))
      })
  )

/** A loopback OTLP/gRPC endpoint (HTTP/2 without TLS) answering with `reply`; closed with the scope. */
export const grpcCollector = (reply: (received: Received, index: number) => Answer) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; received: Array<Received>; server: http2.Http2Server }>((resume) => {
      const received: Array<Received> = []
      const server = http2.createServer()
      server.on("stream", (stream, headers) => {
        const chunks: Array<Buffer> = []
        // a stream this side resets ends with an error of its own: expected, not a failure of the test
        stream.on("error", () => {})
        stream.on("data", (chunk: Buffer) => chunks.push(chunk))
        stream.on("end", () => {
          const framed = Buffer.concat(chunks)
          const message = framed.subarray(5, 5 + framed.readUInt32BE(1))
          const entry = decode(
            { ...headers, "content-encoding": framed[0] === 1 ? headers["grpc-encoding"] as string : undefined },
            message,
            false
          )
          received.push(entry)
          const answer = reply(entry, received.length - 1)
          if (answer.reset === "stream") return stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
          if (answer.reset === "connection") return stream.session?.destroy()
          stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true })
          stream.on("wantTrailers", () =>
            stream.sendTrailers({
              "grpc-status": String(answer.status),
              ...(answer.message === undefined ? {} : { "grpc-message": encodeURIComponent(answer.message) })
            }))
          const body = answer.body === undefined ? new Uint8Array() : answer.body as Uint8Array
          const frame = Buffer.alloc(5 + body.length)
          frame.writeUInt32BE(body.length, 1)
          frame.set(body, 5)
          stream.end(frame)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, received, server }))
      })
    }),
    (handle) =>
      Effect.async<void>((resume) => {
        handle.server.close(() => resume(Effect.void))
      })
  )
