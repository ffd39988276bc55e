/* Stress under the guard: 16 threads create, write, rename, read and delete
 * files in the workspace while each also attempts refused operations on
 * the outside tree, and the main thread keeps forking children that make
 * one refused unlink each and exit. All under the embedded default policy.
 * Like any busy program, the threads format timestamps as they go, and
 * keep doing so until the last child has been forked: a child must be able
 * to make a refused call whatever its parent's other threads were doing.
 *
 * The stresser is this very binary: the (unguarded) Criterion test runs
 * itself again under `agentguard run` with "--stress", and a constructor
 * catches that before Criterion's main. Every refused path is unique, so
 * nothing is coalesced and the log must hold exactly one line per refusal. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NTHREADS       16
#define ROUNDS	       200 /* per thread */
#define FORKS_AFTER    150 /* forks once every thread is past its rounds */
#define MAX_FORKS      1000
#define CHILD_WATCHDOG 20  /* seconds for one child's unlink and exit */
#define WATCHDOG       120 /* seconds before a hang becomes a failure */
#define STR_(x)	       #x
#define STR(x)	       STR_(x)
#define KEEP	       10 /* every KEEP-th workspace file stays, for the driver to read */

/* The refused operation of round i is ops[i % 5]; the log names it so. */
static const char *const ops[] = {"delete", "write", "rename", "chmod", "write"};

static void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "stress: path too long: %s\n", fmt);
		abort();
	}
}

/* ---- the stresser (runs guarded) ------------------------------------------
 * Its complaints go to stdout, one write(2) each: stderr is full of the
 * guard's own denial lines. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(STDOUT_FILENO, line,
			     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static struct {
	const char *ws, *victims;
	atomic_int busy, stop, ws_ok, ws_fail, refused, leaked;
} S;

static bool failed(const char *what, const char *path)
{
	say("stress: %s %s: %s\n", what, path, strerror(errno));
	return false;
}

/* What a thread writes in round i: the driver checks the part before "at". */
static int line_for(char *buf, size_t sz, int k, int i)
{
	char when[32];
	struct tm tm;
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%F %T", localtime_r(&now, &tm));
	return snprintf(buf, sz, "thread %d round %d at %s\n", k, i, when);
}

static bool workspace_round(const char *dir, int k, int i)
{
	char tmp[PATH_MAX], dat[PATH_MAX], sub[PATH_MAX], want[96], got[96] = "";
	int n = line_for(want, sizeof(want), k, i);

	pathf(tmp, "%s/f%d.tmp", dir, i);
	pathf(dat, "%s/f%d.dat", dir, i);
	pathf(sub, "%s/d%d", dir, i);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return failed("create", tmp);
	bool wrote = write(fd, want, (size_t)n) == n;
	if (close(fd) != 0 || !wrote)
		return failed("write", tmp);
	if (rename(tmp, dat) != 0)
		return failed("rename", tmp);
	FILE *f = fopen(dat, "re");
	if (!f)
		return failed("fopen", dat);
	bool same = fgets(got, sizeof(got), f) && strcmp(got, want) == 0;
	fclose(f);
	if (!same)
		return failed("read back", dat);
	if (mkdir(sub, 0755) != 0 || rmdir(sub) != 0)
		return failed("mkdir/rmdir", sub);
	if (i % KEEP != 0 && unlink(dat) != 0)
		return failed("unlink", dat);
	return true;
}

static void refused_round(const char *dir, int k, int i)
{
	char v[PATH_MAX], to[PATH_MAX];
	int rc = 0;

	pathf(v, "%s/v-%d-%d", S.victims, k, i);
	pathf(to, "%s/stolen-%d", dir, i);
	errno = 0;
	switch (i % 5) {
	case 0: rc = unlink(v); break;
	case 1:
		rc = open(v, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (rc >= 0)
			rc = close(rc);
		break;
	case 2: rc = rename(v, to); break;
	case 3: rc = chmod(v, 0600); break;
	case 4: rc = truncate(v, 0); break;
	}
	if (rc == -1 && errno == EACCES) {
		atomic_fetch_add(&S.refused, 1);
	} else {
		atomic_fetch_add(&S.leaked, 1);
		say("stress: %s %s was not refused (rc %d, %s)\n", ops[i % 5], v, rc,
		    strerror(errno));
	}
}

static void *worker(void *arg)
{
	int k = (int)(intptr_t)arg;
	char dir[PATH_MAX];

	pathf(dir, "%s/s%d", S.ws, k);
	if (mkdir(dir, 0755) != 0) {
		failed("mkdir", dir);
		atomic_fetch_add(&S.ws_fail, ROUNDS);
	} else {
		for (int i = 0; i < ROUNDS; i++) {
			atomic_fetch_add(workspace_round(dir, k, i) ? &S.ws_ok : &S.ws_fail, 1);
			refused_round(dir, k, i);
		}
	}
	atomic_fetch_sub(&S.busy, 1);
	/* Busy until the forking is over, the way a logging thread is: tzset
	 * and localtime_r take libc's time-zone lock, as any program may. */
	while (!atomic_load(&S.stop)) {
		char line[96];
		tzset();
		line_for(line, sizeof(line), k, -1);
	}
	return NULL;
}

static void watchdog(int sig)
{
	static const char msg[] = "stress: watchdog: still running after " STR(WATCHDOG) " s\n";
	(void)sig;
	(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	_exit(3);
}

static bool forked_child;

/* In a sanitized build LeakSanitizer runs at exit. In a child forked while
 * sixteen threads held memory it finds blocks only those threads' stacks
 * pointed to, and reports them: not a leak, so not checked there. */
__attribute__((visibility("default"))) int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return forked_child;
}

/* A child of a process whose threads are inside the guard: one refused
 * unlink, then a normal exit, destructors and all. A hang here turns into
 * a signal the parent sees, not a test that never ends. */
static void child(const char *victim)
{
	forked_child = true;
	signal(SIGALRM, SIG_DFL);
	alarm(CHILD_WATCHDOG);
	int rc = unlink(victim);
	exit(rc == -1 && errno == EACCES ? 0 : 1);
}

static int stress(const char *ws, const char *victims)
{
	pthread_t th[NTHREADS];
	int forks = 0, kids_refused = 0, after = 0;

	S.ws = ws;
	S.victims = victims;
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG);
	atomic_store(&S.busy, NTHREADS);
	for (int k = 0; k < NTHREADS; k++)
		if (pthread_create(&th[k], NULL, worker, (void *)(intptr_t)k) != 0) {
			say("stress: pthread_create failed\n");
			return 1;
		}
	/* Children come while the threads work and refuse, then while they
	 * only format times. One failed child is enough: a hung one costs
	 * CHILD_WATCHDOG. */
	while (kids_refused == forks && forks < MAX_FORKS && after < FORKS_AFTER) {
		char v[PATH_MAX];
		int st;
		after += atomic_load(&S.busy) == 0;
		pathf(v, "%s/c-%d", victims, forks);
		pid_t pid = fork();
		if (pid == 0)
			child(v);
		if (pid < 0 || waitpid(pid, &st, 0) != pid) {
			say("stress: fork: %s\n", strerror(errno));
			return 1;
		}
		forks++;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			kids_refused++;
		else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
			say("stress: child %d hung in its refused unlink or its exit\n", forks - 1);
		else
			say("stress: child %d: wait status %#x\n", forks - 1, st);
	}
	atomic_store(&S.stop, 1);
	for (int k = 0; k < NTHREADS; k++)
		pthread_join(th[k], NULL);
	say("stress ws_ok=%d ws_fail=%d refused=%d leaked=%d children=%d children_refused=%d "
	    "children_while_busy=%d\n",
	    atomic_load(&S.ws_ok), atomic_load(&S.ws_fail), atomic_load(&S.refused),
	    atomic_load(&S.leaked), forks, kids_refused, forks - after);
	return 0;
}

/* Before Criterion's main: "SELF --stress WS VICTIMS" is the stresser. */
__attribute__((constructor)) static void stress_mode(void)
{
	static char cmd[3 * PATH_MAX];
	const char *argv[4] = {0};
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
	int argc = 0;

	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; i < n && argc < 4; i += (ssize_t)strlen(cmd + i) + 1)
		argv[argc++] = cmd + i;
	if (argc == 4 && strcmp(argv[1], "--stress") == 0)
		exit(stress(argv[2], argv[3]));
}

/* ---- the driver (unguarded) ----------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Name, mode, size, inode, mtime and content of every victim. */
static char *snapshot(const char *dir)
{
	struct dirent **names;
	char *s = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&s, &len);
	int n = scandir(dir, &names, NULL, alphasort);

	cr_assert_geq(n, 0, "scandir %s", dir);
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX];
		struct stat st;
		pathf(p, "%s/%s", dir, names[i]->d_name);
		cr_assert_eq(lstat(p, &st), 0, "lstat %s", p);
		char *data = S_ISREG(st.st_mode) ? agt_read(p) : NULL;
		fprintf(o, "%s %o %lld %llu %lld.%09ld %s\n", names[i]->d_name, st.st_mode,
			(long long)st.st_size, (unsigned long long)st.st_ino,
			(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, data ? data : "");
		free(data);
		free(names[i]);
	}
	free(names);
	fclose(o);
	return s;
}

/* "op path" of every log line, sorted; NULL entries never. */
static char **log_entries(struct agt *t, int *count)
{
	json_t *lines = agt_log_load(t->log), *o;
	char **v = NULL;
	size_t i;
	int n = 0;

	cr_assert(agt_exists(t->log), "no log at %s", t->log);
	cr_assert_not_null(lines, "a torn or invalid log line:\n%s", agt_dump(t->log));
	json_array_foreach(lines, i, o) {
		const char *op = json_string_value(json_object_get(o, "op"));
		const char *path = json_string_value(json_object_get(o, "path"));
		v = realloc(v, sizeof(*v) * (size_t)(n + 1));
		cr_assert(asprintf(&v[n], "%s %s", op ? op : "?", path ? path : "?") > 0);
		n++;
	}
	json_decref(lines);
	qsort(v, (size_t)n, sizeof(*v), cmp_str);
	*count = n;
	return v;
}

static void make_victims(const char *dir)
{
	char p[PATH_MAX], data[64];

	agt_mkdirs(dir);
	for (int k = 0; k < NTHREADS; k++)
		for (int i = 0; i < ROUNDS; i++) {
			pathf(p, "%s/v-%d-%d", dir, k, i);
			snprintf(data, sizeof(data), "victim %d %d\n", k, i);
			agt_write(p, data);
		}
	for (int c = 0; c < MAX_FORKS; c++) {
		pathf(p, "%s/c-%d", dir, c);
		snprintf(data, sizeof(data), "child victim %d\n", c);
		agt_write(p, data);
	}
}

static void expect_workspace(struct agt *t)
{
	char p[PATH_MAX], want[64];

	for (int k = 0; k < NTHREADS; k++)
		for (int i = 0; i < ROUNDS; i++) {
			pathf(p, "%s/s%d/f%d.dat", t->ws, k, i);
			if (i % KEEP != 0) {
				cr_expect(!agt_exists(p), "%s should have been deleted", p);
				continue;
			}
			int n = snprintf(want, sizeof(want), "thread %d round %d at ", k, i);
			char *got = agt_read(p);
			cr_expect(got && strncmp(got, want, (size_t)n) == 0, "%s: %s", p,
				  got ? got : "missing");
			free(got);
			pathf(p, "%s/s%d/f%d.tmp", t->ws, k, i);
			cr_expect(!agt_exists(p), "%s left behind", p);
			pathf(p, "%s/s%d/stolen-%d", t->ws, k, i);
			cr_expect(!agt_exists(p), "%s was moved into the workspace", p);
		}
}

/* Removed even when an assertion ends the test early (AGT_KEEP keeps it). */
static struct agt t; /* global: the .fini hook needs it */

static void remove_tree(void)
{
	agt_teardown(&t);
}

Test(stress, threads_and_forks_under_the_guard, .timeout = 300, .fini = remove_tree)
{
	struct agt_result *r = malloc(sizeof(*r));
	char self[PATH_MAX], victims[PATH_MAX];
	int ws_ok, ws_fail, refused, leaked, children, kids_refused;

	cr_assert_not_null(r);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	cr_assert_gt(n, 0);
	self[n] = '\0';
	agt_setup(&t, "stress");
	pathf(victims, "%s/victims", t.out);
	make_victims(victims);
	char *before = snapshot(victims);

	const char *argv[] = {self, "--stress", t.ws, victims, NULL};
	agt_run(&t, r, argv, NULL);
	cr_assert_eq(r->status, 0,
		     "stresser exited %d (3: watchdog, a hang)\nstdout: %s\nstderr: %.2000s",
		     r->status, r->out, r->err);
	const char *summary = strstr(r->out, "stress ws_ok=");
	cr_assert_not_null(summary, "no summary from the stresser: %s", r->out);
	cr_assert_eq(sscanf(summary,
			    "stress ws_ok=%d ws_fail=%d refused=%d leaked=%d children=%d "
			    "children_refused=%d",
			    &ws_ok, &ws_fail, &refused, &leaked, &children, &kids_refused),
		     6, "unexpected stresser output: %s", r->out);

	cr_log_info("%s", summary);
	cr_expect_eq(ws_fail, 0, "workspace operations failed\n%s", r->out);
	cr_expect_eq(ws_ok, NTHREADS * ROUNDS);
	cr_expect_eq(leaked, 0, "refused operations went through\n%s", r->out);
	cr_expect_eq(refused, NTHREADS * ROUNDS);
	cr_expect_geq(children, FORKS_AFTER, "forking stopped early\n%s", r->out);
	cr_expect_eq(kids_refused, children, "a child failed\n%s", r->out);

	/* One line per refusal, each valid JSON, none lost, none doubled. */
	int lines = agt_log_lines(&t);
	cr_assert_geq(lines, 0, "a log line is torn or not JSON");
	cr_expect_eq(lines, refused + kids_refused, "%d log lines for %d refusals", lines,
		     refused + kids_refused);
	cr_expect_eq(agt_log_count(&t, NULL, NULL, "outside-workspace"), lines);

	int got_n, want_n = 0;
	char **got = log_entries(&t, &got_n);
	char **want = malloc(sizeof(*want) * (NTHREADS * ROUNDS + MAX_FORKS));
	for (int k = 0; k < NTHREADS; k++)
		for (int i = 0; i < ROUNDS; i++)
			cr_assert(asprintf(&want[want_n++], "%s %s/v-%d-%d", ops[i % 5], victims, k,
					   i) > 0);
	for (int c = 0; c < children; c++)
		cr_assert(asprintf(&want[want_n++], "delete %s/c-%d", victims, c) > 0);
	qsort(want, (size_t)want_n, sizeof(*want), cmp_str);
	for (int i = 0, j = 0; i < want_n || j < got_n;) {
		int c = i == want_n ? 1 : j == got_n ? -1 : strcmp(want[i], got[j]);
		if (c < 0)
			cr_expect_fail("no log line for: %s", want[i]);
		if (c > 0)
			cr_expect_fail("unexpected log line: %s", got[j]);
		i += c <= 0;
		j += c >= 0;
	}
	for (int i = 0; i < want_n; i++)
		free(want[i]);
	for (int j = 0; j < got_n; j++)
		free(got[j]);
	free(want);
	free(got);

	char *after = snapshot(victims);
	cr_expect(strcmp(before, after) == 0, "the outside tree changed");
	free(before);
	free(after);
	expect_workspace(&t);
	free(r);
}
