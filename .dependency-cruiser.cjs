/**
 * Import rules of src/: the stages of src/internal import one way (see DESIGN in the README), public
 * modules may import anything, internal code imports public modules for their types only, and
 * nothing forms a cycle through values. Cycles through types are allowed only where a public module
 * (a face, which holds the contracts) and internal code (its body, which imports them) meet, as in
 * `@effect/platform`; among public modules alone, or internal modules alone, they are errors too.
 */
/** a file of another stage, as a path pattern */
const file = (path) => `^src/internal/${path.replace(/\./g, "\\.")}$`

/** `files`: single files of other stages that may be imported too */
const stage = (name, allowed, files = []) => ({
  name: `${name}-imports`,
  comment: `internal/${name} imports only ${allowed.join(", ") || "itself"}${
    files.length ? ` (and ${files.join(", ")})` : ""
  }`,
  severity: "error",
  from: { path: `^src/internal/${name}/` },
  to: {
    path: "^src/internal/",
    pathNot: [`^src/internal/(${[name, ...allowed].join("|")})/`, ...files.map(file)]
  }
})

/** Like `stage`, for the folders that may import another stage's types but not its values (but from `files`). */
const typesOnly = (name, from, files = []) => ({
  name: `${name}-uses-${from.replace(/\W/g, "")}-types-only`,
  comment: `internal/${name} imports only types from ${from}${
    files.length ? ` (and values from ${files.join(", ")})` : ""
  }`,
  severity: "error",
  from: { path: `^src/internal/${name}/` },
  to: { path: `^src/internal/${from}`, pathNot: files.map(file), dependencyTypesNot: ["type-only"] }
})

/** The value snapshot and the text helpers over it: leaves of tracing that other stages share. */
const SNAPSHOT = "tracing/snapshot.ts"
const TEXT = "tracing/text.ts"

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "no import cycles through values",
      severity: "error",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } }
    },
    {
      name: "no-cycles-among-internal-modules",
      comment: "no import cycles among internal modules, not even through types",
      severity: "error",
      from: { path: "^src/internal/" },
      to: { circular: true, viaOnly: { path: "^src/internal/" } }
    },
    {
      name: "no-cycles-among-public-modules",
      comment: "no import cycles among public modules, not even through types",
      severity: "error",
      from: { path: "^src/(?!internal/)" },
      to: { circular: true, viaOnly: { pathNot: "^src/internal/" } }
    },
    {
      name: "internal-imports-public-types-only",
      comment: "internal code may import public modules for their types, never their values",
      severity: "error",
      from: { path: "^src/internal/" },
      to: { path: "^src/(?!internal/)", dependencyTypesNot: ["type-only"] }
    },
    {
      name: "src-stays-in-src",
      comment: "the library never imports tests, examples or benchmarks",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|examples|bench)/" }
    },
    stage("common", []),
    {
      name: "snapshot-is-a-leaf",
      comment: "the snapshot and the text helpers import only common: the stages that share them import no tracer",
      severity: "error",
      from: { path: [SNAPSHOT, TEXT].map(file).join("|") },
      to: { path: "^src/internal/", pathNot: ["^src/internal/common/", ...[SNAPSHOT, TEXT].map(file)] }
    },
    stage("tracing", ["common"]),
    stage("format", ["common"]),
    stage("client", ["common", "format"], [TEXT]),
    stage("environment", ["common"]),
    stage("config", ["common"]),
    stage("llm", ["common", "tracing"]),
    typesOnly("llm", "tracing/", [SNAPSHOT]),
    stage("prepare", ["common", "format", "tracing"]),
    typesOnly("prepare", "tracing/"),
    stage("export", ["common", "format", "tracing", "prepare"]),
    typesOnly("export", "tracing/"),
    stage("sinks", ["common", "format", "client", "export", "prepare"]),
    {
      name: "sinks-use-the-sink-contract-only",
      comment:
        "sinks implement the contracts in export/sink.ts and export/spool.ts and know nothing else of the export stage",
      severity: "error",
      from: { path: "^src/internal/sinks/" },
      to: { path: "^src/internal/export/(?!(sink|spool)\\.ts$)" }
    },
    {
      name: "sinks-use-the-derivation-rules-only",
      comment:
        "sinks check what a server derives from spans by the rules in prepare/derived.ts and know nothing else of the prepare stage",
      severity: "error",
      from: { path: "^src/internal/sinks/" },
      to: { path: "^src/internal/prepare/(?!derived\\.ts$)" }
    }
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" }
  }
}
