/**
 * Every benchmark, one after the other, each printing its tables; the tables are also written to
 * `bench/RESULTS.md` with the machine and the commit they ran on.
 *
 * Run: npm run bench   (the sizes of each script can be changed as its own header says)
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const scripts: ReadonlyArray<readonly [string, string, string]> = [
  ["Hot path", "overhead.ts", "CPU, wall time and heap allocated per trace under each tracer."],
  [
    "Export to a real MLflow server",
    "export.ts",
    "Traces stored per second, event-loop delay, memory while the server is down."
  ],
  ["Traced language model", "llm.ts", "The cost of the traced model layer per call."],
  ["Faults", "faults.ts", "What is stored through an outage and against a hostile server."],
  ["Spool drain", "spool.ts", "Claim cost, drain rate and event-loop delay with 1k, 10k and 40k traces waiting."],
  ["Footprint", "footprint.ts", "The code the Quickstart loads at start, beside Effect with `@effect/platform`."]
]

const git = (args: ReadonlyArray<string>) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim()
const sections: Array<string> = []
for (const [title, script, what] of scripts) {
  console.log(`\n## ${title} (bench/${script})\n`)
  const out = execFileSync(path.join(root, "node_modules/.bin/tsx"), [path.join("bench", script)], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024
  })
  // the tables and their captions; log lines of the runs are left out
  const tables = out.split("\n").filter((line) => !line.startsWith("timestamp=")).join("\n").trim()
  console.log(tables)
  sections.push(`## ${title}: \`bench/${script}\`\n\n${what}\n\n${tables}\n`)
}

const cpus = os.cpus()
const dirty = git(["status", "--porcelain", "--", "src", "bench"]) === "" ? "" : " (with uncommitted changes)"
fs.writeFileSync(
  path.join(root, "bench/RESULTS.md"),
  `# Benchmark results

Written by \`npm run bench\` (\`bench/suite.ts\`): the tables each script printed, as printed. Ratios
from one run are what to compare; absolute figures depend on the machine.

- Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}), ${
    Math.round(os.totalmem() / 2 ** 30)
  } GiB, ${os.type()} ${os.release()}, Node ${process.version}
- MLflow: the pinned server (\`test/harness\`), SQLite store, one server worker
- Commit: ${git(["rev-parse", "--short", "HEAD"])}${dirty}, ${new Date().toISOString().slice(0, 10)}

${sections.join("\n")}`
)
console.log("\nwritten to bench/RESULTS.md")
