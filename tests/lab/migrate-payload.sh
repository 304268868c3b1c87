# The migration test alone, for an outer VM with two CPUs: on AMD the lab's
# kernel sees one CPU, so make soak boots Debian's kernel (ACPI, SMP) with
# two, which the in-lab runs of make check do not give it (see lab/check.sh):
#   LAB_DIST_CPUS=2 lab/check.sh -k 6.1 -v amd -f dist -p tests/lab/migrate-payload.sh
fail=0
kvm_load test || exit 1
run_ktap "patched/test_exit_stats_migrate" /tests/test_exit_stats_migrate || fail=1
kvm_unload || exit 1
exit $fail
