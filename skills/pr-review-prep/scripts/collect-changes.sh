#!/usr/bin/env bash
# scripts/collect-changes.sh PR_NUMBER REPO
# Prints the pull request's changes as numstat lines, sorted by path:
#   ADDED<TAB>DELETED<TAB>PATH      ("-" where a count is not known)
# The source, first that applies:
#   1. the changed_files / diff_stat inputs ($OPENCLAW_INPUT_CHANGED_FILES, one path per
#      line; $OPENCLAW_INPUT_DIFF_STAT, numstat text): what fixtures and callers with a diff pass;
#   2. gh pr view, when gh is installed and REPO is owner/name;
#   3. git diff against the merge base with origin/main, when REPO is a local checkout.
set -euo pipefail

pr="${1:?usage: collect-changes.sh PR_NUMBER REPO}"
repo="${2:-}"
files="${OPENCLAW_INPUT_CHANGED_FILES:-}"
stat="${OPENCLAW_INPUT_DIFF_STAT:-}"

# Numstat lines may use tabs (git) or runs of spaces (hand-written); paths keep their spaces
# when tabs separate the fields.
normalize() {
  awk '
    NF == 0 { next }
    index($0, "\t") { n = split($0, f, "\t"); path = f[3]; for (i = 4; i <= n; i++) path = path "\t" f[i]
                      printf "%s\t%s\t%s\n", f[1], f[2], path; next }
    NF >= 3 { path = $3; for (i = 4; i <= NF; i++) path = path " " $i
              printf "%s\t%s\t%s\n", $1, $2, path }
  '
}

if [ -n "$files$stat" ]; then
  {
    printf '%s\n' "$stat" | normalize
    printf '%s\n' "$files" | awk 'NF { printf "-\t-\t%s\n", $0 }'
  } | awk -F'\t' '!seen[$3]++' | LC_ALL=C sort -t "$(printf '\t')" -k3,3
elif command -v gh >/dev/null 2>&1 && [ -n "$repo" ] && [ ! -d "$repo" ]; then
  gh pr view "$pr" --repo "$repo" --json files \
    -q '.files[] | "\(.additions)\t\(.deletions)\t\(.path)"' | LC_ALL=C sort -t "$(printf '\t')" -k3,3
elif command -v git >/dev/null 2>&1 && [ -d "$repo" ]; then
  base=$(git -C "$repo" merge-base origin/main HEAD)
  git -C "$repo" diff --numstat "$base" HEAD | normalize | LC_ALL=C sort -t "$(printf '\t')" -k3,3
else
  echo "collect-changes: PR #$pr: no changed_files or diff_stat input, and neither gh (for" \
    "an owner/name repo) nor a git checkout at '$repo' to read the changes from" >&2
  exit 2
fi
