/**
 * A typed client for the MLflow tracking server REST API (experiments, traces, OTLP spans,
 * artifacts, assessments), over `@effect/platform`'s `HttpClient`. Its own calls are never traced,
 * and its answers are checked against the shapes the API defines.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Assessments from "./internal/client/assessments.js"
import * as Errors from "./internal/client/errors.js"
import * as Experiments from "./internal/client/experiments.js"
import * as Http from "./internal/client/http.js"
import type * as Model from "./internal/client/model.js"
import * as Traces from "./internal/client/traces.js"
import { originOf } from "./internal/client/url.js"
import type { Json } from "./internal/common/json.js"
import { lazyModule } from "./internal/common/lazy.js"
import type { Assessment } from "./internal/format/assessmentJson.js"
import type { StoredTrace, StoredTraceInfo } from "./internal/format/traceRead.js"
import * as MlflowConfig from "./MlflowConfig.js"
import type { SpanData, TraceInfo } from "./Trace.js"

/**
 * The server answered with an error status (`reason: "Status"`), or with an answer larger than
 * the client reads (`"AnswerTooLarge"`).
 *
 * @since 0.1.0
 * @category errors
 */
export const MlflowApiError: typeof Errors.MlflowApiError = Errors.MlflowApiError

/**
 * @since 0.1.0
 * @category errors
 */
export type MlflowApiError = Errors.MlflowApiError

/**
 * The request got no usable answer: `reason` is `"Transport"` (refused, reset, DNS, TLS; see
 * `description`), `"Certificate"` (the server's TLS certificate is not trusted; not retried), `"Timeout"`, `"Decode"` (not JSON, or not the shape of the answer) or
 * `"InvalidUrl"` (it could not be made).
 *
 * @since 0.1.0
 * @category errors
 */
export const MlflowTransportError: typeof Errors.MlflowTransportError = Errors.MlflowTransportError

/**
 * @since 0.1.0
 * @category errors
 */
export type MlflowTransportError = Errors.MlflowTransportError

/**
 * Any failure of a call to the server: an `MlflowApiError` or an `MlflowTransportError`.
 *
 * @since 0.1.0
 * @category errors
 */
export type MlflowError = MlflowApiError | MlflowTransportError

/**
 * The client's options: how to reach the server, and an optional change of the `HttpClient` it
 * sends through (`transformClient`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Model.Connection {
  readonly trackingUri: string
  /** changes the `HttpClient` the client sends through (a proxy, more headers, its own tracing) */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
  /** more secrets `transformClient` sends (a session token), scrubbed from errors as the client's own are */
  readonly moreSecrets?: ReadonlyArray<Redacted.Redacted> | undefined
  /**
   * headers every request to the server carries, asked for before each one (an OAuth token that is
   * refreshed when it expires); `request` sends the calls they need themselves, anonymously
   */
  readonly dynamicHeaders?: Model.DynamicHeaders | undefined
  /** whether the server is up, when `GET /health` does not tell (a Databricks workspace has none) */
  readonly healthCheck?: ((request: Model.Request) => Effect.Effect<boolean>) | undefined
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
  /** `application/x-www-form-urlencoded` (an OAuth token request) */
  readonly form?: Readonly<Record<string, string>> | undefined
  /** the largest answer read; default 8 MiB */
  readonly maxAnswerBytes?: number | undefined
  /**
   * sent without the client's credentials, headers and transformation: a URL signed for cloud storage
   * or an identity provider's, which must not see the server's credentials
   */
  readonly anonymous?: boolean | undefined
  /** a success answer's body is not read as JSON (cloud storage answers XML or nothing) */
  readonly ignoreAnswer?: boolean | undefined
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
  readonly traces: ReadonlyArray<StoredTraceInfo>
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
 * The client service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly trackingUri: string
  readonly request: Model.Request
  /** `GetExperiment` by id. */
  readonly getExperiment: (id: string) => Effect.Effect<Experiment, MlflowError>
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
  /**
   * Uploads `traces.json` to a trace's artifact location (`mlflow-artifacts:` or `http(s)`; on a
   * Databricks workspace, `dbfs:`, through a credential for the trace `traceId`, its MLflow id).
   */
  readonly uploadTraceData: (
    artifactLocation: string,
    spans: ReadonlyArray<SpanData>,
    traceId?: string
  ) => Effect.Effect<void, MlflowError>
  /**
   * Uploads one file under an artifact location (`mlflow-artifacts:` or `http(s)`; on a Databricks
   * workspace, a trace's `dbfs:` one, through a credential for the trace `traceId`).
   */
  readonly uploadArtifact: (
    artifactLocation: string,
    file: string,
    body: Uint8Array,
    contentType: string,
    traceId?: string
  ) => Effect.Effect<void, MlflowError>
  /** `GET /api/3.0/mlflow/traces/{id}`: the trace info. */
  readonly getTraceInfo: (traceId: string) => Effect.Effect<StoredTraceInfo, MlflowError>
  /** A trace with its spans: from the tracking store, else from its `traces.json` artifact. */
  readonly getTrace: (traceId: string) => Effect.Effect<StoredTrace, MlflowError>
  /** `SearchTracesV3`: one page of trace infos. */
  readonly searchTraces: (request: SearchRequest) => Effect.Effect<SearchPage, MlflowError>
  readonly setTraceTag: (traceId: string, key: string, value: string) => Effect.Effect<void, MlflowError>
  readonly deleteTraceTag: (traceId: string, key: string) => Effect.Effect<void, MlflowError>
  /** Answers how many traces were deleted. */
  readonly deleteTraces: (request: DeleteRequest) => Effect.Effect<number, MlflowError>
  readonly createAssessment: (assessment: JsonObject) => Effect.Effect<Assessment, MlflowError>
  readonly getAssessment: (traceId: string, assessmentId: string) => Effect.Effect<Assessment, MlflowError>
  readonly updateAssessment: (
    traceId: string,
    assessmentId: string,
    assessment: JsonObject,
    updateMask: ReadonlyArray<string>
  ) => Effect.Effect<Assessment, MlflowError>
  readonly deleteAssessment: (traceId: string, assessmentId: string) => Effect.Effect<void, MlflowError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class MlflowClient extends Context.Tag("effect-mlflow/MlflowClient")<MlflowClient, Service>() {}

/**
 * Builds the client over the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<Service, never, HttpClient.HttpClient> = Effect.fnUntraced(
  function*(options: Options) {
    const http = yield* Http.make(options)
    // MLflow copies `service.name` into a trace tag, so it is sent only when the user sets one
    const resource = {
      attributes: {
        ...(options.serviceName === undefined ? {} : { "service.name": options.serviceName }),
        "telemetry.sdk.name": "effect-mlflow",
        "telemetry.sdk.language": "nodejs"
      }
    }
    return MlflowClient.of({
      trackingUri: http.trackingUri,
      request: http.request,
      isHealthy: http.isHealthy,
      ...Experiments.make(http.request, http.trackingUri),
      ...Traces.make(http.request, http.trackingUri, resource),
      ...Assessments.make(http.request, http.trackingUri)
    })
  }
)

/**
 * The client as a layer, over the `HttpClient` in context (provide `FetchHttpClient.layer`, or
 * your own).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<MlflowClient, never, HttpClient.HttpClient> =>
  Layer.effect(MlflowClient, make(options))

/**
 * The client configured from MLflow's environment variables (`MLFLOW_TRACKING_URI`, which must be a
 * server URL, and the credentials; see `MlflowConfig.connection`), overridden by `overrides`, over
 * the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<Options> = {}
): Layer.Layer<MlflowClient, MlflowConfig.MlflowConfigError, HttpClient.HttpClient> =>
  Layer.effect(
    MlflowClient,
    Effect.flatMap(MlflowConfig.serverConnection(overrides), (connection) => make({ ...overrides, ...connection }))
  )

/**
 * `layerConfig` over `fetch`; with TLS settings (`MLFLOW_TRACKING_SERVER_CERT_PATH`,
 * `MLFLOW_TRACKING_CLIENT_CERT_PATH`, `MLFLOW_TRACKING_INSECURE_TLS`), over `httpClientLayer`'s
 * `node:https`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfigFetch = (
  overrides: Partial<Options> = {}
): Layer.Layer<MlflowClient, MlflowConfig.MlflowConfigError> =>
  Layer.unwrapEffect(
    MlflowConfig.serverConnection(overrides).pipe(
      Effect.flatMap(MlflowConfig.make),
      Effect.map((config) =>
        Layer.effect(
          MlflowClient,
          config.destination._tag === "Server"
            ? fromConfig(config, config.destination, overrides.transformClient)
            : Effect.die("serverConnection answers a server's settings only")
        )
      )
    )
  )

// what only some backends need (AWS signing, Databricks, TLS settings), loaded when configured
const loadSigv4 = lazyModule(() => import("./internal/client/sigv4.js"))
const loadDatabricksAuth = lazyModule(() => import("./internal/client/databricksAuth.js"))
const loadNodeHttps = lazyModule(() => import("./internal/client/nodeHttps.js"))

/**
 * The client of validated settings' tracking server: their credentials, timeout, workspace, TLS
 * (`httpClientLayer`) and AWS signing.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromConfig = (
  config: MlflowConfig.MlflowConfig,
  destination: Extract<MlflowConfig.Destination, { readonly _tag: "Server" }>,
  transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
): Effect.Effect<Service, MlflowConfig.MlflowConfigError> =>
  Effect.gen(function*() {
    const signing = config.signing
    // signing sees every request as it leaves: after the caller's own changes
    const signed = signing === undefined
      ? undefined
      : (yield* loadSigv4).signing(signing.credentials, signing.scope, signing.headers)
    const databricks = config.databricks
    const auth = databricks?.auth
    const databricksAuth = auth === undefined ? undefined : yield* loadDatabricksAuth
    return yield* make({
      trackingUri: destination.trackingUri,
      ...(auth === undefined || databricksAuth === undefined
        ? { token: config.token, username: config.username, password: config.password }
        : {
          token: auth._tag === "Pat" ? auth.token : undefined,
          username: auth._tag === "Basic" ? auth.username : undefined,
          password: auth._tag === "Basic" ? auth.password : undefined,
          dynamicHeaders: databricksAuth.headers(databricks!),
          healthCheck: databricksAuth.healthCheck
        }),
      requestTimeout: config.requestTimeout,
      serviceName: config.serviceName,
      workspace: config.workspace,
      maxConcurrentRequests: config.maxConcurrentRequests,
      moreSecrets: signing === undefined
        ? undefined
        : [
          signing.credentials.secretAccessKey,
          ...(signing.credentials.sessionToken ? [signing.credentials.sessionToken] : [])
        ],
      transformClient: signed === undefined
        ? transformClient
        : transformClient === undefined
        ? signed
        : (client) => transformClient(signed(client))
    }).pipe(Effect.provide(httpClientLayer(config.tls, originOf(destination.trackingUri))))
  })

// names in variables: bundlers for runtimes without them leave them alone
const NODE_MODULES = ["node:http", "node:https", "node:stream"] as const

/**
 * The `HttpClient` for these TLS settings (`MlflowConfig`'s `tls`): `fetch` without any; with a CA
 * bundle, a client certificate or `insecureTls`, `node:https` with them (Node, Bun and Deno have
 * it), as `fetch` takes no such options. With `origin` (the tracking server's `scheme://host:port`),
 * the settings apply to that origin only, as MLflow's client applies them: other hosts (cloud
 * storage, identity providers) are checked against the system's CAs and get no client certificate.
 *
 * @since 0.2.0
 * @category layers
 */
export const httpClientLayer = (
  tls: MlflowConfig.TlsSettings | undefined,
  origin?: string | undefined
): Layer.Layer<HttpClient.HttpClient, MlflowConfig.MlflowConfigError> =>
  tls === undefined ? FetchHttpClient.layer : Layer.scoped(
    HttpClient.HttpClient,
    Effect.all([
      Effect.tryPromise({
        try: () => Promise.all(NODE_MODULES.map((name) => import(/* @vite-ignore */ name))),
        catch: () =>
          new MlflowConfig.MlflowConfigError({
            setting:
              "TLS (MLFLOW_TRACKING_SERVER_CERT_PATH, MLFLOW_TRACKING_CLIENT_CERT_PATH, MLFLOW_TRACKING_INSECURE_TLS)",
            detail: "TLS settings need node:https, which this runtime does not have"
          })
      }),
      loadNodeHttps
    ]).pipe(Effect.flatMap(([[http, https, stream], NodeHttps]) => {
      const clientCert = tls.clientCert === undefined ? undefined : Redacted.value(tls.clientCert)
      return NodeHttps.make({ http, https, stream }, {
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(clientCert === undefined ? {} : { cert: clientCert, key: clientCert }),
        rejectUnauthorized: tls.rejectUnauthorized
      }, origin)
    }))
  )
