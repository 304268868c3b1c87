# make bench, inside the outer VM: the same micro-benchmarks against five
# KVM configurations, in one boot.
R=5
N=20000
kvm_load stock || exit 1
/tests/bench_exits stock -r $R -n $N || exit 1
/tests/bench_exits stock+hist -r $R -n $N -H || exit 1
kvm_unload || exit 1
kvm_load test "exit_stats=0" || exit 1
/tests/bench_exits patched,off -r $R -n $N || exit 1
kvm_unload || exit 1
# Counting without reading the TSC.
kvm_load test "exit_stats=counts" || exit 1
/tests/bench_exits patched,counts -r $R -n $N || exit 1
kvm_unload || exit 1
kvm_load test || exit 1
/tests/bench_exits patched,on -r $R -n $N || exit 1
kvm_unload || exit 1
