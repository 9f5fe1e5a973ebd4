"""The same KnowledgeBase against a real `chroma run` server on 127.0.0.1 (HttpClient)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kefu.tools.knowledge import HashingEncoder, KnowledgeBase


def _chroma_cli() -> str | None:
    beside = Path(sys.executable).with_name("chroma")
    return str(beside) if beside.is_file() else shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    cli = _chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` CLI (installed by the chromadb package) is not on this machine")
    port = _free_port()
    log = (tmp_path / "chroma.log").open("wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_ANONYMIZED_TELEMETRY": "False"}
    server = subprocess.Popen(
        [cli, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(
                    f"chroma run exited with {server.returncode}: {(tmp_path / 'chroma.log').read_text()}"
                )
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("chroma run did not answer within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_knowledge_base_on_a_chroma_server(chroma_server, kb_dir):
    settings_free = {"encoder": HashingEncoder()}
    with (
        KnowledgeBase(chroma_server, **settings_free) as kb,
        KnowledgeBase(chroma_server, **settings_free) as other,
    ):
        report = kb.ingest(kb_dir)
        assert report.ok and len(report.added) == 4
        (hit, *_) = kb.search("toaster warranty manufacturer defects", k=3, threshold=0.0)
        assert hit.passage.id == "shop/faq.json#warranty"
        assert hit.citation == "shop/faq.json › warranty › Do products have a warranty?"

        assert kb.ingest(kb_dir).embedded == 0  # idempotent on the server too
        # a second client sees the first one's changes at its next search
        assert (
            other.search("toaster warranty manufacturer defects", k=1, threshold=0.0)[0].source
            == "shop/faq.json"
        )
        assert kb.delete("shop/faq.json") > 0
        hits = other.search("toaster warranty manufacturer defects", k=5, threshold=0.0)
        assert all(h.source != "shop/faq.json" for h in hits)
        assert sorted(other.sources()) == ["shop/help.html", "shop/payments.csv", "shop/policy.md"]
