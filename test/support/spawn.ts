import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as path from "node:path"

/** The repository's root, where child processes run. */
export const root = path.resolve(import.meta.dirname, "../..")

/** The `effect-mlflow` command, run from the sources. */
export const bin = path.join(root, "bin/effect-mlflow.mjs")

/** How a child process ended, and what it wrote. */
export interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Starts a child in the repository with `env` over this process's environment, collecting its output. */
export const spawned = (
  command: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
) => {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  const output = { stdout: "", stderr: "" }
  child.stdout!.on("data", (chunk) => output.stdout += chunk)
  child.stderr!.on("data", (chunk) => output.stderr += chunk)
  const done = new Promise<Ran>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal, ...output }))
  )
  return { child, output, done }
}

/** Runs a child to its end. */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<Ran> => Effect.promise(() => spawned(command, args, env).done)

/**
 * The `effect-mlflow` command in a clean environment: no MLflow or effect-mlflow variables of the
 * machine's, no colours (unless `env` asks for them).
 */
export const cli = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): Effect.Effect<Ran> => {
  const cleared = Object.fromEntries(
    Object.keys(process.env).filter((name) => /^(MLFLOW_|EFFECT_MLFLOW_|DATABRICKS_)/.test(name)).map((name) => [
      name,
      undefined
    ])
  )
  return run(process.execPath, [bin, ...args], { ...cleared, NO_COLOR: "1", ...env })
}
