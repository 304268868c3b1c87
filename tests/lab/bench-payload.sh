# make bench, inside the outer VM: the same micro-benchmarks against four
# KVM configurations, in one boot.
R=${BENCH_RUNS:-5}
kvm_load stock || exit 1
/tests/bench_exits stock -r $R || exit 1
/tests/bench_exits stock+hist -r $R -H || exit 1
kvm_unload || exit 1
kvm_load test "exit_stats=0" || exit 1
/tests/bench_exits patched,off -r $R || exit 1
kvm_unload || exit 1
kvm_load test || exit 1
/tests/bench_exits patched,on -r $R || exit 1
kvm_unload || exit 1
