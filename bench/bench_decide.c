/* The decision alone, as the rule count grows: policies of 10 to 10,000
 * rules with distinct prefixes, asked about paths that hit the first, the
 * middle and the last rule and one that misses. Prints min, median and max
 * ns per decision over 7 runs and the median's ratio against 10 rules.
 * Rule numbers have five digits at every size: the paths asked are the
 * same length whatever the rule count, which is what is measured. */
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
		len +=
		    (size_t)sprintf(p + len,
				    "%s{\"id\":\"r%d\",\"ops\":[\"delete\",\"write\"],"
				    "\"paths\":[\"/srv/project%05d/data/**\",\"${HOME}/p%05d/*.key\"],"
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

/* One run: ns per decision over many, the four paths in turn. */
static double measure(const ag_ruleset_t *rs, int n)
{
	char paths[4][128];
	snprintf(paths[0], 128, "/srv/project00000/data/a/b/c.txt");
	snprintf(paths[1], 128, "/srv/project%05d/data/x/y.bin", n / 2);
	snprintf(paths[2], 128, "/srv/project%05d/data/z", n - 1);
	snprintf(paths[3], 128, "/home/u/work/src/lib/module/file.c");
	const int iters = 400000;
	volatile int sink = 0;
	double t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		ag_request_t req = {.op = AG_OP_DELETE, .path = paths[i & 3]};
		sink += ag_decide(rs, &req).rule;
	}
	(void)sink;
	return (now_ns() - t0) / iters;
}

#define NSIZES 4
#define RUNS   7

static const ag_ruleset_t *load(int n, void **blob)
{
	ag_vars_t v = {.workspace = "/home/u/work", .home = "/home/u", .tmpdir = "/tmp"};
	char *text = make_policy(n);
	size_t len;
	ag_error_t err;
	int rc = ag_policy_compile(text, strlen(text), "bench", &v, blob, &len, &err);
	free(text);
	if (rc != 0) {
		fprintf(stderr, "compile: %s\n", err.text);
		return NULL;
	}
	return ag_ruleset_view(*blob, len, &err);
}

/* The sizes take turns within each round, so drift on a shared machine
 * falls on all of them alike. */
int main(void)
{
	static const int sizes[NSIZES] = {10, 100, 1000, 10000};
	const ag_ruleset_t *rs[NSIZES];
	void *blob[NSIZES];
	double runs[NSIZES][RUNS], base = 0;

	for (int s = 0; s < NSIZES; s++)
		if (!(rs[s] = load(sizes[s], &blob[s])))
			return 1;
	for (int r = 0; r < RUNS; r++)
		for (int s = 0; s < NSIZES; s++)
			runs[s][r] = measure(rs[s], sizes[s]);
	printf("| rules | min ns | median ns | max ns | vs 10 rules |\n"
	       "|---:|---:|---:|---:|---:|\n");
	for (int s = 0; s < NSIZES; s++) {
		qsort(runs[s], RUNS, sizeof(double), cmp);
		double med = runs[s][RUNS / 2];
		if (s == 0)
			base = med;
		printf("| %d | %.1f | %.1f | %.1f | %.2fx |\n", sizes[s], runs[s][0], med,
		       runs[s][RUNS - 1], med / base);
		free(blob[s]);
	}
	return 0;
}
