/* ag_callers SYMBOL [ARG1 [ARG2]]: calls exactly one hooked libc symbol,
 * once, and prints "SYMBOL rc=<n> errno=<NAME>" (or "SYMBOL SKIP <why>"
 * when the system cannot make the call at all). It exits 0 whatever the
 * call did, so the driver reads the line; the verdict is the driver's.
 *
 * ARG1 is the path the guard must judge: a template for mkstemp and
 * friends, a descriptor number for the f* calls (the driver opens the file
 * itself, unguarded, and the descriptor survives exec). ARG2 is the second
 * path of rename and link, the target text of symlink, the fopen mode
 * (default "w"), "dir" for unlinkat's AT_REMOVEDIR, or the open flags:
 * "trunc" (O_WRONLY|O_TRUNC, the default), "read", "write", "creat"
 * (O_WRONLY|O_CREAT|O_EXCL). The *at calls get an O_PATH descriptor on the
 * path's directory and its last component. "syscall:NAME" calls syscall()
 * with SYS_NAME.
 *
 * The exec family runs ARG1, a copy of echo(1) made by the driver; the p
 * forms find it through PATH. A successful exec prints the caller's line
 * itself ("execve rc=0 errno=0"). system, popen and wordexp run it through
 * the (guarded) shell and report its exit status, or for wordexp the number
 * of words its output gave.
 *
 * Every symbol is called by name through a volatile pointer: the compiler
 * can neither turn the call into another one nor drop it, and the binary
 * lists each symbol as an undefined dynamic symbol of its own. */
#undef _FORTIFY_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <utime.h>
#include <wordexp.h>

/* Declared only under _FORTIFY_SOURCE, or no longer declared at all. */
extern int __open(const char *path, int flags, ...);
extern int __open64(const char *path, int flags, ...);
extern int __open_2(const char *path, int flags);
extern int __open64_2(const char *path, int flags);
extern int __openat_2(int dirfd, const char *path, int flags);
extern int __openat64_2(int dirfd, const char *path, int flags);
extern int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);
extern int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev);

#define XMKNOD_VER 0 /* _MKNOD_VER on x86_64 */
#define XATTR	   "user.agentguard"
#define NEW_MODE   0600
#define STAMP	   1000000000 /* the time the utime family sets */
#define FIFO	   (S_IFIFO | 0644)

#define V(fn)                                                                                      \
	({                                                                                         \
		__typeof__(&fn) volatile p_ = fn;                                                  \
		p_;                                                                                \
	})

struct call {
	const char *a1, *a2;
	int d1, d2;	     /* O_PATH descriptors on a1's and a2's directories */
	const char *b1, *b2; /* their last components */
	int fd;		     /* a1 as a descriptor number */
	int oflags;	     /* a2 as open flags */
	const char *fmode;   /* a2 as an fopen mode */
	int suffix;	     /* a1 as a template: its suffix length */
	const char *skip;    /* set when the system cannot make the call */
};

static const struct timeval tv[2] = {{STAMP, 0}, {STAMP, 0}};
static const struct timespec ts[2] = {{STAMP, 0}, {STAMP, 0}};
static const struct utimbuf ub = {STAMP, STAMP};

static long file_rc(FILE *f)
{
	return f ? 0 : -1;
}

/* freopen needs a stream to reopen; /dev/null is readable under any policy. */
static FILE *null_stream(void)
{
	FILE *f = fopen("/dev/null", "r");
	if (!f) {
		perror("ag_callers: /dev/null");
		exit(1);
	}
	errno = 0;
	return f;
}

/* The handle comes from name_to_handle_at, which the guard does not judge.
 * Opening it needs CAP_DAC_READ_SEARCH, and the guard judges only what was
 * opened, so without the capability there is nothing to test. */
static long by_handle(struct call *c)
{
	static char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	struct file_handle *h = (struct file_handle *)buf;
	int mount_id;

	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, c->a1, h, &mount_id, 0) != 0) {
		c->skip = "name_to_handle_at failed";
		return -1;
	}
	errno = 0;
	long rc = V(open_by_handle_at)(AT_FDCWD, h, c->oflags);
	if (rc < 0 && errno == EPERM)
		c->skip = "open_by_handle_at needs CAP_DAC_READ_SEARCH";
	return rc;
}

/* posix_spawn_file_actions_addopen returns an error number. An action the
 * guard lets through is then carried out by spawning true(1), so the
 * control run shows the open really happens. */
static long spawn_open(struct call *c)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {"true", NULL};
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	int rc = V(posix_spawn_file_actions_addopen)(&fa, 3, c->a1, c->oflags, 0644);
	if (rc == 0 && (posix_spawnp(&pid, "true", &fa, NULL, argv, environ) != 0 ||
			waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
		c->skip = "posix_spawn of true failed";
	posix_spawn_file_actions_destroy(&fa);
	errno = rc;
	return rc == 0 && !c->skip ? 0 : -1;
}

/* What the directory calls hand back is released, so a sanitized build
 * reports no leak of ours. */
static long dir_rc(DIR *d)
{
	return d && closedir(d) == 0 ? 0 : -1;
}

static long list_rc(int n, void *list)
{
	void **l = list;
	for (int i = 0; i < n; i++)
		free(l[i]);
	if (n >= 0)
		free(l);
	return n;
}

static long open_family(const char *s, struct call *c)
{
	struct dirent **l = NULL;
	int n;
	struct dirent64 **l64 = NULL;
	const char *a1 = c->a1, *b1 = c->b1;
	int d1 = c->d1, fl = c->oflags;
#define IS(name) (strcmp(s, name) == 0)
	if (IS("open"))
		return V(open)(a1, fl, 0644);
	if (IS("open64"))
		return V(open64)(a1, fl, 0644);
	if (IS("__open"))
		return V(__open)(a1, fl, 0644);
	if (IS("__open64"))
		return V(__open64)(a1, fl, 0644);
	if (IS("__open_2"))
		return V(__open_2)(a1, fl);
	if (IS("__open64_2"))
		return V(__open64_2)(a1, fl);
	if (IS("openat"))
		return V(openat)(d1, b1, fl, 0644);
	if (IS("openat64"))
		return V(openat64)(d1, b1, fl, 0644);
	if (IS("__openat_2"))
		return V(__openat_2)(d1, b1, fl);
	if (IS("__openat64_2"))
		return V(__openat64_2)(d1, b1, fl);
	if (IS("creat"))
		return V(creat)(a1, 0644);
	if (IS("creat64"))
		return V(creat64)(a1, 0644);
	if (IS("fopen"))
		return file_rc(V(fopen)(a1, c->fmode));
	if (IS("fopen64"))
		return file_rc(V(fopen64)(a1, c->fmode));
	if (IS("freopen"))
		return file_rc(V(freopen)(a1, c->fmode, null_stream()));
	if (IS("freopen64"))
		return file_rc(V(freopen64)(a1, c->fmode, null_stream()));
	if (IS("opendir"))
		return dir_rc(V(opendir)(a1));
	if (IS("scandir")) {
		n = V(scandir)(a1, &l, NULL, alphasort);
		return list_rc(n, l);
	}
	if (IS("scandir64")) {
		n = V(scandir64)(a1, &l64, NULL, alphasort64);
		return list_rc(n, l64);
	}
	if (IS("scandirat")) {
		n = V(scandirat)(d1, b1, &l, NULL, alphasort);
		return list_rc(n, l);
	}
	if (IS("scandirat64")) {
		n = V(scandirat64)(d1, b1, &l64, NULL, alphasort64);
		return list_rc(n, l64);
	}
	if (IS("open_by_handle_at"))
		return by_handle(c);
	if (IS("posix_spawn_file_actions_addopen"))
		return spawn_open(c);
	return -2;
}

/* Templates are rewritten in place: a1 points at a private copy. */
static long temp_family(const char *s, struct call *c)
{
	char *t = (char *)c->a1;
	int sfx = c->suffix;

	if (IS("mkstemp"))
		return V(mkstemp)(t);
	if (IS("mkstemp64"))
		return V(mkstemp64)(t);
	if (IS("mkostemp"))
		return V(mkostemp)(t, O_CLOEXEC);
	if (IS("mkostemp64"))
		return V(mkostemp64)(t, O_CLOEXEC);
	if (IS("mkstemps"))
		return V(mkstemps)(t, sfx);
	if (IS("mkstemps64"))
		return V(mkstemps64)(t, sfx);
	if (IS("mkostemps"))
		return V(mkostemps)(t, sfx, O_CLOEXEC);
	if (IS("mkostemps64"))
		return V(mkostemps64)(t, sfx, O_CLOEXEC);
	if (IS("mkdtemp"))
		return V(mkdtemp)(t) ? 0 : -1;
	if (IS("tmpfile"))
		return file_rc(V(tmpfile)());
	if (IS("tmpfile64"))
		return file_rc(V(tmpfile64)());
	return -2;
}

static long fsmod_family(const char *s, struct call *c)
{
	const char *a1 = c->a1, *a2 = c->a2, *b1 = c->b1, *b2 = c->b2;
	const char *target = a2 ? a2 : "agentguard-target";
	int d1 = c->d1, d2 = c->d2;
	dev_t dev = 0;

	if (IS("truncate"))
		return V(truncate)(a1, 0);
	if (IS("truncate64"))
		return V(truncate64)(a1, 0);
	if (IS("ftruncate"))
		return V(ftruncate)(c->fd, 0);
	if (IS("ftruncate64"))
		return V(ftruncate64)(c->fd, 0);
	if (IS("unlink"))
		return V(unlink)(a1);
	if (IS("unlinkat"))
		return V(unlinkat)(d1, b1, a2 && strcmp(a2, "dir") == 0 ? AT_REMOVEDIR : 0);
	if (IS("rmdir"))
		return V(rmdir)(a1);
	if (IS("remove"))
		return V(remove)(a1);
	if (IS("rename"))
		return V(rename)(a1, a2);
	if (IS("renameat"))
		return V(renameat)(d1, b1, d2, b2);
	if (IS("renameat2"))
		return V(renameat2)(d1, b1, d2, b2, 0);
	if (IS("link"))
		return V(link)(a1, a2);
	if (IS("linkat"))
		return V(linkat)(d1, b1, d2, b2, 0);
	if (IS("symlink"))
		return V(symlink)(target, a1);
	if (IS("symlinkat"))
		return V(symlinkat)(target, d1, b1);
	if (IS("mkdir"))
		return V(mkdir)(a1, 0755);
	if (IS("mkdirat"))
		return V(mkdirat)(d1, b1, 0755);
	if (IS("mknod"))
		return V(mknod)(a1, FIFO, 0);
	if (IS("mknodat"))
		return V(mknodat)(d1, b1, FIFO, 0);
	if (IS("__xmknod"))
		return V(__xmknod)(XMKNOD_VER, a1, FIFO, &dev);
	if (IS("__xmknodat"))
		return V(__xmknodat)(XMKNOD_VER, d1, b1, FIFO, &dev);
	if (IS("mkfifo"))
		return V(mkfifo)(a1, 0644);
	if (IS("mkfifoat"))
		return V(mkfifoat)(d1, b1, 0644);
	return -2;
}

static long meta_family(const char *s, struct call *c)
{
	const char *a1 = c->a1, *b1 = c->b1;
	int d1 = c->d1, fd = c->fd;
	uid_t u = getuid();
	gid_t g = getgid();

	if (IS("chmod"))
		return V(chmod)(a1, NEW_MODE);
	if (IS("lchmod"))
		return V(lchmod)(a1, NEW_MODE);
	if (IS("fchmod"))
		return V(fchmod)(fd, NEW_MODE);
	if (IS("fchmodat"))
		return V(fchmodat)(d1, b1, NEW_MODE, 0);
	if (IS("chown"))
		return V(chown)(a1, u, g);
	if (IS("lchown"))
		return V(lchown)(a1, u, g);
	if (IS("fchown"))
		return V(fchown)(fd, u, g);
	if (IS("fchownat"))
		return V(fchownat)(d1, b1, u, g, 0);
	if (IS("utime"))
		return V(utime)(a1, &ub);
	if (IS("utimes"))
		return V(utimes)(a1, tv);
	if (IS("lutimes"))
		return V(lutimes)(a1, tv);
	if (IS("futimes"))
		return V(futimes)(fd, tv);
	if (IS("futimesat"))
		return V(futimesat)(d1, b1, tv);
	if (IS("utimensat"))
		return V(utimensat)(d1, b1, ts, 0);
	if (IS("futimens"))
		return V(futimens)(fd, ts);
	if (IS("setxattr"))
		return V(setxattr)(a1, XATTR, "set", 3, 0);
	if (IS("lsetxattr"))
		return V(lsetxattr)(a1, XATTR, "set", 3, 0);
	if (IS("fsetxattr"))
		return V(fsetxattr)(fd, XATTR, "set", 3, 0);
	if (IS("removexattr"))
		return V(removexattr)(a1, XATTR);
	if (IS("lremovexattr"))
		return V(lremovexattr)(a1, XATTR);
	if (IS("fremovexattr"))
		return V(fremovexattr)(fd, XATTR);
	if (IS("ioctl")) { /* chattr +A: the flags read, then set with one more */
		int fl = 0;
		if (ioctl(fd, FS_IOC_GETFLAGS, &fl) != 0)
			return -1;
		fl |= FS_NOATIME_FL;
		return V(ioctl)(fd, FS_IOC_SETFLAGS, &fl);
	}
	return -2;
}

/* syscall() reads six longs whatever the number: pass longs. */
static long sys_family(const char *s, struct call *c)
{
	const long cwd = AT_FDCWD, d1 = c->d1, d2 = c->d2;

	if (IS("syscall:unlinkat"))
		return V(syscall)(SYS_unlinkat, d1, c->b1, 0L);
	if (IS("syscall:openat"))
		return V(syscall)(SYS_openat, cwd, c->a1, (long)(O_WRONLY | O_TRUNC), 0L);
	if (IS("syscall:renameat2"))
		return V(syscall)(SYS_renameat2, d1, c->b1, d2, c->b2, 0L);
	if (IS("syscall:fchmodat"))
		return V(syscall)(SYS_fchmodat, cwd, c->a1, (long)NEW_MODE);
	if (IS("syscall:linkat"))
		return V(syscall)(SYS_linkat, cwd, c->a1, cwd, c->a2, 0L);
	if (IS("syscall:connect")) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->a1);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		long rc = V(syscall)(SYS_connect, (long)fd, &sun, (long)sizeof(sun));
		int e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	return -2;
}

/* The p forms search PATH: put ARG1's directory first. */
static void path_first(const char *prog)
{
	char dir[PATH_MAX], path[2 * PATH_MAX];
	const char *slash = strrchr(prog, '/');
	const char *old = getenv("PATH");

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - prog) : 0, prog);
	snprintf(path, sizeof(path), "%s:%s", dir, old ? old : "/usr/bin:/bin");
	setenv("PATH", path, 1);
}

/* pid is read only after the spawn call has filled it in. */
static long spawned(int rc, const pid_t *pid, struct call *c)
{
	int st;

	if (rc != 0) {
		errno = rc;
		return -1;
	}
	if (waitpid(*pid, &st, 0) != *pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		c->skip = "the spawned program failed";
	errno = 0;
	return 0;
}

/* The exit status of the shell that ran the program. */
static long shell_status(int st)
{
	if (st == -1)
		return -1;
	errno = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long piped(FILE *p)
{
	char buf[256];

	if (!p)
		return -1;
	while (fread(buf, 1, sizeof(buf), p) > 0)
		;
	return shell_status(pclose(p));
}

static long words(const char *prog)
{
	char w[PATH_MAX + 16];
	wordexp_t we;

	snprintf(w, sizeof(w), "$('%s' ran)", prog);
	int rc = V(wordexp)(w, &we, WRDE_SHOWERR);
	if (rc != 0) {
		errno = 0;
		return -1;
	}
	long n = (long)we.we_wordc;
	wordfree(&we);
	errno = 0;
	return n;
}

/* A forked child runs the program; its exit status comes back, 126 when
 * the exec was refused. */
static long forked(const char *prog, pid_t (*forker)(void))
{
	char *argv[] = {"prog", "spawned", NULL};
	int st;
	pid_t pid = forker();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(prog, argv);
		_exit(errno == EACCES ? 126 : 127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return shell_status(st);
}

static long exec_family(const char *s, struct call *c)
{
	char line[128], cmd[PATH_MAX + 16];
	const char *a1 = c->a1, *b1 = c->b1;
	char *argv[] = {"prog", line, NULL}, *spawn_argv[] = {"prog", "spawned", NULL};
	pid_t pid;

	snprintf(line, sizeof(line), "%s rc=0 errno=0", s);
	snprintf(cmd, sizeof(cmd), "'%s' ran", a1 ? a1 : "");
	if (IS("execvp") || IS("execvpe") || IS("execlp") || IS("posix_spawnp"))
		path_first(a1);
	errno = 0;
	if (IS("execve"))
		return V(execve)(a1, argv, environ);
	if (IS("execv"))
		return V(execv)(a1, argv);
	if (IS("execvp"))
		return V(execvp)(b1, argv);
	if (IS("execvpe"))
		return V(execvpe)(b1, argv, environ);
	if (IS("execl"))
		return V(execl)(a1, "prog", line, (char *)NULL);
	if (IS("execlp"))
		return V(execlp)(b1, "prog", line, (char *)NULL);
	if (IS("execle"))
		return V(execle)(a1, "prog", line, (char *)NULL, environ);
	if (IS("fexecve"))
		return V(fexecve)(open(a1, O_PATH | O_CLOEXEC), argv, environ);
	if (IS("execveat"))
		return V(execveat)(c->d1, b1, argv, environ, 0);
	if (IS("posix_spawn"))
		return spawned(V(posix_spawn)(&pid, a1, NULL, NULL, spawn_argv, environ), &pid, c);
	if (IS("posix_spawnp"))
		return spawned(V(posix_spawnp)(&pid, b1, NULL, NULL, spawn_argv, environ), &pid, c);
	if (IS("system"))
		return shell_status(V(system)(cmd));
	if (IS("popen"))
		return piped(V(popen)(cmd, "r"));
	if (IS("wordexp"))
		return words(a1);
	if (IS("fork"))
		return forked(a1, V(fork));
	if (IS("_Fork"))
		return forked(a1, V(_Fork));
	return -2;
#undef IS
}

static const char *errno_name(int e)
{
	static const struct {
		int e;
		const char *name;
	} names[] = {
#define E(x) {x, #x}
	    E(EACCES), E(EPERM),   E(ENOENT), E(EEXIST),    E(ENOTSUP), E(ENODATA), E(EBADF),
	    E(EINVAL), E(ENOTDIR), E(EISDIR), E(ENOTEMPTY), E(EXDEV),	E(EROFS),   E(ENOSYS),
	    E(ELOOP),  E(ESTALE),  E(EFAULT), E(EMLINK),    E(ENOSPC),	E(ETXTBSY), E(ENAMETOOLONG),
#undef E
	};
	static char num[16];

	if (e == 0)
		return "0";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(num, sizeof(num), "%d", e);
	return num;
}

/* An O_PATH descriptor on the directory part (the guard judges nothing
 * for O_PATH) and the last component. */
static int split(const char *path, const char **base)
{
	char dir[PATH_MAX];
	const char *slash = path ? strrchr(path, '/') : NULL;

	*base = path;
	if (!slash)
		return AT_FDCWD;
	*base = slash + 1;
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "ag_callers: %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	return fd;
}

static int open_flags(const char *spec)
{
	if (!spec || strcmp(spec, "trunc") == 0)
		return O_WRONLY | O_TRUNC;
	if (strcmp(spec, "read") == 0)
		return O_RDONLY;
	if (strcmp(spec, "write") == 0)
		return O_WRONLY;
	if (strcmp(spec, "creat") == 0)
		return O_WRONLY | O_CREAT | O_EXCL;
	return -1;
}

/* The suffix is what follows the last X of the first run of six. */
static int suffix_len(const char *tmpl)
{
	const char *x = tmpl ? strstr(tmpl, "XXXXXX") : NULL;

	if (!x)
		return 0;
	while (x[6] == 'X')
		x++;
	return (int)strlen(x + 6);
}

/* glibc exports this alias; no header declares it. */
int __connect(int fd, const struct sockaddr *addr, socklen_t len);

/* ---- net: ARG1 a unix socket the driver listens on, or a name to look up
 * and connect to on port ARG2 (a TCP server of the driver's) ---------------- */
static socklen_t unix_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path ? path : "");
	return (socklen_t)sizeof(*sun);
}

static long connect_to(const struct sockaddr *sa, socklen_t len)
{
	int s = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long rc = V(connect)(s, sa, len);
	int e = errno;
	close(s);
	errno = e;
	return rc;
}

static long connect_raw(int af, const void *raw, const char *port)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} u = {0};
	if (af == AF_INET) {
		u.v4.sin_family = AF_INET;
		u.v4.sin_port = htons((uint16_t)atoi(port));
		memcpy(&u.v4.sin_addr, raw, 4);
		return connect_to(&u.sa, sizeof(u.v4));
	}
	u.v6.sin6_family = AF_INET6;
	u.v6.sin6_port = htons((uint16_t)atoi(port));
	memcpy(&u.v6.sin6_addr, raw, 16);
	return connect_to(&u.sa, sizeof(u.v6));
}

static long looked_up(struct hostent *h, const char *port)
{
	if (!h || !h->h_addr_list[0]) {
		errno = ENOENT;
		return -1;
	}
	return connect_raw(h->h_addrtype, h->h_addr_list[0], port);
}

static long net_family(const char *s, struct call *c)
{
#define IS(name) (strcmp(s, name) == 0)
	struct sockaddr_un sun;
	socklen_t len = unix_addr(&sun, c->a1);
	char buf[4096], one[] = "x";
	struct hostent he, *res = NULL;
	int herr;

	if (IS("connect"))
		return connect_to((struct sockaddr *)&sun, len);
	if (IS("__connect")) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		long rc = V(__connect)(fd, (struct sockaddr *)&sun, len);
		int e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	if (IS("sendto") || IS("sendmsg") || IS("sendmmsg")) {
		int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct iovec iov = {.iov_base = one, .iov_len = 1};
		struct msghdr m = {.msg_name = &sun, .msg_namelen = len, .msg_iov = &iov,
				   .msg_iovlen = 1};
		struct mmsghdr mm = {.msg_hdr = m};
		long rc = IS("sendto")	    ? V(sendto)(fd, one, 1, 0, (struct sockaddr *)&sun, len)
			  : IS("sendmsg")   ? V(sendmsg)(fd, &m, 0)
					    : V(sendmmsg)(fd, &mm, 1, 0);
		int e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	if (IS("getaddrinfo")) {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
		int rc = V(getaddrinfo)(c->a1, c->a2, &hints, &ai);
		if (rc != 0) {
			errno = ENOENT;
			return -1;
		}
		long r = connect_to(ai->ai_addr, ai->ai_addrlen);
		int e = errno;
		freeaddrinfo(ai);
		errno = e;
		return r;
	}
	if (IS("gethostbyname"))
		return looked_up(V(gethostbyname)(c->a1), c->a2);
	if (IS("gethostbyname2"))
		return looked_up(V(gethostbyname2)(c->a1, AF_INET), c->a2);
	if (IS("gethostbyname_r")) {
		V(gethostbyname_r)(c->a1, &he, buf, sizeof(buf), &res, &herr);
		return looked_up(res, c->a2);
	}
	if (IS("gethostbyname2_r")) {
		V(gethostbyname2_r)(c->a1, AF_INET, &he, buf, sizeof(buf), &res, &herr);
		return looked_up(res, c->a2);
	}
	return -2;
#undef IS
}

/* ---- fd: ARG1 a file in the directory under test, ARG2 a name in a free
 * one. A descriptor on ARG2's directory is used as unlinkat's directory
 * (of an absent name, so that the guard looks it up), then closed by the
 * symbol under test (or replaced, for dup2 and dup3), and its number is
 * given to ARG1's directory (an O_PATH descriptor): unlinkat(number, ARG1's name) must then be
 * judged in ARG1's directory. */
extern int __close(int fd);
extern int __dup2(int oldfd, int newfd);
extern int _IO_fclose(FILE *stream);

static void dir_of(const char *path, char *dir, size_t dirsz)
{
	const char *slash = strrchr(path, '/');
	snprintf(dir, dirsz, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
}

static int open_dir(const char *dir, int how)
{
	int fd = open(dir, how | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "ag_callers: %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	return fd;
}

static long fd_family(const char *s, struct call *c)
{
	static const char *const names[] = {"close",	 "__close", "close_range",  "closefrom",
					    "dup2",	 "__dup2",  "dup3",	    "closedir",
					    "fclose",	 "_IO_fclose", "syscall:close", "syscall:dup2"};
	char here[PATH_MAX], there[PATH_MAX];
	size_t k = 0;

	while (k < sizeof(names) / sizeof(names[0]) && strcmp(s, names[k]) != 0)
		k++;
	if (k == sizeof(names) / sizeof(names[0]))
		return -2;
	if (!c->a1 || !c->a2) {
		fprintf(stderr, "ag_callers: %s needs ARG1 and ARG2\n", s);
		exit(1);
	}
	dir_of(c->a1, here, sizeof(here));
	dir_of(c->a2, there, sizeof(there));
	int fd = open_dir(there, O_RDONLY);
	unlinkat(fd, "absent", 0);
#define IS(name) (strcmp(s, name) == 0)
	if (IS("dup2") || IS("__dup2") || IS("dup3") || IS("syscall:dup2")) {
		int p = open_dir(here, O_PATH); /* the guard judges no O_PATH open */
		long rc = IS("dup2")	 ? V(dup2)(p, fd)
			  : IS("__dup2") ? V(__dup2)(p, fd)
			  : IS("dup3")	 ? V(dup3)(p, fd, O_CLOEXEC)
					 : syscall(SYS_dup2, p, fd);
		if (rc != fd) {
			perror("ag_callers: dup");
			exit(1);
		}
	} else {
		if (IS("close"))
			V(close)(fd);
		else if (IS("__close"))
			V(__close)(fd);
		else if (IS("close_range"))
			V(close_range)((unsigned)fd, (unsigned)fd, 0);
		else if (IS("closefrom"))
			V(closefrom)(fd);
		else if (IS("closedir"))
			V(closedir)(fdopendir(fd));
		else if (IS("fclose"))
			V(fclose)(fdopen(fd, "r"));
		else if (IS("_IO_fclose"))
			V(_IO_fclose)(fdopen(fd, "r"));
		else
			syscall(SYS_close, fd);
		int p = open_dir(here, O_PATH); /* the guard judges no O_PATH open */
		if (p != fd && fcntl(p, F_DUPFD_CLOEXEC, fd) != fd) {
			fprintf(stderr, "ag_callers: %s left %d open\n", s, fd);
			exit(1);
		}
	}
#undef IS
	errno = 0;
	return unlinkat(fd, c->b1, 0);
}

int main(int argc, char **argv)
{
	static long (*const families[])(const char *, struct call *) = {
	    open_family, temp_family, fsmod_family, meta_family, exec_family, fd_family,
	    sys_family, net_family};
	struct call c = {0};
	char copy[PATH_MAX];

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: ag_callers SYMBOL [ARG1 [ARG2]]\n");
		return 1;
	}
	const char *sym = argv[1];
	if (argc > 2) {
		snprintf(copy, sizeof(copy), "%s", argv[2]);
		c.a1 = copy;
	}
	c.a2 = argc > 3 ? argv[3] : NULL;
	c.d1 = split(c.a1, &c.b1);
	c.d2 = c.a2 && c.a2[0] == '/' ? split(c.a2, &c.b2) : AT_FDCWD;
	c.fd = c.a1 ? atoi(c.a1) : -1;
	c.oflags = open_flags(c.a2);
	c.fmode = c.a2 ? c.a2 : "w";
	c.suffix = suffix_len(c.a1);

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		errno = 0;
		long rc = families[i](sym, &c);
		int e = errno;
		if (rc == -2)
			continue;
		if (c.skip)
			printf("%s SKIP %s (%s)\n", sym, c.skip, errno_name(e));
		else if (rc < 0)
			printf("%s rc=-1 errno=%s\n", sym, errno_name(e));
		else
			printf("%s rc=%ld errno=0\n", sym, rc);
		fflush(stdout);
		return 0;
	}
	fprintf(stderr, "ag_callers: no case for %s\n", sym);
	return 1;
}
