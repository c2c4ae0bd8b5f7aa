import { describe, expect, it } from "@effect/vitest"
import { basicSecrets, headerSecrets, makeScrubber, scrub, urlSecrets } from "../../src/internal/common/scrub.js"
import { echoedForms } from "../support/echoedForms.js"

const TOKEN = "tok-PLANTED/9+x=="
const PASSWORD = "p@ss w/rd&<PLANTED>"

describe("the scrubber", () => {
  it("removes a configured header's whole value and the credential inside it, in every echoed form", () => {
    const secrets = headerSecrets(`Bearer ${TOKEN}`)
    for (const form of echoedForms(TOKEN)) {
      for (const text of [`invalid token ${form}`, `{"message":"bad token: ${form}"}`, `token=${form}&x=1`]) {
        const out = scrub(text, secrets)
        expect(out, text).not.toContain("PLANTED")
        expect(out, text).toContain("<redacted>")
      }
    }
    expect(scrub(`header was "Bearer ${TOKEN}"`, secrets)).toBe(`header was "<redacted>"`)
  })

  it("removes Basic credentials: the base64, the user:password it decodes to, and the password alone", () => {
    const base64 = Buffer.from(`alice:${PASSWORD}`).toString("base64")
    const fromHeader = headerSecrets(`Basic ${base64}`)
    const fromSettings = basicSecrets("alice", PASSWORD)
    for (const secrets of [fromHeader, fromSettings]) {
      for (
        const text of [
          `Authorization: Basic ${base64}`,
          `got ${base64}`,
          ...echoedForms(PASSWORD).map((f) => `pw ${f}`)
        ]
      ) {
        expect(scrub(text, secrets), text).not.toContain("PLANTED")
        expect(scrub(text, secrets), text).not.toContain(base64)
      }
    }
    expect(scrub(`user alice:${PASSWORD}`, fromHeader)).toBe("user <redacted>")
  })

  it("removes Bearer tokens and Basic credentials it was not told about, and leaves the words alone", () => {
    expect(scrub("Authorization: Bearer eyJhbGciOi.J9.x-PLANTED")).toBe("Authorization: Bearer <redacted>")
    const basic = Buffer.from("bob:PLANTED-pw").toString("base64")
    expect(scrub(`Authorization: Basic ${basic}`)).toBe("Authorization: Basic <redacted>")
    const words = "Bearer authentication failed; Basic authentication is off"
    expect(scrub(words)).toBe(words)
  })

  it("removes userinfo from URLs, in text and in JSON", () => {
    expect(scrub("GET https://alice:PLANTED@host:5000/api failed")).toBe("GET https://<redacted>@host:5000/api failed")
    expect(scrub(`{"url":"http://PLANTED-token@host/x"}`)).toBe(`{"url":"http://<redacted>@host/x"}`)
  })

  it("removes credential query parameters and keeps the others", () => {
    for (const name of ["token", "access_token", "api_key", "apikey", "client_secret", "password", "key", "code"]) {
      const out = scrub(`GET https://host/v1/things?page=2&${name}=PLANTED-${name}&limit=5 failed`)
      expect(out).toBe(`GET https://host/v1/things?page=2&${name}=<redacted>&limit=5 failed`)
    }
    expect(scrub("retry with access_token=PLANTED.value and password=PLANTED")).toBe(
      "retry with access_token=<redacted> and password=<redacted>"
    )
    // ordinary words stay outside URLs
    expect(scrub("exit code=3, key=trace_id")).toBe("exit code=3, key=trace_id")
  })

  const SIGNED = {
    azure:
      "https://acct.blob.core.windows.net/c/traces/tr-1/traces.json?sv=2024-08-04&se=2030-01-01T00%3A00%3A00Z&sr=b&sp=cw&sig=PLANTED%2Bsig%3D",
    aws:
      "https://bucket.s3.eu-west-1.amazonaws.com/traces/tr-1/traces.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAPLANTED%2F20300101%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20300101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=PLANTED-session&X-Amz-Signature=PLANTEDabcdef0123",
    gcs:
      "https://storage.googleapis.com/bucket/traces/tr-1/traces.json?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40PLANTED.iam.gserviceaccount.com%2F20300101%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20300101T000000Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=PLANTED0123abcd"
  }

  it("keeps a signed URL's path and removes its whole query string (Azure SAS, AWS, Google Cloud)", () => {
    for (const [kind, url] of Object.entries(SIGNED)) {
      const path = url.slice(0, url.indexOf("?"))
      for (const text of [`PUT ${url} failed with 403`, `{"url":"${url}"}`, `<Url>${url}</Url>`]) {
        const out = scrub(text)
        expect(out, kind).not.toContain("PLANTED")
        expect(out, kind).toContain(`${path}?<redacted>`)
      }
    }
  })

  it("removes signing parameters standing alone, and from JSON-escaped URLs", () => {
    const canonical = "X-Amz-Credential=AKIAPLANTED%2F20300101&X-Amz-Security-Token=PLANTED-session\nhost"
    expect(scrub(canonical)).toBe("X-Amz-Credential=<redacted>&X-Amz-Security-Token=<redacted>\nhost")
    const escaped = JSON.stringify(SIGNED.aws).replace(/&/g, "\\u0026").replace(/\//g, "\\/")
    expect(scrub(escaped)).not.toContain("PLANTED")
    expect(scrub(`Signature=PLANTED0123`)).toBe("Signature=<redacted>")
  })

  it("names a signed URL's credentials, which storage may echo on their own", () => {
    expect(urlSecrets(SIGNED.azure)).toEqual(["PLANTED+sig="])
    expect(urlSecrets(SIGNED.aws)).toEqual([
      "AKIAPLANTED/20300101/eu-west-1/s3/aws4_request",
      "PLANTED-session",
      "PLANTEDabcdef0123"
    ])
    const scrubber = makeScrubber()
    expect(scrubber.scrub("<SignatureProvided>PLANTEDabcdef0123</SignatureProvided>", urlSecrets(SIGNED.aws))).toBe(
      "<SignatureProvided><redacted></SignatureProvided>"
    )
  })

  it("knows secrets added later, the longest first, and ignores ones too short to search for", () => {
    const scrubber = makeScrubber(["abc"])
    scrubber.add("PLANTED-late")
    scrubber.add(`Bearer PLANTED-late`)
    expect(scrubber.scrub("abc: got PLANTED-late, then Bearer PLANTED-late")).toBe(
      "abc: got <redacted>, then <redacted>"
    )
  })
})
