/**
 * The settings table: every option of the tracing layer, with the environment variables it is read
 * from (MLflow's, OpenTelemetry's, AWS's, Databricks', or ours), how it is read and checked, and its
 * default and meaning as the README's configuration table shows them (a test holds the README to it).
 * Checks that relate settings to each other (the destination, TLS, signing, Databricks, basic auth)
 * are in `destination.ts` and `credentials.ts`.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import type * as Redaction from "../../Redaction.js"
import type { Sink } from "../../Sink.js"
import { DEFAULT_LOCAL_DIRECTORY } from "../common/defaults.js"
import { TRACE_INFO_DELIVERIES, type TraceInfoDelivery } from "./model.js"
import * as Otlp from "./otlp.js"
import {
  duration,
  given,
  type Group,
  type InputOf,
  noVariable,
  oneOf,
  optional,
  orElse,
  positiveInt,
  setting,
  type Table
} from "./setting.js"
import * as Variables from "./variables.js"

const group = <T extends Table>(
  settings: T,
  fields: Omit<Group<T>, "_tag" | "settings"> = {}
): Group<T> => ({ _tag: "Group", settings, ...fields })

const MiB = 1024 * 1024

/** The AWS settings, as botocore reads them (the shared files are read by `credentials.ts` when needed). */
export const aws = {
  accessKeyId: setting<string>(Variables.text, given, { env: ["AWS_ACCESS_KEY_ID"] }),
  secretAccessKey: setting<Redacted.Redacted>(Variables.secret, given, { env: ["AWS_SECRET_ACCESS_KEY"] }),
  sessionToken: setting<Redacted.Redacted>(Variables.secret, given, {
    env: ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"]
  }),
  profile: setting<string>(Variables.text, given, { env: ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"] }),
  region: setting<string>(Variables.text, given, { env: ["AWS_REGION", "AWS_DEFAULT_REGION"] }),
  credentialsFile: setting<string>(Variables.text, given, { env: ["AWS_SHARED_CREDENTIALS_FILE"] }),
  configFile: setting<string>(Variables.text, given, { env: ["AWS_CONFIG_FILE"] }),
  endpoint: setting<string>(Variables.text, given, { env: ["SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT"] })
} satisfies Table

/** The Databricks settings, as Databricks' SDKs read them (a profile of the file fills in the rest). */
export const databricks = {
  host: setting<string>(Variables.text, given, { env: ["DATABRICKS_HOST"] }),
  token: setting<Redacted.Redacted>(Variables.secret, given, { env: ["DATABRICKS_TOKEN"] }),
  clientId: setting<string>(Variables.text, given, { env: ["DATABRICKS_CLIENT_ID"] }),
  clientSecret: setting<Redacted.Redacted>(Variables.secret, given, { env: ["DATABRICKS_CLIENT_SECRET"] }),
  username: setting<string>(Variables.text, given, { env: ["DATABRICKS_USERNAME"] }),
  password: setting<Redacted.Redacted>(Variables.secret, given, { env: ["DATABRICKS_PASSWORD"] }),
  profile: setting<string>(Variables.text, given, { env: ["DATABRICKS_CONFIG_PROFILE"] }),
  configFile: setting<string>(Variables.text, given, { env: ["DATABRICKS_CONFIG_FILE"] }),
  authType: setting<string>(Variables.text, given, { env: ["DATABRICKS_AUTH_TYPE"] }),
  workspaceId: setting<string>(Variables.text, given, { env: ["DATABRICKS_WORKSPACE_ID"] }),
  discoveryUrl: setting<string>(Variables.text, given, { env: ["DATABRICKS_DISCOVERY_URL"] })
} satisfies Table

const BASIC_AUTH = "`Authorization: Basic`; wins over the token, as in MLflow's client"

/** How to reach a tracking server: the settings the tracing layer and the client share. */
export const connection = {
  trackingUri: setting<string>(Variables.text, given, {
    env: ["MLFLOW_TRACKING_URI"],
    default: "local store",
    doc: "`http(s)://` tracking server, `databricks` / `databricks://<profile>` (see Databricks below), or " +
      "`file:<dir>` for the local store"
  }),
  token: setting<Redacted.Redacted>(Variables.secret, given, {
    env: ["MLFLOW_TRACKING_TOKEN"],
    default: "",
    doc: "`Authorization: Bearer` (kept `Redacted`)"
  }),
  username: setting<string>(Variables.text, given, { env: ["MLFLOW_TRACKING_USERNAME"], default: "", doc: BASIC_AUTH }),
  password: setting<Redacted.Redacted>(Variables.secret, given, {
    env: ["MLFLOW_TRACKING_PASSWORD"],
    default: "",
    doc: BASIC_AUTH
  }),
  requestTimeout: setting<Duration.DurationInput, Duration.Duration>(
    Variables.seconds,
    duration(Duration.seconds(120)),
    {
      env: ["MLFLOW_HTTP_REQUEST_TIMEOUT"],
      default: "120",
      doc: "per request, in seconds"
    }
  ),
  workspace: setting<string, string | undefined>(
    Variables.text,
    (value) => Either.right(value?.trim() || undefined),
    {
      env: ["MLFLOW_WORKSPACE"],
      default: "the server's default",
      doc: "the workspace of a server run with `--enable-workspaces`, sent as `X-MLFLOW-WORKSPACE` as MLflow's " +
        "client does"
    }
  ),
  serviceName: setting<string>(Variables.text, given, {
    env: ["OTEL_SERVICE_NAME"],
    default: "none",
    doc: "OTLP `service.name` (MLflow shows it as a trace tag)"
  }),
  serverCertPath: setting<string>(Variables.text, given, {
    env: ["MLFLOW_TRACKING_SERVER_CERT_PATH"],
    default: "system CAs",
    doc: "CA bundle (PEM) the server's certificate is checked against instead of the system's (see TLS below)"
  }),
  clientCertPath: setting<string>(Variables.text, given, {
    env: ["MLFLOW_TRACKING_CLIENT_CERT_PATH"],
    default: "none",
    doc: "client certificate and its private key in one PEM file, for servers that require one"
  }),
  insecureTls: setting<boolean>(Variables.boolean, given, {
    env: ["MLFLOW_TRACKING_INSECURE_TLS"],
    default: "`false`",
    doc: "`true`: the server's certificate is not checked (not with a CA bundle, as in MLflow)"
  }),
  awsSigV4: setting<boolean>(Variables.boolean, given, {
    env: ["MLFLOW_TRACKING_AWS_SIGV4"],
    default: "`false`",
    doc: "`true`: every request signed with AWS SigV4 for `execute-api` (an API Gateway in front of a server); " +
      "see AWS below"
  }),
  aws: group(aws, {
    summary: {
      default: "profile `default`",
      doc: "AWS credentials and region for signing, as botocore reads them (see AWS below)"
    }
  }),
  databricks: group(databricks, {
    summary: {
      default: "`~/.databrickscfg`",
      doc: "a Databricks workspace and its credentials, as Databricks' SDKs read them (see Databricks below)"
    }
  }),
  maxConcurrentRequests: setting(noVariable<number>, positiveInt(8), {
    env: [],
    default: "8",
    doc: "requests in flight to the server at once, across all callers of one client"
  })
} satisfies Table

const RESERVED_DESTINATIONS = new Set(["mlflow", "otlp"])

const QUEUE_STRATEGIES = ["sliding", "dropping"] as const

const BACKOFF = "exponential backoff with jitter between these (a longer `Retry-After` wins)"

/** The settings of the tracing layer that are not about the connection. */
export const tracing = {
  experimentId: setting<string>(Variables.text, given, {
    env: ["MLFLOW_EXPERIMENT_ID"],
    default: "`0` (Default)",
    doc: "experiment to log to (wins over the name)"
  }),
  experimentName: setting<string>(Variables.text, given, {
    env: ["MLFLOW_EXPERIMENT_NAME"],
    default: "",
    doc: "experiment looked up by name, created when missing (safe under races)"
  }),
  queueCapacity: setting(Variables.count, positiveInt(1000), {
    env: ["MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE"],
    default: "1000",
    doc: "finished traces the export queue holds"
  }),
  queueStrategy: setting(Variables.literal(QUEUE_STRATEGIES), oneOf(QUEUE_STRATEGIES, "sliding"), {
    env: ["EFFECT_MLFLOW_QUEUE_STRATEGY"],
    default: "`sliding`",
    doc: "when the queue is full: `sliding` drops the oldest trace, `dropping` the newest (MLflow's behaviour)"
  }),
  asyncLogging: setting(Variables.boolean, orElse(true), {
    env: ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"],
    default: "`true`",
    doc: "`false`: an `Mlflow.span` root completes only after its trace is stored"
  }),
  retryTimeout: setting<Duration.DurationInput, Duration.Duration>(Variables.seconds, duration(Duration.seconds(500)), {
    env: ["MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT"],
    default: "500",
    doc: "total time spent retrying one batch, in seconds"
  }),
  samplingRatio: setting<number, number>(
    Variables.ratio,
    (value) =>
      value === undefined
        ? Either.right(1)
        : value >= 0 && value <= 1
        ? Either.right(value)
        : Either.left(`expected a number from 0 to 1, got ${value}`),
    {
      env: ["MLFLOW_TRACE_SAMPLING_RATIO"],
      default: "1",
      doc: "fraction of traces recorded, decided at the root (children follow; " +
        "`Mlflow.span(name, { samplingRatio })` overrides it for a root)"
    }
  ),
  bufferMaxSize: setting(Variables.count, positiveInt(1000), {
    env: ["MLFLOW_TRACE_BUFFER_MAX_SIZE"],
    default: "1000",
    doc: "traces in progress at once; past it the oldest is dropped (and counted)"
  }),
  bufferTtl: setting<Duration.DurationInput, Duration.Duration>(Variables.seconds, duration(Duration.hours(1)), {
    env: ["MLFLOW_TRACE_BUFFER_TTL_SECONDS"],
    default: "3600",
    doc: "a trace in progress for longer is dropped (and counted)"
  }),
  traceTimeout: setting<Duration.DurationInput, Duration.Duration | undefined>(
    Variables.seconds,
    optional(duration(Duration.zero)),
    {
      env: ["MLFLOW_TRACE_TIMEOUT_SECONDS"],
      default: "none",
      doc: "a trace in progress for longer is force-ended (open spans ERROR `TraceTimeout`) and exported"
    }
  ),
  workers: setting(Variables.count, positiveInt(10), {
    env: ["MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS"],
    default: "10",
    doc: "export worker fibers"
  }),
  traceInfo: setting(
    Variables.literal(TRACE_INFO_DELIVERIES),
    oneOf<TraceInfoDelivery>(TRACE_INFO_DELIVERIES, "auto"),
    {
      env: ["EFFECT_MLFLOW_TRACE_INFO"],
      default: "`auto`",
      doc: "when a trace also gets its own `StartTraceV3`: `always`, `auto` (while the exporter keeps up), " +
        "`whenNeeded` (see below)"
    }
  ),
  localDirectory: setting(Variables.text, orElse(DEFAULT_LOCAL_DIRECTORY), {
    env: ["EFFECT_MLFLOW_LOCAL_DIR"],
    default: `\`${DEFAULT_LOCAL_DIRECTORY}\``,
    doc: "local store directory"
  }),
  localMaxBytes: setting(Variables.count, optional(positiveInt(0)), {
    env: ["EFFECT_MLFLOW_LOCAL_MAX_BYTES"],
    default: "no limit",
    doc: "local store size in bytes; past it the oldest traces are removed"
  }),
  localMaxAge: setting<Duration.DurationInput, Duration.Duration | undefined>(
    Variables.seconds,
    optional(duration(Duration.zero)),
    {
      env: ["EFFECT_MLFLOW_LOCAL_MAX_AGE"],
      default: "forever",
      doc: "seconds a local-store trace is kept"
    }
  ),
  spoolDirectory: setting<string>(
    Variables.text,
    (value) => value === undefined || value.trim() !== "" ? Either.right(value) : Either.left("expected a directory"),
    {
      env: ["EFFECT_MLFLOW_SPOOL_DIR"],
      default: "none (no spool)",
      doc: "durable spool for traces a server cannot take now (see below)"
    }
  ),
  spoolMaxBytes: setting(Variables.count, positiveInt(256 * MiB), {
    env: ["EFFECT_MLFLOW_SPOOL_MAX_BYTES"],
    default: "256 MiB",
    doc: "spool size per destination in bytes; past it the oldest waiting traces are removed (counted)"
  }),
  spoolMaxAge: setting<Duration.DurationInput, Duration.Duration>(Variables.seconds, duration(Duration.days(7)), {
    env: ["EFFECT_MLFLOW_SPOOL_MAX_AGE"],
    default: "7 days",
    doc: "seconds a trace waits in the spool at most (older ones removed, counted)"
  }),
  otlp: Otlp.group,
  dualExport: setting(Variables.boolean, orElse(false), {
    env: ["MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT"],
    default: "`false`",
    doc: "with an OTLP endpoint, export to MLflow (server or local store) too"
  }),
  genAiSemanticConventions: setting(Variables.boolean, orElse(false), {
    env: ["MLFLOW_ENABLE_OTEL_GENAI_SEMCONV"],
    default: "`false`",
    doc: "OTLP spans in the OpenTelemetry GenAI conventions (`gen_ai.*`), as MLflow writes them"
  }),
  extractAttachments: setting(Variables.boolean, orElse(true), {
    env: ["MLFLOW_TRACE_EXTRACT_ATTACHMENTS"],
    default: "`true`",
    doc: "base64 images and audio in span inputs and outputs become trace attachments on the MLflow server " +
      "(see below)"
  }),
  maxAttachmentSize: setting<number, number | undefined>(
    Variables.integer,
    (value) => value === undefined || value <= 0 ? Either.right(undefined) : positiveInt(0)(value),
    {
      env: ["MLFLOW_TRACE_MAX_ATTACHMENT_SIZE"],
      default: "none",
      doc: "larger attachments are discarded and replaced by a note, as in MLflow (bytes; 0 or less: no limit)"
    }
  ),
  batchSize: setting(noVariable<number>, positiveInt(50), {
    env: [],
    default: "50",
    doc: "traces per export (their spans go in one OTLP request)"
  }),
  retryInitialDelay: setting<Duration.DurationInput, Duration.Duration>(noVariable, duration(Duration.seconds(1)), {
    env: [],
    default: "1 s",
    doc: BACKOFF
  }),
  retryMaxDelay: setting<Duration.DurationInput, Duration.Duration>(noVariable, duration(Duration.seconds(60)), {
    env: [],
    default: "60 s",
    doc: BACKOFF
  }),
  enabled: setting(noVariable<boolean>, orElse(true), {
    env: [],
    default: "`true`",
    doc: "whether recording starts on (`Mlflow.setTracingEnabled` flips it)"
  }),
  redactSecrets: setting(noVariable<boolean>, orElse(true), {
    env: [],
    default: "`true`",
    doc: "the values of keys that name secrets are redacted (`Redaction.redactKeys()`), before `spanProcessors`"
  }),
  spanProcessors: setting<ReadonlyArray<Redaction.SpanProcessor>>(noVariable, given, {
    env: [],
    default: "",
    doc: "run over every finished span before export, in order (see Safety below)"
  }),
  maxAttributeBytes: setting(noVariable<number>, positiveInt(MiB), {
    env: [],
    default: "1 MiB",
    doc: "largest JSON size of one attribute value (inputs, outputs...) before it is cut"
  }),
  maxSpanBytes: setting(noVariable<number>, positiveInt(4 * MiB), {
    env: [],
    default: "4 MiB",
    doc: "largest JSON size of one span's attributes"
  }),
  maxTraceBytes: setting(noVariable<number>, positiveInt(16 * MiB), {
    env: [],
    default: "16 MiB",
    doc: "largest JSON size of one trace's attributes"
  }),
  maxSpansPerTrace: setting(noVariable<number>, positiveInt(10_000), {
    env: [],
    default: "10000",
    doc: "spans kept per trace (the root and the earliest)"
  }),
  shutdownTimeout: setting<Duration.DurationInput, Duration.Duration>(noVariable, duration(Duration.seconds(30)), {
    env: [],
    default: "30 s",
    doc: "how long layer release waits for the queue to drain"
  }),
  lateSpanGrace: setting<Duration.DurationInput, Duration.Duration>(noVariable, duration(Duration.seconds(10)), {
    env: [],
    default: "10 s",
    doc: "how long a trace whose root ended waits for spans still open under it"
  }),
  alsoExportTo: setting<Readonly<Record<string, Sink>>, Readonly<Record<string, Sink>>>(noVariable, (value) => {
    const taken = Object.keys(value ?? {}).find((name) =>
      RESERVED_DESTINATIONS.has(name) || !/^[A-Za-z0-9_.-]+$/.test(name)
    )
    return taken === undefined
      ? Either.right(value ?? {})
      : Either.left(`"${taken}" cannot name a destination (letters, digits, _ . -; not mlflow or otlp)`)
  }, {
    env: [],
    default: "",
    doc: "more destinations by name (an OpenTelemetry exporter: `OtelExporterSink`), each with its own queue and " +
      "counts"
  })
} satisfies Table

/** Every setting, as `MlflowConfig.Options` has them. */
export const all = { ...connection, ...tracing } satisfies Table

export type ConnectionInput = InputOf<typeof connection>
export type Input = InputOf<typeof all>
