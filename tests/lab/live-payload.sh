# exitstat --host --live on two VMs, captured as text (tests/lab/demo_live.c):
#   make -C tests/lab O=build/live build/live/demo_live
#   lab/check.sh -k 6.12 -v amd -p tests/lab/live-payload.sh -e build/live/demo_live
# The boot reports no test of the manifest, so check.sh counts it as a
# failure; the screen is in the log's "[live]" lines.
mkdir -p /dev/pts && mount -t devpts -o ptmxmode=0666 devpts /dev/pts
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
kvm_load test || exit 1
/tests/demo_live -s 6
kvm_unload || exit 1
exit 0
