/* Per-call cost of the hooked functions, run once plain and once under the
 * preload by bench/run. Each figure is ns per call over many calls. */
#define _GNU_SOURCE
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

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_calls KIND PATH ITERS\n");
		return 2;
	}
	const char *kind = argv[1], *path = argv[2];
	int iters = atoi(argv[3]);
	char tmp[4096];
	double t0 = now_ns();

	for (int i = 0; i < iters; i++) {
		if (strcmp(kind, "open") == 0) {
			int fd = open(path, O_RDONLY);
			if (fd < 0)
				return perror("open"), 1;
			close(fd);
		} else if (strcmp(kind, "fopen") == 0) {
			FILE *f = fopen(path, "r");
			if (!f)
				return perror("fopen"), 1;
			fclose(f);
		} else if (strcmp(kind, "stat") == 0) {
			struct stat st;
			if (stat(path, &st) != 0)
				return perror("stat"), 1;
		} else if (strcmp(kind, "create-unlink") == 0) {
			snprintf(tmp, sizeof(tmp), "%s/bench-%d", path, i & 7);
			int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0)
				return perror("create"), 1;
			close(fd);
			if (unlink(tmp) != 0)
				return perror("unlink"), 1;
		} else if (strcmp(kind, "rename") == 0) {
			char a[4096], b[4096];
			snprintf(a, sizeof(a), "%s/bench-a", path);
			snprintf(b, sizeof(b), "%s/bench-b", path);
			if (i == 0)
				close(open(a, O_WRONLY | O_CREAT, 0644));
			if (rename(i & 1 ? b : a, i & 1 ? a : b) != 0)
				return perror("rename"), 1;
		} else {
			fprintf(stderr, "unknown kind %s\n", kind);
			return 2;
		}
	}
	printf("%.1f\n", (now_ns() - t0) / iters);
	return 0;
}
