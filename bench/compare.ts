/**
 * The hot-path cost of this checkout against another revision, measured in turns: this checkout's
 * `bench/overhead.ts` (the same workload on both sides) runs against the other revision's code, then
 * against this one's, round after round, so that both see the same machine state; the table shows,
 * per configuration, the median over rounds of the CPU per trace of each side and their ratio.
 *
 * Run: npm run bench:compare -- <revision>   (ROUNDS=5 TRACES=500 REPEATS=3 to change the size)
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const revision = process.argv[2]
if (revision === undefined) {
  console.error("usage: npm run bench:compare -- <revision>")
  process.exit(2)
}
const ROUNDS = Number(process.env.ROUNDS ?? 5)
const env = { ...process.env, TRACES: process.env.TRACES ?? "500", REPEATS: process.env.REPEATS ?? "3" }
const root = path.resolve(import.meta.dirname, "..")

const other = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-compare-"))
execFileSync("git", ["worktree", "add", "--detach", other, revision], { cwd: root, stdio: "ignore" })
fs.symlinkSync(path.join(root, "node_modules"), path.join(other, "node_modules"))
fs.copyFileSync(path.join(root, "bench/overhead.ts"), path.join(other, "bench/overhead.ts"))

/** CPU per trace of each configuration (the table's first figure), from one run of the overhead table. */
const runOnce = (dir: string): Map<string, number> => {
  const out = execFileSync(path.join(root, "node_modules/.bin/tsx"), ["bench/overhead.ts"], {
    cwd: dir,
    env,
    encoding: "utf8"
  })
  const rows = out.split("\n").filter((line) => /^\| [^-]/.test(line) && !line.startsWith("| configuration"))
  return new Map(rows.map((line) => {
    const [name, ns] = line.split("|").slice(1, 3).map((cell) => cell.trim())
    return [name, Number(ns)] as const
  }))
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

try {
  const samples = { other: new Map<string, Array<number>>(), here: new Map<string, Array<number>>() }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [side, dir] of [["other", other], ["here", root]] as const) {
      for (const [name, ns] of runOnce(dir)) samples[side].set(name, [...(samples[side].get(name) ?? []), ns])
    }
  }
  console.log(`${ROUNDS} rounds, TRACES=${env.TRACES} REPEATS=${env.REPEATS}, Node ${process.version}`)
  console.log(`| configuration | ${revision} CPU µs/trace | this checkout CPU µs/trace | ratio |`)
  console.log("| --- | ---: | ---: | ---: |")
  for (const [name, values] of samples.here) {
    const before = median(samples.other.get(name) ?? [Number.NaN])
    const after = median(values)
    console.log(`| ${name} | ${before.toFixed(0)} | ${after.toFixed(0)} | ${(after / before).toFixed(2)}x |`)
  }
} finally {
  execFileSync("git", ["worktree", "remove", "--force", other], { cwd: root, stdio: "ignore" })
}
