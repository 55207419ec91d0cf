# Debian's Chromium for the browser tests (tests/browser_*): installed when
# /usr/bin/chromium is missing. Sourced by .ci/run.

ensure_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    echo "ci: using /usr/bin/chromium"
    return 0
  fi
  command -v apt-get >/dev/null || {
    echo "ci: /usr/bin/chromium is missing and there is no apt-get to install it" >&2
    return 1
  }
  echo "ci: installing chromium (apt-get)"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium
}
