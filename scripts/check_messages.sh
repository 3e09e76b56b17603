#!/usr/bin/env bash
# Lint: every user-visible string has a zh_Hans translation (zh_Hans is the default language
# and must be complete). Regenerates the catalogue in a scratch copy; the tree is not modified.
set -euo pipefail
cd "$(dirname "$0")/.."
PO=kexie/locale/zh_Hans/LC_MESSAGES/django.po
backup="$(mktemp)"
cp "$PO" "$backup"
trap 'cp "$backup" "$PO"; rm -f "$backup"' EXIT
(cd kexie && ../.venv/bin/python ../manage.py makemessages -l zh_Hans --ignore=.venv --no-obsolete -v 0)
missing="$(msgattrib --untranslated --no-wrap "$PO" | grep '^msgid "' | grep -v '^msgid ""$' || true)"
fuzzy="$(msgattrib --only-fuzzy --no-wrap "$PO" | grep '^msgid "' | grep -v '^msgid ""$' || true)"
if [[ -n "$missing$fuzzy" ]]; then
  echo "zh_Hans translations missing (run 'make messages', then fill them in):"
  printf '%s\n' "$missing" "$fuzzy" | sed '/^$/d'
  exit 1
fi
msgfmt --check-format -o /dev/null "$backup"
echo "zh_Hans catalogue complete."
