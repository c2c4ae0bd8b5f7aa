/**
 * What a process knows of a spool folder between two looks at it: the waiting files in the order they
 * were spooled, so that a claim or an eviction takes the oldest without listing the folder again.
 *
 * @internal
 */

/** A waiting trace as a process last saw it: its waiting name, and its file now (itself, or a claim abandoned). */
export interface Candidate {
  readonly name: string
  readonly file: string
}

const byName = (a: Candidate, b: Candidate) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0

/** Candidates oldest first: taken from the front, the traces this process spools added at the back. */
export class OldestFirst {
  private head = 0

  private constructor(private items: Array<Candidate>) {}

  /** The candidates of a listing, put in order a slice at a time (a sort of 40,000 holds the loop ~0.1 s). */
  static async of(items: ReadonlyArray<Candidate>): Promise<OldestFirst> {
    return new OldestFirst(await sortInSlices(items, byName))
  }

  get size(): number {
    return this.items.length - this.head
  }

  peek(): Candidate | undefined {
    return this.items[this.head]
  }

  take(): Candidate | undefined {
    const item = this.items[this.head]
    if (item === undefined) return undefined
    this.head++
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  /** A name newer than all (this process's clock only goes up) goes at the back; another in its place. */
  add(item: Candidate): void {
    const last = this.items[this.items.length - 1]
    if (last === undefined || this.size === 0 || byName(last, item) <= 0) {
      this.items.push(item)
      return
    }
    let low = this.head
    let high = this.items.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (byName(this.items[middle], item) <= 0) low = middle + 1
      else high = middle
    }
    this.items.splice(low, 0, item)
  }
}

const SLICE = 2048

const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve))

/** Runs `f` over `items` a slice at a time, letting the event loop run between slices. */
export const inSlices = async <A>(items: ReadonlyArray<A>, f: (item: A) => void): Promise<void> => {
  for (let start = 0; start < items.length; start += SLICE) {
    if (start > 0) await yieldToLoop()
    for (let i = start; i < Math.min(items.length, start + SLICE); i++) f(items[i])
  }
}

/**
 * `[...items].sort(compare)`, stable, letting the event loop run between slices of the work: slices
 * sorted one at a time, then merged in pairs, a slice's worth of steps at a time.
 */
export const sortInSlices = async <A>(items: ReadonlyArray<A>, compare: (a: A, b: A) => number): Promise<Array<A>> => {
  let runs: Array<Array<A>> = []
  for (let start = 0; start < items.length; start += SLICE) {
    if (start > 0) await yieldToLoop()
    runs.push(items.slice(start, start + SLICE).sort(compare))
  }
  let steps = 0
  while (runs.length > 1) {
    const merged: Array<Array<A>> = []
    for (let r = 0; r < runs.length; r += 2) {
      const [a, b] = [runs[r], runs[r + 1]]
      if (b === undefined) {
        merged.push(a)
        continue
      }
      const out: Array<A> = new Array(a.length + b.length)
      let i = 0
      let j = 0
      for (let k = 0; k < out.length; k++) {
        out[k] = j >= b.length || (i < a.length && compare(a[i], b[j]) <= 0) ? a[i++] : b[j++]
        if (++steps % SLICE === 0) await yieldToLoop()
      }
      merged.push(out)
    }
    runs = merged
  }
  return runs[0] ?? []
}

/** Like `Promise.all(items.map(f))`, at most `limit` at a time: a folder's files are not all opened at once. */
export const mapLimited = async <A, B>(
  items: ReadonlyArray<A>,
  limit: number,
  f: (item: A) => Promise<B>
): Promise<Array<B>> => {
  const out: Array<B> = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
