"""Benchmark our Reminders API client against the SDK's ReminderManagementServiceClient.

Run: python bench/bench_reminders.py [CALLS]   (default 300; takes a few seconds)

Both talk to the loopback stand-in (tests/alexa_api.py) over the same transport
(skill.alexa.api_http, so the difference is the client, not the socket): the SDK's client is
given a small ApiClient that calls api_http.send, since its own DefaultApiClient sets no
timeout and refuses http://. Times, per call, in one process:
  1. create: RemindersApi.create(dict) vs create_reminder(ReminderRequest model);
  2. list:   RemindersApi.list() vs get_reminders(), over the reminders just created.
Prints median wall time per call and the ratio ours / SDK. The SDK's list raises on any
reminder with alertInfo (ask-sdk-model names a module it does not ship); that is printed.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model.services import ApiClient, ApiClientResponse, ApiConfiguration
from ask_sdk_model.services.reminder_management import (
    AlertInfo,
    PushNotification,
    PushNotificationStatus,
    Recurrence,
    ReminderManagementServiceClient,
    ReminderRequest,
    SpokenInfo,
    SpokenText,
    Trigger,
    TriggerType,
)

from skill.alexa import api_http
from skill.alexa.reminders_api import RemindersApi
from skill.core import reminders
from tests.alexa_api import TOKEN, alexa_api

NOW = datetime(2026, 12, 1, 18, 0)
TEXT = "Time for your upper back routine. Say: Alexa, ask trigger coach to start my upper back routine."


class DeadlineApiClient(ApiClient):
    """The SDK's ApiClient interface over our transport, with a deadline per call."""

    def invoke(self, request):  # type: ignore[no-untyped-def]
        """Send the SDK's request through api_http.send and wrap its answer for the SDK."""
        base, _, rest = request.url.partition("/v1/")
        body = json.dumps(request.body).encode() if request.body is not None else None
        status, raw = api_http.send(base, request.method, "/v1/" + rest, TOKEN,
                                    deadline=time.monotonic() + 2.5, body=body, max_bytes=512 * 1024)
        return ApiClientResponse(headers=[], status_code=status, body=raw.decode())


def timed_pair(
    first: Callable[[], object], second: Callable[[], object], calls: int,
) -> tuple[list[float], list[float]]:
    """Time two calls alternately, so load on a shared machine falls on both alike."""
    for _ in range(min(20, calls)):
        first()
        second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(calls):
        for call, out in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            call()
            out.append((time.perf_counter() - start) * 1000)
    return times


def main(calls: int) -> None:
    plan = reminders.plan(reminders.Asked("upper-back", "20:00", repeat="daily"), NOW)
    body = reminders.request_body(plan, TEXT, "en-US", "Europe/Berlin", NOW)
    with alexa_api() as (endpoint, state):
        sdk = ReminderManagementServiceClient(ApiConfiguration(
            serializer=DefaultSerializer(), api_client=DeadlineApiClient(),
            authorization_value=TOKEN, api_endpoint=endpoint))
        model = ReminderRequest(
            request_time=NOW,
            trigger=Trigger(object_type=TriggerType.SCHEDULED_ABSOLUTE, time_zone_id="Europe/Berlin",
                            recurrence=Recurrence(start_date_time=plan.first,
                                                  recurrence_rules=[reminders.rrule(plan)])),
            alert_info=AlertInfo(spoken_info=SpokenInfo(content=[SpokenText(locale="en-US", text=TEXT)])),
            push_notification=PushNotification(status=PushNotificationStatus.ENABLED))
        ours_create, sdk_create = timed_pair(lambda: RemindersApi(endpoint, TOKEN, 2.5).create(body),
                                             lambda: sdk.create_reminder(model), calls)
        held = len(state.reminders)
        state.reminders = dict(list(state.reminders.items())[:10])  # a list of ten reminders
        ours_list, _ = timed_pair(lambda: RemindersApi(endpoint, TOKEN, 2.5).list(), lambda: None, calls)
        try:
            sdk.get_reminders()
            sdk_list_note = "works"
        except Exception as exc:  # the point is to show what it raises
            sdk_list_note = f"raises {type(exc).__name__}: {str(exc)[:110]}"
    ours, theirs = statistics.median(ours_create), statistics.median(sdk_create)
    print(f"created {held} reminders on the stand-in")
    print(f"create  ours {ours:.3f} ms  SDK {theirs:.3f} ms  ratio ours/SDK {ours / theirs:.2f}")
    print(f"list of 10  ours {statistics.median(ours_list):.3f} ms  SDK get_reminders {sdk_list_note}")
    print(f"RESULT reminders create_ours_ms={ours:.3f} create_sdk_ms={theirs:.3f} ratio={ours / theirs:.2f} "
          f"list_ours_ms={statistics.median(ours_list):.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
