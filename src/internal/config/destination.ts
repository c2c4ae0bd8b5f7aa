/**
 * Where traces go, from the tracking URI and the experiment settings: a tracking server (with its
 * experiment), a Databricks workspace, a SageMaker ARN's endpoint, or the local store.
 *
 * @internal
 */
import * as Either from "effect/Either"
import { scrub } from "../common/scrub.js"
import * as Aws from "./aws.js"
import type { DatabricksSettings, Destination } from "./model.js"
import { envOf, labelOf, type Problem } from "./setting.js"
import { connection, tracing } from "./settings.js"
import type { Input } from "./settings.js"

const invalid = (setting: string, detail: string) => Either.left<Problem>({ setting, detail })

const TRACKING_URI = labelOf("trackingUri", connection.trackingUri)
const EXPERIMENT_NAME = labelOf("experimentName", tracing.experimentName)

/**
 * `given`: the tracking URI, `withoutCredentials` the same without `user:password@`;
 * `localDirectory`: the local store's, when there is no tracking server.
 */
export const destination = (
  options: Input,
  given: string | undefined,
  withoutCredentials: string | undefined,
  databricks: DatabricksSettings | undefined,
  localDirectory: string
): Either.Either<Destination, Problem> => {
  // credentials in the URI never appear in a message (the client sends them as Basic auth)
  const uri = given === undefined ? undefined : scrub(given)
  if (uri === undefined || uri === "") return Either.right({ _tag: "Local", directory: localDirectory })
  if (uri.startsWith("file:")) {
    const directory = uri.replace(/^file:(\/\/)?/, "")
    return directory === ""
      ? invalid(TRACKING_URI, "file: needs a directory, e.g. file:./mlflow-traces")
      : Either.right({ _tag: "Local", directory })
  }
  const sagemaker = Aws.parseSageMakerArn(uri)
  if (typeof sagemaker === "string") return invalid(TRACKING_URI, sagemaker)
  if (databricks !== undefined) return databricksDestination(options, databricks)
  if (sagemaker === undefined && !/^https?:\/\//.test(uri)) {
    return invalid(
      TRACKING_URI,
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
      endpoint === undefined ? TRACKING_URI : labelOf("aws.endpoint", connection.aws.settings.endpoint),
      `"${endpoint ?? uri}" is not a valid URL`
    )
  }
  return Either.map(experimentOf(options), (experiment) => ({
    _tag: "Server" as const,
    trackingUri: (endpoint ?? withoutCredentials!).replace(/\/+$/, ""),
    ...(sagemaker === undefined ? {} : { sagemakerArn: sagemaker.arn }),
    experiment
  }))
}

type ExperimentRef = Extract<Destination, { readonly _tag: "Server" }>["experiment"]

const experimentOf = (options: Input): Either.Either<ExperimentRef, Problem> => {
  const id = options.experimentId?.trim()
  const name = options.experimentName?.trim()
  if (options.experimentId !== undefined && id === "") {
    return invalid(labelOf("experimentId", tracing.experimentId), "expected a non-empty experiment id")
  }
  if (options.experimentName !== undefined && name === "") {
    return invalid(EXPERIMENT_NAME, "expected a non-empty experiment name")
  }
  return Either.right(
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
  options: Input,
  databricks: DatabricksSettings
): Either.Either<Destination, Problem> => {
  const name = options.experimentName?.trim()
  if (options.experimentId === undefined && options.experimentName === undefined) {
    return invalid(
      EXPERIMENT_NAME,
      `a Databricks workspace needs an experiment: set ${envOf(tracing.experimentName)} to its workspace path ` +
        `(e.g. /Users/you@example.com/chat-service) or ${envOf(tracing.experimentId)}`
    )
  }
  if (name !== undefined && name !== "" && !name.startsWith("/")) {
    return invalid(
      EXPERIMENT_NAME,
      `Databricks names experiments by workspace path, e.g. /Users/you@example.com/${name} or /Shared/${name}; got "${name}"`
    )
  }
  return Either.map(experimentOf(options), (experiment) => ({
    _tag: "Server" as const,
    trackingUri: databricks.host,
    databricks: true,
    experiment
  }))
}
