import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

const src = path.resolve(import.meta.dirname, "../../src")

/** The files reachable from `entry` through static imports (dynamic `import()` is left out: it loads on demand). */
const staticGraph = (entry: string): Map<string, ReadonlyArray<string>> => {
  const seen = new Map<string, ReadonlyArray<string>>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    const text = fs.readFileSync(file, "utf8")
    const specifiers = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1])
    seen.set(file, specifiers)
    for (const specifier of specifiers) {
      if (specifier.startsWith(".")) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, ".ts")))
    }
  }
  visit(entry)
  return seen
}

describe("runtimes without Node compatibility", () => {
  it("the server path (the main entry) imports no node: module and uses no Buffer", () => {
    const graph = staticGraph(path.join(src, "index.ts"))
    assert.isAbove(graph.size, 10)
    for (const [file, specifiers] of graph) {
      const relative = path.relative(src, file)
      for (const specifier of specifiers) {
        assert.isFalse(specifier.startsWith("node:"), `${relative} imports ${specifier}`)
        assert.isFalse(/^(fs|os|path|crypto|http|https|url)$/.test(specifier), `${relative} imports ${specifier}`)
      }
      if (relative === path.join("internal", "bytes.ts")) continue
      assert.notMatch(fs.readFileSync(file, "utf8"), /\bBuffer\.|\bprocess\.(env|argv|cwd)/, relative)
    }
    // the local store and the node metadata are there, loaded on demand only
    assert.isFalse([...graph.keys()].some((file) => file.endsWith("LocalStore.ts")))
    assert.isFalse([...graph.keys()].some((file) => file.endsWith("nodeEnvironment.ts")))
    // OTLP export (gRPC brings node:http2) and the OpenTelemetry bridges are loaded on demand, or not at all
    assert.isFalse([...graph.keys()].some((file) => /sinks[/\\](grpc|otlp|otlpHttp)\.ts$/.test(file)))
    for (const [file, specifiers] of graph) {
      for (const specifier of specifiers) {
        assert.isFalse(/^@(effect\/)?opentelemetry/.test(specifier), `${path.relative(src, file)} imports ${specifier}`)
      }
    }
  })
})
