/* Fixing a session: where the workspace is, which policy, which log, and
 * the compiled ruleset that every process of the session maps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "agentguard.h"
#include "blob.h"

static int setf(ag_error_t *err, const char *source, const char *fmt, const char *arg)
{
	memset(err, 0, sizeof(*err));
	snprintf(err->source, sizeof(err->source), "%s", source);
	snprintf(err->text, sizeof(err->text), fmt, arg);
	return -1;
}

static int copy(char *dst, size_t sz, const char *src)
{
	if (strlen(src) >= sz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

/* realpath into a fixed buffer; a path that does not exist (yet) is made
 * absolute and cleaned lexically instead. */
static int absolute(const char *in, char *out, size_t sz)
{
	char buf[PATH_MAX];

	if (realpath(in, buf))
		return copy(out, sz, buf);
	/* A file not made yet (the log) in a directory that exists. */
	const char *slash = strrchr(in, '/');
	if (slash && slash[1] && strcmp(slash + 1, "..") != 0 && strcmp(slash + 1, ".") != 0) {
		char dir[PATH_MAX];
		size_t n = slash == in ? 1 : (size_t)(slash - in);
		if (n < sizeof(dir)) {
			memcpy(dir, in, n);
			dir[n] = '\0';
			if (realpath(dir, buf) &&
			    (size_t)snprintf(out, sz, "%s/%s", strcmp(buf, "/") ? buf : "",
					     slash + 1) < sz)
				return 0;
		}
	}
	if (in[0] == '/')
		return copy(out, sz, in) == 0 ? (ag_path_squash(out), 0) : -1;
	if (!getcwd(buf, sizeof(buf)) || (size_t)snprintf(out, sz, "%s/%s", buf, in) >= sz)
		return -1;
	ag_path_squash(out);
	return 0;
}

int ag_workspace_detect(const char *dir, char *out, size_t outsz)
{
	char cur[PATH_MAX];
	struct stat st;

	if (!realpath(dir, cur))
		return -1;
	for (size_t n = strlen(cur);;) {
		char probe[PATH_MAX + 8];
		snprintf(probe, sizeof(probe), "%s/.git", n == 1 ? "" : cur);
		if (lstat(probe, &st) == 0)
			return copy(out, outsz, cur);
		char *slash = strrchr(cur, '/');
		if (!slash || n == 1)
			break;
		n = slash == cur ? 1 : (size_t)(slash - cur);
		cur[n] = '\0';
		if (n == 1)
			cur[0] = '/';
	}
	return realpath(dir, cur) ? copy(out, outsz, cur) : -1;
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && h[0] == '/')
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : "/";
}

static int fill_dirs(ag_session_t *s, ag_error_t *err)
{
	const char *t = getenv("TMPDIR");
	const char *x = getenv("XDG_STATE_HOME");

	if (absolute(home_dir(), s->home, sizeof(s->home)) != 0)
		return setf(err, "HOME", "cannot resolve the home directory%s", "");
	if (absolute(t && t[0] == '/' ? t : "/tmp", s->tmpdir, sizeof(s->tmpdir)) != 0)
		return setf(err, "TMPDIR", "cannot resolve the temp directory%s", "");
	int n;
	if (x && x[0] == '/')
		n = snprintf(s->statedir, sizeof(s->statedir), "%s/agentguard", x);
	else
		n = snprintf(s->statedir, sizeof(s->statedir), "%s/.local/state/agentguard",
			     strcmp(s->home, "/") == 0 ? "" : s->home);
	if ((size_t)n >= sizeof(s->statedir))
		return setf(err, "XDG_STATE_HOME", "state directory path too long%s", "");
	return 0;
}

int ag_session_from_env(ag_session_t *s, ag_error_t *err)
{
	const char *ws = getenv("AGENTGUARD_WORKSPACE");
	const char *pol = getenv("AGENTGUARD_POLICY");
	const char *log = getenv("AGENTGUARD_LOG");
	const char *mode = getenv("AGENTGUARD_MODE");

	memset(s, 0, sizeof(*s));
	if (fill_dirs(s, err) != 0)
		return -1;
	if (ws && *ws) {
		if (!realpath(ws, s->workspace))
			return setf(err, "AGENTGUARD_WORKSPACE", "workspace %s does not exist", ws);
	} else if (ag_workspace_detect(".", s->workspace, sizeof(s->workspace)) != 0) {
		return setf(err, "workspace", "cannot resolve the current directory%s", "");
	}
	if (pol && *pol && absolute(pol, s->policy, sizeof(s->policy)) != 0)
		return setf(err, "AGENTGUARD_POLICY", "bad policy path %s", pol);
	if (log && *log) {
		if (absolute(log, s->log, sizeof(s->log)) != 0)
			return setf(err, "AGENTGUARD_LOG", "bad log path %s", log);
	} else if ((size_t)snprintf(s->log, sizeof(s->log), "%s/log.jsonl", s->statedir) >=
		   sizeof(s->log)) {
		return setf(err, "AGENTGUARD_LOG", "log path too long%s", "");
	}
	if (mode && *mode && strcmp(mode, "enforce") != 0 && strcmp(mode, "audit") != 0)
		return setf(err, "AGENTGUARD_MODE", "unknown mode \"%s\"; expected enforce or audit",
			    mode);
	s->audit = mode && strcmp(mode, "audit") == 0;
	return 0;
}

int ag_session_compile(const ag_session_t *s, void **blob, size_t *len, ag_error_t *err)
{
	char self[3][2 * PATH_MAX + 8];
	const char *selfp[4] = {NULL};
	size_t n = 0;
	ag_vars_t v = {.workspace = s->workspace, .home = s->home, .tmpdir = s->tmpdir,
		       .log = s->log, .mode = s->audit ? "audit" : "enforce", .self_paths = selfp};

	const char *mine[3] = {s->log, s->policy, s->statedir};
	for (int i = 0; i < 3; i++) {
		if (!mine[i][0] || ag_glob_escape(self[n], PATH_MAX * 2, mine[i]) == (size_t)-1)
			continue;
		if (i == 2)
			strcat(self[n], "/**");
		selfp[n] = self[n];
		n++;
	}
	if (s->policy[0])
		return ag_policy_compile_file(s->policy, &v, blob, len, err);
	return ag_policy_compile(ag_default_policy, ag_default_policy_len, AG_EMBEDDED_SOURCE, &v,
				 blob, len, err);
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0700);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int ag_session_store(const ag_session_t *s, const void *blob, size_t len, char *path,
		     size_t pathsz)
{
	const ag_ruleset_t *rs = blob;
	char dir[PATH_MAX], tmp[PATH_MAX + 32];
	ag_error_t err;

	if (copy(dir, sizeof(dir), s->statedir) != 0 || mkdirs(dir) != 0)
		return -1;
	if ((size_t)snprintf(path, pathsz, "%s/rules-%016llx.agc", dir,
			     (unsigned long long)ag_ruleset_hash(rs)) >= pathsz)
		return -1;
	/* Already there and sound: the common case for every later launch. */
	const ag_ruleset_t *have = ag_ruleset_map(path, &err);
	if (have) {
		munmap((void *)have, ((const struct ag_blob_hdr *)have)->total_len);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -1;
	bool ok = write(fd, blob, len) == (ssize_t)len;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static const ag_ruleset_t *map(const char *path, bool sum, ag_error_t *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return setf(err, path, "cannot open compiled ruleset: %s", strerror(errno)), NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > (1 << 30) || st.st_uid != geteuid()) {
		close(fd);
		return setf(err, path, "not a compiled ruleset of ours%s", ""), NULL;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return setf(err, path, "cannot map: %s", strerror(errno)), NULL;
	const ag_ruleset_t *rs = sum ? ag_ruleset_view(m, (size_t)st.st_size, err)
				     : ag_ruleset_view_stored(m, (size_t)st.st_size, err);
	if (!rs)
		munmap(m, (size_t)st.st_size);
	return rs;
}

const ag_ruleset_t *ag_ruleset_map(const char *path, ag_error_t *err)
{
	return map(path, true, err);
}

const ag_ruleset_t *ag_ruleset_map_stored(const char *path, ag_error_t *err)
{
	return map(path, false, err);
}

/* Maps of sessions over two days old go, and the launcher's memos of
 * which programs PATH holds (pathmask-*), looked for at most once an hour
 * (the stamp's time): a launch leaves three files, and a state directory
 * that many launches filled (a benchmark, a script that launches per
 * command) would otherwise cost each launch a stat per file. */
#define SWEEP_EVERY 3600
#define SWEEP_STAMP "swept"

static void sweep_old_maps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat stamp;
	time_t now = time(NULL);

	if (!d)
		return;
	if (fstatat(dirfd(d), SWEEP_STAMP, &stamp, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(stamp.st_mode) && now - stamp.st_mtime < SWEEP_EVERY && stamp.st_mtime <= now) {
		closedir(d);
		return;
	}
	int fd = openat(dirfd(d), SWEEP_STAMP, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
	while ((e = readdir(d))) {
		struct stat st;
		if (strncmp(e->d_name, "created-", 8) != 0 &&
		    strncmp(e->d_name, "pathmask-", 9) != 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now - st.st_mtime > 2 * 24 * 3600)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

int ag_session_created_map(const ag_session_t *s, char *path, size_t pathsz)
{
	char dir[PATH_MAX];
	struct timespec ts;

	if (copy(dir, sizeof(dir), s->statedir) != 0 || mkdirs(dir) != 0)
		return -1;
	sweep_old_maps(dir);
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((size_t)snprintf(path, pathsz, "%s/created-%d-%lld%09ld.map", dir, (int)getpid(),
			     (long long)ts.tv_sec, ts.tv_nsec) >= pathsz)
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)AG_CREATED_SLOTS * sizeof(uint64_t)) != 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}
