import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../..")
const depcruise = path.join(root, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs")
const config = path.join(root, ".dependency-cruiser.cjs")

/** Runs the lint's import check over a tree of files; answers the rules it reports broken. */
const check = (dir: string): Array<string> => {
  const out = execFileSync(process.execPath, [depcruise, "src", "--config", config, "--output-type", "json"], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024
  })
  const violations: Array<{ readonly rule: { readonly name: string } }> = JSON.parse(out).summary.violations
  return [...new Set(violations.map((violation) => violation.rule.name))].sort()
}

const tree = (files: Record<string, string>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "import-rules-"))
  const all = { ...files, "tsconfig.json": JSON.stringify({ compilerOptions: { module: "NodeNext", strict: true } }) }
  for (const [file, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    fs.writeFileSync(path.join(dir, file), text)
  }
  return dir
}

describe("the import rules of npm run lint", () => {
  it("pass on this repository's src", () => {
    expect(check(root)).toEqual([])
  })

  it("fail on a cycle among public modules, even through types", () => {
    const dir = tree({
      "src/A.ts": "import type { B } from \"./B.js\"\nexport type A = B | 1\n",
      "src/B.ts": "import type { A } from \"./A.js\"\nexport type B = { a?: A }\n"
    })
    expect(check(dir)).toEqual(["no-cycles-among-public-modules"])
  })

  it("fail on a cycle among internal modules, even through types", () => {
    const dir = tree({
      "src/internal/common/a.ts": "import type { B } from \"./b.js\"\nexport type A = B | 1\n",
      "src/internal/common/b.ts": "import type { A } from \"./a.js\"\nexport type B = { a?: A }\n"
    })
    expect(check(dir)).toEqual(["no-cycles-among-internal-modules"])
  })

  it("fail on a cycle through values", () => {
    const dir = tree({
      "src/A.ts": "import { b } from \"./B.js\"\nexport const a = () => b\n",
      "src/B.ts": "import { a } from \"./A.js\"\nexport const b = () => a\n"
    })
    expect(check(dir)).toEqual(["no-cycles", "no-cycles-among-public-modules"])
  })

  it("allow a public module's internal body to import the contracts it declares", () => {
    const dir = tree({
      "src/Sink.ts": "import * as Internal from \"./internal/export/sink.js\"\n" +
        "export interface Sink { readonly name: string }\nexport const make: () => Sink = Internal.make\n",
      "src/internal/export/sink.ts": "import type { Sink } from \"../../Sink.js\"\n" +
        "export const make = (): Sink => ({ name: \"memory\" })\n"
    })
    expect(check(dir)).toEqual([])
  })

  it("fail on internal code that imports a public module's values, and allow its types", () => {
    const dir = tree({
      "src/Trace.ts": "export const KEY = \"k\"\nexport interface Span { readonly name: string }\n",
      "src/internal/common/keys.ts": "import { KEY } from \"../../Trace.js\"\nexport const key = KEY\n",
      "src/internal/common/types.ts": "import type { Span } from \"../../Trace.js\"\nexport type S = Span\n"
    })
    expect(check(dir)).toEqual(["internal-imports-public-types-only"])
  })

  it("fail on imports against the flow of stages", () => {
    const dir = tree({
      "src/internal/export/exporter.ts": "export const exporter = 1\n",
      "src/internal/export/sink.ts": "export interface Sink { readonly name: string }\n",
      "src/internal/tracing/tracer.ts":
        "import { exporter } from \"../export/exporter.js\"\nexport const t = exporter\n",
      "src/internal/llm/chat.ts": "import { t } from \"../tracing/tracer.js\"\nexport const c = t\n",
      "src/internal/sinks/mlflow.ts": "import { exporter } from \"../export/exporter.js\"\nexport const m = exporter\n",
      "src/internal/sinks/ok.ts": "import type { Sink } from \"../export/sink.js\"\nexport type S = Sink\n"
    })
    expect(check(dir)).toEqual([
      "llm-uses-tracing-types-only",
      "sinks-use-the-sink-contract-only",
      "tracing-imports"
    ])
  })

  it("hold prepare between tracing and export, and share the snapshot as a leaf of tracing", () => {
    const dir = tree({
      "src/internal/export/exporter.ts": "export const exporter = 1\n",
      "src/internal/prepare/prepare.ts":
        "import { exporter } from \"../export/exporter.js\"\nexport const p = exporter\n",
      "src/internal/prepare/derived.ts": "export const preview = 1\n",
      "src/internal/prepare/finalize.ts": "export const finalize = 1\n",
      "src/internal/sinks/ok.ts": "import { preview } from \"../prepare/derived.js\"\nexport const s = preview\n",
      "src/internal/sinks/bad.ts": "import { finalize } from \"../prepare/finalize.js\"\nexport const b = finalize\n",
      "src/internal/tracing/tracer.ts": "export const tracer = 1\n",
      "src/internal/tracing/snapshot.ts": "export const snapshot = 1\n",
      "src/internal/tracing/text.ts": "import { tracer } from \"./tracer.js\"\nexport const text = tracer\n",
      "src/internal/llm/chat.ts": "import { snapshot } from \"../tracing/snapshot.js\"\nexport const c = snapshot\n",
      "src/internal/client/http.ts": "import { tracer } from \"../tracing/tracer.js\"\nexport const h = tracer\n"
    })
    expect(check(dir)).toEqual([
      "client-imports",
      "prepare-imports",
      "sinks-use-the-derivation-rules-only",
      "snapshot-is-a-leaf"
    ])
  })
})
