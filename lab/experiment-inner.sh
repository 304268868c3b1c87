# The paging experiment inside the inner VM: exitstat after boot, then
# exitstat -- the fixed workload (its arguments come from the kernel
# command line, exp=MIB,EXECS,FILE_MIB).
args=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^exp=//p' | tr ',' ' ')
j=$(/tests/exitstat --json) || exit 1
echo "EXP-BOOT $j"
/tests/exitstat --json -- /tests/exp_workload $args 2>/tmp/work.json || exit 1
echo "EXP-WORK $(cat /tmp/work.json)"
echo "EXP-MARK"
read -r -t 3000 go
