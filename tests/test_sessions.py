"""Conversations persist: a new process resumes a session where it stopped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kefu import Assistant, Config

SCRIPT = """
import sys
from kefu import Assistant, Config
bot = Assistant(Config(data_dir=sys.argv[1], shop={"database_url": sys.argv[2]}))
print(bot.respond(sys.argv[3], session_id="s1").text)
"""


def test_a_new_process_resumes_the_session(shop_url: str, tmp_path: Path):
    def turn(text: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path), shop_url, text],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return out.stdout

    turn("I want to cancel an order")
    turn("ava.kovacs4827@example.com")  # authenticated in process 2
    out = turn("#W4184032 ordered by mistake")  # process 3 still knows who and what
    assert "Shall I go ahead" in out and "ordered by mistake" in out

    bot = Assistant(Config(data_dir=tmp_path, shop={"database_url": shop_url}))
    reply = bot.respond("yes", session_id="s1")  # the confirmation asked by another process
    assert [w.name for w in reply.writes] == ["cancel_pending_order"]
    bot.close()


def test_sessions_are_separate(bot: Assistant):
    bot.respond("ava.kovacs4827@example.com", session_id="a")
    other = bot.respond("what's the status of #W4184032", session_id="b")
    assert other.customer_id is None
    assert "pending" not in other.text
