import * as Schema from "effect/Schema"

/** What a server's error answer said. */
export const ApiErrorReason = Schema.Literal("Status", "AnswerTooLarge")

/**
 * The server answered with an error status (`Status`), or with an answer larger than the client
 * reads (`AnswerTooLarge`).
 */
export class MlflowApiError extends Schema.TaggedError<MlflowApiError>()("MlflowApiError", {
  reason: ApiErrorReason,
  method: Schema.String,
  url: Schema.String,
  status: Schema.Number,
  errorCode: Schema.String,
  detail: Schema.String,
  /** from a `Retry-After` header */
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  get message(): string {
    return `${this.method} ${this.url} failed with ${this.status} ${this.errorCode}: ${this.detail}`
  }
}

/** Why a request got no usable answer. */
export const TransportErrorReason = Schema.Literal("Transport", "Certificate", "Timeout", "Decode", "InvalidUrl")

/**
 * The request got no usable answer: it failed on the way (`Transport`: refused, reset, DNS, TLS),
 * the server's TLS certificate is not one to trust (`Certificate`: unknown CA, expired, another
 * host's; not retried, as a retry meets the same certificate), took too long (`Timeout`), answered what the API does not (`Decode`: not JSON, or not the shape
 * of the answer), or could not be made (`InvalidUrl`).
 */
export class MlflowTransportError extends Schema.TaggedError<MlflowTransportError>()("MlflowTransportError", {
  reason: TransportErrorReason,
  method: Schema.String,
  url: Schema.String,
  detail: Schema.String,
  /** what failed, in words: `connection refused`, `host not found (DNS)`, `timed out`, `TLS failed`... */
  description: Schema.String
}) {
  get message(): string {
    return `${this.method} ${this.url} failed: ${this.detail}`
  }
}

export type MlflowError = MlflowApiError | MlflowTransportError

/**
 * MLflow answers 400 when its database is overloaded (SQLAlchemy's connection pool is exhausted,
 * SQLite is locked): those are transient despite the status.
 */
const overloaded = /QueuePool limit|database is locked|connection timed out|could not obtain lock/i

/**
 * Error codes MLflow answers with a 5xx for a state that a retry does not change: spans for an
 * archived trace (`INVALID_STATE`, HTTP 500), bad data in its database.
 */
const PERMANENT: ReadonlySet<string> = new Set(["INVALID_STATE", "INVALID_STATE_TRANSITION"])

/**
 * Whether a failed call may succeed if tried again: failures on the way and timeouts, 408, 429,
 * 5xx except 501 and the permanent states above, and the 400s MLflow answers when its database is
 * overloaded. An answer that is not what the API says, or a URL that cannot be used, stays so.
 */
export const isTransient = (error: MlflowError): boolean => {
  switch (error.reason) {
    case "Transport":
    case "Timeout":
      return true
    case "Certificate":
    case "Decode":
    case "InvalidUrl":
    case "AnswerTooLarge":
      return false
    case "Status": {
      const { errorCode, status } = error as MlflowApiError
      return status === 408 || status === 429 || (status >= 500 && status !== 501 && !PERMANENT.has(errorCode)) ||
        (status === 400 && overloaded.test(error.detail))
    }
  }
}

/** Milliseconds to wait from a `Retry-After` header (seconds or an HTTP date). */
export const parseRetryAfter = (header: string | undefined, now: number = Date.now()): number | undefined => {
  if (header === undefined || header.trim() === "") return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * The error of an answer with an error status: MLflow's `error_code` and `message` when it sent
 * them, scrubbed as they were sent and as they read once decoded (JSON escapes a secret in ways no
 * list of forms foresees).
 */
export const statusError = (
  method: string,
  url: string,
  status: number,
  text: string,
  retryAfter: string | undefined,
  scrub: (text: string) => string
): MlflowApiError => {
  let errorCode = `HTTP_${status}`
  let detail = scrub(text).slice(0, 2000)
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === "object" && body !== null) {
      const { detail: bodyDetail, error_code, message } = body as Record<string, unknown>
      if (typeof error_code === "string") errorCode = scrub(error_code)
      if (typeof message === "string") detail = scrub(message)
      else if (bodyDetail !== undefined) detail = scrub(JSON.stringify(bodyDetail))
    }
  } catch {
    // not JSON: keep the text
  }
  const retryAfterMillis = parseRetryAfter(retryAfter)
  return new MlflowApiError({
    reason: "Status",
    method,
    url,
    status,
    errorCode,
    detail,
    ...(retryAfterMillis === undefined ? {} : { retryAfterMillis })
  })
}

/** Node's verification failures of the server's certificate: the same on every retry. */
const UNTRUSTED_CERTIFICATE =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_REJECTED|CERT_REVOKED|CERT_SIGNATURE_FAILURE|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)$/

const TRANSPORT_CAUSES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^ECONNREFUSED$/, "connection refused"],
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/, "host not found (DNS)"],
  [/^(ECONNRESET|UND_ERR_SOCKET|EPIPE)$/, "connection reset"],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT)$/, "connection timed out"],
  [/^(EHOSTUNREACH|ENETUNREACH)$/, "host unreachable"],
  [UNTRUSTED_CERTIFICATE, "server certificate not trusted"],
  [/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_SSL/, "TLS failed"]
]

/** What went wrong under a request error, from the causes fetch and Node attach (codes like ECONNREFUSED). */
export const describeTransportError = (
  error: { readonly message: string; readonly cause?: unknown }
): { readonly detail: string; readonly description: string; readonly untrusted: boolean } => {
  const parts: Array<string> = []
  let description = "transport error"
  let untrusted = false
  let cause: unknown = error.cause
  for (let depth = 0; depth < 6 && typeof cause === "object" && cause !== null; depth++) {
    const { code, message } = cause as { readonly code?: unknown; readonly message?: unknown }
    const known = typeof code === "string" ? TRANSPORT_CAUSES.find(([pattern]) => pattern.test(code)) : undefined
    if (known !== undefined) {
      if (description === "transport error") description = known[1]
      if (UNTRUSTED_CERTIFICATE.test(code as string)) untrusted = true
      parts.push(`${known[1]} (${code as string}${typeof message === "string" ? `: ${message}` : ""})`)
    } else if (typeof message === "string" && message !== "" && !parts.includes(message)) parts.push(message)
    cause = (cause as { readonly cause?: unknown }).cause
  }
  return {
    detail: parts.length === 0 ? error.message : `${error.message}: ${parts.join(": ")}`,
    description,
    untrusted
  }
}
