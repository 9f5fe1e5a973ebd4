"""`kefu serve --demo` as a process: it prints its URLs, serves the demo page, and exits cleanly on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import httpx


def test_serve_demo_prints_its_urls_and_stops_on_sigterm(tmp_path, kit):
    port = kit.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kefu.server", "--demo", "-d", str(tmp_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.time() + 90
        while time.time() < deadline and not any("operator console" in line for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        out = "".join(lines)
        assert f"demo shop page: http://127.0.0.1:{port}/demo" in out, out
        key = re.search(r"#key=(\S+)", out).group(1)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert 'data-kefu-key="wi_' in httpx.get(f"{base}/demo").text
        assert (
            httpx.get(f"{base}/v1/console/me", headers={"X-API-Key": key}).json()["name"] == "demo-operator"
        )
        # the demo shop answers policy questions from its own FAQ, cited
        widget = {
            "X-API-Key": re.search(r'data-kefu-key="(wi_[^"]+)"', httpx.get(f"{base}/demo").text).group(1)
        }
        session = httpx.post(f"{base}/v1/sessions", headers=widget, timeout=30).json()["session_id"]
        answer = httpx.post(
            f"{base}/v1/sessions/{session}/messages",
            json={"text": "what is your return policy?"},
            headers=widget,
            timeout=120,
        ).json()
        assert [s["source"] for s in answer["reply"]["sources"] or []][:1] == ["faq.json"], answer
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    # uvicorn re-raises the signal once it has shut down, so the exit status says SIGTERM
    assert proc.returncode in (0, -signal.SIGTERM), err[-2000:]
    assert "Application shutdown complete" in err and "Traceback" not in err
    logs = [line for line in err.splitlines() if line.startswith("{")]
    assert logs and all(line.endswith("}") for line in logs)  # JSON lines
    assert any("healthz" not in line and '"request_id"' in line for line in logs)
