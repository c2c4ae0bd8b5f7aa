/**
 * Every setting of the tracing layer, from options or from the same environment variables as
 * MLflow's Python SDK, validated with errors that name the setting and what it accepts.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as ClientModel from "./internal/client/model.js"
import type * as Sigv4 from "./internal/client/sigv4.js"
import { splitCredentials } from "./internal/client/url.js"
import { DEFAULT_LOCAL_DIRECTORY } from "./internal/common/defaults.js"
import { withoutUndefined } from "./internal/common/options.js"
import { scrub } from "./internal/common/scrub.js"
import * as Aws from "./internal/config/aws.js"
import * as Databricks from "./internal/config/databricks.js"
import * as Otlp from "./internal/config/otlp.js"
import * as Variables from "./internal/config/variables.js"
import * as Redaction from "./Redaction.js"
import type { Sink } from "./Sink.js"

/**
 * A setting has a value it cannot take.
 *
 * @since 0.1.0
 * @category errors
 */
export class MlflowConfigError extends Schema.TaggedError<MlflowConfigError>()("MlflowConfigError", {
  /** the setting, with its environment variable */
  setting: Schema.String,
  detail: Schema.String,
  /** when read from a `ConfigProvider`: the `ConfigError`, with its structure */
  configError: Schema.optional(Schema.declare(ConfigError.isConfigError))
}) {
  get message(): string {
    return `Invalid ${this.setting}: ${this.detail}`
  }
}

/**
 * How to reach a tracking server: the settings the tracing layer and `MlflowClient` share.
 *
 * @since 0.1.0
 * @category models
 */
export interface Connection extends ClientModel.Connection {}

/**
 * Options of the tracing layer. Every field is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Connection {
  /** `http(s)://...` for a tracking server, `file:<dir>` or nothing for the local store */
  readonly trackingUri?: string | undefined
  /** with `experimentName` too, both must name the same experiment (checked at the first export) */
  readonly experimentId?: string | undefined
  /** looked up by name and created when missing */
  readonly experimentName?: string | undefined
  /** local store directory when no tracking server is set; default `mlflow-traces` */
  readonly localDirectory?: string | undefined
  /** traces the export queue holds; default 1000 */
  readonly queueCapacity?: number | undefined
  /** when the queue is full: `sliding` drops the oldest trace (default), `dropping` the newest (MLflow's) */
  readonly queueStrategy?: "sliding" | "dropping" | undefined
  /** export worker fibers; default 10 */
  readonly workers?: number | undefined
  /** traces per export request; default 50 */
  readonly batchSize?: number | undefined
  /**
   * When a trace's info goes to the server in its own `StartTraceV3` request (see `TraceInfoDelivery`);
   * default `"auto"`
   */
  readonly traceInfo?: TraceInfoDelivery | undefined
  /** export in the background (default); `false`: `Mlflow.span` roots complete after their trace is stored */
  readonly asyncLogging?: boolean | undefined
  /** total time spent retrying one batch; default 500 seconds */
  readonly retryTimeout?: Duration.DurationInput | undefined
  /** first retry delay (doubling, with jitter); default 1 second */
  readonly retryInitialDelay?: Duration.DurationInput | undefined
  /** longest retry delay (a longer `Retry-After` wins); default 60 seconds */
  readonly retryMaxDelay?: Duration.DurationInput | undefined
  /** fraction of traces recorded, decided at the root; default 1 */
  readonly samplingRatio?: number | undefined
  /** traces in progress at once (the oldest is dropped past it); default 1000 */
  readonly bufferMaxSize?: number | undefined
  /** a trace in progress for longer is dropped; default 1 hour */
  readonly bufferTtl?: Duration.DurationInput | undefined
  /** a trace in progress for longer is force-ended with ERROR and exported; default none */
  readonly traceTimeout?: Duration.DurationInput | undefined
  /** whether tracing starts enabled; default `true` (see `MlflowTracing.Service.setEnabled`) */
  readonly enabled?: boolean | undefined
  /** redact the values of keys that name secrets (`Redaction.redactKeys()`), before `spanProcessors`; default `true` */
  readonly redactSecrets?: boolean | undefined
  /** run over every finished span before export, in order (see `Redaction`) */
  readonly spanProcessors?: ReadonlyArray<Redaction.SpanProcessor> | undefined
  /** largest JSON size of one attribute value (inputs, outputs...) before it is cut; default 1 MiB */
  readonly maxAttributeBytes?: number | undefined
  /** largest JSON size of one span's attributes; default 4 MiB */
  readonly maxSpanBytes?: number | undefined
  /** largest JSON size of one trace's attributes; default 16 MiB */
  readonly maxTraceBytes?: number | undefined
  /** spans kept per trace (the root and the earliest); default 10000 */
  readonly maxSpansPerTrace?: number | undefined
  /** how long layer release waits for the queue to drain; default 30 seconds */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  /** how long a trace whose root ended waits for spans still open under it; default 10 seconds */
  readonly lateSpanGrace?: Duration.DurationInput | undefined
  /**
   * Export to an OpenTelemetry collector (`OTEL_EXPORTER_OTLP_*`): replaces export to MLflow unless
   * `dualExport` is set
   */
  readonly otlp?: OtlpOptions | undefined
  /** with `otlp`: export to MLflow (the server, or the local store) too (`MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT`) */
  readonly dualExport?: boolean | undefined
  /**
   * OTLP export writes spans in the OpenTelemetry GenAI semantic conventions (`gen_ai.*`), as MLflow's
   * Python SDK does (`MLFLOW_ENABLE_OTEL_GENAI_SEMCONV`); default `false`
   */
  readonly genAiSemanticConventions?: boolean | undefined
  /**
   * Base64 content of span inputs and outputs (`data:` URIs, and the image and audio parts of the
   * OpenAI, Anthropic, Bedrock and Gemini message shapes) is stored as trace attachments on the MLflow
   * server, as MLflow 3.18 does (`MLFLOW_TRACE_EXTRACT_ATTACHMENTS`); default `true`. Other
   * destinations keep it inline.
   */
  readonly extractAttachments?: boolean | undefined
  /**
   * Larger attachments are discarded and replaced by a note (`MLFLOW_TRACE_MAX_ATTACHMENT_SIZE`, bytes);
   * default none, as is 0 or less
   */
  readonly maxAttachmentSize?: number | undefined
  /**
   * More destinations, by name, each with its own queue, workers, retries and counts (see
   * `Stats.destinations`), beside MLflow or the collector (an OpenTelemetry exporter, see
   * `effect-mlflow/opentelemetry/OtelExporterSink`)
   */
  readonly alsoExportTo?: Readonly<Record<string, Sink>> | undefined
  /**
   * A directory for the durable spool (`EFFECT_MLFLOW_SPOOL_DIR`); default none (no spool). With a
   * tracking server, traces that would be lost while it is away (queue full, retry budget spent,
   * still queued or in flight when `shutdownTimeout` ends) are written there, and sent from there,
   * in the background, once it answers, by any process using the same spool (or `effect-mlflow push`)
   */
  readonly spoolDirectory?: string | undefined
  /** the spool's size per destination, in bytes (`EFFECT_MLFLOW_SPOOL_MAX_BYTES`); default 256 MiB, oldest dropped first */
  readonly spoolMaxBytes?: number | undefined
  /** how long a trace waits in the spool at most (`EFFECT_MLFLOW_SPOOL_MAX_AGE`, seconds); default 7 days */
  readonly spoolMaxAge?: Duration.DurationInput | undefined
  /** the local store's size, in bytes (`EFFECT_MLFLOW_LOCAL_MAX_BYTES`); default none, oldest removed first */
  readonly localMaxBytes?: number | undefined
  /** how long the local store keeps a trace (`EFFECT_MLFLOW_LOCAL_MAX_AGE`, seconds); default forever */
  readonly localMaxAge?: Duration.DurationInput | undefined
}

/**
 * Export to an OTLP endpoint (see `Options.otlp`).
 *
 * @since 0.2.0
 * @category models
 */
export interface OtlpOptions extends Otlp.OtlpOptions {}

/**
 * Validated OTLP settings.
 *
 * @since 0.2.0
 * @category models
 */
export interface OtlpConfig extends Otlp.OtlpConfig {}

/**
 * How the trace info reaches an MLflow server. The spans of a batch go in one OTLP request, from
 * which MLflow 3.18 builds the trace record itself (times, state, previews, token usage and cost,
 * session, user, tags and name); what it cannot build from spans (the source, git and size metadata,
 * the schema version, user-set metadata, a client request id, previews or a state set by hand) takes
 * one `StartTraceV3` request per trace, which costs the server several times what the spans do.
 *
 * - `"always"`: every trace gets its `StartTraceV3` (complete at any load; the server's limit is lower);
 * - `"auto"`: every trace while the exporter keeps up; when traces wait in the queue, or a shutdown
 *   drains more than a batch, only those carrying something the spans cannot, and the others are
 *   stored from their spans alone (counted in `Stats.abridged`); asked again before each
 *   `StartTraceV3`, so a batch taken at leisure goes abridged for the rest when the queue fills meanwhile;
 * - `"whenNeeded"`: only traces carrying something the spans cannot (user-set metadata, a client
 *   request id, previews or a state set by hand, unusual tag keys): the most traces per second.
 *
 * @since 0.1.0
 * @category models
 */
export type TraceInfoDelivery = "always" | "auto" | "whenNeeded"

/**
 * Where traces go.
 *
 * @since 0.1.0
 * @category models
 */
export type Destination =
  | {
    readonly _tag: "Server"
    readonly trackingUri: string
    /** the SageMaker ARN the tracking URI named (then `trackingUri` is its endpoint) */
    readonly sagemakerArn?: string | undefined
    /** a Databricks workspace (`databricks[://<profile>]`; then `trackingUri` is its host) */
    readonly databricks?: boolean | undefined
    readonly experiment:
      | { readonly _tag: "Id"; readonly id: string }
      | { readonly _tag: "Name"; readonly name: string }
      | { readonly _tag: "IdAndName"; readonly id: string; readonly name: string }
  }
  | { readonly _tag: "Local"; readonly directory: string }

/**
 * Bounds of a directory of trace files (the spool, the local store): the oldest go first.
 *
 * @since 0.2.0
 * @category models
 */
export interface DirectoryBounds {
  readonly maxBytes: number | undefined
  readonly maxAge: Duration.Duration | undefined
}

/**
 * TLS settings of the connection to a tracking server, read from the files they name: with them,
 * requests go through `node:https` instead of `fetch`.
 *
 * @since 0.2.0
 * @category models
 */
export interface TlsSettings {
  /** PEM: the CAs the server's certificate must chain to; `undefined`: the system's */
  readonly ca: string | undefined
  /** PEM: a client certificate with its private key */
  readonly clientCert: Redacted.Redacted | undefined
  readonly rejectUnauthorized: boolean
}

/**
 * AWS Signature Version 4 for every request (SageMaker's managed MLflow, `MLFLOW_TRACKING_AWS_SIGV4`).
 *
 * @since 0.2.0
 * @category models
 */
export interface SigningSettings {
  readonly credentials: Sigv4.AwsCredentials
  readonly scope: Sigv4.SigningScope
  /** headers every request carries, signed with it (the SageMaker server's ARN) */
  readonly headers: Readonly<Record<string, string>>
  /** where the credentials came from, for messages */
  readonly source: string
}

/**
 * A Databricks workspace and how to authenticate to it (`databricks[://<profile>]` tracking URIs).
 *
 * @since 0.2.0
 * @category models
 */
export interface DatabricksSettings {
  readonly host: string
  readonly auth:
    | { readonly _tag: "Pat"; readonly token: Redacted.Redacted }
    | { readonly _tag: "Basic"; readonly username: string; readonly password: Redacted.Redacted }
    | {
      readonly _tag: "OAuthM2M"
      readonly clientId: string
      readonly clientSecret: Redacted.Redacted
      readonly discoveryUrl: string | undefined
      readonly scopes: string
    }
  /** sent as `X-Databricks-Org-Id`; `undefined`: the host's metadata tells it */
  readonly workspaceId: string | undefined
  /** the profile of the configuration file the settings came from, if one */
  readonly profile: string | undefined
}

/**
 * Validated settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface MlflowConfig {
  readonly destination: Destination
  readonly token: Redacted.Redacted | undefined
  readonly username: string | undefined
  readonly password: Redacted.Redacted | undefined
  readonly requestTimeout: Duration.Duration
  readonly serviceName: string | undefined
  /** `MLFLOW_WORKSPACE`, trimmed; undefined when unset or blank */
  readonly workspace: string | undefined
  readonly maxConcurrentRequests: number
  /** `undefined`: the platform's defaults (over `fetch`) */
  readonly tls: TlsSettings | undefined
  /** `undefined`: requests are not signed */
  readonly signing: SigningSettings | undefined
  /** `undefined`: not a Databricks workspace */
  readonly databricks: DatabricksSettings | undefined
  readonly queueCapacity: number
  readonly queueStrategy: "sliding" | "dropping"
  readonly workers: number
  readonly batchSize: number
  readonly traceInfo: TraceInfoDelivery
  readonly asyncLogging: boolean
  readonly retryTimeout: Duration.Duration
  readonly retryInitialDelay: Duration.Duration
  readonly retryMaxDelay: Duration.Duration
  readonly samplingRatio: number
  readonly bufferMaxSize: number
  readonly bufferTtl: Duration.Duration
  readonly traceTimeout: Duration.Duration | undefined
  readonly enabled: boolean
  readonly spanProcessors: ReadonlyArray<Redaction.SpanProcessor>
  readonly maxAttributeBytes: number
  readonly maxSpanBytes: number
  readonly maxTraceBytes: number
  readonly maxSpansPerTrace: number
  readonly shutdownTimeout: Duration.Duration
  readonly lateSpanGrace: Duration.Duration
  /** export to an OpenTelemetry collector; with it, `destination` is used only when `dualExport` */
  readonly otlp: OtlpConfig | undefined
  readonly dualExport: boolean
  readonly genAiSemanticConventions: boolean
  readonly extractAttachments: boolean
  /** `undefined`: no limit */
  readonly maxAttachmentSize: number | undefined
  readonly alsoExportTo: Readonly<Record<string, Sink>>
  /** the spool's directory, `undefined` when there is none */
  readonly spoolDirectory: string | undefined
  readonly spool: { readonly maxBytes: number; readonly maxAge: Duration.Duration }
  readonly localStore: DirectoryBounds
}

const TRACE_INFO_DELIVERIES: ReadonlyArray<TraceInfoDelivery> = ["always", "auto", "whenNeeded"]

const invalid = (setting: string, detail: string) => Effect.fail(new MlflowConfigError({ setting, detail }))

const positiveInt = (setting: string, value: number | undefined, fallback: number) =>
  value === undefined
    ? Effect.succeed(fallback)
    : Number.isInteger(value) && value > 0
    ? Effect.succeed(value)
    : invalid(setting, `expected a whole number greater than 0, got ${value}`)

const duration = (setting: string, value: Duration.DurationInput | undefined, fallback: Duration.Duration) => {
  if (value === undefined) return Effect.succeed(fallback)
  const decoded = Option.getOrUndefined(Duration.decodeUnknown(value))
  return decoded !== undefined && Duration.isFinite(decoded) && Duration.toMillis(decoded) >= 0
    ? Effect.succeed(decoded)
    : invalid(setting, `expected a finite, non-negative duration, got ${String(value)}`)
}

/** `given`: the tracking URI, `withoutCredentials` the same without `user:password@` */
const destination = (
  options: Options,
  given: string | undefined,
  withoutCredentials: string | undefined,
  databricks: DatabricksSettings | undefined
): Effect.Effect<Destination, MlflowConfigError> => {
  // credentials in the URI never appear in a message (the client sends them as Basic auth)
  const uri = given === undefined ? undefined : scrub(given)
  if (uri === undefined || uri === "") {
    return Effect.succeed({ _tag: "Local", directory: options.localDirectory ?? DEFAULT_LOCAL_DIRECTORY })
  }
  if (uri.startsWith("file:")) {
    const directory = uri.replace(/^file:(\/\/)?/, "")
    return directory === ""
      ? invalid("trackingUri (MLFLOW_TRACKING_URI)", "file: needs a directory, e.g. file:./mlflow-traces")
      : Effect.succeed({ _tag: "Local", directory })
  }
  const sagemaker = Aws.parseSageMakerArn(uri)
  if (typeof sagemaker === "string") return invalid("trackingUri (MLFLOW_TRACKING_URI)", sagemaker)
  if (databricks !== undefined) return databricksDestination(options, databricks)
  if (sagemaker === undefined && !/^https?:\/\//.test(uri)) {
    return invalid(
      "trackingUri (MLFLOW_TRACKING_URI)",
      `expected an http(s):// URL of an MLflow tracking server or file:<directory>, got "${uri}"` +
        (/^(sqlite|postgresql|mysql|mssql)/.test(uri)
          ? " (database URIs are not supported: run `mlflow server` and point at its URL)"
          : "")
    )
  }
  const endpoint = sagemaker === undefined ? undefined : options.aws?.endpoint?.trim() || sagemaker.endpoint
  try {
    new URL(endpoint ?? given!)
  } catch {
    return invalid(
      endpoint === undefined ? "trackingUri (MLFLOW_TRACKING_URI)" : "aws.endpoint (SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT)",
      `"${endpoint ?? uri}" is not a valid URL`
    )
  }
  return Effect.map(experimentOf(options), (experiment) => ({
    _tag: "Server" as const,
    trackingUri: (endpoint ?? withoutCredentials!).replace(/\/+$/, ""),
    ...(sagemaker === undefined ? {} : { sagemakerArn: sagemaker.arn }),
    experiment
  }))
}

type ExperimentRef = Extract<Destination, { readonly _tag: "Server" }>["experiment"]

const experimentOf = (options: Options): Effect.Effect<ExperimentRef, MlflowConfigError> => {
  const id = options.experimentId?.trim()
  const name = options.experimentName?.trim()
  if (options.experimentId !== undefined && id === "") {
    return invalid("experimentId (MLFLOW_EXPERIMENT_ID)", "expected a non-empty experiment id")
  }
  if (options.experimentName !== undefined && name === "") {
    return invalid("experimentName (MLFLOW_EXPERIMENT_NAME)", "expected a non-empty experiment name")
  }
  return Effect.succeed(
    id !== undefined && name !== undefined
      ? { _tag: "IdAndName" as const, id, name }
      : id !== undefined
      ? { _tag: "Id" as const, id }
      : name !== undefined
      ? { _tag: "Name" as const, name }
      : { _tag: "Id" as const, id: "0" }
  )
}

/**
 * A Databricks workspace has no default experiment for a service, and names experiments by their
 * workspace path (`/Users/<user>/<name>`, `/Shared/<name>`).
 */
const databricksDestination = (
  options: Options,
  databricks: DatabricksSettings
): Effect.Effect<Destination, MlflowConfigError> => {
  const name = options.experimentName?.trim()
  if (options.experimentId === undefined && options.experimentName === undefined) {
    return invalid(
      "experimentName (MLFLOW_EXPERIMENT_NAME)",
      "a Databricks workspace needs an experiment: set MLFLOW_EXPERIMENT_NAME to its workspace path " +
        "(e.g. /Users/you@example.com/chat-service) or MLFLOW_EXPERIMENT_ID"
    )
  }
  if (name !== undefined && name !== "" && !name.startsWith("/")) {
    return invalid(
      "experimentName (MLFLOW_EXPERIMENT_NAME)",
      `Databricks names experiments by workspace path, e.g. /Users/you@example.com/${name} or /Shared/${name}; got "${name}"`
    )
  }
  return Effect.map(experimentOf(options), (experiment) => ({
    _tag: "Server" as const,
    trackingUri: databricks.host,
    databricks: true,
    experiment
  }))
}

const readPem = (setting: string, file: string) =>
  Effect.tryPromise({
    // loaded only when used: the default path stays free of `node:fs`
    try: () => import("node:fs/promises").then((fs) => fs.readFile(file, "utf8")),
    catch: (error) =>
      new MlflowConfigError({
        setting,
        detail: `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`
      })
  }).pipe(
    Effect.filterOrFail(
      (text) => text.includes("-----BEGIN "),
      () => new MlflowConfigError({ setting, detail: `${file} is not a PEM file (no -----BEGIN line)` })
    )
  )

const SERVER_CERT = "serverCertPath (MLFLOW_TRACKING_SERVER_CERT_PATH)"
const CLIENT_CERT = "clientCertPath (MLFLOW_TRACKING_CLIENT_CERT_PATH)"

/** As MLflow's client: a CA bundle and "insecure" together are an error; blank paths count as unset. */
const tlsSettings = (options: Options): Effect.Effect<TlsSettings | undefined, MlflowConfigError> => {
  const serverCert = options.serverCertPath?.trim() || undefined
  const clientCert = options.clientCertPath?.trim() || undefined
  const insecure = options.insecureTls === true
  if (serverCert === undefined && clientCert === undefined && !insecure) return Effect.succeed(undefined)
  if (insecure && serverCert !== undefined) {
    return invalid(
      "insecureTls (MLFLOW_TRACKING_INSECURE_TLS)",
      "cannot be true while serverCertPath (MLFLOW_TRACKING_SERVER_CERT_PATH) is set: choose one"
    )
  }
  return Effect.all({
    ca: serverCert === undefined ? Effect.succeed(undefined) : readPem(SERVER_CERT, serverCert),
    clientCert: clientCert === undefined
      ? Effect.succeed(undefined)
      : Effect.map(readPem(CLIENT_CERT, clientCert), Redacted.make),
    rejectUnauthorized: Effect.succeed(!insecure)
  })
}

/** A file's text, `undefined` when there is none; `~/` is the home directory. */
const readOptional = (file: string) =>
  Effect.promise(async () => {
    const [fs, os, path] = await Promise.all([import("node:fs/promises"), import("node:os"), import("node:path")])
    const resolved = file.startsWith("~/") ? path.join(os.homedir(), file.slice(2)) : file
    return fs.readFile(resolved, "utf8").catch(() => undefined)
  })

const SIGNING = "awsSigV4 (MLFLOW_TRACKING_AWS_SIGV4, or a SageMaker ARN as MLFLOW_TRACKING_URI)"

/** Credentials and region for SigV4, when the URI is a SageMaker ARN or signing is asked for. */
const signingSettings = (
  options: Options,
  uri: string | undefined
): Effect.Effect<SigningSettings | undefined, MlflowConfigError> => {
  const sagemaker = uri === undefined ? undefined : Aws.parseSageMakerArn(uri)
  const target = typeof sagemaker === "object" ? sagemaker : undefined
  if (target === undefined && options.awsSigV4 !== true) return Effect.succeed(undefined)
  const aws = options.aws ?? {}
  return Effect.gen(function*() {
    const [credentialsFile, configFile] = yield* Effect.all([
      readOptional(aws.credentialsFile?.trim() || "~/.aws/credentials"),
      readOptional(aws.configFile?.trim() || "~/.aws/config")
    ])
    const sources: Aws.AwsSources = {
      env: {
        AWS_ACCESS_KEY_ID: aws.accessKeyId,
        AWS_SECRET_ACCESS_KEY: aws.secretAccessKey === undefined ? undefined : Redacted.value(aws.secretAccessKey),
        AWS_SESSION_TOKEN: aws.sessionToken === undefined ? undefined : Redacted.value(aws.sessionToken),
        AWS_PROFILE: aws.profile,
        AWS_REGION: aws.region
      },
      credentialsFile,
      configFile
    }
    const credentials = Aws.resolveCredentials(sources)
    if (credentials._tag === "Missing") return yield* invalid(SIGNING, credentials.detail)
    const region = target?.region ?? Aws.resolveRegion(sources)
    if (region === undefined) {
      return yield* invalid(SIGNING, "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or region in the profile")
    }
    const { accessKeyId, secretAccessKey, sessionToken, source } = credentials.value
    return {
      credentials: {
        accessKeyId,
        secretAccessKey: Redacted.make(secretAccessKey),
        sessionToken: sessionToken === undefined ? undefined : Redacted.make(sessionToken)
      },
      scope: { region, service: target?.service ?? "execute-api" },
      headers: target === undefined ? {} : Object.fromEntries([target.header]),
      source
    }
  })
}

const DATABRICKS = "databricks (MLFLOW_TRACKING_URI databricks[://<profile>], DATABRICKS_*)"

/** The workspace and credentials of a `databricks[://<profile>]` tracking URI, as Databricks' SDKs resolve them. */
const databricksSettings = (
  options: Options,
  uri: string | undefined
): Effect.Effect<DatabricksSettings | undefined, MlflowConfigError> => {
  const parsed = uri === undefined ? undefined : Databricks.parseDatabricksUri(uri)
  if (parsed === undefined) return Effect.succeed(undefined)
  if (typeof parsed === "string") return invalid("trackingUri (MLFLOW_TRACKING_URI)", parsed)
  const given = options.databricks ?? {}
  const path = given.configFile?.trim() || "~/.databrickscfg"
  const reveal = (secret: Redacted.Redacted | undefined) => secret === undefined ? undefined : Redacted.value(secret)
  return Effect.flatMap(readOptional(path), (text) => {
    const resolved = Databricks.resolveDatabricks({
      uriProfile: parsed.profile,
      given: {
        host: given.host,
        token: reveal(given.token),
        client_id: given.clientId,
        client_secret: reveal(given.clientSecret),
        username: given.username,
        password: reveal(given.password),
        profile: given.profile,
        auth_type: given.authType,
        workspace_id: given.workspaceId,
        discovery_url: given.discoveryUrl
      },
      configFile: { path, text }
    })
    if (resolved._tag === "Missing") return invalid(DATABRICKS, resolved.detail)
    const { auth, host, profile, workspaceId } = resolved.value
    try {
      new URL(host)
    } catch {
      return invalid(DATABRICKS, `the host "${host}" is not a valid URL`)
    }
    return Effect.succeed<DatabricksSettings>({
      host,
      profile,
      workspaceId,
      auth: auth._tag === "Pat"
        ? { _tag: "Pat", token: Redacted.make(auth.token) }
        : auth._tag === "Basic"
        ? { _tag: "Basic", username: auth.username, password: Redacted.make(auth.password) }
        : { ...auth, clientSecret: Redacted.make(auth.clientSecret) }
    })
  })
}

const RESERVED_DESTINATIONS = new Set(["mlflow", "otlp"])

const alsoExportTo = (given: Options["alsoExportTo"]) => {
  const names = Object.keys(given ?? {})
  const taken = names.find((name) => RESERVED_DESTINATIONS.has(name) || !/^[A-Za-z0-9_.-]+$/.test(name))
  return taken === undefined
    ? Effect.succeed(given ?? {})
    : invalid("alsoExportTo", `"${taken}" cannot name a destination (letters, digits, _ . -; not mlflow or otlp)`)
}

const otlp = (options: Options): Effect.Effect<OtlpConfig | undefined, MlflowConfigError> => {
  if (options.otlp === undefined) return Effect.succeed(undefined)
  const serviceName = options.serviceName
  return Otlp.validate(options.otlp).pipe(
    Effect.mapError((problem) => new MlflowConfigError(problem)),
    Effect.map((config) =>
      serviceName === undefined
        ? config
        : { ...config, resourceAttributes: { ...config.resourceAttributes, "service.name": serviceName } }
    )
  )
}

/**
 * Validates options.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<MlflowConfig, MlflowConfigError> => {
  // `http://user:password@host`: sent as Basic auth, as MLflow's Python client does, unless the
  // username or password is given apart; the destination keeps the URI without them
  const given = options.trackingUri?.trim()
  const inUri = given === undefined ? undefined : splitCredentials(given)
  const fromUri = inUri?.username !== undefined && options.username === undefined && options.password === undefined
  return Effect.flatMap(databricksSettings(options, given), (databricks) =>
    Effect.all({
      destination: destination(options, given, inUri?.uri, databricks),
      databricks: Effect.succeed(databricks),
      token: Effect.succeed(options.token),
      username: Effect.succeed(fromUri ? inUri!.username : options.username),
      password: Effect.succeed(fromUri ? Redacted.make(inUri!.password ?? "") : options.password),
      requestTimeout: duration(
        "requestTimeout (MLFLOW_HTTP_REQUEST_TIMEOUT)",
        options.requestTimeout,
        Duration.seconds(120)
      ),
      serviceName: Effect.succeed(options.serviceName),
      workspace: Effect.succeed(options.workspace?.trim() || undefined),
      maxConcurrentRequests: positiveInt("maxConcurrentRequests", options.maxConcurrentRequests, 8),
      tls: tlsSettings(options),
      signing: signingSettings(options, given),
      queueCapacity: positiveInt(
        "queueCapacity (MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE)",
        options.queueCapacity,
        1000
      ),
      queueStrategy: options.queueStrategy === undefined || options.queueStrategy === "sliding" ||
          options.queueStrategy === "dropping"
        ? Effect.succeed(options.queueStrategy ?? "sliding")
        : invalid(
          "queueStrategy (EFFECT_MLFLOW_QUEUE_STRATEGY)",
          `expected "sliding" or "dropping", got "${options.queueStrategy}"`
        ),
      workers: positiveInt("workers (MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS)", options.workers, 10),
      batchSize: positiveInt("batchSize", options.batchSize, 50),
      traceInfo: options.traceInfo === undefined || TRACE_INFO_DELIVERIES.includes(options.traceInfo)
        ? Effect.succeed(options.traceInfo ?? "auto")
        : invalid(
          "traceInfo (EFFECT_MLFLOW_TRACE_INFO)",
          `expected "always", "auto" or "whenNeeded", got "${options.traceInfo}"`
        ),
      asyncLogging: Effect.succeed(options.asyncLogging ?? true),
      retryTimeout: duration(
        "retryTimeout (MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT)",
        options.retryTimeout,
        Duration.seconds(500)
      ),
      retryInitialDelay: duration("retryInitialDelay", options.retryInitialDelay, Duration.seconds(1)),
      retryMaxDelay: duration("retryMaxDelay", options.retryMaxDelay, Duration.seconds(60)),
      samplingRatio: options.samplingRatio === undefined
        ? Effect.succeed(1)
        : options.samplingRatio >= 0 && options.samplingRatio <= 1
        ? Effect.succeed(options.samplingRatio)
        : invalid(
          "samplingRatio (MLFLOW_TRACE_SAMPLING_RATIO)",
          `expected a number from 0 to 1, got ${options.samplingRatio}`
        ),
      bufferMaxSize: positiveInt("bufferMaxSize (MLFLOW_TRACE_BUFFER_MAX_SIZE)", options.bufferMaxSize, 1000),
      bufferTtl: duration("bufferTtl (MLFLOW_TRACE_BUFFER_TTL_SECONDS)", options.bufferTtl, Duration.hours(1)),
      traceTimeout: options.traceTimeout === undefined
        ? Effect.succeed(undefined)
        : duration("traceTimeout (MLFLOW_TRACE_TIMEOUT_SECONDS)", options.traceTimeout, Duration.zero),
      enabled: Effect.succeed(options.enabled ?? true),
      spanProcessors: Effect.succeed([
        ...(options.redactSecrets === false ? [] : [Redaction.redactKeys()]),
        ...(options.spanProcessors ?? [])
      ]),
      maxAttributeBytes: positiveInt("maxAttributeBytes", options.maxAttributeBytes, 1024 * 1024),
      maxSpanBytes: positiveInt("maxSpanBytes", options.maxSpanBytes, 4 * 1024 * 1024),
      maxTraceBytes: positiveInt("maxTraceBytes", options.maxTraceBytes, 16 * 1024 * 1024),
      maxSpansPerTrace: positiveInt("maxSpansPerTrace", options.maxSpansPerTrace, 10_000),
      shutdownTimeout: duration("shutdownTimeout", options.shutdownTimeout, Duration.seconds(30)),
      lateSpanGrace: duration("lateSpanGrace", options.lateSpanGrace, Duration.seconds(10)),
      otlp: otlp(options),
      dualExport: Effect.succeed(options.dualExport ?? false),
      genAiSemanticConventions: Effect.succeed(options.genAiSemanticConventions ?? false),
      extractAttachments: Effect.succeed(options.extractAttachments ?? true),
      maxAttachmentSize: options.maxAttachmentSize === undefined || options.maxAttachmentSize <= 0
        ? Effect.succeed(undefined)
        : positiveInt("maxAttachmentSize (MLFLOW_TRACE_MAX_ATTACHMENT_SIZE)", options.maxAttachmentSize, 0),
      alsoExportTo: alsoExportTo(options.alsoExportTo),
      spoolDirectory: options.spoolDirectory === undefined || options.spoolDirectory.trim() !== ""
        ? Effect.succeed(options.spoolDirectory)
        : invalid("spoolDirectory (EFFECT_MLFLOW_SPOOL_DIR)", "expected a directory"),
      spool: Effect.all({
        maxBytes: positiveInt(
          "spoolMaxBytes (EFFECT_MLFLOW_SPOOL_MAX_BYTES)",
          options.spoolMaxBytes,
          256 * 1024 * 1024
        ),
        maxAge: duration("spoolMaxAge (EFFECT_MLFLOW_SPOOL_MAX_AGE)", options.spoolMaxAge, Duration.days(7))
      }),
      localStore: Effect.all({
        maxBytes: options.localMaxBytes === undefined
          ? Effect.succeed(undefined)
          : positiveInt("localMaxBytes (EFFECT_MLFLOW_LOCAL_MAX_BYTES)", options.localMaxBytes, 0),
        maxAge: options.localMaxAge === undefined
          ? Effect.succeed(undefined)
          : duration("localMaxAge (EFFECT_MLFLOW_LOCAL_MAX_AGE)", options.localMaxAge, Duration.zero)
      })
    })).pipe(Effect.flatMap((config) =>
      (config.username === undefined) !== (config.password === undefined)
        ? invalid(
          "username/password (MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD)",
          "set both for basic auth, or neither"
        )
        : Effect.succeed(config)
    ))
}

/**
 * The connection settings from MLflow's environment variables: `MLFLOW_TRACKING_URI`,
 * `MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_USERNAME`, `MLFLOW_TRACKING_PASSWORD`,
 * `MLFLOW_HTTP_REQUEST_TIMEOUT` (seconds), `MLFLOW_WORKSPACE`, `OTEL_SERVICE_NAME`, the TLS ones
 * (`MLFLOW_TRACKING_SERVER_CERT_PATH`, `MLFLOW_TRACKING_CLIENT_CERT_PATH`, `MLFLOW_TRACKING_INSECURE_TLS`),
 * `MLFLOW_TRACKING_AWS_SIGV4`, and AWS's (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`, `AWS_PROFILE`, `AWS_REGION`, `AWS_DEFAULT_REGION`, `AWS_SHARED_CREDENTIALS_FILE`,
 * `AWS_CONFIG_FILE`, `SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT`), and Databricks' (`DATABRICKS_HOST`, `DATABRICKS_TOKEN`,
 * `DATABRICKS_CLIENT_ID`, `DATABRICKS_CLIENT_SECRET`, `DATABRICKS_USERNAME`, `DATABRICKS_PASSWORD`,
 * `DATABRICKS_CONFIG_PROFILE`, `DATABRICKS_CONFIG_FILE`, `DATABRICKS_AUTH_TYPE`, `DATABRICKS_WORKSPACE_ID`,
 * `DATABRICKS_DISCOVERY_URL`).
 *
 * @since 0.1.0
 * @category config
 */
export const connection: Config.Config<Connection> = Config.all({
  trackingUri: Variables.text("MLFLOW_TRACKING_URI"),
  token: Variables.secret("MLFLOW_TRACKING_TOKEN"),
  username: Variables.text("MLFLOW_TRACKING_USERNAME"),
  password: Variables.secret("MLFLOW_TRACKING_PASSWORD"),
  requestTimeout: Variables.seconds("MLFLOW_HTTP_REQUEST_TIMEOUT"),
  workspace: Variables.text("MLFLOW_WORKSPACE"),
  serviceName: Variables.text("OTEL_SERVICE_NAME"),
  serverCertPath: Variables.text("MLFLOW_TRACKING_SERVER_CERT_PATH"),
  clientCertPath: Variables.text("MLFLOW_TRACKING_CLIENT_CERT_PATH"),
  insecureTls: Variables.optional("MLFLOW_TRACKING_INSECURE_TLS", Config.boolean("MLFLOW_TRACKING_INSECURE_TLS")),
  awsSigV4: Variables.optional("MLFLOW_TRACKING_AWS_SIGV4", Config.boolean("MLFLOW_TRACKING_AWS_SIGV4")),
  aws: Config.all({
    accessKeyId: Variables.text("AWS_ACCESS_KEY_ID"),
    secretAccessKey: Variables.secret("AWS_SECRET_ACCESS_KEY"),
    sessionToken: Config.zipWith(
      Variables.secret("AWS_SESSION_TOKEN"),
      Variables.secret("AWS_SECURITY_TOKEN"),
      (token, legacy) => token ?? legacy
    ),
    profile: Config.zipWith(Variables.text("AWS_PROFILE"), Variables.text("AWS_DEFAULT_PROFILE"), (p, d) => p ?? d),
    region: Config.zipWith(Variables.text("AWS_REGION"), Variables.text("AWS_DEFAULT_REGION"), (r, d) => r ?? d),
    credentialsFile: Variables.text("AWS_SHARED_CREDENTIALS_FILE"),
    configFile: Variables.text("AWS_CONFIG_FILE"),
    endpoint: Variables.text("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT")
  }),
  databricks: Config.all({
    host: Variables.text("DATABRICKS_HOST"),
    token: Variables.secret("DATABRICKS_TOKEN"),
    clientId: Variables.text("DATABRICKS_CLIENT_ID"),
    clientSecret: Variables.secret("DATABRICKS_CLIENT_SECRET"),
    username: Variables.text("DATABRICKS_USERNAME"),
    password: Variables.secret("DATABRICKS_PASSWORD"),
    profile: Variables.text("DATABRICKS_CONFIG_PROFILE"),
    configFile: Variables.text("DATABRICKS_CONFIG_FILE"),
    authType: Variables.text("DATABRICKS_AUTH_TYPE"),
    workspaceId: Variables.text("DATABRICKS_WORKSPACE_ID"),
    discoveryUrl: Variables.text("DATABRICKS_DISCOVERY_URL")
  })
})

/**
 * Every option from MLflow's environment variables: those of `connection`, and
 * `MLFLOW_EXPERIMENT_ID`, `MLFLOW_EXPERIMENT_NAME`, `MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE`,
 * `MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS`, `MLFLOW_ENABLE_ASYNC_TRACE_LOGGING`,
 * `MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT` (seconds), `MLFLOW_TRACE_SAMPLING_RATIO`,
 * `MLFLOW_TRACE_BUFFER_MAX_SIZE`, `MLFLOW_TRACE_BUFFER_TTL_SECONDS`, `MLFLOW_TRACE_TIMEOUT_SECONDS`,
 * `EFFECT_MLFLOW_LOCAL_DIR` (local store directory), `EFFECT_MLFLOW_QUEUE_STRATEGY` (`sliding`
 * or `dropping`), `EFFECT_MLFLOW_TRACE_INFO` (`always`, `auto` or `whenNeeded`), the OpenTelemetry
 * exporter variables (`OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT`, `_PROTOCOL`, `_HEADERS`, `_COMPRESSION`,
 * `_TIMEOUT` in milliseconds, `OTEL_RESOURCE_ATTRIBUTES`, `MLFLOW_ENABLE_OTLP_EXPORTER`),
 * `MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT`, `MLFLOW_ENABLE_OTEL_GENAI_SEMCONV`, `MLFLOW_TRACE_EXTRACT_ATTACHMENTS` and
 * `MLFLOW_TRACE_MAX_ATTACHMENT_SIZE`, the spool's `EFFECT_MLFLOW_SPOOL_DIR`, `EFFECT_MLFLOW_SPOOL_MAX_BYTES` and
 * `EFFECT_MLFLOW_SPOOL_MAX_AGE` (seconds), and the local store's `EFFECT_MLFLOW_LOCAL_MAX_BYTES` and
 * `EFFECT_MLFLOW_LOCAL_MAX_AGE` (seconds). A `Config`, so it reads from whichever `ConfigProvider` is current.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.all({
  connection,
  experimentId: Variables.text("MLFLOW_EXPERIMENT_ID"),
  experimentName: Variables.text("MLFLOW_EXPERIMENT_NAME"),
  queueCapacity: Variables.count("MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE"),
  queueStrategy: Variables.optional(
    "EFFECT_MLFLOW_QUEUE_STRATEGY",
    Config.literal("sliding", "dropping")("EFFECT_MLFLOW_QUEUE_STRATEGY")
  ),
  asyncLogging: Variables.optional(
    "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING",
    Config.boolean("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING")
  ),
  retryTimeout: Variables.seconds("MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT"),
  samplingRatio: Variables.optional(
    "MLFLOW_TRACE_SAMPLING_RATIO",
    Config.number("MLFLOW_TRACE_SAMPLING_RATIO").pipe(
      Config.validate({ message: "expected a number from 0 to 1", validation: (n) => n >= 0 && n <= 1 })
    )
  ),
  bufferMaxSize: Variables.count("MLFLOW_TRACE_BUFFER_MAX_SIZE"),
  bufferTtl: Variables.seconds("MLFLOW_TRACE_BUFFER_TTL_SECONDS"),
  traceTimeout: Variables.seconds("MLFLOW_TRACE_TIMEOUT_SECONDS"),
  workers: Variables.count("MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS"),
  traceInfo: Variables.optional(
    "EFFECT_MLFLOW_TRACE_INFO",
    Config.literal(...TRACE_INFO_DELIVERIES)("EFFECT_MLFLOW_TRACE_INFO")
  ),
  localDirectory: Variables.text("EFFECT_MLFLOW_LOCAL_DIR"),
  localMaxBytes: Variables.count("EFFECT_MLFLOW_LOCAL_MAX_BYTES"),
  localMaxAge: Variables.seconds("EFFECT_MLFLOW_LOCAL_MAX_AGE"),
  spoolDirectory: Variables.text("EFFECT_MLFLOW_SPOOL_DIR"),
  spoolMaxBytes: Variables.count("EFFECT_MLFLOW_SPOOL_MAX_BYTES"),
  spoolMaxAge: Variables.seconds("EFFECT_MLFLOW_SPOOL_MAX_AGE"),
  otlp: Otlp.fromEnv,
  dualExport: Variables.optional(
    "MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT",
    Config.boolean("MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT")
  ),
  genAiSemanticConventions: Variables.optional(
    "MLFLOW_ENABLE_OTEL_GENAI_SEMCONV",
    Config.boolean("MLFLOW_ENABLE_OTEL_GENAI_SEMCONV")
  ),
  extractAttachments: Variables.optional(
    "MLFLOW_TRACE_EXTRACT_ATTACHMENTS",
    Config.boolean("MLFLOW_TRACE_EXTRACT_ATTACHMENTS")
  ),
  maxAttachmentSize: Variables.optional(
    "MLFLOW_TRACE_MAX_ATTACHMENT_SIZE",
    Config.integer("MLFLOW_TRACE_MAX_ATTACHMENT_SIZE")
  )
}).pipe(Config.map(({ connection, ...rest }): Options => ({ ...connection, ...rest })))

/** A `ConfigError` as an `MlflowConfigError` that names the variable and keeps the original (its `configError`). */
const fromConfigError = (error: ConfigError.ConfigError): MlflowConfigError => {
  const [first, ...rest] = Variables.problems(error)
  return new MlflowConfigError({
    setting: first?.path || "environment",
    detail: `${first?.message ?? String(error)}${
      rest.length === 0 ? "" : ` (and ${rest.length} more: ${rest.map((p) => p.path).join(", ")})`
    }`,
    configError: error
  })
}

/**
 * `config` read from the current `ConfigProvider` (the environment by default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnv: Effect.Effect<Options, MlflowConfigError> = Effect.mapError(config, fromConfigError)

/**
 * The settings of a client of a tracking server: `connection` from the environment, overridden by
 * `overrides`, checked like the tracing layer's (the URI must be a server's).
 *
 * @since 0.1.0
 * @category constructors
 */
export const serverConnection = (
  overrides: Connection = {}
): Effect.Effect<Connection & { readonly trackingUri: string }, MlflowConfigError> =>
  Effect.gen(function*() {
    const env = yield* Effect.mapError(connection, fromConfigError)
    const merged = { ...env, ...withoutUndefined(overrides) }
    const checked = yield* make(merged)
    if (checked.destination._tag !== "Server") {
      return yield* new MlflowConfigError({
        setting: "trackingUri (MLFLOW_TRACKING_URI)",
        detail: "the MLflow client needs the http(s):// URL of a tracking server"
      })
    }
    return {
      ...merged,
      trackingUri: checked.destination.trackingUri,
      token: checked.token,
      username: checked.username,
      password: checked.password,
      requestTimeout: checked.requestTimeout,
      workspace: checked.workspace
    }
  })
