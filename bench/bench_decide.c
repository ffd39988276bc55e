/* The decision alone, as the rule count grows: policies of 10 to 10,000
 * rules with distinct prefixes, asked about paths that hit the first, the
 * middle and the last rule and one that misses. Prints ns per decision
 * (median of 5 runs) and the ratio against 10 rules. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentguard.h"

static char *make_policy(int n)
{
	size_t cap = (size_t)n * 160 + 256, len = 0;
	char *p = malloc(cap);
	len += (size_t)sprintf(p + len, "{\"version\":1,\"default\":\"allow\",\"rules\":[");
	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(p + len,
				       "%s{\"id\":\"r%d\",\"ops\":[\"delete\",\"write\"],"
				       "\"paths\":[\"/srv/project%d/data/**\",\"${HOME}/p%d/*.key\"],"
				       "\"action\":\"deny\"}",
				       i ? "," : "", i, i, i);
	sprintf(p + len, "]}");
	return p;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double measure(const ag_ruleset_t *rs, int n)
{
	char paths[4][128];
	snprintf(paths[0], 128, "/srv/project0/data/a/b/c.txt");
	snprintf(paths[1], 128, "/srv/project%d/data/x/y.bin", n / 2);
	snprintf(paths[2], 128, "/srv/project%d/data/z", n - 1);
	snprintf(paths[3], 128, "/home/u/work/src/lib/module/file.c");
	double runs[5];
	const int iters = 400000;
	volatile int sink = 0;
	for (int r = 0; r < 5; r++) {
		double t0 = now_ns();
		for (int i = 0; i < iters; i++) {
			ag_request_t req = {.op = AG_OP_DELETE, .path = paths[i & 3]};
			sink += ag_decide(rs, &req).rule;
		}
		runs[r] = (now_ns() - t0) / iters;
	}
	(void)sink;
	qsort(runs, 5, sizeof(double), cmp);
	return runs[2];
}

int main(void)
{
	static const int sizes[] = {10, 100, 1000, 10000};
	ag_vars_t v = {.workspace = "/home/u/work", .home = "/home/u", .tmpdir = "/tmp"};
	double base = 0;

	printf("| rules | ns/decision (median of 5) | vs 10 rules |\n|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *text = make_policy(sizes[i]);
		void *blob;
		size_t len;
		ag_error_t err;
		if (ag_policy_compile(text, strlen(text), "bench", &v, &blob, &len, &err) != 0) {
			fprintf(stderr, "compile: %s\n", err.text);
			return 1;
		}
		const ag_ruleset_t *rs = ag_ruleset_view(blob, len, &err);
		double ns = measure(rs, sizes[i]);
		if (i == 0)
			base = ns;
		printf("| %d | %.1f | %.2fx |\n", sizes[i], ns, ns / base);
		free(blob);
		free(text);
	}
	return 0;
}
