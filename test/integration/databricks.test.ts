import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import { Mlflow, MlflowClient, MlflowConfig, MlflowTracing } from "../../src/index.js"
import { type RunningWorkspace, startWorkspace, type WorkspaceOptions } from "../support/databricksWorkspace.js"
import { mlflowUrl, python, traceWithEnv, uniqueName } from "./helpers.js"

const PAT = "dapi-PLANTED-workspace-token"

/** A stand-in workspace in front of the suite's MLflow server, stopped with the scope. */
const workspaceOf = (options: WorkspaceOptions) =>
  Effect.acquireRelease(
    Effect.promise(() => startWorkspace({ upstream: mlflowUrl(), pats: [PAT], ...options })),
    (running) => Effect.promise(running.stop)
  )

/** A trace per name: a CHAIN root over a RETRIEVER child. */
const traceEach = (names: ReadonlyArray<string>) =>
  Effect.forEach(
    names,
    (name) =>
      Effect.succeed(["doc"]).pipe(
        Mlflow.span("retrieve", { spanType: "RETRIEVER", inputs: { query: name } }),
        Effect.as(`answer ${name}`),
        Mlflow.span(name, { spanType: "CHAIN", inputs: { question: name } })
      ),
    { discard: true }
  )

/** Name and span count of every trace of the experiment, read back with MLflow's Python client. */
const storedTraces = (experimentName: string): Effect.Effect<Array<[string, number]>> =>
  python(
    `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
traces = mlflow.search_traces(locations=[exp.experiment_id], return_type="list") if exp else []
print(json.dumps(sorted([t.info.tags.get("mlflow.traceName"), len(t.data.spans)] for t in traces)))
`,
    { MLFLOW_TRACKING_URI: mlflowUrl() }
  )

const experiment = () => `/Users/alice@example.com/${uniqueName("databricks")}`

const envFor = (workspace: RunningWorkspace, experimentName: string, auth: Readonly<Record<string, string>>) => ({
  MLFLOW_TRACKING_URI: "databricks",
  DATABRICKS_HOST: workspace.url,
  MLFLOW_EXPERIMENT_NAME: experimentName,
  ...auth
})

const CREDENTIAL_TYPES = ["AWS_PRESIGNED_URL", "GCP_SIGNED_URL", "AZURE_SAS_URI", "AZURE_ADLS_GEN2_SAS_URI"] as const

const storageRequests = (workspace: RunningWorkspace) =>
  workspace.requests.filter((request) => request.path.startsWith("/storage/"))

describe("Databricks workspaces (a loopback stand-in in front of a real MLflow server)", () => {
  it.scopedLive(
    "traces go as StartTraceV3 and traces.json in the workspace's storage, for each kind of storage",
    () =>
      Effect.gen(function*() {
        for (
          const credentialType of [
            "AWS_PRESIGNED_URL",
            "GCP_SIGNED_URL",
            "AZURE_SAS_URI",
            "AZURE_ADLS_GEN2_SAS_URI"
          ] as const
        ) {
          const workspace = yield* workspaceOf({
            credentialType,
            workspaceId: "1234567890",
            credentialHeaders: credentialType.startsWith("AZURE")
              ? { "x-ms-version": "2023-11-03", "x-ms-meta-owner": "effect-mlflow", "x-ms-encryption-scope": "scope1" }
              : { "x-amz-server-side-encryption": "aws:kms" }
          })
          const experimentName = experiment()
          const names = ["first", "second", "third"]
          const { logs, stats } = yield* traceWithEnv(
            envFor(workspace, experimentName, { DATABRICKS_TOKEN: PAT }),
            traceEach(names)
          )
          const label = `${credentialType}\n${logs.join("\n")}\n${workspace.problems.join("\n")}`
          expect(stats.exported, label).toBe(3)
          expect(stats.failed, label).toBe(0)
          expect(workspace.problems, label).toEqual([])
          expect(yield* storedTraces(experimentName), label).toEqual(names.map((name) => [name, 2]).sort())
          // the REST API got the workspace's token and id; storage got neither (checked by the stand-in)
          const api = workspace.requests.filter((request) => request.path.startsWith("/api/"))
          expect(api.every((request) => request.headers.authorization === `Bearer ${PAT}`)).toBe(true)
          expect(api.every((request) => request.headers["x-databricks-org-id"] === "1234567890")).toBe(true)
          expect(api.filter((request) => request.path === "/api/3.0/mlflow/traces")).toHaveLength(3)
          const storage = storageRequests(workspace)
          if (credentialType === "AZURE_SAS_URI") {
            // each operation takes the credential's headers it accepts, as MLflow's client sends them
            const [block, list] = [
              storage.find((r) => r.query.comp === "block")!,
              storage.find((r) => r.query.comp === "blocklist")!
            ]
            expect(block.headers["x-ms-version"]).toBe("2023-11-03")
            expect(block.headers["x-ms-encryption-scope"]).toBe("scope1")
            expect(block.headers["x-ms-meta-owner"]).toBeUndefined()
            expect(list.headers["x-ms-meta-owner"]).toBe("effect-mlflow")
            expect(storage).toHaveLength(6)
          } else if (credentialType === "AZURE_ADLS_GEN2_SAS_URI") {
            // each file: created, then one append that flushes (the traces go concurrently)
            const operations = new Map<string, Array<string>>()
            for (const r of storage) {
              const done = operations.get(r.path) ?? []
              done.push(`${r.method} ${r.query.resource ?? r.query.action}${r.query.flush ? "+flush" : ""}`)
              operations.set(r.path, done)
            }
            expect([...operations.values()]).toEqual(Array(3).fill(["PUT file", "PATCH append+flush"]))
          } else {
            expect(storage.map((r) => r.method)).toEqual(["PUT", "PUT", "PUT"])
            expect(storage.every((r) => r.headers["x-amz-server-side-encryption"] === "aws:kms")).toBe(true)
          }
        }
      }),
    300_000
  )

  it.scopedLive(
    "traces read back through the workspace: search, then the data through a signed URL",
    () =>
      Effect.gen(function*() {
        const workspace = yield* workspaceOf({ credentialType: "GCP_SIGNED_URL" })
        const experimentName = experiment()
        const env = envFor(workspace, experimentName, { DATABRICKS_TOKEN: PAT })
        const { stats } = yield* traceWithEnv(env, traceEach(["read-me"]))
        expect(stats.exported).toBe(1)
        const config = yield* MlflowConfig.fromEnv.pipe(
          Effect.flatMap(MlflowConfig.make),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
        )
        const destination = config.destination as Extract<MlflowConfig.Destination, { readonly _tag: "Server" }>
        const client = yield* MlflowClient.fromConfig(config, destination)
        const experimentId = Option.getOrThrow(yield* client.getExperimentByName(experimentName)).experimentId
        const { traces } = yield* client.searchTraces({ experimentIds: [experimentId] })
        expect(traces.map((info) => info.tags["mlflow.artifactLocation"])).toEqual([
          `dbfs:/databricks/mlflow-tracking/${experimentId}/${traces[0].traceId}/artifacts`
        ])
        const trace = yield* client.getTrace(traces[0].traceId)
        expect(trace.spans.map((span) => span.name)).toEqual(["read-me", "retrieve"])
        expect(workspace.problems).toEqual([])
        const read = workspace.requests.filter((request) =>
          request.method === "GET" && request.path.startsWith("/storage/")
        )
        expect(read).toHaveLength(1)
        expect(read[0].headers.authorization).toBeUndefined()
      }),
    300_000
  )

  it.scopedLive(
    "a trace larger than one block goes in parts (Azure blocks, ADLS appends)",
    () =>
      Effect.gen(function*() {
        for (const credentialType of ["AZURE_SAS_URI", "AZURE_ADLS_GEN2_SAS_URI"] as const) {
          const workspace = yield* workspaceOf({ credentialType })
          const experimentName = experiment()
          // 12 spans of 1 MB outputs: about 12 MB of traces.json, two parts of 10 MiB at most
          const big = Effect.forEach(
            Array.from({ length: 12 }, (_, i) => i),
            (i) => Effect.succeed(`${i}`.padEnd(900_000, "x")).pipe(Mlflow.span(`part-${i}`)),
            { discard: true }
          ).pipe(Mlflow.span("big"))
          const { logs, stats } = yield* traceWithEnv(envFor(workspace, experimentName, { DATABRICKS_TOKEN: PAT }), big)
          expect(stats.exported, logs.join("\n")).toBe(1)
          expect(workspace.problems).toEqual([])
          const stored = [...workspace.stored.values()]
          expect(stored).toHaveLength(1)
          expect(stored[0].length).toBeGreaterThan(10 * 1024 * 1024)
          const parts = storageRequests(workspace).filter((r) =>
            r.query.comp === "block" || r.query.action === "append"
          )
          expect(parts).toHaveLength(2)
          if (credentialType === "AZURE_ADLS_GEN2_SAS_URI") {
            expect(storageRequests(workspace).at(-1)?.query).toMatchObject({
              action: "flush",
              position: String(stored[0].length)
            })
          }
          expect(yield* storedTraces(experimentName)).toEqual([["big", 13]])
        }
      }),
    300_000
  )

  it.scopedLive(
    "inline images become trace attachments in the workspace's storage, before traces.json",
    () =>
      Effect.gen(function*() {
        const workspace = yield* workspaceOf({ credentialType: "AZURE_SAS_URI" })
        const experimentName = experiment()
        const png = Buffer.from("89504e470d0a1a0a" + "00".repeat(64), "hex")
        const describe = Effect.succeed("a cat").pipe(
          Mlflow.span("describe", {
            spanType: "CHAT_MODEL",
            inputs: { image: `data:image/png;base64,${png.toString("base64")}` }
          })
        )
        const { logs, stats } = yield* traceWithEnv(
          envFor(workspace, experimentName, { DATABRICKS_TOKEN: PAT }),
          describe
        )
        expect(stats.exported, logs.join("\n")).toBe(1)
        expect(workspace.problems).toEqual([])
        const files = [...workspace.stored.keys()].map((key) => key.split("/").slice(1).join("/"))
        expect(files).toHaveLength(2)
        expect(files[1]).toBe("traces.json")
        const attachment = [...workspace.stored.entries()].find(([key]) => key.includes("/attachments/"))!
        expect(attachment[1].equals(png)).toBe(true)
        const attachmentId = attachment[0].split("/attachments/")[1]
        const traceJson = workspace.stored.get(attachment[0].replace(/attachments\/.*$/, "traces.json"))!.toString()
        expect(traceJson).toContain(`mlflow-attachment://${attachmentId}?content_type=image%2Fpng`)
        expect(traceJson).not.toContain(png.toString("base64"))
        expect(yield* storedTraces(experimentName)).toEqual([["describe", 1]])
      }),
    300_000
  )

  it.scopedLive(
    "OAuth machine-to-machine: a token from the workspace's OIDC endpoints, asked again when it expires",
    () =>
      Effect.gen(function*() {
        // a token lives 61 s and is asked again a minute before it expires: each is used for 1 s
        const workspace = yield* workspaceOf({
          clients: { "sp-tracing": "sp-PLANTED-secret" },
          workspaceId: "5150",
          tokenLifetimeSeconds: 61
        })
        const experimentName = experiment()
        const twoRounds = Effect.gen(function*() {
          yield* traceEach(["early"])
          const tracing = yield* MlflowTracing.MlflowTracing
          yield* tracing.flush()
          yield* Effect.sleep("1500 millis")
          yield* traceEach(["late"])
        })
        const { logs, stats } = yield* traceWithEnv(
          envFor(workspace, experimentName, {
            DATABRICKS_CLIENT_ID: "sp-tracing",
            DATABRICKS_CLIENT_SECRET: "sp-PLANTED-secret"
          }),
          twoRounds
        )
        expect(stats.exported, logs.join("\n")).toBe(2)
        expect(workspace.problems).toEqual([])
        expect(workspace.issued.length).toBeGreaterThanOrEqual(2)
        const api = workspace.requests.filter((request) => request.path.startsWith("/api/"))
        // the org id came from the host's metadata
        expect(api.every((request) => request.headers["x-databricks-org-id"] === "5150")).toBe(true)
        expect(new Set(api.map((request) => request.headers.authorization)).size).toBeGreaterThanOrEqual(2)
        expect(yield* storedTraces(experimentName)).toEqual([["early", 2], ["late", 2]])
        expect(logs.join("\n")).not.toContain("sp-PLANTED-secret")
      }),
    300_000
  )

  it.scopedLive(
    "an identity provider and host metadata down for a moment: both asked again on retry",
    () =>
      Effect.gen(function*() {
        const workspace = yield* workspaceOf({
          clients: { "sp-tracing": "sp-secret" },
          workspaceId: "77",
          discoveryOutages: 1,
          metadataOutages: 1
        })
        const experimentName = experiment()
        const { logs, stats } = yield* traceWithEnv(
          envFor(workspace, experimentName, {
            DATABRICKS_CLIENT_ID: "sp-tracing",
            DATABRICKS_CLIENT_SECRET: "sp-secret"
          }),
          traceEach(["after-outage"])
        )
        expect(stats.exported, logs.join("\n")).toBe(1)
        expect(stats.retried).toBeGreaterThanOrEqual(1)
        expect(yield* storedTraces(experimentName)).toEqual([["after-outage", 2]])
        // the host's metadata, not there at first, was asked again: its org id went with the last requests
        const api = workspace.requests.filter((request) => request.path.startsWith("/api/"))
        expect(api.at(-1)?.headers["x-databricks-org-id"]).toBe("77")
      }),
    300_000
  )

  it.scopedLive(
    "refused credentials: one clear error per trace, no retry, nothing stored, no secret shown",
    () =>
      Effect.gen(function*() {
        const workspace = yield* workspaceOf({ clients: { "sp-tracing": "right-secret" } })
        for (
          const auth of [{ DATABRICKS_TOKEN: "dapi-PLANTED-wrong" }, {
            DATABRICKS_CLIENT_ID: "sp-tracing",
            DATABRICKS_CLIENT_SECRET: "wrong-PLANTED-secret"
          }]
        ) {
          const experimentName = experiment()
          const { logs, stats } = yield* traceWithEnv(
            { ...envFor(workspace, experimentName, auth), MLFLOW_ASYNC_TRACE_LOGGING_RETRY_TIMEOUT: "30" },
            traceEach(["refused"])
          )
          expect(stats.exported).toBe(0)
          expect(stats.failed, logs.join("\n")).toBe(1)
          expect(stats.retried).toBe(0)
          const text = logs.join("\n")
          expect(text).toMatch(/401/)
          expect(text).not.toContain("PLANTED")
          expect(yield* storedTraces(experimentName)).toEqual([])
        }
      }),
    300_000
  )

  it.scopedLive(
    "storage refusing an upload (403 echoing the signed URL): the logged line keeps the path, not the signature",
    () =>
      Effect.gen(function*() {
        for (const credentialType of CREDENTIAL_TYPES) {
          const workspace = yield* workspaceOf({ credentialType, refuseStorage: true })
          const { logs, stats } = yield* traceWithEnv(
            envFor(workspace, experiment(), { DATABRICKS_TOKEN: PAT }),
            traceEach(["refused-by-storage"])
          )
          const text = logs.join("\n")
          expect(stats.failed, `${credentialType}\n${text}`).toBe(1)
          expect(workspace.signedUris.length).toBeGreaterThan(0)
          // the line says which file of which trace storage refused
          expect(text, credentialType).toMatch(/\/storage\/tr-[0-9a-f]+\/traces\.json\?<redacted>/)
          expect(text, credentialType).toMatch(/403/)
          for (const uri of workspace.signedUris) {
            const query = new URL(uri).search.slice(1)
            expect(text, credentialType).not.toContain(query)
            for (const [name, value] of new URLSearchParams(query)) {
              if (/^(sig|X-(Amz|Goog)-(Signature|Credential)|X-Amz-Security-Token)$/i.test(name)) {
                for (const form of [value, encodeURIComponent(value)]) {
                  expect(text, `${credentialType} ${name}`).not.toContain(form)
                }
              }
            }
          }
          expect(text, credentialType).not.toContain("PLANTED")
        }
      }),
    300_000
  )

  it.scopedLive(
    "the stand-in speaks what MLflow's own client sends a workspace, for each kind of storage",
    () =>
      Effect.gen(function*() {
        for (const credentialType of CREDENTIAL_TYPES) {
          const workspace = yield* workspaceOf({ credentialType, workspaceId: "99" })
          const experimentName = experiment()
          yield* python(
            `
import json, mlflow
mlflow.set_experiment(${JSON.stringify(experimentName)})
@mlflow.trace(name="from-python", span_type="CHAIN")
def answer(question):
    with mlflow.start_span("retrieve", span_type="RETRIEVER"):
        return "42"
answer("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==")
mlflow.flush_trace_async_logging()
print(json.dumps("ok"))
`,
            { MLFLOW_TRACKING_URI: "databricks", DATABRICKS_HOST: workspace.url, DATABRICKS_TOKEN: PAT }
          )
          expect(workspace.problems, credentialType).toEqual([])
          expect(yield* storedTraces(experimentName), credentialType).toEqual([["from-python", 2]])
          const paths = workspace.requests.map((request) => `${request.method} ${request.path}`)
          expect(paths).toContain("POST /api/3.0/mlflow/traces")
          expect(paths.some((p) => /credentials-for-data-upload$/.test(p))).toBe(true)
          expect(storageRequests(workspace).length).toBeGreaterThan(0)
          // MLflow's client stores the image as an attachment through the same endpoint, as we do
          expect([...workspace.stored.keys()].some((key) => key.includes("/attachments/"))).toBe(true)
        }
      }),
    300_000
  )
})
