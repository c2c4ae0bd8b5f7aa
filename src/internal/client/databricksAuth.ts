import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { DatabricksSettings } from "../../MlflowConfig.js"
import { bytesToBase64 } from "../common/bytes.js"
import { type MlflowError, MlflowTransportError } from "./errors.js"
import type { DynamicHeaders, JsonObject, Request } from "./model.js"

/** A token is asked for again this long before it expires. */
const REFRESH_MARGIN_MILLIS = 60_000

const text = (value: unknown): string | undefined => typeof value === "string" && value !== "" ? value : undefined

/**
 * What the workspace says of itself at `/.well-known/databricks-config` (its id, where its OIDC
 * endpoints are), as Databricks' SDKs read it. A host without it (an answer short of a server error)
 * has none; a failure on the way is asked again next time.
 */
const hostMetadata = (request: Request, host: string) =>
  request("GET", `${host}/.well-known/databricks-config`, { anonymous: true }).pipe(
    Effect.timeout(Duration.seconds(10)),
    Effect.catchIf(
      (error) => error._tag === "MlflowApiError" && error.status < 500 && error.status !== 429,
      (): Effect.Effect<JsonObject> => Effect.succeed({})
    )
  )

/** An identity provider's answer without what OAuth says it holds: not retried, as it stays so. */
const unusable = (method: string, url: string, detail: string) =>
  new MlflowTransportError({ reason: "Decode", method, url, detail, description: "unusable OAuth answer" })

/**
 * The headers a Databricks workspace wants on every request: `X-Databricks-Org-Id` when its id is
 * known (given, or from the host's metadata), and for OAuth machine-to-machine a bearer token of the
 * client-credentials grant, from the token endpoint the OIDC discovery document names, kept until a
 * minute before it expires. The personal access token and basic auth are the client's own.
 *
 * @internal
 */
export const headers = (settings: DatabricksSettings): DynamicHeaders => (request, addSecret) =>
  Effect.gen(function*() {
    const [known, forget] = yield* Effect.cachedInvalidateWithTTL(
      hostMetadata(request, settings.host),
      Duration.infinity
    )
    // best effort: without it, no org id this time, and the OIDC endpoints where workspaces have them
    const metadata = Effect.catchAll(known, () => Effect.as(forget, {} as JsonObject))
    const workspaceId = settings.workspaceId !== undefined
      ? Effect.succeed(settings.workspaceId)
      : Effect.map(metadata, (meta) =>
        text(meta.workspace_id) ?? (typeof meta.workspace_id === "number"
          ? String(meta.workspace_id)
          : undefined))
    const auth = settings.auth
    if (auth._tag !== "OAuthM2M") {
      return Effect.map(
        workspaceId,
        (id): Record<string, string> => id === undefined ? {} : { "X-Databricks-Org-Id": id }
      )
    }

    const secret = Redacted.value(auth.clientSecret)
    const basic = `Basic ${bytesToBase64(new TextEncoder().encode(`${auth.clientId}:${secret}`))}`
    addSecret(secret)
    addSecret(basic.slice("Basic ".length))

    const discoveryUrl = auth.discoveryUrl !== undefined ? Effect.succeed(auth.discoveryUrl) : Effect.map(
      metadata,
      (meta) => {
        const oidc = text(meta.oidc_endpoint)?.replace("{account_id}", text(meta.account_id) ?? "").replace(/\/+$/, "")
        return `${oidc ?? `${settings.host}/oidc`}/.well-known/oauth-authorization-server`
      }
    )
    const tokenEndpoint = yield* Effect.cachedInvalidateWithTTL(
      Effect.flatMap(discoveryUrl, (url) =>
        Effect.flatMap(request("GET", url, { anonymous: true }), (document) => {
          const endpoint = text(document.token_endpoint)
          return endpoint === undefined
            ? Effect.fail(unusable("GET", url, "the OIDC discovery document names no token_endpoint"))
            : Effect.succeed(endpoint)
        })),
      Duration.hours(1)
    )

    let current: { readonly header: string; readonly until: number } | undefined
    const fetchToken = Effect.flatMap(tokenEndpoint[0], (endpoint) =>
      request("POST", endpoint, {
        anonymous: true,
        form: { grant_type: "client_credentials", scope: auth.scopes },
        headers: { Authorization: basic }
      }).pipe(
        Effect.flatMap((answer) => {
          const token = text(answer.access_token)
          if (token === undefined) {
            return Effect.fail(
              unusable("POST", endpoint, `the token endpoint answered no access_token for ${auth.clientId}`)
            )
          }
          addSecret(token)
          const expiresIn = Number(answer.expires_in)
          const lifetime = Number.isFinite(expiresIn) ? expiresIn * 1000 : 3_600_000
          const header = `${text(answer.token_type) ?? "Bearer"} ${token}`
          current = { header, until: Date.now() + Math.max(0, lifetime - REFRESH_MARGIN_MILLIS) }
          return Effect.succeed(header)
        })
      )).pipe(
        // asked again after a failure: a failed discovery is not kept, and an endpoint may have moved
        Effect.tapError(() => tokenEndpoint[1])
      )
    const lock = yield* Effect.makeSemaphore(1)
    const bearer: Effect.Effect<string, MlflowError> = Effect.suspend(() => {
      const known = current
      return known !== undefined && Date.now() < known.until
        ? Effect.succeed(known.header)
        : lock.withPermits(1)(Effect.suspend(() => {
          const again = current
          return again !== undefined && Date.now() < again.until ? Effect.succeed(again.header) : fetchToken
        }))
    })
    return Effect.zipWith(workspaceId, bearer, (id, authorization): Record<string, string> => ({
      Authorization: authorization,
      ...(id === undefined ? {} : { "X-Databricks-Org-Id": id })
    }))
  })

/**
 * A workspace has no `/health`: it is up when its REST API answers, whatever it answers short of a
 * server error.
 *
 * @internal
 */
export const healthCheck = (request: Request): Effect.Effect<boolean> =>
  request("GET", "/api/2.0/mlflow/experiments/search", { query: { max_results: "1" } }).pipe(
    Effect.as(true),
    Effect.timeout(Duration.seconds(5)),
    Effect.catchAll((error) =>
      Effect.succeed(error._tag === "MlflowApiError" && error.status < 500 && error.status !== 429)
    )
  )
