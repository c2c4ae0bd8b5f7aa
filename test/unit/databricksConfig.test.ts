import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { MlflowConfig } from "../../src/index.js"
import { normalizeHost, parseDatabricksUri } from "../../src/internal/config/databricks.js"

const fromEnv = (env: Record<string, string>) =>
  Effect.flatMap(MlflowConfig.fromEnv, MlflowConfig.make).pipe(
    Effect.withConfigProvider(
      // no file of the machine's is read: the configuration file is one that does not exist
      ConfigProvider.fromMap(new Map(Object.entries({ DATABRICKS_CONFIG_FILE: "/nonexistent/databrickscfg", ...env })))
    )
  )

const failure = (exit: Exit.Exit<unknown, MlflowConfig.MlflowConfigError>) => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
  assert.instanceOf(error, MlflowConfig.MlflowConfigError)
  return error!
}

const workspace = { DATABRICKS_HOST: "adb-1234.5.azuredatabricks.net", DATABRICKS_TOKEN: "dapi-PLANTED" }

describe("Databricks settings", () => {
  it("reads databricks and databricks://<profile> URIs; a secret scope is an error saying why", () => {
    assert.deepStrictEqual(parseDatabricksUri("databricks"), { profile: undefined })
    assert.deepStrictEqual(parseDatabricksUri("databricks://prod"), { profile: "prod" })
    assert.include(parseDatabricksUri("databricks://scope:prefix") as string, "secret scope")
    assert.include(parseDatabricksUri("databricks:/prod") as string, "not a Databricks tracking URI")
    assert.isUndefined(parseDatabricksUri("https://adb-1234.5.azuredatabricks.net"))
  })

  it("normalizes the host as the databricks-sdk does", () => {
    assert.strictEqual(normalizeHost("adb-1.azuredatabricks.net"), "https://adb-1.azuredatabricks.net")
    assert.strictEqual(normalizeHost("https://adb-1.azuredatabricks.net:443/"), "https://adb-1.azuredatabricks.net")
    assert.strictEqual(normalizeHost("http://127.0.0.1:8080//"), "http://127.0.0.1:8080")
  })

  it.effect("sends traces to the workspace's host with its token, never printed", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        MLFLOW_TRACKING_URI: "databricks",
        MLFLOW_EXPERIMENT_NAME: "/Users/alice@example.com/chat",
        ...workspace
      })
      assert.deepStrictEqual(config.destination, {
        _tag: "Server",
        trackingUri: "https://adb-1234.5.azuredatabricks.net",
        databricks: true,
        experiment: { _tag: "Name", name: "/Users/alice@example.com/chat" }
      })
      const auth = config.databricks!.auth
      assert.strictEqual(auth._tag, "Pat")
      assert.isTrue(Redacted.isRedacted((auth as { token: Redacted.Redacted }).token))
      assert.notInclude(JSON.stringify(config.databricks), "PLANTED")
    }))

  it.effect("a profile of the configuration file, named by the URI", () =>
    Effect.gen(function*() {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-dbcfg-")), "cfg")
      fs.writeFileSync(
        file,
        "[prod]\nhost = https://prod.cloud.databricks.com\nclient_id = sp\nclient_secret = s3cret\n"
      )
      const config = yield* fromEnv({
        MLFLOW_TRACKING_URI: "databricks://prod",
        MLFLOW_EXPERIMENT_ID: "123",
        DATABRICKS_CONFIG_FILE: file
      })
      assert.strictEqual(config.databricks!.host, "https://prod.cloud.databricks.com")
      assert.strictEqual(config.databricks!.profile, "prod")
      assert.strictEqual(config.databricks!.auth._tag, "OAuthM2M")
    }))

  it.effect("an experiment is required, named by its workspace path", () =>
    Effect.gen(function*() {
      const none = failure(yield* Effect.exit(fromEnv({ MLFLOW_TRACKING_URI: "databricks", ...workspace })))
      assert.include(none.message, "MLFLOW_EXPERIMENT_NAME")
      const relative = failure(
        yield* Effect.exit(fromEnv({ MLFLOW_TRACKING_URI: "databricks", MLFLOW_EXPERIMENT_NAME: "chat", ...workspace }))
      )
      assert.include(relative.detail, "/Users/you@example.com/chat")
    }))

  it.effect("no credentials, several methods, a method it cannot do, a missing profile: errors that say so", () =>
    Effect.gen(function*() {
      const base = { MLFLOW_TRACKING_URI: "databricks", MLFLOW_EXPERIMENT_ID: "1" }
      const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
        [{ DATABRICKS_HOST: "h" }, "no Databricks credentials"],
        [{ DATABRICKS_TOKEN: "t" }, "no Databricks host"],
        [{ ...workspace, DATABRICKS_CLIENT_ID: "sp", DATABRICKS_CLIENT_SECRET: "s" }, "more than one"],
        [{ ...workspace, DATABRICKS_AUTH_TYPE: "databricks-cli" }, "auth_type databricks-cli"],
        [{ MLFLOW_TRACKING_URI: "databricks://nowhere" }, "profile nowhere"]
      ]
      for (const [env, expected] of cases) {
        const error = failure(yield* Effect.exit(fromEnv({ ...base, ...env })))
        assert.include(error.message, expected)
        assert.include(error.setting, "DATABRICKS_")
        assert.notInclude(error.message, "dapi-PLANTED")
      }
    }))
})
