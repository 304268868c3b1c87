# Linux 7.3 spells the core its own way: KVM's internal exports, rdtsc()
# from <asm/tsc.h>, and the exit reasons its uapi headers add (VMX 84 and
# 85, MSR_READ_IMM and MSR_WRITE_IMM; SVM 0xa6, IDLE_HLT) or name
# otherwise (SVM_EXIT_ERR is -1ull; 77 and 0xa5 are no longer named).
s/^EXPORT_SYMBOL_GPL(\(.*\));$/EXPORT_SYMBOL_FOR_KVM_INTERNAL(\1);/
s/^#include <asm\/msr\.h>$/#include <asm\/tsc.h>/
s/^ \* reasons; AMD APM Vol\. 2 (24593 rev\. 3\.42, March 2024), Appendix C\.$/ * reasons; AMD APM Vol. 2 (24593 rev. 3.42, March 2024), Appendix C; and\
 * those that this tree's uapi headers add: EXIT_REASON_MSR_READ_IMM and\
 * EXIT_REASON_MSR_WRITE_IMM (84, 85), SVM_EXIT_IDLE_HLT (0xa6)./
s/^\t{ 0, 34 }, { 36, 37 }, { 39, 41 }, { 43, 70 }, { 72, 77 },$/& { 84, 85 },/
s/^\t{ SVM_EXIT_READ_CR0, 0xa5 },$/\t{ SVM_EXIT_READ_CR0, SVM_EXIT_IDLE_HLT },/
/^struct exit_stats_name {$/,/^};$/s/^\tu32 reason;$/\tu64 reason;\t\t\/* SVM_EXIT_ERR is -1ull *\//
s/^\t{ 76, "SEAMCALL" }, { 77, "TDCALL" },$/\t{ 76, "SEAMCALL" },/
s/^\t{ 0xa4, "tlbsync" }, { 0xa5, "buslock" },$/\t{ 0xa4, "tlbsync" },/
s/^\tstatic const u32 vmx_undefined\[\] = { 35, 38, 42, 71, 78, 0x1000a, 0xffffffff };$/\tstatic const u32 vmx_undefined[] = { 35, 38, 42, 71, 78, 83, 86, 0x1000a, 0xffffffff };/
s/^\tstatic const u32 svm_undefined\[\] = { 0xa6, 0xff, 0x3ff, 0x404, 0x10072, 0xffffffff };$/\tstatic const u32 svm_undefined[] = { 0xa7, 0xff, 0x3ff, 0x404, 0x10072, 0xffffffff };/
s/^\tKUNIT_EXPECT_TRUE(test, exit_stats_defined(KVM_EXIT_STATS_VMX, 77));$/&\
\tKUNIT_EXPECT_TRUE(test, exit_stats_defined(KVM_EXIT_STATS_VMX, EXIT_REASON_MSR_WRITE_IMM));/
s/^\tKUNIT_EXPECT_TRUE(test, exit_stats_defined(KVM_EXIT_STATS_SVM, 0xa5));$/\tKUNIT_EXPECT_TRUE(test, exit_stats_defined(KVM_EXIT_STATS_SVM, SVM_EXIT_IDLE_HLT));/
s/^\tKUNIT_EXPECT_EQ(test, exit_stats_max_defined(KVM_EXIT_STATS_VMX), 77);$/\tKUNIT_EXPECT_EQ(test, exit_stats_max_defined(KVM_EXIT_STATS_VMX),\
\t\t\tEXIT_REASON_MSR_WRITE_IMM);/
s/^\tKUNIT_EXPECT_EQ(test, r\.eax & 0xffff, 77);$/\tKUNIT_EXPECT_EQ(test, r.eax \& 0xffff, EXIT_REASON_MSR_WRITE_IMM);/
