# Sourced by the scripts: installs the Debian packages given as arguments that are missing
# (apt-get only when something is missing; the project needs nothing from any other source).
ensure_packages() {
  local missing=()
  for p in "$@"; do
    # No pipe into `grep -q`: under the callers' pipefail the writer can die of SIGPIPE.
    local status
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == *"install ok installed"* ]] || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    # A mirror that answers late is the usual reason for a failed install: three tries.
    local try
    for try in 1 2 3; do
      if $sudo apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; then
        return 0
      fi
      echo "apt-get failed (try $try of 3)"; sleep $((try * 10))
    done
    return 1
  fi
}
