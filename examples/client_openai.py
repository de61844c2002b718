"""Call the gateway with the official OpenAI SDK: only base_url and api_key change.

OPENCLAW_HOME=~/.openclaw python examples/client_openai.py "Summarise: the build is green."
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from openai import OpenAI


def gateway_token() -> str:
    home = Path(os.environ.get("OPENCLAW_HOME", Path.home() / ".openclaw"))
    return os.environ.get("OPENCLAW_GATEWAY_TOKEN") or (home / "gateway.token").read_text().strip()


def main() -> None:
    port = os.environ.get("OPENCLAW_PORT", "18789")
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=gateway_token())
    prompt = sys.argv[1] if len(sys.argv) > 1 else "Say hello in five words."
    raw = client.chat.completions.with_raw_response.create(
        model="auto",  # let the gateway route by task and policy
        messages=[{"role": "user", "content": prompt}],
        extra_headers={"X-OpenClaw-Service": "example", "X-OpenClaw-Task": "summarization"},
    )
    resp = raw.parse()
    print(resp.choices[0].message.content)
    print(
        f"-- served by {raw.headers['x-openclaw-model']} via {raw.headers['x-openclaw-provider']}, "
        f"draft={raw.headers.get('x-openclaw-draft', 'false')}"
    )


if __name__ == "__main__":
    main()
