import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

// types only (erased): the modules themselves are the caller's to load, on runtimes that have them
type Http = typeof import("node:http")
type Https = typeof import("node:https")
type Stream = typeof import("node:stream")

/** The Node modules the transport uses, loaded by the caller only when TLS settings ask for it. */
export interface NodeModules {
  readonly http: Http
  readonly https: Https
  readonly stream: Stream
}

/** The TLS options of the `https.Agent`: a CA bundle, a client certificate and key, the check itself. */
export interface TlsOptions {
  readonly ca?: string | undefined
  readonly cert?: string | undefined
  readonly key?: string | undefined
  readonly rejectUnauthorized: boolean
}

/** Statuses whose answer has no body (a `Response` refuses one). */
const NO_BODY = new Set([101, 204, 205, 304])

const toResponse = (
  modules: NodeModules,
  request: HttpClientRequest.HttpClientRequest,
  answer: InstanceType<Http["IncomingMessage"]>
): HttpClientResponse.HttpClientResponse => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one)
  }
  const status = answer.statusCode ?? 500
  const empty = NO_BODY.has(status) || request.method === "HEAD"
  if (empty) answer.resume()
  const body = empty ? null : (modules.stream.Readable.toWeb(answer) as ReadableStream<Uint8Array>)
  return HttpClientResponse.fromWeb(
    request,
    new Response(body, { status, statusText: answer.statusMessage ?? "", headers })
  )
}

/**
 * An `HttpClient` over `node:https` (and `node:http` for plain URLs) with these TLS options, which
 * `fetch` does not take; with `origin`, for that origin only (the tracking server's), other hosts
 * being checked against the system's CAs, without the client certificate. The request's `response` and `error` listeners are attached as it is made,
 * before anything else runs: `@effect/platform-node`'s client attached them in fibers of their own,
 * so on a busy runtime a certificate refused (or an answer given) before those fibers started went
 * unheard, and the request hung until a timeout.
 *
 * @internal
 */
export const make = (
  modules: NodeModules,
  tls: TlsOptions,
  origin?: string | undefined
): Effect.Effect<HttpClient.HttpClient, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => ({
        http: new modules.http.Agent(),
        https: new modules.https.Agent({ ...tls }),
        otherHttps: new modules.https.Agent()
      })),
      (agents) =>
        Effect.sync(() => {
          agents.http.destroy()
          agents.https.destroy()
          agents.otherHttps.destroy()
        })
    ),
    (agents) =>
      HttpClient.make((request, url, signal) =>
        Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
          const secure = url.protocol === "https:"
          const options = { method: request.method, headers: request.headers, signal }
          const agent = origin === undefined || url.origin === origin ? agents.https : agents.otherHttps
          const sent = secure
            ? modules.https.request(url, { ...options, agent })
            : modules.http.request(url, { ...options, agent: agents.http })
          sent.on("error", (cause) =>
            resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause }))))
          sent.on("response", (answer) =>
            resume(Effect.succeed(toResponse(modules, request, answer))))
          const body = request.body
          switch (body._tag) {
            case "Empty":
              sent.end()
              break
            case "Uint8Array":
              sent.end(body.body)
              break
            default:
              // the client sends JSON, bytes and forms, all as bytes
              sent.destroy()
              resume(Effect.fail(
                new HttpClientError.RequestError({
                  request,
                  reason: "Encode",
                  description: `the node:https transport sends no ${body._tag} bodies`
                })
              ))
          }
          return Effect.sync(() => sent.destroy())
        })
      )
  )
