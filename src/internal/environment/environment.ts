import * as Effect from "effect/Effect"
import { TraceMetadataKey } from "../common/keys.js"

/**
 * Metadata MLflow records about where a trace was produced, resolved once per layer. The parts that
 * need Node's file system (git, user name) are loaded only where they exist, so the server path needs
 * nothing but Web APIs; elsewhere the metadata is what the runtime can tell, possibly nothing.
 *
 * @internal
 */
export const resolveEnvironmentMetadata: Effect.Effect<Record<string, string>> = Effect.promise(() =>
  import("./node.js").then((node) => node.resolveNodeMetadata()).catch(() => fallback())
)

const fallback = (): Record<string, string> => {
  const script = (globalThis as { readonly process?: { readonly argv?: ReadonlyArray<string> } }).process?.argv?.[1]
  return {
    [TraceMetadataKey.SOURCE_NAME]: typeof script === "string" && script !== "" ? script : "<console>",
    [TraceMetadataKey.SOURCE_TYPE]: "LOCAL"
  }
}
