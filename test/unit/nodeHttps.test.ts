import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Scheduler } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { MlflowClient, MlflowConfig } from "../../src/index.js"

/** A key and a certificate of their own making, for 127.0.0.1. */
const makeCertificate = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-selfsigned-"))
  const [key, cert] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")]
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1"
  ], { stdio: "ignore" })
  return { dir, key: fs.readFileSync(key, "utf8"), cert: fs.readFileSync(cert, "utf8") }
}

/**
 * A TLS server with a certificate of its own making: every client that checks certificates refuses
 * it. It asks for a client certificate, and records whether each connection presented one.
 */
const selfSigned = Effect.acquireRelease(
  Effect.promise(async () => {
    const { cert, key } = makeCertificate()
    const clientCertificates: Array<boolean> = []
    const server = https.createServer({ key, cert, requestCert: true, rejectUnauthorized: false }, (_, res) => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end("{}")
    })
    server.on("secureConnection", (socket) => {
      clientCertificates.push(Object.keys(socket.getPeerCertificate()).length > 0)
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return { server, cert, clientCertificates, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` }
  }),
  ({ server }) =>
    Effect.promise(() =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    )
)

const tlsClient = (settings: { readonly ca?: string; readonly rejectUnauthorized: boolean }) =>
  Layer.build(MlflowClient.httpClientLayer({ ca: settings.ca, clientCert: undefined, ...settings })).pipe(
    Effect.map((context) => context.unsafeMap.get(HttpClient.HttpClient.key) as HttpClient.HttpClient)
  )

describe("the node:https transport (TLS settings)", () => {
  // A busy runtime starts forked fibers late. @effect/platform-node's client listened for the request's
  // error in fibers of its own, so a certificate refused before they ran (a loopback handshake takes a
  // few milliseconds) went unheard: the request hung until a timeout. Here every fiber starts 50 ms late.
  it.scoped("answers a refused certificate at once, however late the runtime runs its fibers", () =>
    Effect.gen(function*() {
      const { url } = yield* selfSigned
      const client = yield* tlsClient({ rejectUnauthorized: true })
      const outcomes = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => i),
        () =>
          client.get(`${url}/health`).pipe(
            Effect.scoped,
            Effect.either,
            Effect.timeoutTo({ duration: "3 seconds", onSuccess: (r) => r, onTimeout: () => "hung" as const })
          ),
        { concurrency: 5 }
      ).pipe(Effect.withScheduler(Scheduler.timer(50)))
      for (const outcome of outcomes) {
        assert.notStrictEqual(outcome, "hung")
        assert.isTrue(Either.isLeft(outcome as Either.Either<unknown, unknown>))
      }
    }).pipe(Effect.timeout("20 seconds")))

  it.scoped("reads answers through the insecure flag, and with the server's own certificate as the CA", () =>
    Effect.gen(function*() {
      const { cert, url } = yield* selfSigned
      for (const settings of [{ rejectUnauthorized: false }, { ca: cert, rejectUnauthorized: true }]) {
        const client = yield* tlsClient(settings)
        const answer = yield* client.get(`${url}/health`).pipe(
          Effect.flatMap((response) => response.json),
          Effect.scoped
        )
        assert.deepStrictEqual(answer, {})
      }
    }).pipe(Effect.withScheduler(Scheduler.timer(50))))

  // as MLflow's client: the TLS variables are the tracking server's; cloud storage and identity
  // providers its answers point at are checked as any host is, and never see the client certificate
  it.scoped("the insecure flag and the client certificate apply to the tracking server's origin only", () =>
    Effect.gen(function*() {
      const tracking = yield* selfSigned
      const storage = yield* selfSigned
      const client = makeCertificate()
      const clientCertPath = path.join(client.dir, "client.pem")
      fs.writeFileSync(clientCertPath, `${client.cert}\n${client.key}`)
      const config = yield* MlflowConfig.make({ trackingUri: tracking.url, insecureTls: true, clientCertPath })
      const destination = config.destination as Extract<MlflowConfig.Destination, { readonly _tag: "Server" }>
      const mlflow = yield* MlflowClient.fromConfig(config, destination)
      assert.deepStrictEqual(yield* mlflow.request("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0"), {})
      assert.deepStrictEqual(tracking.clientCertificates, [true])
      const outcome = yield* Effect.either(mlflow.request("GET", `${storage.url}/bucket/file`, { anonymous: true }))
      assert.isTrue(Either.isLeft(outcome), "the other host's self-signed certificate was taken")
      assert.strictEqual((outcome as Either.Left<MlflowClient.MlflowError, unknown>).left.reason, "Certificate")
      assert.notInclude(storage.clientCertificates, true)
    }))
})
