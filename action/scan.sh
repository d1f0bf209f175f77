#!/usr/bin/env bash
# The scan step of action.yml: runs crmguard with the action's inputs
# (INPUT_* variables), appends the Markdown summary to the step summary,
# and hands the exit status and SARIF path on as step outputs, so that the
# SARIF upload runs before the job fails. Runs anywhere bash does: the
# tests drive it with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY of their own.
set -uo pipefail
shopt -s globstar nullglob

out_dir=${INPUT_OUT_DIR:-crmguard-out}
summary_md=$(mktemp)
trap 'rm -f "$summary_md"' EXIT

args=(scan --out-dir "$out_dir" --fail-on "${INPUT_FAIL_ON:-quarantine}"
      --annotations github --report "markdown=$summary_md")
[ -n "${INPUT_POLICY:-}" ] && args+=(--policy "$INPUT_POLICY")
[ -n "${INPUT_BASELINE:-}" ] && args+=(--baseline "$INPUT_BASELINE")
sarif=
if [ "${INPUT_SARIF:-true}" = true ]; then
  sarif="$out_dir/crmguard.sarif"
  args+=(--report "sarif=$sarif")
fi
# Word splitting and glob expansion are wanted here: `files` is a list.
# shellcheck disable=SC2206
extra=(${INPUT_ARGS:-})
# shellcheck disable=SC2206
files=(${INPUT_FILES:?the files input is empty})
if [ ${#files[@]} -eq 0 ]; then
  echo "::error title=crmguard::no file matches: ${INPUT_FILES}"
  echo "exit-status=2" >> "$GITHUB_OUTPUT"
  exit 0
fi

mkdir -p "$out_dir"
crmguard "${args[@]}" "${extra[@]}" -- "${files[@]}"
status=$?

# The step summary is appended to, never replaced.
if [ -s "$summary_md" ]; then
  cat "$summary_md" >> "$GITHUB_STEP_SUMMARY"
fi
[ -f "$sarif" ] || sarif=
{
  echo "exit-status=$status"
  echo "sarif-file=$sarif"
} >> "$GITHUB_OUTPUT"
