"""The template's alarms: deployed on moto as declared, and each one's condition evaluated.

moto stores alarms without evaluating them; ``tests/alarm_eval.py`` reads each alarm's
condition from the template and applies it to EMF records the handler really printed (a
healthy judge, a judge that fails, a judge that throttles), placed in consecutive periods.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.metrics import MetricUnit

from judge import lambda_handler, observe
from judge.deadline import LocalContext
from judge.deploy.stack import CANARY_MINUTES, StackSettings, deploy
from judge.metrics import metric
from judge.server.scripted import Faults, ScriptedJudge
from tests.alarm_eval import (
    TEMPLATE,
    Alarm,
    alarm_properties,
    alarm_state,
    cfn_yaml,
    emf_records,
    shifted,
    template_alarms,
    value,
)
from tests.conftest import ServeFn, make_evaluator, sample
from tests.test_deploy import local_aws  # noqa: F401 - the moto server fixture

TRAINING = {"UnscoredRateAlarm", "FailedCallsAlarm", "ThrottleRateAlarm"}
TRAINING |= {"RewardLengthCorrAlarm", "ZeroSpreadGroupsAlarm"}
CANARY = {"CanaryDriftMeanAlarm", "CanaryDriftMaxAlarm", "CanaryUnscoredAlarm"}
CANARY |= {"CanariesMissingAlarm"}


def _batch_record(
    serve: ServeFn, judge: ScriptedJudge, capfd: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """The EMF record of one real invocation (20 samples) against ``judge``."""
    serve(judge)
    lambda_handler.reset()
    lambda_handler._evaluator = make_evaluator(
        runtime={"cache": False}, retry={"max_attempts": 3, "initial_backoff_s": 0.001}
    )
    batch = [sample(f"s{i}", f"Happy to help with order {i}, thanks!") for i in range(20)]
    try:
        capfd.readouterr()
        lambda_handler.handler(batch, LocalContext(60))
        [record] = emf_records(capfd.readouterr().out.splitlines())
    finally:
        lambda_handler.reset()
    return record


@pytest.fixture
def records(
    serve: ServeFn, capfd: pytest.CaptureFixture[str]
) -> Iterator[dict[str, dict[str, Any]]]:
    """One emitted record each: healthy, failing (access denied), throttled."""
    yield {
        "healthy": _batch_record(serve, ScriptedJudge(), capfd),
        "failing": _batch_record(serve, ScriptedJudge(faults=Faults(access_denied=1.0)), capfd),
        "throttled": _batch_record(
            serve, ScriptedJudge(faults=Faults(throttle=0.7), seed=3), capfd
        ),
    }


def _series(records: list[dict[str, Any]], alarm: Alarm) -> tuple[list[dict[str, Any]], int]:
    """``records`` one per period, consecutive, ending at the returned time (ms)."""
    placed = [shifted(r, k * alarm.period) for k, r in enumerate(records)]
    return placed, placed[-1]["_aws"]["Timestamp"]


def test_the_records_are_what_they_claim(records: dict[str, dict[str, Any]]) -> None:
    healthy, failing, throttled = records["healthy"], records["failing"], records["throttled"]
    assert value(healthy, "UnscoredSamples") == 0 and value(healthy, "Throttles") == 0
    assert value(failing, "UnscoredSamples") == 20 and value(failing, "JudgeFailedCalls") > 0
    assert value(throttled, "Throttles") > value(throttled, "JudgeCalls") * 0.5


@pytest.mark.parametrize(
    ("alarm_name", "bad"),
    [
        ("UnscoredRateAlarm", "failing"),
        ("FailedCallsAlarm", "failing"),
        ("ThrottleRateAlarm", "throttled"),
    ],
)
def test_each_training_alarm_fires_on_breaching_data_only(
    records: dict[str, dict[str, Any]], alarm_name: str, bad: str
) -> None:
    alarm = template_alarms(function="local")[alarm_name]
    n = alarm.evaluation_periods
    breaching, at = _series([records[bad]] * n, alarm)
    assert alarm_state(alarm, breaching, at) == "ALARM"
    calm, at = _series([records["healthy"]] * n, alarm)
    assert alarm_state(alarm, calm, at) == "OK"
    # too few breaching periods of the window: not an alarm (DatapointsToAlarm as declared)
    few = [records[bad]] * (alarm.datapoints_to_alarm - 1)
    mixed, at = _series([*few, *[records["healthy"]] * (n - len(few))], alarm)
    assert alarm_state(alarm, mixed, at) == "OK"
    # no invocation at all is not an alarm either
    assert alarm_state(alarm, [], at) in ("OK", "INSUFFICIENT_DATA")


def _emitted(figures: dict[str, float], capfd: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """One EMF record of ``figures`` through ``judge.observe``'s metrics logger.

    As ``judge.observe`` sends them: the table's unit, a Percent share as 0..100.
    """
    capfd.readouterr()
    for name, share in figures.items():
        unit = MetricUnit(metric(name).unit)
        percent = unit == MetricUnit.Percent
        observe.metrics.add_metric(name=name, unit=unit, value=share * 100 if percent else share)
    observe.metrics.flush_metrics()
    [record] = emf_records(capfd.readouterr().out.splitlines())
    return record


@pytest.mark.parametrize(
    ("alarm_name", "figure", "bad", "good"),
    [
        ("RewardLengthCorrAlarm", "RewardLengthCorr", 0.6, 0.1),
        ("ZeroSpreadGroupsAlarm", "ZeroSpreadGroupRate", 0.3, 0.2),  # a share; sent as percent
    ],
)
def test_the_training_signal_alarms(
    capfd: pytest.CaptureFixture[str], alarm_name: str, figure: str, bad: float, good: float
) -> None:
    alarm = template_alarms(function="local")[alarm_name]
    n = alarm.evaluation_periods
    high = _emitted({"BatchSize": 24, figure: bad}, capfd)
    low = _emitted({"BatchSize": 24, figure: good}, capfd)
    series, at = _series([high] * n, alarm)
    assert alarm_state(alarm, series, at) == "ALARM"
    series, at = _series([low] * n, alarm)
    assert alarm_state(alarm, series, at) == "OK"
    series, at = _series([*[high] * (n - 1), low], alarm)  # a hack that stopped: no alarm
    assert alarm_state(alarm, series, at) == "OK"
    # a batch without the figure (no group to measure) is missing data, not a breach
    none, at = _series([_emitted({"BatchSize": 24}, capfd)] * n, alarm)
    assert alarm_state(alarm, none, at) == "OK"


def test_a_threshold_parameter_moves_the_alarm(records: dict[str, dict[str, Any]]) -> None:
    lenient = template_alarms(function="local", params={"ThrottleRateThreshold": 1000})
    alarm = lenient["ThrottleRateAlarm"]
    series, at = _series([records["throttled"]] * alarm.evaluation_periods, alarm)
    assert alarm.threshold == 1000 and alarm_state(alarm, series, at) == "OK"


def test_alarms_read_only_metrics_of_the_table() -> None:
    alarms = template_alarms(function="fn", canary_minutes=60)
    assert set(alarms) == TRAINING | CANARY
    for alarm in alarms.values():
        for query in alarm.queries:
            metric(query.name)  # KeyError: a name the function never emits
            assert query.namespace == "RLAIFJudge"
            assert query.dimensions == {"function": "fn", "service": "rlaif-judge"}
    assert set(template_alarms(function="fn")) == TRAINING  # canaries off: no canary alarms
    # a canary alarm's period is the schedule's (one run per period)
    assert template_alarms(function="fn", canary_minutes=360)["CanaryDriftMeanAlarm"].period == (
        360 * 60
    )


def test_the_cli_offers_the_templates_schedules() -> None:
    params = cfn_yaml(TEMPLATE.read_text())["Parameters"]
    assert tuple(params["CanaryScheduleMinutes"]["AllowedValues"]) == CANARY_MINUTES
    assert params["CanaryScheduleMinutes"]["Default"] == 0
    mapping = cfn_yaml(TEMPLATE.read_text())["Mappings"]["CanaryPeriod"]
    assert {int(k) for k in mapping} == set(CANARY_MINUTES)


def _tiny_zip(tmp_path: Path) -> Path:
    path = tmp_path / "code.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("judge/lambda_handler.py", "def handler(event, context):\n    return []\n")
    return path


def _put_as_declared(properties: dict[str, dict[str, Any]], prefix: str) -> dict[str, Any]:
    """Each alarm as the template declares it, sent to moto's CloudWatch as PutMetricAlarm.

    moto's CloudFormation skips AWS::CloudWatch::Alarm (5.2.5 warns "No Moto CloudFormation
    support"), so the resolved properties go through the API instead: botocore checks each
    is a well-formed request, and moto stores what it was given.
    """
    cloudwatch = boto3.client("cloudwatch")
    for name, props in properties.items():
        args = {k: v for k, v in props.items() if k != "AlarmDescription"}
        if "Metrics" in args:  # CloudFormation's Period/Stat spellings are the API's too
            args["Metrics"] = [
                {k: v for k, v in m.items() if k != "Label"} for m in args["Metrics"]
            ]
        cloudwatch.put_metric_alarm(AlarmName=f"{prefix}-{name}", **args)
    found = cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    return {a["AlarmName"].removeprefix(f"{prefix}-"): a for a in found}


def test_deployed_on_moto_as_declared(local_aws: str, tmp_path: Path) -> None:  # noqa: F811
    code = _tiny_zip(tmp_path)
    settings = StackSettings(stack="watched", canary_minutes=60)
    done = deploy(code, "v1", "us.amazon.nova-pro-v1:0", settings, poll_s=1)
    cfn = boto3.client("cloudformation")
    outputs = cfn.describe_stacks(StackName="watched")["Stacks"][0]["Outputs"]
    topic = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "AlarmTopicArn")
    assert topic in {t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]}
    events = boto3.client("events")
    [rule] = events.list_rules()["Rules"]
    assert rule["ScheduleExpression"] == "rate(60 minutes)" and rule["State"] == "ENABLED"
    [target] = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == done.function_arn
    assert json.loads(target["Input"]) == {"judge_canary": True}

    properties = alarm_properties("rlaif-judge-reward", 60, {"AlarmTopicArn": topic})
    declared = template_alarms(function="rlaif-judge-reward", canary_minutes=60)
    stored = _put_as_declared(properties, "watched")
    assert set(stored) == set(declared) == TRAINING | CANARY
    for name, alarm in stored.items():
        want = declared[name]
        assert alarm["Threshold"] == want.threshold, name
        assert alarm["ComparisonOperator"] == want.comparison, name
        assert alarm["EvaluationPeriods"] == want.evaluation_periods, name
        assert alarm["AlarmActions"] == [topic], name
        if want.expression is None:
            [query] = want.queries
            assert alarm["MetricName"] == query.name and alarm["Period"] == want.period, name
            assert alarm["Statistic"] == query.stat, name
            dims = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
            assert dims == {"function": "rlaif-judge-reward", "service": "rlaif-judge"}, name

    # canaries off and an existing topic: no rule, no canary alarm, the given topic notified
    mine = boto3.client("sns").create_topic(Name="pager")["TopicArn"]
    off = StackSettings(stack="quiet", function_name="quiet", alarm_topic_arn=mine)
    deploy(code, "v1", "us.amazon.nova-pro-v1:0", off, poll_s=1)
    outputs = cfn.describe_stacks(StackName="quiet")["Stacks"][0]["Outputs"]
    assert next(o["OutputValue"] for o in outputs if o["OutputKey"] == "AlarmTopicArn") == mine
    assert len(events.list_rules()["Rules"]) == 1
    quiet = alarm_properties("quiet", 0, {"AlarmTopicArn": mine})
    assert set(quiet) == TRAINING
    assert all(p["AlarmActions"] == [mine] for p in quiet.values())
