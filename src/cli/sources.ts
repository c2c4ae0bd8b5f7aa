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
 *
 * @internal
 */

export interface FoundTrace {
  readonly trace: Trace
  readonly attachmentIds: ReadonlyArray<string>
  readonly file: string
  /** `local` store, `spool` (waiting to be sent), or a file named on the command line */
  readonly kind: "local" | "spool" | "file"
}

export interface Unreadable {
  readonly file: string
  readonly problem: string
}

const TRACE_FILE = /\.json$/

const readOne = async (file: string, kind: FoundTrace["kind"]): Promise<FoundTrace | Unreadable> => {
  const text = await fs.readFile(file, "utf8").catch((error: Error) => error)
  if (text instanceof Error) return { file, problem: text.message }
  const read = readTraceFile(text)
  return Either.isLeft(read) ? { file, problem: read.left } : { ...read.right, file, kind }
}

const isFound = (item: FoundTrace | Unreadable): item is FoundTrace => "trace" in item

export interface Found {
  readonly traces: ReadonlyArray<FoundTrace>
  readonly unreadable: ReadonlyArray<Unreadable>
}

const collect = (items: ReadonlyArray<FoundTrace | Unreadable>): Found => ({
  traces: items.filter(isFound),
  unreadable: items.filter((item): item is Unreadable => !isFound(item))
})

const exists = (file: string) => fs.stat(file).then((stat) => stat, () => undefined)

/** The trace files of a local-store directory (none when it does not exist). */
export const readLocalStore = async (directory: string): Promise<Found> => {
  const names = await fs.readdir(directory).catch(() => [] as Array<string>)
  const files = names.filter((name) => TRACE_FILE.test(name) && !name.startsWith(".") && name !== "destination.json")
  return collect(await Promise.all(files.map((name) => readOne(path.join(directory, name), "local"))))
}

/** The waiting traces of a spool, every destination's (claimed ones are being sent by someone). */
export const readSpool = async (spool: string): Promise<Found> => {
  const destinations = await Spool.destinations(spool)
  const found = await Promise.all(destinations.map(async ({ directory }) => {
    const names = await fs.readdir(directory).catch(() => [] as Array<string>)
    return Promise.all(
      names.filter((name) => /^\d+-.+\.json$/.test(name)).map((name) => readOne(path.join(directory, name), "spool"))
    )
  }))
  return collect(found.flat())
}

/** Paths named on the command line: trace files, local-store directories, or spools. */
export const readPaths = async (
  paths: ReadonlyArray<string>
): Promise<Found & { readonly missing: ReadonlyArray<string> }> => {
  const parts: Array<Found> = []
  const missing: Array<string> = []
  for (const given of paths) {
    const stat = await exists(given)
    if (stat === undefined) missing.push(given)
    else if (stat.isFile()) parts.push(collect([await readOne(given, "file")]))
    else if ((await Spool.destinations(given)).some((d) => d.record !== undefined)) parts.push(await readSpool(given))
    else parts.push(await readLocalStore(given))
  }
  return {
    traces: parts.flatMap((part) => part.traces),
    unreadable: parts.flatMap((part) => part.unreadable),
    missing
  }
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
