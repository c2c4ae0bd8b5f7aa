/**
 * Bytes, base64, hex and randomness without Node's `Buffer` or `node:crypto`, so the server path runs
 * on any runtime with Web APIs (Node 20+, Bun, Deno, workerd). Node's `Buffer` is used when present,
 * for speed.
 *
 * @internal
 */

interface NodeBuffer {
  readonly byteLength: (text: string, encoding: "utf8") => number
  readonly from: (bytes: Uint8Array) => { toString(encoding: "base64"): string }
}

const NodeBuffer = (globalThis as { readonly Buffer?: NodeBuffer }).Buffer

/** @internal UTF-8 length of a string (a lone surrogate counts 3 bytes, as its replacement does). */
export const utf8Length: (text: string) => number = NodeBuffer !== undefined
  ? (text) => NodeBuffer.byteLength(text, "utf8")
  : (text) => {
    let n = 0
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c < 0x80) n += 1
      else if (c < 0x800) n += 2
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1)
        if (d >= 0xdc00 && d <= 0xdfff) {
          n += 4
          i++
        } else n += 3
      } else n += 3
    }
    return n
  }

/** @internal */
export const bytesToBase64 = (bytes: Uint8Array): string => {
  if (NodeBuffer !== undefined) return NodeBuffer.from(bytes).toString("base64")
  let binary = ""
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

/** @internal Bytes of base64 text; invalid text gives no bytes. */
export const base64ToBytes = (text: string): Uint8Array => {
  try {
    const binary = atob(text)
    const out = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
    return out
  } catch {
    return new Uint8Array(0)
  }
}

const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** @internal Lowercase hex of bytes. */
export const bytesToHex = (bytes: Uint8Array): string => {
  let out = ""
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]]
  return out
}

/** @internal Bytes of hex text (pairs of hex digits; reading stops at the first pair that is not). */
export const hexToBytes = (hex: string): Uint8Array => {
  const out = new Uint8Array(hex.length >> 1)
  for (let i = 0; i < out.length; i++) {
    const byte = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
    if (Number.isNaN(byte)) return out.subarray(0, i)
    out[i] = byte
  }
  return out
}

/** @internal Fills with cryptographically strong random bytes (Web Crypto, at most 65536 bytes a call). */
export const randomFill = (bytes: Uint8Array): void => {
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536))
}
