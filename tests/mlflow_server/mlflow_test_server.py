#!/usr/bin/python3
"""A stand-in for an MLflow 2.x tracking server with its model registry, for sluice's tests.

It answers the REST endpoints sluice uses exactly as MLflow's published REST reference
documents them and as a real MLflow 2.22 server behaves where the reference is silent
(docs: /work/shared/reference/mlflow-rest-facts.md): paths under /api/2.0/mlflow/, GET
parameters in the query string, POST/PATCH/DELETE parameters in a JSON body, POST needing
Content-Type application/json, proto3 JSON that leaves out empty and default fields,
string experiment ids and model versions, `{}` for writes and for searches without a
match, JSON errors {"error_code", "message"} (404 RESOURCE_DOES_NOT_EXIST, 400
INVALID_PARAMETER_VALUE / RESOURCE_ALREADY_EXISTS, 400 for an alias that is not set),
HTML 404/405 pages for unknown routes and wrong methods, and GET /health -> OK.

State lives in memory. Standard library only; run with /usr/bin/python3.

    mlflow_test_server.py [--seed FILE.json] [--html | --hang] [--fail-first N]
                          [--require-token TOKEN | --require-basic USER:PASS] [--verbose]

It binds 127.0.0.1 on a port the kernel picks and prints that port, alone, as the first
line of its standard output. Failure modes for tests:
  --html           answer every request with a 200 HTML page (a proxy or login page)
  --hang           accept connections and never answer
  --fail-first N   answer 503 to the first N API requests, then normally
  --require-token  401 unless "Authorization: Bearer TOKEN"
  --require-basic  401 unless "Authorization: Basic base64(USER:PASS)"

The seed file (all keys optional):
  {"experiments": ["name", ...],
   "runs": [{"run_id": "...", "experiment": "name", "run_name": "...", "status": "FINISHED",
             "tags": {"k": "v"}, "params": {"k": "v"},
             "metrics": [{"key": "f1", "value": 0.9, "step": 0, "timestamp": 1}]}],
   "models": [{"name": "churn", "description": "...", "tags": {"k": "v"},
               "versions": [{"source": "...", "run_id": "...", "stage": "Production",
                             "aliases": ["champion"], "tags": {"k": "v"}}]}]}
"""

import argparse
import base64
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MLFLOW_VERSION = "2.22.0"
API_PREFIXES = ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/")
STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")

HTML_404 = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again.</p>\n"
)
HTML_405 = (
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n"
    "<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n"
)
HTML_PAGE = (
    "<!doctype html>\n<html><head><title>Sign in</title></head>\n"
    "<body><h1>Sign in to continue</h1><form method=post><input name=user></form></body>"
    "</html>\n"
)
UNAUTHENTICATED = (
    "You are not authenticated. Please see "
    "https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow "
    "on how to authenticate."
)


class ApiError(Exception):
    def __init__(self, status, error_code, message):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def invalid(message):
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def not_found(message):
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", message)


def already_exists(message):
    return ApiError(400, "RESOURCE_ALREADY_EXISTS", message)


def now_ms():
    return int(time.time() * 1000)


def prune(value):
    """proto3 JSON: empty strings, zeros, false, empty lists and objects are left out."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = prune(v)
            if v is None or v == "" or v == [] or v == {} or v is False:
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


# ---------------------------------------------------------------- request parameters

class Params:
    """The parameters of one request, read the way MLflow's handlers read them."""

    def __init__(self, values):
        self.values = values if isinstance(values, dict) else {}

    def raw(self, name):
        return self.values.get(name)

    def string(self, name, required=False):
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise invalid(
                    f"Missing value for required parameter '{name}'. "
                    "See the API docs for more information about request parameters."
                )
            return ""
        if not isinstance(value, str):
            raise invalid(
                f"Invalid value {json.dumps(value)} for parameter '{name}' supplied. "
                f"Hint: Value was of type '{type(value).__name__}'. "
                "See the API docs for more information about request parameters."
            )
        return value

    def integer(self, name, default=None):
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise invalid(f"Invalid value {value} for parameter '{name}' supplied.")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise invalid(f"Invalid value {value} for parameter '{name}' supplied.") from None

    def number(self, name, required=False):
        value = self.values.get(name)
        if value is None:
            if required:
                raise invalid(
                    f"Missing value for required parameter '{name}'. "
                    "See the API docs for more information about request parameters."
                )
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
                return float(value.replace("Infinity", "inf"))
            raise invalid(f"Invalid value {json.dumps(value)} for parameter '{name}' supplied.")
        return value

    def boolean(self, name):
        value = self.values.get(name)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid(f"Invalid value {json.dumps(value)} for parameter '{name}' supplied.")

    def strings(self, name):
        value = self.values.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            value = [value]
        for v in value:
            if not isinstance(v, str):
                raise invalid(f"Invalid value {json.dumps(value)} for parameter '{name}' supplied.")
        return value

    def objects(self, name):
        value = self.values.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise invalid(f"Invalid value {json.dumps(value)} for parameter '{name}' supplied.")
        return value


def tag_dict(objects, what):
    tags = {}
    for tag in objects:
        key = tag.get("key")
        if not isinstance(key, str) or key == "":
            raise invalid(f"Missing value for required parameter 'key' in {what}.")
        value = tag.get("value", "")
        if not isinstance(value, str):
            raise invalid(f"Invalid value {json.dumps(value)} for parameter 'value' supplied.")
        tags[key] = value
    return tags


def tag_list(tags):
    return [{"key": k, "value": v} for k, v in tags.items()]


# ---------------------------------------------------------------- paging and filters

def page(items, params, default_max, limit):
    max_results = params.integer("max_results", default_max)
    if max_results is None or max_results <= 0:
        max_results = default_max
    if max_results > limit:
        raise invalid(
            "Invalid value for request parameter max_results. It must be at most "
            f"{limit}, but got value {max_results}"
        )
    token = params.string("page_token")
    offset = 0
    if token:
        try:
            offset = int(json.loads(base64.b64decode(token, validate=True))["offset"])
        except Exception:  # any malformed token
            raise invalid("Invalid page token, could not base64-decode") from None
    chunk = items[offset:offset + max_results]
    next_token = ""
    if offset + max_results < len(items):
        next_token = base64.b64encode(json.dumps({"offset": offset + max_results}).encode()).decode()
    return chunk, next_token


CLAUSE = re.compile(
    r"""^\s*(?P<key>(?:[A-Za-z_]+\.)?(?:`[^`]+`|"[^"]+"|[A-Za-z0-9_.\-]+))\s*"""
    r"""(?P<op>!=|>=|<=|=|>|<|\bNOT\s+LIKE\b|\bILIKE\b|\bLIKE\b|\bIN\b)\s*(?P<value>.+?)\s*$""",
    re.IGNORECASE,
)


def split_and(text):
    """Splits a filter on AND outside quotes."""
    parts, current, quote = [], "", None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            current += c
            if c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
            current += c
        elif text[i:i + 5].upper() == " AND " or text[i:i + 5].upper() == "\tAND ":
            parts.append(current)
            current = ""
            i += 5
            continue
        else:
            current += c
        i += 1
    parts.append(current)
    return [p for p in (p.strip() for p in parts) if p]


def parse_value(text, filter_text):
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        return [parse_value(v, filter_text) for v in re.findall(r"'[^']*'", text)]
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        raise invalid(f"Invalid filter '{filter_text}'. Could not parse value '{text}'.") from None


def like(pattern, value, case_sensitive=True):
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def compare(actual, op, expected):
    op = op.upper()
    if actual is None:
        return False
    if op == "IN":
        return actual in expected
    if op == "LIKE":
        return like(expected, str(actual))
    if op == "ILIKE":
        return like(expected, str(actual), case_sensitive=False)
    if op.startswith("NOT"):
        return not like(expected, str(actual))
    if isinstance(expected, float) and not isinstance(actual, (int, float)):
        try:
            actual = float(actual)
        except ValueError:
            return False
    if isinstance(actual, (int, float)) and isinstance(expected, str):
        return False
    return {
        "=": actual == expected, "!=": actual != expected, ">": actual > expected,
        ">=": actual >= expected, "<": actual < expected, "<=": actual <= expected,
    }[op]


def parse_filter(text):
    """A list of (entity, key, op, value) for 'a = 1 AND tags.`x` LIKE 'y%''."""
    clauses = []
    for part in split_and(text or ""):
        m = CLAUSE.match(part)
        if not m:
            raise invalid(f"Invalid filter '{text}'. Could not be parsed.")
        key = m.group("key")
        entity = ""
        if "." in key and not key.startswith(("`", '"')):
            head, rest = key.split(".", 1)
            if head.lower() in ("metric", "metrics", "param", "params", "parameter", "parameters",
                                "tag", "tags", "attribute", "attributes", "attr", "run"):
                entity, key = head.lower(), rest
        key = key.strip("`\"")
        clauses.append((entity, key, m.group("op"), parse_value(m.group("value"), text)))
    return clauses


# ---------------------------------------------------------------- state

class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.experiments = {}  # id -> experiment
        self.next_experiment = 0
        self.runs = {}  # run_id -> run
        self.models = {}  # name -> registered model
        self.create_experiment_entity("Default", artifact_location="mlflow-artifacts:/0")

    # ---- experiments

    def create_experiment_entity(self, name, artifact_location="", tags=None):
        for e in self.experiments.values():
            if e["name"] == name:
                raise already_exists(
                    f"Experiment(name={name}) already exists. Error: (raw HTTP string) "
                    "(sqlite3.IntegrityError) UNIQUE constraint failed: experiments.name"
                )
        experiment_id = str(self.next_experiment)
        self.next_experiment += 1
        t = now_ms()
        self.experiments[experiment_id] = {
            "experiment_id": experiment_id,
            "name": name,
            "artifact_location": artifact_location or f"mlflow-artifacts:/{experiment_id}",
            "lifecycle_stage": "active",
            "creation_time": t,
            "last_update_time": t,
            "tags": dict(tags or {}),
        }
        return experiment_id

    def experiment_json(self, e):
        return {**{k: v for k, v in e.items() if k != "tags"}, "tags": tag_list(e["tags"])}

    def experiment_by_name(self, name):
        for e in self.experiments.values():
            if e["name"] == name:
                return e
        return None

    # ---- runs

    def create_run_entity(self, experiment_id, run_name="", start_time=None, tags=None,
                          user_id="", run_id=None, status="RUNNING"):
        experiment_id = experiment_id or "0"
        if experiment_id not in self.experiments:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        tags = dict(tags or {})
        run_name = run_name or tags.get("mlflow.runName") or f"run-{len(self.runs) + 1}"
        tags["mlflow.runName"] = run_name
        run_id = run_id or uuid.uuid4().hex
        self.runs[run_id] = {
            "info": {
                "run_id": run_id,
                "run_uuid": run_id,
                "run_name": run_name,
                "experiment_id": experiment_id,
                "user_id": user_id,
                "status": status,
                "start_time": start_time or now_ms(),
                "end_time": None if status == "RUNNING" else now_ms(),
                "artifact_uri": f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts",
                "lifecycle_stage": "active",
            },
            "metrics": {},  # key -> [metric, ...]
            "params": {},
            "tags": tags,
        }
        return self.runs[run_id]

    def run(self, run_id):
        run = self.runs.get(run_id)
        if run is None:
            raise not_found(f"Run with id={run_id} not found")
        return run

    @staticmethod
    def latest_metrics(run):
        # As MLflow's latest_metrics: the greatest (step, timestamp, value) per key.
        out = []
        for history in run["metrics"].values():
            out.append(max(history, key=lambda m: (m["step"], m["timestamp"], m["value"])))
        return out

    def run_json(self, run):
        return {
            "info": dict(run["info"]),
            "data": {
                "metrics": [dict(m) for m in self.latest_metrics(run)],
                "params": tag_list(run["params"]),
                "tags": tag_list(run["tags"]),
            },
            "inputs": {},
        }

    def log_metric(self, run, key, value, timestamp, step):
        run["metrics"].setdefault(key, []).append(
            {"key": key, "value": value, "timestamp": timestamp, "step": step}
        )

    def log_param(self, run, key, value):
        old = run["params"].get(key)
        if old is not None and old != value:
            raise invalid(
                f"Changing param values is not allowed. Param with key='{key}' was already "
                f"logged with value='{old}' for run ID='{run['info']['run_id']}'. "
                f"Attempted logging new value '{value}'."
            )
        run["params"][key] = value

    # ---- registered models and versions

    def model(self, name):
        model = self.models.get(name)
        if model is None:
            raise not_found(f"Registered Model with name={name} not found")
        return model

    def create_model_entity(self, name, description="", tags=None):
        if name in self.models:
            raise already_exists(f"Registered Model (name={name}) already exists.")
        t = now_ms()
        self.models[name] = {
            "name": name,
            "creation_timestamp": t,
            "last_updated_timestamp": t,
            "description": description,
            "tags": dict(tags or {}),
            "aliases": {},
            "versions": {},
        }
        return self.models[name]

    def version(self, name, version):
        model = self.models.get(name)
        entity = None
        if model is not None and re.fullmatch(r"\d+", version or ""):
            entity = model["versions"].get(int(version))
        if entity is None:
            raise not_found(f"Model Version (name={name}, version={version}) not found")
        return entity

    def create_version_entity(self, name, source, run_id="", tags=None, run_link="",
                              description=""):
        model = self.model(name)
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", source):
            run = self.runs.get(run_id) if run_id else None
            root = run["info"]["artifact_uri"] if run else None
            if root is None or not source.startswith(root.rstrip("/") + "/"):
                raise invalid(
                    f"Invalid model version source: '{source}'. To use a local path as a "
                    "model version source, the run_id request parameter has to be specified "
                    "and the local path has to be contained within the artifact directory of "
                    "the run specified by the run_id."
                )
        number = max(model["versions"], default=0) + 1
        t = now_ms()
        model["versions"][number] = {
            "name": name,
            "version": str(number),
            "creation_timestamp": t,
            "last_updated_timestamp": t,
            "current_stage": "None",
            "description": description,
            "source": source,
            "run_id": run_id,
            "status": "READY",
            "tags": dict(tags or {}),
            "run_link": run_link,
        }
        model["last_updated_timestamp"] = t
        return model["versions"][number]

    def version_json(self, v):
        model = self.models[v["name"]]
        out = {k: val for k, val in v.items() if k != "tags"}
        out["tags"] = tag_list(v["tags"])
        out["aliases"] = sorted(a for a, num in model["aliases"].items() if num == v["version"])
        return out

    def latest_versions(self, model, stages):
        by_stage = {}
        for number in sorted(model["versions"]):
            v = model["versions"][number]
            if v["status"] == "READY":
                by_stage[v["current_stage"]] = v
        if not stages:
            return list(by_stage.values())
        return [by_stage[s] for s in stages if s in by_stage]

    def model_json(self, model):
        return {
            "name": model["name"],
            "creation_timestamp": model["creation_timestamp"],
            "last_updated_timestamp": model["last_updated_timestamp"],
            "description": model["description"],
            "latest_versions": [self.version_json(v) for v in self.latest_versions(model, [])],
            "tags": tag_list(model["tags"]),
            "aliases": [
                {"alias": a, "version": num} for a, num in sorted(model["aliases"].items())
            ],
        }

    def set_alias(self, name, alias, version):
        if re.fullmatch(r"[vV]\d+", alias):
            raise invalid(f"Version alias name '{alias}' is reserved.")
        model = self.model(name)
        self.version(name, version)
        model["aliases"][alias] = version

    def transition(self, name, version, stage, archive_existing):
        v = self.version(name, version)
        canonical = STAGES.get(stage.lower())
        if canonical is None:
            raise invalid(
                f"Invalid Model Version stage: {stage}. "
                "Value must be one of None, Staging, Production, Archived."
            )
        t = now_ms()
        if archive_existing and canonical in ("Staging", "Production"):
            for other in self.models[name]["versions"].values():
                if other is not v and other["current_stage"] == canonical:
                    other["current_stage"] = "Archived"
                    other["last_updated_timestamp"] = t
        v["current_stage"] = canonical
        v["last_updated_timestamp"] = t
        return v


# ---------------------------------------------------------------- endpoints

ROUTES = {}  # path below the prefix -> {method: function(state, params) -> dict}


def route(path, *methods):
    def register(function):
        for method in methods:
            ROUTES.setdefault(path, {})[method] = function
        return function
    return register


def canonical_stages(values):
    out = []
    for s in values:
        canonical = STAGES.get(s.lower())
        if canonical is None:
            raise invalid(
                f"Invalid Model Version stage: {s}. "
                "Value must be one of None, Staging, Production, Archived."
            )
        out.append(canonical)
    return out


@route("experiments/get-by-name", "GET")
def get_experiment_by_name(state, p):
    name = p.string("experiment_name", required=True)
    e = state.experiment_by_name(name)
    if e is None:
        raise not_found(f"Could not find experiment with name '{name}'")
    return {"experiment": state.experiment_json(e)}


@route("experiments/get", "GET")
def get_experiment(state, p):
    experiment_id = p.string("experiment_id", required=True)
    e = state.experiments.get(experiment_id)
    if e is None:
        raise not_found(f"No Experiment with id={experiment_id} exists")
    return {"experiment": state.experiment_json(e)}


@route("experiments/create", "POST")
def create_experiment(state, p):
    name = p.string("name", required=True)
    experiment_id = state.create_experiment_entity(
        name, p.string("artifact_location"), tag_dict(p.objects("tags"), "tags"))
    return {"experiment_id": experiment_id}


@route("runs/create", "POST")
def create_run(state, p):
    run = state.create_run_entity(
        p.string("experiment_id"), p.string("run_name"), p.integer("start_time"),
        tag_dict(p.objects("tags"), "tags"), p.string("user_id"))
    return {"run": state.run_json(run)}


@route("runs/get", "GET")
def get_run(state, p):
    run_id = p.string("run_id") or p.string("run_uuid")
    if not run_id:
        p.string("run_id", required=True)
    return {"run": state.run_json(state.run(run_id))}


@route("runs/update", "POST")
def update_run(state, p):
    run_id = p.string("run_id") or p.string("run_uuid")
    if not run_id:
        p.string("run_id", required=True)
    run = state.run(run_id)
    status = p.string("status")
    if status in RUN_STATUSES:  # an unknown status answers 200 and changes nothing
        run["info"]["status"] = status
        end_time = p.integer("end_time")
        if status != "RUNNING":
            run["info"]["end_time"] = end_time or now_ms()
    if p.string("run_name"):
        run["info"]["run_name"] = p.string("run_name")
        run["tags"]["mlflow.runName"] = p.string("run_name")
    return {"run_info": dict(run["info"])}


@route("runs/delete", "POST")
def delete_run(state, p):
    state.run(p.string("run_id", required=True))["info"]["lifecycle_stage"] = "deleted"
    return {}


def checked_metric(m):
    params = Params(m)
    key = params.string("key", required=True)
    value = params.number("value", required=True)
    timestamp = params.integer("timestamp")
    if timestamp is None:
        raise invalid(
            "Missing value for required parameter 'timestamp'. "
            "See the API docs for more information about request parameters."
        )
    return key, value, timestamp, params.integer("step", 0)


@route("runs/log-metric", "POST")
def log_metric(state, p):
    run_id = p.string("run_id") or p.string("run_uuid")
    if not run_id:
        p.string("run_id", required=True)
    key, value, timestamp, step = checked_metric(p.values)
    state.log_metric(state.run(run_id), key, value, timestamp, step)
    return {}


@route("runs/log-parameter", "POST")
def log_param(state, p):
    run_id = p.string("run_id") or p.string("run_uuid")
    if not run_id:
        p.string("run_id", required=True)
    state.log_param(state.run(run_id), p.string("key", required=True), p.string("value"))
    return {}


@route("runs/set-tag", "POST")
def set_tag(state, p):
    run_id = p.string("run_id") or p.string("run_uuid")
    if not run_id:
        p.string("run_id", required=True)
    state.run(run_id)["tags"][p.string("key", required=True)] = p.string("value")
    return {}


@route("runs/log-batch", "POST")
def log_batch(state, p):
    run = state.run(p.string("run_id", required=True))
    metrics = [checked_metric(m) for m in p.objects("metrics")]
    params = tag_dict(p.objects("params"), "params")
    tags = tag_dict(p.objects("tags"), "tags")
    if len(metrics) > 1000 or len(params) > 100 or len(tags) > 100 or \
            len(metrics) + len(params) + len(tags) > 1000:
        raise invalid("A batch logging request can contain at most 1000 metrics, 100 params, "
                      "100 tags, and 1000 entities in total.")
    for key, value in params.items():
        state.log_param(run, key, value)
    for key, value, timestamp, step in metrics:
        state.log_metric(run, key, value, timestamp, step)
    run["tags"].update(tags)
    return {}


def run_field(state, run, entity, key):
    if entity in ("metric", "metrics"):
        latest = {m["key"]: m["value"] for m in state.latest_metrics(run)}
        return latest.get(key)
    if entity in ("param", "params", "parameter", "parameters"):
        return run["params"].get(key)
    if entity in ("tag", "tags"):
        return run["tags"].get(key)
    if entity in ("attribute", "attributes", "attr", "run", ""):
        name = {"id": "run_id"}.get(key, key)
        if name not in run["info"]:
            raise invalid(f"Invalid attribute key '{key}' specified.")
        return run["info"][name]
    return None


@route("runs/search", "POST")
def search_runs(state, p):
    experiment_ids = p.strings("experiment_ids")
    view = p.string("run_view_type") or "ACTIVE_ONLY"
    if view not in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        raise invalid(f"Invalid value {view} for parameter 'run_view_type' supplied.")
    clauses = parse_filter(p.string("filter"))
    runs = []
    for run in state.runs.values():
        if run["info"]["experiment_id"] not in experiment_ids:
            continue
        stage = run["info"]["lifecycle_stage"]
        if (view == "ACTIVE_ONLY" and stage != "active") or \
                (view == "DELETED_ONLY" and stage != "deleted"):
            continue
        if all(compare(run_field(state, run, e, k), op, v) for e, k, op, v in clauses):
            runs.append(run)
    runs.sort(key=lambda r: r["info"]["run_id"])
    runs.sort(key=lambda r: r["info"]["start_time"], reverse=True)
    for order in reversed(p.strings("order_by")):
        parts = order.split()
        descending = len(parts) > 1 and parts[-1].upper() == "DESC"
        entity, key = "", parts[0]
        if "." in key:
            entity, key = key.split(".", 1)
        key = key.strip("`\"")
        present = [r for r in runs if run_field(state, r, entity.lower(), key) is not None]
        missing = [r for r in runs if run_field(state, r, entity.lower(), key) is None]
        present.sort(key=lambda r: run_field(state, r, entity.lower(), key), reverse=descending)
        runs = present + missing
    chunk, token = page(runs, p, 1000, 50000)
    return {"runs": [state.run_json(r) for r in chunk], "next_page_token": token}


@route("registered-models/create", "POST")
def create_registered_model(state, p):
    model = state.create_model_entity(
        p.string("name", required=True), p.string("description"),
        tag_dict(p.objects("tags"), "tags"))
    return {"registered_model": state.model_json(model)}


@route("registered-models/get", "GET")
def get_registered_model(state, p):
    return {"registered_model": state.model_json(state.model(p.string("name", required=True)))}


@route("registered-models/update", "PATCH")
def update_registered_model(state, p):
    model = state.model(p.string("name", required=True))
    if p.raw("description") is not None:
        model["description"] = p.string("description")
        model["last_updated_timestamp"] = now_ms()
    return {"registered_model": state.model_json(model)}


@route("registered-models/search", "GET")
def search_registered_models(state, p):
    clauses = parse_filter(p.string("filter"))
    models = []
    for model in sorted(state.models.values(), key=lambda m: m["name"]):
        ok = True
        for entity, key, op, value in clauses:
            if entity in ("tag", "tags"):
                actual = model["tags"].get(key)
            elif key == "name":
                actual = model["name"]
            else:
                raise invalid(f"Invalid attribute key '{key}' specified. "
                              "Valid keys are '{'name'}'")
            ok = ok and compare(actual, op, value)
        if ok:
            models.append(model)
    chunk, token = page(models, p, 100, 1000)
    return {"registered_models": [state.model_json(m) for m in chunk], "next_page_token": token}


@route("registered-models/get-latest-versions", "GET", "POST")
def get_latest_versions(state, p):
    model = state.model(p.string("name", required=True))
    stages = canonical_stages(p.strings("stages"))
    return {"model_versions": [state.version_json(v) for v in state.latest_versions(model, stages)]}


@route("registered-models/alias", "POST", "GET", "DELETE")
def registered_model_alias(state, p, method):
    name = p.string("name", required=True)
    alias = p.string("alias", required=True)
    if method == "POST":
        state.set_alias(name, alias, p.string("version", required=True))
        return {}
    if method == "DELETE":
        model = state.model(name)
        model["aliases"].pop(alias, None)
        return {}
    model = state.models.get(name)
    if model is None or alias not in model["aliases"]:
        raise invalid(f"Registered model alias {alias} not found.")
    return {"model_version": state.version_json(state.version(name, model["aliases"][alias]))}


@route("model-versions/create", "POST")
def create_model_version(state, p):
    v = state.create_version_entity(
        p.string("name", required=True), p.string("source", required=True),
        p.string("run_id"), tag_dict(p.objects("tags"), "tags"), p.string("run_link"),
        p.string("description"))
    return {"model_version": state.version_json(v)}


@route("model-versions/get", "GET")
def get_model_version(state, p):
    v = state.version(p.string("name", required=True), p.string("version", required=True))
    return {"model_version": state.version_json(v)}


@route("model-versions/update", "PATCH")
def update_model_version(state, p):
    v = state.version(p.string("name", required=True), p.string("version", required=True))
    if p.raw("description") is not None:
        v["description"] = p.string("description")
        v["last_updated_timestamp"] = now_ms()
    return {"model_version": state.version_json(v)}


@route("model-versions/set-tag", "POST")
def set_model_version_tag(state, p):
    v = state.version(p.string("name", required=True), p.string("version", required=True))
    v["tags"][p.string("key", required=True)] = p.string("value")
    return {}


@route("model-versions/transition-stage", "POST")
def transition_model_version_stage(state, p):
    v = state.transition(
        p.string("name", required=True), p.string("version", required=True),
        p.string("stage", required=True), p.boolean("archive_existing_versions"))
    return {"model_version": state.version_json(v)}


@route("model-versions/search", "GET")
def search_model_versions(state, p):
    clauses = parse_filter(p.string("filter"))
    versions = []
    for model in state.models.values():
        for v in model["versions"].values():
            ok = True
            for entity, key, op, value in clauses:
                if entity in ("tag", "tags"):
                    actual = v["tags"].get(key)
                elif key in ("name", "run_id", "source_path", "source"):
                    actual = v["source" if key == "source_path" else key]
                elif key in ("version_number", "version"):
                    actual = float(v["version"])
                else:
                    raise invalid(f"Invalid attribute key '{key}' specified.")
                ok = ok and compare(actual, op, value)
            if ok:
                versions.append(v)
    versions.sort(key=lambda v: int(v["version"]), reverse=True)
    versions.sort(key=lambda v: v["name"])
    for order in reversed(p.strings("order_by")):
        parts = order.split()
        descending = len(parts) > 1 and parts[-1].upper() == "DESC"
        column = {"version_number": "version"}.get(parts[0], parts[0])
        if column not in ("name", "version", "creation_timestamp", "last_updated_timestamp"):
            raise invalid(f"Invalid order by key '{parts[0]}' specified.")
        keyf = (lambda v: int(v["version"])) if column == "version" else (lambda v, c=column: v[c])
        versions.sort(key=keyf, reverse=descending)
    chunk, token = page(versions, p, 10000, 200000)
    return {"model_versions": [state.version_json(v) for v in chunk], "next_page_token": token}


# ---------------------------------------------------------------- HTTP

class Config:
    html = False
    hang = False
    fail_first = 0
    require_token = ""
    require_basic = ""
    verbose = False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mlflow-test-server/" + MLFLOW_VERSION
    state = None  # set in main()
    counter_lock = threading.Lock()
    api_requests = 0

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if Config.verbose:
            sys.stderr.write("mlflow-test-server: " + (format % args) + "\n")

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.dispatch("GET")

    def do_POST(self):  # noqa: N802
        self.dispatch("POST")

    def do_PATCH(self):  # noqa: N802
        self.dispatch("PATCH")

    def do_DELETE(self):  # noqa: N802
        self.dispatch("DELETE")

    def do_PUT(self):  # noqa: N802
        self.dispatch("PUT")

    def answer(self, status, body, content_type, extra_headers=()):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def answer_json(self, status, value):
        self.answer(status, json.dumps(value), "application/json")

    def authorised(self):
        header = self.headers.get("Authorization", "")
        if Config.require_token:
            return header == "Bearer " + Config.require_token
        if Config.require_basic:
            return header == "Basic " + base64.b64encode(Config.require_basic.encode()).decode()
        return True

    def dispatch(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if Config.hang:
            threading.Event().wait()  # never answers; the test kills the server
        if Config.html:
            self.answer(200, HTML_PAGE, "text/html; charset=utf-8")
            return
        url = urlsplit(self.path)
        path = url.path
        if path == "/health":
            if method != "GET":
                self.answer(405, HTML_405, "text/html; charset=utf-8")
            else:
                self.answer(200, "OK", "text/html; charset=utf-8")
            return
        if path == "/version":
            self.answer(200, MLFLOW_VERSION, "text/html; charset=utf-8")
            return
        endpoint = None
        for prefix in API_PREFIXES:
            if path.startswith(prefix):
                endpoint = path[len(prefix):]
        if endpoint is None or endpoint not in ROUTES:
            self.answer(404, HTML_404, "text/html; charset=utf-8")
            return
        if not self.authorised():
            self.answer(401, UNAUTHENTICATED, "text/html; charset=utf-8",
                        [("WWW-Authenticate", 'Basic realm="mlflow"')])
            return
        with Handler.counter_lock:
            Handler.api_requests += 1
            failing = Handler.api_requests <= Config.fail_first
        if failing:
            self.answer_json(503, {"error_code": "TEMPORARILY_UNAVAILABLE",
                                   "message": "The server is temporarily unavailable."})
            return
        function = ROUTES[endpoint].get(method)
        if function is None:
            self.answer(405, HTML_405, "text/html; charset=utf-8")
            return
        try:
            params = self.params(method, url.query, body)
            with self.state.lock:
                if endpoint == "registered-models/alias":
                    result = function(self.state, params, method)
                else:
                    result = function(self.state, params)
            self.answer_json(200, prune(result))
        except ApiError as e:
            self.answer_json(e.status, {"error_code": e.error_code, "message": e.message})
        except Exception as e:  # a bug in this server: show it as MLflow would
            self.answer_json(500, {"error_code": "INTERNAL_ERROR", "message": repr(e)})

    def params(self, method, query, body):
        if method == "GET" and query:
            parsed = parse_qs(query, keep_blank_values=True)
            values = {}
            for key, items in parsed.items():
                key = key[:-2] if key.endswith("[]") else key
                values[key] = items if len(items) > 1 or key in (
                    "stages", "experiment_ids", "order_by") else items[0]
            return Params(values)
        if method in ("POST", "PUT"):
            content_type = self.headers.get("Content-Type")
            if content_type is None:
                raise invalid("Bad Request. Content-Type header is missing.")
            if content_type.split(";")[0].strip() != "application/json":
                raise invalid("Bad Request. Content-Type must be one of ['application/json'].")
        try:
            values = json.loads(body) if body else {}
        except ValueError:
            values = {}  # MLflow reads a malformed body as empty
        return Params(values)


def seed(state, path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for name in data.get("experiments", []):
        state.create_experiment_entity(name)
    for r in data.get("runs", []):
        experiment = state.experiment_by_name(r.get("experiment", "Default"))
        if experiment is None:
            experiment_id = state.create_experiment_entity(r["experiment"])
        else:
            experiment_id = experiment["experiment_id"]
        run = state.create_run_entity(experiment_id, r.get("run_name", ""), None,
                                      r.get("tags", {}), "", r.get("run_id"),
                                      r.get("status", "FINISHED"))
        for key, value in r.get("params", {}).items():
            state.log_param(run, key, value)
        for m in r.get("metrics", []):
            state.log_metric(run, m["key"], m["value"], m.get("timestamp", now_ms()),
                             m.get("step", 0))
    for m in data.get("models", []):
        state.create_model_entity(m["name"], m.get("description", ""), m.get("tags", {}))
        for v in m.get("versions", []):
            entity = state.create_version_entity(
                m["name"], v.get("source") or f"runs:/{v.get('run_id', 'none')}/model",
                v.get("run_id", ""), v.get("tags", {}))
            if v.get("stage"):
                state.transition(m["name"], entity["version"], v["stage"], False)
            for alias in v.get("aliases", []):
                state.set_alias(m["name"], alias, entity["version"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed")
    parser.add_argument("--html", action="store_true")
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--require-token", default="")
    parser.add_argument("--require-basic", default="")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    Config.html = args.html
    Config.hang = args.hang
    Config.fail_first = args.fail_first
    Config.require_token = args.require_token
    Config.require_basic = args.require_basic
    Config.verbose = args.verbose

    Handler.state = State()
    if args.seed:
        seed(Handler.state, args.seed)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
