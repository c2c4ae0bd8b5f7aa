import * as os from "node:os"
import { TraceMetadataKey } from "../Trace.js"

/**
 * Metadata MLflow records about where a trace was produced, resolved once per layer.
 *
 * @internal
 */
export const resolveEnvironmentMetadata = (): Record<string, string> => {
  const out: Record<string, string> = {
    [TraceMetadataKey.SOURCE_NAME]: process.argv[1] ?? "<console>",
    [TraceMetadataKey.SOURCE_TYPE]: "LOCAL"
  }
  try {
    out[TraceMetadataKey.USER] = process.env.USER ?? os.userInfo().username
  } catch {
    // no user name on this platform
  }
  return out
}
