#!/usr/bin/env bash
# The main job: index the sample corpus in data/articles and answer the questions in data/questions.tsv.
# Run from the repository root after installing (see README). Without the reader's model (no network),
# `docqa ask` says so in one line and shows the retrieved passages instead.
set -euo pipefail
cd "$(dirname "$0")/.."
docqa="${DOCQA:-.venv/bin/docqa}"
store="${STORE:-.store/sample}"

"$docqa" index data/articles --store "$store"
cut -f1 data/questions.tsv | head -n "${QUESTIONS:-4}" | while IFS= read -r question; do
  echo
  echo "Q: $question"
  "$docqa" ask "$question" --store "$store" --top-k 1
done
