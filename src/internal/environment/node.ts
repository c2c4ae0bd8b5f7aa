import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { TraceMetadataKey } from "../common/keys.js"

/**
 * Metadata MLflow records about where a trace was produced, on Node-like runtimes: user, source
 * script and type, and the git commit, branch and origin URL of the working directory (read from
 * `.git` directly, as MLflow's Python SDK reports them). Every entry is optional: a runtime without
 * a user name (workerd answers `{}` for `os.userInfo()`) or a file system simply has fewer.
 *
 * @internal
 */
export const resolveNodeMetadata = (cwd: string = process.cwd()): Record<string, string> => {
  const out: Record<string, string> = {
    [TraceMetadataKey.SOURCE_NAME]: sourceName(process.argv?.[1], cwd),
    [TraceMetadataKey.SOURCE_TYPE]: "LOCAL"
  }
  const user = userName()
  if (user !== undefined) out[TraceMetadataKey.USER] = user
  try {
    Object.assign(out, gitMetadata(cwd))
  } catch {
    // not a readable git checkout
  }
  return out
}

const userName = (): string | undefined => {
  const fromEnv = process.env?.USER
  if (typeof fromEnv === "string" && fromEnv !== "") return fromEnv
  try {
    const name: unknown = os.userInfo().username
    return typeof name === "string" && name !== "" ? name : undefined
  } catch {
    return undefined
  }
}

/**
 * Python's `sys.argv[0]` is the script as typed, usually relative to the working directory; Node's
 * `argv[1]` is absolute, so it is made relative again when it lies under the working directory.
 */
const sourceName = (script: string | undefined, cwd: string): string => {
  if (script === undefined || script === "") return "<console>"
  const relative = path.relative(cwd, script)
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : script
}

const findGitDir = (start: string): string | undefined => {
  for (let dir = path.resolve(start);;) {
    const candidate = path.join(dir, ".git")
    if (fs.existsSync(candidate)) {
      if (fs.statSync(candidate).isDirectory()) return candidate
      const pointer = /^gitdir: (.*)$/m.exec(fs.readFileSync(candidate, "utf8"))
      return pointer ? path.resolve(dir, pointer[1].trim()) : undefined
    }
    const parent = path.dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

const readRef = (gitDir: string, ref: string): string => {
  const loose = path.join(gitDir, ref)
  if (fs.existsSync(loose)) return fs.readFileSync(loose, "utf8").trim()
  const packed = path.join(gitDir, "packed-refs")
  if (!fs.existsSync(packed)) return ""
  for (const line of fs.readFileSync(packed, "utf8").split("\n")) {
    const [sha, name] = line.split(" ")
    if (name === ref) return sha
  }
  return ""
}

const originUrl = (gitDir: string): string => {
  const config = path.join(gitDir, "config")
  if (!fs.existsSync(config)) return ""
  const match = /\[remote "origin"\][^[]*?url\s*=\s*(\S+)/.exec(fs.readFileSync(config, "utf8"))
  return match ? match[1] : ""
}

const gitMetadata = (cwd: string): Record<string, string> => {
  const gitDir = findGitDir(cwd)
  if (gitDir === undefined) return {}
  const head = fs.readFileSync(path.join(gitDir, "HEAD"), "utf8").trim()
  const ref = /^ref: (.*)$/.exec(head)?.[1]
  return {
    "mlflow.source.git.commit": ref === undefined ? head : readRef(gitDir, ref),
    "mlflow.source.git.branch": ref?.replace(/^refs\/heads\//, "") ?? "",
    "mlflow.source.git.repoURL": originUrl(gitDir)
  }
}
