import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { vi } from "vitest"
import { Mlflow, MlflowTracing } from "../../src/index.js"

// workerd with Node compatibility: `os.userInfo()` answers `{}`
vi.mock("node:os", async (original) => {
  const actual = await original<typeof import("node:os")>()
  return { ...actual, userInfo: () => ({}) }
})

describe("a runtime that knows no user name (workerd)", () => {
  it.live("traces into the local store without the user metadata", () =>
    Effect.gen(function*() {
      const user = process.env.USER
      delete process.env.USER
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-workerd-"))
      try {
        yield* Effect.void.pipe(
          Mlflow.span("edge"),
          Effect.provide(MlflowTracing.layer({ trackingUri: `file:${dir}` }))
        )
        const files = fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".json"))
        assert.strictEqual(files.length, 1)
        const trace = JSON.parse(fs.readFileSync(path.join(dir, files[0]), "utf8"))
        const metadata = trace.info.trace_metadata ?? trace.info.request_metadata ?? {}
        assert.notProperty(metadata, "mlflow.user")
        assert.property(metadata, "mlflow.source.name")
      } finally {
        if (user !== undefined) process.env.USER = user
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }))
})
