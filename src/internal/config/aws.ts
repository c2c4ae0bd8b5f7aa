/**
 * AWS credentials and region as botocore resolves them, for the part of its chain that needs no
 * network: the environment, then the shared credentials file, then the config file, for the
 * profile `AWS_PROFILE` names. Roles, SSO, `credential_process` and instance metadata are not
 * followed: a profile that only has those is an error saying so.
 *
 * @internal
 */
import { parseIni, type Sections } from "./ini.js"

/** What the resolution reads: the variables, and the files' text (`undefined` when missing). */
export interface AwsSources {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly credentialsFile: string | undefined
  readonly configFile: string | undefined
}

export interface ResolvedCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken: string | undefined
  /** where they came from, for messages */
  readonly source: string
}

export type Resolution<A> = { readonly _tag: "Found"; readonly value: A } | {
  readonly _tag: "Missing"
  readonly detail: string
}

const nonEmpty = (value: string | undefined) => value === undefined || value.trim() === "" ? undefined : value.trim()

export const profileOf = (env: AwsSources["env"]): string =>
  nonEmpty(env.AWS_PROFILE) ?? nonEmpty(env.AWS_DEFAULT_PROFILE) ?? "default"

/** The config file names a profile `[profile name]`, but the default one `[default]`. */
const configSection = (sections: Sections, profile: string) =>
  sections.get(profile === "default" ? "default" : `profile ${profile}`) ??
    (profile === "default" ? sections.get("profile default") : undefined)

const staticKeys = (section: ReadonlyMap<string, string> | undefined, source: string) => {
  const accessKeyId = nonEmpty(section?.get("aws_access_key_id"))
  const secretAccessKey = nonEmpty(section?.get("aws_secret_access_key"))
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined
  return {
    accessKeyId,
    secretAccessKey,
    sessionToken: nonEmpty(section?.get("aws_session_token")) ?? nonEmpty(section?.get("aws_security_token")),
    source
  }
}

export const resolveCredentials = (sources: AwsSources): Resolution<ResolvedCredentials> => {
  const { env } = sources
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID)
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY)
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    return {
      _tag: "Found",
      value: {
        accessKeyId,
        secretAccessKey,
        sessionToken: nonEmpty(env.AWS_SESSION_TOKEN) ?? nonEmpty(env.AWS_SECURITY_TOKEN),
        source: "the environment (AWS_ACCESS_KEY_ID)"
      }
    }
  }
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    return {
      _tag: "Missing",
      detail: `partial AWS credentials in the environment: ${
        accessKeyId === undefined
          ? "AWS_SECRET_ACCESS_KEY without AWS_ACCESS_KEY_ID"
          : "AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY"
      }`
    }
  }
  const profile = profileOf(env)
  const config = configSection(parseIni(sources.configFile ?? ""), profile)
  const found =
    staticKeys(parseIni(sources.credentialsFile ?? "").get(profile), `the credentials file, [${profile}]`) ??
      staticKeys(config, `the config file, profile ${profile}`)
  if (found !== undefined) return { _tag: "Found", value: found }
  const unsupported = ["role_arn", "sso_session", "sso_start_url", "credential_process", "web_identity_token_file"]
    .find((key) => config?.has(key))
  return {
    _tag: "Missing",
    detail: unsupported !== undefined
      ? `profile ${profile} gets its credentials through ${unsupported}, which effect-mlflow does not follow: ` +
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), e.g. from `aws configure export-credentials`"
      : `no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put them in the shared credentials ` +
        `file under [${profile}]`
  }
}

/** `AWS_REGION` (the JavaScript SDK's), `AWS_DEFAULT_REGION` (botocore's), then the profile's `region`. */
export const resolveRegion = (sources: AwsSources): string | undefined =>
  nonEmpty(sources.env.AWS_REGION) ?? nonEmpty(sources.env.AWS_DEFAULT_REGION) ??
    nonEmpty(configSection(parseIni(sources.configFile ?? ""), profileOf(sources.env))?.get("region"))

/** A SageMaker managed MLflow ARN: what to sign for, where to send, and the header that routes it. */
export interface SageMakerTarget {
  readonly arn: string
  readonly region: string
  readonly endpoint: string
  readonly service: string
  readonly header: readonly [name: string, value: string]
}

/**
 * `arn:<partition>:sagemaker:<region>:<account>:mlflow-tracking-server/<name>` or `…:mlflow-app/<id>`,
 * as the `sagemaker-mlflow` plugin reads it; `undefined` when `uri` is no ARN, a string when it is a
 * wrong one.
 */
export const parseSageMakerArn = (uri: string): SageMakerTarget | string | undefined => {
  if (!uri.startsWith("arn:")) return undefined
  const [, partition, service, region, account, resource] = uri.split(":")
  const [type, id] = (resource ?? "").split("/")
  if (service !== "sagemaker" || !region || !account || !id) {
    return `"${uri}" is not the ARN of a SageMaker MLflow tracking server (arn:aws:sagemaker:<region>:<account>:mlflow-tracking-server/<name>)`
  }
  if (partition !== "aws" && partition !== "aws-us-gov") {
    return `partition ${partition} is not supported (aws, aws-us-gov)`
  }
  if (type === "mlflow-tracking-server") {
    return {
      arn: uri,
      region,
      endpoint: `https://${region}.experiments.sagemaker.aws`,
      service: "sagemaker-mlflow",
      header: ["x-mlflow-sm-tracking-server-arn", uri]
    }
  }
  if (type === "mlflow-app") {
    return {
      arn: uri,
      region,
      endpoint: `https://mlflow.sagemaker.${region}.app.aws`,
      service: "sagemaker",
      header: ["x-sm-mlflow-app-arn", uri]
    }
  }
  return `resource type ${type} is not supported (mlflow-tracking-server, mlflow-app)`
}
