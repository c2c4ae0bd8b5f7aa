import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseAllDocuments } from "yaml"
import { MlflowConfig } from "../../src/index.js"

const root = path.resolve(import.meta.dirname, "../..")
const dockerfile = fs.readFileSync(path.join(root, "deploy/Dockerfile"), "utf8")
const manifests = parseAllDocuments(fs.readFileSync(path.join(root, "deploy/kubernetes/chat-service.yaml"), "utf8"))
  .map((document) => {
    assert.deepStrictEqual(document.errors, [])
    return document.toJS() as any
  })
const byKind = (kind: string) => manifests.filter((manifest) => manifest.kind === kind)
const [configMap] = byKind("ConfigMap")
const [secret] = byKind("Secret")
const [deployment] = byKind("Deployment")
const container = deployment.spec.template.spec.containers[0]

/** Names of variables that hold secrets: never in a ConfigMap or an image. */
const SECRET_VARIABLES = /PASSWORD|TOKEN|SECRET|_HEADERS$/

/** Every variable the library reads, as named in its sources. */
const libraryVariables = new Set(
  ["src/internal/config/settings.ts", "src/internal/config/otlp.ts"].flatMap((file) =>
    [
      ...fs.readFileSync(path.join(root, file), "utf8").matchAll(
        /"((?:MLFLOW|EFFECT_MLFLOW|OTEL|AWS|SAGEMAKER)_[A-Z0-9_]+)"/g
      )
    ]
      .map((match) => match[1])
  )
)
const APP_VARIABLES = new Set(["APP_ENV", "APP_VERSION", "PORT"])

describe("the deployment files", () => {
  it("name only variables the library (or the example service) reads, and no secret outside the Secret", () => {
    for (const name of Object.keys(configMap.data)) {
      assert.isTrue(libraryVariables.has(name) || APP_VARIABLES.has(name), `${name} is read by nothing`)
      assert.notMatch(name, SECRET_VARIABLES, `${name} belongs in the Secret`)
    }
    for (const name of Object.keys(secret.stringData)) assert.isTrue(libraryVariables.has(name), name)
    for (const match of dockerfile.matchAll(/^ENV\s+([A-Z_]+)=/gm)) assert.notMatch(match[1], SECRET_VARIABLES)
  })

  it.effect("configure the layer as the pod would: valid, with the spool on the mounted volume", () =>
    Effect.gen(function*() {
      // the CA file is the cluster's (a mounted ConfigMap): a throw-away PEM stands in for it
      const ca = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-deploy-")), "ca.pem")
      fs.writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
      const env = { ...configMap.data, ...secret.stringData, MLFLOW_TRACKING_SERVER_CERT_PATH: ca }
      const options = yield* MlflowConfig.fromEnv.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
      )
      const config = yield* MlflowConfig.make(options)
      assert.strictEqual(config.destination._tag, "Server")
      assert.strictEqual(config.username, "chat-service")
      assert.strictEqual(config.queueCapacity, 2000)
      const mounts = new Map(container.volumeMounts.map((mount: any) => [mount.name, mount]))
      assert.strictEqual(config.spoolDirectory, (mounts.get("spool") as any).mountPath)
      assert.strictEqual(
        path.dirname(configMap.data.MLFLOW_TRACKING_SERVER_CERT_PATH),
        (mounts.get("mlflow-ca") as any).mountPath
      )
      // the image sets the same spool directory, and makes it writable for its user
      assert.include(dockerfile, `ENV EFFECT_MLFLOW_SPOOL_DIR=${config.spoolDirectory}`)
      // the pod outlives the layer's shutdown, so the queue drains or is spooled before SIGKILL
      assert.isAbove(
        deployment.spec.template.spec.terminationGracePeriodSeconds * 1000,
        Duration.toMillis(config.shutdownTimeout)
      )
    }))

  it("run node as PID 1 in exec form (it gets SIGTERM), as a user that is not root, from a file system it cannot write", () => {
    assert.match(dockerfile, /^CMD \["node", "[^"]+"\]$/m)
    assert.match(dockerfile, /^USER node$/m)
    assert.match(dockerfile, /^FROM node:20/m)
    assert.isTrue(container.securityContext.readOnlyRootFilesystem)
    assert.isTrue(deployment.spec.template.spec.securityContext.runAsNonRoot)
    const refs = container.envFrom.map((from: any) => from.configMapRef?.name ?? from.secretRef?.name)
    assert.deepStrictEqual(refs, [configMap.metadata.name, secret.metadata.name])
    const claim = deployment.spec.template.spec.volumes.find((volume: any) => volume.name === "spool")
    assert.strictEqual(claim.persistentVolumeClaim.claimName, byKind("PersistentVolumeClaim")[0].metadata.name)
  })
})
