import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { Destination, MlflowConfig } from "../../MlflowConfig.js"
import { scrub } from "../common/scrub.js"
import { ExportError } from "../export/sink.js"
import type { Claimed, Spool, SpoolEntry, SpoolWrite } from "../export/spool.js"
import { readTraceFile } from "../format/traceFile.js"
import { traceToJson } from "../format/traceJson.js"
import { writeAtomically } from "./files.js"
import { type Candidate, inSlices, mapLimited, OldestFirst } from "./spoolIndex.js"

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

/** A claim not finished within this time is taken to be abandoned (a process frozen, or on another host that died). */
const LEASE_MILLIS = 10 * 60_000
/** How often a process lists the folder again for what other processes did (claims list it too when out of traces). */
const RESCAN_MILLIS = 10_000
const CLAIM = /^(.+\.json)\.claim\.([^.]*)\.(\d+)\.(\d+)$/
const WAITING = /^\d+-[0-9a-zA-Z_-]+\.json$/
const TEMPORARY_MAX_AGE_MILLIS = 60 * 60_000

type ServerDestination = Extract<Destination, { readonly _tag: "Server" }>

export interface Bounds {
  /** total bytes of the destination's spool directory */
  readonly maxBytes: number
  /** waiting traces older than this are removed */
  readonly maxAgeMillis: number
}

export interface DestinationRecord {
  readonly tracking_uri: string
  readonly experiment: string
  /** `MLFLOW_WORKSPACE` */
  readonly workspace?: string
  /** `DATABRICKS_WORKSPACE_ID`: the workspace a Databricks host serves the requests of */
  readonly databricks_workspace_id?: string
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

/**
 * Whether a claim was abandoned. A claim of this host: its lease ran out (by this host's clock, which
 * set it), or its process is gone. A claim of another host is judged by no clock of that host's (hosts'
 * clocks differ, by hours at times), but by how long this process has seen it unchanged (`seenFor`,
 * by its own monotonic clock): a whole lease.
 */
export const abandoned = (name: string, now: number, seenFor = 0): boolean => {
  const match = CLAIM.exec(name)
  if (match === null) return false
  const [, , claimHost, pid, until] = match
  return claimHost === host ? Number(until) < now || !alive(Number(pid)) : seenFor > LEASE_MILLIS
}

/** The waiting file a claim was made from. */
export const claimedFrom = (name: string): string | undefined => CLAIM.exec(name)?.[1]

/**
 * The key of a destination's folder in a spool: stable for the same server, workspace and experiment
 * (without a workspace, the key that spools had before workspaces were part of it).
 */
export const destinationKey = (record: DestinationRecord): string =>
  createHash("sha256").update(
    [
      record.tracking_uri,
      record.experiment,
      ...(record.workspace === undefined ? [] : [`workspace:${record.workspace}`]),
      ...(record.databricks_workspace_id === undefined
        ? []
        : [`databricks-workspace:${record.databricks_workspace_id}`])
    ].join("\n")
  ).digest("hex").slice(0, 16)

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

/** When a file of the spool was spooled, in milliseconds, from its name (NaN for a name without the time). */
const spooledAtOf = (name: string): number => Number(/^\.?(\d+)-/.exec(name)?.[1]) / 1000

/** What a file's size is kept under: a claim's and a set-aside trace's under the name it waited with. */
const sizeKey = (name: string): string => claimedFrom(name) ?? name
const REJECTED = "rejected/"

/** Removes a file; `false` when someone else took it first (claimed or removed it). */
const remove = (file: string): Promise<boolean> =>
  fs.rm(file).then(() => true, (error) => isMissing(error) ? false : Promise.reject(error))

/** Renames a file; `false` when someone else took it first. */
const move = (from: string, to: string): Promise<boolean> =>
  fs.rename(from, to).then(() => true, (error) => isMissing(error) ? false : Promise.reject(error))

/**
 * The spool of one destination, in `<spool>/<key of the destination>/`.
 *
 * A process lists the folder's names (never the files' sizes) when it has no waiting trace left in
 * view or its view is older than `RESCAN_MILLIS`, and takes the oldest from that view: a claim costs
 * the same in a folder of 40,000 traces as of 100. Sizes are kept as a running total: each file's
 * size is asked once, when the process first sees it.
 */
export const open = (spool: string, record: DestinationRecord, bounds: Bounds): Spool => {
  const directory = path.join(path.resolve(spool), destinationKey(record))
  const rejectedDirectory = path.join(directory, "rejected")
  /** the waiting traces in view, oldest first; `undefined` before the folder is first listed */
  let queue: OldestFirst | undefined
  let listedAt = 0
  /** the files' sizes (a set-aside trace's under `rejected/<name>`), and their sum */
  let sizes: Map<string, number> | undefined
  let bytes = 0
  let measuredAt = 0
  /** the set-aside traces in view, oldest first: the first to go when the spool is over its size */
  let rejected: Array<string> = []

  const names = (folder: string): Promise<Array<string>> =>
    fs.readdir(folder).catch((error) => isMissing(error) ? [] : Promise.reject(error))
  const sized = (key: string, size: number) => {
    bytes += size - (sizes?.get(key) ?? 0)
    sizes?.set(key, size)
  }
  const forget = (key: string) => {
    bytes -= sizes?.get(key) ?? 0
    sizes?.delete(key)
  }

  /** The claims in the last listing, by when this process first saw each (`performance.now()`). */
  let claimsSeen = new Map<string, number>()
  const isAbandoned = (claim: string, now: number, mono: number) =>
    abandoned(claim, now, mono - (claimsSeen.get(claim) ?? mono))

  /** Puts what a listing of the folder shows in view: its waiting traces and the claims abandoned. */
  const view = async (listed: ReadonlyArray<string>) => {
    const now = Date.now()
    const mono = performance.now()
    const candidates: Array<Candidate> = []
    const seen = new Map<string, number>()
    await inSlices(listed, (name) => {
      const from = claimedFrom(name)
      if (WAITING.test(name)) candidates.push({ name, file: name })
      else if (from !== undefined) {
        seen.set(name, claimsSeen.get(name) ?? mono)
        if (abandoned(name, now, mono - seen.get(name)!)) candidates.push({ name: from, file: name })
      }
    })
    claimsSeen = seen
    queue = await OldestFirst.of(candidates)
    listedAt = performance.now()
  }

  /**
   * Lists the folder and its set-aside traces again: files already known keep their size, the others
   * (written by another process, or all of them the first time) are asked theirs, a few at a time.
   */
  const measure = async () => {
    const [listed, listedRejected] = await Promise.all([names(directory), names(rejectedDirectory)])
    const known = sizes ?? new Map<string, number>()
    const next = new Map<string, number>()
    const unknown: Array<{ readonly key: string; readonly file: string }> = []
    const see = (key: string, name: string, file: string) => {
      const size = known.get(key) ?? known.get(name)
      if (size === undefined) unknown.push({ key, file })
      else next.set(key, size)
    }
    await inSlices(listed, (name) => name === "rejected" ? undefined : see(sizeKey(name), name, name))
    await inSlices(listedRejected, (name) => see(REJECTED + name, name, REJECTED + name))
    const stats = await mapLimited(
      unknown,
      32,
      ({ file }) =>
        fs.stat(path.join(directory, file)).then((stat) => stat.isFile() ? stat.size : undefined, () => undefined)
    )
    unknown.forEach(({ key }, i) => stats[i] !== undefined && next.set(key, stats[i]))
    sizes = next
    bytes = 0
    for (const size of next.values()) bytes += size
    rejected = listedRejected.filter((name) => next.has(REJECTED + name)).sort()
    measuredAt = performance.now()
    await view(listed)
    const now = Date.now()
    // temporary files left by a process that died while writing them
    for (const name of listed) {
      if (name.startsWith(".") && spooledAtOf(name) < now - TEMPORARY_MAX_AGE_MILLIS) {
        await remove(path.join(directory, name))
        forget(name)
      }
    }
  }

  /** Keeps the spool within its bounds: expired and then the oldest waiting traces are removed. */
  const keep = async (): Promise<Omit<SpoolWrite, "written">> => {
    if (sizes === undefined || performance.now() - measuredAt > RESCAN_MILLIS) await measure()
    const oldest = queue!
    const cutoff = Date.now() - bounds.maxAgeMillis
    let expired = 0
    let evicted = 0
    while (rejected.length > 0 && spooledAtOf(rejected[0]) < cutoff) {
      const name = rejected.shift()!
      await remove(path.join(rejectedDirectory, name))
      forget(REJECTED + name)
    }
    // claims abandoned are in view for the next claim, never removed here
    const claims: Array<Candidate> = []
    const oldestWaiting = (before: number) => {
      for (let next = oldest.peek(); next !== undefined && spooledAtOf(next.name) < before; next = oldest.peek()) {
        oldest.take()
        if (next.file === next.name) return next
        claims.push(next)
      }
      return undefined
    }
    for (let item = oldestWaiting(cutoff); item !== undefined; item = oldestWaiting(cutoff)) {
      if (await remove(path.join(directory, item.name))) expired++
      forget(item.name)
    }
    // traces refused already go first, then the oldest waiting ones
    while (bytes > bounds.maxBytes && rejected.length > 0) {
      const name = rejected.shift()!
      await remove(path.join(rejectedDirectory, name))
      forget(REJECTED + name)
    }
    while (bytes > bounds.maxBytes) {
      const item = oldestWaiting(Infinity)
      if (item === undefined) break
      if (await remove(path.join(directory, item.name))) evicted++
      forget(item.name)
    }
    claims.forEach((candidate) => oldest.add(candidate))
    return { expired, evicted }
  }

  const write: Spool["write"] = (entries) =>
    Effect.tryPromise({
      try: async (): Promise<SpoolWrite> => {
        await fs.mkdir(directory, { recursive: true })
        await fs.writeFile(path.join(directory, "destination.json"), JSON.stringify(record))
        let written = 0
        let failure: unknown = undefined
        for (const entry of entries) {
          const text = entryToJson(entry)
          const name = fileName(entry)
          try {
            await writeAtomically(path.join(directory, name), text)
          } catch (error) {
            // the disk is full, say: the rest is not tried, and the caller counts it as not written
            if (written === 0) throw error
            failure = error
            break
          }
          written++
          sized(name, Buffer.byteLength(text))
          queue?.add({ name, file: name })
        }
        sized("destination.json", Buffer.byteLength(JSON.stringify(record)))
        const kept = await keep()
        return failure === undefined ? { written, ...kept } : {
          written,
          ...kept,
          unwritten: {
            count: entries.length - written,
            error: fail(`cannot write traces to the spool ${directory}`)(failure)
          }
        }
      },
      catch: fail(`cannot write traces to the spool ${directory}`)
    })

  const claimed = (name: string, claimFile: string, text: string): Claimed | string => {
    const read = readTraceFile(text)
    if (Either.isLeft(read)) return read.left
    const waitingFile = path.join(directory, name)
    return {
      ...read.right,
      file: waitingFile,
      done: Effect.promise(() => remove(claimFile).then((removed) => removed && forget(name)).catch(() => false))
        .pipe(Effect.asVoid),
      release: Effect.promise(() =>
        move(claimFile, waitingFile).then((moved) => moved && queue?.add({ name, file: name })).catch(() => false)
      ).pipe(Effect.asVoid),
      reject: Effect.promise(() => setAside(name, claimFile).catch(() => false)).pipe(Effect.asVoid)
    }
  }

  /** Moves a claimed file to `rejected/`, never to be sent. */
  const setAside = async (name: string, claimFile: string) => {
    await fs.mkdir(rejectedDirectory, { recursive: true })
    if (!await move(claimFile, path.join(rejectedDirectory, name))) return
    const size = sizes?.get(name)
    forget(name)
    if (size !== undefined) sized(REJECTED + name, size)
    rejected.push(name)
  }

  /** Claims one waiting trace: `undefined` when someone else took it first, or it is not to be sent now. */
  const claimOne = async (candidate: Candidate, until: number): Promise<Claimed | undefined> => {
    const waitingFile = path.join(directory, candidate.name)
    const claimFile = `${waitingFile}.claim.${host}.${process.pid}.${until}`
    if (!await move(path.join(directory, candidate.file), claimFile)) return undefined
    const text = await fs.readFile(claimFile, "utf8").catch(() => undefined)
    if (text === undefined) {
      // cannot be read now (not damaged, as far as anyone knows): waiting again, for a later claim
      await move(claimFile, waitingFile)
      return undefined
    }
    const entry = claimed(candidate.name, claimFile, text)
    if (typeof entry === "string") {
      // not a trace file (written by something else, or damaged): set aside, not sent
      await setAside(candidate.name, claimFile)
      return undefined
    }
    return entry
  }

  const claim: Spool["claim"] = (max) =>
    Effect.tryPromise({
      try: async () => {
        const until = Date.now() + LEASE_MILLIS
        const out: Array<Claimed> = []
        let listed = queue === undefined || performance.now() - listedAt > RESCAN_MILLIS
        if (listed) await view(await names(directory))
        while (out.length < max) {
          const now = Date.now()
          const mono = performance.now()
          const batch: Array<Candidate> = []
          for (let next = queue!.take(); next !== undefined; next = queue!.take()) {
            if (next.file === next.name || isAbandoned(next.file, now, mono)) batch.push(next)
            if (batch.length === max - out.length) break
          }
          if (batch.length === 0) {
            // none left in view: once per claim, the folder is listed again for what others wrote
            if (listed) break
            listed = true
            await view(await names(directory))
            continue
          }
          const results = await Promise.allSettled(batch.map((candidate) => claimOne(candidate, until)))
          for (const result of results) {
            if (result.status === "fulfilled" && result.value !== undefined) out.push(result.value)
          }
          const failed = results.find((result) => result.status === "rejected")
          // what was claimed already is sent; the failure shows on the next claim, if it lasts
          if (failed !== undefined) {
            if (out.length === 0) throw failed.reason
            break
          }
        }
        return out
      },
      catch: fail(`cannot read the spool ${directory}`)
    })

  return { directory, write, claim }
}

/** What a spool records of a destination: its server (without credentials), workspace and experiment. */
export const recordFor = (
  trackingUri: string,
  experiment: ServerDestination["experiment"],
  place: { readonly workspace?: string | undefined; readonly databricksWorkspaceId?: string | undefined } = {}
): DestinationRecord => ({
  tracking_uri: scrub(trackingUri).replace(/\/+$/, ""),
  experiment: experiment._tag === "Name" ? `name:${experiment.name}` : `id:${experiment.id}`,
  ...(place.workspace === undefined ? {} : { workspace: place.workspace }),
  ...(place.databricksWorkspaceId === undefined ? {} : { databricks_workspace_id: place.databricksWorkspaceId })
})

/**
 * The record of a configured server: a SageMaker server by its ARN (servers of one region share their
 * endpoint), with the MLflow workspace and the Databricks workspace the requests name.
 */
export const recordOf = (
  config: Pick<MlflowConfig, "workspace" | "databricks">,
  destination: ServerDestination
): DestinationRecord =>
  recordFor(destination.sagemakerArn ?? destination.trackingUri, destination.experiment, {
    workspace: config.workspace,
    databricksWorkspaceId: config.databricks?.workspaceId
  })

/** How many traces wait in a destination's folder of a spool (claims abandoned by their process included). */
export const waitingCount = (directory: string): Promise<number> => {
  const now = Date.now()
  return fs.readdir(directory).then(
    (names) => names.filter((name) => WAITING.test(name) || abandoned(name, now)).length,
    () => 0
  )
}
