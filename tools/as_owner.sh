# Sourced by tools/setup.sh and tools/test.sh (needs ROOT set): as_owner CMD... runs CMD as
# the owner of the checkout when we are root and the owner is someone else, so a 'sudo'
# run leaves no root-owned files in the build tree; otherwise runs it as is.
owner="$(stat -c %U "$ROOT")"
as_owner() {
  if ((EUID == 0)) && [[ "$owner" != root && "$owner" != UNKNOWN ]]; then
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}
