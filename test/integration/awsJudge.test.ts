import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type AwsSources, resolveCredentials, resolveRegion } from "../../src/internal/config/aws.js"
import { python } from "./helpers.js"

const JUDGE = path.resolve(import.meta.dirname, "../support/judges/awsCredentials.py")

const credentialsFile = `
# a comment
[default]
aws_access_key_id = AKIDFILEDEFAULT
aws_secret_access_key = secret/file+default
; another comment

[work]
aws_access_key_id=AKIDWORK
aws_secret_access_key   =   secret-work
aws_session_token = token-work
[legacy]
aws_access_key_id = AKIDLEGACY
aws_secret_access_key = secret-legacy
aws_security_token = token-legacy
`

const configFile = `
[default]
region = eu-central-1
s3 =
  max_concurrent_requests = 20
[profile work]
region = us-west-2
[profile only-config]
aws_access_key_id = AKIDCONFIG
aws_secret_access_key = secret-config
region = ap-south-1
[profile work-no-keys]
region = sa-east-1
`

/** Cases botocore answers without the network: environment and files. */
const cases: ReadonlyArray<Omit<AwsSources, "env"> & { readonly env: Record<string, string> }> = [
  { env: { AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: "secret-env" }, credentialsFile, configFile },
  {
    env: { AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: "secret-env", AWS_SESSION_TOKEN: "token-env" },
    credentialsFile: undefined,
    configFile: undefined
  },
  {
    env: { AWS_ACCESS_KEY_ID: "AKIDENV", AWS_SECRET_ACCESS_KEY: "secret-env", AWS_SECURITY_TOKEN: "token-old" },
    credentialsFile: undefined,
    configFile: undefined
  },
  { env: {}, credentialsFile, configFile },
  { env: { AWS_PROFILE: "work" }, credentialsFile, configFile },
  { env: { AWS_PROFILE: "legacy" }, credentialsFile, configFile },
  { env: { AWS_PROFILE: "only-config" }, credentialsFile, configFile },
  { env: { AWS_DEFAULT_PROFILE: "work" }, credentialsFile, configFile },
  { env: { AWS_PROFILE: "work", AWS_DEFAULT_REGION: "eu-north-1" }, credentialsFile, configFile },
  { env: { AWS_PROFILE: "work-no-keys" }, credentialsFile: undefined, configFile },
  { env: { AWS_ACCESS_KEY_ID: "AKIDENV" }, credentialsFile: undefined, configFile: undefined },
  { env: {}, credentialsFile: undefined, configFile: undefined },
  { env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" }, credentialsFile, configFile }
]

describe("AWS credentials and region, judged by botocore", () => {
  it.effect("resolve as botocore resolves them, for the environment and the shared files", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-aws-"))
      const file = path.join(dir, "cases.json")
      fs.writeFileSync(file, JSON.stringify(cases))
      const verdicts: Array<
        { credentials: [string, string, string | null] | "partial" | null; region: string | null }
      > = yield* python(`exec(open(${JSON.stringify(JUDGE)}, encoding="utf-8").read())`, { CASES: file })
      assert.strictEqual(verdicts.length, cases.length)
      cases.forEach((sources, i) => {
        const ours = resolveCredentials(sources)
        const label = JSON.stringify(sources.env)
        assert.deepStrictEqual(
          ours._tag === "Found"
            ? [ours.value.accessKeyId, ours.value.secretAccessKey, ours.value.sessionToken ?? null]
            : ours.detail.startsWith("partial")
            ? "partial"
            : null,
          verdicts[i].credentials,
          label
        )
        assert.strictEqual(resolveRegion(sources) ?? null, verdicts[i].region, label)
      })
    }))
})
