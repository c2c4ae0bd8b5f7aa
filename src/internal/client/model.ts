import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type { SpanData, TraceInfo } from "../../Trace.js"
import type { Json } from "../common/json.js"
import type { Assessment } from "../format/assessmentJson.js"
import type { StoredTrace, StoredTraceInfo } from "../format/traceRead.js"
import type { MlflowError } from "./errors.js"

/** How to reach a tracking server: shared by the client and the tracing layer. */
export interface Connection {
  /** `http(s)://host[:port][/prefix]`; credentials in it are sent as Basic auth */
  readonly trackingUri?: string | undefined
  /** `Authorization: Bearer` */
  readonly token?: Redacted.Redacted | undefined
  /** with `password`: `Authorization: Basic` (wins over `token`, as in MLflow's Python client) */
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted | undefined
  /** per request; default 120 seconds (`MLFLOW_HTTP_REQUEST_TIMEOUT`) */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** `service.name` of exported spans (MLflow records it as a trace tag); none by default */
  readonly serviceName?: string | undefined
  /** requests in flight at once, across all callers of one client; default 8 */
  readonly maxConcurrentRequests?: number | undefined
  /**
   * the workspace of a server run with `--enable-workspaces` (`MLFLOW_WORKSPACE`): sent as the
   * `X-MLFLOW-WORKSPACE` header, as MLflow's client does; none by default (the server's default)
   */
  readonly workspace?: string | undefined
  /**
   * a CA bundle (PEM file) the server's certificate is checked against instead of the system's
   * (`MLFLOW_TRACKING_SERVER_CERT_PATH`)
   */
  readonly serverCertPath?: string | undefined
  /** a client certificate and its private key in one PEM file (`MLFLOW_TRACKING_CLIENT_CERT_PATH`) */
  readonly clientCertPath?: string | undefined
  /** `true`: the server's certificate is not checked (`MLFLOW_TRACKING_INSECURE_TLS`); never with `serverCertPath` */
  readonly insecureTls?: boolean | undefined
  /**
   * `true`: every request is signed with AWS Signature Version 4 for `execute-api` (an API Gateway in
   * front of the server), as MLflow's `MLFLOW_TRACKING_AWS_SIGV4`; a SageMaker ARN as the tracking URI
   * is always signed
   */
  readonly awsSigV4?: boolean | undefined
  /** where the AWS credentials and region come from (the standard `AWS_*` variables) */
  readonly aws?: AwsOptions | undefined
  /** with a `databricks` or `databricks://<profile>` tracking URI: the workspace and its credentials */
  readonly databricks?: DatabricksOptions | undefined
}

/**
 * The Databricks settings, as the standard `DATABRICKS_*` variables give them; what is not given is
 * read from a profile of the configuration file, as Databricks' SDKs do.
 */
export interface DatabricksOptions {
  /** `DATABRICKS_HOST`: the workspace URL */
  readonly host?: string | undefined
  /** `DATABRICKS_TOKEN`: a personal access token */
  readonly token?: Redacted.Redacted | undefined
  /** `DATABRICKS_CLIENT_ID`: a service principal's, for OAuth machine-to-machine */
  readonly clientId?: string | undefined
  /** `DATABRICKS_CLIENT_SECRET` */
  readonly clientSecret?: Redacted.Redacted | undefined
  /** `DATABRICKS_USERNAME`, with `password`: basic auth */
  readonly username?: string | undefined
  /** `DATABRICKS_PASSWORD` */
  readonly password?: Redacted.Redacted | undefined
  /** `DATABRICKS_CONFIG_PROFILE`; the tracking URI's `databricks://<profile>` wins */
  readonly profile?: string | undefined
  /** `DATABRICKS_CONFIG_FILE`; default `~/.databrickscfg` */
  readonly configFile?: string | undefined
  /** `DATABRICKS_AUTH_TYPE`: `pat`, `basic` or `oauth-m2m`, when more than one is configured */
  readonly authType?: string | undefined
  /** `DATABRICKS_WORKSPACE_ID`: sent as `X-Databricks-Org-Id`; else the host's metadata tells it */
  readonly workspaceId?: string | undefined
  /** `DATABRICKS_DISCOVERY_URL`: the OIDC discovery document, for OAuth; else the host's metadata names it */
  readonly discoveryUrl?: string | undefined
}

/** The AWS settings, as the standard variables give them; the shared files are read when needed. */
export interface AwsOptions {
  /** `AWS_ACCESS_KEY_ID` */
  readonly accessKeyId?: string | undefined
  /** `AWS_SECRET_ACCESS_KEY` */
  readonly secretAccessKey?: Redacted.Redacted | undefined
  /** `AWS_SESSION_TOKEN` (or the older `AWS_SECURITY_TOKEN`) */
  readonly sessionToken?: Redacted.Redacted | undefined
  /** `AWS_PROFILE` (or `AWS_DEFAULT_PROFILE`); default `default` */
  readonly profile?: string | undefined
  /** `AWS_REGION` or `AWS_DEFAULT_REGION`; default the profile's, or the ARN's */
  readonly region?: string | undefined
  /** `AWS_SHARED_CREDENTIALS_FILE`; default `~/.aws/credentials` */
  readonly credentialsFile?: string | undefined
  /** `AWS_CONFIG_FILE`; default `~/.aws/config` */
  readonly configFile?: string | undefined
  /** `SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT`: where a SageMaker ARN's requests go instead of its regional endpoint */
  readonly endpoint?: string | undefined
}

/** The client's options: a connection to a server, and an optional change of the `HttpClient`. */
export interface Options extends Connection {
  readonly trackingUri: string
  /** changes the `HttpClient` the client sends through (a proxy, more headers, its own tracing) */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
  /** more secrets `transformClient` sends (a session token), scrubbed from errors as the client's own are */
  readonly moreSecrets?: ReadonlyArray<Redacted.Redacted> | undefined
  /**
   * headers every request to the server carries, asked for before each one (an OAuth token that is
   * refreshed when it expires); `request` sends the calls they need themselves, anonymously
   */
  readonly dynamicHeaders?: DynamicHeaders | undefined
  /** whether the server is up, when `GET /health` does not tell (a Databricks workspace has none) */
  readonly healthCheck?: ((request: Request) => Effect.Effect<boolean>) | undefined
}

/** Headers made per request, with the client's own `request` and a way to add secrets to scrub. */
export type DynamicHeaders = (
  request: Request,
  addSecret: (secret: string) => void
) => Effect.Effect<Effect.Effect<Readonly<Record<string, string>>, MlflowError>>

export interface Experiment {
  readonly experimentId: string
  readonly name: string
  readonly artifactLocation: string
  readonly lifecycleStage: string
}

/** A raw JSON answer. */
export type JsonObject = { readonly [key: string]: unknown }

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

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

/** Any call to the server; answers the decoded JSON body (`{}` when empty). */
export type Request = (method: Method, path: string, options?: RequestOptions) => Effect.Effect<JsonObject, MlflowError>

export interface SearchRequest {
  readonly experimentIds: ReadonlyArray<string>
  readonly filter?: string | undefined
  /** at most 500 */
  readonly maxResults?: number | undefined
  readonly orderBy?: ReadonlyArray<string> | undefined
  readonly pageToken?: string | undefined
}

export interface SearchPage {
  readonly traces: ReadonlyArray<StoredTraceInfo>
  readonly nextPageToken: string | undefined
}

/** What to delete: given traces, or traces older than a time (optionally at most `maxTraces`, oldest first). */
export type DeleteRequest =
  | { readonly experimentId: string; readonly traceIds: ReadonlyArray<string> }
  | { readonly experimentId: string; readonly olderThanMillis: number; readonly maxTraces?: number | undefined }

export interface Service {
  readonly trackingUri: string
  readonly request: Request
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
