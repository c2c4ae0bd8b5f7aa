import { scrub } from "../common/scrub.js"

/**
 * Credentials written into a tracking URI (`http://user:password@host`): fetch refuses such URLs,
 * and they must never be printed. MLflow's Python client (through `requests`) sends them as Basic
 * auth, percent-decoded; so do we.
 *
 * @internal
 */
export interface SplitUri {
  /** the URI without credentials */
  readonly uri: string
  readonly username: string | undefined
  readonly password: string | undefined
}

const decode = (part: string): string => {
  try {
    return decodeURIComponent(part)
  } catch {
    return part
  }
}

/** @internal */
export const splitCredentials = (uri: string): SplitUri => {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return { uri: scrub(uri), username: undefined, password: undefined }
  }
  if (url.username === "" && url.password === "") return { uri, username: undefined, password: undefined }
  const username = decode(url.username)
  const password = decode(url.password)
  url.username = ""
  url.password = ""
  const clean = uri.endsWith("/") ? url.toString() : url.toString().replace(/\/$/, "")
  return { uri: clean, username, password }
}

/** The origin of a URL (`scheme://host:port`); the text itself when it is not a URL. */
export const originOf = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** Resolves an artifact location to the URL of a file in it (`mlflow-artifacts:` or `http(s)`). */
export const artifactUrl = (trackingUri: string, artifactLocation: string, file: string): string | undefined => {
  if (artifactLocation.startsWith("mlflow-artifacts:")) {
    const path = artifactLocation.replace(/^mlflow-artifacts:(\/\/[^/]*)?/, "").replace(/^\/+/, "")
    return `${trackingUri}/api/2.0/mlflow-artifacts/artifacts/${path}/${file}`
  }
  if (/^https?:\/\//.test(artifactLocation)) return `${artifactLocation.replace(/\/+$/, "")}/${file}`
  return undefined
}
