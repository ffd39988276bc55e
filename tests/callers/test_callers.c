/* One caller per hooked symbol: ag_callers makes the call under the guard,
 * this driver (never preloaded) sets up the tree and judges the outcome.
 *
 * Each row runs twice in a fresh tree. First against <outside>/protected,
 * which the policy refuses for every operation: the call must return -1
 * with EACCES (system, popen and wordexp report what their shell was
 * refused), leave the whole outside tree exactly as it was, and write one
 * log line with the right op, resolved paths and rule. Then the same call
 * against <outside>/free, which nothing refuses: it must succeed and show
 * its effect, which proves the caller really makes the call.
 *
 * A row's arguments: "P/name" is a name in the directory under test
 * (protected, then free), "F/name" a name in a second free directory,
 * "#P/name" a descriptor the driver opens on that file (read-write,
 * inherited through exec), "=F/name" a path that is not logged (the
 * close rows' other directory); anything else is passed as it is. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../e2e/harness.h"

#define XATTR	 "user.agentguard"
#define CONTENT	 "precious\n"
#define NOBODY	 65534
#define STAMP	 1000000000
#define NEW_MODE 0600

/* What the control run must show. */
enum effect {
	E_RC,	  /* success is all there is to see (reads, writes without truncation) */
	E_EMPTY,  /* ARG1's file truncated */
	E_GONE,	  /* ARG1 removed */
	E_MOVED,  /* ARG1 gone, ARG2 there */
	E_LINKED, /* ARG2 there, ARG1 with two links */
	E_EXISTS, /* ARG1 created */
	E_TEMP,	  /* a tmp* name appeared in P */
	E_MODE,	  /* ARG1's mode is NEW_MODE */
	E_OWNER,  /* ARG1 owned by the caller (the driver gives it to nobody first) */
	E_TIME,	  /* ARG1's mtime is STAMP */
	E_XSET,	  /* ARG1's attribute set to "set" */
	E_XGONE,  /* ARG1's attribute removed */
	E_IFLAG,  /* ARG1's inode flags hold no-atime (chattr +A) */
	E_ZERO,	  /* the shell ran ARG1 and exited 0 */
	E_ONE,	  /* wordexp got one word, ARG1's output */
	E_STREAM, /* connected to the unix stream server the driver holds at ARG1 */
	E_DGRAM,  /* sent to the unix datagram socket the driver holds at ARG1 */
	E_LOOKUP, /* looked up ARG1 and connected to the driver's TCP server */
};

struct row {
	const char *sym, *a1, *a2;
	const char *op;	     /* logged for the refusal: the call's own op, whichever path decided */
	enum effect effect;  /* shown by the control */
	const char *path;    /* logged path when it is not ARG1 */
	const char *refused; /* the caller's report when it is not "rc=-1 errno=EACCES" */
};

#define R(sym, a1, a2, op, eff)                                                                    \
	{                                                                                          \
		sym, a1, a2, op, eff, NULL, NULL                                                   \
	}

/* The open calls that take open flags in ARG2. */
#define OPEN_ROWS(s)                                                                               \
	R(s, "P/file", "trunc", "write", E_EMPTY), R(s, "P/file", "read", "read", E_RC),           \
	    R(s, "P/file", "write", "write", E_RC), R(s, "P/new", "creat", "create", E_EXISTS)
/* __open_2 and friends abort on O_CREAT by design. */
#define OPEN2_ROWS(s)                                                                              \
	R(s, "P/file", "trunc", "write", E_EMPTY), R(s, "P/file", "read", "read", E_RC)
#define FOPEN_ROWS(s)                                                                              \
	R(s, "P/file", "w", "write", E_EMPTY), R(s, "P/file", "r", "read", E_RC),                  \
	    R(s, "P/file", "r+", "write", E_RC), R(s, "P/new", "a", "create", E_EXISTS)
#define DIR_ROWS(s)   R(s, "P/d", NULL, "read", E_RC)
#define TEMP_ROWS(s)  R(s, "P/tmpXXXXXX", NULL, "create", E_TEMP)
#define TEMPS_ROWS(s) R(s, "P/tmpXXXXXX.sfx", NULL, "create", E_TEMP)
#define RENAME_ROWS(s)                                                                             \
	R(s, "P/file", "F/moved", "rename", E_MOVED), R(s, "F/file", "P/new", "rename", E_MOVED),  \
	    R(s, "F/file", "P/file", "rename", E_MOVED)
#define LINK_ROWS(s)                                                                               \
	R(s, "P/file", "F/hard", "link", E_LINKED), R(s, "F/file", "P/hard", "link", E_LINKED)
#define MKNOD_ROWS(s) R(s, "P/node", NULL, "create", E_EXISTS)

static const struct row rows[] = {
    /* open */
    OPEN_ROWS("open"),
    OPEN_ROWS("open64"),
    OPEN_ROWS("__open"),
    OPEN_ROWS("__open64"),
    OPEN2_ROWS("__open_2"),
    OPEN2_ROWS("__open64_2"),
    OPEN_ROWS("openat"),
    OPEN_ROWS("openat64"),
    OPEN2_ROWS("__openat_2"),
    OPEN2_ROWS("__openat64_2"),
    R("creat", "P/file", NULL, "write", E_EMPTY),
    R("creat", "P/new", NULL, "create", E_EXISTS),
    R("creat64", "P/file", NULL, "write", E_EMPTY),
    R("creat64", "P/new", NULL, "create", E_EXISTS),
    FOPEN_ROWS("fopen"),
    FOPEN_ROWS("fopen64"),
    FOPEN_ROWS("freopen"),
    FOPEN_ROWS("freopen64"),
    DIR_ROWS("opendir"),
    DIR_ROWS("scandir"),
    DIR_ROWS("scandir64"),
    DIR_ROWS("scandirat"),
    DIR_ROWS("scandirat64"),
    OPEN2_ROWS("open_by_handle_at"),
    TEMP_ROWS("mkstemp"),
    TEMP_ROWS("mkstemp64"),
    TEMP_ROWS("mkostemp"),
    TEMP_ROWS("mkostemp64"),
    TEMPS_ROWS("mkstemps"),
    TEMPS_ROWS("mkstemps64"),
    TEMPS_ROWS("mkostemps"),
    TEMPS_ROWS("mkostemps64"),
    TEMP_ROWS("mkdtemp"),
    /* P_tmpdir is fixed: these rows refuse /tmp instead (see run_row). */
    {"tmpfile", NULL, NULL, "create", E_RC, "/tmp", NULL},
    {"tmpfile64", NULL, NULL, "create", E_RC, "/tmp", NULL},
    OPEN_ROWS("posix_spawn_file_actions_addopen"),

    /* fsmod */
    R("truncate", "P/file", NULL, "write", E_EMPTY),
    R("truncate64", "P/file", NULL, "write", E_EMPTY),
    R("ftruncate", "#P/file", NULL, "write", E_EMPTY),
    R("ftruncate64", "#P/file", NULL, "write", E_EMPTY),
    R("unlink", "P/file", NULL, "delete", E_GONE),
    R("unlinkat", "P/file", NULL, "delete", E_GONE),
    R("unlinkat", "P/d", "dir", "delete", E_GONE),
    R("rmdir", "P/d", NULL, "delete", E_GONE),
    R("remove", "P/file", NULL, "delete", E_GONE),
    R("remove", "P/d", NULL, "delete", E_GONE),
    RENAME_ROWS("rename"),
    RENAME_ROWS("renameat"),
    RENAME_ROWS("renameat2"),
    LINK_ROWS("link"),
    LINK_ROWS("linkat"),
    R("symlink", "P/sym", NULL, "create", E_EXISTS),
    R("symlinkat", "P/sym", NULL, "create", E_EXISTS),
    R("mkdir", "P/newdir", NULL, "create", E_EXISTS),
    R("mkdirat", "P/newdir", NULL, "create", E_EXISTS),
    MKNOD_ROWS("mknod"),
    MKNOD_ROWS("mknodat"),
    MKNOD_ROWS("__xmknod"),
    MKNOD_ROWS("__xmknodat"),
    MKNOD_ROWS("mkfifo"),
    MKNOD_ROWS("mkfifoat"),

    /* meta */
    R("chmod", "P/file", NULL, "chmod", E_MODE),
    R("lchmod", "P/file", NULL, "chmod", E_MODE),
    R("fchmod", "#P/file", NULL, "chmod", E_MODE),
    R("fchmodat", "P/file", NULL, "chmod", E_MODE),
    R("chown", "P/file", NULL, "chmod", E_OWNER),
    R("lchown", "P/file", NULL, "chmod", E_OWNER),
    R("fchown", "#P/file", NULL, "chmod", E_OWNER),
    R("fchownat", "P/file", NULL, "chmod", E_OWNER),
    R("utime", "P/file", NULL, "chmod", E_TIME),
    R("utimes", "P/file", NULL, "chmod", E_TIME),
    R("lutimes", "P/file", NULL, "chmod", E_TIME),
    R("futimes", "#P/file", NULL, "chmod", E_TIME),
    R("futimesat", "P/file", NULL, "chmod", E_TIME),
    R("utimensat", "P/file", NULL, "chmod", E_TIME),
    R("futimens", "#P/file", NULL, "chmod", E_TIME),
    R("setxattr", "P/file", NULL, "chmod", E_XSET),
    R("lsetxattr", "P/file", NULL, "chmod", E_XSET),
    R("fsetxattr", "#P/file", NULL, "chmod", E_XSET),
    R("removexattr", "P/file", NULL, "chmod", E_XGONE),
    R("lremovexattr", "P/file", NULL, "chmod", E_XGONE),
    R("fremovexattr", "#P/file", NULL, "chmod", E_XGONE),
    R("ioctl", "#P/file", NULL, "chmod", E_IFLAG),

    /* exec: ARG1 is a copy of echo(1) */
    R("execve", "P/prog", NULL, "exec", E_RC),
    R("execv", "P/prog", NULL, "exec", E_RC),
    R("execvp", "P/prog", NULL, "exec", E_RC),
    R("execvpe", "P/prog", NULL, "exec", E_RC),
    R("execl", "P/prog", NULL, "exec", E_RC),
    R("execlp", "P/prog", NULL, "exec", E_RC),
    R("execle", "P/prog", NULL, "exec", E_RC),
    R("fexecve", "P/prog", NULL, "exec", E_RC),
    R("execveat", "P/prog", NULL, "exec", E_RC),
    R("posix_spawn", "P/prog", NULL, "exec", E_RC),
    R("posix_spawnp", "P/prog", NULL, "exec", E_RC),
    /* Through /bin/sh, which the guard follows: the shell is refused the
     * program and says so its own way (126), and wordexp gets no word. */
    {"system", "P/prog", NULL, "exec", E_ZERO, NULL, "rc=126 errno=0"},
    {"popen", "P/prog", NULL, "exec", E_ZERO, NULL, "rc=126 errno=0"},
    {"wordexp", "P/prog", NULL, "exec", E_ONE, NULL, "rc=0 errno=0"},
    /* fork refuses nothing; its child's execv is judged, and reported
     * as its exit status (126: refused) */
    {"fork", "P/prog", NULL, "exec", E_ZERO, NULL, "rc=126 errno=0"},
    {"_Fork", "P/prog", NULL, "exec", E_ZERO, NULL, "rc=126 errno=0"},

    /* net: unix sockets are judged by path; a name looked up is judged by
     * the rule's "hosts" when its address is connected to */
    R("connect", "P/sock", NULL, "connect", E_STREAM),
    R("__connect", "P/sock", NULL, "connect", E_STREAM),
    R("sendto", "P/dgram", NULL, "connect", E_DGRAM),
    R("sendmsg", "P/dgram", NULL, "connect", E_DGRAM),
    R("sendmmsg", "P/dgram", NULL, "connect", E_DGRAM),
    R("getaddrinfo", "localhost", "PORT", "connect", E_LOOKUP),
    R("gethostbyname", "localhost", "PORT", "connect", E_LOOKUP),
    R("gethostbyname2", "localhost", "PORT", "connect", E_LOOKUP),
    R("gethostbyname_r", "localhost", "PORT", "connect", E_LOOKUP),
    R("gethostbyname2_r", "localhost", "PORT", "connect", E_LOOKUP),

    /* fd: a directory descriptor closed (or replaced) by the symbol, its
     * number reused for P: unlinkat(number, "file") is judged in P */
    R("close", "P/file", "=F/x", "delete", E_GONE),
    R("__close", "P/file", "=F/x", "delete", E_GONE),
    R("close_range", "P/file", "=F/x", "delete", E_GONE),
    R("closefrom", "P/file", "=F/x", "delete", E_GONE),
    R("dup2", "P/file", "=F/x", "delete", E_GONE),
    R("__dup2", "P/file", "=F/x", "delete", E_GONE),
    R("dup3", "P/file", "=F/x", "delete", E_GONE),
    R("closedir", "P/file", "=F/x", "delete", E_GONE),
    R("fclose", "P/file", "=F/x", "delete", E_GONE),
    R("_IO_fclose", "P/file", "=F/x", "delete", E_GONE),
    R("syscall:close", "P/file", "=F/x", "delete", E_GONE),
    R("syscall:dup2", "P/file", "=F/x", "delete", E_GONE),

    /* sys */
    R("syscall:unlinkat", "P/file", NULL, "delete", E_GONE),
    R("syscall:openat", "P/file", NULL, "write", E_EMPTY),
    R("syscall:renameat2", "P/file", "F/moved", "rename", E_MOVED),
    R("syscall:fchmodat", "P/file", NULL, "chmod", E_MODE),
    R("syscall:linkat", "P/file", "F/hard", "link", E_LINKED),
    R("syscall:connect", "P/sock", NULL, "connect", E_STREAM),
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- the tree ------------------------------------------------------------ */

struct tree {
	struct agt t;
	char prot[PATH_MAX], unprot[PATH_MAX], other[PATH_MAX];
	bool xattrs; /* the filesystem keeps user attributes */
	bool iflags; /* and inode flags (FS_IOC_SETFLAGS) */
};

static void join(char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	cr_assert(n > 0 && n < PATH_MAX, "path too long: %s/%s", dir, name);
}

static void copy_program(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);

	cr_assert(in >= 0 && out >= 0, "copy %s to %s: %s", from, to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	cr_assert_eq(n, 0);
	close(in);
	cr_assert_eq(close(out), 0);
}

static void populate(struct tree *tr, const char *dir)
{
	char p[PATH_MAX];

	agt_mkdirs(dir);
	join(p, dir, "file");
	agt_write(p, CONTENT);
	cr_assert_eq(chmod(p, 0644), 0);
	/* Owned by nobody, so chown to the caller is a change to see. */
	if (geteuid() == 0)
		cr_assert_eq(chown(p, NOBODY, NOBODY), 0, "chown %s: %s", p, strerror(errno));
	if (setxattr(p, XATTR, "old", 3, 0) != 0) {
		cr_assert(errno == ENOTSUP, "setxattr %s: %s", p, strerror(errno));
		tr->xattrs = false;
	}
	int fl = 0, fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &fl) != 0)
		tr->iflags = false; /* a filesystem without inode flags */
	if (fd >= 0)
		close(fd);
	join(p, dir, "d");
	agt_mkdirs(p);
	join(p, dir, "prog");
	copy_program("/bin/echo", p);
}

/* The caller program itself may always start: with /tmp protected too, a
 * clone under /tmp would otherwise refuse it. */
static const char policy_fmt[] =
    "{\"version\": 1, \"default\": \"allow\", \"rules\": ["
    "{\"id\": \"the-caller\", \"ops\": [\"exec\"], \"paths\": [\"%s\"], \"action\": \"allow\"},"
    "{\"id\": \"protected\","
    " \"ops\": [\"read\", \"write\", \"create\", \"delete\", \"rename\", \"link\", \"chmod\","
    " \"exec\", \"connect\"],"
    " \"paths\": [\"%s/**\"%s], \"hosts\": [\"localhost\"], \"action\": \"deny\"}]}";

static void set_policy(struct tree *tr, bool tmp_too)
{
	char json[3 * PATH_MAX], caller[PATH_MAX];
	const char *c = getenv("AGT_CALLERS");
	cr_assert(c && realpath(c, caller), "AGT_CALLERS is not set or missing");
	snprintf(json, sizeof(json), policy_fmt, caller, tr->prot, tmp_too ? ", \"/tmp/**\"" : "");
	agt_policy(&tr->t, json);
}

static void setup_tree(struct tree *tr, const char *name)
{
	agt_setup(&tr->t, name);
	tr->xattrs = true;
	tr->iflags = true;
	join(tr->prot, tr->t.out, "protected");
	join(tr->unprot, tr->t.out, "free");
	join(tr->other, tr->t.out, "free2");
	populate(tr, tr->prot);
	populate(tr, tr->unprot);
	populate(tr, tr->other);
}

/* "P/x" and "F/x" become paths; "#P/x" stays a path here (see run_call). */
static const char *expand(const char *spec, const char *p, const char *f, char buf[PATH_MAX])
{
	if (!spec)
		return NULL;
	const char *s = spec[0] == '#' || spec[0] == '=' ? spec + 1 : spec;
	if (strncmp(s, "P/", 2) == 0)
		join(buf, p, s + 2);
	else if (strncmp(s, "F/", 2) == 0)
		join(buf, f, s + 2);
	else
		return spec;
	return buf;
}

static bool is_path_spec(const char *spec)
{
	return spec && (strncmp(spec, "P/", 2) == 0 || strncmp(spec, "F/", 2) == 0 ||
			strncmp(spec, "#P/", 3) == 0);
}

/* ---- a picture of the outside tree -------------------------------------
 * Everything a refused call could have changed: names, types, modes,
 * owners, sizes, mtimes (a directory's too, so a name created and removed
 * again shows), inodes, link counts, the attribute and the content. */
static void picture(FILE *o, const char *dir, const char *rel)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	cr_assert_geq(n, 0, "scandir %s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		char p[PATH_MAX], r[PATH_MAX], val[64] = "-", buf[256] = "";
		struct stat st;

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			goto next;
		join(p, dir, nm);
		join(r, rel, nm);
		cr_assert_eq(lstat(p, &st), 0, "lstat %s", p);
		ssize_t v = lgetxattr(p, XATTR, val, sizeof(val) - 1);
		if (v >= 0)
			val[v] = '\0';
		if (S_ISLNK(st.st_mode)) {
			ssize_t l = readlink(p, buf, sizeof(buf) - 1);
			buf[l > 0 ? l : 0] = '\0';
		} else if (S_ISREG(st.st_mode)) {
			int fd = open(p, O_RDONLY | O_CLOEXEC);
			ssize_t l = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
			buf[l > 0 ? l : 0] = '\0';
			if (fd >= 0)
				close(fd);
		}
		fprintf(o,
			"%s mode=%o uid=%d gid=%d size=%lld mtime=%lld.%09ld ino=%llu nlink=%llu "
			"xattr=%s data=%s\n",
			r, st.st_mode, (int)st.st_uid, (int)st.st_gid, (long long)st.st_size,
			(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			(unsigned long long)st.st_ino, (unsigned long long)st.st_nlink, val, buf);
		if (S_ISDIR(st.st_mode))
			picture(o, p, r);
	next:
		free(names[i]);
	}
	free(names);
}

static char *snapshot(const char *dir)
{
	char *s = NULL;
	size_t n = 0;
	FILE *o = open_memstream(&s, &n);

	cr_assert_not_null(o);
	picture(o, dir, "");
	fclose(o);
	return s;
}

/* ---- the log ----------------------------------------------------------- */

static int log_lines(struct agt *t, json_t **first)
{
	json_t *lines = agt_log_load(t->log);

	cr_assert_not_null(lines, "a log line is not JSON:\n%s", agt_dump(t->log));
	int n = (int)json_array_size(lines);
	*first = n ? json_incref(json_array_get(lines, 0)) : NULL;
	json_decref(lines);
	return n;
}

static void expect_field(const char *sym, json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);

	if (!want) {
		cr_expect(json_is_null(v), "%s: log %s should be null", sym, key);
		return;
	}
	cr_expect(json_is_string(v) && strcmp(json_string_value(v), want) == 0,
		  "%s: log %s is %s, expected %s", sym, key,
		  json_is_string(v) ? json_string_value(v) : "(not a string)", want);
}

/* ---- one run ----------------------------------------------------------- */

struct outcome {
	struct agt_result r;
	long rc;
	char err[32];
	bool skip;
};

/* The line that starts with head: a program the caller started may print
 * lines of its own. */
static const char *find_line(const char *out, const char *head)
{
	size_t n = strlen(head);
	for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, head, n) == 0)
			return p;
	return NULL;
}

static void run_call(struct tree *tr, const struct row *row, const char *a1, const char *a2,
		     struct outcome *oc)
{
	char fdarg[16], head[128];
	const char *args[5] = {getenv("AGT_CALLERS"), row->sym, a1, a2, NULL};
	int fd = -1;

	cr_assert_not_null(args[0], "AGT_CALLERS is not set");
	if (row->a1 && row->a1[0] == '#') {
		fd = open(a1, O_RDWR); /* no O_CLOEXEC: the caller inherits it */
		cr_assert_geq(fd, 0, "open %s: %s", a1, strerror(errno));
		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		args[2] = fdarg;
	}
	if (!a1)
		args[2] = NULL;
	agt_run(&tr->t, &oc->r, args, NULL);
	if (fd >= 0)
		close(fd);
	cr_assert_eq(oc->r.status, 0, "%s: ag_callers exited %d\nstdout: %s\nstderr: %s", row->sym,
		     oc->r.status, oc->r.out, oc->r.err);
	snprintf(head, sizeof(head), "%s SKIP ", row->sym);
	oc->skip = find_line(oc->r.out, head) != NULL;
	if (oc->skip)
		return;
	snprintf(head, sizeof(head), "%s rc=", row->sym);
	const char *l = find_line(oc->r.out, head);
	cr_assert(l && sscanf(l + strlen(head), "%ld errno=%31s", &oc->rc, oc->err) == 2,
		  "%s: unexpected output: %s", row->sym, oc->r.out);
}

/* What a net row connects to, held by the driver (unguarded) for the run:
 * a unix stream or datagram socket at ARG1, or a TCP server on 127.0.0.1
 * whose port replaces "PORT". */
struct server {
	int fd;
	char port[16];
};

static void serve(const struct row *row, const char *a1, struct server *sv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(in);

	sv->fd = -1;
	sv->port[0] = '\0';
	if (row->effect == E_STREAM || row->effect == E_DGRAM) {
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a1);
		unlink(a1);
		sv->fd = socket(AF_UNIX,
				(row->effect == E_STREAM ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0);
		cr_assert(sv->fd >= 0 && bind(sv->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
			  "bind %s: %s", a1, strerror(errno));
		if (row->effect == E_STREAM)
			cr_assert_eq(listen(sv->fd, 8), 0);
	} else if (row->effect == E_LOOKUP) {
		sv->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		cr_assert(sv->fd >= 0 && bind(sv->fd, (struct sockaddr *)&in, sizeof(in)) == 0 &&
			  listen(sv->fd, 8) == 0 &&
			  getsockname(sv->fd, (struct sockaddr *)&in, &len) == 0);
		snprintf(sv->port, sizeof(sv->port), "%d", ntohs(in.sin_port));
	}
}

/* Did the call reach the server? (A refusal must not.) */
static bool reached(const struct row *row, struct server *sv)
{
	char b[8];
	if (sv->fd < 0)
		return false;
	if (row->effect == E_DGRAM)
		return recv(sv->fd, b, sizeof(b), MSG_DONTWAIT) > 0;
	int c = accept4(sv->fd, NULL, NULL, SOCK_NONBLOCK);
	if (c >= 0)
		close(c);
	return c >= 0;
}

static void refused_run(struct tree *tr, const struct row *row)
{
	char b1[PATH_MAX], b2[PATH_MAX], want[2 * PATH_MAX];
	const char *a1 = expand(row->a1, tr->prot, tr->other, b1);
	const char *a2 = expand(row->a2, tr->prot, tr->other, b2);
	const char *path = row->effect == E_LOOKUP ? NULL : row->path ? row->path : a1;
	const char *path2 = is_path_spec(row->a2) ? a2 : NULL;
	struct outcome oc;
	struct server sv;
	json_t *line;

	set_policy(tr, row->path != NULL);
	serve(row, a1, &sv);
	if (sv.port[0])
		a2 = sv.port;
	char *before = snapshot(tr->t.out);
	run_call(tr, row, a1, a2, &oc);
	cr_expect_not(reached(row, &sv), "%s: the refused call reached the server", row->sym);
	if (sv.fd >= 0)
		close(sv.fd);
	if (oc.skip)
		cr_skip_test("%s", oc.r.out);
	char *after = snapshot(tr->t.out);

	char got[64];
	const char *expected = row->refused ? row->refused : "rc=-1 errno=EACCES";
	snprintf(got, sizeof(got), "rc=%ld errno=%s", oc.rc, oc.err);
	cr_expect(strcmp(got, expected) == 0, "%s %s %s: expected %s, got %s\nstderr: %s", row->sym,
		  a1 ? a1 : "", a2 ? a2 : "", expected, got, oc.r.err);
	cr_expect_str_eq(after, before, "%s: the outside tree changed", row->sym);
	free(before);
	free(after);

	int n = log_lines(&tr->t, &line);
	cr_assert_eq(n, 1, "%s: expected one log line, found %d", row->sym, n);
	expect_field(row->sym, line, "op", row->op);
	expect_field(row->sym, line, "path", path);
	expect_field(row->sym, line, "path2", path2);
	expect_field(row->sym, line, "rule", "protected");
	expect_field(row->sym, line, "action", "deny");
	expect_field(row->sym, line, "errno", "EACCES");
	if (row->effect == E_LOOKUP)
		expect_field(row->sym, line, "host", "localhost");
	json_decref(line);

	snprintf(want, sizeof(want), "agentguard: denied %s %s", row->op,
		 path ? path : "");
	cr_expect(strstr(oc.r.err, want) != NULL, "%s: stderr lacks \"%s\": %s", row->sym, want,
		  oc.r.err);
}

static bool has_tmp_entry(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		found |= strncmp(e->d_name, "tmp", 3) == 0;
	closedir(d);
	return found;
}

static void expect_effect(struct tree *tr, const struct row *row, const char *a1, const char *a2,
			  long oc_rc)
{
	struct stat st = {0}, st2;
	char val[16] = "";
	const char *s = row->sym;
	bool there = a1 && lstat(a1, &st) == 0;
	ssize_t v = a1 ? getxattr(a1, XATTR, val, sizeof(val) - 1) : -1;
	int xerr = errno;

	if (v >= 0)
		val[v] = '\0';
	switch (row->effect) {
	case E_RC: break;
	case E_ZERO: cr_expect_eq(oc_rc, 0, "%s: the shell did not run the program", s); break;
	case E_ONE: cr_expect_eq(oc_rc, 1, "%s: the program's output is missing", s); break;
	case E_EMPTY: cr_expect(there && st.st_size == 0, "%s: %s not truncated", s, a1); break;
	case E_GONE: cr_expect(!there, "%s: %s still there", s, a1); break;
	case E_MOVED:
		cr_expect(!there && lstat(a2, &st2) == 0, "%s: %s not moved to %s", s, a1, a2);
		break;
	case E_LINKED:
		cr_expect(lstat(a2, &st2) == 0 && st.st_nlink == 2 && st.st_ino == st2.st_ino,
			  "%s: %s not linked to %s", s, a1, a2);
		break;
	case E_EXISTS: cr_expect(there, "%s: %s not created", s, a1); break;
	case E_TEMP: cr_expect(has_tmp_entry(tr->unprot), "%s: no temp file made", s); break;
	case E_MODE: cr_expect_eq(st.st_mode & 07777, NEW_MODE, "%s: mode not changed", s); break;
	case E_OWNER:
		cr_expect(st.st_uid == getuid() && st.st_gid == getgid(), "%s: owner not changed",
			  s);
		break;
	case E_TIME: cr_expect_eq(st.st_mtim.tv_sec, STAMP, "%s: mtime not set", s); break;
	case E_XSET:
		cr_expect(!tr->xattrs || strcmp(val, "set") == 0, "%s: attribute not set", s);
		break;
	case E_IFLAG: {
		int fl = 0, fd = open(a1, O_RDONLY | O_CLOEXEC);
		cr_expect(!tr->iflags || (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0 &&
					  (fl & FS_NOATIME_FL)),
			  "%s: no-atime not set on %s", s, a1);
		if (fd >= 0)
			close(fd);
		break;
	}
	case E_XGONE:
		cr_expect(!tr->xattrs || (v < 0 && xerr == ENODATA), "%s: attribute not removed",
			  s);
		break;
	case E_STREAM:
	case E_DGRAM:
	case E_LOOKUP: break; /* the control run checks the server */
	}
}

static void control_run(struct tree *tr, const struct row *row)
{
	char b1[PATH_MAX], b2[PATH_MAX];
	const char *a1 = expand(row->a1, tr->unprot, tr->other, b1);
	const char *a2 = expand(row->a2, tr->unprot, tr->other, b2);
	bool xattr_call = row->effect == E_XSET || row->effect == E_XGONE;
	struct outcome oc;
	json_t *line;

	struct server sv;
	set_policy(tr, false);
	/* By number, no name: the host rule does not apply. */
	if (row->effect == E_LOOKUP)
		a1 = "127.0.0.1";
	serve(row, a1, &sv);
	if (sv.port[0])
		a2 = sv.port;
	run_call(tr, row, a1, a2, &oc);
	if (sv.fd >= 0) {
		cr_expect(reached(row, &sv), "%s: the control call did not reach the server",
			  row->sym);
		close(sv.fd);
	}
	cr_assert_not(oc.skip, "%s: skipped only in the control run: %s", row->sym, oc.r.out);
	if (xattr_call && !tr->xattrs)
		cr_expect(oc.rc == 0 || strcmp(oc.err, "ENOTSUP") == 0, "%s: %s", row->sym,
			  oc.r.out);
	else
		cr_expect_geq(oc.rc, 0, "control %s %s %s: expected success, got: %s\nstderr: %s",
			      row->sym, a1 ? a1 : "", a2 ? a2 : "", oc.r.out, oc.r.err);
	expect_effect(tr, row, a1, a2, oc.rc);
	int n = log_lines(&tr->t, &line);
	json_decref(line);
	cr_expect_eq(n, 1, "%s: the control run was logged (%d lines)", row->sym, n);
}

/* Criterion hands a parameter to a worker that may not share our address
 * space: pass the row's index, not pointers to its strings. */
ParameterizedTestParameters(callers, symbol)
{
	static int index[NROWS];
	for (size_t i = 0; i < NROWS; i++)
		index[i] = (int)i;
	return cr_make_param_array(int, index, NROWS);
}

/* Each test runs in a process of its own: one tree per process, removed
 * even when an assertion ends the test early (AGT_KEEP keeps it). */
static struct tree tree;

static void remove_tree(void)
{
	agt_teardown(&tree.t);
}

ParameterizedTest(int *i, callers, symbol, .timeout = 30, .fini = remove_tree)
{
	const struct row *row = &rows[*i];
	char name[64];

	snprintf(name, sizeof(name), "callers-%d", *i);
	setup_tree(&tree, name);
	refused_run(&tree, row);
	control_run(&tree, row);
}

/* ---- coverage ------------------------------------------------------------ */

static bool has_row(const char *sym)
{
	size_t n = strlen(sym);
	for (size_t i = 0; i < NROWS; i++)
		if (strncmp(rows[i].sym, sym, n) == 0 &&
		    (rows[i].sym[n] == '\0' || rows[i].sym[n] == ':'))
			return true;
	return false;
}

static char *read_all(FILE *f)
{
	char *s = NULL;
	size_t cap = 0;
	if (getdelim(&s, &cap, '\0', f) < 0) {
		free(s);
		return strdup("");
	}
	return s;
}

/* nm lines read "U name@VERSION", or "U name" when a sanitizer runtime
 * linked ahead of libc defines it. */
static bool names_undefined(const char *nm, const char *sym)
{
	size_t n = strlen(sym);
	for (const char *p = strstr(nm, sym); p; p = strstr(p + 1, sym))
		if (p > nm && p[-1] == ' ' && (p[n] == '@' || p[n] == '\n'))
			return true;
	return false;
}

/* Every row of lib/hooks.def has a case here, and ag_callers names it as
 * a dynamic symbol of its own (not folded into another call). */
Test(callers, every_hooked_symbol_has_a_case)
{
	const char *exports = getenv("AGT_EXPORTS"), *callers = getenv("AGT_CALLERS");
	char cmd[PATH_MAX + 64], sym[256];
	int n = 0;

	cr_assert_not_null(exports, "AGT_EXPORTS is not set");
	cr_assert_not_null(callers, "AGT_CALLERS is not set");
	snprintf(cmd, sizeof(cmd), "nm -D --undefined-only '%s'", callers);
	FILE *nm = popen(cmd, "r");
	cr_assert_not_null(nm);
	char *undef = read_all(nm);
	cr_assert_eq(pclose(nm), 0, "nm failed on %s", callers);

	FILE *f = fopen(exports, "r");
	cr_assert_not_null(f, "%s: %s", exports, strerror(errno));
	while (fscanf(f, "%255s", sym) == 1) {
		n++;
		cr_expect(has_row(sym), "%s is hooked but has no row in test_callers.c", sym);
		cr_expect(names_undefined(undef, sym), "ag_callers does not call %s by name", sym);
	}
	fclose(f);
	free(undef);
	cr_expect_gt(n, 50, "only %d symbols in %s", n, exports);
}
