/**
 * The runtimes the README names beside Node (Bun, Deno, workerd), for the tests that run the packed
 * library on them: each pinned version installed from the npm registry (the platform package that
 * ships the binary: npm runs no install scripts here) into the cache outside the repository, once;
 * and a scratch application that uses the library as a user would (built, packed, installed).
 */
import { execFile, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { cacheRoot, withLock } from "./processes.js"

export type RuntimeName = "bun" | "deno" | "workerd"

interface Pinned {
  readonly version: string
  /** the npm package of the binary, per `${process.platform}-${process.arch}` */
  readonly packages: Readonly<Record<string, string>>
  /** where the binary lies in its package */
  readonly binary: string
}

export const PINNED: Readonly<Record<RuntimeName, Pinned>> = {
  bun: {
    version: "1.4.5",
    packages: {
      "linux-x64": "@oven/bun-linux-x64",
      "linux-arm64": "@oven/bun-linux-aarch64",
      "darwin-arm64": "@oven/bun-darwin-aarch64"
    },
    binary: "bin/bun"
  },
  deno: {
    version: "2.9.6",
    packages: {
      "linux-x64": "@deno/linux-x64-glibc",
      "linux-arm64": "@deno/linux-arm64-glibc",
      "darwin-arm64": "@deno/darwin-arm64"
    },
    binary: "deno"
  },
  workerd: {
    version: "1.20261123.1",
    packages: {
      "linux-x64": "@cloudflare/workerd-linux-64",
      "linux-arm64": "@cloudflare/workerd-linux-arm64",
      "darwin-arm64": "@cloudflare/workerd-darwin-arm64"
    },
    binary: "bin/workerd"
  }
}

/** A runtime ready to run, or why it could not be installed (the test that needs it fails with that). */
export type Installed =
  | { readonly _tag: "Ready"; readonly binary: string; readonly version: string }
  | { readonly _tag: "Missing"; readonly reason: string }

const reportedVersion = (binary: string): string | undefined => {
  if (!fs.existsSync(binary)) return undefined
  const result = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 30_000 })
  return result.status === 0 ? result.stdout.split("\n")[0].trim() : undefined
}

/** Installs the pinned runtime into `~/.cache/effect-mlflow/runtimes/<name>-<version>` unless there. */
export const ensureRuntime = (name: RuntimeName): Installed => {
  const { binary, packages, version } = PINNED[name]
  const platform = `${process.platform}-${process.arch}`
  const pkg = packages[platform]
  if (pkg === undefined) {
    return { _tag: "Missing", reason: `${name} ${version}: no npm package of its binary is known for ${platform}` }
  }
  const dir = path.join(cacheRoot(), "runtimes", `${name}-${version}`)
  const bin = path.join(dir, "node_modules", pkg, binary)
  const ready = () => fs.existsSync(path.join(dir, ".effect-mlflow-ready")) ? reportedVersion(bin) : undefined
  try {
    const reported = ready() ?? withLock(`${dir}.lock`, () => {
      const again = ready()
      if (again !== undefined) return again
      console.log(`Installing ${pkg}@${version} into ${dir} (once)...`)
      fs.rmSync(dir, { recursive: true, force: true })
      fs.mkdirSync(dir, { recursive: true })
      const npm = spawnSync(
        "npm",
        ["install", "--prefix", dir, "--no-save", "--no-package-lock", "--ignore-scripts", "--no-audit", "--no-fund"]
          .concat(`${pkg}@${version}`),
        { encoding: "utf8", timeout: 600_000 }
      )
      if (npm.status !== 0) {
        throw new Error(`npm install ${pkg}@${version} failed: ${npm.error?.message ?? npm.stderr.trim().slice(-2000)}`)
      }
      const installed = reportedVersion(bin)
      if (installed === undefined) {
        const tried = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 })
        throw new Error(`${bin} was installed but does not run: ${tried.error?.message ?? tried.stderr}`)
      }
      fs.writeFileSync(path.join(dir, ".effect-mlflow-ready"), new Date().toISOString())
      return installed
    })
    return { _tag: "Ready", binary: bin, version: reported }
  } catch (error) {
    return { _tag: "Missing", reason: `${name} ${version} (${pkg}): ${error instanceof Error ? error.message : error}` }
  }
}

/** Bun, Deno and workerd, each ready or with the reason it is not. */
export const ensureRuntimes = (): Record<RuntimeName, Installed> => ({
  bun: ensureRuntime("bun"),
  deno: ensureRuntime("deno"),
  workerd: ensureRuntime("workerd")
})

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const programs = path.join(repo, "test/support/runtimes")
const execFileAsync = promisify(execFile)

const exec = (file: string, args: ReadonlyArray<string>, cwd: string) =>
  execFileAsync(file, args, { cwd, encoding: "utf8", timeout: 300_000, maxBuffer: 16 * 1024 * 1024 })

/**
 * A scratch application in a temporary directory that uses the library as a user would: the
 * sources built as `npm run build` builds them (without its type check, which `npm run typecheck`
 * does), packed with `npm pack` and the tarball unpacked into its `node_modules`, beside the peers
 * `effect` and `@effect/platform` (links to the repository's); the programs of
 * `test/support/runtimes`, and the worker bundled for workerd as a bundler for Workers does (the
 * `workerd` export conditions, `node:` modules left to the runtime).
 */
export const scratchApp = async (): Promise<string> => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-runtimes-"))
  const pkg = path.join(root, "source")
  fs.mkdirSync(pkg)
  for (const file of ["package.json", "LICENSE"]) fs.copyFileSync(path.join(repo, file), path.join(pkg, file))
  await exec(path.join(repo, "node_modules/.bin/tsc"), [
    "-p",
    path.join(repo, "tsconfig.build.json"),
    "--outDir",
    path.join(pkg, "dist"),
    "--noCheck",
    "--declaration",
    "false",
    "--declarationMap",
    "false",
    "--sourceMap",
    "false"
  ], repo)
  const { stdout } = await exec("npm", ["pack", "--ignore-scripts", "--pack-destination", root], pkg)
  const tarball = path.join(root, stdout.trim().split("\n").at(-1)!)
  const app = path.join(root, "app")
  const modules = path.join(app, "node_modules")
  fs.mkdirSync(path.join(modules, "@effect"), { recursive: true })
  await exec("tar", ["xzf", tarball, "-C", root], root)
  fs.renameSync(path.join(root, "package"), path.join(modules, "effect-mlflow"))
  for (const peer of ["effect", "@effect/platform"]) {
    fs.symlinkSync(path.join(repo, "node_modules", peer), path.join(modules, peer))
  }
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }))
  for (const file of fs.readdirSync(programs)) fs.copyFileSync(path.join(programs, file), path.join(app, file))
  await exec(path.join(repo, "node_modules/.bin/esbuild"), [
    "worker.ts",
    "--bundle",
    "--format=esm",
    "--platform=neutral",
    "--main-fields=module,main",
    "--conditions=workerd,worker,browser",
    "--external:node:*",
    // the bundle is no script: `program.ts`'s command line stays out
    "--define:import.meta.main=false",
    "--log-level=warning",
    "--outfile=worker.js"
  ], app)
  return app
}
