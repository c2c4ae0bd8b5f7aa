import { bytesToBase64, hexToBytes } from "./bytes.js"

/** MLflow's trace id for an OTel trace id. */
export const mlflowTraceId = (otelTraceIdHex: string): string => `tr-${otelTraceIdHex}`

/** The OTel trace id inside an MLflow `tr-` trace id. */
export const otelTraceIdOf = (traceId: string): string => traceId.startsWith("tr-") ? traceId.slice(3) : traceId

/** Base64 of the raw bytes of a hex id (the `traces.json` encoding). */
export const hexToBase64 = (id: string): string => bytesToBase64(hexToBytes(id))
