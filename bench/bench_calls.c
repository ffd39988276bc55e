/* Per-call cost of the hooked functions, run plain and under the guard (or
 * a peer) by bench/run. ITERS calls are timed in 20 batches after a tenth as
 * many unmeasured ones (caches, dentries); the figure is the median batch's
 * ns per call, so a batch that lost the CPU to another job on this shared
 * machine does not move it. One process is one run; bench/run takes the
 * median over interleaved runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define BATCHES 20

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int do_open(const char *path, int i)
{
	(void)i;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	return close(fd);
}

/* A read the guard refuses: unguarded it is an ordinary open. The refusal
 * is the call's answer, so EACCES counts as done. */
static int do_open_refused(const char *path, int i)
{
	int rc = do_open(path, i);
	return rc == 0 || errno == EACCES ? 0 : -1;
}

static int do_fopen(const char *path, int i)
{
	(void)i;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	return fclose(f);
}

static int do_stat(const char *path, int i)
{
	struct stat st;
	(void)i;
	return stat(path, &st);
}

/* Eight names in turn, so no single dentry stays hot. */
static int do_create_unlink(const char *dir, int i)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/bench-%d", dir, i & 7);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || close(fd) != 0)
		return -1;
	return unlink(p);
}

/* Back and forth between two names; the file is made on the first call. */
static int do_rename(const char *dir, int i)
{
	char a[4096], b[4096];
	snprintf(a, sizeof(a), "%s/bench-a", dir);
	snprintf(b, sizeof(b), "%s/bench-b", dir);
	if (i == 0) {
		unlink(b);
		int fd = open(a, O_WRONLY | O_CREAT, 0644);
		if (fd < 0 || close(fd) != 0)
			return -1;
	}
	return rename(i & 1 ? b : a, i & 1 ? a : b);
}

static const struct kind {
	const char *name;
	int (*call)(const char *path, int i);
} kinds[] = {
    {"open", do_open}, {"open-refused", do_open_refused},   {"fopen", do_fopen},
    {"stat", do_stat}, {"create-unlink", do_create_unlink}, {"rename", do_rename},
};

static const struct kind *find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct kind *k = argc == 4 ? find(argv[1]) : NULL;
	int iters = argc == 4 ? atoi(argv[3]) : 0;

	if (!k || iters <= 0) {
		fprintf(stderr, "usage: bench_calls open|open-refused|fopen|stat|create-unlink|"
				"rename PATH ITERS\n");
		return 2;
	}
	const char *path = argv[2];
	int warm = iters / 10 + 2; /* even, so rename ends where it began */
	warm += warm & 1;
	for (int i = 0; i < warm; i++)
		if (k->call(path, i) != 0)
			return perror(k->name), 1;
	double ns[BATCHES];
	int per = iters / BATCHES + 1, i = warm;
	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_ns();
		for (int end = i + per; i < end; i++)
			if (k->call(path, i) != 0)
				return perror(k->name), 1;
		ns[b] = (now_ns() - t0) / per;
	}
	qsort(ns, BATCHES, sizeof(ns[0]), cmp);
	printf("%.1f\n", ns[BATCHES / 2]);
	return 0;
}
