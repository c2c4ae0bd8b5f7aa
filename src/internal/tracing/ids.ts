import { randomFill } from "../common/bytes.js"

const POOL_SIZE = 4096
const pool = new Uint8Array(POOL_SIZE)
let offset = POOL_SIZE

const hex: Array<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/**
 * Random lowercase hex of `bytes` bytes from a pooled CSPRNG buffer: ids never collide because a
 * user seeded `Math.random`, and the pool keeps the per-span cost to a few array reads.
 */
const randomHex = (bytes: number): string => {
  for (;;) {
    if (offset + bytes > POOL_SIZE) {
      randomFill(pool)
      offset = 0
    }
    let out = ""
    let zero = true
    for (let i = 0; i < bytes; i++) {
      const b = pool[offset + i]
      if (b !== 0) zero = false
      out += hex[b]
    }
    offset += bytes
    if (!zero) return out
  }
}

/** @internal 32 lowercase hex characters, never all zero (OTel trace id). */
export const traceIdHex = (): string => randomHex(16)

/** @internal 16 lowercase hex characters, never all zero (OTel span id). */
export const spanIdHex = (): string => randomHex(8)
