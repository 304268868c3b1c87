// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat's command line: it picks the source (the guest's CPUID, or with
 * --host the host's debugfs), reads snapshots, makes reports of them and
 * prints them in the format asked for. See exitstat.1.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "exitstat.h"

#define MAX_REASONS	64
#define MAX_NAMES	16

static void real_sleep(unsigned int seconds)
{
	while (seconds)
		seconds = sleep(seconds);
}

static void real_clock(struct es_clock *now)
{
	struct timespec m, w;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &w);
	now->mono = m.tv_sec + m.tv_nsec / 1e9;
	now->wall = w.tv_sec + w.tv_nsec / 1e9;
}

uint32_t es_perf_tsc_khz(void);
struct es_hooks es_hooks = { NULL, real_sleep, real_clock, es_perf_tsc_khz, "/proc" };

/* ------------------------------------------------------------------ */
/*
 * The terminal of --host --live: plain ANSI escape codes (cursor home,
 * erase line, erase below) and termios, no curses: exitstat is one static
 * binary with no dependencies, and on a host where it was just copied
 * there may be no terminfo database for ncurses to find; every terminal
 * emulator in use today takes these few VT100 codes.
 */

static struct termios saved;
static bool raw;
static volatile sig_atomic_t stop, resized;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else
		stop = 1;
}

/* The terminal's size, or 24 by 80 where it has none. */
static void live_size(struct es_live *l)
{
	struct winsize ws;

	l->rows = 24;
	l->cols = 80;
	if (!ioctl(l->out, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		l->rows = ws.ws_row;
		l->cols = ws.ws_col;
	}
}

/* Wait up to seconds for input on fd (-1: none): 1 readable, 0 not, -1 a signal. */
static int real_wait(int fd, unsigned int seconds)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, fd >= 0, seconds > INT32_MAX / 1000 ? -1 : (int)seconds * 1000);

	if (n < 0)
		return errno == EINTR ? -1 : 0;
	return n > 0;
}

int (*es_live_wait)(int fd, unsigned int seconds) = real_wait;

int es_live_start(struct es_live *l, int in, int out)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct termios t;

	memset(l, 0, sizeof(*l));
	l->in = -1;
	l->out = out;
	live_size(l);
	stop = 0;
	resized = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);	/* no SA_RESTART: the wait ends */
	/* keys only from a terminal: without one, the view just refreshes */
	if (isatty(in) && !tcgetattr(in, &saved)) {
		t = saved;
		t.c_lflag &= ~(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (!tcsetattr(in, TCSANOW, &t)) {
			raw = true;
			l->in = in;
		}
	}
	return 0;
}

void es_live_stop(struct es_live *l)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	if (raw)
		tcsetattr(l->in, TCSANOW, &saved);
	raw = false;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
}

int es_live_key(struct es_live *l, unsigned int seconds)
{
	char c;
	int n = 0;

	if (stop)
		return -1;
	if (!resized)
		n = es_live_wait(l->in, seconds);
	if (stop)
		return -1;
	if (resized) {
		resized = 0;
		live_size(l);
		return ES_LIVE_RESIZE;
	}
	if (n < 0)
		return -1;
	if (!n || l->in < 0)
		return 0;
	if (read(l->in, &c, 1) != 1)
		return -1;	/* the terminal went away */
	return (unsigned char)c;
}

/*
 * One frame from its text: from the top left, each line cut to the width
 * and erased to its end, as many as the height holds, the rest of the
 * screen erased: no flicker from clearing it first.
 */
void es_live_draw(FILE *f, const struct es_live *l, const char *text)
{
	unsigned int row = 0;
	size_t n;

	fputs("\033[H", f);
	while (*text && row + 1 < l->rows) {
		n = strcspn(text, "\n");
		fwrite(text, 1, n < l->cols ? n : l->cols, f);
		fputs("\033[K\n", f);
		text += n + (text[n] == '\n');
		row++;
	}
	fputs("\033[J", f);
}

/* ------------------------------------------------------------------ */
/* Arguments */

enum format { F_TABLE, F_LINE, F_JSON, F_CSV, F_PROM, F_DEFAULT };

struct opts {
	bool all, verbose, raw, host, vcpus, no_header, stamps, live;
	enum format format;
	enum es_sort sort;
	char *reasons[MAX_REASONS];	/* -e, split at commas */
	unsigned int nreasons;
	const char *names[MAX_NAMES];	/* -g, each a pattern */
	unsigned int nnames;
	bool has_vcpu;			/* --vcpu */
	uint32_t vcpu;
	const char *output, *debugfs;
	uint32_t pid, top, tsc_khz;
	char **cmd;
	char *pos[3];
	int npos;
	uint32_t interval, count;	/* INTERVAL COUNT */
	uint32_t leaf, subleaf;		/* --raw */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: exitstat [OPTION...] [INTERVAL [COUNT]]\n"
		"       exitstat [OPTION...] [-o FILE] -- COMMAND [ARG...]\n"
		"       exitstat --host [-p PID] [-g PATTERN] [--vcpus|--vcpu N] [OPTION...]\n"
		"                [INTERVAL [COUNT]]\n"
		"       exitstat --host --live [-p PID] [-g PATTERN] [--vcpu N] [INTERVAL [COUNT]]\n"
		"       exitstat --raw LEAF [SUBLEAF]\n"
		"       exitstat -h|--help | -V|--version\n");
}

static void help(FILE *f)
{
	usage(f);
	fprintf(f,
		"\nVM exits per exit reason, with the cycles KVM spent on them: in a guest,\n"
		"from a patched KVM through CPUID leaves 0x4ffffffb..0x4fffffff; with\n"
		"--host, on the hypervisor, from debugfs.\n\n"
		"  INTERVAL [COUNT]  first the exits since the start, then those of\n"
		"                    every INTERVAL seconds, with rates; COUNT blocks in all\n"
		"  -- COMMAND        the exits while COMMAND ran, on stderr (or -o FILE);\n"
		"                    exits with COMMAND's status (125: exitstat's own error)\n"
		"  -a, --all         also list reasons with no exits\n"
		"  -v, --verbose     show the ABI details and the undefined reasons\n"
		"  -e, --reasons R[,R...]  only these reasons, by name or number\n"
		"      --sort exits|cycles|reason  the order of the rows (default exits)\n"
		"  -1, --line        one line per block: the total and the top reasons\n"
		"      --top N       how many reasons --line shows (default 3)\n"
		"  -n, --no-header   no titles and column headers\n"
		"  -t, --timestamps  the time of each block\n"
		"      --json        one JSON object per block (per VM, per vCPU)\n"
		"      --csv         CSV, one row per reason and a total row\n"
		"      --prom        Prometheus text format, counters since the start\n"
		"  -o, --output FILE write the report to FILE\n"
		"      --tsc-khz KHZ the host's TSC rate, for times per exit\n"
		"      --host        on the hypervisor: every VM from debugfs (root)\n"
		"  -p, --pid PID     --host: the VM of process PID, as a table\n"
		"  -g, --vm-name PATTERN  --host: the VMs whose name matches the shell\n"
		"                    pattern (repeat for more); none matches: status 4\n"
		"      --vcpus       --host: per vCPU too\n"
		"      --vcpu N      --host: vCPU N only, of each VM that has it\n"
		"      --live        --host: a live view, like top, every INTERVAL (2) s;\n"
		"                    keys q quit, s sort, p pause; --line if not a terminal\n"
		"      --debugfs DIR --host: KVM's debugfs directory (" ES_DEBUGFS ")\n"
		"      --raw LEAF [SUBLEAF]  one CPUID, printed like cpuid -1 -r\n"
		"  -h, --help        this help\n"
		"  -V, --version     version\n");
}

static int bad(FILE *err, const char *what, const char *arg)
{
	fprintf(err, "exitstat: %s%s%s%s\n", what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
	usage(err);
	return 1;
}

static int set_format(struct opts *o, enum format f, FILE *err)
{
	if (o->format != F_DEFAULT && o->format != f)
		return bad(err, "--json, --csv, --prom and --line exclude each other", NULL);
	o->format = f;
	return -1;
}

static int split_reasons(struct opts *o, char *list, FILE *err)
{
	char *t, *save;

	for (t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->nreasons == MAX_REASONS)
			return bad(err, "too many reasons for -e", NULL);
		o->reasons[o->nreasons++] = t;
	}
	return o->nreasons ? -1 : bad(err, "no reason in -e", list);
}

static int u32_opt(const char *v, uint32_t *x, bool zero, const char *what, FILE *err)
{
	if (es_parse_u32(v, x) || (!zero && !*x))
		return bad(err, what, v);
	return -1;
}

/* The options that have no short form. */
enum {
	OPT_JSON = 256, OPT_CSV, OPT_PROM, OPT_RAW, OPT_HOST, OPT_VCPUS, OPT_SORT,
	OPT_TOP, OPT_DEBUGFS, OPT_TSC_KHZ, OPT_VCPU, OPT_LIVE,
};

static const struct option long_opts[] = {
	{ "all", no_argument, NULL, 'a' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "no-header", no_argument, NULL, 'n' },
	{ "line", no_argument, NULL, '1' },
	{ "timestamps", no_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "reasons", required_argument, NULL, 'e' },
	{ "output", required_argument, NULL, 'o' },
	{ "pid", required_argument, NULL, 'p' },
	{ "vm-name", required_argument, NULL, 'g' },
	{ "vcpu", required_argument, NULL, OPT_VCPU },
	{ "live", no_argument, NULL, OPT_LIVE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "prom", no_argument, NULL, OPT_PROM },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "host", no_argument, NULL, OPT_HOST },
	{ "vcpus", no_argument, NULL, OPT_VCPUS },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "debugfs", required_argument, NULL, OPT_DEBUGFS },
	{ "tsc-khz", required_argument, NULL, OPT_TSC_KHZ },
	{ NULL, 0, NULL, 0 },
};

/* One option from getopt_long(); -1: go on, else the exit status. */
static int parse_opt(int c, char *v, struct opts *o, FILE *out, FILE *err)
{
	static const char *const sorts[] = {
		[ES_SORT_EXITS] = "exits", [ES_SORT_CYCLES] = "cycles", [ES_SORT_REASON] = "reason",
	};
	unsigned int k;

	switch (c) {
	case 'h':
		help(out);
		return 0;
	case 'V':
		fprintf(out, "exitstat %s (kvm-exitstat, CPUID ABI version %d)\n",
			ES_VERSION, ES_ABI_VERSION);
		return 0;
	case OPT_JSON:
		return set_format(o, F_JSON, err);
	case OPT_CSV:
		return set_format(o, F_CSV, err);
	case OPT_PROM:
		return set_format(o, F_PROM, err);
	case '1':
		return set_format(o, F_LINE, err);
	case 'a':
		o->all = true;
		return -1;
	case 'v':
		o->verbose = true;
		return -1;
	case 'n':
		o->no_header = true;
		return -1;
	case 't':
		o->stamps = true;
		return -1;
	case OPT_RAW:
		o->raw = true;
		return -1;
	case OPT_HOST:
		o->host = true;
		return -1;
	case OPT_VCPUS:
		o->vcpus = true;
		return -1;
	case OPT_LIVE:
		o->live = true;
		return -1;
	case 'e':
		return split_reasons(o, v, err);
	case 'o':
		o->output = v;
		return *v ? -1 : bad(err, "empty FILE for -o", NULL);
	case OPT_DEBUGFS:
		o->debugfs = v;
		return -1;
	case OPT_TOP:
		return u32_opt(v, &o->top, true, "invalid --top (a number):", err);
	case OPT_TSC_KHZ:
		return u32_opt(v, &o->tsc_khz, false, "invalid --tsc-khz (kHz, at least 1):", err);
	case 'p':
		if (u32_opt(v, &o->pid, false, "invalid PID:", err) >= 0 || o->pid > INT32_MAX)
			return o->pid > INT32_MAX ? bad(err, "invalid PID:", v) : 1;
		return -1;
	case 'g':
		if (o->nnames == MAX_NAMES)
			return bad(err, "too many -g patterns", NULL);
		o->names[o->nnames++] = v;
		return *v ? -1 : bad(err, "empty PATTERN for -g", NULL);
	case OPT_VCPU:
		if (u32_opt(v, &o->vcpu, true, "invalid --vcpu (a vCPU number):", err) >= 0 ||
		    o->vcpu > INT32_MAX)
			return o->vcpu > INT32_MAX ? bad(err, "invalid --vcpu (a vCPU number):", v) : 1;
		o->has_vcpu = true;
		return -1;
	case OPT_SORT:
		/* any case, like the names of -e */
		for (k = 0; k < sizeof(sorts) / sizeof(sorts[0]); k++) {
			if (!strcasecmp(v, sorts[k])) {
				o->sort = k;
				return -1;
			}
		}
		return bad(err, "--sort takes exits, cycles or reason, not", v);
	}
	return bad(err, "unknown option", NULL);
}

/* Rules between options; -1: go on, else the exit status. */
static int check_args(struct opts *o, FILE *err)
{
	bool host_only = o->pid || o->vcpus || o->debugfs || o->nnames || o->has_vcpu || o->live;

	if (o->raw) {
		if (o->cmd || o->format != F_DEFAULT || o->all || o->host || o->nreasons ||
		    o->output || o->no_header || o->stamps || host_only)
			return bad(err, "--raw takes no other options", NULL);
		if (o->npos < 1 || o->npos > 2)
			return bad(err, "--raw takes LEAF [SUBLEAF]", NULL);
		if (es_parse_u32(o->pos[0], &o->leaf))
			return bad(err, "invalid LEAF (decimal or 0x hex, 32 bits):", o->pos[0]);
		if (o->npos == 2 && es_parse_u32(o->pos[1], &o->subleaf))
			return bad(err, "invalid SUBLEAF (decimal or 0x hex, 32 bits):", o->pos[1]);
		return -1;
	}
	if (host_only && !o->host)
		return bad(err, "-p, -g, --vcpu, --vcpus, --live and --debugfs go with --host", NULL);
	if (o->live && (o->format != F_DEFAULT || o->output || o->vcpus))
		return bad(err, "--live is a view of its own: not with --json, --csv, --prom, "
			   "--line, -o or --vcpus (--vcpu N is fine)", NULL);
	if (o->vcpus && o->has_vcpu)
		return bad(err, "--vcpus (every vCPU) and --vcpu N (one) exclude each other", NULL);
	if (o->host && o->cmd)
		return bad(err, "--host and -- COMMAND exclude each other", NULL);
	if (o->host && o->all)
		return bad(err, "--host lists the reasons that have exits; -a is for the guest", NULL);
	if (o->npos > 2)
		return bad(err, "too many arguments", NULL);
	if (o->cmd && o->npos)
		return bad(err, "INTERVAL and -- COMMAND exclude each other", NULL);
	if (o->format == F_PROM && (o->cmd || o->npos))
		return bad(err, "--prom writes counters since the start: no INTERVAL or -- COMMAND", NULL);
	if (o->npos >= 1 && (es_parse_u32(o->pos[0], &o->interval) || !o->interval))
		return bad(err, "invalid INTERVAL (whole seconds, at least 1):", o->pos[0]);
	if (o->npos == 2 && (es_parse_u32(o->pos[1], &o->count) || !o->count))
		return bad(err, "invalid COUNT (at least 1):", o->pos[1]);
	if (!o->npos && o->live)
		o->interval = 2;	/* and no COUNT: until q */
	else if (!o->npos)
		o->count = 1;
	if (o->live)
		o->format = F_LINE;	/* where stdout is no terminal */
	if (o->format == F_DEFAULT)
		o->format = o->host && !o->pid ? F_LINE : F_TABLE;
	return -1;
}

/*
 * getopt_long(), which permutes: options and INTERVAL COUNT in any order,
 * -eHLT, -p1234, --sort=cycles, -avn. Everything after the first "--" is
 * COMMAND, so the scan stops there.
 */
static int parse_args(int argc, char **argv, struct opts *o, FILE *out, FILE *err)
{
	static const char shorts[] = ":avn1thVe:o:p:g:";
	char shortopt[3] = "-?";
	int i, n, c, rc;

	o->format = F_DEFAULT;
	o->top = 3;
	for (n = 1; n < argc && strcmp(argv[n], "--"); n++)
		;
	if (n < argc) {
		o->cmd = argv + n + 1;
		if (!*o->cmd)
			return bad(err, "no COMMAND after --", NULL);
	}
	optind = 0;		/* glibc: start afresh (the unit tests parse many times) */
	opterr = 0;
	while ((c = getopt_long(n, argv, shorts, long_opts, NULL)) != -1) {
		shortopt[1] = optopt > 0 && optopt < 256 ? optopt : '?';
		/* the value is missing at the end: the word is the option's */
		if (c == ':')
			return bad(err, "missing value for",
				   argv[optind - 1][1] == '-' ? argv[optind - 1] : shortopt);
		/*
		 * '?' for a character that is no short option: that option;
		 * else a long one, unknown (0) or given a value it does not take
		 */
		if (c == '?' && optopt > 0 && optopt < 256 &&
		    (optopt == ':' || !strchr(shorts + 1, optopt)))
			return bad(err, "unknown option", shortopt);
		if (c == '?')
			return bad(err, optopt ? "option takes no value:" : "unknown option",
				   argv[optind - 1]);
		rc = parse_opt(c, optarg, o, out, err);
		if (rc >= 0)
			return rc;
	}
	for (i = optind; i < n; i++) {
		if (o->npos == 3)
			return bad(err, "too many arguments", NULL);
		o->pos[o->npos++] = argv[i];
	}
	return check_args(o, err);
}

/* ------------------------------------------------------------------ */
/* Running: a source gives snapshots and reports, the formats print them */

struct run {
	const struct opts *o;
	FILE *out, *err;		/* out: NULL until -o's file is opened */
	const char *outname;
	char *tmpname;			/* -o's file as written, until renamed */
	bool write_failed;
	bool cmd_ran;			/* -- COMMAND: it was started (or exec failed) */
	int cmd_status;			/*  its status, 126 or 127 if exec failed */
	unsigned int skipped;		/* the host: VMs whose files were bad */
	bool l2_cols;			/* line format: a block had the L2 column */
	bool hist_cols;			/* table: a block had the histograms' columns */
	struct es_select sel;
	uint32_t only[MAX_REASONS];
	double start;			/* block 0's monotonic clock */
	/* the guest */
	struct es_cpu cpu;
	struct es_info info;
	struct es_snap snap[2];
	/* the host */
	const char *root;
	struct es_host host[2];
	/* the source: read into slot 0 or 1; reports from slot a (-1: none) to b */
	int (*read)(struct run *r, int slot);
	int (*reports)(struct run *r, int a, int b, struct es_report **reps, unsigned int *n);
};

static int nomem(struct run *r)
{
	fprintf(r->err, "exitstat: out of memory\n");
	return 2;
}

/* Flush and check f: 0, or 1 after one message. */
/*
 * -o FILE is opened when the first report is ready, not before, so that a
 * run that has nothing to write leaves FILE as it was. A regular FILE (or
 * none yet) is written as a new file beside it and renamed over it once
 * that first report is written whole; later blocks follow in the same
 * file. Anything else (a device, a FIFO, a symbolic link) is opened as it
 * is. NULL after a message.
 */
static FILE *out_open(struct run *r)
{
	struct stat st;
	bool exists;
	mode_t mode;
	size_t n;
	int fd;

	if (r->out)
		return r->out;
	exists = !lstat(r->outname, &st);
	if (exists ? S_ISREG(st.st_mode) : errno == ENOENT) {
		n = strlen(r->outname) + sizeof(".XXXXXX");
		r->tmpname = malloc(n);
		if (!r->tmpname) {
			nomem(r);
			return NULL;
		}
		snprintf(r->tmpname, n, "%s.XXXXXX", r->outname);
		fd = mkstemp(r->tmpname);
		if (fd >= 0) {
			/* FILE's own mode, or what fopen() would have given it */
			mode = umask(0);
			umask(mode);
			mode = exists ? st.st_mode & 07777 : 0666 & ~mode;
			if (fchmod(fd, mode) || !(r->out = fdopen(fd, "w"))) {
				close(fd);
				unlink(r->tmpname);
				r->out = NULL;
			}
		}
		if (!r->out) {
			/* a directory it cannot write to: write the file in place */
			free(r->tmpname);
			r->tmpname = NULL;
		}
	}
	if (!r->out)
		r->out = fopen(r->outname, "w");
	if (!r->out) {
		fprintf(r->err, "exitstat: cannot open %s: %s\n", r->outname, strerror(errno));
		r->write_failed = true;
	}
	return r->out;
}

static int check_write(struct run *r, FILE *f, const char *name);

/* The first report is in -o's new file: put it in FILE's place. */
static int out_commit(struct run *r)
{
	if (!r->tmpname)
		return 0;
	if (check_write(r, r->out, r->outname))
		return 1;
	if (rename(r->tmpname, r->outname)) {
		fprintf(r->err, "exitstat: cannot write to %s: rename: %s\n", r->outname,
			strerror(errno));
		r->write_failed = true;
		return 1;
	}
	free(r->tmpname);
	r->tmpname = NULL;
	return 0;
}

static int check_write(struct run *r, FILE *f, const char *name)
{
	int e;

	errno = 0;
	if (!fflush(f) && !ferror(f))
		return 0;
	e = errno;
	if (!r->write_failed && f != r->err)
		fprintf(r->err, "exitstat: cannot write to %s: %s\n", name,
			e ? strerror(e) : "write error");
	r->write_failed = true;
	return 1;
}

static int guest_read(struct run *r, int slot)
{
	es_snap_free(&r->snap[slot]);
	return es_snap_read(&r->cpu, &r->info, &r->snap[slot]) ? nomem(r) : 0;
}

static int guest_reports(struct run *r, int a, int b, struct es_report **reps, unsigned int *n)
{
	*reps = malloc(sizeof(**reps));
	if (!*reps || es_report(&r->info, a < 0 ? NULL : &r->snap[a], &r->snap[b],
				&r->sel, *reps)) {
		free(*reps);
		return nomem(r);
	}
	*n = 1;
	return 0;
}

static int host_read(struct run *r, int slot)
{
	struct es_host *h = &r->host[slot];
	const struct opts *o = r->o;
	struct es_host_sel sel = {
		.pid = o->pid, .names = o->names, .nnames = o->nnames,
		.vcpu = o->has_vcpu ? (int)o->vcpu : -1, .vcpus = o->vcpus,
	};
	unsigned int i;
	int rc;

	es_host_free(h);
	rc = es_host_read(r->root, &sel, h, r->err);
	if (rc)
		return rc;
	r->skipped += h->skipped;
	for (i = 0; i < h->nvms; i++) {
		h->vms[i].info.tsc_khz = r->info.tsc_khz;
		h->vms[i].info.tsc_source = r->info.tsc_source;
	}
	return 0;
}

static const struct es_vm *find_vm(const struct es_host *h, const char *dir)
{
	unsigned int i;

	for (i = 0; h && i < h->nvms; i++)
		if (!strcmp(h->vms[i].dir, dir))
			return &h->vms[i];
	return NULL;
}

static const struct es_snap *find_vcpu(const struct es_vm *vm, int id)
{
	unsigned int i;

	for (i = 0; vm && i < vm->nvcpus; i++)
		if (vm->vcpu_ids[i] == id)
			return &vm->vcpus[i];
	return NULL;
}

/*
 * Per VM, and per vCPU with --vcpus (only those in --prom: no double
 * count); with --vcpu N, only vCPU N's.
 */
static int host_reports(struct run *r, int a, int b, struct es_report **reps, unsigned int *n)
{
	const struct es_host *hb = &r->host[b];
	const struct es_vm *vm, *old;
	bool per_vcpu = r->o->vcpus || r->o->has_vcpu;
	bool whole = !r->o->has_vcpu && (!r->o->vcpus || r->o->format != F_PROM);
	unsigned int i, j, max = 0;
	struct es_report *rep;
	int k;

	for (i = 0; i < hb->nvms; i++)
		max += whole + (per_vcpu ? hb->vms[i].nvcpus : 0);
	*n = 0;
	*reps = calloc(max ? max : 1, sizeof(**reps));
	if (!*reps)
		return nomem(r);
	for (i = 0; i < hb->nvms; i++) {
		vm = &hb->vms[i];
		old = find_vm(a < 0 ? NULL : &r->host[a], vm->dir);
		for (k = whole ? -1 : 0; k < (per_vcpu ? (int)vm->nvcpus : 0); k++) {
			rep = &(*reps)[*n];
			if (es_report(&vm->info, k < 0 ? (old ? &old->snap : NULL) :
				      find_vcpu(old, vm->vcpu_ids[k]),
				      k < 0 ? &vm->snap : &vm->vcpus[k], &r->sel, rep))
				goto fail;
			rep->pid = vm->pid;
			rep->vm = vm->name;
			rep->nvcpus = vm->all_vcpus;
			rep->vcpu = k < 0 ? -1 : vm->vcpu_ids[k];
			++*n;
		}
	}
	return 0;
fail:
	for (j = 0; j < *n; j++)
		es_report_free(&(*reps)[j]);
	free(*reps);
	return nomem(r);
}

static void title(char *buf, size_t len, const struct run *r, const struct es_report *rep,
		  const char *cmd)
{
	if (cmd)
		snprintf(buf, len, "VM exits while '%s' ran (%.2f s)", cmd, rep->interval);
	else if (rep->delta)
		snprintf(buf, len, "VM exits in the last %.2f s (elapsed %.2f s)",
			 rep->interval, rep->elapsed);
	else
		snprintf(buf, len, "VM exits since %s",
			 !r->o->host && r->info.global ? "kvm was loaded" : "the VM started");
}

/* Print one block's reports in the chosen format; 0, or 1 on a write error. */
static int emit(struct run *r, FILE *f, const char *fname, struct es_report *reps,
		unsigned int n, unsigned int block, const char *cmd)
{
	const struct opts *o = r->o;
	struct es_fmt fmt = {
		.verbose = o->verbose, .header = !o->no_header, .stamps = o->stamps,
		.rates = o->interval != 0, .top = o->top,
	};
	struct es_report none = { .info = &r->info, .pid = 1 };
	char t[256];
	unsigned int i;

	for (i = 0; i < n; i++) {
		reps[i].block = block;
		reps[i].elapsed = reps[i].snap->t.mono - r->start;
	}
	if (o->format == F_PROM) {
		es_print_prom(f, reps, n);
	} else {
		/*
		 * one layout for the block: the column(s) if any file has the
		 * split (the histograms), and from then on in every block,
		 * even one whose VMs with the split (histograms) are gone
		 */
		for (i = 0; i < n; i++) {
			r->l2_cols |= o->format == F_LINE && reps[i].has_l2;
			r->hist_cols |= reps[i].nbounds != 0;
		}
		fmt.l2 = r->l2_cols;
		fmt.hist = r->hist_cols;
	}
	if (o->format == F_LINE && fmt.header && (!block || o->host)) {
		if (block)
			fputc('\n', f);
		es_print_line_header(f, n ? &reps[0] : &none, &fmt);
	}
	for (i = 0; i < n && o->format != F_PROM; i++) {
		if (o->format == F_JSON) {
			es_print_json(f, &reps[i]);
		} else if (o->format == F_CSV) {
			es_print_csv(f, &reps[i], fmt.header && !block && !i);
		} else if (o->format == F_LINE) {
			es_print_line(f, &reps[i], &fmt);
		} else {
			if (block || i)
				fputc('\n', f);
			title(t, sizeof(t), r, &reps[i], cmd);
			fmt.title = t;
			es_print_table(f, &reps[i], &fmt);
		}
	}
	return check_write(r, f, fname);
}

/* Report slot a (-1: since the start) to b; 0, 1 or 2. */
static int report(struct run *r, FILE *f, const char *fname, int a, int b,
		  unsigned int block, const char *cmd)
{
	struct es_report *reps;
	unsigned int n, i;
	int rc;

	rc = r->reports(r, a, b, &reps, &n);
	if (rc)
		return rc;
	if (!f)
		f = out_open(r);
	rc = f ? emit(r, f, fname, reps, n, block, cmd) : 1;
	if (!rc && f == r->out)
		rc = out_commit(r);
	for (i = 0; i < n; i++)
		es_report_free(&reps[i]);
	free(reps);
	return rc;
}

static int run_intervals(struct run *r)
{
	const struct opts *o = r->o;
	struct es_clock now;
	unsigned int block;
	int rc;

	es_hooks.clock(&now);
	r->start = now.mono;
	rc = r->read(r, 0);
	if (!rc)
		rc = report(r, r->out, r->outname, -1, 0, 0, NULL);
	for (block = 1; !rc && (!o->count || block < o->count); block++) {
		es_hooks.sleep(o->interval);
		rc = r->read(r, block % 2);
		if (!rc)
			rc = report(r, r->out, r->outname, (block - 1) % 2, block % 2, block, NULL);
	}
	return rc;
}

/*
 * Run -- COMMAND: its status in r->cmd_status once it was started; 0 if
 * exitstat did its part, else exitstat's own status (exitstat_main() makes
 * that ES_EXIT_CMD_OWN).
 */
static int exec_command(struct run *r)
{
	int st;

	if (!es_hooks.run) {
		fprintf(r->err, "exitstat: cannot run commands here\n");
		return ES_EXIT_NO_STATS;
	}
	if (r->out)
		fflush(r->out);
	fflush(r->err);
	st = es_hooks.run(r->o->cmd, r->err);
	if (st == ES_RUN_FAILED || (st < 0 && st != ES_RUN_NOT_FOUND && st != ES_RUN_CANNOT_EXEC))
		return ES_EXIT_NO_STATS;
	r->cmd_ran = true;
	r->cmd_status = st == ES_RUN_NOT_FOUND ? ES_EXIT_CMD_NOTFOUND :
			st == ES_RUN_CANNOT_EXEC ? ES_EXIT_CMD_NOEXEC : st;
	return 0;
}

static int run_command(struct run *r)
{
	const struct opts *o = r->o;
	char cmdline[100];
	size_t n;
	int i, rc;

	rc = r->read(r, 0);
	if (rc)
		return rc;
	r->start = r->snap[0].t.mono;
	rc = exec_command(r);
	if (rc || r->cmd_status == ES_EXIT_CMD_NOTFOUND || r->cmd_status == ES_EXIT_CMD_NOEXEC)
		return rc;	/* not started: nothing to report */
	rc = r->read(r, 1);
	if (rc)
		return rc;
	cmdline[0] = 0;
	for (i = 0, n = 0; o->cmd[i] && n < sizeof(cmdline); i++)
		n += snprintf(cmdline + n, sizeof(cmdline) - n, "%s%s", i ? " " : "", o->cmd[i]);
	if (n >= sizeof(cmdline))
		strcpy(cmdline + sizeof(cmdline) - 4, "...");
	/* the report: to -o FILE, else to stderr, away from the command's stdout */
	return report(r, o->output ? r->out : r->err, o->output ? r->outname : "standard error",
		      0, 1, 0, cmdline);
}

/* --live: how the VMs are sorted, s cycles through them. */
enum live_sort { BY_EXITS, BY_CYCLES, BY_PID, NSORTS };
static const char *const live_sorts[] = { "exits", "cycles", "pid" };

static enum live_sort live_by;
static const struct es_report *live_reps;

static int live_cmp(const void *pa, const void *pb)
{
	unsigned int a = *(const unsigned int *)pa, b = *(const unsigned int *)pb;
	const struct es_report *x = &live_reps[a], *y = &live_reps[b];
	uint64_t u = live_by == BY_CYCLES ? x->total_cycles : x->total_exits;
	uint64_t v = live_by == BY_CYCLES ? y->total_cycles : y->total_exits;

	if (live_by != BY_PID && u != v)
		return u < v ? 1 : -1;	/* most first */
	return (a > b) - (a < b);	/* by pid, fd, vCPU, as read */
}

/* One frame of --live: a title, then the VMs' lines as --line has them. */
static int live_frame(struct run *r, struct es_live *l, struct es_report *reps,
		      unsigned int n, int a, int b, bool paused)
{
	const struct opts *o = r->o;
	struct es_fmt fmt = { .header = true, .rates = true, .top = o->top };
	struct es_report none = { .info = &r->info, .pid = 1 };
	unsigned int i, *order;
	char *text = NULL, when[64], stamp[32];
	size_t len;
	FILE *f;

	order = calloc(n ? n : 1, sizeof(*order));
	f = order ? open_memstream(&text, &len) : NULL;
	if (!f) {
		free(order);
		return nomem(r);
	}
	for (i = 0; i < n; i++) {
		order[i] = i;
		r->l2_cols |= reps[i].has_l2;
	}
	fmt.l2 = r->l2_cols;
	live_by %= NSORTS;
	live_reps = reps;
	qsort(order, n, sizeof(*order), live_cmp);
	/* a VM that started since the last frame: its exits since it started */
	if (a >= 0)
		snprintf(when, sizeof(when), "in the last %.2f s",
			 r->host[b].t.mono - r->host[a].t.mono);
	else
		snprintf(when, sizeof(when), "since the VMs started");
	es_stamp(stamp, sizeof(stamp), r->host[b].t.wall, false);
	fprintf(f, "exitstat --live  %s  VM exits %s, sorted by %s%s\n"
		"keys: q quit, s sort (exits, cycles, pid), p pause\n\n", stamp,
		when, live_sorts[live_by], paused ? "  [paused]" : "");
	es_print_line_header(f, n ? &reps[0] : &none, &fmt);
	for (i = 0; i < n; i++)
		es_print_line(f, &reps[order[i]], &fmt);
	free(order);
	if (fclose(f))
		return nomem(r);
	es_live_draw(r->out, l, text);
	free(text);
	return check_write(r, r->out, r->outname);
}

static void free_reports(struct es_report *reps, unsigned int n)
{
	unsigned int i;

	for (i = 0; reps && i < n; i++)
		es_report_free(&reps[i]);
	free(reps);
}

/*
 * --live on a terminal: a frame every INTERVAL seconds (COUNT of them, or
 * until q), each VM's exits since the last; s and p redraw at once.
 */
static int run_live(struct run *r)
{
	const struct opts *o = r->o;
	struct es_report *reps = NULL;
	struct es_clock now;
	struct es_live l;
	unsigned int n = 0, frames = 0;
	bool paused = false;
	int rc, key, a = -1, b = 0;

	es_live_start(&l, STDIN_FILENO, fileno(r->out));
	live_by = BY_EXITS;
	es_hooks.clock(&now);
	r->start = now.mono;
	rc = r->read(r, b);
	while (!rc) {
		free_reports(reps, n);
		reps = NULL;
		rc = r->reports(r, a, b, &reps, &n);
		if (rc || (rc = live_frame(r, &l, reps, n, a, b, paused)))
			break;
		if (o->count && ++frames >= o->count)
			break;
		for (;;) {
			key = es_live_key(&l, paused ? UINT32_MAX : o->interval);
			if (key < 0 || key == 'q' || key == 'Q')
				goto out;
			if (key == 's' || key == 'S')
				live_by = (live_by + 1) % NSORTS;
			else if (key == 'p' || key == 'P' || key == ' ')
				paused = !paused;
			else if (!key && !paused)
				break;	/* time for the next frame */
			rc = live_frame(r, &l, reps, n, a, b, paused);
			if (rc)
				goto out;
		}
		a = b;
		b = !b;
		rc = r->read(r, b);
	}
out:
	es_live_stop(&l);
	free_reports(reps, n);
	return rc;
}

/*
 * Could exit reason n be counted? Not past the highest the guest's KVM
 * defines (max, from its discovery leaf), or on the host past the highest
 * that KVM has a counter for; nor an SVM exit code 0xa7-0x3ff, which no
 * AMD manual defines.
 */
static bool reason_possible(unsigned int isa, uint32_t n, uint32_t max)
{
	if (isa == ES_ISA_SVM && n >= 0xa7 && n <= 0x3ff)
		return false;
	return n <= max;
}

/* -e's names and numbers for this ISA (or, on the host, the files' names). */
static int resolve_reasons(struct run *r, unsigned int isa)
{
	const struct es_host *h = &r->host[0];
	unsigned int i, v, k;
	uint32_t reason;

	for (i = 0; i < r->o->nreasons; i++) {
		const char *s = r->o->reasons[i];
		bool found = !es_reason_lookup(isa, s, &reason);

		for (v = 0; !found && v < h->nvms; v++)
			for (k = 0; !found && k < h->vms[v].snap.n; k++)
				if (h->vms[v].snap.names[k] && es_name_eq(s, h->vms[v].snap.names[k])) {
					reason = k;
					found = true;
				}
		if (!found && !(r->o->host && !h->nvms)) {
			fprintf(r->err, "exitstat: unknown exit reason '%s' for %s: a name as exitstat prints it, or a number\n",
				s, es_isa_name(isa));
			return 2;
		}
		if (found && !reason_possible(isa, reason, !r->o->host ? r->info.max_reason :
					      isa == ES_ISA_SVM ? 0x40f : 0xbf)) {
			fprintf(r->err, "exitstat: exit reason '%s' is not defined for %s\n",
				s, es_isa_name(isa));
			return 2;
		}
		if (found)
			r->only[r->sel.nonly++] = reason;
	}
	if (r->o->nreasons && !r->sel.nonly)
		r->only[r->sel.nonly++] = UINT32_MAX;	/* none matches */
	return 0;
}

static int run_guest(struct run *r)
{
	const struct opts *o = r->o;
	uint32_t regs[4];
	int rc;

	if (o->raw) {
		es_cpuid(&r->cpu, o->leaf, o->subleaf, regs);
		if (!out_open(r))
			return 1;
		fprintf(r->out, "   0x%08" PRIx32 " 0x%02" PRIx32 ": eax=0x%08" PRIx32
			" ebx=0x%08" PRIx32 " ecx=0x%08" PRIx32 " edx=0x%08" PRIx32 "\n",
			o->leaf, o->subleaf, regs[0], regs[1], regs[2], regs[3]);
		return 0;
	}
	rc = es_detect(&r->cpu, &r->info, r->err);
	if (rc && o->cmd) {
		/*
		 * like perf stat with counters it cannot open: the command
		 * runs all the same and its status is the result, so that a
		 * wrapped build behaves the same on an unpatched host; the
		 * warnings say that nothing was measured
		 */
		fprintf(r->err, "exitstat: warning: running '%s' without exit statistics\n",
			o->cmd[0]);
		return exec_command(r);
	}
	if (rc)
		return rc;
	if (o->tsc_khz) {
		r->info.tsc_khz = o->tsc_khz;
		r->info.tsc_source = "--tsc-khz";
	}
	rc = resolve_reasons(r, r->info.isa);
	if (rc)
		return rc;
	r->read = guest_read;
	r->reports = guest_reports;
	return o->cmd ? run_command(r) : run_intervals(r);
}

static int run_host(struct run *r)
{
	int rc;

	r->root = r->o->debugfs ? r->o->debugfs : ES_DEBUGFS;
	r->info.tsc_khz = r->o->tsc_khz ? r->o->tsc_khz : es_hooks.host_tsc_khz();
	r->info.tsc_source = r->o->tsc_khz ? "--tsc-khz" : "perf's TSC clock";
	r->read = host_read;
	r->reports = host_reports;
	if (r->o->nreasons) {
		/* the ISA and the names come with the files */
		rc = host_read(r, 0);
		if (!rc)
			rc = resolve_reasons(r, r->host[0].nvms ? r->host[0].vms[0].info.isa : ES_ISA_VMX);
		if (rc)
			return rc;
	}
	/* not a terminal (a pipe, a file): the same as --line INTERVAL */
	if (r->o->live && r->out && fileno(r->out) >= 0 && isatty(fileno(r->out)))
		return run_live(r);
	return run_intervals(r);
}

/*
 * With -- COMMAND: the command's status if exitstat did its part (rc 0),
 * else ES_EXIT_CMD_OWN, and if the command ran, a line with its status, so
 * that neither is lost.
 */
static int command_status(const struct run *r, int rc)
{
	if (!rc)
		return r->cmd_ran ? r->cmd_status : 0;	/* 0: -h, -V */
	if (r->cmd_ran)
		fprintf(r->err, "exitstat: '%s' exited with status %d; exitstat exits with %d "
			"for its own error (status %d without a command)\n", r->o->cmd[0],
			r->cmd_status, ES_EXIT_CMD_OWN, rc);
	return ES_EXIT_CMD_OWN;
}

int exitstat_main(int argc, char **argv, const struct es_backend *be, FILE *out, FILE *err)
{
	struct opts o = { 0 };
	struct run r = { .o = &o, .out = out, .err = err, .outname = "standard output" };
	int rc;

	rc = parse_args(argc, argv, &o, out, err);
	if (rc < 0) {
		r.cpu.be = be;
		r.sel = (struct es_select){ o.all, o.sort, r.only, 0 };
		if (o.output) {
			r.out = NULL;
			r.outname = o.output;
		}
		rc = o.host ? run_host(&r) : run_guest(&r);
		if (r.tmpname) {
			/* nothing was written: FILE stays as it was */
			if (r.out)
				fclose(r.out);
			r.out = NULL;
			unlink(r.tmpname);
			free(r.tmpname);
		}
		/* some VM's file could not be read: the others were reported */
		if (!rc && r.skipped)
			rc = ES_EXIT_SKIPPED;
		es_snap_free(&r.snap[0]);
		es_snap_free(&r.snap[1]);
		es_host_free(&r.host[0]);
		es_host_free(&r.host[1]);
	}
	if (r.out && check_write(&r, r.out, r.outname))
		rc = 1;
	if (r.out && r.out != out && fclose(r.out) && !r.write_failed) {
		fprintf(err, "exitstat: cannot write to %s: %s\n", r.outname, strerror(errno));
		rc = 1;
	}
	rc = r.write_failed ? ES_EXIT_USAGE : rc;
	return o.cmd ? command_status(&r, rc) : rc;
}
