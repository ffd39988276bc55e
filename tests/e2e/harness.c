#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	abort();
}

/* snprintf that refuses to cut a path short. */
static void pathf(char *dst, size_t sz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, sz, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sz) {
		errno = ENAMETOOLONG;
		die(fmt);
	}
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The build tree, unless the clone itself sits in a temp directory. */
static void pick_base(char *out, size_t sz)
{
	const char *env = getenv("AGT_ROOT");
	char real[PATH_MAX];

	if (env && realpath(env, real) && !under(real, "/tmp") && !under(real, "/var/tmp") &&
	    !under(real, "/dev/shm")) {
		snprintf(out, sz, "%s", real);
		return;
	}
	const char *home = getenv("HOME");
	snprintf(out, sz, "%s/.agentguard-tests", home && *home ? home : "/root");
}

void agt_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		die(path);
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void rm_rf(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", path, (char *)NULL);
		_exit(127);
	}
	wait_status(pid);
}

void agt_setup(struct agt *t, const char *name)
{
	char base[PATH_MAX];

	memset(t, 0, sizeof(*t));
	pick_base(base, sizeof(base));
	pathf(t->root, sizeof(t->root), "%s/%s-%d", base, name, (int)getpid());
	rm_rf(t->root);
	pathf(t->home, sizeof(t->home), "%s/home", t->root);
	pathf(t->ws, sizeof(t->ws), "%s/ws", t->root);
	pathf(t->out, sizeof(t->out), "%s/outside", t->root);
	pathf(t->tmp, sizeof(t->tmp), "%s/tmp", t->root);
	pathf(t->log, sizeof(t->log), "%s/log/agentguard.jsonl", t->root);
	agt_mkdirs(t->home);
	/* A used machine's home: the kernel floor grants only places that
	 * exist at launch, and says so when a tool makes one later. */
	static const char *const used[] = {".cache", ".npm", ".cargo", ".rustup", ".config",
					   ".local/share"};
	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
		char p[PATH_MAX];
		pathf(p, sizeof(p), "%s/%s", t->home, used[i]);
		agt_mkdirs(p);
	}
	agt_mkdirs(t->ws);
	agt_mkdirs(t->out);
	agt_mkdirs(t->tmp);
	struct agt_result r;
	if (agt_sh_unguarded(t, &r, "git init -q . && git config user.email t@example.com && "
				    "git config user.name t") != 0)
		die("git init");
}

void agt_teardown(struct agt *t)
{
	if (t->root[0] && !getenv("AGT_KEEP"))
		rm_rf(t->root);
}

void agt_policy(struct agt *t, const char *json)
{
	pathf(t->policy, sizeof(t->policy), "%s/policy.json", t->root);
	agt_write(t->policy, json);
}

static void drain(int fds[2], struct agt_result *r)
{
	size_t n[2] = {0, 0};
	char *buf[2] = {r->out, r->err};
	struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
	int open = 2;

	while (open > 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char tmp[4096];
			ssize_t got = read(p[i].fd, tmp, sizeof(tmp));
			if (got <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open--;
				continue;
			}
			size_t room = sizeof(r->out) - 1 - n[i];
			size_t take = (size_t)got < room ? (size_t)got : room;
			memcpy(buf[i] + n[i], tmp, take);
			n[i] += take;
		}
	}
	r->out[n[0]] = '\0';
	r->err[n[1]] = '\0';
}

static int spawn(struct agt *t, struct agt_result *r, char *const *argv, const char *const *env)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		if (chdir(t->ws) != 0)
			_exit(126);
		setenv("HOME", t->home, 1);
		setenv("TMPDIR", t->tmp, 1);
		unsetenv("XDG_STATE_HOME");
		unsetenv("LD_PRELOAD");
		for (const char *const *e = env; e && *e; e++)
			putenv((char *)*e);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	int fds[2] = {po[0], pe[0]};
	drain(fds, r);
	r->status = wait_status(pid);
	return r->status;
}

/* The launcher says once what the kernel floor holds; tests that want the
 * guard silent mean the refusals, so the line moves to r->floor. */
static void take_floor_line(struct agt_result *r)
{
	static const char tag[] = "agentguard: kernel floor: ";
	char *p = strstr(r->err, tag);
	r->floor[0] = '\0';
	if (!p)
		return;
	char *end = strchr(p, '\n');
	size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
	snprintf(r->floor, sizeof(r->floor), "%.*s", (int)n, p);
	memmove(p, p + n, strlen(p + n) + 1);
}

int agt_run(struct agt *t, struct agt_result *r, const char *const *argv, const char *const *env)
{
	const char *bin = getenv("AGT_BIN");
	char *args[256];
	int n = 0;

	if (!bin)
		bin = "agentguard";
	args[n++] = (char *)bin;
	args[n++] = "run";
	args[n++] = "--workspace";
	args[n++] = t->ws;
	args[n++] = "--log";
	args[n++] = t->log;
	if (t->policy[0]) {
		args[n++] = "--policy";
		args[n++] = t->policy;
	}
	if (t->audit)
		args[n++] = "--audit";
	if (t->no_floor)
		args[n++] = "--no-floor";
	args[n++] = "--";
	for (const char *const *a = argv; *a && n < 255; a++)
		args[n++] = (char *)*a;
	args[n] = NULL;
	int rc = spawn(t, r, args, env);
	take_floor_line(r);
	return rc;
}

static int sh(struct agt *t, struct agt_result *r, bool guarded, const char *fmt, va_list ap)
{
	char *script;
	if (vasprintf(&script, fmt, ap) < 0)
		die("vasprintf");
	const char *argv[] = {"bash", "-c", script, NULL};
	int rc = guarded ? agt_run(t, r, argv, NULL) : spawn(t, r, (char *const *)argv, NULL);
	free(script);
	return rc;
}

int agt_sh(struct agt *t, struct agt_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = sh(t, r, true, fmt, ap);
	va_end(ap);
	return rc;
}

int agt_sh_unguarded(struct agt *t, struct agt_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = sh(t, r, false, fmt, ap);
	va_end(ap);
	return rc;
}

static bool field_is(json_t *o, const char *key, const char *want)
{
	if (!want)
		return true;
	json_t *v = json_object_get(o, key);
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

json_t *agt_log_load(const char *path)
{
	json_t *all = json_array();
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return all;
	while (all && (n = getline(&line, &cap, f)) > 0) {
		json_error_t err;
		json_t *o = line[n - 1] == '\n' ? json_loads(line, 0, &err) : NULL;
		if (json_is_object(o)) {
			json_array_append_new(all, o);
			continue;
		}
		fprintf(stderr, "harness: torn or invalid log line in %s: %s\n", path, line);
		json_decref(o);
		json_decref(all);
		all = NULL;
	}
	free(line);
	fclose(f);
	return all;
}

/* A torn line makes the count negative, so no expected count can match. */
static int scan_log(struct agt *t, const char *op, const char *path, const char *rule, bool all)
{
	json_t *lines = agt_log_load(t->log), *o;
	size_t i;
	int n = 0;

	if (!lines)
		return -1000000;
	json_array_foreach(lines, i, o)
		n += all || (field_is(o, "op", op) && field_is(o, "path", path) &&
			     field_is(o, "rule", rule));
	json_decref(lines);
	return n;
}

int agt_log_count(struct agt *t, const char *op, const char *path, const char *rule)
{
	return scan_log(t, op, path, rule, false);
}

int agt_log_lines(struct agt *t)
{
	return scan_log(t, NULL, NULL, NULL, true);
}

void agt_write(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	if (!f)
		die(path);
	fputs(content, f);
	fclose(f);
}

char *agt_read(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

bool agt_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

const char *agt_pathf(const char *fmt, ...)
{
	static __thread char ring[48][PATH_MAX];
	static __thread unsigned next;
	char *b = ring[next++ % 48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, PATH_MAX, fmt, ap);
	va_end(ap);
	return b;
}

void agt_put(const char *path, const char *content)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		agt_mkdirs(dir);
	}
	agt_write(path, content);
}

const char *agt_dump(const char *path)
{
	static char buf[32768];
	char *s = agt_read(path);
	snprintf(buf, sizeof(buf), "%s", s ? s : "(missing)\n");
	free(s);
	return buf;
}

const char *agt_logtext(struct agt *t)
{
	return agt_dump(t->log);
}
