import "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    mlflowUrl: string
    mlflowFlaskOnlyUrl: string
  }
}
