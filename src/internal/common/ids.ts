import { bytesToBase64, bytesToHex, hexToBytes, randomFill } from "./bytes.js"

/** MLflow's trace id for an OTel trace id. */
export const mlflowTraceId = (otelTraceIdHex: string): string => `tr-${otelTraceIdHex}`

/** The OTel trace id inside an MLflow `tr-` trace id. */
export const otelTraceIdOf = (traceId: string): string => traceId.startsWith("tr-") ? traceId.slice(3) : traceId

/** Base64 of the raw bytes of a hex id (the `traces.json` encoding). */
export const hexToBase64 = (id: string): string => bytesToBase64(hexToBytes(id))

/** A random (version 4) UUID, also where `crypto.randomUUID` is missing (a page not served securely). */
export const randomUuid = (): string => {
  const bytes = new Uint8Array(16)
  randomFill(bytes)
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = bytesToHex(bytes)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
