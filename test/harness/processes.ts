/** What the harness modules share: the cache outside the repository, a lock across processes, stopping a server. */
import type { ChildProcess } from "node:child_process"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export const cacheRoot = (): string =>
  process.env.EFFECT_MLFLOW_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "effect-mlflow")

/** Runs `f` holding the lock directory `lock` (several test processes may install at once). */
export const withLock = <A>(lock: string, f: () => A): A => {
  fs.mkdirSync(path.dirname(lock), { recursive: true })
  for (let i = 0;; i++) {
    try {
      fs.mkdirSync(lock)
      break
    } catch {
      if (i > 1200) throw new Error(`timed out waiting for ${lock}`)
      spawnSync("sleep", ["1"])
    }
  }
  try {
    return f()
  } finally {
    fs.rmdirSync(lock)
  }
}

/** Stops a detached child's process group: SIGTERM, then SIGKILL after 5 seconds. */
export const stopGroup = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.pid === undefined) return
  const pid = child.pid
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  try {
    process.kill(-pid, "SIGTERM")
  } catch {
    return
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, "SIGKILL")
    } catch {
      // already gone
    }
  }, 5000)
  await exited
  clearTimeout(timer)
}

/**
 * Installs a Debian package with apt unless `present()` (as root; one install at a time across test
 * processes), then checks it is there.
 */
export const aptInstall = (name: string, present: () => boolean): void => {
  if (present()) return
  withLock(path.join(cacheRoot(), "apt.lock"), () => {
    if (present()) return
    if (process.getuid?.() !== 0) {
      throw new Error(`${name} is missing and installing it needs root (apt-get install ${name})`)
    }
    console.log(`Installing Debian's ${name} (once)...`)
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    spawnSync("apt-get", ["update", "-q"], { stdio: "inherit", env })
    const installed = spawnSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", name], {
      stdio: "inherit",
      env
    })
    if (installed.status !== 0 || !present()) throw new Error(`could not install ${name} with apt`)
  })
}
