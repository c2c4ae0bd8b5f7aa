import { utf8Length } from "../common/bytes.js"

/**
 * A minimal protobuf writer: enough for OTLP's ExportTraceServiceRequest. Everything is written
 * into one growing buffer: a nested message or a string is written in place after a one-byte length
 * slot, and moved up when its length takes more bytes, so a large value is copied a few times in
 * place rather than once per nesting level into new buffers.
 *
 * @internal
 */
export class ProtoWriter {
  private buf: Uint8Array
  private pos = 0

  constructor() {
    // the buffer the last writer left: grown once to the usual request size, then reused
    this.buf = spare ?? new Uint8Array(1024)
    spare = undefined
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  private varint(value: number): void {
    this.ensure(10)
    while (value > 0x7f) {
      this.buf[this.pos++] = (value & 0x7f) | 0x80
      value = Math.floor(value / 128)
    }
    this.buf[this.pos++] = value
  }

  private varint64(value: bigint): void {
    this.ensure(10)
    let v = BigInt.asUintN(64, value)
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    this.buf[this.pos++] = Number(v)
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType)
  }

  /** Reserves a one-byte length slot; answers where the content starts. */
  private open(field: number): number {
    this.tag(field, 2)
    this.ensure(1)
    this.pos++
    return this.pos
  }

  /** Writes the length of the content since `start` into its slot, moving the content up if it needs more bytes. */
  private close(start: number): void {
    const length = this.pos - start
    let size = 1
    for (let v = length; v > 0x7f; v = Math.floor(v / 128)) size++
    if (size > 1) {
      this.ensure(size - 1)
      this.buf.copyWithin(start + size - 1, start, this.pos)
      this.pos += size - 1
    }
    let at = start - 1
    let v = length
    while (v > 0x7f) {
      this.buf[at++] = (v & 0x7f) | 0x80
      v = Math.floor(v / 128)
    }
    this.buf[at] = v
  }

  uint32(field: number, value: number): this {
    if (value !== 0) {
      this.tag(field, 0)
      this.varint(value)
    }
    return this
  }

  bool(field: number, value: boolean): this {
    this.tag(field, 0)
    this.varint(value ? 1 : 0)
    return this
  }

  int64(field: number, value: bigint): this {
    this.tag(field, 0)
    this.varint64(value)
    return this
  }

  fixed64(field: number, value: bigint): this {
    this.tag(field, 1)
    this.ensure(8)
    new DataView(this.buf.buffer, this.buf.byteOffset).setBigUint64(this.pos, BigInt.asUintN(64, value), true)
    this.pos += 8
    return this
  }

  double(field: number, value: number): this {
    this.tag(field, 1)
    this.ensure(8)
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.pos, value, true)
    this.pos += 8
    return this
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2)
    this.varint(value.length)
    this.ensure(value.length)
    this.buf.set(value, this.pos)
    this.pos += value.length
    return this
  }

  string(field: number, value: string): this {
    const start = this.open(field)
    // UTF-8 takes at most 3 bytes per UTF-16 code unit; a long text is measured rather than given
    // three times its room (which would double the buffer past what it needs)
    this.ensure(value.length <= 1024 ? value.length * 3 : utf8Length(value))
    this.pos += encoder.encodeInto(value, this.buf.subarray(this.pos)).written
    this.close(start)
    return this
  }

  /** Bytes written so far. */
  length(): number {
    return this.pos
  }

  /** Bytes written by another writer (whole fields), as they are. */
  raw(value: Uint8Array): this {
    this.ensure(value.length)
    this.buf.set(value, this.pos)
    this.pos += value.length
    return this
  }

  /** A string field that is left out when empty (proto3 default). */
  optionalString(field: number, value: string): this {
    return value === "" ? this : this.string(field, value)
  }

  /** A nested message, written by `write` into this writer (which it is given). */
  message(field: number, write: (writer: ProtoWriter) => void): this {
    const start = this.open(field)
    write(this)
    this.close(start)
    return this
  }

  finish(): Uint8Array {
    const written = this.buf.slice(0, this.pos)
    if (this.buf.length <= SPARE_MAX_BYTES) spare = this.buf
    return written
  }
}

/** Writers are used one at a time (an encoding runs start to finish synchronously), so one buffer is kept. */
let spare: Uint8Array | undefined
const SPARE_MAX_BYTES = 4 * 1024 * 1024

const encoder = new TextEncoder()
