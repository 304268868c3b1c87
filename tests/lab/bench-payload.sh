# make bench, inside the outer VM: the same micro-benchmarks against six
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
# With each exit's cycles in its reason's histogram.
kvm_load test "exit_stats=hist" || exit 1
/tests/bench_exits patched,hist -r $R -n $N || exit 1
kvm_unload || exit 1
# The counters' size per vCPU, as the kernel's own sizeof gives it: the
# KUnit cases exit_stats_test_no_l2 and exit_stats_test_hist print it as
# kvm_kunit.ko loads.
grep -q '^irqbypass ' /proc/modules || insmod /lab/modules/test/irqbypass.ko
insmod /lab/modules/test/kvm_kunit.ko || exit 1
dmesg | sed -n 's/.*counters: \([0-9]*\) bytes per vCPU, L2.s slots \([0-9]*\) more.*/BENCH-MEM \1 \2/p' | tail -1
dmesg | sed -n 's/.*histograms: \([0-9]*\) bytes per vCPU.*/BENCH-HISTMEM \1/p' | tail -1
rmmod kvm || exit 1
