"""The OpenAI-compatible endpoint, through the official `openai` client pointed at a live server."""

from __future__ import annotations

import pytest

openai = pytest.importorskip("openai", reason="needs the openai package")


@pytest.fixture
def oa(live, kit):
    server = live()
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=kit.APP_KEY, max_retries=0, timeout=30)


def test_a_chat_completion_continues_the_session_named_by_user(oa, kit):
    first = oa.chat.completions.create(
        model="kefu", user="oa-1", messages=[{"role": "user", "content": "where is my order #W7678072?"}]
    )
    assert "email" in first.choices[0].message.content
    second = oa.chat.completions.create(
        model="kefu",
        user="oa-1",
        messages=[
            {"role": "system", "content": "ignored: the server keeps the conversation"},
            {"role": "user", "content": "where is my order #W7678072?"},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": kit.NOAH_EMAIL},
        ],
    )
    answer = second.choices[0].message
    assert answer.role == "assistant" and "delivered" in answer.content
    assert second.choices[0].finish_reason == "stop" and second.model == "kefu"
    extra = second.model_extra["kefu"]
    assert extra["session_id"] == "oa-1" and extra["customer_id"] == kit.NOAH
    assert [c["name"] for c in extra["tool_calls"]][-1] == "get_order_details"
    assert second.usage.total_tokens > 0


def test_streaming_through_the_client(oa, kit):
    stream = oa.chat.completions.create(
        model="kefu",
        messages=[{"role": "user", "content": "where is my order #W7678072?"}],
        stream=True,
        extra_headers={"X-Kefu-Session-Id": "oa-stream"},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "email" in text and len(chunks) > 3
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["kefu"]["session_id"] == "oa-stream"
    # the header names the session: the next turn continues it
    raw = oa.chat.completions.with_raw_response.create(
        model="kefu",
        messages=[{"role": "user", "content": kit.NOAH_EMAIL}],
        extra_headers={"X-Kefu-Session-Id": "oa-stream"},
    )
    assert raw.headers["x-kefu-session-id"] == "oa-stream"
    assert "delivered" in raw.parse().choices[0].message.content


def test_without_a_session_a_new_one_is_made_and_returned(oa):
    raw = oa.chat.completions.with_raw_response.create(
        model="x", messages=[{"role": "user", "content": "hello"}]
    )
    sid = raw.headers["x-kefu-session-id"]
    assert sid.startswith("oa_") and raw.parse().model_extra["kefu"]["session_id"] == sid


def test_models_and_errors_through_the_client(oa, live, kit):
    assert [m.id for m in oa.models.list()] == ["kefu"]
    with pytest.raises(openai.BadRequestError, match="last user message"):
        oa.chat.completions.create(model="kefu", messages=[{"role": "system", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="X-Kefu-Session-Id"):
        oa.chat.completions.create(
            model="kefu",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Kefu-Session-Id": "no spaces allowed"},
        )
    bad = openai.OpenAI(base_url=oa.base_url, api_key="wrong-key-0123456789", max_retries=0)
    with pytest.raises(openai.AuthenticationError, match="not valid"):
        bad.chat.completions.create(model="kefu", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.UnprocessableEntityError):
        oa.chat.completions.create(model="kefu", messages=[])


def test_a_conversation_with_a_person_answers_with_a_notice(oa, live, kit):
    oa.chat.completions.create(
        model="kefu", user="oa-p", messages=[{"role": "user", "content": "talk to a human"}]
    )
    out = oa.chat.completions.create(
        model="kefu", user="oa-p", messages=[{"role": "user", "content": "hello?"}]
    )
    assert "person" in out.choices[0].message.content
    assert out.model_extra["kefu"]["delivered_to"] == "person" and out.model_extra["kefu"]["handoff"] is True
