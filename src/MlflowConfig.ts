/**
 * Every setting of the tracing layer, from options or from the same environment variables as
 * MLflow's Python SDK, validated with errors that name the setting and what it accepts.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { scrubUrlCredentials, splitCredentials } from "./internal/client/url.js"
import * as Redaction from "./Redaction.js"

/**
 * A setting has a value it cannot take.
 *
 * @since 0.1.0
 * @category errors
 */
export class MlflowConfigError extends Schema.TaggedError<MlflowConfigError>()("MlflowConfigError", {
  setting: Schema.String,
  detail: Schema.String
}) {
  get message(): string {
    return `Invalid ${this.setting}: ${this.detail}`
  }
}

/**
 * Options of the tracing layer. Every field is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `http(s)://...` for a tracking server, `file:<dir>` or nothing for the local store */
  readonly trackingUri?: string | undefined
  /** with `experimentName` too, both must name the same experiment (checked at the first export) */
  readonly experimentId?: string | undefined
  /** looked up by name and created when missing */
  readonly experimentName?: string | undefined
  /** `Authorization: Bearer` */
  readonly token?: Redacted.Redacted | undefined
  /** with `password`: `Authorization: Basic` (wins over `token`, as in MLflow's Python client) */
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted | undefined
  /** per HTTP request; default 120 seconds */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** local store directory when no tracking server is set; default `mlflow-traces` */
  readonly localDirectory?: string | undefined
  /** `service.name` of exported spans (MLflow records it as a trace tag); none by default */
  readonly serviceName?: string | undefined
  /** traces the export queue holds; default 1000 */
  readonly queueCapacity?: number | undefined
  /** when the queue is full: `sliding` drops the oldest trace (default), `dropping` the newest (MLflow's) */
  readonly queueStrategy?: "sliding" | "dropping" | undefined
  /** export worker fibers; default 10 */
  readonly workers?: number | undefined
  /** traces per export request; default 50 */
  readonly batchSize?: number | undefined
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
}

/**
 * Where traces go without a tracking URI: MLflow trace files in this directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_LOCAL_DIRECTORY = "mlflow-traces"

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
    readonly experiment:
      | { readonly _tag: "Id"; readonly id: string }
      | { readonly _tag: "Name"; readonly name: string }
      | { readonly _tag: "IdAndName"; readonly id: string; readonly name: string }
  }
  | { readonly _tag: "Local"; readonly directory: string }

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
  readonly queueCapacity: number
  readonly queueStrategy: "sliding" | "dropping"
  readonly workers: number
  readonly batchSize: number
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
}

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
  withoutCredentials: string | undefined
): Effect.Effect<Destination, MlflowConfigError> => {
  // credentials in the URI never appear in a message (the client sends them as Basic auth)
  const uri = given === undefined ? undefined : scrubUrlCredentials(given)
  if (uri === undefined || uri === "") {
    return Effect.succeed({ _tag: "Local", directory: options.localDirectory ?? DEFAULT_LOCAL_DIRECTORY })
  }
  if (uri.startsWith("file:")) {
    const directory = uri.replace(/^file:(\/\/)?/, "")
    return directory === ""
      ? invalid("trackingUri (MLFLOW_TRACKING_URI)", "file: needs a directory, e.g. file:./mlflow-traces")
      : Effect.succeed({ _tag: "Local", directory })
  }
  if (!/^https?:\/\//.test(uri)) {
    return invalid(
      "trackingUri (MLFLOW_TRACKING_URI)",
      `expected an http(s):// URL of an MLflow tracking server or file:<directory>, got "${uri}"` +
        (/^(sqlite|postgresql|mysql|mssql|databricks)/.test(uri)
          ? " (database and Databricks URIs are not supported: run `mlflow server` and point at its URL)"
          : "")
    )
  }
  try {
    new URL(given!)
  } catch {
    return invalid("trackingUri (MLFLOW_TRACKING_URI)", `"${uri}" is not a valid URL`)
  }
  const id = options.experimentId?.trim()
  const name = options.experimentName?.trim()
  if (options.experimentId !== undefined && id === "") {
    return invalid("experimentId (MLFLOW_EXPERIMENT_ID)", "expected a non-empty experiment id")
  }
  if (options.experimentName !== undefined && name === "") {
    return invalid("experimentName (MLFLOW_EXPERIMENT_NAME)", "expected a non-empty experiment name")
  }
  const experiment = id !== undefined && name !== undefined
    ? { _tag: "IdAndName" as const, id, name }
    : id !== undefined
    ? { _tag: "Id" as const, id }
    : name !== undefined
    ? { _tag: "Name" as const, name }
    : { _tag: "Id" as const, id: "0" }
  return Effect.succeed({ _tag: "Server", trackingUri: withoutCredentials!.replace(/\/+$/, ""), experiment })
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
  return Effect.all({
    destination: destination(options, given, inUri?.uri),
    token: Effect.succeed(options.token),
    username: Effect.succeed(fromUri ? inUri!.username : options.username),
    password: Effect.succeed(fromUri ? Redacted.make(inUri!.password ?? "") : options.password),
    requestTimeout: duration(
      "requestTimeout (MLFLOW_HTTP_REQUEST_TIMEOUT)",
      options.requestTimeout,
      Duration.seconds(120)
    ),
    serviceName: Effect.succeed(options.serviceName),
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
    lateSpanGrace: duration("lateSpanGrace", options.lateSpanGrace, Duration.seconds(10))
  }).pipe(Effect.flatMap((config) =>
    (config.username === undefined) !== (config.password === undefined)
      ? invalid(
        "username/password (MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD)",
        "set both for basic auth, or neither"
      )
      : Effect.succeed(config)
  ))
}

const optionalString = (name: string) => Config.option(Config.string(name)).pipe(Config.map(Option.getOrUndefined))
const optionalSecret = (name: string) => Config.option(Config.redacted(name)).pipe(Config.map(Option.getOrUndefined))

const number = (name: string, value: string | undefined) => {
  if (value === undefined || value.trim() === "") return Effect.succeed(undefined)
  const parsed = Number(value)
  return Number.isFinite(parsed) ? Effect.succeed(parsed) : invalid(name, `expected a number, got "${value}"`)
}

const seconds = (name: string, value: string | undefined) =>
  Effect.flatMap(number(name, value), (n) =>
    n === undefined
      ? Effect.succeed(undefined)
      : n > 0
      ? Effect.succeed(Duration.millis(n * 1000))
      : invalid(name, `expected a number of seconds greater than 0, got ${n}`))

/**
 * Options from MLflow's environment variables: `MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_ID`,
 * `MLFLOW_EXPERIMENT_NAME`, `MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_USERNAME`,
 * `MLFLOW_TRACKING_PASSWORD`, `MLFLOW_HTTP_REQUEST_TIMEOUT` (seconds),
 * `MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE`, `MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS`,
 * `MLFLOW_ENABLE_ASYNC_TRACE_LOGGING`, `MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT` (seconds),
 * `MLFLOW_TRACE_SAMPLING_RATIO`, `MLFLOW_TRACE_BUFFER_MAX_SIZE`, `MLFLOW_TRACE_BUFFER_TTL_SECONDS`,
 * `MLFLOW_TRACE_TIMEOUT_SECONDS`, `OTEL_SERVICE_NAME`, `EFFECT_MLFLOW_LOCAL_DIR` (local store
 * directory) and `EFFECT_MLFLOW_QUEUE_STRATEGY` (`sliding` or `dropping`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnv: Effect.Effect<Options, MlflowConfigError> = Effect.gen(function*() {
  const env = yield* Config.all({
    trackingUri: optionalString("MLFLOW_TRACKING_URI"),
    experimentId: optionalString("MLFLOW_EXPERIMENT_ID"),
    experimentName: optionalString("MLFLOW_EXPERIMENT_NAME"),
    token: optionalSecret("MLFLOW_TRACKING_TOKEN"),
    username: optionalString("MLFLOW_TRACKING_USERNAME"),
    password: optionalSecret("MLFLOW_TRACKING_PASSWORD"),
    timeout: optionalString("MLFLOW_HTTP_REQUEST_TIMEOUT"),
    queue: optionalString("MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE"),
    strategy: optionalString("EFFECT_MLFLOW_QUEUE_STRATEGY"),
    asyncLogging: optionalString("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"),
    retryTimeout: optionalString("MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT"),
    samplingRatio: optionalString("MLFLOW_TRACE_SAMPLING_RATIO"),
    bufferMaxSize: optionalString("MLFLOW_TRACE_BUFFER_MAX_SIZE"),
    bufferTtl: optionalString("MLFLOW_TRACE_BUFFER_TTL_SECONDS"),
    traceTimeout: optionalString("MLFLOW_TRACE_TIMEOUT_SECONDS"),
    workers: optionalString("MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS"),
    serviceName: optionalString("OTEL_SERVICE_NAME"),
    localDirectory: optionalString("EFFECT_MLFLOW_LOCAL_DIR")
  }).pipe(Effect.mapError((error) => new MlflowConfigError({ setting: "environment", detail: String(error) })))
  const timeoutSeconds = yield* seconds("MLFLOW_HTTP_REQUEST_TIMEOUT", env.timeout)
  const bool = (name: string, value: string | undefined) => {
    if (value === undefined || value.trim() === "") return Effect.succeed(undefined)
    const normalized = value.trim().toLowerCase()
    if (normalized === "true" || normalized === "1") return Effect.succeed(true)
    if (normalized === "false" || normalized === "0") return Effect.succeed(false)
    return invalid(name, `expected true or false, got "${value}"`)
  }
  return {
    trackingUri: env.trackingUri,
    experimentId: env.experimentId,
    experimentName: env.experimentName,
    token: env.token,
    username: env.username,
    password: env.password,
    requestTimeout: timeoutSeconds,
    queueCapacity: yield* number("MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE", env.queue),
    queueStrategy: env.strategy as Options["queueStrategy"],
    asyncLogging: yield* bool("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", env.asyncLogging),
    retryTimeout: yield* seconds("MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT", env.retryTimeout),
    samplingRatio: yield* number("MLFLOW_TRACE_SAMPLING_RATIO", env.samplingRatio),
    bufferMaxSize: yield* number("MLFLOW_TRACE_BUFFER_MAX_SIZE", env.bufferMaxSize),
    bufferTtl: yield* seconds("MLFLOW_TRACE_BUFFER_TTL_SECONDS", env.bufferTtl),
    traceTimeout: yield* seconds("MLFLOW_TRACE_TIMEOUT_SECONDS", env.traceTimeout),
    workers: yield* number("MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS", env.workers),
    serviceName: env.serviceName,
    localDirectory: env.localDirectory
  }
})
