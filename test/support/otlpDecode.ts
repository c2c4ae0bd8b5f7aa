import { setOwn } from "../../src/internal/common/json.js"

/**
 * A minimal protobuf decoder for OTLP `ExportTraceServiceRequest`, written independently of the
 * encoder, to check it round trip.
 */

type Field = { readonly field: number; readonly wire: number; readonly value: bigint | Uint8Array }

const readVarint = (bytes: Uint8Array, pos: { i: number }): bigint => {
  let result = 0n
  let shift = 0n
  for (;;) {
    const b = bytes[pos.i++]
    if (b === undefined) throw new Error("truncated varint")
    result |= BigInt(b & 0x7f) << shift
    if ((b & 0x80) === 0) return result
    shift += 7n
  }
}

export const fields = (bytes: Uint8Array): Array<Field> => {
  const out: Array<Field> = []
  const pos = { i: 0 }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  while (pos.i < bytes.length) {
    const key = Number(readVarint(bytes, pos))
    const field = key >>> 3
    const wire = key & 7
    if (wire === 0) out.push({ field, wire, value: readVarint(bytes, pos) })
    else if (wire === 1) {
      out.push({ field, wire, value: view.getBigUint64(pos.i, true) })
      pos.i += 8
    } else if (wire === 2) {
      const length = Number(readVarint(bytes, pos))
      out.push({ field, wire, value: bytes.subarray(pos.i, pos.i + length) })
      pos.i += length
    } else if (wire === 5) {
      out.push({ field, wire, value: BigInt(view.getUint32(pos.i, true)) })
      pos.i += 4
    } else throw new Error(`unsupported wire type ${wire}`)
  }
  return out
}

const text = (value: bigint | Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(value as Uint8Array)
const hex = (value: bigint | Uint8Array) => Buffer.from(value as Uint8Array).toString("hex")
const bytesOf = (value: bigint | Uint8Array) => value as Uint8Array
const double = (value: bigint | Uint8Array) => {
  const view = new DataView(new ArrayBuffer(8))
  view.setBigUint64(0, value as bigint, true)
  return view.getFloat64(0, true)
}

export const anyValue = (bytes: Uint8Array): unknown => {
  const [f] = fields(bytes)
  if (f === undefined) return null
  switch (f.field) {
    case 1:
      return text(f.value)
    case 2:
      return f.value === 1n
    case 3:
      return Number(BigInt.asIntN(64, f.value as bigint))
    case 4:
      return double(f.value)
    case 5:
      return fields(bytesOf(f.value)).map((item) => anyValue(bytesOf(item.value)))
    case 6:
      return keyValues(fields(bytesOf(f.value)).map((item) => bytesOf(item.value)))
  }
  throw new Error(`unknown AnyValue field ${f.field}`)
}

const keyValues = (entries: ReadonlyArray<Uint8Array>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const entry of entries) {
    const kv = fields(entry)
    const key = text(kv.find((f) => f.field === 1)!.value)
    const value = kv.find((f) => f.field === 2)
    setOwn(out, key, value === undefined ? null : anyValue(bytesOf(value.value)))
  }
  return out
}

const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"]
const STATUS = ["UNSET", "OK", "ERROR"]

export const decodeSpan = (bytes: Uint8Array) => {
  const fs = fields(bytes)
  const one = (n: number) => fs.find((f) => f.field === n)
  const many = (n: number) => fs.filter((f) => f.field === n).map((f) => bytesOf(f.value))
  const status = one(15) ? fields(bytesOf(one(15)!.value)) : []
  return {
    traceId: hex(one(1)!.value),
    spanId: hex(one(2)!.value),
    parentSpanId: one(4) ? hex(one(4)!.value) : null,
    name: text(one(5)!.value),
    kind: KINDS[Number(one(6)?.value ?? 0n)],
    startTimeUnixNano: one(7)!.value as bigint,
    endTimeUnixNano: one(8)!.value as bigint,
    attributes: keyValues(many(9)),
    events: many(11).map((event) => {
      const ef = fields(event)
      return {
        timeUnixNano: ef.find((f) => f.field === 1)!.value as bigint,
        name: text(ef.find((f) => f.field === 2)!.value),
        attributes: keyValues(ef.filter((f) => f.field === 3).map((f) => bytesOf(f.value)))
      }
    }),
    status: {
      code: STATUS[Number(status.find((f) => f.field === 3)?.value ?? 0n)],
      message: status.find((f) => f.field === 2) ? text(status.find((f) => f.field === 2)!.value) : ""
    }
  }
}

/** Decodes an `ExportTraceServiceRequest` into its resource attributes, scope name and spans. */
export const decodeRequest = (bytes: Uint8Array) => {
  const resourceSpans = fields(bytes).filter((f) => f.field === 1).map((f) => fields(bytesOf(f.value)))
  return resourceSpans.map((rs) => {
    const resource = rs.find((f) => f.field === 1)
    const scopeSpans = rs.filter((f) => f.field === 2).map((f) => fields(bytesOf(f.value)))
    return {
      resource: resource ? keyValues(fields(bytesOf(resource.value)).map((f) => bytesOf(f.value))) : {},
      scopes: scopeSpans.map((ss) => ({
        name: text(fields(bytesOf(ss.find((f) => f.field === 1)!.value)).find((f) => f.field === 1)!.value),
        spans: ss.filter((f) => f.field === 2).map((f) => decodeSpan(bytesOf(f.value)))
      }))
    }
  })
}
