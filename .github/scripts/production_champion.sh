#!/usr/bin/env bash
# Make production's model the @champion of this runner's fresh tracking store, so the
# champion gate compares the candidate with it and not with nothing.
#
# Production is the newest `mlgate-bundle` uploaded by a successful run of the upload
# workflow on the default branch (only a green gate step uploads one). With no such run
# yet, the session gates the first champion, and the job summary says so.
#
# Needs the gh CLI (on every GitHub-hosted runner) and, from the step's env: GH_TOKEN (the
# job token with `actions: read`), GH_REPO, DEFAULT_BRANCH; MLGATE_DATASET when a dataset
# was chosen by hand (the bundle's model must take that dataset's columns).
set -euo pipefail

upload_workflow=ci_train_and_upload.yml
bundle="${RUNNER_TEMP}/production-bundle"
summary() { printf '%s\n' "$@" >> "${GITHUB_STEP_SUMMARY}"; }

dataset_args=()
if [ -n "${MLGATE_DATASET:-}" ]; then
  dataset_args=(--dataset "${MLGATE_DATASET}")
fi

# Newest first. A failed query fails the step: gating against nothing by accident would
# let any model through.
runs_json=$(gh run list --workflow "${upload_workflow}" --branch "${DEFAULT_BRANCH}" --status success \
  --limit 20 --json databaseId,url)
mapfile -t runs < <(python -c 'import json, sys; [print(r["databaseId"], r["url"]) for r in json.load(sys.stdin)]' <<< "${runs_json}")

if [ "${#runs[@]}" -eq 0 ]; then
  summary "### Champion: none yet" "" \
    "No successful run of \`${upload_workflow}\` on \`${DEFAULT_BRANCH}\` has uploaded a bundle yet: this session gates the first champion."
  exit 0
fi

for entry in "${runs[@]}"; do
  read -r run_id run_url <<< "${entry}"
  rm -rf "${bundle}"
  # A run's artifacts expire (90 days by default): then the next older run's bundle.
  if gh run download "${run_id}" --name mlgate-bundle --dir "${bundle}"; then
    imported=$(mlgate import-champion "${bundle}" --source "${run_url}" "${dataset_args[@]}")
    echo "${imported}"
    summary "### Champion: the production bundle" "" \
      "The candidate is compared with the \`mlgate-bundle\` of run [${run_id}](${run_url}): ${imported}"
    exit 0
  fi
  echo "run ${run_id} has no mlgate-bundle left to download; trying an older run"
done

summary "### Champion: none left" "" \
  "The last ${#runs[@]} successful runs of \`${upload_workflow}\` on \`${DEFAULT_BRANCH}\` have no \`mlgate-bundle\` left (expired): this session gates the first champion."
echo "::warning::no production bundle left to compare with; gating as the first champion"
