import "vitest"
import type { Installed, RuntimeName } from "./runtimes.js"

declare module "vitest" {
  export interface ProvidedContext {
    mlflowUrl: string
    mlflowFlaskOnlyUrl: string
    /** where the servers a test starts for itself keep their data: "sqlite", or "postgres:<port>" */
    mlflowBackend: string
    /** Bun, Deno and workerd as the set-up installed them, or why it could not */
    runtimes: Record<RuntimeName, Installed>
  }
}
