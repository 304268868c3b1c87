# KVM's fastpath on AMD. kvm-amd handles MSR writes and HLT in
# svm_exit_handlers_fastpath() only with NRIP-save, which the lab's QEMU
# does not offer; Bochs's ryzen model does. make check boots each lab
# kernel under it for this test alone (Bochs is slow):
#   lab/check.sh -k 6.12 -v amd-bochs -p tests/lab/fastpath-payload.sh
fail=0
# Bochs's ryzen model keeps vector registers across context switches only
# with noxsave (lab/run.sh): else a test meets zeroed registers at random.
run_ktap "outer/test_vector_state" /tests/test_vector_state || fail=1
kvm_load stock || exit 1
check "stock/kvm-amd uses NRIP-save (nrips=1)" grep -q -x -E '1|Y' /sys/module/kvm_amd/parameters/nrips
kvm_unload || exit 1
kvm_load test || exit 1
run_ktap "patched/test_exit_stats_fastpath" /tests/test_exit_stats_fastpath || fail=1
kvm_unload || exit 1
exit $fail
