import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { JsonObject, RequestOptions } from "../../MlflowClient.js"
import type { MlflowError } from "./errors.js"

// the client's contracts are the public module's; the client's body takes them from here
export type {
  DeleteRequest,
  Experiment,
  JsonObject,
  Options,
  RequestOptions,
  SearchPage,
  SearchRequest,
  Service
} from "../../MlflowClient.js"

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

/** Headers made per request, with the client's own `request` and a way to add secrets to scrub. */
export type DynamicHeaders = (
  request: Request,
  addSecret: (secret: string) => void
) => Effect.Effect<Effect.Effect<Readonly<Record<string, string>>, MlflowError>>

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

/** Any call to the server; answers the decoded JSON body (`{}` when empty). */
export type Request = (method: Method, path: string, options?: RequestOptions) => Effect.Effect<JsonObject, MlflowError>
