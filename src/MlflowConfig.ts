/**
 * Every setting of the tracing layer, from options or from the same environment variables as
 * MLflow's Python SDK, validated with errors that name the setting and what it accepts.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as ClientModel from "./internal/client/model.js"
import { splitCredentials } from "./internal/client/url.js"
import { withoutUndefined } from "./internal/common/options.js"
import * as Credentials from "./internal/config/credentials.js"
import * as Destinations from "./internal/config/destination.js"
import type * as Model from "./internal/config/model.js"
import type * as Otlp from "./internal/config/otlp.js"
import { check as checkOtlp } from "./internal/config/otlp.js"
import * as Setting from "./internal/config/setting.js"
import * as Settings from "./internal/config/settings.js"
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
export type TraceInfoDelivery = Model.TraceInfoDelivery

/**
 * Where traces go.
 *
 * @since 0.1.0
 * @category models
 */
export type Destination = Model.Destination

/**
 * Bounds of a directory of trace files (the spool, the local store): the oldest go first.
 *
 * @since 0.2.0
 * @category models
 */
export interface DirectoryBounds extends Model.DirectoryBounds {}

/**
 * TLS settings of the connection to a tracking server, read from the files they name: with them,
 * requests go through `node:https` instead of `fetch`.
 *
 * @since 0.2.0
 * @category models
 */
export interface TlsSettings extends Model.TlsSettings {}

/**
 * AWS Signature Version 4 for every request (SageMaker's managed MLflow, `awsSigV4`).
 *
 * @since 0.2.0
 * @category models
 */
export interface SigningSettings extends Model.SigningSettings {}

/**
 * A Databricks workspace and how to authenticate to it (`databricks[://<profile>]` tracking URIs).
 *
 * @since 0.2.0
 * @category models
 */
export interface DatabricksSettings extends Model.DatabricksSettings {}

/**
 * Validated settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface MlflowConfig extends Model.MlflowConfig {}

const fromProblem = (problem: Setting.Problem) => new MlflowConfigError(problem)

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
  const check = Setting.checker(Settings.all, options)
  return Effect.flatMap(Credentials.databricksSettings(options, given), (databricks) =>
    Effect.all({
      destination: Either.flatMap(
        check("localDirectory"),
        (localDirectory) => Destinations.destination(options, given, inUri?.uri, databricks, localDirectory)
      ),
      databricks: Effect.succeed(databricks),
      token: check("token"),
      username: Effect.succeed(fromUri ? inUri!.username : options.username),
      password: Effect.succeed(fromUri ? Redacted.make(inUri!.password ?? "") : options.password),
      requestTimeout: check("requestTimeout"),
      serviceName: check("serviceName"),
      workspace: check("workspace"),
      maxConcurrentRequests: check("maxConcurrentRequests"),
      tls: Credentials.tlsSettings(options),
      signing: Credentials.signingSettings(options, given),
      queueCapacity: check("queueCapacity"),
      queueStrategy: check("queueStrategy"),
      workers: check("workers"),
      batchSize: check("batchSize"),
      traceInfo: check("traceInfo"),
      asyncLogging: check("asyncLogging"),
      retryTimeout: check("retryTimeout"),
      retryInitialDelay: check("retryInitialDelay"),
      retryMaxDelay: check("retryMaxDelay"),
      samplingRatio: check("samplingRatio"),
      bufferMaxSize: check("bufferMaxSize"),
      bufferTtl: check("bufferTtl"),
      traceTimeout: check("traceTimeout"),
      enabled: check("enabled"),
      spanProcessors: Effect.succeed([
        ...(options.redactSecrets === false ? [] : [Redaction.redactKeys()]),
        ...(options.spanProcessors ?? [])
      ]),
      maxAttributeBytes: check("maxAttributeBytes"),
      maxSpanBytes: check("maxSpanBytes"),
      maxTraceBytes: check("maxTraceBytes"),
      maxSpansPerTrace: check("maxSpansPerTrace"),
      shutdownTimeout: check("shutdownTimeout"),
      lateSpanGrace: check("lateSpanGrace"),
      otlp: checkOtlp(options.otlp, options.serviceName),
      dualExport: check("dualExport"),
      genAiSemanticConventions: check("genAiSemanticConventions"),
      extractAttachments: check("extractAttachments"),
      maxAttachmentSize: check("maxAttachmentSize"),
      alsoExportTo: check("alsoExportTo"),
      spoolDirectory: check("spoolDirectory"),
      spool: Effect.all({ maxBytes: check("spoolMaxBytes"), maxAge: check("spoolMaxAge") }),
      localStore: Effect.all({ maxBytes: check("localMaxBytes"), maxAge: check("localMaxAge") })
    })).pipe(
      Effect.flatMap(Credentials.basicAuth),
      Effect.mapError(fromProblem)
    )
}

/**
 * The connection settings from MLflow's environment variables (`MLFLOW_TRACKING_URI`, ...), and
 * OpenTelemetry's, AWS's and Databricks' (`OTEL_SERVICE_NAME`, `AWS_*`, `DATABRICKS_*`): those of
 * `Connection`, as the README's configuration table lists them.
 *
 * @since 0.1.0
 * @category config
 */
export const connection: Config.Config<Connection> = Setting.fromEnv<typeof Settings.connection, Connection>(
  // type-checks only while the settings table and the options agree: the same keys, of the same types
  Settings.connection
)

/**
 * Every option from the environment variables: those of `connection`, MLflow's (`MLFLOW_*`),
 * OpenTelemetry's exporter variables (`OTEL_EXPORTER_OTLP[_TRACES]_*`, `OTEL_RESOURCE_ATTRIBUTES`) and
 * ours (`EFFECT_MLFLOW_*`), as the README's configuration table lists them; durations in seconds
 * (OTLP's in milliseconds). A `Config`, so it reads from whichever `ConfigProvider` is current.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Setting.fromEnv<typeof Settings.all, Options>(Settings.all)

/** A `ConfigError` as an `MlflowConfigError` that names the variable and keeps the original (its `configError`). */
const fromConfigError = (error: ConfigError.ConfigError): MlflowConfigError =>
  new MlflowConfigError({ ...Variables.problemOf(error), configError: error })

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
        setting: Setting.labelOf("trackingUri", Settings.connection.trackingUri),
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
