"""The HTTP contract: Rasa REST channel shapes, knowledge search, health, chat page."""

from __future__ import annotations

import pytest

def session(client) -> str:
    """A new public chat session (what the web chat gets on its first message)."""
    return client.post("/webhooks/rest/session").json()["sender"]


SOURCE_KEYS = {"checklist_id", "item_id", "category", "title", "locality", "published", "url", "link"}


def test_rest_webhook_answers_with_sources(client):
    sender = session(client)
    response = client.post("/webhooks/rest/webhook",
                           json={"sender": sender, "message": "孩子在这边上小学要带什么材料"})
    assert response.status_code == 200
    replies = response.json()
    assert isinstance(replies, list) and replies
    first = replies[0]
    assert first["recipient_id"] == sender
    *lines, source = first["text"].split("\n")  # the first screen, then the source on one line
    assert len(lines) <= 3 and sum(map(len, lines)) <= 120 and source.startswith("依据：《")
    assert "http" not in first["text"] and "负责部门" not in first["text"]
    sources = first["custom"]["sources"]
    assert sources and SOURCE_KEYS <= set(sources[0])
    assert sources[0]["category"] == "compulsory_education"
    for button in first.get("buttons", []):
        assert set(button) == {"title", "payload"}
    detail = next(b for b in first["buttons"] if b["title"] == "详细")
    pressed = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": detail["payload"]}).json()
    assert "适用对象" in pressed[0]["text"] and "来源：《" in pressed[0]["text"]
    assert pressed[0]["custom"]["sources"] == sources


def test_rest_webhook_locality_metadata_scopes_answers(client):
    sender = session(client)
    replies = client.post("/webhooks/rest/webhook", json={
        "sender": sender, "message": "孩子打疫苗去哪里", "metadata": {"locality": "深圳宝安"}}).json()
    assert replies[0]["custom"]["sources"][0]["locality"] == "440306"
    assert "示例" in replies[0]["text"]
    # remembered for the conversation
    replies = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "医保在哪交"}).json()
    assert replies[0]["custom"]["sources"][0]["locality"] == "440306"


@pytest.mark.parametrize("message", ["", None, "😂😂😂", "x" * 10_000, "haizi shangxue", "What is this?",
                                     "<script>alert(1)</script>", "'; DROP TABLE x; --"])
def test_rest_webhook_bad_input_is_polite_never_an_error(client, message):
    response = client.post("/webhooks/rest/webhook", json={"sender": session(client), "message": message})
    assert response.status_code == 200
    replies = response.json()
    assert replies and all(r["text"] for r in replies)


def test_rest_webhook_buttons_round_trip(client):
    sender = session(client)
    replies = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "啊啊啊"}).json()
    buttons = replies[0]["buttons"]
    category_button = next(b for b in buttons if "category" in b["payload"])
    answer = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": category_button["payload"]}).json()
    assert answer[0]["custom"]["sources"]
    human = next(b for b in buttons if b["payload"] == "/human_handoff")
    reply = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": human["payload"]}).json()
    assert "110" in reply[0]["text"]


def test_rest_webhook_rejects_malformed_json_with_422(client):
    response = client.post("/webhooks/rest/webhook", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_knowledge_search_shape(client):
    body = client.get("/knowledge/search", params={"q": "公租房怎么申请", "k": 3}).json()
    assert len(body["results"]) == 3
    first = body["results"][0]
    assert set(first) == {"item_id", "category", "title", "content", "score", "checklist"}
    assert set(first["checklist"]) == {"id", "title", "locality", "authority", "published", "version"}
    assert first["category"] == "housing"
    assert body["results"][0]["score"] >= body["results"][1]["score"]


def test_knowledge_search_locality_and_unknown_locality(client):
    body = client.get("/knowledge/search", params={"q": "打疫苗", "locality": "440306"}).json()
    assert body["results"][0]["checklist"]["authority"] == "example"
    assert client.get("/knowledge/search", params={"q": "打疫苗", "locality": "火星"}).status_code == 422
    assert client.get("/knowledge/search", params={"q": ""}).json()["results"] == []


def test_checklist_versions_endpoint(client):
    listing = client.get("/knowledge/checklists").json()
    ids = {c["id"] for c in listing["checklists"]}
    assert {"national-action-plan", "national-guidance", "example-shenzhen-baoan"} <= ids
    plan = client.get("/knowledge/checklists/national-action-plan", params={"version": 1}).json()
    assert plan["checklist"]["doc_number"] == "民发〔2024〕35号"
    assert client.get("/knowledge/checklists/nope").status_code == 404


def test_healthz_and_chat_page(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["items"] > 40
    page = client.get("/chat")
    assert page.status_code == 200 and "/webhooks/rest/webhook" in page.text
    assert "textContent" in page.text  # replies are rendered as text, never as HTML
