import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { MlflowConfig } from "../../src/index.js"
import { captureLogs, ownServer, python, uniqueName } from "./helpers.js"

const ADMIN_PASSWORD = "Adm1n-PLANTED-pass"

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`

/** A REST call as the admin (the test's own set-up, outside the library). */
const asAdmin = (url: string, route: string, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: basic("admin", ADMIN_PASSWORD) },
      body: JSON.stringify(body)
    })
    if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`)
    return response.json()
  })

/** Three traces through the layer, then its stats after release. */
const traceThree = (options: MlflowConfig.Options, logs: ReturnType<typeof captureLogs>) =>
  Effect.gen(function*() {
    const tracing = yield* MlflowTracing.MlflowTracing
    for (const name of ["one", "two", "three"]) {
      yield* Effect.succeed(name).pipe(Mlflow.span("child"), Mlflow.span(name, { inputs: { name } }))
    }
    return tracing
  }).pipe(
    Effect.provide(MlflowTracing.layer({ retryInitialDelay: "50 millis", ...options })),
    Effect.flatMap((tracing) => tracing.stats),
    Effect.provide(logs.layer)
  )

const storedAs = (url: string, experimentName: string, user: string, password: string) =>
  python(
    `
import json, mlflow
experiment = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
traces = mlflow.search_traces(experiment_ids=[experiment.experiment_id], return_type="list")
print(json.dumps(sorted([[t.info.tags.get("mlflow.traceName"), len(t.data.spans)] for t in traces])))
`,
    { MLFLOW_TRACKING_URI: url, MLFLOW_TRACKING_USERNAME: user, MLFLOW_TRACKING_PASSWORD: password }
  )

describe("MLflow's basic-auth app (mlflow server --app-name basic-auth)", () => {
  it.scopedLive("right credentials, given apart or in the URI: every trace stored", () =>
    Effect.gen(function*() {
      const server = yield* ownServer({ basicAuth: { adminPassword: ADMIN_PASSWORD } })
      for (const form of ["apart", "in the URI"] as const) {
        const experimentName = uniqueName("basic-auth")
        const logs = captureLogs()
        const stats = yield* traceThree(
          form === "apart"
            ? { trackingUri: server.url, experimentName, username: "admin", password: Redacted.make(ADMIN_PASSWORD) }
            : {
              trackingUri: server.url.replace("http://", `http://admin:${encodeURIComponent(ADMIN_PASSWORD)}@`),
              experimentName
            },
          logs
        )
        expect(stats.exported, form).toBe(3)
        expect(stats.failed, form).toBe(0)
        expect(yield* storedAs(server.url, experimentName, "admin", ADMIN_PASSWORD)).toEqual([
          ["one", 2],
          ["three", 2],
          ["two", 2]
        ])
        expect(logs.lines.join("\n")).not.toContain(ADMIN_PASSWORD)
      }
    }), 300_000)

  it.scopedLive(
    "a wrong password, and a user without permission: one clear error each, no retry loop",
    () =>
      Effect.gen(function*() {
        const server = yield* ownServer({ basicAuth: { adminPassword: ADMIN_PASSWORD } })

        const wrong = captureLogs()
        const refused = yield* traceThree({
          trackingUri: server.url,
          experimentName: uniqueName("basic-auth-wrong"),
          username: "admin",
          password: Redacted.make("not-the-PLANTED-password")
        }, wrong)
        expect(refused.exported).toBe(0)
        expect(refused.failed).toBe(3)
        expect(refused.retried).toBe(0)
        const errors = wrong.lines.filter((line) => line.includes("401"))
        expect(errors, wrong.lines.join("\n")).toHaveLength(1)
        expect(errors[0]).toContain("not authenticated")
        expect(wrong.lines.join("\n")).not.toContain("not-the-PLANTED-password")

        // alice may read (the default permission) but not write to the admin's experiment
        const experimentName = uniqueName("basic-auth-admins")
        yield* asAdmin(server.url, "/api/2.0/mlflow/experiments/create", { name: experimentName })
        yield* asAdmin(server.url, "/api/2.0/mlflow/users/create", { username: "alice", password: "alice-Passw0rd!" })
        const denied = captureLogs()
        const readOnly = yield* traceThree({
          trackingUri: server.url,
          experimentName,
          username: "alice",
          password: Redacted.make("alice-Passw0rd!")
        }, denied)
        expect(readOnly.exported).toBe(0)
        expect(readOnly.failed).toBe(3)
        expect(readOnly.retried).toBe(0)
        const deniedErrors = denied.lines.filter((line) => line.includes("403"))
        expect(deniedErrors, denied.lines.join("\n")).toHaveLength(1)
        expect(deniedErrors[0]).toContain("Permission denied")
        expect(yield* storedAs(server.url, experimentName, "admin", ADMIN_PASSWORD)).toEqual([])
      }),
    300_000
  )
})
