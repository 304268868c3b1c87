#!/usr/bin/env python3
"""Nested against shadow paging: check the runs and write docs/results/paging.md.

experiment-report.py --check RESULTS     the qualitative check of make check
experiment-report.py RESULTS DIR KERNEL WORK

RESULTS holds the lines lab/experiment.sh collects from the outer VM's log
(lab/experiment-payload.sh, lab/experiment-inner.sh):

  EXP <vendor> <npt|ept>=<1|0> <run> BOOT <exitstat --json, after the inner VM booted>
  EXP <vendor> <npt|ept>=<1|0> <run> WORK <exitstat --json -- exp_workload ...>
  EXP <vendor> <npt|ept>=<1|0> <run> HOST <reason> <exits> <cycles>;...;total <exits> <cycles>;

The report writes DIR/paging.md and, per vendor, an exits chart
(paging-<vendor>.png) and a cycles chart (paging-<vendor>-cycles.png).
Every number in it is computed from RESULTS.
"""
import datetime
import json
import math
import statistics
import os
import subprocess
import sys

EMU = {"amd": ("QEMU TCG, -cpu EPYC", "AMD SVM", "NPT", "npt"),
       "intel": ("Bochs 2.7, corei7_skylake_x", "Intel VMX", "EPT", "ept")}
SHORT = {"amd": "AMD SVM under QEMU TCG", "intel": "Intel VMX under Bochs"}
NESTED_ONLY = {"amd": [0x400], "intel": [48]}          # NPF / EPT violation
SHADOW_ONLY = {"amd": [0x4e, 0x13], "intel": [14]}     # #PF, CR3 write / INVLPG

# A ratio of two counts is printed only where both sides have at least this
# many exits of the reason in that phase: over 1 exit, or 7, a "factor" is
# only the other side's count (the old report printed 110233.00 for 1 against
# 110,233), and cycles over a handful of exits are noise.
RATIO_MIN = 100

# The same event under both vendors' exit reasons (SVM exit codes, VMX basic
# exit reasons), for the comparison across vendors. VMX reports every guest
# exception as EXCEPTION_NMI and every control-register access as CR_ACCESS;
# SVM has a reason per exception vector and per register and direction.
# VMX's EPT_MISCONFIG is KVM's MMIO path; on SVM, MMIO comes through NPF.
CATEGORIES = [
    ("guest exceptions (page faults)", {"amd": list(range(0x40, 0x60)), "intel": [0]}),
    ("INVLPG", {"amd": [0x79], "intel": [14]}),
    ("INVPCID", {"amd": [0xa2], "intel": [58]}),
    ("control registers", {"amd": list(range(0x00, 0x20)) + [0x65], "intel": [28]}),
    ("nested page faults and MMIO", {"amd": [0x400], "intel": [48, 49]}),
    ("CPUID", {"amd": [0x72], "intel": [10]}),
    ("port I/O", {"amd": [0x7b], "intel": [30]}),
    ("interrupts and interrupt windows", {"amd": [0x60, 0x61, 0x64], "intel": [1, 2, 7, 8]}),
    ("MSR", {"amd": [0x7c], "intel": [31, 32]}),
    ("HLT", {"amd": [0x78], "intel": [12]}),
]
PAGING = {"guest exceptions (page faults)", "INVLPG", "INVPCID", "control registers",
          "nested page faults and MMIO"}
PHASES = [("boot", "Boot"), ("work", "Workload"), ("total", "Boot plus workload")]
# bar colours of the charts: nested boot, nested workload, shadow boot, shadow workload
COLOURS = ["#9ecae1", "#2171b5", "#fdae6b", "#d94801"]


def load(path):
    runs = {}   # (vendor, nested?, rep) -> {"BOOT": json, "WORK": json, "HOST": {...}}
    for line in open(path):
        f = line.split(" ", 5)
        if len(f) < 6 or f[0] != "EXP":
            continue
        v, mode, rep, kind, rest = f[1], f[2], f[3], f[4], f[5].strip()
        run = runs.setdefault((v, mode.endswith("=1"), rep), {})
        if kind == "HOST":
            host = {}
            for item in filter(None, rest.split(";")):
                r, c, y = item.split()
                host["total" if r == "total" else int(r)] = (int(c), int(y))
            run[kind] = host
        else:
            run[kind] = json.loads(rest)
    return runs


def counts(j):
    # cycles are null in exitstat's JSON when KVM counts without them (exit_stats=counts)
    d = {r["reason"]: (r["exits"], r["cycles"] or 0) for r in j["reasons"]}
    d["total"] = (j["total_exits"], j["total_cycles"] or 0)
    return d


def phases(run):
    b, w = counts(run["BOOT"]), counts(run["WORK"])
    both = {k: (b.get(k, (0, 0))[0] + w.get(k, (0, 0))[0], b.get(k, (0, 0))[1] + w.get(k, (0, 0))[1])
            for k in set(b) | set(w)}
    return b, w, both


def consistent(runs):
    """The host-side view, read after the workload, must hold at least what
    exitstat saw after boot plus over the workload, reason by reason."""
    bad = []
    for key, run in sorted(runs.items()):
        if not {"BOOT", "WORK", "HOST"} <= set(run):
            bad.append(f"{key}: incomplete run")
            continue
        _, _, both = phases(run)
        for k, (c, _) in both.items():
            if run["HOST"].get(k, (0, 0))[0] < c:
                bad.append(f"{key}: reason {k}: exitstat saw {c}, host view {run['HOST'].get(k, (0, 0))[0]}")
    return bad


def check(path):
    runs = load(path)
    passed = failed = 0

    def result(ok, name):
        nonlocal passed, failed
        print(("PASS  " if ok else "FAIL  ") + name)
        passed, failed = passed + bool(ok), failed + (not ok)

    bad = consistent(runs)
    for b in bad[:10]:
        print("  " + b)
    result(not bad and bool(runs), "experiment: exitstat and the host-side view agree")
    for v in sorted({k[0] for k in runs}):
        tot = {n: [phases(r)[2] for k, r in runs.items() if k[0] == v and k[1] == n] for n in (True, False)}
        if not tot[True] or not tot[False]:
            result(False, f"experiment {v}: runs with both paging modes")
            continue
        nested, shadow = tot[True][0], tot[False][0]
        e = EMU[v]
        print(f"  {v}: total exits with {e[2]} {nested['total'][0]}, with shadow paging {shadow['total'][0]}")
        result(shadow["total"][0] > nested["total"][0], f"experiment {v}: shadow paging causes more exits than {e[2]}")
        for r in NESTED_ONLY[v]:
            result(nested.get(r, (0, 0))[0] > 0 and shadow.get(r, (0, 0))[0] == 0,
                   f"experiment {v}: reason {fmt_reason(v, r)} only with {e[2]} ({nested.get(r, (0, 0))[0]} / {shadow.get(r, (0, 0))[0]})")
        for r in SHADOW_ONLY[v]:
            result(shadow.get(r, (0, 0))[0] > 0 and nested.get(r, (0, 0))[0] == 0,
                   f"experiment {v}: reason {fmt_reason(v, r)} only with shadow paging ({shadow.get(r, (0, 0))[0]} / {nested.get(r, (0, 0))[0]})")
    print(f"{passed} passed, {failed} failed")
    return failed == 0


def fmt_reason(v, r):
    return f"{r:#x}" if v == "amd" else str(r)


def med(xs):
    return statistics.median(xs) if xs else 0


def fmt_exits(xs):
    m = med(xs)
    return f"{m:,.0f}" if min(xs) == max(xs) else f"{m:,.0f} ({min(xs):,}–{max(xs):,})"


def si(x):
    """A cycle count to about three significant digits: 10.1 G, 342 M, 10.6 k."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            v = x / div
            return f"{v:.{2 if v < 10 else 1 if v < 100 else 0}f} {suffix}"
    return f"{x:.0f}"


def fmt_cycles(xs):
    m = med(xs)
    return si(m) if min(xs) == max(xs) else f"{si(m)} ({si(min(xs))}–{si(max(xs))})"


def factor(a, b):
    return f"×{b / a:.2f}" if a else "–"


def pct(x):
    return f"{100 * x:.0f} %" if x >= 0.1 else f"{100 * x:.1f} %"


def join(xs):
    xs = list(xs)
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]


class Vendor:
    """One vendor's runs: sets[nested?] is a list of {phase: {reason: (exits, cycles)}},
    one per run, with phases boot, work and total (= boot + work)."""

    def __init__(self, v, runs):
        self.v, self.e = v, EMU[v]
        self.sets = {n: [dict(zip(("boot", "work", "total"), phases(r)))
                         for k, r in sorted(runs.items()) if k[0] == v and k[1] == n]
                     for n in (True, False)}
        self.names = {}
        for k, r in runs.items():
            if k[0] == v:
                for j in (r["BOOT"], r["WORK"]):
                    self.names.update({x["reason"]: x["name"] for x in j["reasons"]})
        self.complete = bool(self.sets[True] and self.sets[False])

    def xs(self, n, ph, r, i=0):
        return [s[ph].get(r, (0, 0))[i] for s in self.sets[n]]

    def m(self, n, ph, r, i=0):
        return med(self.xs(n, ph, r, i))

    def reasons(self, ph="total"):
        return sorted({r for n in (True, False) for s in self.sets[n] for r, (c, _) in s[ph].items()
                       if r != "total" and c})

    def name(self, r):
        return self.names.get(r, fmt_reason(self.v, r))

    def runs(self):
        a, b = len(self.sets[True]), len(self.sets[False])
        return f"{a} run{'s' if a != 1 else ''} per mode" if a == b else f"{a} run(s) with {self.e[2]}, {b} with shadow paging"

    def factor(self, ph, i=0, r="total"):
        return factor(self.m(True, ph, r, i), self.m(False, ph, r, i))

    def ratio_cell(self, ph, r, i):
        """shadow / nested for reason r, only where both have RATIO_MIN exits or more."""
        a, b = self.m(True, ph, r), self.m(False, ph, r)
        if a == 0 and b == 0:
            return "–"
        if a == 0:
            return "only shadow"
        if b == 0:
            return "only " + self.e[2]
        if min(a, b) < RATIO_MIN:
            return "–"
        return self.factor(ph, i, r)

    def carriers(self):
        """The reasons shadow paging adds (top 3, each 2 % or more of what it adds)
        and those only nested paging has (RATIO_MIN exits or more)."""
        rs = self.reasons()
        up = sorted(((self.m(False, "total", r) - self.m(True, "total", r), r) for r in rs), reverse=True)
        gross = sum(d for d, _ in up if d > 0)
        added = [(r, d) for d, r in up[:3] if d > 0 and d >= 0.02 * gross]
        gone = sorted(((self.m(True, "total", r), r) for r in rs
                       if self.m(False, "total", r) == 0 and self.m(True, "total", r) >= RATIO_MIN),
                      reverse=True)
        return added, gross, [(r, c) for c, r in gone]

    def category(self, n, ph, reasons, i=0):
        return med([sum(s[ph].get(r, (0, 0))[i] for r in reasons) for s in self.sets[n]])

    def spread(self, n, r="total"):
        xs = self.xs(n, "total", r)
        return (max(xs) - min(xs)) / med(xs) if med(xs) else 0


def chart(outdir, vd, i):
    """An exits (i = 0) or cycles (i = 1) chart: per reason, boot and workload in
    each mode, median bars with min-max error bars when there are several runs."""
    e, v = vd.e, vd.v
    what = "exits" if i == 0 else "cycles"
    png = f"paging-{v}.png" if i == 0 else f"paging-{v}-cycles.png"
    series = [(True, "boot"), (True, "work"), (False, "boot"), (False, "work")]
    titles = [f"{e[2]}, boot", f"{e[2]}, workload", "shadow, boot", "shadow, workload"]
    multi = any(len(vd.sets[n]) > 1 for n in (True, False))
    rows = []
    for r in vd.reasons():
        cols = []
        for n, ph in series:
            xs = vd.xs(n, ph, r, i)
            cols.append((med(xs), min(xs), max(xs)))
        if any(c[0] for c in cols):
            rows.append((vd.name(r), cols))
    if not rows:
        return None
    lo = min((x for _, cols in rows for c in cols for x in c if x > 0), default=1)
    floor = 10 ** math.floor(math.log10(lo)) / 2
    dat = f"{outdir}/paging-{v}-{what}.dat"
    with open(dat, "w") as f:
        for name, cols in rows:
            f.write(f"\"{name}\" " + " ".join(f"{max(x, floor):g}" for c in cols for x in c) + "\n")
    if multi:
        style = "set style histogram errorbars gap 1 lw 1"
        using = [f"{2 + 3 * k}:{3 + 3 * k}:{4 + 3 * k}" for k in range(4)]
    else:
        style = "set style histogram clustered gap 1"
        using = [f"{2 + 3 * k}" for k in range(4)]
    q = '"'
    plots = ", ".join(f"{q}{dat if k == 0 else ''}{q} using {using[k]}{':xtic(1)' if k == 0 else ''} "
                      f"title {q}{titles[k]}{q} lc rgb {q}{COLOURS[k]}{q}" for k in range(4))
    clock = "QEMU's TSC, host time" if v == "amd" else "Bochs's TSC, instruction count"
    ylabel = ("exits" if i == 0 else "emulated cycles") + " (log scale; none: no bar)"
    bars = "median of the runs, min-max error bars" if multi else "one run"
    if i:
        bars += f"; cycles: {clock}, not hardware cycles"
    subprocess.run(["gnuplot"], input=f"""
set terminal pngcairo size 1100,560 font ",10"
set output "{outdir}/{png}"
set title "{e[1]} ({e[0]}): VM {what} per reason, boot and workload, {e[2]} against shadow paging\\n{bars}"
set style data histograms
{style}
set style fill solid 0.85 border -1
set termoption noenhanced
set logscale y
set yrange [{floor:g}:*]
set format y "%.0s%c"
set bmargin 8
set ylabel "{ylabel}"
set xtics rotate by -45
set key outside top center horizontal
set grid ytics
plot {plots}
""", text=True, check=True)
    subprocess.run(["rm", "-f", dat])
    return png


def verdict(vds):
    done = [vd for vd in vds if vd.complete]
    if not done:
        return ["**Verdict:** not measured: no vendor has runs in both paging modes."]
    s1 = []
    for vd in done:
        t = (f"{vd.factor('total')} the exits of {vd.e[2]} on {SHORT[vd.v]} (boot "
             f"{vd.factor('boot')}, workload {vd.factor('work')})")
        if vd.m(True, "total", "total", 1) and vd.m(False, "total", "total", 1):
            t += (f" and {vd.factor('total', 1)} its cycles (boot {vd.factor('boot', 1)}, "
                  f"workload {vd.factor('work', 1)})")
        else:
            t += " (cycles not counted)"
        s1.append(t)
    s2 = []
    for vd in done:
        added, gross, gone = vd.carriers()
        cyc = sum(vd.m(False, "total", r, 1) for r, _ in added) / (vd.m(False, "total", "total", 1) or 1)
        t = (f"on {vd.e[1].split()[0]} " + join(f"`{vd.name(r)}` +{d:,.0f}" for r, d in added)
             + f" ({pct(sum(d for _, d in added) / gross)} of the exits it adds, {pct(cyc)} of shadow paging's cycles)")
        if gone:
            t += f" in place of {vd.e[2]}'s " + join(f"`{vd.name(r)}` ({c:,.0f})" for r, c in gone)
        s2.append(t)
    missing = [EMU[v][1] for v in ("amd", "intel") if v not in {vd.v for vd in done}]
    out = ["**Verdict.** Shadow paging costs " + "; ".join(s1) + "."
           + (f" {join(missing)}: not measured." if missing else ""),
           "The difference is what shadow paging must intercept and nested paging never sees: "
           + "; ".join(s2) + "."
           " Exit counts are exact and compare across the emulators; cycles are each emulator's"
           " own, so the cycle factors hold within one emulator only and none of them is a"
           " hardware figure."]
    return [" ".join(out)]


def report(path, outdir, kernel, work):
    runs = load(path)
    bad = consistent(runs)
    if bad:
        print("the report's numbers disagree with the host-side view:", *bad[:10], sep="\n  ", file=sys.stderr)
        sys.exit(1)
    mib, execs, fmib = work.split(",")
    vds = [Vendor(v, runs) for v in ("amd", "intel") if any(k[0] == v for k in runs)]
    out = ["# Nested paging against shadow paging", ""] + verdict(vds) + [""]
    out += ["| vendor | phase | exits, nested | exits, shadow | shadow / nested "
            "| cycles, nested | cycles, shadow | shadow / nested |",
            "|---|---|---|---|---|---|---|---|"]
    for vd in vds:
        if not vd.complete:
            out.append(f"| {SHORT[vd.v]} | – | not measured in both modes | – | – | – | – | – |")
            continue
        for ph, title in PHASES:
            out.append(f"| {SHORT[vd.v]}, {vd.e[2]} | {title.lower()} | {fmt_exits(vd.xs(True, ph, 'total'))} "
                       f"| {fmt_exits(vd.xs(False, ph, 'total'))} | {vd.factor(ph)} "
                       f"| {fmt_cycles(vd.xs(True, ph, 'total', 1))} | {fmt_cycles(vd.xs(False, ph, 'total', 1))} "
                       f"| {vd.factor(ph, 1)} |")
    out += [
        "",
        "## How it was measured",
        "",
        f"Generated by `make experiment` on {datetime.date.today()} at commit {head()}. Each configuration boots an inner",
        f"Linux VM (linux {kernel}, 256 MiB, 1 vCPU) with `qemu-system-x86_64 -accel kvm` inside the",
        "emulated outer VM, on the patched KVM; inside it, `exitstat --json` reads the counts after boot",
        f"and over a fixed workload (`exp_workload {mib} {execs} {fmib}`: touch {mib} MiB, fork and exec",
        f"`busybox true` {execs} times, write, read and delete {fmib} MiB in tmpfs). *Boot* is everything",
        "from the VM's start to the end of its boot (exitstat's own CPUID exits excluded), *workload*",
        "the exits while the workload ran. The outer VM reads the host-side view (debugfs",
        "`exit_stats`) of the same VM after the workload; the report is only written if, for every",
        "reason, the host saw at least what the guest reported.",
        "",
        "Figures are medians over the runs, with min–max in brackets where the runs differ. Cycles",
        "are rounded to three significant digits (k = 10³, M = 10⁶, G = 10⁹). A ratio is printed only",
        f"where both modes have at least {RATIO_MIN} exits of the reason in that phase (the cycle ratio",
        "too: cycles over a handful of exits are noise); otherwise the cell says `–`, or `only shadow`",
        "/ `only NPT` / `only EPT` where one mode has none.",
        "",
    ]
    out += runs_section(vds)
    for vd in vds:
        e = vd.e
        out += [f"## {e[1]} ({e[0]}): {e[2]} (`{e[3]}=1`) against shadow paging (`{e[3]}=0`)", ""]
        if not vd.complete:
            out += [f"Not measured: runs with {e[2] if vd.sets[True] else 'shadow paging'} only.", ""]
            continue
        out += [f"{vd.runs().capitalize()}.", ""]
        for ph, title in PHASES:
            rs = vd.reasons(ph)
            out += [f"{title}:", "",
                    f"| reason | name | exits, {e[2]} | exits, shadow | shadow / {e[2]} "
                    f"| cycles, {e[2]} | cycles, shadow | shadow / {e[2]} |",
                    "|---|---|---|---|---|---|---|---|"]
            for r in rs + ["total"]:
                name = "**total**" if r == "total" else vd.name(r)
                out.append(f"| {'' if r == 'total' else fmt_reason(vd.v, r)} | {name} "
                           f"| {fmt_exits(vd.xs(True, ph, r))} | {fmt_exits(vd.xs(False, ph, r))} "
                           f"| {vd.ratio_cell(ph, r, 0)} | {fmt_cycles(vd.xs(True, ph, r, 1))} "
                           f"| {fmt_cycles(vd.xs(False, ph, r, 1))} | {vd.ratio_cell(ph, r, 1)} |")
            out.append("")
        ex, cy = chart(outdir, vd, 0), chart(outdir, vd, 1)
        out += [f"![exits per reason, {e[2]} against shadow paging]({ex})", "",
                f"![cycles per reason, {e[2]} against shadow paging]({cy})" if cy else
                "No cycles were counted in these runs: no cycles chart.", ""]
    out += across(vds)
    out += [
        "## What the differences mean",
        "",
        "- **Nested paging** (EPT, NPT): the hardware walks the guest's page tables and the",
        "  host's second-level tables itself. KVM only hears of a guest page the first time it",
        "  touches memory the host has not mapped yet: an *EPT violation* (VMX 48) or a *nested page",
        "  fault* (SVM 0x400), one per host page faulted in, and it never sees the guest's own page",
        "  faults, CR3 switches or INVLPGs.",
        "- **Shadow paging**: KVM builds the tables the hardware really uses from the guest's, so it",
        "  must intercept everything that changes them or their meaning: guest page faults (VMX",
        "  exception exits, reason 0; SVM `PF excp`, 0x4e), every CR3 write (the guest switches",
        "  address spaces at each context switch: VMX CR access, reason 28; SVM `write_cr3`, 0x13),",
        "  and INVLPG (VMX 14, SVM 0x79). A fork and exec workload multiplies all three, which is",
        "  why the totals grow by the factor in the tables, and why each such exit is dear: KVM has",
        "  to walk and sync the guest's tables on the way.",
        "- Exits that have nothing to do with paging (I/O, CPUID, interrupts, HLT) stay about the",
        "  same in both modes; what differs there follows timing (interrupts, interrupt windows).",
    ]
    with open(f"{outdir}/paging.md", "w") as f:
        f.write("\n".join(out) + "\n")


def runs_section(vds):
    """Why Intel runs once, and how much the runs of each vendor differ."""
    out = ["## Why Intel runs once", ""]
    by = {vd.v: vd for vd in vds if vd.complete}
    t = ("Bochs runs the outer VM with `clock: sync=none, time0=1` (`lab/run.sh`): its clock, its TSC"
         " and so its timer interrupts advance with its instruction count, not with the host's time."
         " The same kernel, initramfs and workload then execute the same instructions and give the"
         " same counts, exit for exit, run after run; a second run would repeat the first, so"
         " `make experiment` runs Intel once per mode. QEMU TCG's clock follows the host's: timer"
         " interrupts, and everything that waits for them, land at different points in each run,"
         " so AMD runs several times and the tables give the median and the range.")
    facts = []
    for vd in by.values():
        k = min(len(vd.sets[True]), len(vd.sets[False]))
        if k < 2:
            facts.append(f"{SHORT[vd.v]} ran once per mode")
            continue
        same = all(s == vd.sets[n][0] for n in (True, False) for s in vd.sets[n])
        if same:
            facts.append(f"{SHORT[vd.v]} ran {k} times per mode and every run gave the same counts and cycles")
            continue
        worst = {}
        for n in (True, False):
            rs = [r for r in vd.reasons() if vd.m(n, "total", r) >= RATIO_MIN]
            worst[n] = max(rs, key=lambda r: vd.spread(n, r)) if rs else None
        xs = {n: vd.xs(n, "total", "total") for n in (True, False)}
        f = (f"{SHORT[vd.v]} ran {k} times per mode: total exits varied by {pct(vd.spread(True))} with "
             f"{vd.e[2]} ({min(xs[True]):,}–{max(xs[True]):,}) and {pct(vd.spread(False))} with shadow"
             f" paging ({min(xs[False]):,}–{max(xs[False]):,})")
        w = [f"`{vd.name(worst[n])}` with {vd.e[2] if n else 'shadow paging'} ({pct(vd.spread(n, worst[n]))})"
             for n in (True, False) if worst[n] is not None]
        if w:
            f += f"; the most variable reasons of {RATIO_MIN}+ exits were " + join(w)
        facts.append(f)
    if facts:
        t += " Here, " + "; ".join(facts) + "."
    return out + [t, ""]


def head():
    """The commit of the tree this report is written from."""
    r = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def across(vds):
    """The differences between the vendors, from the numbers."""
    by = {vd.v: vd for vd in vds if vd.complete}
    out = ["## AMD against Intel", ""]
    if set(by) != {"amd", "intel"}:
        return out + ["Only one vendor was measured in both modes; nothing to compare.", ""]
    a, i = by["amd"], by["intel"]
    cats = CATEGORIES + [("other", None)]

    def cat(vd, n, name, reasons, idx=0):
        if reasons is None:
            # The reasons no category names, counted like a category: the
            # total less the categories is no count (a median of totals less
            # a median of categories went below 0, and even one run's total,
            # read from its own leaf a moment apart, can be short by an exit
            # or two of the per-reason leaves).
            known = {r for _, rs in CATEGORIES for r in rs[vd.v]}
            return vd.category(n, "total", [r for r in vd.reasons() if r not in known], idx)
        return vd.category(n, "total", reasons[vd.v], idx)

    def names(vd, reasons):
        if reasons is None:
            known = {r for _, rs in CATEGORIES for r in rs[vd.v]}
            rs = [r for r in vd.reasons() if r not in known]
        else:
            rs = [r for r in vd.reasons() if r in reasons[vd.v]]
        return ", ".join(f"`{vd.name(r)}`" for r in rs) or "–"

    out += [f"Boot plus workload, medians, by what the exit is for (each vendor's reasons named).", "",
            "| exits for | AMD reasons | AMD, NPT | AMD, shadow | Intel reasons | Intel, EPT | Intel, shadow |",
            "|---|---|---|---|---|---|---|"]
    c = {}
    for name, reasons in cats:
        c[name] = {(vd.v, n): cat(vd, n, name, reasons) for vd in (a, i) for n in (True, False)}
        if not any(c[name].values()):
            continue
        out.append(f"| {name} | {names(a, reasons)} | {c[name][('amd', True)]:,.0f} | {c[name][('amd', False)]:,.0f} "
                   f"| {names(i, reasons)} | {c[name][('intel', True)]:,.0f} | {c[name][('intel', False)]:,.0f} |")
    tot = {(vd.v, n): vd.m(n, "total", "total") for vd in (a, i) for n in (True, False)}
    out += [f"| **total** | | {tot[('amd', True)]:,.0f} | {tot[('amd', False)]:,.0f} "
            f"| | {tot[('intel', True)]:,.0f} | {tot[('intel', False)]:,.0f} |", ""]

    def diff(x, y):
        return abs(x - y) / max(abs(x), abs(y), 1)

    # 1. what shadow paging adds, on each vendor
    add = {vd.v: tot[(vd.v, False)] - tot[(vd.v, True)] for vd in (a, i)}
    paging = [name for name, _ in CATEGORIES if name in PAGING and name != "nested page faults and MMIO"]
    deltas = [(name, c[name][("amd", False)] - c[name][("amd", True)],
               c[name][("intel", False)] - c[name][("intel", True)]) for name in paging]
    deltas = [d for d in deltas if max(abs(d[1]), abs(d[2])) >= RATIO_MIN]
    agree = all(diff(x, y) <= 0.1 for _, x, y in deltas)
    p = (f"Shadow paging adds {add['amd']:+,.0f} exits on AMD and {add['intel']:+,.0f} on Intel"
         f" ({pct(diff(add['amd'], add['intel']))} apart). By kind: "
         + join(f"{name} {x:+,.0f} against {y:+,.0f}" for name, x, y in deltas) + ". ")
    if agree:
        p += ("Each kind agrees within 10 % across the vendors: the same guest kernel runs the same"
              " workload, and shadow paging intercepts the same events of it on both.")
    else:
        p += ("They do not all agree within 10 %: " + join(f"{name} ({pct(diff(x, y))} apart)"
                                                         for name, x, y in deltas if diff(x, y) > 0.1) + ".")
    nested_c = c["nested page faults and MMIO"]
    p += (f" What nested paging has instead, nested page faults and (Intel) MMIO, is"
          f" {nested_c[('amd', True)]:,.0f} exits on AMD and {nested_c[('intel', True)]:,.0f} on Intel.")
    out += [p, ""]

    # 2. why the factors differ: the baselines
    fa, fi = a.factor("total"), i.factor("total")
    other = []
    for name, _ in cats:
        if name in PAGING:
            continue
        x, y = c[name][("amd", True)], c[name][("intel", True)]
        if abs(x - y) >= RATIO_MIN and max(x, y) >= 1.5 * max(min(x, y), 1):
            other.append((abs(x - y), name, x, y))
    other.sort(reverse=True)
    if agree and diff(add["amd"], add["intel"]) <= 0.25:
        p = (f"The factors still differ, {fa} on AMD against {fi} on Intel, because the baselines do:"
             f" with nested paging AMD takes {tot[('amd', True)]:,.0f} exits in all and Intel"
             f" {tot[('intel', True)]:,.0f}")
    else:
        p = (f"The factors, {fa} on AMD against {fi} on Intel, differ both by what shadow paging adds"
             f" (above) and by the baselines: with nested paging AMD takes {tot[('amd', True)]:,.0f}"
             f" exits in all and Intel {tot[('intel', True)]:,.0f}")
    if other:
        p += "; exits for " + join(f"{name} {x:,.0f} against {y:,.0f}" for _, name, x, y in other)
        stable = [name for _, name, _, _ in other
                  if all(diff(c[name][(v, True)], c[name][(v, False)]) <= 0.2 for v in ("amd", "intel"))]
        if stable:
            t = join(stable)
            p += (". " + t[0].upper() + t[1:] + (" stay" if len(stable) > 1 else " stays")
                  + " within 20 % between the paging modes of each vendor: they come with the emulated"
                  " machine (its devices, its clock, the guest's code for that CPU), not with the paging mode")
    out += [p + ".", ""]

    # 3. cycles: what carries, what does not
    cpe = {vd.v: vd.m(True, "total", "total", 1) / (vd.m(True, "total", "total") or 1) for vd in (a, i)}
    p = (f"Cycles do not compare across the vendors. With nested paging an exit costs"
         f" {cpe['amd']:,.0f} cycles on average under QEMU TCG and {cpe['intel']:,.0f} under Bochs,"
         f" ×{max(cpe.values()) / (min(cpe.values()) or 1):,.0f} apart: that is the emulators' clocks"
         f" (QEMU's TSC follows the host's time, its code translation included; Bochs's counts"
         f" instructions), not the CPUs.")
    per = {}
    for vd in (a, i):
        added, _, gone = vd.carriers()
        if added and gone:
            r1, r2 = added[0][0], gone[0][0]
            x = vd.m(False, "total", r1, 1) / (vd.m(False, "total", r1) or 1)
            y = vd.m(True, "total", r2, 1) / (vd.m(True, "total", r2) or 1)
            per[vd.v] = (vd.name(r1), x, vd.name(r2), y)
    if len(per) == 2:
        (n1, x1, n2, y1), (m1, x2, m2, y2) = per["amd"], per["intel"]
        p += (f" Even the price of one exit against another is the emulator's: under QEMU a `{n1}`"
              f" exit (shadow paging's biggest) costs {x1:,.0f} cycles and an `{n2}` exit {y1:,.0f};"
              f" under Bochs an `{m1}` exit costs {x2:,.0f} and an `{m2}` exit {y2:,.0f}")
        if (x1 > y1) != (x2 > y2):
            p += ", so the two emulators do not even agree on which of the two is dearer."
        else:
            p += (f": both find the {'shadow' if x1 > y1 else 'nested'} paging exit dearer, by"
                  f" ×{max(x1, y1) / (min(x1, y1) or 1):.2f} and ×{max(x2, y2) / (min(x2, y2) or 1):.2f}.")
    p += (f" So the cycle factors, {a.factor('total', 1)} under QEMU and {i.factor('total', 1)} under"
          f" Bochs, describe those emulators and predict no hardware.")
    out += [p, ""]
    p = ("What carries: the exit counts are exact, and which reasons shadow paging adds and takes away,"
         " and how many, depend on the guest and on KVM, not on the emulator")
    p += (" (the two emulators agree on them within 10 %)." if agree else
          " (though here the two emulators disagree on some by more than 10 %, above).")
    p += (" What does not: any cycle figure, the cycle factors, and the exits that follow the clock"
          " (interrupts, interrupt windows), which depend on how fast each emulator's time runs.")
    return out + [p, ""]


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        sys.exit(0 if check(sys.argv[2]) else 1)
    report(*sys.argv[1:5])
