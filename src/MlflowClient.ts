/**
 * A typed client for the MLflow tracking server REST API (experiments, traces, OTLP spans,
 * artifacts), over `@effect/platform`'s `HttpClient`. Its own calls are never traced.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Assessment from "./Assessment.js"
import { makeQueries } from "./internal/client/queries.js"
import { scrubUrlCredentials, splitCredentials } from "./internal/client/url.js"
import { bytesToBase64 } from "./internal/common/bytes.js"
import { type Json, safeStringify } from "./internal/common/json.js"
import { parseBigJson } from "./internal/format/bigJson.js"
import { traceDataToJson, traceInfoToProtoJson } from "./internal/format/traceJson.js"
import type { StoredTrace } from "./internal/format/traceRead.js"
import * as MlflowConfig from "./MlflowConfig.js"
import * as Otlp from "./Otlp.js"
import type { SpanData, TraceInfo } from "./Trace.js"

/**
 * The server answered with an error status.
 *
 * @since 0.1.0
 * @category errors
 */
export class MlflowApiError extends Schema.TaggedError<MlflowApiError>()("MlflowApiError", {
  method: Schema.String,
  url: Schema.String,
  status: Schema.Number,
  errorCode: Schema.String,
  detail: Schema.String,
  /** from a `Retry-After` header */
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  get message(): string {
    return `${this.method} ${this.url} failed with ${this.status} ${this.errorCode}: ${this.detail}`
  }
}

/**
 * The request did not get an answer (connection refused, reset, timeout).
 *
 * @since 0.1.0
 * @category errors
 */
export class MlflowTransportError extends Schema.TaggedError<MlflowTransportError>()("MlflowTransportError", {
  method: Schema.String,
  url: Schema.String,
  detail: Schema.String,
  /** what failed: `connection refused`, `host not found (DNS)`, `connection reset`, `timed out`, `TLS failed`... */
  reason: Schema.optional(Schema.String)
}) {
  get message(): string {
    return `${this.method} ${this.url} failed: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type MlflowError = MlflowApiError | MlflowTransportError

/**
 * Whether a failed call may succeed if tried again: transport failures, 408, 429, 5xx except 501,
 * and the 400s MLflow answers when its database is overloaded.
 *
 * @since 0.1.0
 * @category errors
 */
export const isTransient = (error: MlflowError): boolean =>
  error._tag === "MlflowTransportError" ||
  error.status === 408 || error.status === 429 || (error.status >= 500 && error.status !== 501) ||
  (error.status === 400 && overloaded.test(error.detail))

/**
 * MLflow answers 400 when its database is overloaded (SQLAlchemy's connection pool is exhausted,
 * SQLite is locked): those are transient despite the status.
 */
const overloaded = /QueuePool limit|database is locked|connection timed out|could not obtain lock/i

/**
 * Connection settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `http(s)://host[:port][/prefix]` */
  readonly trackingUri: string
  readonly token?: Redacted.Redacted | undefined
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted | undefined
  /** per request; default 120 seconds (`MLFLOW_HTTP_REQUEST_TIMEOUT`) */
  readonly timeout?: Duration.DurationInput | undefined
  /** `service.name` of exported spans (MLflow records it as a trace tag); none by default */
  readonly serviceName?: string | undefined
  /** requests in flight at once, across all callers of this client; default 8 */
  readonly maxConcurrentRequests?: number | undefined
}

/**
 * An MLflow experiment.
 *
 * @since 0.1.0
 * @category models
 */
export interface Experiment {
  readonly experimentId: string
  readonly name: string
  readonly artifactLocation: string
  readonly lifecycleStage: string
}

/**
 * A raw JSON answer.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonObject = { readonly [key: string]: unknown }

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  readonly json?: Json | undefined
  readonly bytes?: { readonly body: Uint8Array; readonly contentType: string } | undefined
  readonly query?: Readonly<Record<string, string | ReadonlyArray<string>>> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** the largest answer read; default 8 MiB */
  readonly maxAnswerBytes?: number | undefined
}

/**
 * The client service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly trackingUri: string
  /** Any call to the server; answers the decoded JSON body (`{}` when empty). */
  readonly request: (
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    options?: RequestOptions
  ) => Effect.Effect<JsonObject, MlflowError>
  readonly getExperimentByName: (name: string) => Effect.Effect<Option.Option<Experiment>, MlflowError>
  readonly createExperiment: (name: string) => Effect.Effect<string, MlflowError>
  /** Looks the experiment up by name and creates it when missing; safe when two processes race. */
  readonly getOrCreateExperiment: (name: string) => Effect.Effect<string, MlflowError>
  /** `StartTraceV3`: stores the trace info; answers the stored tags. */
  readonly startTrace: (info: TraceInfo) => Effect.Effect<Readonly<Record<string, string>>, MlflowError>
  /** Whether the server answers `GET /health` with a success (never fails; a short timeout). */
  readonly isHealthy: Effect.Effect<boolean>
  /** OTLP protobuf to `/v1/traces`. */
  readonly logSpans: (experimentId: string, spans: ReadonlyArray<SpanData>) => Effect.Effect<void, MlflowError>
  /** Uploads `traces.json` to a trace's artifact location (`mlflow-artifacts:` or `http(s)`). */
  readonly uploadTraceData: (
    artifactLocation: string,
    spans: ReadonlyArray<SpanData>
  ) => Effect.Effect<void, MlflowError>
  /** `GET /api/3.0/mlflow/traces/{id}`: the trace info. */
  readonly getTraceInfo: (traceId: string) => Effect.Effect<JsonObject, MlflowError>
  /** A trace with its spans: from the tracking store, else from its `traces.json` artifact. */
  readonly getTrace: (traceId: string) => Effect.Effect<StoredTrace, MlflowError>
  /** `SearchTracesV3`: one page of trace infos. */
  readonly searchTraces: (request: SearchRequest) => Effect.Effect<SearchPage, MlflowError>
  readonly setTraceTag: (traceId: string, key: string, value: string) => Effect.Effect<void, MlflowError>
  readonly deleteTraceTag: (traceId: string, key: string) => Effect.Effect<void, MlflowError>
  /** Answers how many traces were deleted. */
  readonly deleteTraces: (request: DeleteRequest) => Effect.Effect<number, MlflowError>
  readonly createAssessment: (assessment: JsonObject) => Effect.Effect<Assessment.Assessment, MlflowError>
  readonly getAssessment: (traceId: string, assessmentId: string) => Effect.Effect<Assessment.Assessment, MlflowError>
  readonly updateAssessment: (
    traceId: string,
    assessmentId: string,
    assessment: JsonObject,
    updateMask: ReadonlyArray<string>
  ) => Effect.Effect<Assessment.Assessment, MlflowError>
  readonly deleteAssessment: (traceId: string, assessmentId: string) => Effect.Effect<void, MlflowError>
}

/**
 * One page of a search.
 *
 * @since 0.1.0
 * @category models
 */
export interface SearchRequest {
  readonly experimentIds: ReadonlyArray<string>
  readonly filter?: string | undefined
  /** at most 500 */
  readonly maxResults?: number | undefined
  readonly orderBy?: ReadonlyArray<string> | undefined
  readonly pageToken?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SearchPage {
  readonly traces: ReadonlyArray<StoredTrace["info"]>
  readonly nextPageToken: string | undefined
}

/**
 * What to delete: given traces, or traces older than a time (optionally at most `maxTraces`, oldest
 * first).
 *
 * @since 0.1.0
 * @category models
 */
export type DeleteRequest =
  | { readonly experimentId: string; readonly traceIds: ReadonlyArray<string> }
  | { readonly experimentId: string; readonly olderThanMillis: number; readonly maxTraces?: number | undefined }

/**
 * @since 0.1.0
 * @category tags
 */
export class MlflowClient extends Context.Tag("effect-mlflow/MlflowClient")<MlflowClient, Service>() {}

const parseJson = (text: string): JsonObject => {
  if (text.trim() === "") return {}
  const value = parseBigJson(text)
  return typeof value === "object" && value !== null ? value as JsonObject : { value }
}

/**
 * Milliseconds to wait from a `Retry-After` header (seconds or an HTTP date).
 *
 * @since 0.1.0
 * @category utils
 */
export const parseRetryAfter = (header: string | undefined, now: number = Date.now()): number | undefined => {
  if (header === undefined || header.trim() === "") return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

const apiError = (
  method: string,
  url: string,
  status: number,
  text: string,
  retryAfter: string | undefined
): MlflowApiError => {
  let errorCode = `HTTP_${status}`
  let detail = text.slice(0, 2000)
  try {
    const body = JSON.parse(text)
    if (typeof body?.error_code === "string") errorCode = body.error_code
    if (typeof body?.message === "string") detail = body.message
    else if (body?.detail !== undefined) detail = JSON.stringify(body.detail)
  } catch {
    // not JSON: keep the text
  }
  const retryAfterMillis = parseRetryAfter(retryAfter)
  return new MlflowApiError({
    method,
    url,
    status,
    errorCode,
    detail,
    ...(retryAfterMillis === undefined ? {} : { retryAfterMillis })
  })
}

/**
 * Resolves an artifact location to the URL of a file in it.
 *
 * @since 0.1.0
 * @category utils
 */
export const artifactUrl = (trackingUri: string, artifactLocation: string, file: string): Option.Option<string> => {
  if (artifactLocation.startsWith("mlflow-artifacts:")) {
    const path = artifactLocation.replace(/^mlflow-artifacts:(\/\/[^/]*)?/, "").replace(/^\/+/, "")
    return Option.some(`${trackingUri}/api/2.0/mlflow-artifacts/artifacts/${path}/${file}`)
  }
  if (/^https?:\/\//.test(artifactLocation)) return Option.some(`${artifactLocation.replace(/\/+$/, "")}/${file}`)
  return Option.none()
}

/** Success answers read at most this much (a trace's data is read with a larger cap). */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024
/** Error answers: enough for any message MLflow writes. */
const MAX_ERROR_ANSWER_BYTES = 64 * 1024

/** Reads a body up to `cap` bytes; past it, the rest is not read (the stream is cancelled). */
const readCapped = <E>(body: Stream.Stream<Uint8Array, E>, cap: number) =>
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
    return { complete: size <= cap, text: new TextDecoder().decode(bytes) }
  }))

const TRANSPORT_CAUSES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^ECONNREFUSED$/, "connection refused"],
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/, "host not found (DNS)"],
  [/^(ECONNRESET|UND_ERR_SOCKET|EPIPE)$/, "connection reset"],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT)$/, "connection timed out"],
  [/^(EHOSTUNREACH|ENETUNREACH)$/, "host unreachable"],
  [/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_SSL/, "TLS failed"]
]

/** What went wrong under a request error, from the causes fetch and Node attach (codes like ECONNREFUSED). */
const describeTransportError = (
  error: { readonly message: string; readonly cause?: unknown }
): { readonly detail: string; readonly reason: string } => {
  const parts: Array<string> = []
  let reason = "transport error"
  let cause: unknown = error.cause
  for (let depth = 0; depth < 6 && typeof cause === "object" && cause !== null; depth++) {
    const { code, message } = cause as { readonly code?: unknown; readonly message?: unknown }
    const known = typeof code === "string" ? TRANSPORT_CAUSES.find(([pattern]) => pattern.test(code)) : undefined
    if (known !== undefined) {
      if (reason === "transport error") reason = known[1]
      parts.push(`${known[1]} (${code as string}${typeof message === "string" ? `: ${message}` : ""})`)
    } else if (typeof message === "string" && message !== "" && !parts.includes(message)) parts.push(message)
    cause = (cause as { readonly cause?: unknown }).cause
  }
  return { detail: parts.length === 0 ? error.message : `${error.message}: ${parts.join(": ")}`, reason }
}

/**
 * Builds the client over an `HttpClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  // credentials in the URI are sent as Basic auth (unless given apart) and never printed
  const split = splitCredentials(options.trackingUri.trim())
  const trackingUri = split.uri.replace(/\/+$/, "")
  const username = options.username ?? (options.password === undefined ? split.username : undefined)
  const password = options.password ??
    (options.username === undefined && split.password !== undefined ? Redacted.make(split.password) : undefined)
  const timeout = Duration.decode(options.timeout ?? Duration.seconds(120))
  // MLflow copies `service.name` into a trace tag, so it is sent only when the user sets one
  const resource: Otlp.Resource = {
    attributes: {
      ...(options.serviceName === undefined ? {} : { "service.name": options.serviceName }),
      "telemetry.sdk.name": "effect-mlflow",
      "telemetry.sdk.language": "nodejs"
    }
  }
  const authorize = username !== undefined && password !== undefined
    ? HttpClientRequest.basicAuth(username, Redacted.value(password))
    : options.token !== undefined
    ? HttpClientRequest.bearerToken(Redacted.value(options.token))
    : (request: HttpClientRequest.HttpClientRequest) => request
  const permits = yield* Effect.makeSemaphore(options.maxConcurrentRequests ?? 8)
  const client = (yield* HttpClient.HttpClient).pipe(
    HttpClient.withTracerDisabledWhen(() => true),
    HttpClient.withTracerPropagation(false)
  )

  // our own credentials never leave in an error, even when a server or proxy echoes them back
  const secrets = [
    options.token === undefined ? "" : Redacted.value(options.token),
    password === undefined ? "" : Redacted.value(password),
    password === undefined ? "" : encodeURIComponent(Redacted.value(password)),
    username === undefined || password === undefined
      ? ""
      : bytesToBase64(new TextEncoder().encode(`${username}:${Redacted.value(password)}`))
  ].filter((secret) => secret.length >= 4)
  const scrub = (text: string): string =>
    scrubUrlCredentials(secrets.reduce((out, secret) => out.replaceAll(secret, "<redacted>"), text))

  const request: Service["request"] = (method, path, requestOptions = {}) => {
    const url = /^https?:\/\//.test(path) ? path : `${trackingUri}${path}`
    let req = HttpClientRequest.make(method)(url).pipe(
      authorize,
      HttpClientRequest.setHeader("User-Agent", "effect-mlflow/0.1.0")
    )
    if (requestOptions.query !== undefined) req = HttpClientRequest.setUrlParams(req, requestOptions.query)
    if (requestOptions.headers !== undefined) req = HttpClientRequest.setHeaders(req, requestOptions.headers)
    if (requestOptions.json !== undefined) {
      req = HttpClientRequest.bodyText(req, safeStringify(requestOptions.json), "application/json")
    } else if (requestOptions.bytes !== undefined) {
      req = HttpClientRequest.bodyUint8Array(req, requestOptions.bytes.body, requestOptions.bytes.contentType)
    }
    const shownUrl = scrubUrlCredentials(url)
    const transport = (detail: string, reason?: string) =>
      new MlflowTransportError({ method, url: shownUrl, detail: scrub(detail), reason: reason ?? "transport error" })
    const failed = (error: { readonly message: string; readonly cause?: unknown }) => {
      const { detail, reason } = describeTransportError(error)
      return Effect.fail(transport(detail, reason))
    }
    return client.execute(req).pipe(
      Effect.flatMap((response) => {
        const ok = response.status >= 200 && response.status < 300
        const cap = ok ? requestOptions.maxAnswerBytes ?? MAX_ANSWER_BYTES : MAX_ERROR_ANSWER_BYTES
        return Effect.flatMap(
          readCapped(response.stream, cap),
          ({ complete, text }): Effect.Effect<JsonObject, MlflowError> => {
            if (ok && !complete) {
              return Effect.fail(
                new MlflowApiError({
                  method,
                  url: shownUrl,
                  status: response.status,
                  errorCode: "ANSWER_TOO_LARGE",
                  detail: `the answer is larger than ${cap} bytes and was not read; is this an MLflow tracking server?`
                })
              )
            }
            if (ok) {
              return Effect.try({
                try: () => parseJson(text),
                catch: () => transport("the answer is not JSON", "answer not JSON")
              })
            }
            return Effect.fail(
              apiError(method, shownUrl, response.status, scrub(text), response.headers["retry-after"])
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
        onTimeout: () => transport(`timed out after ${Duration.format(timeout)}`, "timed out")
      }),
      permits.withPermits(1),
      Effect.withTracerEnabled(false)
    )
  }

  const toExperiment = (raw: any): Experiment => ({
    experimentId: String(raw.experiment_id),
    name: String(raw.name),
    artifactLocation: String(raw.artifact_location ?? ""),
    lifecycleStage: String(raw.lifecycle_stage ?? "active")
  })

  const getExperimentByName: Service["getExperimentByName"] = (name) =>
    request("GET", "/api/2.0/mlflow/experiments/get-by-name", { query: { experiment_name: name } }).pipe(
      Effect.map((body) => Option.some(toExperiment(body.experiment))),
      Effect.catchIf(
        (error) => error._tag === "MlflowApiError" && error.errorCode === "RESOURCE_DOES_NOT_EXIST",
        () => Effect.succeedNone
      )
    )

  const createExperiment: Service["createExperiment"] = (name) =>
    request("POST", "/api/2.0/mlflow/experiments/create", { json: { name } }).pipe(
      Effect.map((body) => String(body.experiment_id))
    )

  const getOrCreateExperiment: Service["getOrCreateExperiment"] = (name) =>
    getExperimentByName(name).pipe(
      Effect.flatMap(Option.match({
        onSome: (experiment) => Effect.succeed(experiment.experimentId),
        onNone: () =>
          createExperiment(name).pipe(
            Effect.catchIf(
              (error) => error._tag === "MlflowApiError" && error.errorCode === "RESOURCE_ALREADY_EXISTS",
              () =>
                getExperimentByName(name).pipe(Effect.flatMap(Option.match({
                  onSome: (experiment) => Effect.succeed(experiment.experimentId),
                  onNone: () => createExperiment(name)
                })))
            )
          )
      }))
    )

  const startTrace: Service["startTrace"] = (info) =>
    request("POST", "/api/3.0/mlflow/traces", { json: { trace: { trace_info: traceInfoToProtoJson(info) } } }).pipe(
      Effect.map((body: any) => (body?.trace?.trace_info?.tags ?? {}) as Record<string, string>)
    )

  const logSpans: Service["logSpans"] = (experimentId, spans) =>
    Effect.asVoid(request("POST", "/v1/traces", {
      bytes: { body: Otlp.encodeTraceRequest(spans, resource), contentType: "application/x-protobuf" },
      headers: { "x-mlflow-experiment-id": experimentId }
    }))

  const uploadTraceData: Service["uploadTraceData"] = (artifactLocation, spans) =>
    Option.match(artifactUrl(trackingUri, artifactLocation, "traces.json"), {
      onNone: () =>
        Effect.fail<MlflowError>(
          new MlflowApiError({
            method: "PUT",
            url: artifactLocation,
            status: 0,
            errorCode: "UNSUPPORTED_ARTIFACT_LOCATION",
            detail: "only mlflow-artifacts: and http(s) artifact locations can be written by a remote client; " +
              "start the server with --serve-artifacts"
          })
        ),
      onSome: (url) =>
        Effect.asVoid(request("PUT", url, {
          bytes: { body: new TextEncoder().encode(traceDataToJson(spans)), contentType: "application/json" }
        }))
    })

  const getTraceInfo: Service["getTraceInfo"] = (traceId) =>
    request("GET", `/api/3.0/mlflow/traces/${encodeURIComponent(traceId)}`)

  const queries = makeQueries(request, trackingUri, getTraceInfo)

  const isHealthy = client.execute(HttpClientRequest.get(`${trackingUri}/health`).pipe(authorize)).pipe(
    Effect.map((response) => response.status >= 200 && response.status < 300),
    Effect.timeoutTo({ duration: Duration.seconds(5), onSuccess: (up) => up, onTimeout: () => false }),
    Effect.catchAll(() => Effect.succeed(false)),
    Effect.scoped,
    Effect.withTracerEnabled(false)
  )

  return MlflowClient.of({
    trackingUri,
    request,
    isHealthy,
    getExperimentByName,
    createExperiment,
    getOrCreateExperiment,
    startTrace,
    logSpans,
    uploadTraceData,
    getTraceInfo,
    ...queries
  })
})

/**
 * The client configured from MLflow's environment variables (`MLFLOW_TRACKING_URI`, which must be a
 * server URL, and the credentials), over `fetch`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: MlflowConfig.Options = {}
): Layer.Layer<MlflowClient, MlflowConfig.MlflowConfigError> =>
  Layer.effect(
    MlflowClient,
    Effect.gen(function*() {
      const env = yield* MlflowConfig.fromEnv
      const config = yield* MlflowConfig.make({
        ...env,
        ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined))
      })
      if (config.destination._tag !== "Server") {
        return yield* new MlflowConfig.MlflowConfigError({
          setting: "trackingUri (MLFLOW_TRACKING_URI)",
          detail: "the MLflow client needs the http(s):// URL of a tracking server"
        })
      }
      return yield* make({
        trackingUri: config.destination.trackingUri,
        token: config.token,
        username: config.username,
        password: config.password,
        timeout: config.requestTimeout
      })
    })
  ).pipe(Layer.provide(FetchHttpClient.layer))

/**
 * The client as a layer (needs an `HttpClient`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<MlflowClient, never, HttpClient.HttpClient> =>
  Layer.effect(MlflowClient, make(options))
