#!/bin/bash
# scripts/risk-scan.sh
# This script makes deterministic decisions about what requires attention.
# The AI model will then EXPLAIN these findings, not make them.
#
# stdin: numstat lines from collect-changes.sh (ADDED<TAB>DELETED<TAB>PATH, "-" = unknown).
# stdout: one "flag:NAME — why" line per finding, in a fixed order.
set -euo pipefail

CHANGES=$(cat)
FILES=$(printf '%s\n' "$CHANGES" | cut -f3)

# Deterministic check: did application config files change?
if grep -Eq '(^|/)application(-[a-zA-Z0-9]+)?\.ya?ml$' <<< "$FILES"; then
  echo "flag:config-change — review environment variable overrides"
fi

# Deterministic check: did database migrations change?
if grep -Eq '(^|/)db/migrate/' <<< "$FILES"; then
  echo "flag:db-migration — verify rollback plan exists"
fi

# Deterministic check: did authentication code change?
if grep -Eq '(^|/)(auth|authentication|oauth)' <<< "$FILES"; then
  echo "flag:auth-change — requires security review"
fi

# Deterministic check: did dependency manifests or lock files change?
if grep -Eq '(^|/)(Gemfile(\.lock)?|package(-lock)?\.json|yarn\.lock|requirements[^/]*\.txt|pyproject\.toml|poetry\.lock|go\.(mod|sum)|Cargo\.(toml|lock))$' <<< "$FILES"; then
  echo "flag:dependency-change — check new versions and their licences"
fi

# Deterministic check: did tests decrease relative to code?
# Lines added to source files, split into test and non-test files; unknown counts are 0.
read -r CODE_LINES TEST_LINES < <(printf '%s\n' "$CHANGES" | awk -F'\t' '
  function is_test(p) {
    return p ~ /(^|\/)(tests?|spec|__tests__)\// || p ~ /(_spec|_test)\.[a-z]+$/ ||
           p ~ /\.(test|spec)\.[a-z]+$/ || p ~ /(^|\/)test_[^\/]*$/
  }
  NF >= 3 && $3 ~ /\.(rb|py|js|jsx|ts|tsx|go|java|kt|rs|php|cs|swift|scala|c|cc|cpp|h)$/ {
    added = ($1 ~ /^[0-9]+$/) ? $1 : 0
    if (is_test($3)) test += added; else code += added
  }
  END { printf "%d %d\n", code, test }')
if [ "$CODE_LINES" -gt 0 ] && [ "$TEST_LINES" -lt $((CODE_LINES / 3)) ]; then
  echo "flag:insufficient-test-coverage — consider adding tests"
fi
