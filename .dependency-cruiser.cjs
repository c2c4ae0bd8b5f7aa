/**
 * Import rules of src/: the stages of src/internal import one way (see DESIGN in the README), public
 * modules may import anything, internal code imports public modules for their types only, and
 * nothing forms a cycle through values. Cycles through types are allowed only where a public module
 * (a face, which holds the contracts) and internal code (its body, which imports them) meet, as in
 * `@effect/platform`; among public modules alone, or internal modules alone, they are errors too.
 */
const stage = (name, allowed, typesFrom = []) => ({
  name: `${name}-imports`,
  comment: `internal/${name} imports only ${allowed.join(", ") || "itself"}${
    typesFrom.length ? ` (and types from ${typesFrom.join(", ")})` : ""
  }`,
  severity: "error",
  from: { path: `^src/internal/${name}/` },
  to: {
    path: "^src/internal/",
    pathNot: [`^src/internal/(${[name, ...allowed].join("|")})/`],
    ...(typesFrom.length ? {} : {})
  }
})

/** Like `stage`, for the folders that may import another stage's types but not its values. */
const typesOnly = (name, from) => ({
  name: `${name}-uses-${from.replace(/\W/g, "")}-types-only`,
  comment: `internal/${name} imports only types from ${from}`,
  severity: "error",
  from: { path: `^src/internal/${name}/` },
  to: { path: `^src/internal/${from}`, dependencyTypesNot: ["type-only"] }
})

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
    stage("tracing", ["common"]),
    stage("format", ["common"]),
    stage("client", ["common", "format"]),
    stage("environment", ["common"]),
    stage("config", ["common"]),
    stage("llm", ["common", "tracing"]),
    typesOnly("llm", "tracing/"),
    stage("export", ["common", "format", "tracing"]),
    typesOnly("export", "tracing/"),
    stage("sinks", ["common", "format", "client", "export"]),
    {
      name: "sinks-use-the-sink-contract-only",
      comment:
        "sinks implement the contracts in export/sink.ts and export/spool.ts and know nothing else of the export stage",
      severity: "error",
      from: { path: "^src/internal/sinks/" },
      to: { path: "^src/internal/export/(?!(sink|spool)\\.ts$)" }
    }
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" }
  }
}
