# One mutant of the series (lab/mutate.sh): the tests that should catch it,
# from /tests/mutate.env (MUTANT, and TESTS: the shell lines to run). The
# mutant is caught when any of them fails, or the kernel reports a problem.
. /tests/mutate.env
fail=0
t() { run_ktap "$@" || fail=1; }
load() { kvm_load "$@" || { fail=1; return 1; }; }
echo "mutate: $MUTANT"
eval "$TESTS"
exit $fail
