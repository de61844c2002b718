#!/usr/bin/env bash
# Call the gateway with curl. The token is in ~/.openclaw/gateway.token (mode 0600).
set -euo pipefail
HOME_DIR=${OPENCLAW_HOME:-$HOME/.openclaw}
TOKEN=${OPENCLAW_GATEWAY_TOKEN:-$(cat "$HOME_DIR/gateway.token")}
curl -sS "http://127.0.0.1:${OPENCLAW_PORT:-18789}/v1/chat/completions" \
  -H "Authorization: Bearer $TOKEN" \
  -H "Content-Type: application/json" \
  -H "X-OpenClaw-Service: billing" \
  -d '{"model": "auto", "messages": [{"role": "user", "content": "Draft a two-line status update."}]}'
echo
