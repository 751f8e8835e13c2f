"""Evaluate the template's CloudWatch alarms over EMF records, as CloudWatch would.

moto stores alarms but never evaluates them, so the tests do: each alarm's condition is read
from ``deploy/template.yaml`` as declared (metric or metric-math expression, statistic,
period, threshold, comparison, evaluation periods, datapoints to alarm, missing data) and
applied to the EMF records the handler printed, bucketed into the alarm's periods.
"""

from __future__ import annotations

import json
import operator
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "template.yaml"

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
STATS: dict[str, Callable[[list[float]], float]] = {
    "Sum": sum,
    "Maximum": max,
    "Minimum": min,
    "Average": statistics.fmean,
    "SampleCount": len,
}


def cfn_yaml(text: str) -> Any:
    """A CloudFormation template with intrinsic tags kept as ``{tag: value}``."""

    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node, deep=True)}
        return {suffix: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]

    Loader.add_multi_constructor("!", tagged)
    return yaml.load(text, Loader=Loader)


@dataclass(frozen=True)
class Query:
    """One metric an alarm reads: its name, dimensions and statistic."""

    id: str
    namespace: str
    name: str
    dimensions: dict[str, str]
    stat: str


@dataclass(frozen=True)
class Alarm:
    """An alarm's condition as the template declares it (parameters resolved)."""

    name: str
    queries: list[Query]
    expression: str | None  # None: the one query's value; else "a / b" over two queries
    period: int
    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing: str


class _Resolver:
    """Ref, FindInMap, If and Equals/Not over the template's parameters."""

    def __init__(self, template: dict[str, Any], params: dict[str, Any], function: str) -> None:
        self.template = template
        self.params = {k: v.get("Default") for k, v in template["Parameters"].items()} | params
        self.refs = {"Function": function, "AlarmTopic": "arn:aws:sns:local:0:alarms"}

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            return value
        [(tag, arg)] = value.items()
        if tag in ("Ref", "!Ref"):
            return self.params[arg] if arg in self.params else self.refs[arg]
        if tag == "FindInMap":
            mapping, key, attr = (str(self(a)) for a in arg)
            return self.template["Mappings"][mapping][key][attr]
        if tag == "If":
            return self(arg[1] if self.condition(arg[0]) else arg[2])
        if tag == "Equals":
            return str(self(arg[0])) == str(self(arg[1]))
        if tag == "Not":
            return not self(arg[0])
        return value

    def condition(self, name: str) -> bool:
        return bool(self(self.template["Conditions"][name]))

    def deep(self, value: Any) -> Any:
        """``value`` with every intrinsic inside it resolved."""
        value = self(value)
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        return value


def _query(qid: str, metric: dict[str, Any], stat: str) -> Query:
    dims = {d["Name"]: str(d["Value"]) for d in metric.get("Dimensions", [])}
    return Query(qid, metric["Namespace"], metric["MetricName"], dims, stat)


def alarm_properties(
    function: str, canary_minutes: int = 0, params: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Each alarm the template makes with these parameters: its Properties, resolved."""
    template = cfn_yaml(TEMPLATE.read_text())
    r = _Resolver(template, {"CanaryScheduleMinutes": canary_minutes, **(params or {})}, function)
    return {
        name: r.deep(res["Properties"])
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::CloudWatch::Alarm"
        and ("Condition" not in res or r.condition(res["Condition"]))
    }


def template_alarms(
    function: str, canary_minutes: int = 0, params: dict[str, Any] | None = None
) -> dict[str, Alarm]:
    """The template's alarms that exist with these parameters, as conditions to evaluate."""
    out: dict[str, Alarm] = {}
    for name, p in alarm_properties(function, canary_minutes, params).items():
        if "Metrics" in p:
            [shown] = [m for m in p["Metrics"] if m.get("ReturnData")]
            queries = [
                _query(m["Id"], m["MetricStat"]["Metric"], m["MetricStat"]["Stat"])
                for m in p["Metrics"]
                if "MetricStat" in m
            ]
            periods = {int(m["MetricStat"]["Period"]) for m in p["Metrics"] if "MetricStat" in m}
            [period] = periods
            expression: str | None = shown["Expression"]
        else:
            queries = [_query("m", p, p["Statistic"])]
            period, expression = int(p["Period"]), None
        evaluation = int(p["EvaluationPeriods"])
        out[name] = Alarm(
            name,
            queries,
            expression,
            period,
            float(p["Threshold"]),
            p["ComparisonOperator"],
            evaluation,
            int(p.get("DatapointsToAlarm", evaluation)),
            p.get("TreatMissingData", "missing"),
        )
    return out


def emf_records(lines: list[str]) -> list[dict[str, Any]]:
    """The EMF records among printed lines (JSON objects with an ``_aws`` directive)."""
    out = []
    for line in lines:
        if line.startswith("{") and '"_aws"' in line:
            record = json.loads(line)
            if "CloudWatchMetrics" in record["_aws"]:
                out.append(record)
    return out


def value(record: dict[str, Any], name: str) -> float:
    """A metric's value in an EMF record (EMF allows a number or a list of one)."""
    raw = record[name]
    [only] = raw if isinstance(raw, list) else [raw]
    return float(only)


def shifted(record: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The same record, emitted ``seconds`` later (a later invocation's)."""
    copy: dict[str, Any] = json.loads(json.dumps(record))
    copy["_aws"]["Timestamp"] += int(seconds * 1000)
    return copy


def _values(query: Query, records: list[dict[str, Any]], start: int, end: int) -> list[float]:
    values: list[float] = []
    for record in records:
        stamp = record["_aws"]["Timestamp"]
        if not start <= stamp < end:
            continue
        for directive in record["_aws"]["CloudWatchMetrics"]:
            names = {m["Name"] for m in directive["Metrics"]}
            dimension_sets = [set(d) for d in directive["Dimensions"]]
            if directive["Namespace"] != query.namespace or query.name not in names:
                continue
            if set(query.dimensions) not in dimension_sets:
                continue
            if any(record.get(k) != v for k, v in query.dimensions.items()):
                continue
            raw = record[query.name]
            values += [float(v) for v in (raw if isinstance(raw, list) else [raw])]
    return values


def datapoint(alarm: Alarm, records: list[dict[str, Any]], start: int) -> float | None:
    """The alarm's value for the period starting at ``start`` (ms); None: no data."""
    end = start + alarm.period * 1000
    stats: dict[str, float] = {}
    for q in alarm.queries:
        values = _values(q, records, start, end)
        if values:
            stats[q.id] = STATS[q.stat](values)
    if alarm.expression is None:
        return stats.get("m")
    top, _, bottom = (part.strip() for part in alarm.expression.partition("/"))
    assert _ == "/" and {top, bottom} == {q.id for q in alarm.queries}, alarm.expression
    if top not in stats or not stats.get(bottom):
        return None  # CloudWatch gives no datapoint for a missing operand or a division by 0
    return stats[top] / stats[bottom]


def alarm_state(alarm: Alarm, records: list[dict[str, Any]], at_ms: int) -> str:
    """ALARM, OK or INSUFFICIENT_DATA over the evaluation periods ending with ``at_ms``'s."""
    period_ms = alarm.period * 1000
    last = at_ms - at_ms % period_ms
    starts = [last - k * period_ms for k in range(alarm.evaluation_periods)][::-1]
    points = [datapoint(alarm, records, s) for s in starts]
    breaching = 0
    seen = 0
    for value in points:
        if value is None:
            if alarm.treat_missing == "breaching":
                breaching += 1
                seen += 1
            elif alarm.treat_missing == "notBreaching":
                seen += 1
            continue
        seen += 1
        breaching += COMPARE[alarm.comparison](value, alarm.threshold)
    if breaching >= alarm.datapoints_to_alarm:
        return "ALARM"
    return "OK" if seen else "INSUFFICIENT_DATA"
