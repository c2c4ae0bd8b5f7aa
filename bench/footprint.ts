/**
 * The code the README's Quickstart loads at start, against what Effect with `@effect/platform` loads
 * for a traced fetch: both bundled by esbuild (`--bundle --minify --splitting --format=esm
 * --platform=node`), read from the metafile.
 *
 * - baseline: `HttpClient.get` inside `Effect.withSpan`, over `FetchHttpClient.layer`;
 * - quickstart: two spans and `MlflowTracingLive` (the library from `src/index.ts`), what a process
 *   with `MLFLOW_TRACKING_URI=http://...` runs.
 *
 * Eager code is the entry chunk and the chunks it reaches through static imports; lazy code is what
 * only a dynamic `import()` reaches (loaded when the configuration asks for it). The quickstart's
 * eager bytes are split by package, and our own files are listed by the eager bytes they add.
 *
 * Run: npm run bench:footprint   (TOP=30 to list more of our files)
 */
import * as esbuild from "esbuild"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as url from "node:url"

const TOP = Number(process.env.TOP ?? 15)
const root = path.resolve(import.meta.dirname, "..")

const baseline = `
import { Effect } from "effect"
import { FetchHttpClient, HttpClient } from "@effect/platform"

HttpClient.get("http://127.0.0.1:5000/health").pipe(
  Effect.withSpan("fetch"),
  Effect.provide(FetchHttpClient.layer),
  Effect.runPromise
)
`

// the README's Quickstart, importing the library from its source
const quickstart = `
import { Effect } from "effect"
import { Mlflow, MlflowTracingLive } from ${JSON.stringify(path.join(root, "src/index.ts"))}

const retrieve = (query: string) =>
  Effect.succeed([{ page_content: "MLflow is an open source platform." }]).pipe(
    Mlflow.span("retrieve", { spanType: "RETRIEVER", inputs: { query } })
  )

const answer = Effect.fn("answer")(function*(question: string) {
  yield* Mlflow.setSpanType("CHAIN")
  yield* Mlflow.setInputs({ question })
  yield* Mlflow.updateCurrentTrace({ sessionId: "session-1", user: "alice", tags: { env: "prod" } })
  const docs = yield* retrieve(question)
  const best = docs[0]?.page_content ?? "I don't know."
  yield* Mlflow.setOutputs(best)
  return best
})

answer("What is MLflow?").pipe(Effect.provide(MlflowTracingLive), Effect.runPromise)
`

interface Footprint {
  readonly eager: number
  readonly lazy: number
  /** Eager bytes of each input file (as esbuild names it), after minification. */
  readonly eagerInputs: ReadonlyMap<string, number>
  /** With `run`: the chunks the program loaded when run, and their bytes. */
  readonly ran?: { readonly bytes: number; readonly lazyChunks: ReadonlyArray<string> } | undefined
}

/**
 * Runs a bundle with Node against a stand-in MLflow server (every request answered `200 {}`), and
 * answers the file names of the chunks it loaded, through a module resolution hook.
 */
const chunksLoadedBy = async (dir: string, entry: string): Promise<ReadonlySet<string>> => {
  const hook = path.join(dir, "hook.mjs")
  fs.writeFileSync(
    hook,
    `export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  if (resolved.url.startsWith("file:")) process.stderr.write("LOADED " + resolved.url + "\\n")
  return resolved
}
`
  )
  const register = path.join(dir, "register.mjs")
  fs.writeFileSync(
    register,
    `import { register } from "node:module"\nregister(${JSON.stringify(url.pathToFileURL(hook).href)})\n`
  )
  const server = http.createServer((request, response) => {
    request.resume()
    request.on("end", () => response.writeHead(200, { "content-type": "application/json" }).end("{}"))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    const { port } = server.address() as { readonly port: number }
    const child = spawn(process.execPath, ["--import", register, entry], {
      env: { ...process.env, MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}` },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (chunk) => stderr += chunk)
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
    if (code !== 0) throw new Error(`the bundle failed (exit ${code}): ${stderr}`)
    return new Set(
      stderr.split("\n").filter((line) => line.startsWith("LOADED ")).map((line) =>
        path.basename(url.fileURLToPath(line.slice(7)))
      )
    )
  } finally {
    server.close()
  }
}

const measure = async (name: string, source: string, run = false): Promise<Footprint> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `footprint-${name}-`))
  try {
    const entry = path.join(dir, `${name}.ts`)
    fs.writeFileSync(entry, source)
    const { metafile } = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: root,
      nodePaths: [path.join(root, "node_modules")],
      bundle: true,
      minify: true,
      splitting: true,
      format: "esm",
      platform: "node",
      outdir: path.join(dir, "out"),
      metafile: true,
      write: run,
      logLevel: "error"
    })
    const outputs = metafile.outputs
    // a module loaded by `import()` is an entry point of its own: the program's is the one given
    const start = Object.keys(outputs).find((file) => {
      const entryPoint = outputs[file].entryPoint
      return entryPoint !== undefined && path.resolve(root, entryPoint) === entry
    })!
    const eagerChunks = new Set<string>()
    const visit = (file: string): void => {
      if (eagerChunks.has(file)) return
      eagerChunks.add(file)
      for (const edge of outputs[file].imports) {
        if (edge.kind === "import-statement" && !edge.external) visit(edge.path)
      }
    }
    visit(start)
    const eagerInputs = new Map<string, number>()
    let eager = 0
    let lazy = 0
    for (const [file, output] of Object.entries(outputs)) {
      if (file.endsWith(".map")) continue
      if (!eagerChunks.has(file)) {
        lazy += output.bytes
        continue
      }
      eager += output.bytes
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
        eagerInputs.set(input, (eagerInputs.get(input) ?? 0) + bytesInOutput)
      }
    }
    if (!run) return { eager, lazy, eagerInputs }
    const loaded = await chunksLoadedBy(dir, path.resolve(root, start))
    const ranChunks = Object.keys(outputs).filter((file) => loaded.has(path.basename(file)))
    return {
      eager,
      lazy,
      eagerInputs,
      ran: {
        bytes: ranChunks.reduce((sum, file) => sum + outputs[file].bytes, 0),
        lazyChunks: ranChunks.filter((file) => !eagerChunks.has(file)).map((file) =>
          outputs[file].entryPoint ?? Object.keys(outputs[file].inputs).join(" + ")
        )
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const packageOf = (input: string): string => {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
  if (match !== null) return match[1]
  return input.startsWith("src/") ? "effect-mlflow (ours)" : "the entry program"
}

const kb = (bytes: number): string => (bytes / 1000).toFixed(1)
const signedKb = (bytes: number): string => `${bytes >= 0 ? "+" : ""}${kb(bytes)}`

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i].length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join(" | ")} |`
  const rule = `| ${widths.map((width, i) => i === 0 ? "-".repeat(width) : `${"-".repeat(width - 1)}:`).join(" | ")} |`
  return [line(header), rule, ...rows.map(line)].join("\n")
}

const base = await measure("baseline", baseline)
const quick = await measure("quickstart", quickstart, true)

console.log(
  `Eager code: the entry chunk and the chunks its static imports reach (esbuild ${esbuild.version}, --bundle --minify --splitting --format=esm --platform=node), KB (1000 bytes) minified\n`
)
const ran = quick.ran!
console.log(
  table(["program", "eager KB", "vs baseline", "lazy KB (dynamic import)", "loaded when run KB"], [
    ["Effect + @effect/platform, traced fetch (baseline)", kb(base.eager), "", kb(base.lazy), ""],
    [
      "README Quickstart, self-hosted server",
      kb(quick.eager),
      signedKb(quick.eager - base.eager),
      kb(quick.lazy),
      kb(ran.bytes)
    ]
  ])
)
console.log(
  `\nLoaded when run: the Quickstart's bundle run by Node ${process.version} against a stand-in server ` +
    `(MLFLOW_TRACKING_URI=http://127.0.0.1:<port>), its lazy chunks: ${ran.lazyChunks.join(", ") || "none"}`
)

const byPackage = (footprint: Footprint): Map<string, number> => {
  const sums = new Map<string, number>()
  for (const [input, bytes] of footprint.eagerInputs) {
    const name = packageOf(input)
    sums.set(name, (sums.get(name) ?? 0) + bytes)
  }
  return sums
}
const basePackages = byPackage(base)
const quickPackages = byPackage(quick)
const packages = [...new Set([...quickPackages.keys(), ...basePackages.keys()])]
  .sort((a, b) => (quickPackages.get(b) ?? 0) - (quickPackages.get(a) ?? 0))
console.log(`\nEager bytes by package (of the inputs' minified bytes; chunk glue is not counted), KB\n`)
console.log(
  table(
    ["package", "baseline", "quickstart", "difference"],
    packages.map((name) => {
      const before = basePackages.get(name) ?? 0
      const after = quickPackages.get(name) ?? 0
      return [name, kb(before), kb(after), signedKb(after - before)]
    })
  )
)

const ours = [...quick.eagerInputs].filter(([input]) => input.startsWith("src/")).sort((a, b) => b[1] - a[1])
const byFolder = new Map<string, number>()
for (const [input, bytes] of ours) {
  const folder = path.dirname(input) === "src" ? "src (public modules)" : path.dirname(input)
  byFolder.set(folder, (byFolder.get(folder) ?? 0) + bytes)
}
console.log(`\nOur eager bytes by folder, KB minified\n`)
console.log(
  table(["folder", "eager KB"], [...byFolder].sort((a, b) => b[1] - a[1]).map(([folder, bytes]) => [folder, kb(bytes)]))
)

console.log(`\nOur files by eager bytes, top ${TOP} of ${ours.length}, KB minified\n`)
console.log(table(["file", "eager KB"], ours.slice(0, TOP).map(([input, bytes]) => [input, kb(bytes)])))
