import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import type { DropReason, Stats } from "../../Sink.js"

export type { DropReason, Stats }

const DROP_REASONS: ReadonlyArray<DropReason> = [
  "queueFull",
  "bufferFull",
  "bufferTtl",
  "lateSpan",
  "shutdown",
  "spoolFull",
  "spoolExpired"
]

const zeroDrops = (): Record<DropReason, number> => ({
  queueFull: 0,
  bufferFull: 0,
  bufferTtl: 0,
  lateSpan: 0,
  shutdown: 0,
  spoolFull: 0,
  spoolExpired: 0
})

/** The exporter's metrics (effect `Metric`s, so any metrics exporter can read them). */
export const metrics = {
  queued: Metric.counter("effect_mlflow_traces_queued", { description: "traces handed to the export queue" }),
  exported: Metric.counter("effect_mlflow_traces_exported", { description: "traces stored by the sink" }),
  abridged: Metric.counter("effect_mlflow_traces_abridged", {
    description: "traces stored without the detail the sink can leave out (MLflow: from their spans alone)"
  }),
  retried: Metric.counter("effect_mlflow_export_retries", { description: "export attempts retried" }),
  failed: Metric.counter("effect_mlflow_traces_failed", { description: "traces given up on" }),
  unconfirmed: Metric.counter("effect_mlflow_traces_unconfirmed", {
    description: "traces cut off at shutdown with a request unanswered, not known to be stored or not"
  }),
  dropped: Metric.counter("effect_mlflow_traces_dropped", { description: "traces dropped, by reason" }),
  spooled: Metric.counter("effect_mlflow_traces_spooled", {
    description: "traces written to the durable spool while the destination was away"
  }),
  replayed: Metric.counter("effect_mlflow_traces_replayed", {
    description: "traces taken from the durable spool that the destination now holds"
  })
}

const reasonLabelsOf = (
  base: ReadonlyArray<MetricLabel.MetricLabel>
): Record<DropReason, ReadonlyArray<MetricLabel.MetricLabel>> => {
  const label = (reason: DropReason) => [...base, MetricLabel.make("reason", reason)]
  return {
    queueFull: label("queueFull"),
    bufferFull: label("bufferFull"),
    bufferTtl: label("bufferTtl"),
    lateSpan: label("lateSpan"),
    shutdown: label("shutdown"),
    spoolFull: label("spoolFull"),
    spoolExpired: label("spoolExpired")
  }
}

/**
 * Every count the exporter keeps, in one place: each event updates its `Stats` field and its
 * `Metric` together, so the two can never disagree.
 */
export interface Ledger {
  readonly queued: () => void
  readonly exported: (traces: number) => void
  readonly abridged: (traces: number) => void
  readonly failed: (traces: number) => void
  readonly retried: () => void
  readonly dropped: (reason: DropReason, count: number) => void
  /** traces failed, or cut off at shutdown, that the destination holds in part */
  readonly incomplete: (traces: number) => void
  readonly unconfirmed: (traces: number) => void
  readonly lateSpansExported: (spans: number) => void
  readonly rejectedSpans: (spans: number) => void
  readonly spooled: (traces: number) => void
  readonly replayed: (traces: number) => void
  readonly timedOut: () => void
  readonly inFlight: (delta: number) => void
  /** traces taken by the workers and not yet done with */
  readonly inFlightNow: () => number
  /** drops since the last call, by reason (for the throttled warning) */
  readonly takeUnwarnedDrops: () => ReadonlyArray<readonly [DropReason, number]>
  readonly snapshot: (queued: number, inProgress: number, spans: Stats["spans"]) => Stats
}

/** `destination`: labels the metrics with it (only when there is more than one destination) */
export const make = (destination?: string): Ledger => {
  const labels = destination === undefined ? [] : [MetricLabel.make("destination", destination)]
  const reasonLabels = reasonLabelsOf(labels)
  const counts = {
    inFlight: 0,
    exported: 0,
    abridged: 0,
    failed: 0,
    retried: 0,
    lateSpans: 0,
    rejectedSpans: 0,
    timedOut: 0,
    incomplete: 0,
    unconfirmed: 0,
    spooled: 0,
    replayed: 0
  }
  const dropped = zeroDrops()
  const unwarned = zeroDrops()
  /** counts `traces` in the field and its metric together */
  const counted =
    (field: "exported" | "abridged" | "failed" | "unconfirmed" | "spooled" | "replayed") => (traces: number) => {
      counts[field] += traces
      metrics[field].unsafeUpdate(traces, labels)
    }
  return {
    queued: () => metrics.queued.unsafeUpdate(1, labels),
    exported: counted("exported"),
    abridged: counted("abridged"),
    failed: counted("failed"),
    retried: () => {
      counts.retried++
      metrics.retried.unsafeUpdate(1, labels)
    },
    dropped: (reason, count) => {
      dropped[reason] += count
      unwarned[reason] += count
      metrics.dropped.unsafeUpdate(count, reasonLabels[reason])
    },
    incomplete: (traces) => {
      counts.incomplete += traces
    },
    unconfirmed: counted("unconfirmed"),
    lateSpansExported: (spans) => {
      counts.lateSpans += spans
    },
    rejectedSpans: (spans) => {
      counts.rejectedSpans += spans
    },
    spooled: counted("spooled"),
    replayed: counted("replayed"),
    timedOut: () => {
      counts.timedOut++
    },
    inFlight: (delta) => {
      counts.inFlight += delta
    },
    inFlightNow: () => counts.inFlight,
    takeUnwarnedDrops: () => {
      const out = DROP_REASONS.filter((reason) => unwarned[reason] > 0).map((reason) =>
        [reason, unwarned[reason]] as const
      )
      for (const reason of DROP_REASONS) unwarned[reason] = 0
      return out
    },
    snapshot: (queued, inProgress, spans) => ({ queued, inProgress, spans, ...counts, dropped: { ...dropped } })
  }
}
