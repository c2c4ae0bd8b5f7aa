/**
 * The settings once checked: what `MlflowConfig.make` gives the tracing layer and the client.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import type * as Redacted from "effect/Redacted"
import type * as Redaction from "../../Redaction.js"
import type { Sink } from "../../Sink.js"
import type { OtlpConfig } from "./otlp.js"

/** How the trace info reaches an MLflow server (see `MlflowConfig.TraceInfoDelivery`). */
export type TraceInfoDelivery = "always" | "auto" | "whenNeeded"

export const TRACE_INFO_DELIVERIES: ReadonlyArray<TraceInfoDelivery> = ["always", "auto", "whenNeeded"]

/**
 * Where traces go.
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
 */
export interface DirectoryBounds {
  readonly maxBytes: number | undefined
  readonly maxAge: Duration.Duration | undefined
}

/**
 * TLS settings of the connection to a tracking server, read from the files they name: with them,
 * requests go through `node:https` instead of `fetch`.
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
 */
export interface SigningSettings {
  readonly credentials: {
    readonly accessKeyId: string
    readonly secretAccessKey: Redacted.Redacted
    readonly sessionToken: Redacted.Redacted | undefined
  }
  readonly scope: { readonly region: string; readonly service: string }
  /** headers every request carries, signed with it (the SageMaker server's ARN) */
  readonly headers: Readonly<Record<string, string>>
  /** where the credentials came from, for messages */
  readonly source: string
}

/**
 * A Databricks workspace and how to authenticate to it (`databricks[://<profile>]` tracking URIs).
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
