import type { Sink } from "../../src/index.js"

/** `stats.dropped` when nothing was dropped, for any reason. */
export const noDrops: Sink.Stats["dropped"] = {
  queueFull: 0,
  bufferFull: 0,
  bufferTtl: 0,
  lateSpan: 0,
  shutdown: 0,
  spoolFull: 0,
  spoolExpired: 0
}
