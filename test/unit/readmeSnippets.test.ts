import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "../..")

/** The README's TypeScript blocks, with the package's imports pointed at the sources. */
const snippets = (): Array<string> =>
  [...fs.readFileSync(path.join(root, "README.md"), "utf8").matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) =>
    m[1]
      .replace(/from "effect-mlflow(\/[^"]+)?"/g, (_, sub: string | undefined) =>
        `from "./dist/src${sub === undefined ? "/index" : sub}.js"`)
      .replace(/from "\.\/rag\.js"/g, `from "./dist/examples/rag.js"`)
  )

describe("README", () => {
  it("every TypeScript snippet compiles as written (strict, noUncheckedIndexedAccess)", () => {
    const blocks = snippets()
    assert.isAbove(blocks.length, 3)
    // outside the repository (so typecheck, lint and format never see the copies), with its packages
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-readme-"))
    fs.symlinkSync(path.join(root, "node_modules"), path.join(out, "node_modules"))
    fs.writeFileSync(path.join(out, "package.json"), JSON.stringify({ type: "module" }))
    // the snippets see the package as a user does: its declarations (not its sources, which have
    // compiler settings of their own)
    const tscPath = path.join(root, "node_modules/typescript/bin/tsc")
    const declarations = spawnSync(process.execPath, [
      tscPath,
      "-p",
      path.join(root, "tsconfig.json"),
      "--noEmit",
      "false",
      "--emitDeclarationOnly",
      "--declarationMap",
      "false",
      "--sourceMap",
      "false",
      "--rootDir",
      root,
      "--outDir",
      path.join(out, "dist")
    ], { encoding: "utf8" })
    assert.strictEqual(declarations.status, 0, declarations.stdout + declarations.stderr)
    blocks.forEach((code, i) => fs.writeFileSync(path.join(out, `snippet${i + 1}.ts`), code))
    fs.writeFileSync(
      path.join(out, "tsconfig.json"),
      JSON.stringify({
        extends: path.join(root, "tsconfig.json"),
        compilerOptions: { noUncheckedIndexedAccess: true, noUnusedLocals: false, noEmit: true },
        include: ["*.ts"],
        exclude: ["dist"]
      })
    )
    const tsc = spawnSync(process.execPath, [tscPath, "-p", out], {
      encoding: "utf8"
    })
    fs.rmSync(out, { recursive: true, force: true })
    assert.strictEqual(tsc.status, 0, `README snippets do not compile:\n${tsc.stdout}${tsc.stderr}`)
  }, 120_000)
})
