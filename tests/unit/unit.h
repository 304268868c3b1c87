/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The unit tests' harness (test_exitstat.c), shared with test_host.c.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "exitstat.h"

extern bool ok;
extern char *OUT, *ERR;		/* what the last run() wrote */
extern const char *exitstat_bin;	/* the built binary, for main()'s part */

#define CHECK(c) do {							\
	if (!(c)) {							\
		printf("# %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #c);	\
		ok = false;						\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (strcmp(_a, _b)) {						\
		printf("# %s:%d: %s\n# got:\n%s# want:\n%s",		\
		       __FILE__, __LINE__, #a, _a, _b);			\
		ok = false;						\
	}								\
} while (0)

static inline bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

void test(const char *name, void (*fn)(void));
/* Run exitstat with space-separated args; OUT and ERR get its output. */
int run(const char *args);
/* The same, its output to out (a test's broken stream) instead of OUT. */
int run_to(FILE *out, const char *args);
unsigned int count_str(const char *s, const char *sub);
/* Write s to a new temporary file; its name in path (size 64). */
bool tmp_file(char *path, const char *s);
/* Run a shell command on that file: 0 if it exits 0; -1 if tool is missing. */
int sh_check(const char *tool, const char *fmt, const char *path);
bool tool_accepts(const char *tool, const char *fmt, const char *text);
void fake_clock(struct es_clock *now);
void clock_advance(unsigned int seconds);
void clock_reset(void);

void host_tests(void);

#endif
