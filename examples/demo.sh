#!/usr/bin/env bash
# The main job: index the sample corpus in data/articles and answer the questions in data/questions.tsv.
# Run from the repository root after installing (see README). MODEL picks the reader; by default the small real
# reader in ../shared when it is there, else deepset/minilm-uncased-squad2 from the hub. Without a reader's model
# (no network), `docqa ask` says so in one line and shows the retrieved passages instead.
set -euo pipefail
cd "$(dirname "$0")/.."
docqa="${DOCQA:-.venv/bin/docqa}"
store="${STORE:-.store/sample}"
shared_reader=../shared/models/minilm-l6-squad2-half12
model="${MODEL:-$([ -d "$shared_reader" ] && echo "$shared_reader" || true)}"

"$docqa" index data/articles --store "$store"
cut -f1 data/questions.tsv | head -n "${QUESTIONS:-4}" | while IFS= read -r question; do
  echo
  "$docqa" ask "$question" --store "$store" --top-k 1 ${model:+--model "$model"}
done
