"""The same actions served over HTTP by rasa-sdk's own action server (``python -m tongban.action_server``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # an action server process: left out of make test-fast


@pytest.fixture(scope="module")
def action_server(tmp_path_factory):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tmp_path_factory.mktemp("actions")
    env = {**os.environ, "TONGBAN_DATA_DIR": str(folder)}
    log = open(folder / "server.log", "wb")  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen([sys.executable, "-m", "tongban.action_server", "--port", str(port)],
                               cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("action server did not start: " + (folder / "server.log").read_text(errors="replace")[-2000:])
    yield base
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:  # sanic's graceful shutdown can linger; it has served its purpose
        process.kill()
        process.wait(timeout=15)
    log.close()


def _request(slot: str, value) -> dict:
    return {
        "next_action": "validate_assistance_request_form",
        "sender_id": "parent-1",
        "version": "3.6.0",
        "tracker": {
            "sender_id": "parent-1",
            "slots": {slot: value, "requested_slot": slot},
            "latest_message": {"text": str(value), "intent": {"name": "inform", "confidence": 0.9}, "entities": []},
            "events": [{"event": "action", "name": "action_listen"},
                       {"event": "user", "text": str(value), "parse_data": {}},
                       {"event": "slot", "name": slot, "value": value}],
            "paused": False, "followup_action": None, "active_loop": {"name": "assistance_request_form"},
            "latest_action_name": "action_listen",
        },
        "domain": {"forms": {"assistance_request_form": {"required_slots": [slot]}},
                   "slots": {slot: {"type": "any", "mappings": [{"type": "custom"}]}}},
    }


def test_actions_are_registered(action_server):
    names = {a["name"] for a in httpx.get(f"{action_server}/actions", timeout=10).json()}
    assert {"validate_assistance_request_form", "action_submit_assistance_request"} <= names


def test_validation_over_http(action_server):
    good = httpx.post(f"{action_server}/webhook", json=_request("guardian_phone", "+86 138 0013 8000"), timeout=30)
    assert good.status_code == 200
    events = {e["name"]: e["value"] for e in good.json()["events"] if e["event"] == "slot"}
    assert events["guardian_phone"] == "13800138000"
    bad = httpx.post(f"{action_server}/webhook", json=_request("guardian_phone", "12345"), timeout=30).json()
    assert {e["name"]: e["value"] for e in bad["events"] if e["event"] == "slot"}["guardian_phone"] is None
    assert "手机号" in bad["responses"][0]["text"]


def test_submission_over_http_files_the_request(action_server):
    """The submit action of the standalone server files into the deployment's database."""
    slots = {"consent": True, "consent_at": "2026-11-29T09:00:00+00:00", "child_name": "王小明", "child_age": 8,
             "hukou_location": {"code": "411625", "name": "河南省周口市郸城县"},
             "residence": {"code": "440306", "name": "广东省深圳市宝安区", "text": "西乡街道"},
             "months_at_residence": 24, "guardian_name": "李芳", "guardian_relation": "母亲",
             "guardian_phone": "13800138000", "situations": ["family_hardship"], "description": "", "channel": "rest"}
    body = {"next_action": "action_submit_assistance_request", "sender_id": "parent-1", "version": "3.6.0",
            "tracker": {"sender_id": "parent-1", "slots": slots, "latest_message": {}, "events": [], "paused": False,
                        "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"},
            "domain": {}}
    answer = httpx.post(f"{action_server}/webhook", json=body, timeout=30).json()
    (reference,) = [e["value"] for e in answer["events"] if e["event"] == "slot" and e["name"] == "reference"]
    assert reference.startswith("LD-") and reference in answer["responses"][0]["text"]
