import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/**
 * Small file systems that fill up for real (`mount -t tmpfs`), for the tests of a full disk. They
 * need root (CI runs the suite as root); elsewhere `fullDiskUnavailable` says why they cannot run.
 */

const mounted: Array<string> = []

const tryMount = (bytes: number): string => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-full-disk-"))
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", directory], { stdio: "pipe" })
  } catch (error) {
    fs.rmdirSync(directory)
    throw error
  }
  mounted.push(directory)
  return directory
}

const probe = (): string | undefined => {
  if (process.platform !== "linux") return `not on Linux (${process.platform}): no tmpfs to fill up`
  if (process.getuid?.() !== 0) return "not run as root: mounting a small tmpfs to fill up needs root (CI runs as root)"
  try {
    unmount(tryMount(4096))
    return undefined
  } catch (error) {
    return `cannot mount a tmpfs: ${error instanceof Error ? error.message : String(error)}`
  }
}

/** A new tmpfs of `bytes` (rounded up to whole pages), mounted on a new directory. */
export const mountTmpfs = (bytes: number): string => tryMount(bytes)

/** Unmounts a tmpfs and removes its directory. */
export const unmount = (directory: string): void => {
  execFileSync("umount", [directory], { stdio: "pipe" })
  fs.rmdirSync(directory)
  mounted.splice(mounted.indexOf(directory), 1)
}

/** Unmounts every tmpfs still mounted (for `afterAll`). */
export const unmountAll = (): void => {
  for (const directory of [...mounted]) unmount(directory)
}

/** Why a full file system cannot be had here (`undefined`: it can), said once on the console. */
export const fullDiskUnavailable: string | undefined = probe()
if (fullDiskUnavailable !== undefined) {
  // eslint-disable-next-line no-console -- a skipped test says why, never in silence
  console.warn(`effect-mlflow tests: the full-disk tests are skipped, ${fullDiskUnavailable}`)
}
