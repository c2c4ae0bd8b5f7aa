/**
 * The one scrubber of every message the library writes (errors, logs, stored records): it removes
 * the credentials it is told about, in the encoded forms a server or proxy may echo them in, and
 * the credentials any text shows by its shape: `user:password@` in URLs, credential query
 * parameters (`token=`, `X-Amz-Signature=`, `sig=`...), the query string of a signed URL (its path
 * is kept: it tells which file failed), `Bearer` tokens and `Basic` credentials.
 *
 * @internal
 */

/** What a secret becomes. */
export const REDACTED = "<redacted>"

/** Secrets shorter than this are not searched for: they would cut ordinary words out of messages. */
const MIN_SECRET_LENGTH = 4

/**
 * Query parameters that sign a URL (AWS, Google Cloud, Azure SAS, CloudFront): a URL with one is
 * a credential for its path until it expires, so its whole query string goes.
 */
const SIGNING_PARAMETERS = [
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
  "x-goog-signature",
  "x-goog-credential",
  "sig",
  "signature",
  "key-pair-id"
]

/** Query parameters (and `name=value` pairs in any text) whose values are credentials. */
const CREDENTIAL_PARAMETERS = [
  ...SIGNING_PARAMETERS,
  "token",
  "access_token",
  "refresh_token",
  "id_token",
  "session_token",
  "security_token",
  "api_key",
  "api-key",
  "apikey",
  "client_secret",
  "password",
  "passwd",
  "secret",
  "authorization"
]

/** Parameters that are credentials in a URL's query only: elsewhere their names are ordinary words. */
const URL_CREDENTIAL_PARAMETERS = ["key", "code", "auth", "policy"]

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const names = (list: ReadonlyArray<string>) => list.map(escapeRegExp).join("|")

// a URL: scheme, authority, path, then maybe a query, up to a space, a quote, a bracket or a JSON escape
const URL_PATTERN = /\b([a-z][a-z0-9+.-]*:\/\/)((?:[^\s"'<>\\`]|<redacted>)*)/gi
const USERINFO = /^[^/?#\s@]*@/
const SIGNING = new RegExp(`(?:^|[&;])(?:${names(SIGNING_PARAMETERS)})=`, "i")
// `name=value` after anything but a letter or digit (a `?`, an `&`, a space, a quote, `\u0026`...)
const CREDENTIAL_PAIR = new RegExp(
  `(?<=^|[^a-z0-9_.-]|\\\\u0026)(${
    names([...CREDENTIAL_PARAMETERS, ...URL_CREDENTIAL_PARAMETERS])
  })=([^&\\s"'<>,;)\\\\]+)`,
  "gi"
)
const CREDENTIAL_PAIR_OUTSIDE_URLS = new RegExp(
  `(?<=^|[^a-z0-9_.-]|\\\\u0026)(${names(CREDENTIAL_PARAMETERS)})=([^&\\s"'<>,;)\\\\]+)`,
  "gi"
)
// a token has a digit or a symbol: "Bearer authentication" stays as it is
const BEARER = /\b(bearer)(\s+)(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,}/gi
const BASIC = /\b(Basic)(\s+)([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])/g

const decodeBase64 = (text: string): string | undefined => {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)))
  } catch {
    return undefined
  }
}

const encodeBase64 = (text: string): string => {
  let binary = ""
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** A URL without its userinfo and, when it is signed, without its query string; other credentials masked. */
const scrubUrl = (scheme: string, rest: string): string => {
  const withoutUser = rest.replace(USERINFO, `${REDACTED}@`)
  const queryAt = withoutUser.indexOf("?")
  if (queryAt < 0) return scheme + withoutUser
  const hashAt = withoutUser.indexOf("#", queryAt)
  const query = withoutUser.slice(queryAt + 1, hashAt < 0 ? undefined : hashAt)
  const fragment = hashAt < 0 ? "" : withoutUser.slice(hashAt)
  const shown = SIGNING.test(query) ? REDACTED : query.replace(CREDENTIAL_PAIR, `$1=${REDACTED}`)
  return `${scheme}${withoutUser.slice(0, queryAt)}?${shown}${fragment}`
}

/**
 * The forms a secret may be echoed in: as it is, percent-encoded (URL and form encoding), and
 * escaped in JSON (`\/`, `\u0026`... included).
 */
export const secretForms = (secret: string): ReadonlyArray<string> => {
  if (secret.length < MIN_SECRET_LENGTH) return []
  const percent = encodeURIComponent(secret)
  const json = JSON.stringify(secret).slice(1, -1)
  const forms = [
    secret,
    percent,
    percent.replace(/%20/g, "+"),
    encodeURI(secret),
    json,
    json.replace(/\//g, "\\/"),
    json.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)
  ]
  return [...new Set(forms)]
}

/**
 * The secrets a header value holds: the value, the credential after its scheme (`Bearer <token>`),
 * and for `Basic`, the `user:password` it encodes and the password alone (and `user:password`'s
 * base64 when given decoded).
 */
export const headerSecrets = (value: string): ReadonlyArray<string> => {
  const out = [value]
  const scheme = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s+(\S.*?)\s*$/.exec(value)
  if (scheme !== null) {
    out.push(scheme[2])
    const decoded = scheme[1].toLowerCase() === "basic" ? decodeBase64(scheme[2]) : undefined
    if (decoded !== undefined && decoded.includes(":")) out.push(decoded, decoded.slice(decoded.indexOf(":") + 1))
  }
  return out
}

/** The secrets of `user:password` Basic credentials: the password and the base64 the header carries. */
export const basicSecrets = (username: string, password: string): ReadonlyArray<string> => [
  password,
  encodeBase64(`${username}:${password}`)
]

/**
 * Text with every given secret (in every form of `secretForms`) and every credential shown by its
 * shape replaced by `<redacted>`.
 */
export const scrub = (text: string, secrets: Iterable<string> = []): string => {
  const forms = new Set<string>()
  for (const secret of secrets) for (const form of secretForms(secret)) forms.add(form)
  // the longest first: a secret that holds another goes whole
  let out = text
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.replaceAll(form, REDACTED)
  return out
    .replace(URL_PATTERN, (_, scheme: string, rest: string) => scrubUrl(scheme, rest))
    .replace(CREDENTIAL_PAIR_OUTSIDE_URLS, `$1=${REDACTED}`)
    .replace(BEARER, `$1$2${REDACTED}`)
    .replace(BASIC, (match, scheme: string, space: string, credential: string) => {
      const decoded = decodeBase64(credential)
      return decoded !== undefined && decoded.includes(":") ? `${scheme}${space}${REDACTED}` : match
    })
}

/**
 * A scrubber that knows a set of secrets, to which more can be added as they become known (a
 * token obtained later).
 */
export interface Scrubber {
  readonly scrub: (text: string, moreSecrets?: Iterable<string>) => string
  readonly add: (secret: string) => void
}

export const makeScrubber = (secrets: Iterable<string> = []): Scrubber => {
  const known = new Set<string>()
  const add = (secret: string) => {
    if (secret.length >= MIN_SECRET_LENGTH) known.add(secret)
  }
  for (const secret of secrets) add(secret)
  return {
    scrub: (text, moreSecrets = []) => scrub(text, [...known, ...moreSecrets]),
    add
  }
}

/** The values of a URL's credential query parameters (a signature a storage service may echo alone). */
export const urlSecrets = (url: string): ReadonlyArray<string> => {
  const queryAt = url.indexOf("?")
  if (queryAt < 0) return []
  const out: Array<string> = []
  for (const [name, value] of new URLSearchParams(url.slice(queryAt + 1))) {
    const lower = name.toLowerCase()
    if (CREDENTIAL_PARAMETERS.includes(lower) || URL_CREDENTIAL_PARAMETERS.includes(lower)) out.push(value)
  }
  return out
}
