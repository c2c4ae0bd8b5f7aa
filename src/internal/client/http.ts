import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { basicSecrets, makeScrubber, urlSecrets } from "../common/scrub.js"
import { parseBigJson } from "../format/bigJson.js"
import { safeStringify } from "../tracing/text.js"
import {
  describeTransportError,
  MlflowApiError,
  type MlflowError,
  MlflowTransportError,
  statusError
} from "./errors.js"
import type { JsonObject, Method, Options, Request, RequestOptions } from "./model.js"
import { originOf, splitCredentials } from "./url.js"

const TRUST_HINT =
  "give its CA bundle in MLFLOW_TRACKING_SERVER_CERT_PATH, or set MLFLOW_TRACKING_INSECURE_TLS=true to skip the check"

/** How long a refused server certificate is taken as refused without asking again. */
const UNTRUSTED_FOR_MILLIS = 60_000

/** Success answers read at most this much (a trace's data is read with a larger cap). */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024
/** Error answers: enough for any message MLflow writes. */
const MAX_ERROR_ANSWER_BYTES = 64 * 1024

/** Reads a body up to `cap` bytes; past it, the rest is not read (the stream is cancelled). */
export const readCappedBytes = <E>(body: Stream.Stream<Uint8Array, E>, cap: number) =>
  Stream.runFoldWhile(
    body,
    { parts: [] as Array<Uint8Array>, size: 0 },
    (state) => state.size <= cap,
    (state, chunk) => {
      state.parts.push(chunk)
      state.size += chunk.length
      return state
    }
  ).pipe(Effect.map(({ parts, size }) => {
    const bytes = new Uint8Array(Math.min(size, cap))
    let offset = 0
    for (const part of parts) {
      if (offset >= bytes.length) break
      const take = part.subarray(0, bytes.length - offset)
      bytes.set(take, offset)
      offset += take.length
    }
    return { complete: size <= cap, bytes }
  }))

const readCapped = <E>(body: Stream.Stream<Uint8Array, E>, cap: number) =>
  Effect.map(readCappedBytes(body, cap), ({ bytes, complete }) => ({ complete, text: new TextDecoder().decode(bytes) }))

const parseJson = (text: string): JsonObject => {
  if (text.trim() === "") return {}
  const value = parseBigJson(text)
  return typeof value === "object" && value !== null ? value as JsonObject : { value }
}

/** The transport of one client: authorized, bounded, never traced, with secrets scrubbed from errors. */
export interface Http {
  readonly trackingUri: string
  readonly request: Request
  readonly isHealthy: Effect.Effect<boolean>
  /** removes our credentials from a text (an error a server or proxy echoed them into) */
  readonly scrub: (text: string) => string
}

export const make = Effect.fnUntraced(function*(options: Options) {
  // credentials in the URI are sent as Basic auth (unless given apart) and never printed
  const split = splitCredentials(options.trackingUri.trim())
  const trackingUri = split.uri.replace(/\/+$/, "")
  const username = options.username ?? (options.password === undefined ? split.username : undefined)
  const password = options.password ??
    (options.username === undefined && split.password !== undefined ? Redacted.make(split.password) : undefined)
  const timeout = Duration.decode(options.requestTimeout ?? Duration.seconds(120))
  const workspace = options.workspace?.trim() || undefined
  const authorize = username !== undefined && password !== undefined
    ? HttpClientRequest.basicAuth(username, Redacted.value(password))
    : options.token !== undefined
    ? HttpClientRequest.bearerToken(Redacted.value(options.token))
    : (request: HttpClientRequest.HttpClientRequest) => request
  const permits = yield* Effect.makeSemaphore(options.maxConcurrentRequests ?? 8)
  const base = yield* HttpClient.HttpClient
  const untraced = (client: HttpClient.HttpClient) =>
    client.pipe(HttpClient.withTracerDisabledWhen(() => true), HttpClient.withTracerPropagation(false))
  const client = untraced(options.transformClient === undefined ? base : options.transformClient(base))
  // calls that must not carry the server's credentials, headers or the caller's transformation
  const anonymousClient = untraced(base)
  // the server's credentials go to its own origin only: never to storage, an identity provider, or
  // an experiment's artifact location on another host (whoever made that experiment would get them)
  const trackingOrigin = originOf(trackingUri)
  const isAnonymous = (url: string, requestOptions: RequestOptions) =>
    requestOptions.anonymous === true || originOf(url) !== trackingOrigin
  const urlOf = (path: string) => /^https?:\/\//.test(path) ? path : `${trackingUri}${path}`

  // our own credentials never leave in an error, even when a server or proxy echoes them back
  const scrubber = makeScrubber([
    ...(options.token === undefined ? [] : [Redacted.value(options.token)]),
    ...(username === undefined || password === undefined ? [] : basicSecrets(username, Redacted.value(password))),
    ...(options.moreSecrets ?? []).map(Redacted.value)
  ])

  // by origin: the tracking server, and the storage or identity provider anonymous calls go to
  const refusedCertificates = new Map<
    string,
    { readonly until: number; readonly detail: string; readonly description: string }
  >()
  const send = (
    method: Method,
    path: string,
    requestOptions: RequestOptions,
    dynamic: Readonly<Record<string, string>>
  ): Effect.Effect<JsonObject, MlflowError> => {
    const url = urlOf(path)
    const anonymous = isAnonymous(url, requestOptions)
    let req = HttpClientRequest.make(method)(url).pipe(
      anonymous ? (request) => request : authorize,
      HttpClientRequest.setHeader("User-Agent", "effect-mlflow/0.1.0"),
      HttpClientRequest.setHeaders(dynamic)
    )
    // as MLflow's client: not for the workspace administration endpoints, which name it in the path
    if (workspace !== undefined && !anonymous && !url.includes("/mlflow/workspaces")) {
      req = HttpClientRequest.setHeader(req, "X-MLFLOW-WORKSPACE", workspace)
    }
    if (requestOptions.query !== undefined) req = HttpClientRequest.setUrlParams(req, requestOptions.query)
    if (requestOptions.headers !== undefined) req = HttpClientRequest.setHeaders(req, requestOptions.headers)
    if (requestOptions.json !== undefined) {
      req = HttpClientRequest.bodyText(req, safeStringify(requestOptions.json), "application/json")
    } else if (requestOptions.bytes !== undefined) {
      req = HttpClientRequest.bodyUint8Array(req, requestOptions.bytes.body, requestOptions.bytes.contentType)
    } else if (requestOptions.form !== undefined) {
      req = HttpClientRequest.bodyUrlParams(req, UrlParams.fromInput(requestOptions.form))
    }
    // on failures only: a signed URL's signature may come back alone (S3 names the one it was given)
    const scrub = (text: string) => scrubber.scrub(text, urlSecrets(url))
    const shownUrl = () => scrub(url)
    const origin = originOf(url)
    const transport = (reason: MlflowTransportError["reason"], detail: string, description: string) =>
      new MlflowTransportError({ reason, method, url: shownUrl(), detail: scrub(detail), description })
    const failed = (error: { readonly message: string; readonly cause?: unknown }) => {
      const { description, detail, untrusted } = describeTransportError(error)
      if (!untrusted) return Effect.fail(transport("Transport", detail, description))
      const refused = transport("Certificate", `${detail} (${TRUST_HINT})`, description)
      refusedCertificates.set(origin, { until: Date.now() + UNTRUSTED_FOR_MILLIS, detail: refused.detail, description })
      return Effect.fail(refused)
    }
    // the server's certificate was refused a moment ago: the same answer at once, without a new
    // handshake for every batch
    const known = refusedCertificates.get(origin)
    if (known !== undefined && Date.now() < known.until) {
      return Effect.fail(transport("Certificate", known.detail, known.description))
    }
    return (anonymous ? anonymousClient : client).execute(req).pipe(
      Effect.flatMap((response) => {
        const ok = response.status >= 200 && response.status < 300
        const cap = ok ? requestOptions.maxAnswerBytes ?? MAX_ANSWER_BYTES : MAX_ERROR_ANSWER_BYTES
        // an answer that declares its length is read in one go when it fits (the transport reads no
        // more than the declared length); one that does not is read as a stream, up to the cap
        const declared = Number(response.headers["content-length"] ?? Number.NaN)
        const read = Number.isSafeInteger(declared) && declared >= 0 && declared <= cap
          ? Effect.map(response.text, (text) => ({ complete: true, text }))
          : readCapped(response.stream, cap)
        return Effect.flatMap(
          read,
          ({ complete, text }): Effect.Effect<JsonObject, MlflowError> => {
            if (ok && !complete) {
              return Effect.fail(
                new MlflowApiError({
                  reason: "AnswerTooLarge",
                  method,
                  url: shownUrl(),
                  status: response.status,
                  errorCode: "ANSWER_TOO_LARGE",
                  detail: `the answer is larger than ${cap} bytes and was not read; is this an MLflow tracking server?`
                })
              )
            }
            if (ok && requestOptions.ignoreAnswer === true) return Effect.succeed({})
            if (ok) {
              return Effect.try({
                try: () => parseJson(text),
                catch: () => transport("Decode", "the answer is not JSON", "answer not JSON")
              })
            }
            return Effect.fail(
              statusError(method, shownUrl(), response.status, text, response.headers["retry-after"], scrub)
            )
          }
        )
      }),
      Effect.catchTags({
        RequestError: failed,
        ResponseError: failed
      }),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => transport("Timeout", `timed out after ${Duration.format(timeout)}`, "timed out")
      }),
      permits.withPermits(1),
      Effect.withTracerEnabled(false)
    )
  }

  let headers: Effect.Effect<Readonly<Record<string, string>>, MlflowError> = Effect.succeed({})
  const request: Request = (method, path, requestOptions = {}) =>
    isAnonymous(urlOf(path), requestOptions)
      ? send(method, path, requestOptions, {})
      : Effect.flatMap(headers, (dynamic) => send(method, path, requestOptions, dynamic))
  if (options.dynamicHeaders !== undefined) headers = yield* options.dynamicHeaders(request, scrubber.add)

  const isHealthy = options.healthCheck !== undefined ?
    options.healthCheck(request) :
    client.execute(HttpClientRequest.get(`${trackingUri}/health`).pipe(authorize)).pipe(
      Effect.map((response) => response.status >= 200 && response.status < 300),
      Effect.timeoutTo({ duration: Duration.seconds(5), onSuccess: (up) => up, onTimeout: () => false }),
      Effect.catchAll(() => Effect.succeed(false)),
      Effect.scoped,
      Effect.withTracerEnabled(false)
    )

  return { trackingUri, request, isHealthy, scrub: (text: string) => scrubber.scrub(text) } satisfies Http
})
