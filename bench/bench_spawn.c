/* Start-up and whole-job timer: fork and exec PROG N times in turn, waiting
 * for each, and print the median nanoseconds of the N, so one start that
 * lost the CPU to another job on this shared machine does not move it. Run inside a guarded
 * session (or a peer), it measures what every program the agent starts
 * pays; run outside, with N of 1, it times a whole job with its launcher.
 * The child's standard input and output are /dev/null: its output is not
 * what is measured. A child that fails fails the benchmark, so a figure
 * never hides a refusal. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One fork+exec+wait; the child's exit status, or -1. null is /dev/null,
 * opened once by the parent: the child only moves it into place, so that
 * what is timed is the fork and the exec, not an open of the harness's. */
static int spawn(char **argv, int null)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc >= 3 ? atoi(argv[1]) : 0;

	if (n <= 0 || n > 100000 || argv[2][0] != '/') {
		fprintf(stderr, "usage: bench_spawn N /ABS/PROG [ARG...]\n");
		return 2;
	}
	double *ns = malloc((size_t)n * sizeof(*ns));
	if (!ns)
		return perror("malloc"), 1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < n; i++) {
		double t0 = now_ns();
		int rc = spawn(argv + 2, null);
		ns[i] = now_ns() - t0;
		if (rc != 0) {
			fprintf(stderr, "bench_spawn: %s exited %d\n", argv[2], rc);
			return 1;
		}
	}
	qsort(ns, (size_t)n, sizeof(*ns), cmp);
	printf("%.0f\n", ns[n / 2]);
	free(ns);
	return 0;
}
