import * as crypto from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/**
 * A loopback stand-in for a Databricks workspace, as far as tracing uses one: its metadata and OIDC
 * endpoints, an OAuth token endpoint for service principals, the MLflow REST API (forwarded to a real
 * MLflow server, with trace artifact locations shown as the workspace's `dbfs:` ones), the
 * `credentials-for-data-upload` endpoint, and the cloud storage its signed URLs point at (AWS and
 * Google Cloud `PUT`, Azure Put Block / Put Block List, ADLS Gen2 create / append / flush), which
 * writes each completed file to the real server's artifacts. It checks every request it gets and
 * records what it finds wrong in `problems`.
 */

export type CredentialType = "AWS_PRESIGNED_URL" | "GCP_SIGNED_URL" | "AZURE_SAS_URI" | "AZURE_ADLS_GEN2_SAS_URI"

export interface WorkspaceOptions {
  /** a real MLflow server the REST API is forwarded to */
  readonly upstream?: string | undefined
  readonly credentialType?: CredentialType | undefined
  /** headers handed out with each credential, which the storage then requires */
  readonly credentialHeaders?: Readonly<Record<string, string>> | undefined
  readonly pats?: ReadonlyArray<string> | undefined
  /** service principals: client id to secret */
  readonly clients?: Readonly<Record<string, string>> | undefined
  /** `user:password` pairs basic auth takes */
  readonly basicUsers?: ReadonlyArray<string> | undefined
  readonly workspaceId?: string | undefined
  /** access tokens expire after this many seconds */
  readonly tokenLifetimeSeconds?: number | undefined
  /** the first this many OIDC discovery requests are answered 503 (an identity provider's outage) */
  readonly discoveryOutages?: number | undefined
  /** the first this many host metadata requests are answered 503 */
  readonly metadataOutages?: number | undefined
  /**
   * storage refuses every request with a 403 whose body echoes the signed URL and its signature, as
   * S3 does for a signature it does not accept
   */
  readonly refuseStorage?: boolean | undefined
}

export interface Recorded {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string | undefined>>
}

export interface RunningWorkspace {
  readonly url: string
  readonly requests: Array<Recorded>
  readonly problems: Array<string>
  /** tokens the token endpoint issued */
  readonly issued: Array<string>
  /** files written to storage, by `<trace id>/<path>` */
  readonly stored: Map<string, Buffer>
  /** the signed URLs handed out */
  readonly signedUris: Array<string>
  readonly stop: () => Promise<void>
}

const SIGNING_KEY = crypto.randomBytes(32)
const hmac = (path: string) => crypto.createHmac("sha256", SIGNING_KEY).update(path)

/** The query parameter that carries a kind of storage's signature, and the signature of a path in it. */
const SIGNATURE: Record<CredentialType, { readonly parameter: string; readonly sign: (path: string) => string }> = {
  AWS_PRESIGNED_URL: { parameter: "X-Amz-Signature", sign: (path) => hmac(path).digest("hex") },
  GCP_SIGNED_URL: { parameter: "X-Goog-Signature", sign: (path) => hmac(path).digest("hex") },
  AZURE_SAS_URI: { parameter: "sig", sign: (path) => hmac(path).digest("base64") },
  AZURE_ADLS_GEN2_SAS_URI: { parameter: "sig", sign: (path) => hmac(path).digest("base64") }
}

/** The query of a signed URL, as each cloud writes one (its credential parameters included). */
const signedQuery = (type: CredentialType, signature: string): string => {
  const date = "20300101T000000Z"
  const query = type === "AWS_PRESIGNED_URL"
    ? {
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": "ASIAPLANTEDKEYID/20300101/us-west-2/s3/aws4_request",
      "X-Amz-Date": date,
      "X-Amz-Expires": "900",
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Security-Token": "IQoJb3JpZ2luX2VjEPLANTED-session/token+x==",
      "X-Amz-Signature": signature
    }
    : type === "GCP_SIGNED_URL"
    ? {
      "X-Goog-Algorithm": "GOOG4-RSA-SHA256",
      "X-Goog-Credential": "uploader@PLANTED-project.iam.gserviceaccount.com/20300101/auto/storage/goog4_request",
      "X-Goog-Date": date,
      "X-Goog-Expires": "900",
      "X-Goog-SignedHeaders": "host",
      "X-Goog-Signature": signature
    }
    : { sv: "2024-08-04", se: "2030-01-01T00:00:00Z", sr: "b", sp: "racwd", sig: signature }
  return new URLSearchParams(query).toString()
}

const readBody = (request: http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    request.on("data", (part: Buffer) => parts.push(part))
    request.on("end", () => resolve(Buffer.concat(parts)))
    request.on("error", reject)
  })

const json = (response: http.ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { "content-type": "application/json" })
  response.end(JSON.stringify(body))
}

/** The file a stored `mlflow-artifacts:` location names, as the real server's artifact API serves it. */
const artifactUrl = (upstream: string, location: string, file: string) =>
  `${upstream}/api/2.0/mlflow-artifacts/artifacts/${
    location.replace(/^mlflow-artifacts:(\/\/[^/]*)?/, "").replace(/^\/+/, "")
  }/${file}`

export const startWorkspace = async (options: WorkspaceOptions = {}): Promise<RunningWorkspace> => {
  const requests: Array<Recorded> = []
  const problems: Array<string> = []
  const issued: Array<string> = []
  const stored = new Map<string, Buffer>()
  const signedUris: Array<string> = []
  const locations = new Map<string, string>()
  const shown = new Map<string, string>()
  const blocks = new Map<string, Buffer>()
  const appends = new Map<string, Buffer>()
  const credentialType = options.credentialType ?? "AWS_PRESIGNED_URL"
  const signature = SIGNATURE[credentialType]
  const credentialHeaders = options.credentialHeaders ?? {}
  let url = ""
  let outages = options.discoveryOutages ?? 0
  let metadataOutages = options.metadataOutages ?? 0

  const issue = (clientId: string, scope: string, prefix: string) => {
    const token = `${prefix}-${clientId}-${scope.replace(/\W+/g, "_")}-${issued.length}`
    issued.push(token)
    return token
  }

  const tokenEndpoint = (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    body: Buffer,
    prefix: string
  ) => {
    const form = new URLSearchParams(body.toString("utf8"))
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? "")
    const [clientId, secret] = basic === null
      ? []
      : Buffer.from(basic[1], "base64").toString("utf8").split(/:(.*)/s)
    if (clientId === undefined || options.clients?.[clientId] !== secret) {
      return json(response, 401, { error: "invalid_client", error_description: "Client authentication failed" })
    }
    if (form.get("grant_type") !== "client_credentials") problems.push(`token grant ${form.get("grant_type")}`)
    json(response, 200, {
      access_token: issue(clientId, form.get("scope") ?? "", prefix),
      token_type: "Bearer",
      expires_in: options.tokenLifetimeSeconds ?? 3600,
      scope: form.get("scope")
    })
  }

  const authorized = (request: http.IncomingMessage) => {
    const header = request.headers.authorization ?? ""
    const bearer = /^Bearer (.+)$/.exec(header)?.[1]
    if (bearer !== undefined) return (options.pats ?? []).includes(bearer) || issued.includes(bearer)
    const basic = /^Basic (.+)$/.exec(header)?.[1]
    return basic !== undefined && (options.basicUsers ?? []).includes(Buffer.from(basic, "base64").toString("utf8"))
  }

  const forward = async (request: http.IncomingMessage, path: string, body: Buffer) => {
    const answer = await fetch(`${options.upstream}${path}`, {
      method: request.method!,
      headers: { "content-type": request.headers["content-type"] ?? "application/json" },
      ...(body.length > 0 ? { body: new Uint8Array(body) } : {})
    })
    return { status: answer.status, text: await answer.text() }
  }

  /** Writes a completed file to the real server's artifacts, where MLflow's client reads it back. */
  const complete = async (traceId: string, file: string, content: Buffer) => {
    stored.set(`${traceId}/${file}`, content)
    const location = locations.get(traceId)
    if (location === undefined || options.upstream === undefined) return
    const answer = await fetch(artifactUrl(options.upstream, location, file), {
      method: "PUT",
      body: new Uint8Array(content)
    })
    if (!answer.ok) problems.push(`artifact write for ${traceId} answered ${answer.status}`)
  }

  const storage = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    target: URL,
    body: Buffer
  ): Promise<void> => {
    const [, , traceId, ...rest] = target.pathname.split("/").map(decodeURIComponent)
    const file = rest.join("/")
    const given = target.searchParams.get(signature.parameter)
    if (options.refuseStorage === true) {
      response.writeHead(403, { "content-type": "application/xml" })
      return void response.end(
        `<Error><Code>AccessDenied</Code><Message>Request has expired</Message><SignatureProvided>${given}` +
          `</SignatureProvided><CanonicalRequest>${request.method} ${target.pathname}\n${target.search.slice(1)}` +
          `</CanonicalRequest><Url>${target.href.replaceAll("&", "&amp;")}</Url></Error>`
      )
    }
    if (given !== signature.sign(`${traceId}/${file}`)) {
      problems.push(`storage request without a valid signature: ${request.method} ${target.pathname}`)
      response.writeHead(403).end("<Error><Code>AuthenticationFailed</Code></Error>")
      return
    }
    if (request.headers.authorization !== undefined) problems.push(`the workspace's credentials went to storage`)
    if (request.headers["x-databricks-org-id"] !== undefined) problems.push(`X-Databricks-Org-Id went to storage`)
    const key = `${traceId}/${file}`
    const query = target.searchParams
    if (request.method === "GET") {
      const content = stored.get(key)
      if (content === undefined) return void response.writeHead(404).end("<Error><Code>BlobNotFound</Code></Error>")
      response.writeHead(200, { "content-type": "application/octet-stream" })
      return void response.end(content)
    }
    const missingHeader = (names: ReadonlyArray<string>) => names.find((name) => request.headers[name] === undefined)
    switch (credentialType) {
      case "AWS_PRESIGNED_URL":
      case "GCP_SIGNED_URL": {
        const absent = missingHeader(Object.keys(credentialHeaders).map((name) => name.toLowerCase()))
        if (request.method !== "PUT" || absent !== undefined) {
          problems.push(`signed URL: ${request.method}, missing header ${absent}`)
          return void response.writeHead(400).end()
        }
        await complete(traceId, file, body)
        return void response.writeHead(200).end()
      }
      case "AZURE_SAS_URI": {
        if (request.method === "PUT" && query.get("comp") === "block") {
          if (request.headers["x-ms-blob-type"] !== "BlockBlob") problems.push("Put Block without x-ms-blob-type")
          blocks.set(`${key}#${query.get("blockid")}`, body)
          return void response.writeHead(201).end()
        }
        if (request.method === "PUT" && query.get("comp") === "blocklist") {
          const ids = [...body.toString("utf8").matchAll(/<Uncommitted>([^<]*)<\/Uncommitted>/g)].map((m) => m[1])
          const parts = ids.map((id) => blocks.get(`${key}#${id}`))
          if (parts.some((part) => part === undefined)) {
            problems.push("Put Block List names a block never put")
            return void response.writeHead(400).end("<Error><Code>InvalidBlockList</Code></Error>")
          }
          await complete(traceId, file, Buffer.concat(parts as Array<Buffer>))
          return void response.writeHead(201).end()
        }
        break
      }
      case "AZURE_ADLS_GEN2_SAS_URI": {
        const action = query.get("action")
        if (request.method === "PUT" && query.get("resource") === "file") {
          appends.set(key, Buffer.alloc(0))
          return void response.writeHead(201).end()
        }
        const sofar = appends.get(key)
        if (request.method === "PATCH" && action === "append" && sofar !== undefined) {
          if (Number(query.get("position")) !== sofar.length) {
            problems.push(`append at ${query.get("position")}, file has ${sofar.length}`)
            return void response.writeHead(400).end()
          }
          const now = Buffer.concat([sofar, body])
          appends.set(key, now)
          if (query.get("flush") === "true") await complete(traceId, file, now)
          return void response.writeHead(202).end()
        }
        if (request.method === "PATCH" && action === "flush" && sofar !== undefined) {
          if (Number(query.get("position")) !== sofar.length) problems.push("flush at the wrong position")
          await complete(traceId, file, sofar)
          return void response.writeHead(200).end()
        }
        break
      }
    }
    problems.push(`storage request of no ${credentialType} operation: ${request.method} ${target.search}`)
    response.writeHead(400).end()
  }

  const credentials = (response: http.ServerResponse, traceId: string, path: string | null, download: boolean) => {
    if (!locations.has(traceId)) {
      return json(response, 404, { error_code: "RESOURCE_DOES_NOT_EXIST", message: `Trace ${traceId} not found` })
    }
    const file = path ?? "traces.json"
    const signedUri = `${url}/storage/${encodeURIComponent(traceId)}/${file}?${
      signedQuery(credentialType, signature.sign(`${traceId}/${file}`))
    }`
    signedUris.push(signedUri)
    json(response, 200, {
      credential_info: {
        signed_uri: signedUri,
        type: credentialType,
        headers: download ? [] : Object.entries(credentialHeaders).map(([name, value]) => ({ name, value }))
      }
    })
  }

  const api = async (request: http.IncomingMessage, response: http.ServerResponse, target: URL, body: Buffer) => {
    if (!authorized(request)) {
      problems.push(`unauthorized ${request.method} ${target.pathname}`)
      return json(response, 401, { error_code: "UNAUTHENTICATED", message: "Invalid access token." })
    }
    const orgId = request.headers["x-databricks-org-id"]
    if (orgId !== undefined && orgId !== options.workspaceId) problems.push(`X-Databricks-Org-Id ${orgId}`)
    const data = /^\/api\/2\.0\/mlflow\/traces\/([^/]+)\/credentials-for-data-(upload|download)$/.exec(
      target.pathname
    )
    if (data !== null && request.method === "GET") {
      return credentials(response, decodeURIComponent(data[1]), target.searchParams.get("path"), data[2] === "download")
    }
    // MLflow's client does not ask a workspace for a trace with its spans: it reads the info, then the data
    if (options.upstream === undefined || target.pathname === "/api/3.0/mlflow/traces/get") {
      return json(response, 404, { error_code: "ENDPOINT_NOT_FOUND" })
    }
    const answer = await forward(request, `${target.pathname}${target.search}`, body)
    if (target.pathname === "/api/3.0/mlflow/traces" && request.method === "POST" && answer.status === 200) {
      const parsed = JSON.parse(answer.text)
      const info = parsed.trace.trace_info
      const workspaceLocation =
        `dbfs:/databricks/mlflow-tracking/${info.trace_location.mlflow_experiment.experiment_id}/${info.trace_id}/artifacts`
      locations.set(info.trace_id, info.tags["mlflow.artifactLocation"])
      shown.set(info.tags["mlflow.artifactLocation"], workspaceLocation)
      info.tags["mlflow.artifactLocation"] = workspaceLocation
      return json(response, 200, parsed)
    }
    // every answer shows a trace's artifacts where the workspace keeps them
    let text = answer.text
    for (const [original, workspaceLocation] of shown) text = text.replaceAll(original, workspaceLocation)
    response.writeHead(answer.status, { "content-type": "application/json" })
    response.end(text)
  }

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const target = new URL(request.url ?? "/", url)
    requests.push({
      method: request.method ?? "",
      path: target.pathname,
      query: Object.fromEntries(target.searchParams),
      headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]))
    })
    const body = await readBody(request)
    if (target.pathname === "/.well-known/databricks-config") {
      if (metadataOutages > 0) {
        metadataOutages--
        return json(response, 503, { error_code: "TEMPORARILY_UNAVAILABLE" })
      }
      return json(response, 200, {
        oidc_endpoint: `${url}/oidc`,
        ...(options.workspaceId === undefined ? {} : { workspace_id: options.workspaceId })
      })
    }
    for (const [prefix, base] of [["oidc", "/oidc/v1/token"], ["alt", "/alt/token"]] as const) {
      if (target.pathname === `/${prefix}/.well-known/oauth-authorization-server`) {
        if (outages > 0) {
          outages--
          return json(response, 503, { error: "temporarily_unavailable" })
        }
        return json(response, 200, {
          issuer: `${url}/${prefix}`,
          authorization_endpoint: `${url}/${prefix}/v1/authorize`,
          token_endpoint: `${url}${base}`
        })
      }
      if (target.pathname === base && request.method === "POST") return tokenEndpoint(request, response, body, prefix)
    }
    if (target.pathname.startsWith("/storage/")) return storage(request, response, target, body)
    if (target.pathname === "/v1/traces") {
      problems.push("spans sent over OTLP to a workspace experiment")
      return json(response, 404, { error_code: "ENDPOINT_NOT_FOUND" })
    }
    if (target.pathname.startsWith("/api/")) return api(request, response, target, body)
    json(response, 404, { error_code: "ENDPOINT_NOT_FOUND", message: target.pathname })
  }

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error) => {
      problems.push(`stand-in failed: ${String(error)}`)
      if (!response.headersSent) response.writeHead(500)
      response.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    requests,
    problems,
    issued,
    stored,
    signedUris,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
