/* Fixing a session: where the workspace is, which policy, which log, and
 * the compiled ruleset that every process of the session maps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdbool.h>
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

static int mkdirs(char *path);

/* The variables a session compiles its policy with; self holds the globs
 * for the guard's own files. */
static void session_vars(const ag_session_t *s, ag_vars_t *v, char self[3][2 * PATH_MAX + 8],
			 const char *selfp[4])
{
	size_t n = 0;
	*v = (ag_vars_t){.workspace = s->workspace, .home = s->home, .tmpdir = s->tmpdir,
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
	selfp[n] = NULL;
}

int ag_session_compile(const ag_session_t *s, void **blob, size_t *len, ag_error_t *err)
{
	char self[3][2 * PATH_MAX + 8];
	const char *selfp[4];
	ag_vars_t v;

	session_vars(s, &v, self, selfp);
	if (s->policy[0])
		return ag_policy_compile_file(s->policy, &v, blob, len, err);
	return ag_policy_compile(ag_default_policy, ag_default_policy_len, AG_EMBEDDED_SOURCE, &v,
				 blob, len, err);
}

/* ---- the launcher's memo of what a policy compiled to ---------------------
 *
 * Compiling the default policy is most of a launch (parsing the JSON,
 * two and a half million instructions). What it compiles to depends on the
 * text, the variables, and which of the directories its literal prefixes
 * pass through are symlinks, and to where. A launch that compiled leaves
 * an index beside the stored ruleset, named by a hash of the text and the
 * variables, listing every path the compiler looked at; a later launch
 * with the same text and variables looks at them again (one lstat each,
 * a realpath for a symlink) and, when none has changed, reads the stored
 * ruleset instead of compiling. Anything else (no index, a changed path,
 * a ruleset that fails its checks) compiles as before. */
#define INDEX_MAGIC "AGIDX001"

struct index {
	unsigned char *buf;
	size_t len, cap;
	uint32_t n;
	bool failed;
};

static void put(struct index *x, const void *p, size_t n)
{
	if (x->failed)
		return;
	if (x->len + n > x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8192;
		while (cap < x->len + n)
			cap *= 2;
		unsigned char *b = realloc(x->buf, cap);
		if (!b) {
			x->failed = true;
			return;
		}
		x->buf = b;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, p, n);
	x->len += n;
}

static void put_str(struct index *x, const char *str)
{
	uint32_t n = str ? (uint32_t)strlen(str) : 0;
	put(x, &n, sizeof(n));
	put(x, str ? str : "", n);
}

static void seen(void *ctx, const char *path, const struct stat *link, const char *real)
{
	struct index *x = ctx;
	uint8_t kind = link ? 1 : 0;
	uint64_t id[2] = {link ? (uint64_t)link->st_dev : 0, link ? (uint64_t)link->st_ino : 0};
	put(x, &kind, 1);
	put(x, id, sizeof(id));
	put_str(x, path);
	put_str(x, link ? real : NULL);
	x->n++;
}

struct reader {
	const unsigned char *p, *end;
};

static bool get(struct reader *r, void *out, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return false;
	memcpy(out, r->p, n);
	r->p += n;
	return true;
}

/* A string of the index into out; false when it does not fit. */
static bool get_str(struct reader *r, char *out, size_t sz)
{
	uint32_t n;
	if (!get(r, &n, sizeof(n)) || n >= sz || (size_t)(r->end - r->p) < n)
		return false;
	memcpy(out, r->p, n);
	out[n] = '\0';
	r->p += n;
	return memchr(out, '\0', n) == NULL;
}

/* Whether every path the index lists is as it was: not a symlink where it
 * was not one; the same symlink, leading to the same place, where it was. */
static bool unchanged(struct reader *r, uint32_t n)
{
	char path[PATH_MAX], real[PATH_MAX], now[PATH_MAX];
	for (uint32_t i = 0; i < n; i++) {
		uint8_t kind;
		uint64_t id[2];
		struct stat st;
		if (!get(r, &kind, 1) || !get(r, id, sizeof(id)) || !get_str(r, path, sizeof(path)) ||
		    !get_str(r, real, sizeof(real)))
			return false;
		bool link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
		if (link != (kind == 1))
			return false;
		if (!link)
			continue;
		if ((uint64_t)st.st_dev != id[0] || (uint64_t)st.st_ino != id[1])
			return false;
		/* where the compiler found it leads: nowhere, or into /proc */
		if (!realpath(path, now) || ag_path_within(now, "/proc"))
			now[0] = '\0';
		if (strcmp(now, real) != 0)
			return false;
	}
	return r->p == r->end;
}

static uint64_t source_key(const char *text, size_t len, const ag_vars_t *v, const char *source)
{
	uint64_t h = ag__hash_bytes(AG_HASH_SEED, INDEX_MAGIC, 8);
	uint32_t version = AG_BLOB_VERSION;
	h = ag__hash_bytes(h, (const char *)&version, sizeof(version));
	h = ag__hash_bytes(h, text, len);
	const char *vs[] = {v->workspace, v->home, v->tmpdir, source, v->log, v->mode};
	for (size_t i = 0; i < 6; i++)
		h = ag__hash_bytes(h, vs[i], strlen(vs[i]) + 1);
	for (const char *const *p = v->self_paths; p && *p; p++)
		h = ag__hash_bytes(h, *p, strlen(*p) + 1);
	return h;
}

/* A whole file into memory, NUL-terminated; ours (the state directory's)
 * where own is set. */
static char *read_all(const char *path, size_t max, bool own, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (size_t)st.st_size <= max && (!own || st.st_uid == geteuid()) &&
	    (buf = malloc((size_t)st.st_size + 1)) != NULL) {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (got != (size_t)st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[got] = '\0';
			*len = got;
		}
	}
	close(fd);
	return buf;
}

/* The stored ruleset the index names, read into memory and checked; or
 * NULL. */
static void *from_index(const char *dir, const char *ipath, uint64_t key, size_t *len)
{
	size_t ilen;
	unsigned char *idx = (unsigned char *)read_all(ipath, 16u << 20, true, &ilen);
	struct reader r = {idx, idx ? idx + ilen : NULL};
	char magic[8], name[64], rpath[PATH_MAX + 64];
	uint64_t k;
	uint32_t n;
	void *blob = NULL;

	if (idx && get(&r, magic, 8) && memcmp(magic, INDEX_MAGIC, 8) == 0 && get(&r, &k, 8) &&
	    k == key && get_str(&r, name, sizeof(name)) && strncmp(name, "rules-", 6) == 0 &&
	    !strchr(name, '/') && get(&r, &n, sizeof(n)) && unchanged(&r, n) &&
	    (size_t)snprintf(rpath, sizeof(rpath), "%s/%s", dir, name) < sizeof(rpath) &&
	    (blob = read_all(rpath, 1u << 30, true, len)) != NULL) {
		ag_error_t err;
		if (!ag_ruleset_view(blob, *len, &err)) {
			free(blob);
			blob = NULL;
		}
	}
	free(idx);
	return blob;
}

static void write_index(const char *ipath, uint64_t key, const void *blob, const struct index *x)
{
	char name[64], tmp[PATH_MAX + 32];
	struct index head = {0};

	snprintf(name, sizeof(name), "rules-%016llx.agc",
		 (unsigned long long)ag_ruleset_hash((const ag_ruleset_t *)blob));
	put(&head, INDEX_MAGIC, 8);
	put(&head, &key, sizeof(key));
	put_str(&head, name);
	put(&head, &x->n, sizeof(x->n));
	if (head.failed || (size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", ipath, (int)getpid()) >=
			       sizeof(tmp)) {
		free(head.buf);
		return;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		bool ok = write(fd, head.buf, head.len) == (ssize_t)head.len &&
			  write(fd, x->buf, x->len) == (ssize_t)x->len;
		ok = close(fd) == 0 && ok;
		if (!ok || rename(tmp, ipath) != 0)
			unlink(tmp);
	}
	free(head.buf);
}

int ag_session_compile_cached(const ag_session_t *s, void **blob, size_t *len, ag_error_t *err)
{
	char self[3][2 * PATH_MAX + 8], dir[PATH_MAX], ipath[PATH_MAX + 64];
	const char *selfp[4];
	const char *source = s->policy[0] ? s->policy : AG_EMBEDDED_SOURCE;
	size_t tlen = ag_default_policy_len;
	const char *text = ag_default_policy;
	char *owned = NULL;
	ag_vars_t v;

	session_vars(s, &v, self, selfp);
	if (s->policy[0]) {
		owned = read_all(s->policy, 64u << 20, false, &tlen);
		if (!owned) /* compile_file says why */
			return ag_policy_compile_file(s->policy, &v, blob, len, err);
		text = owned;
	}
	uint64_t key = source_key(text, tlen, &v, source);
	bool named = copy(dir, sizeof(dir), s->statedir) == 0 &&
		     (size_t)snprintf(ipath, sizeof(ipath), "%s/source-%016llx.idx", dir,
				      (unsigned long long)key) < sizeof(ipath);
	if (named && (*blob = from_index(dir, ipath, key, len)) != NULL) {
		free(owned);
		return 0;
	}
	struct index x = {0};
	v.seen = seen;
	v.seen_ctx = &x;
	int rc = ag_policy_compile(text, tlen, source, &v, blob, len, err);
	if (rc == 0 && named && !x.failed && mkdirs(dir) == 0)
		write_index(ipath, key, *blob, &x);
	free(x.buf);
	free(owned);
	return rc;
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
 * which programs PATH holds (pathmask-*) and what a policy compiled to
 * (source-*), looked for at most once an hour
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
		    strncmp(e->d_name, "pathmask-", 9) != 0 && strncmp(e->d_name, "source-", 7) != 0)
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
