"""MLflow 3.18 as the judge of trace search filters.

Reads a JSON list of filter strings from the file named by FILTERS and prints, for each, what MLflow
makes of it: ["parsed", clauses] (each clause [type, key, COMPARATOR, value] after MLflow's own key
mapping), ["rejected", message] when its parser refuses it, or, for a filter its parser takes,
["store", status, message] when MLflow's SQL store refuses the search (400, an MlflowException) or
fails on it (500, anything else), as the server would answer. The store is MLflow's own
SqlAlchemyStore, on BACKEND_STORE_URI (default a fresh SQLite file), with one experiment holding one
trace; a search is run once per distinct parse.
"""
import json
import os
import tempfile

from mlflow.entities import TraceInfo, TraceLocation, TraceState
from mlflow.exceptions import MlflowException
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow.utils.search_utils import SearchTraceUtils


def plain(value):
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


def make_store():
    root = tempfile.mkdtemp(prefix="effect-mlflow-judge-")
    uri = os.environ.get("BACKEND_STORE_URI") or f"sqlite:///{os.path.join(root, 'mlflow.db')}"
    store = SqlAlchemyStore(uri, os.path.join(root, "artifacts"))
    experiment = store.create_experiment(f"filter-judge-{os.getpid()}-{os.urandom(4).hex()}")
    store.start_trace(TraceInfo(
        trace_id=f"tr-{os.urandom(16).hex()}",
        trace_location=TraceLocation.from_experiment_id(experiment),
        request_time=1_700_000_000_000,
        execution_duration=5,
        state=TraceState.OK,
        trace_metadata={"k": "v"},
        tags={"k": "v"},
    ))
    return store, experiment


def main():
    filters = json.load(open(os.environ["FILTERS"], encoding="utf-8"))
    store, experiment = make_store()
    by_parse = {}

    def judge(filter_string):
        try:
            clauses = SearchTraceUtils.parse_search_filter_for_search_traces(filter_string)
        except Exception as e:  # MLflow's own refusal (MlflowException), or its parser breaking
            return ["rejected", f"{type(e).__name__}: {e}"[:300]]
        parsed = [[c["type"], c["key"], str(c["comparator"]).upper(), plain(c["value"])] for c in clauses]
        key = json.dumps(parsed)
        if key not in by_parse:
            try:
                store.search_traces(locations=[experiment], filter_string=filter_string, max_results=1)
                by_parse[key] = None
            except MlflowException as e:
                by_parse[key] = ["store", e.get_http_status_code(), str(e)[:300]]
            except Exception as e:
                by_parse[key] = ["store", 500, f"{type(e).__name__}: {e}"[:300]]
        return by_parse[key] or ["parsed", parsed]

    print(json.dumps([judge(f) for f in filters]))


main()
