# The migration test alone, for an outer VM with two CPUs: on AMD the lab's
# kernel sees one CPU, so make check boots Debian's kernel (ACPI, SMP) with
# two for it (tests/check.sh's amd lane):
#   LAB_DIST_CPUS=2 lab/check.sh -k 6.1 -v amd -f dist -p tests/lab/migrate-payload.sh
fail=0
kvm_load test || exit 1
run_ktap "patched/test_exit_stats_migrate" /tests/test_exit_stats_migrate || fail=1
kvm_unload || exit 1
exit $fail
