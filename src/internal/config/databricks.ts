/**
 * Databricks host and credentials as the `databricks-sdk` Python package's `Config` resolves them
 * (MLflow's client goes through it for `databricks` tracking URIs), for the methods a service uses:
 * a personal access token, basic auth, and OAuth machine-to-machine. Settings come from the options
 * (the `DATABRICKS_*` variables) first, then from a profile of `~/.databrickscfg`
 * (`DATABRICKS_CONFIG_FILE`), which is read only when a profile is named or nothing else says how to
 * authenticate. Methods that need a person or a machine's identity (the Databricks and Azure command
 * lines, a browser, Azure, Google, OIDC token files, the metadata service) are an error saying so.
 *
 * @internal
 */
import type { Resolution } from "./aws.js"
import { parseIni } from "./ini.js"

/** The settings, by the `databricks-sdk`'s attribute names (the keys of a `.databrickscfg` profile). */
export type Attributes = Readonly<Record<string, string | undefined>>

/** What the resolution reads. */
export interface DatabricksSources {
  /** the profile the tracking URI names (`databricks://<profile>`) */
  readonly uriProfile: string | undefined
  /** the settings given as options or `DATABRICKS_*` variables */
  readonly given: Attributes
  /** the configuration file's path as shown in messages, and its text (`undefined`: no such file) */
  readonly configFile: { readonly path: string; readonly text: string | undefined }
}

export type DatabricksAuth =
  | { readonly _tag: "Pat"; readonly token: string }
  | { readonly _tag: "Basic"; readonly username: string; readonly password: string }
  | {
    readonly _tag: "OAuthM2M"
    readonly clientId: string
    readonly clientSecret: string
    /** the OIDC discovery document's URL, when given; else the host's metadata names it */
    readonly discoveryUrl: string | undefined
    readonly scopes: string
  }

export interface ResolvedDatabricks {
  readonly host: string
  readonly auth: DatabricksAuth
  readonly workspaceId: string | undefined
  /** the profile the settings came from, if one */
  readonly profile: string | undefined
}

/** Attributes that configure an authentication method, by the method's group (the sdk's `auth=`). */
const AUTH_GROUPS: Readonly<Record<string, string>> = {
  token: "pat",
  username: "basic",
  password: "basic",
  client_id: "oauth",
  client_secret: "oauth",
  oidc_token_env: "env-oidc",
  oidc_token_filepath: "file-oidc",
  google_service_account: "google",
  google_credentials: "google",
  azure_workspace_resource_id: "azure",
  azure_use_msi: "azure",
  azure_client_secret: "azure",
  azure_client_id: "azure",
  azure_tenant_id: "azure"
}

/** Methods of the sdk's chain that need what a service here does not have. */
const UNSUPPORTED_METHODS = new Set([
  "metadata-service",
  "env-oidc",
  "file-oidc",
  "github-oidc",
  "azure-client-secret",
  "github-oidc-azure",
  "azure-cli",
  "azure-devops-oidc",
  "external-browser",
  "databricks-cli",
  "runtime",
  "runtime-oauth",
  "google-credentials",
  "google-id",
  "model-serving"
])

const SETTINGS_SECTION = "__settings__"

const present = (value: string | undefined): value is string => value !== undefined && value !== ""

const missing = (detail: string): Resolution<never> => ({ _tag: "Missing", detail })

/** As the sdk: `https://` when no scheme, no trailing slash, no port 443; the rest as written. */
export const normalizeHost = (host: string): string => {
  const withScheme = host.includes("://") ? host : `https://${host}`
  const parts = /^([^:]*):\/\/([^/?#]*)([^?#]*)(.*)$/.exec(withScheme)
  if (parts === null) return withScheme
  const [, scheme, netloc, path, rest] = parts
  return `${scheme}://${netloc.replace(/:443$/, "")}${path.replace(/\/+$/, "")}${rest}`
}

/** The sdk's `_known_file_config_loader`: the profile's settings under the ones already given. */
const fromFile = (
  attributes: Record<string, string | undefined>,
  file: DatabricksSources["configFile"]
): Resolution<string | undefined> => {
  const anyAuth = Object.keys(AUTH_GROUPS).some((name) => present(attributes[name]))
  const requested = attributes.profile
  if (!present(requested) && (anyAuth || present(attributes.host))) return { _tag: "Found", value: undefined }
  if (file.text === undefined) {
    return present(requested)
      ? missing(`profile ${requested} was asked for, but ${file.path} does not exist`)
      : { _tag: "Found", value: undefined }
  }
  const sections = parseIni(file.text)
  const defaults = sections.get("DEFAULT")
  const defaultProfile = sections.get(SETTINGS_SECTION)?.get("default_profile")?.trim()
  const [profile, fallback] = present(requested)
    ? [requested, false]
    : present(defaultProfile)
    ? [defaultProfile, false]
    : defaults !== undefined && defaults.size > 0
    ? ["DEFAULT", true]
    : [undefined, true]
  if (profile === SETTINGS_SECTION) {
    return missing(`${SETTINGS_SECTION} is a reserved section name and cannot be used as a profile`)
  }
  if (profile === undefined) return { _tag: "Found", value: undefined }
  const section = profile === "DEFAULT" ? defaults : sections.get(profile)
  if (section === undefined || (profile === "DEFAULT" && section.size === 0)) {
    return fallback ? { _tag: "Found", value: undefined } : missing(`${file.path} has no ${profile} profile`)
  }
  for (const [key, value] of section) if (!present(attributes[key])) attributes[key] = value
  return { _tag: "Found", value: fallback ? undefined : profile }
}

const scopesOf = (value: string | undefined): string => {
  const scopes = [...new Set((value ?? "").split(/[, ]+/).filter((s) => s !== ""))].sort()
  return scopes.length === 0 ? "all-apis" : scopes.join(" ")
}

/** The first method of the sdk's chain that the settings configure (or the one `auth_type` names). */
const authOf = (a: Record<string, string | undefined>): Resolution<DatabricksAuth> => {
  const wanted = present(a.auth_type) ? a.auth_type : undefined
  if (present(a.group_id)) {
    return missing("group role assumption (group_id, DATABRICKS_GROUP_ID) is not supported by effect-mlflow")
  }
  const chain: ReadonlyArray<readonly [string, () => DatabricksAuth | undefined]> = [
    ["pat", () => present(a.host) && present(a.token) ? { _tag: "Pat", token: a.token } : undefined],
    [
      "basic",
      () =>
        present(a.host) && present(a.username) && present(a.password)
          ? { _tag: "Basic", username: a.username, password: a.password }
          : undefined
    ],
    [
      "oauth-m2m",
      () =>
        present(a.host) && present(a.client_id) && present(a.client_secret)
          ? {
            _tag: "OAuthM2M",
            clientId: a.client_id,
            clientSecret: a.client_secret,
            discoveryUrl: present(a.discovery_url) ? a.discovery_url : undefined,
            scopes: scopesOf(a.scopes)
          }
          : undefined
    ]
  ]
  if (wanted !== undefined && UNSUPPORTED_METHODS.has(wanted)) {
    return missing(
      `auth_type ${wanted} needs what effect-mlflow does not do; use a personal access token ` +
        "(DATABRICKS_TOKEN) or OAuth machine-to-machine (DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET)"
    )
  }
  for (const [method, make] of chain) {
    if (wanted !== undefined && method !== wanted) continue
    const auth = make()
    if (auth !== undefined) return { _tag: "Found", value: auth }
  }
  if (!present(a.host)) {
    return missing("no Databricks host: set DATABRICKS_HOST, or host in a profile of the configuration file")
  }
  return missing(
    wanted !== undefined
      ? `auth_type ${wanted} is set, but its settings are missing`
      : "no Databricks credentials: set DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET " +
        "(or token / client_id and client_secret in a profile)"
  )
}

export const resolveDatabricks = (sources: DatabricksSources): Resolution<ResolvedDatabricks> => {
  const attributes: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(sources.given)) if (present(value)) attributes[name] = value
  if (present(sources.uriProfile)) attributes.profile = sources.uriProfile
  const profile = fromFile(attributes, sources.configFile)
  if (profile._tag === "Missing") return profile
  const groups = [
    ...new Set(Object.keys(AUTH_GROUPS).filter((name) => present(attributes[name])).map((name) => AUTH_GROUPS[name]))
  ].sort()
  if (groups.length > 1 && !present(attributes.auth_type)) {
    return missing(`more than one authorization method configured: ${groups.join(" and ")}`)
  }
  const auth = authOf(attributes)
  if (auth._tag === "Missing") return auth
  return {
    _tag: "Found",
    value: {
      host: normalizeHost(attributes.host!),
      auth: auth.value,
      workspaceId: present(attributes.workspace_id) ? attributes.workspace_id : undefined,
      profile: profile.value ?? (present(attributes.profile) ? attributes.profile : undefined)
    }
  }
}

/** `databricks`, `databricks://<profile>`; `databricks://<scope>:<prefix>` names a secret scope. */
export const parseDatabricksUri = (uri: string): { readonly profile: string | undefined } | string | undefined => {
  if (uri !== "databricks" && !uri.startsWith("databricks:")) return undefined
  if (uri === "databricks" || uri === "databricks://") return { profile: undefined }
  const match = /^databricks:\/\/([^/:]+)(?::([^/]*))?\/?$/.exec(uri)
  if (match === null) return `"${uri}" is not a Databricks tracking URI (databricks or databricks://<profile>)`
  if (match[2] !== undefined) {
    return "databricks://<scope>:<prefix> reads the host and token from a secret scope, which only works inside " +
      "Databricks: use databricks://<profile>, or DATABRICKS_HOST and DATABRICKS_TOKEN"
  }
  return { profile: match[1] }
}
