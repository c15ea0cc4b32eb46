#!/usr/bin/env bash
# Statistical battery: raw philoxinit words (tools/stream_words.py) into dieharder's stdin
# generator (-g 200) for a set of tests and (seed, stream) pairs. Needs `dieharder`
# (Debian/Ubuntu: apt-get install -y dieharder).
#
#   tools/dieharder.sh            full set of tests, default sample sizes (minutes per test)
#   tools/dieharder.sh --quick    two tests, small samples, one pair (CI; a few seconds)
#
# PAIRS="seed:stream ..." and TESTS="d ..." override the defaults. Prints dieharder's result
# lines; exits 1 if any test FAILED (WEAK is reported, not fatal: at these p-value thresholds
# about 1 test in 100 is WEAK by chance).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
command -v dieharder >/dev/null || { echo "dieharder not found (apt-get install -y dieharder)" >&2; exit 2; }

quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi

if [ "$quick" = 1 ]; then
  pairs="${PAIRS:-0:0}"
  # test  extra dieharder options
  specs="${TESTS:-100:-t 200000 -p 20|2:-t 2000 -p 5}"
else
  pairs="${PAIRS:-0:0 1234:layers.0.weight 18446744073709551615:18446744073709551615}"
  specs="${TESTS:-0:|1:|2:|3:|8:|15:|100:|101:|200:-n 4}"
fi

failed=0
IFS='|' read -r -a spec_list <<< "$specs"
for pair in $pairs; do
  seed="${pair%%:*}"; stream="${pair#*:}"
  for spec in "${spec_list[@]}"; do
    d="${spec%%:*}"; opts="${spec#*:}"
    echo "== seed=$seed stream=$stream: dieharder -g 200 -d $d $opts"
    # shellcheck disable=SC2086
    result="$("$py" "$here/stream_words.py" "$seed" "$stream" | dieharder -g 200 -d "$d" $opts)"
    echo "$result" | grep -E '\| *(PASSED|WEAK|FAILED)' || { echo "$result"; failed=1; }
    if echo "$result" | grep -q 'FAILED'; then failed=1; fi
  done
done
exit "$failed"
