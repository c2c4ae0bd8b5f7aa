import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../..")
const src = path.join(root, "src")
const version: string = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version

/** The modules package.json `exports` publishes: `src/**` but `internal/` and `cli/`. */
const publicModules = (fs.readdirSync(src, { recursive: true }) as Array<string>)
  .map((file) => file.split(path.sep).join("/"))
  .filter((file) => file.endsWith(".ts") && !/^(internal|cli)\//.test(file))
  .sort()

const program = ts.createProgram(publicModules.map((file) => path.join(src, file)), {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  skipLibCheck: true,
  noEmit: true
})
const checker = program.getTypeChecker()

const exportsOf = (file: string): Array<ts.Symbol> => {
  const module = checker.getSymbolAtLocation(program.getSourceFile(path.join(src, file))!)!
  return checker.getExportsOfModule(module)
}

/** The `@since` tags of a declaration, from its own JSDoc or its statement's. */
const sinceOf = (declaration: ts.Node): Array<string> => {
  for (let node: ts.Node | undefined = declaration; node !== undefined; node = node.parent) {
    const tags = ts.getJSDocTags(node).filter((tag) => tag.tagName.text === "since")
    if (tags.length > 0) return tags.map((tag) => ts.getTextOfJSDocComment(tag.comment)?.trim() ?? "")
    if (ts.isStatement(node) || ts.isSourceFile(node)) return []
  }
  return []
}

const compareVersions = (a: string, b: string): number => {
  const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)]
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i]
  return 0
}

describe("the public API", () => {
  it("is the list below: a new export is a decision, not an accident", async () => {
    const surface = Object.fromEntries(
      publicModules.map((file) => [file, exportsOf(file).map((symbol) => symbol.name).sort()])
    )
    await expect(JSON.stringify(surface, null, 2) + "\n").toMatchFileSnapshot("__snapshots__/publicApi.json")
  })

  it(`documents every export with a @since no later than package.json's version (${version})`, () => {
    const problems: Array<string> = []
    for (const file of publicModules) {
      for (const symbol of exportsOf(file)) {
        const own = (symbol.declarations ?? []).filter((declaration) =>
          path.resolve(declaration.getSourceFile().fileName) === path.join(src, file)
        )
        for (const declaration of own) {
          const since = sinceOf(declaration)
          if (since.length === 0) problems.push(`${file} ${symbol.name}: no @since`)
          for (const value of since) {
            if (!/^\d+\.\d+\.\d+$/.test(value)) {
              problems.push(`${file} ${symbol.name}: @since ${value} is not a version`)
            } else if (compareVersions(value, version) > 0) {
              problems.push(`${file} ${symbol.name}: @since ${value} is later than ${version}`)
            }
          }
        }
      }
    }
    expect(problems).toEqual([])
  })
})
