import * as fs from "node:fs/promises"
import * as path from "node:path"

/**
 * Files shared by processes: atomic writes and lock files (the local store and the spool).
 *
 * @internal
 */

/** Lock files older than this are taken to be left by a process that died holding them. */
const STALE_LOCK_MILLIS = 30_000

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/**
 * Runs `f` holding `<file>.lock`, a lock between processes (`open(..., "wx")` is atomic). A lock
 * older than `STALE_LOCK_MILLIS` is broken.
 */
export const withFileLock = async <A>(file: string, f: () => Promise<A>): Promise<A> => {
  const lock = `${file}.lock`
  for (let attempt = 0;; attempt++) {
    try {
      await (await fs.open(lock, "wx")).close()
      break
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error
      const stat = await fs.stat(lock).catch(() => undefined)
      if (stat !== undefined && Date.now() - stat.mtimeMs > STALE_LOCK_MILLIS) {
        await fs.rm(lock, { force: true })
        continue
      }
      if (attempt > 2000) throw new Error(`${lock} stays locked`)
      await sleep(Math.min(50, 1 + attempt))
    }
  }
  try {
    return await f()
  } finally {
    await fs.rm(lock, { force: true })
  }
}

/** Writes a file atomically: a temporary file of a name no other writer uses, then a rename. */
export const writeAtomically = async (file: string, text: string): Promise<void> => {
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  )
  try {
    await fs.writeFile(temporary, text)
    await fs.rename(temporary, file)
  } catch (error) {
    await fs.rm(temporary, { force: true })
    throw error
  }
}
