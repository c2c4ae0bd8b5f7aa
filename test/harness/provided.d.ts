import "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    mlflowUrl: string
    mlflowFlaskOnlyUrl: string
    /** where the servers a test starts for itself keep their data: "sqlite", or "postgres:<port>" */
    mlflowBackend: string
  }
}
