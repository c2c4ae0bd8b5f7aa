#!/usr/bin/env node
// The `effect-mlflow` command. Its dependencies (@effect/cli, @effect/platform-node) are optional
// peers of the library, so that the library itself needs none at run time.
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"

const require = createRequire(import.meta.url)
const missing = ["@effect/cli", "@effect/platform-node", "@effect/printer", "@effect/printer-ansi"].filter((name) => {
  try {
    require.resolve(`${name}/package.json`)
    return false
  } catch {
    return true
  }
})
if (missing.length > 0) {
  process.stderr.write(
    `effect-mlflow: the command line needs ${missing.join(", ")}; install them with\n` +
      `  npm install ${
        missing.map((name) =>
          `${name}@${name.includes("printer") ? "^0.51" : name === "@effect/cli" ? "^0.77" : "^0.108"}`
        ).join(" ")
      }\n`
  )
  process.exit(2)
}

const built = new URL("../dist/cli/main.js", import.meta.url)
if (existsSync(fileURLToPath(built))) {
  await import(built.href)
} else {
  // a checkout of the repository: run the sources through tsx (a devDependency)
  const { register } = await import("tsx/esm/api")
  register()
  await import(pathToFileURL(fileURLToPath(new URL("../src/cli/main.ts", import.meta.url))).href)
}
