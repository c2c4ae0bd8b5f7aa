/**
 * The settings that come from files: the TLS certificates, the AWS credentials (environment, shared
 * files) for SigV4, and a Databricks workspace's credentials (environment, `~/.databrickscfg`).
 * The files are read only when the settings ask for them, through `node:fs` loaded then.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Aws from "./aws.js"
import * as Databricks from "./databricks.js"
import type { DatabricksSettings, SigningSettings, TlsSettings } from "./model.js"
import { envOf, labelOf, type Problem } from "./setting.js"
import { aws as awsSettings, connection, type ConnectionInput } from "./settings.js"

const invalid = (setting: string, detail: string) => Effect.fail<Problem>({ setting, detail })

const SERVER_CERT = labelOf("serverCertPath", connection.serverCertPath)
const CLIENT_CERT = labelOf("clientCertPath", connection.clientCertPath)
const TRACKING_URI = envOf(connection.trackingUri)
const SIGNING = `awsSigV4 (${envOf(connection.awsSigV4)}, or a SageMaker ARN as ${TRACKING_URI})`
const DATABRICKS = `databricks (${TRACKING_URI} databricks[://<profile>], DATABRICKS_*)`

const BASIC_AUTH = `username/password (${envOf(connection.username)}/${envOf(connection.password)})`

/** Basic auth takes both a username and a password. */
export const basicAuth = <A extends { readonly username: unknown; readonly password: unknown }>(
  config: A
): Effect.Effect<A, Problem> =>
  (config.username === undefined) !== (config.password === undefined)
    ? invalid(BASIC_AUTH, "set both for basic auth, or neither")
    : Effect.succeed(config)

const readPem = (setting: string, file: string) =>
  Effect.tryPromise({
    // loaded only when used: the default path stays free of `node:fs`
    try: () => import("node:fs/promises").then((fs) => fs.readFile(file, "utf8")),
    catch: (error): Problem => ({
      setting,
      detail: `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`
    })
  }).pipe(
    Effect.filterOrFail(
      (text) => text.includes("-----BEGIN "),
      (): Problem => ({ setting, detail: `${file} is not a PEM file (no -----BEGIN line)` })
    )
  )

/** As MLflow's client: a CA bundle and "insecure" together are an error; blank paths count as unset. */
export const tlsSettings = (options: ConnectionInput): Effect.Effect<TlsSettings | undefined, Problem> => {
  const serverCert = options.serverCertPath?.trim() || undefined
  const clientCert = options.clientCertPath?.trim() || undefined
  const insecure = options.insecureTls === true
  if (serverCert === undefined && clientCert === undefined && !insecure) return Effect.succeed(undefined)
  if (insecure && serverCert !== undefined) {
    return invalid(
      labelOf("insecureTls", connection.insecureTls),
      `cannot be true while ${SERVER_CERT} is set: choose one`
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

const reveal = (secret: Redacted.Redacted | undefined) => secret === undefined ? undefined : Redacted.value(secret)

/** Credentials and region for SigV4, when the URI is a SageMaker ARN or signing is asked for. */
export const signingSettings = (
  options: ConnectionInput,
  uri: string | undefined
): Effect.Effect<SigningSettings | undefined, Problem> => {
  const sagemaker = uri === undefined ? undefined : Aws.parseSageMakerArn(uri)
  const target = typeof sagemaker === "object" ? sagemaker : undefined
  if (target === undefined && options.awsSigV4 !== true) return Effect.succeed(undefined)
  const aws = options.aws ?? {}
  return Effect.gen(function*() {
    const [credentialsFile, configFile] = yield* Effect.all([
      readOptional(aws.credentialsFile?.trim() || "~/.aws/credentials"),
      readOptional(aws.configFile?.trim() || "~/.aws/config")
    ])
    // the variables as botocore reads them, by their names (the options were read from the first of each)
    const sources: Aws.AwsSources = {
      env: {
        [envOf(awsSettings.accessKeyId)]: aws.accessKeyId,
        [envOf(awsSettings.secretAccessKey)]: reveal(aws.secretAccessKey),
        [envOf(awsSettings.sessionToken)]: reveal(aws.sessionToken),
        [envOf(awsSettings.profile)]: aws.profile,
        [envOf(awsSettings.region)]: aws.region
      },
      credentialsFile,
      configFile
    }
    const credentials = Aws.resolveCredentials(sources)
    if (credentials._tag === "Missing") return yield* invalid(SIGNING, credentials.detail)
    const region = target?.region ?? Aws.resolveRegion(sources)
    if (region === undefined) {
      return yield* invalid(
        SIGNING,
        `no AWS region: set ${envOf(awsSettings.region)} (or ${envOf(awsSettings.region, 1)}), or region in the profile`
      )
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

/** The workspace and credentials of a `databricks[://<profile>]` tracking URI, as Databricks' SDKs resolve them. */
export const databricksSettings = (
  options: ConnectionInput,
  uri: string | undefined
): Effect.Effect<DatabricksSettings | undefined, Problem> => {
  const parsed = uri === undefined ? undefined : Databricks.parseDatabricksUri(uri)
  if (parsed === undefined) return Effect.succeed(undefined)
  if (typeof parsed === "string") return invalid(labelOf("trackingUri", connection.trackingUri), parsed)
  const given = options.databricks ?? {}
  const path = given.configFile?.trim() || "~/.databrickscfg"
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
