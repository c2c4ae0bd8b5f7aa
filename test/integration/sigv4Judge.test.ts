import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type AwsCredentials, signing, type SigningScope } from "../../src/internal/client/sigv4.js"
import { python } from "./helpers.js"

const JUDGE = path.resolve(import.meta.dirname, "../support/judges/sigv4.py")

/** A client that answers `{}` to everything and keeps each request as it would have been sent. */
const capturing = () => {
  const sent: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) =>
    Effect.sync(() => {
      sent.push(request)
      return HttpClientResponse.fromWeb(request, new Response("{}"))
    })
  )
  return { sent, client }
}

const plain: AwsCredentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: Redacted.make("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
  sessionToken: undefined
}
const temporary: AwsCredentials = {
  accessKeyId: "ASIAEXAMPLETEMPORARY",
  secretAccessKey: Redacted.make("temporary/secret+key=="),
  sessionToken: Redacted.make("FwoGZXIvYXdzEBYaD/session+token//with=padding")
}

const ARN = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/my-server"

interface Case {
  readonly credentials: AwsCredentials
  readonly scope: SigningScope
  readonly extra?: Readonly<Record<string, string>>
  readonly request: HttpClientRequest.HttpClientRequest
}

const json = (value: unknown) => HttpClientRequest.bodyText(JSON.stringify(value), "application/json")
const sagemaker: SigningScope = { region: "eu-west-1", service: "sagemaker-mlflow" }
const gateway: SigningScope = { region: "us-east-1", service: "execute-api" }
const host = "https://eu-west-1.experiments.sagemaker.aws"

const cases: ReadonlyArray<Case> = [
  {
    credentials: plain,
    scope: sagemaker,
    extra: { "x-mlflow-sm-tracking-server-arn": ARN },
    request: HttpClientRequest.get(`${host}/api/2.0/mlflow/experiments/get-by-name`).pipe(
      HttpClientRequest.setUrlParams({ experiment_name: "my experiment/with ünïcode+plus & (parens)*!'~" }),
      HttpClientRequest.setHeader("User-Agent", "effect-mlflow/0.1.0")
    )
  },
  {
    credentials: temporary,
    scope: sagemaker,
    extra: { "x-mlflow-sm-tracking-server-arn": ARN },
    request: HttpClientRequest.post(`${host}/api/3.0/mlflow/traces`).pipe(
      json({ trace: { trace_info: { trace_id: "tr-0123", request_preview: "{\"q\": \"héllo\"}" } } }),
      HttpClientRequest.setHeader("X-MLFLOW-WORKSPACE", "  team   a  ")
    )
  },
  {
    credentials: plain,
    scope: gateway,
    request: HttpClientRequest.post("https://abc123.execute-api.us-east-1.amazonaws.com/prod/v1/traces").pipe(
      HttpClientRequest.bodyUint8Array(new Uint8Array([0, 1, 2, 250, 251, 255, 10, 13]), "application/x-protobuf"),
      HttpClientRequest.setHeader("x-mlflow-experiment-id", "42")
    )
  },
  {
    credentials: temporary,
    scope: gateway,
    request: HttpClientRequest.get("https://mlflow.internal:8443/api/3.0/mlflow/traces/get?trace_id=tr-1").pipe(
      HttpClientRequest.setUrlParams({ b: "2", a: "z", allow_partial: "true" }),
      HttpClientRequest.appendUrlParam("a", "y")
    )
  },
  {
    credentials: plain,
    scope: { region: "us-gov-west-1", service: "sagemaker" },
    extra: { "x-sm-mlflow-app-arn": "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:mlflow-app/app-1" },
    request: HttpClientRequest.del(
      "https://mlflow.sagemaker.us-gov-west-1.app.aws/api/2.0/mlflow-artifacts/artifacts/a b/ü%.json"
    )
  },
  {
    credentials: plain,
    scope: gateway,
    request: HttpClientRequest.patch("https://abc123.execute-api.us-east-1.amazonaws.com/").pipe(
      json({}),
      HttpClientRequest.setHeaders({ traceparent: "00-0123-01", "x-amzn-trace-id": "Root=1", "X-Custom": "a\tb" })
    )
  }
]

const bytesOf = (request: HttpClientRequest.HttpClientRequest): Uint8Array =>
  request.body._tag === "Uint8Array" ? request.body.body : new Uint8Array()

describe("SigV4 signatures, judged by botocore's SigV4Auth", () => {
  it.effect("equal botocore's for a spread of requests, credentials and scopes", () =>
    Effect.gen(function*() {
      const results = []
      for (const item of cases) {
        const { client, sent } = capturing()
        // as the MLflow client sends: no trace propagation headers
        const signed = HttpClient.withTracerPropagation(
          signing(item.credentials, item.scope, item.extra)(client),
          false
        )
        yield* signed.execute(item.request).pipe(Effect.scoped)
        const [request] = sent
        results.push({ item, request })
      }
      const judged = results.map(({ item, request }) => {
        const { authorization, "x-amz-date": date, "x-amz-security-token": token, ...headers } = request.headers
        // what was signed is what is sent: no query parameters left to be encoded on the way
        assert.strictEqual(request.urlParams.length, 0)
        assert.strictEqual(token, item.credentials.sessionToken && Redacted.value(item.credentials.sessionToken))
        assert.strictEqual(headers["x-amz-content-sha256"], createHash("sha256").update(bytesOf(request)).digest("hex"))
        return {
          ours: authorization,
          input: {
            method: request.method,
            url: request.url,
            headers,
            body: Buffer.from(bytesOf(request)).toString("base64"),
            date,
            accessKeyId: item.credentials.accessKeyId,
            secretAccessKey: Redacted.value(item.credentials.secretAccessKey),
            sessionToken: item.credentials.sessionToken && Redacted.value(item.credentials.sessionToken),
            region: item.scope.region,
            service: item.scope.service
          }
        }
      })
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-sigv4-"))
      const file = path.join(dir, "cases.json")
      fs.writeFileSync(file, JSON.stringify(judged.map(({ input }) => input)))
      const verdicts: Array<string> = yield* python(`exec(open(${JSON.stringify(JUDGE)}, encoding="utf-8").read())`, {
        CASES: file
      })
      assert.strictEqual(verdicts.length, cases.length)
      judged.forEach(({ input, ours }, i) => assert.strictEqual(ours, verdicts[i], `${input.method} ${input.url}`))
      // the extra headers are signed, the ones botocore leaves out are not
      assert.include(judged[0].ours, "x-mlflow-sm-tracking-server-arn")
      assert.notInclude(judged[5].ours, "traceparent")
      assert.notInclude(judged[0].ours, "user-agent")
    }))
})
