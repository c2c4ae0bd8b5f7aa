import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { scrub } from "../common/scrub.js"
import { ExportError } from "../export/sink.js"
import type { Claimed, Spool, SpoolEntry, SpoolWrite } from "../export/spool.js"
import { readTraceFile } from "../format/traceFile.js"
import { traceToJson } from "../format/traceJson.js"
import { writeAtomically } from "./files.js"

/**
 * The durable spool on disk. Layout (documented in the README):
 *
 * ```
 * <spool>/<destination key>/destination.json      the server and experiment these traces are for
 * <spool>/<destination key>/<time>-<trace id>.json  a waiting trace (MLflow's Trace.to_json, plus
 *                                                   the attachment ids under "effect_mlflow")
 * <spool>/<destination key>/<...>.json.claim.<host>.<pid>.<until>  claimed by a process sending it
 * <spool>/<destination key>/rejected/<...>.json    refused by the server for itself: kept, never sent
 * ```
 *
 * Every change is one atomic step of the file system: a write is a rename of a finished temporary
 * file, a claim is a rename (one process wins), and a sent trace's file is removed. A claim whose
 * process is gone (same host, pid not alive) or whose lease ran out is taken over.
 *
 * @internal
 */

/** A claim not finished within this time is taken to be abandoned (a process frozen, or on another host). */
const LEASE_MILLIS = 10 * 60_000
/** How often the spool's size is measured from the directory, between writes that keep a running count. */
const RESCAN_MILLIS = 10_000
const CLAIM = /^(.+\.json)\.claim\.([^.]*)\.(\d+)\.(\d+)$/
const WAITING = /^\d+-[0-9a-zA-Z_-]+\.json$/
const TEMPORARY_MAX_AGE_MILLIS = 60 * 60_000

export interface Bounds {
  /** total bytes of the destination's spool directory */
  readonly maxBytes: number
  /** waiting traces older than this are removed */
  readonly maxAgeMillis: number
}

export interface DestinationRecord {
  readonly tracking_uri: string
  readonly experiment: string
}

const host = os.hostname().replace(/[^0-9a-zA-Z_-]/g, "_")

const errorText = (error: unknown) => error instanceof Error ? error.message : String(error)
const isMissing = (error: unknown) => (error as { code?: string }).code === "ENOENT"

const fail = (detail: string) => (error: unknown) =>
  new ExportError({ detail: `${detail}: ${errorText(error)}`, retryable: false, reason: "spool" })

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"
  }
}

/** Whether a claim was abandoned: its lease ran out, or its process on this host is gone. */
export const abandoned = (name: string, now: number): boolean => {
  const match = CLAIM.exec(name)
  if (match === null) return false
  const [, , claimHost, pid, until] = match
  return Number(until) < now || (claimHost === host && !alive(Number(pid)))
}

/** The waiting file a claim was made from. */
export const claimedFrom = (name: string): string | undefined => CLAIM.exec(name)?.[1]

/** The key of a destination's folder in a spool: stable for the same server and experiment. */
export const destinationKey = (record: DestinationRecord): string =>
  createHash("sha256").update(`${record.tracking_uri}\n${record.experiment}`).digest("hex").slice(0, 16)

/** The destinations a spool holds traces for. */
export const destinations = (
  spool: string
): Promise<ReadonlyArray<{ readonly directory: string; readonly record: DestinationRecord | undefined }>> =>
  fs.readdir(spool, { withFileTypes: true }).then(
    (entries) =>
      Promise.all(
        entries.filter((entry) => entry.isDirectory()).map(async (entry) => {
          const directory = path.join(spool, entry.name)
          const record = await fs.readFile(path.join(directory, "destination.json"), "utf8").then(
            (text) => JSON.parse(text) as DestinationRecord,
            () => undefined
          )
          return { directory, record }
        })
      ),
    (error) => isMissing(error) ? [] : Promise.reject(error)
  )

let lastSpooledAt = 0

/**
 * When a trace is spooled, in microseconds, increasing within the process: names sort in the order
 * traces were spooled (a burst of traces shares its milliseconds, and file times are coarser still).
 */
const spooledAt = (): number => {
  lastSpooledAt = Math.max(Date.now() * 1000, lastSpooledAt + 1)
  return lastSpooledAt
}

const fileName = (entry: SpoolEntry) => `${String(spooledAt()).padStart(16, "0")}-${entry.trace.info.traceId}.json`

/** A spool entry as file text: the trace as MLflow writes it, and the attachment ids beside it. */
export const entryToJson = (entry: SpoolEntry): string => {
  const text = traceToJson(entry.trace)
  return entry.attachmentIds.length === 0
    ? text
    : `${text.slice(0, -1)}, "effect_mlflow": ${JSON.stringify({ attachment_ids: entry.attachmentIds })}}`
}

interface Listed {
  readonly name: string
  readonly file: string
  readonly size: number
  readonly mtimeMs: number
}

const list = async (directory: string): Promise<ReadonlyArray<Listed>> => {
  const names = await fs.readdir(directory).catch((error) => isMissing(error) ? [] : Promise.reject(error))
  const listed = await Promise.all(names.map(async (name) => {
    const file = path.join(directory, name)
    const stat = await fs.stat(file).catch(() => undefined)
    return stat === undefined || !stat.isFile() ? undefined : { name, file, size: stat.size, mtimeMs: stat.mtimeMs }
  }))
  return listed.filter((item): item is Listed => item !== undefined)
}

/** In the order traces were spooled, which starts every name (a claim's name starts with its waiting name). */
const oldestFirst = (a: Listed, b: Listed) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0

/** Removes a file; `false` when someone else took it first (claimed or removed it). */
const remove = (file: string): Promise<boolean> =>
  fs.rm(file).then(() => true, (error) => isMissing(error) ? false : Promise.reject(error))

/** Renames a file; `false` when someone else took it first. */
const move = (from: string, to: string): Promise<boolean> =>
  fs.rename(from, to).then(() => true, (error) => isMissing(error) ? false : Promise.reject(error))

/** The spool of one destination, in `<spool>/<key of the destination>/`. */
export const open = (spool: string, record: DestinationRecord, bounds: Bounds): Spool => {
  const directory = path.join(path.resolve(spool), destinationKey(record))
  const rejectedDirectory = path.join(directory, "rejected")
  let known: { bytes: number; at: number } | undefined

  /** Keeps the spool within its bounds: expired and then the oldest waiting traces are removed. */
  const enforce = async (): Promise<Omit<SpoolWrite, "written">> => {
    const now = Date.now()
    const files = await list(directory)
    const rejected = [...await list(rejectedDirectory)].sort(oldestFirst)
    let expired = 0
    let evicted = 0
    let bytes = 0
    const waiting: Array<Listed> = []
    for (const item of files) {
      if (item.name.startsWith(".")) {
        // a temporary file left by a process that died while writing it
        if (item.mtimeMs < now - TEMPORARY_MAX_AGE_MILLIS) await remove(item.file)
        else bytes += item.size
      } else if (WAITING.test(item.name) && item.mtimeMs < now - bounds.maxAgeMillis) {
        if (await remove(item.file)) expired++
      } else {
        bytes += item.size
        if (WAITING.test(item.name)) waiting.push(item)
      }
    }
    for (const item of rejected) {
      if (item.mtimeMs < now - bounds.maxAgeMillis) await remove(item.file)
      else bytes += item.size
    }
    // traces refused already go first, then the oldest waiting ones
    for (const item of [...rejected, ...waiting.sort(oldestFirst)]) {
      if (bytes <= bounds.maxBytes) break
      if (await remove(item.file)) {
        bytes -= item.size
        if (item.file.startsWith(rejectedDirectory)) continue
        evicted++
      }
    }
    known = { bytes, at: now }
    return { expired, evicted }
  }

  const write: Spool["write"] = (entries) =>
    Effect.tryPromise({
      try: async (): Promise<SpoolWrite> => {
        await fs.mkdir(directory, { recursive: true })
        await fs.writeFile(path.join(directory, "destination.json"), JSON.stringify(record))
        let bytes = 0
        for (const entry of entries) {
          const text = entryToJson(entry)
          bytes += Buffer.byteLength(text)
          await writeAtomically(path.join(directory, fileName(entry)), text)
        }
        if (known !== undefined) known.bytes += bytes
        const measured = known === undefined || known.bytes > bounds.maxBytes || Date.now() - known.at > RESCAN_MILLIS
        const kept = measured ? await enforce() : { expired: 0, evicted: 0 }
        return { written: entries.length, ...kept }
      },
      catch: fail(`cannot write traces to the spool ${directory}`)
    })

  const claimed = (waitingFile: string, claimFile: string, text: string): Claimed | string => {
    const read = readTraceFile(text)
    if (Either.isLeft(read)) return read.left
    const back = (to: string) => Effect.promise(() => move(claimFile, to).catch(() => false)).pipe(Effect.asVoid)
    return {
      ...read.right,
      file: waitingFile,
      done: Effect.promise(() => remove(claimFile).catch(() => false)).pipe(Effect.asVoid),
      release: back(waitingFile),
      reject: Effect.promise(() =>
        fs.mkdir(rejectedDirectory, { recursive: true }).then(() =>
          move(claimFile, path.join(rejectedDirectory, path.basename(waitingFile)))
        ).catch(() => false)
      ).pipe(Effect.asVoid)
    }
  }

  const claim: Spool["claim"] = (max) =>
    Effect.tryPromise({
      try: async () => {
        const now = Date.now()
        const until = now + LEASE_MILLIS
        const out: Array<Claimed> = []
        const files = [...await list(directory)].sort(oldestFirst)
        for (const item of files) {
          if (out.length >= max) break
          const waiting = WAITING.test(item.name)
            ? item.name
            : abandoned(item.name, now)
            ? claimedFrom(item.name)
            : undefined
          if (waiting === undefined) continue
          const waitingFile = path.join(directory, waiting)
          const claimFile = `${waitingFile}.claim.${host}.${process.pid}.${until}`
          if (!await move(item.file, claimFile)) continue
          const text = await fs.readFile(claimFile, "utf8")
          const entry = claimed(waitingFile, claimFile, text)
          if (typeof entry === "string") {
            // not a trace file (written by something else, or damaged): set aside, not sent
            await fs.mkdir(rejectedDirectory, { recursive: true })
            await move(claimFile, path.join(rejectedDirectory, waiting))
            continue
          }
          out.push(entry)
        }
        return out
      },
      catch: fail(`cannot read the spool ${directory}`)
    })

  return { directory, write, claim }
}

/** What a spool records of a destination: its server (without credentials) and experiment. */
export const recordFor = (
  trackingUri: string,
  experiment:
    | { readonly _tag: "Id"; readonly id: string }
    | { readonly _tag: "Name"; readonly name: string }
    | { readonly _tag: "IdAndName"; readonly id: string; readonly name: string }
): DestinationRecord => ({
  tracking_uri: scrub(trackingUri).replace(/\/+$/, ""),
  experiment: experiment._tag === "Name" ? `name:${experiment.name}` : `id:${experiment.id}`
})

/** How many traces wait in a destination's folder of a spool (claims abandoned by their process included). */
export const waitingCount = (directory: string): Promise<number> => {
  const now = Date.now()
  return fs.readdir(directory).then(
    (names) => names.filter((name) => WAITING.test(name) || abandoned(name, now)).length,
    () => 0
  )
}
