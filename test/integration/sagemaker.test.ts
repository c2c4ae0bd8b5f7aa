import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import { echoedForms } from "../support/echoedForms.js"
import { scopedProxy, type Seen } from "../support/proxy.js"
import { mlflowUrl, python, storedNames, traceWithEnv, uniqueName } from "./helpers.js"

const JUDGE = path.resolve(import.meta.dirname, "../support/judges/sigv4.py")
const ARN = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/effect-mlflow-test"
const KEY_ID = "AKIDSAGEMAKERTEST"
const SECRET = "sagemaker/PLANTED+secret"

/** What a SigV4 check at the edge of the managed service refuses at once (the signature is botocore's to judge). */
const refusal = (request: Seen, service: string, region: string, arn: string | undefined): string | undefined => {
  const authorization = String(request.headers.authorization ?? "")
  const scope =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/
      .exec(authorization)
  if (scope === null) return `no SigV4 authorization: ${authorization}`
  const [, keyId, day, signedRegion, signedService, signed] = scope
  if (keyId !== KEY_ID || signedRegion !== region || signedService !== service) return `wrong scope: ${authorization}`
  const date = String(request.headers["x-amz-date"] ?? "")
  if (!date.startsWith(day)) return "x-amz-date disagrees with the scope"
  const at = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"))
  if (!(Math.abs(Date.now() - at) < 5 * 60_000)) return `x-amz-date ${date} is not now`
  if (request.headers["x-amz-content-sha256"] !== createHash("sha256").update(request.body).digest("hex")) {
    return "x-amz-content-sha256 is not the body's"
  }
  const names = signed.split(";")
  for (const name of ["host", "x-amz-date", "x-amz-content-sha256"]) {
    if (!names.includes(name)) return `${name} not signed`
  }
  if (
    arn !== undefined &&
    (request.headers["x-mlflow-sm-tracking-server-arn"] !== arn || !names.includes("x-mlflow-sm-tracking-server-arn"))
  ) {
    return "the server ARN header is missing or not signed"
  }
  return undefined
}

/** A loopback stand-in for the managed service: checks every request, forwards it to a real MLflow server. */
const standIn = (service: string, region: string, arn: string | undefined) => {
  const refused: Array<string> = []
  return Effect.map(
    scopedProxy(mlflowUrl(), (request) => {
      const why = refusal(request, service, region, arn)
      if (why === undefined) return undefined
      refused.push(`${request.method} ${request.url}: ${why}`)
      return { status: 403, contentType: "application/json", body: JSON.stringify({ message: why }) }
    }),
    (proxy) => ({ ...proxy, refused })
  )
}

/** botocore signs each recorded request again, with the headers it named as signed: the same Authorization? */
const judgeRecorded = (url: string, requests: ReadonlyArray<Seen>, service: string, region: string) =>
  Effect.gen(function*() {
    const cases = requests.map((request) => {
      const signed = /SignedHeaders=([^,]+)/.exec(String(request.headers.authorization))![1].split(";")
      const headers = Object.fromEntries(
        signed.filter((name) => !["host", "x-amz-date", "x-amz-security-token"].includes(name)).map((
          name
        ) => [name, String(request.headers[name])])
      )
      return {
        ours: String(request.headers.authorization),
        input: {
          method: request.method,
          url: `${url}${request.url}`,
          headers,
          body: request.body.toString("base64"),
          date: String(request.headers["x-amz-date"]),
          accessKeyId: KEY_ID,
          secretAccessKey: SECRET,
          sessionToken: request.headers["x-amz-security-token"] ?? null,
          region,
          service
        }
      }
    })
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-sagemaker-"))
    fs.writeFileSync(path.join(dir, "cases.json"), JSON.stringify(cases.map(({ input }) => input)))
    const verdicts: Array<string> = yield* python(`exec(open(${JSON.stringify(JUDGE)}, encoding="utf-8").read())`, {
      CASES: path.join(dir, "cases.json")
    })
    cases.forEach(({ input, ours }, i) => expect(ours, `${input.method} ${input.url}`).toBe(verdicts[i]))
  })

const askAnswer = Effect.forEach(
  ["ask", "answer"],
  (name) => Effect.void.pipe(Mlflow.span(name, { inputs: { q: "x y+z" } })),
  { discard: true }
)

/** Two traces through the layer configured from these variables alone. */
const traceTwo = (env: Readonly<Record<string, string>>) =>
  Effect.map(traceWithEnv(env, askAnswer), ({ logs, stats }) => ({ stats, lines: logs }))

describe("AWS-signed servers (a loopback stand-in that checks every request, in front of a real MLflow server)", () => {
  it.scopedLive(
    "SageMaker: the ARN as MLFLOW_TRACKING_URI, credentials from a profile in the shared file",
    () =>
      Effect.gen(function*() {
        const edge = yield* standIn("sagemaker-mlflow", "eu-west-1", ARN)
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-aws-files-"))
        fs.writeFileSync(
          path.join(dir, "credentials"),
          `[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n[tracing]\n` +
            `aws_access_key_id = ${KEY_ID}\naws_secret_access_key = ${SECRET}\naws_session_token = session/PLANTED+token\n`
        )
        const experimentName = uniqueName("sagemaker")
        const { lines, stats } = yield* traceTwo({
          MLFLOW_TRACKING_URI: ARN,
          MLFLOW_EXPERIMENT_NAME: experimentName,
          SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT: edge.url,
          AWS_PROFILE: "tracing",
          AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "credentials"),
          AWS_CONFIG_FILE: path.join(dir, "no-config")
        })
        expect(edge.refused, lines.join("\n")).toEqual([])
        expect(stats.exported).toBe(2)
        expect(yield* storedNames(mlflowUrl(), experimentName)).toEqual(["answer", "ask"])
        // experiment lookup (a query string), the spans (protobuf), the trace info (JSON)
        expect(edge.count("GET /api/2.0/mlflow/experiments/get-by-name")).toBeGreaterThan(0)
        expect(edge.count("POST /v1/traces")).toBeGreaterThan(0)
        expect(edge.requests.every((request) => request.headers["x-amz-security-token"] === "session/PLANTED+token"))
          .toBe(true)
        yield* judgeRecorded(edge.url, edge.requests, "sagemaker-mlflow", "eu-west-1")
        expect(lines.join("\n")).not.toContain(SECRET)
      }),
    180_000
  )

  it.scopedLive(
    "MLFLOW_TRACKING_AWS_SIGV4=true: an API Gateway in front of a server, credentials from the environment",
    () =>
      Effect.gen(function*() {
        const edge = yield* standIn("execute-api", "ap-southeast-2", undefined)
        const experimentName = uniqueName("sigv4")
        const { lines, stats } = yield* traceTwo({
          MLFLOW_TRACKING_URI: edge.url,
          MLFLOW_EXPERIMENT_NAME: experimentName,
          MLFLOW_TRACKING_AWS_SIGV4: "true",
          AWS_ACCESS_KEY_ID: KEY_ID,
          AWS_SECRET_ACCESS_KEY: SECRET,
          AWS_DEFAULT_REGION: "ap-southeast-2",
          AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
          AWS_CONFIG_FILE: "/nonexistent/config"
        })
        expect(edge.refused, lines.join("\n")).toEqual([])
        expect(stats.exported).toBe(2)
        expect(yield* storedNames(mlflowUrl(), experimentName)).toEqual(["answer", "ask"])
        yield* judgeRecorded(edge.url, edge.requests, "execute-api", "ap-southeast-2")
      }),
    180_000
  )

  it.scopedLive(
    "a server that echoes the session token and the secret key into its error: scrubbed from every message, in every form",
    () =>
      Effect.gen(function*() {
        // decoded from JSON by the client: the forms that survive decoding
        const forms = (secret: string) => echoedForms(secret).slice(0, 3).join(" ")
        const echo = yield* scopedProxy(mlflowUrl(), (request) => ({
          status: 403,
          contentType: "application/json",
          body: JSON.stringify({
            message: `denied for token ${forms(String(request.headers["x-amz-security-token"]))}; ` +
              `your key is ${forms(SECRET)}`
          })
        }))
        const { lines, stats } = yield* traceTwo({
          MLFLOW_TRACKING_URI: echo.url,
          MLFLOW_EXPERIMENT_NAME: uniqueName("sigv4-echo"),
          MLFLOW_TRACKING_AWS_SIGV4: "true",
          AWS_ACCESS_KEY_ID: KEY_ID,
          AWS_SECRET_ACCESS_KEY: SECRET,
          AWS_SESSION_TOKEN: "session/PLANTED+token",
          AWS_REGION: "eu-west-1",
          AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
          AWS_CONFIG_FILE: "/nonexistent/config"
        })
        expect(stats.failed).toBe(2)
        const text = lines.join("\n")
        expect(text).toContain("denied for token <redacted>")
        expect(text).not.toContain("PLANTED")
      }),
    180_000
  )

  it.effect("settings that cannot sign are a typed error before anything is sent", () =>
    Effect.gen(function*() {
      const fails = (env: Readonly<Record<string, string>>) =>
        MlflowTracing.layerConfig().pipe(
          (layer) => Effect.scoped(Effect.flip(Effect.asVoid(Effect.provide(Effect.void, layer)))),
          Effect.withConfigProvider(ConfigProvider.fromMap(
            new Map(Object.entries({
              AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
              AWS_CONFIG_FILE: "/nonexistent/config",
              ...env
            }))
          ))
        )
      const noCredentials = yield* fails({ MLFLOW_TRACKING_URI: ARN })
      expect(noCredentials.message).toContain("no AWS credentials")
      const noRegion = yield* fails({
        MLFLOW_TRACKING_URI: "http://127.0.0.1:1",
        MLFLOW_TRACKING_AWS_SIGV4: "true",
        AWS_ACCESS_KEY_ID: KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET
      })
      expect(noRegion.message).toContain("no AWS region")
      expect(noRegion.message).not.toContain(SECRET)
      const badArn = yield* fails({ MLFLOW_TRACKING_URI: "arn:aws:s3:::bucket" })
      expect(badArn.message).toContain("is not the ARN of a SageMaker MLflow tracking server")
      const partial = yield* fails({ MLFLOW_TRACKING_URI: ARN, AWS_ACCESS_KEY_ID: KEY_ID })
      expect(partial.message).toContain("partial AWS credentials")
    }))
})
