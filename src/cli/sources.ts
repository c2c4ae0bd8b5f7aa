import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Claimed } from "../internal/export/spool.js"
import { readTraceFile } from "../internal/format/traceFile.js"
import * as Spool from "../internal/sinks/spool.js"
import type { Trace } from "../Trace.js"

/**
 * Where the command line finds traces on disk: local-store directories, spools, single files.
 * Directories are listed first (names, and for `--last` the times of their files); only the files
 * a command picks are read, so memory does not grow with the size of a store.
 *
 * @internal
 */

/** A trace file, not read yet. */
export interface TraceFile {
  readonly file: string
  /** `local` store, `spool` (waiting to be sent), or a file named on the command line */
  readonly kind: "local" | "spool" | "file"
}

export interface FoundTrace extends TraceFile {
  readonly trace: Trace
  readonly attachmentIds: ReadonlyArray<string>
}

export interface Unreadable {
  readonly file: string
  readonly problem: string
}

/** A trace file in a local-store directory (the local store names them `<trace id>.json`). */
const isTraceFileName = (name: string) => name.endsWith(".json") && !name.startsWith(".") && name !== "destination.json"

/** A waiting spool file: `<spooled at, µs>-<trace id>.json`. */
const SPOOL_FILE = /^(\d+)-([0-9a-zA-Z_-]+)\.json$/

/** Reads and decodes one trace file. */
export const readTrace = async (found: TraceFile): Promise<FoundTrace | Unreadable> => {
  const text = await fs.readFile(found.file, "utf8").catch((error: Error) => error)
  if (text instanceof Error) return { file: found.file, problem: text.message }
  const read = readTraceFile(text)
  return Either.isLeft(read) ? { file: found.file, problem: read.left } : { ...read.right, ...found }
}

export const isFound = (item: FoundTrace | Unreadable): item is FoundTrace => "trace" in item

const names = (directory: string) => fs.readdir(directory).catch(() => [] as Array<string>)

/** The trace files of a local-store directory (none when it does not exist). */
export const localStoreFiles = async (directory: string): Promise<Array<TraceFile>> =>
  (await names(directory)).filter((name) => isTraceFileName(name)).sort().map((
    name
  ) => ({ file: path.join(directory, name), kind: "local" }))

/** The waiting files of a spool, every destination's, each with when it was spooled (µs). */
const spoolFiles = async (spool: string): Promise<Array<TraceFile & { readonly at: number }>> => {
  const listed = await Promise.all(
    (await Spool.destinations(spool)).map(async ({ directory }) =>
      (await names(directory)).flatMap((name) => {
        const match = SPOOL_FILE.exec(name)
        return match === null
          ? []
          : [{ file: path.join(directory, name), kind: "spool" as const, at: Number(match[1]) }]
      })
    )
  )
  return listed.flat()
}

const exists = (file: string) => fs.stat(file).then((stat) => stat, () => undefined)

const STAT_CONCURRENCY = 32

/** Files with when they were stored (µs, from their modification time); files gone meanwhile are left out. */
const withTimes = async (files: ReadonlyArray<TraceFile>): Promise<Array<TraceFile & { readonly at: number }>> => {
  const timed: Array<TraceFile & { readonly at: number }> = []
  for (let i = 0; i < files.length; i += STAT_CONCURRENCY) {
    const stats = await Promise.all(files.slice(i, i + STAT_CONCURRENCY).map((found) => exists(found.file)))
    stats.forEach((stat, j) => {
      if (stat !== undefined) timed.push({ ...files[i + j], at: stat.mtimeMs * 1000 })
    })
  }
  return timed
}

/**
 * The most recently stored traces of a local store and a spool: their files are ordered by when
 * they were stored (the local store's by modification time, the spool's by the time in their
 * names) and read newest first until `count` of them are readable.
 */
export const newestTraces = async (
  directory: string,
  spool: string | undefined,
  count: number
): Promise<{ readonly traces: ReadonlyArray<FoundTrace>; readonly unreadable: ReadonlyArray<Unreadable> }> => {
  const candidates = [
    ...await withTimes(await localStoreFiles(directory)),
    ...(spool === undefined ? [] : await spoolFiles(spool))
  ].sort((a, b) => b.at - a.at)
  return readUntil(candidates, count)
}

/** The files that may hold trace `traceId`: its local-store file and its spool files. */
export const traceFiles = async (
  directory: string,
  spool: string | undefined,
  traceId: string
): Promise<{ readonly traces: ReadonlyArray<FoundTrace>; readonly unreadable: ReadonlyArray<Unreadable> }> => {
  if (!/^[0-9a-zA-Z_-]+$/.test(traceId)) return { traces: [], unreadable: [] }
  const local = path.join(directory, `${traceId}.json`)
  const candidates: Array<TraceFile> = [
    ...((await exists(local))?.isFile() === true ? [{ file: local, kind: "local" as const }] : []),
    ...(spool === undefined ? [] : (await spoolFiles(spool)).filter(({ file }) => file.endsWith(`-${traceId}.json`)))
  ]
  return readUntil(candidates, 1, (found) => found.trace.info.traceId === traceId)
}

/** Reads `candidates` in order, one at a time, until `count` readable ones (that `keep` accepts) are found. */
const readUntil = async (
  candidates: ReadonlyArray<TraceFile>,
  count: number,
  keep: (found: FoundTrace) => boolean = () => true
) => {
  const traces: Array<FoundTrace> = []
  const unreadable: Array<Unreadable> = []
  for (const candidate of candidates) {
    if (traces.length >= count) break
    const read = await readTrace(candidate)
    if (!isFound(read)) unreadable.push(read)
    else if (keep(read)) traces.push(read)
  }
  return { traces, unreadable }
}

/**
 * The files of paths named on the command line: trace files, and local-store directories (spools
 * among them are sent by claims, not listed here); paths that do not exist are `missing`.
 */
export const pathFiles = async (
  paths: ReadonlyArray<string>
): Promise<{ readonly files: ReadonlyArray<TraceFile>; readonly missing: ReadonlyArray<string> }> => {
  const files: Array<TraceFile> = []
  const missing: Array<string> = []
  for (const given of paths) {
    const stat = await exists(given)
    if (stat === undefined) missing.push(given)
    else if (stat.isFile()) files.push({ file: given, kind: "file" })
    else if (!(await Spool.destinations(given)).some((d) => d.record !== undefined)) {
      files.push(...await localStoreFiles(given))
    }
  }
  return { files, missing }
}

/** Newest first. */
export const newestFirst = (a: FoundTrace, b: FoundTrace) =>
  b.trace.info.requestTimeMs - a.trace.info.requestTimeMs || (a.file < b.file ? -1 : 1)

/** A trace found on disk as a claimed spool entry whose settling leaves its file as it is (the local store keeps it). */
export const asClaimed = (found: FoundTrace): Claimed => ({
  trace: found.trace,
  attachmentIds: found.attachmentIds,
  file: found.file,
  done: Effect.void,
  release: Effect.void,
  reject: Effect.void
})
