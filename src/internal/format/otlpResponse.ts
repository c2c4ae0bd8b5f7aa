/** What a collector said of an export it took: spans it rejected (OTLP partial success). */
export interface ExportAnswer {
  readonly rejectedSpans: number
  readonly errorMessage: string
}

const NONE: ExportAnswer = { rejectedSpans: 0, errorMessage: "" }

/**
 * Reads the `partial_success` of an `ExportTraceServiceResponse` protobuf message (field 1: a
 * message of `rejected_spans`, an int64, and `error_message`). Anything it cannot read is no
 * partial success: the export itself was accepted.
 */
export const decodeExportResponse = (bytes: Uint8Array): ExportAnswer => {
  try {
    const outer = fields(bytes)
    const partial = outer.find((field) => field.number === 1 && field.bytes !== undefined)
    if (partial === undefined) return NONE
    let rejectedSpans = 0
    let errorMessage = ""
    for (const field of fields(partial.bytes!)) {
      if (field.number === 1 && field.varint !== undefined) rejectedSpans = Number(field.varint)
      if (field.number === 2 && field.bytes !== undefined) errorMessage = new TextDecoder().decode(field.bytes)
    }
    return { rejectedSpans, errorMessage }
  } catch {
    return NONE
  }
}

/** The OTLP/JSON form of the same answer. */
export const decodeExportResponseJson = (text: string): ExportAnswer => {
  try {
    const partial = JSON.parse(text)?.partialSuccess
    if (typeof partial !== "object" || partial === null) return NONE
    const rejected = Number(partial.rejectedSpans ?? 0)
    return {
      rejectedSpans: Number.isFinite(rejected) ? rejected : 0,
      errorMessage: typeof partial.errorMessage === "string" ? partial.errorMessage : ""
    }
  } catch {
    return NONE
  }
}

interface Field {
  readonly number: number
  readonly varint?: bigint
  readonly bytes?: Uint8Array
}

const fields = (bytes: Uint8Array): Array<Field> => {
  const out: Array<Field> = []
  let at = 0
  const varint = (): bigint => {
    let value = 0n
    for (let shift = 0n;; shift += 7n) {
      if (at >= bytes.length || shift > 63n) throw new Error("bad varint")
      const byte = bytes[at++]
      value |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return value
    }
  }
  while (at < bytes.length) {
    const key = Number(varint())
    const number = key >>> 3
    switch (key & 7) {
      case 0:
        out.push({ number, varint: varint() })
        break
      case 1:
        at += 8
        break
      case 2: {
        const length = Number(varint())
        if (at + length > bytes.length) throw new Error("truncated")
        out.push({ number, bytes: bytes.subarray(at, at + length) })
        at += length
        break
      }
      case 5:
        at += 4
        break
      default:
        throw new Error("unknown wire type")
    }
  }
  return out
}
