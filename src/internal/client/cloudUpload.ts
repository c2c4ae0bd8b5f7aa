import * as Effect from "effect/Effect"
import { bytesToBase64 } from "../common/bytes.js"
import { MlflowTransportError } from "./errors.js"
import type { JsonObject, Request } from "./model.js"

/**
 * Trace data on a Databricks workspace lives in the workspace's cloud storage, which its REST API
 * hands out signed URLs for (`GetCredentialsForTraceDataUpload`). Each kind of URL is written the
 * way MLflow's `DatabricksArtifactRepository` writes it: one `PUT` for AWS and Google Cloud, Put
 * Block and Put Block List for Azure Blob Storage, create, append and flush for ADLS Gen2; with the
 * headers the credential carries that the operation takes, and never the workspace's credentials.
 *
 * @internal
 */

/** Blocks and appends of at most this many bytes (MLflow's `MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE` default). */
const CHUNK_BYTES = 10 * 1024 * 1024

interface Credential {
  readonly signedUri: string
  readonly type: string
  readonly headers: Readonly<Record<string, string>>
}

const PUT_BLOCK = new Set([
  "Authorization",
  "x-ms-date",
  "x-ms-version",
  "Content-MD5",
  "x-ms-content-crc64",
  "x-ms-encryption-scope",
  "x-ms-lease-id",
  "x-ms-client-request-id",
  "x-ms-encryption-key",
  "x-ms-encryption-key-sha256",
  "x-ms-encryption-algorithm"
])

const PUT_BLOCK_LIST = new Set([
  "Authorization",
  "Date",
  "x-ms-date",
  "x-ms-version",
  "Content-MD5",
  "x-ms-content-crc64",
  "x-ms-blob-cache-control",
  "x-ms-blob-content-type",
  "x-ms-blob-content-encoding",
  "x-ms-blob-content-language",
  "x-ms-blob-content-md5",
  "x-ms-encryption-scope",
  "x-ms-tags",
  "x-ms-lease-id",
  "x-ms-client-request-id",
  "x-ms-blob-content-disposition",
  "x-ms-access-tier",
  "If-Modified-Since",
  "If-Unmodified-Since",
  "If-Match",
  "If-None-Match"
])

const ADLS_PUT = new Set([
  "Cache-Control",
  "Content-Encoding",
  "Content-Language",
  "Content-Disposition",
  "x-ms-cache-control",
  "x-ms-content-type",
  "x-ms-content-encoding",
  "x-ms-content-language",
  "x-ms-content-disposition",
  "x-ms-rename-source",
  "x-ms-lease-id",
  "x-ms-properties",
  "x-ms-permissions",
  "x-ms-umask",
  "x-ms-owner",
  "x-ms-group",
  "x-ms-acl",
  "x-ms-proposed-lease-id",
  "x-ms-expiry-option",
  "x-ms-expiry-time",
  "If-Match",
  "If-None-Match",
  "If-Modified-Since",
  "If-Unmodified-Since",
  "x-ms-source-if-match",
  "x-ms-source-if-none-match",
  "x-ms-source-if-modified-since",
  "x-ms-source-if-unmodified-since",
  "x-ms-encryption-key",
  "x-ms-encryption-key-sha256",
  "x-ms-encryption-algorithm",
  "x-ms-encryption-context",
  "x-ms-client-request-id",
  "x-ms-date",
  "x-ms-version"
])

const ADLS_PATCH = new Set([
  "Content-MD5",
  "x-ms-lease-id",
  "x-ms-cache-control",
  "x-ms-content-type",
  "x-ms-content-disposition",
  "x-ms-content-encoding",
  "x-ms-content-language",
  "x-ms-content-md5",
  "x-ms-properties",
  "x-ms-owner",
  "x-ms-group",
  "x-ms-permissions",
  "x-ms-acl",
  "If-Match",
  "If-None-Match",
  "If-Modified-Since",
  "If-Unmodified-Since",
  "x-ms-encryption-key",
  "x-ms-encryption-key-sha256",
  "x-ms-encryption-algorithm",
  "x-ms-encryption-context",
  "x-ms-client-request-id",
  "x-ms-date",
  "x-ms-version"
])

const only = (headers: Credential["headers"], allowed: ReadonlySet<string>, metadata = false) =>
  Object.fromEntries(
    Object.entries(headers).filter(([name]) => allowed.has(name) || (metadata && name.startsWith("x-ms-meta-")))
  )

/** The signed URL with more query parameters (a parameter it already has is replaced). */
const withQuery = (signedUri: string, parameters: Readonly<Record<string, string>>): string => {
  const url = new URL(signedUri)
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value)
  return url.toString()
}

const chunks = (body: Uint8Array): ReadonlyArray<readonly [offset: number, part: Uint8Array]> => {
  if (body.length === 0) return [[0, body]]
  const out: Array<readonly [number, Uint8Array]> = []
  for (let offset = 0; offset < body.length; offset += CHUNK_BYTES) {
    out.push([offset, body.subarray(offset, offset + CHUNK_BYTES)])
  }
  return out
}

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("")

const OCTETS = "application/octet-stream"

/** Writes `body` where the credential points, as its kind of storage takes it. */
export const upload = (request: Request, credential: Credential, body: Uint8Array) => {
  const send = (
    method: "PUT" | "PATCH",
    url: string,
    headers: Readonly<Record<string, string>>,
    bytes: Uint8Array | undefined,
    contentType = OCTETS
  ) =>
    request(method, url, {
      anonymous: true,
      ignoreAnswer: true,
      headers,
      ...(bytes === undefined ? {} : { bytes: { body: bytes, contentType } })
    })
  const { headers, signedUri } = credential
  switch (credential.type) {
    case "AWS_PRESIGNED_URL":
    case "GCP_SIGNED_URL":
      return Effect.asVoid(send("PUT", signedUri, headers, body))
    case "AZURE_SAS_URI":
      return Effect.gen(function*() {
        const ids: Array<string> = []
        for (const [, part] of chunks(body)) {
          // as MLflow: the base64 of 32 hex digits, so that every block id of a blob has one length
          const id = bytesToBase64(new TextEncoder().encode(randomHex(16)))
          yield* send(
            "PUT",
            withQuery(signedUri, { comp: "block", blockid: id }),
            { "x-ms-blob-type": "BlockBlob", ...only(headers, PUT_BLOCK) },
            part
          )
          ids.push(id)
        }
        const list = `<?xml version="1.0" encoding="utf-8"?>\n<BlockList>\n${
          ids.map((id) => `<Uncommitted>${id}</Uncommitted>\n`).join("")
        }</BlockList>`
        yield* send(
          "PUT",
          withQuery(signedUri, { comp: "blocklist" }),
          // the blob's metadata goes with the list that commits it
          only(headers, PUT_BLOCK_LIST, true),
          new TextEncoder().encode(list),
          "application/xml"
        )
      })
    case "AZURE_ADLS_GEN2_SAS_URI":
      return Effect.gen(function*() {
        yield* send("PUT", withQuery(signedUri, { resource: "file" }), only(headers, ADLS_PUT), undefined)
        const parts = chunks(body)
        const single = parts.length === 1
        for (const [offset, part] of parts) {
          yield* send(
            "PATCH",
            withQuery(signedUri, { action: "append", position: String(offset), ...(single ? { flush: "true" } : {}) }),
            only(headers, ADLS_PATCH),
            part
          )
        }
        if (!single) {
          yield* send(
            "PATCH",
            withQuery(signedUri, { action: "flush", position: String(body.length) }),
            only(headers, ADLS_PUT),
            undefined
          )
        }
      })
    default:
      return Effect.fail(
        new MlflowTransportError({
          reason: "Decode",
          method: "PUT",
          url: "(signed storage URL)",
          detail: `the workspace handed out a credential of a kind effect-mlflow cannot write: ${credential.type}`,
          description: "unknown storage credential"
        })
      )
  }
}

const decodeCredential = (answer: JsonObject, url: string): Effect.Effect<Credential, MlflowTransportError> => {
  const info = answer.credential_info as
    | { signed_uri?: unknown; type?: unknown; headers?: ReadonlyArray<{ name?: unknown; value?: unknown }> }
    | undefined
  if (typeof info?.signed_uri !== "string" || typeof info.type !== "string") {
    return Effect.fail(
      new MlflowTransportError({
        reason: "Decode",
        method: "GET",
        url,
        detail: "the answer has no credential_info with a signed_uri and a type",
        description: "answer not a credential"
      })
    )
  }
  const headers: Record<string, string> = {}
  for (const header of info.headers ?? []) {
    if (typeof header.name === "string" && typeof header.value === "string") headers[header.name] = header.value
  }
  return Effect.succeed({ signedUri: info.signed_uri, type: info.type, headers })
}

const credentialsPath = (traceId: string, direction: "upload" | "download") =>
  `/api/2.0/mlflow/traces/${encodeURIComponent(traceId)}/credentials-for-data-${direction}`

/**
 * Writes a file of a trace's data (`traces.json`, or `path` such as `attachments/<id>`) through a
 * credential the workspace hands out for it.
 */
export const uploadTraceFile = (request: Request, traceId: string, path: string | undefined, body: Uint8Array) => {
  const endpoint = credentialsPath(traceId, "upload")
  return request("GET", endpoint, path === undefined ? {} : { query: { path } }).pipe(
    Effect.flatMap((answer) => decodeCredential(answer, endpoint)),
    Effect.flatMap((credential) => upload(request, credential, body))
  )
}

/** Reads a trace's `traces.json` through a credential the workspace hands out for it: one `GET`, whatever the storage. */
export const downloadTraceData = (request: Request, traceId: string, maxAnswerBytes: number) => {
  const endpoint = credentialsPath(traceId, "download")
  return request("GET", endpoint).pipe(
    Effect.flatMap((answer) => decodeCredential(answer, endpoint)),
    Effect.flatMap((credential) =>
      request("GET", credential.signedUri, { anonymous: true, headers: credential.headers, maxAnswerBytes })
    )
  )
}
