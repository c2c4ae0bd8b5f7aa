import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

/**
 * AWS Signature Version 4 on `crypto.subtle` (no SDK): what SageMaker's managed MLflow and an API
 * Gateway in front of a server (`MLFLOW_TRACKING_AWS_SIGV4`) require of every request.
 *
 * @internal
 */

export interface AwsCredentials {
  readonly accessKeyId: string
  readonly secretAccessKey: Redacted.Redacted
  readonly sessionToken: Redacted.Redacted | undefined
}

export interface SigningScope {
  readonly region: string
  readonly service: string
}

/**
 * Headers never signed: the signature itself, and those set or changed on the way (by the platform,
 * proxies, tracing), as botocore leaves them out.
 */
const UNSIGNED = new Set([
  "authorization",
  "baggage",
  "connection",
  "expect",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "traceparent",
  "tracestate",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "user-agent",
  "x-amzn-trace-id"
])

const encoder = new TextEncoder()

const hex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, "0")).join("")

/** `crypto.subtle` takes bytes over an `ArrayBuffer` only (not a shared one): copied when needed */
const buffer = (bytes: Uint8Array): Uint8Array<ArrayBuffer> =>
  bytes.buffer instanceof ArrayBuffer ? bytes as Uint8Array<ArrayBuffer> : new Uint8Array(bytes)

const sha256 = (data: Uint8Array | string) =>
  crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : buffer(data))

const hmac = async (key: ArrayBuffer | Uint8Array, data: string): Promise<ArrayBuffer> => {
  const raw = key instanceof Uint8Array ? buffer(key) : key
  const imported = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
  return crypto.subtle.sign("HMAC", imported, encoder.encode(data))
}

/** RFC 3986: everything but `A-Z a-z 0-9 - _ . ~` percent-encoded, as SigV4 wants. */
export const uriEncode = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)

/** `20261204T101500Z` */
const amzDate = (now: Date) => now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")

export interface Unsigned {
  readonly method: string
  /** the URL as sent: its query already in SigV4's encoding (`canonicalUrl`) */
  readonly url: URL
  /** the headers to sign beside `host` and the `x-amz-*` ones the signature adds */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** What a request carries once signed: the headers to add, and the names that were signed. */
export interface Signature {
  readonly headers: Readonly<Record<string, string>>
  readonly signedHeaders: string
}

/** Signs a request: `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token` and `authorization`. */
export const sign = async (
  request: Unsigned,
  credentials: AwsCredentials,
  scope: SigningScope,
  now: Date
): Promise<Signature> => {
  const date = amzDate(now)
  const day = date.slice(0, 8)
  const payloadHash = hex(await sha256(request.body))
  const added: Record<string, string> = {
    "x-amz-date": date,
    "x-amz-content-sha256": payloadHash,
    ...(credentials.sessionToken === undefined
      ? {}
      : { "x-amz-security-token": Redacted.value(credentials.sessionToken) })
  }
  const toSign = new Map<string, string>()
  for (const [name, value] of Object.entries({ ...request.headers, ...added })) {
    const key = name.toLowerCase()
    if (!UNSIGNED.has(key)) toSign.set(key, value.trim().replace(/\s+/g, " "))
  }
  toSign.set("host", request.url.host)
  const names = [...toSign.keys()].sort()
  const signedHeaders = names.join(";")
  const canonicalPath = request.url.pathname === ""
    ? "/"
    : request.url.pathname.split("/").map(uriEncode).join("/")
  const canonical = [
    request.method.toUpperCase(),
    canonicalPath,
    request.url.search.replace(/^\?/, "").split("&").filter((pair) => pair !== "").sort(byKeyThenValue).join("&"),
    names.map((name) => `${name}:${toSign.get(name)}\n`).join(""),
    signedHeaders,
    payloadHash
  ].join("\n")
  const credentialScope = `${day}/${scope.region}/${scope.service}/aws4_request`
  const stringToSign = ["AWS4-HMAC-SHA256", date, credentialScope, hex(await sha256(canonical))].join("\n")
  let key: ArrayBuffer | Uint8Array = encoder.encode(`AWS4${Redacted.value(credentials.secretAccessKey)}`)
  for (const part of [day, scope.region, scope.service, "aws4_request"]) key = await hmac(key, part)
  const signature = hex(await hmac(key, stringToSign))
  return {
    headers: {
      ...added,
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, ` +
        `SignedHeaders=${signedHeaders}, Signature=${signature}`
    },
    signedHeaders
  }
}

const byKeyThenValue = (a: string, b: string): number => {
  const [ka, va] = splitPair(a)
  const [kb, vb] = splitPair(b)
  return ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0
}

const splitPair = (pair: string): readonly [string, string] => {
  const at = pair.indexOf("=")
  return at === -1 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)]
}

/**
 * The URL a signed request is sent to: its query parameters (from the URL and from `urlParams`)
 * encoded as SigV4 encodes them (`%20`, not `+`), so that what is signed is what is sent.
 */
export const canonicalUrl = (request: HttpClientRequest.HttpClientRequest): URL => {
  const url = new URL(request.url)
  const pairs = [...url.searchParams, ...request.urlParams]
  url.search = pairs.map(([key, value]) => `${uriEncode(key)}=${uriEncode(value)}`).join("&")
  return url
}

const bodyBytes = (request: HttpClientRequest.HttpClientRequest): Uint8Array | undefined => {
  switch (request.body._tag) {
    case "Empty":
      return new Uint8Array()
    case "Uint8Array":
      return request.body.body
    default:
      return undefined
  }
}

/**
 * A client that signs every request just before it is sent (after every header is set). `extra`:
 * headers every request carries and the signature covers (SageMaker's server ARN).
 */
export const signing = (
  credentials: AwsCredentials,
  scope: SigningScope,
  extra: Readonly<Record<string, string>> = {}
) =>
(client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.mapRequestEffect(client, (request) =>
    Effect.promise(async () => {
      const headers = { ...request.headers, ...extra }
      const body = bodyBytes(request)
      // the client sends only empty and byte bodies; a stream could not be hashed before sending
      if (body === undefined) throw new Error(`cannot sign a ${request.body._tag} body`)
      const url = canonicalUrl(request)
      const signature = await sign({ method: request.method, url, headers, body }, credentials, scope, new Date())
      // made anew: the query is in the URL as signed, none left in `urlParams` to be encoded again
      return HttpClientRequest.make(request.method)(url.toString(), {
        headers: { ...headers, ...signature.headers },
        body: request.body
      })
    }))
