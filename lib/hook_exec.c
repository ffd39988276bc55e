/* The exec family. Before a program starts: is it allowed, can the preload
 * follow it, and does its command line delete a tree the policy protects?
 * Then it starts with the guard's environment restored. These hooks may run
 * in a vfork child that shares its parent's memory: nothing here allocates,
 * locks or uses stdio. */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <wordexp.h>

#include "ask.h"
#include "rawsys.h"
#include "str.h"
#include "dirfds.h"
#include "guard.h"

#define MAX_TARGETS 64
#define MAX_ENV 65536

extern char **environ;

/* ---- inspection cache: device, inode, size and mtime to what was found ---
 * Shared by the whole session when it can be (a file beside the session's
 * created-files table, mapped on the first exec): a process is mostly a
 * fresh image that has inspected nothing, and a shell starts the same few
 * programs over and over. Else this process's own. */
#define NLOCAL 256
#define NSHARED 8192
static _Atomic uint64_t local_cache[NLOCAL];
static _Atomic(_Atomic uint64_t *) shared_cache AG_HOT;
static atomic_int shared_tried AG_HOT;

/* Mapped with system calls only: this may run in a vfork child, whose
 * mapping is its parent's too, which is what we want. */
static void map_shared(void)
{
	const char *created = ag__frozen("AGENTGUARD_CREATED");
	char path[PATH_MAX];

	if (atomic_exchange(&shared_tried, 1) || !created || created[0] != '/' ||
	    (size_t)snprintf(path, sizeof(path), "%s.progs", created) >= sizeof(path))
		return;
	void *m = ag__map_table(path, NSHARED * sizeof(uint64_t), true);
	if (m)
		atomic_store(&shared_cache, (_Atomic uint64_t *)m);
}

/* What a fork child must not take from its parent as its own. */
AG_HOT_TEXT static void forked(void)
{
	ag__decide_forked();
	ag__fdpath_forked();
	ag__report_forked();
}

/* A process that forks is one that starts programs, and what it prepares
 * before its first fork its children inherit instead of each doing it
 * again: the policy mapped, the exec family resolved, the shared table of
 * inspected programs mapped (a forked child's mapping would die with it;
 * vfork and posix_spawn children share their parent's memory). A hook on
 * fork rather than a pthread_atfork handler, whose registration costs
 * every process a few pages of libc at start, most never forking. fork
 * itself is not judged: its child's exec is. */
AG_HOT_TEXT pid_t fork(void)
{
	if (!atomic_load(&shared_tried) && !ag__depth &&
	    atomic_load(&ag__st.phase) != AG_PHASE_NONE) {
		int saved = errno;
		if (atomic_load(&ag__st.phase) == AG_PHASE_LAZY)
			ag__ready();
		ag__resolve_exec();
		ag__depth++; /* the guard's own open of its own file */
		map_shared();
		ag__depth--;
		errno = saved;
	}
	pid_t pid = REAL(fork)();
	if (pid == 0)
		forked();
	return pid;
}

/* fork without the atfork handlers (glibc 2.34), for a program that forks
 * in a signal handler: nothing is prepared, the child forgets the same. */
AG_HOT_TEXT pid_t _Fork(void)
{
	if (!REAL(_Fork)) { /* a libc before 2.34, asked through a weak symbol */
		errno = ENOSYS;
		return -1;
	}
	pid_t pid = REAL(_Fork)();
	if (pid == 0)
		forked();
	return pid;
}

AG_HOT_TEXT static _Atomic uint64_t *cache_slot(uint64_t key)
{
	_Atomic uint64_t *c = atomic_load(&shared_cache);
	if (!c && !atomic_load(&shared_tried)) {
		map_shared();
		c = atomic_load(&shared_cache);
	}
	return c ? &c[(key >> 8) % NSHARED] : &local_cache[(key >> 8) % NLOCAL];
}

enum { F_KNOWN = 1, F_STATIC = 2, F_GO = 4, F_SCRIPT = 8 };

/* A program's identity: device, inode, size and mtime. */
static uint64_t stat_key(const ag_pathinfo_t *pi)
{
	uint64_t k = (uint64_t)pi->ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)pi->dev;
	k ^= (uint64_t)pi->size * 0xc2b2ae3d27d4eb4full;
	k ^= (uint64_t)pi->mtime_sec * 0x165667b19e3779f9ull ^ (uint64_t)pi->mtime_nsec;
	return k & ~0xffull;
}

/* Static and Go programs by inspection (cached); a #! script by its
 * interpreter, one level down. pi holds what resolving prog found of it, if
 * anything: only where that is not a regular file is it asked again (and
 * pi filled from that stat). */
AG_HOT_TEXT static unsigned inspect(const char *prog, ag_pathinfo_t *pi, int depth)
{
	unsigned flags = 0;
	ag_proginfo_t info;
	struct stat st;

	/* A hit costs one stat, or none after a resolution; only a miss
	 * opens and reads the file. */
	if (!pi->exists || !S_ISREG(pi->mode)) {
		if (ag_raw_fstatat(AT_FDCWD, prog, &st, 0) != 0) {
			*pi = (ag_pathinfo_t){0}; /* gone: no mode to go by */
			return 0;
		}
		ag_pathinfo_fill(pi, &st);
	}
	uint64_t key = stat_key(pi);
	_Atomic uint64_t *slot = cache_slot(key);
	uint64_t hit = atomic_load_explicit(slot, memory_order_relaxed);
	if ((hit & ~0xffull) == key && (hit & F_KNOWN)) {
		flags = (unsigned)(hit & 0xff);
	} else {
		int fd = ag_raw_openat(AT_FDCWD, prog, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			return 0; /* execute-only: nothing to read, nothing known */
		ag_pathinfo_t now;
		int rc = -1;
		if (ag_raw_fstat(fd, &st) == 0) {
			ag_pathinfo_fill(&now, &st);
			if (stat_key(&now) == key)
				rc = ag_inspect_fd(fd, &info);
		}
		ag_raw_close(fd);
		if (rc != 0)
			return 0;
		flags = F_KNOWN | (info.is_static ? F_STATIC : 0) | (info.is_go ? F_GO : 0) |
			(info.is_script ? F_SCRIPT : 0);
		if (info.is_script && depth == 0 && info.interp[0] == '/') {
			ag_pathinfo_t ipi = {0};
			flags |= inspect(info.interp, &ipi, 1) & (F_STATIC | F_GO);
		}
		atomic_store_explicit(slot, key | flags, memory_order_relaxed);
	}
	return flags;
}

AG_HOT_TEXT static const char *why_unguardable(const char *prog, const ag_pathinfo_t *known)
{
	/* inspect stats first: an unreadable (execute-only) program is still
	 * known by its mode, and a gone one has none. */
	ag_pathinfo_t pi = known ? *known : (ag_pathinfo_t){0};
	unsigned f = inspect(prog, &pi, 0);

	if (f & F_GO)
		return "a Go program: it makes its own system calls, which the preload cannot see";
	if (f & F_STATIC)
		return (f & F_SCRIPT) ? "its interpreter is statically linked: the preload cannot "
					"follow it"
				      : "statically linked: the preload cannot follow it";
	/* The loader drops LD_PRELOAD when the program changes the ids. */
	if (((pi.mode & S_ISUID) && pi.uid != geteuid()) ||
	    ((pi.mode & S_ISGID) && pi.gid != getegid()))
		return "setuid or setgid: the loader drops the preload for it";
	return NULL;
}

/* ---- the decision -------------------------------------------------------- */
static int refuse(ag_op_t op, const char *path, int rule, ag_action_t a, char *const argv[],
		  const char *note)
{
	ag_request_t req = {.op = op, .path = path};
	ag_verdict_t v = {.action = a, .rule = rule, .err = EACCES, .which = 1};
	if (rule >= 0 && ag__st.rs && a == AG_DENY) {
		ag_request_t r = {.op = op, .path = path};
		v.err = ag_decide(ag__st.rs, &r).err;
	}
	return ag__answer(&req, &v, (const char *const *)argv, note);
}

static const char *base(const char *p)
{
	const char *s = ag_strrchr(p, '/');
	return s ? s + 1 : p;
}

/* rm -rf, find -delete, git clean: each tree judged as deleted, whole.
 * When the command line cannot tell (too many operands, env -C), the
 * program starts and its own calls are judged one by one. The program is
 * known by its path as well as by argv[0] ("execv /bin/rm" with any name). */
AG_HOT_TEXT static int judge_targets(const char *prog, char *const argv[])
{
	const char *t[MAX_TARGETS];
	size_t argc = 0;
	while (argv && argv[argc])
		argc++;
	int n = ag_recursive_targets((const char *const *)argv, t, MAX_TARGETS);
	/* A multi-call binary (busybox behind an "rm" link) goes by argv[0];
	 * any other program by what it is. */
	const char *av[argc + 1];
	if (n == 0 && argc && !ag_streq(base(prog), base(argv[0]))) {
		memcpy(av, argv, (argc + 1) * sizeof(*av));
		av[0] = prog;
		argv = (char *const *)av;
		n = ag_recursive_targets((const char *const *)argv, t, MAX_TARGETS);
	}

	int saved = n > 0 ? errno : 0; /* a target that is not there sets it */
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		ag_pathinfo_t info;
		size_t len = strlen(t[i]);
		int follow = len > 1 && t[i][len - 1] == '/' ? AG_RESOLVE_FOLLOW : 0;
		if (ag_resolve(AT_FDCWD, t[i], follow, path, sizeof(path), &info) != 0 ||
		    !info.exists)
			continue;
		ag_request_t req = {.op = AG_OP_DELETE, .path = path,
				    .flags = info.is_dir ? AG_REQ_DIR1 | AG_REQ_TREE1 : 0,
				    .exists = ag__exists};
		ag_verdict_t v = ag_decide(ag__st.rs, &req);
		if (v.action == AG_ALLOW)
			continue;
		/* git clean deletes only untracked files, find only what its
		 * tests select (find . -name '*.pyc' -delete): a protected file
		 * beneath (a committed .claude/settings.json) is left to the
		 * per-file guard rather than stopping the whole command. So is
		 * a tree this session made: what it made in it may go, the rest
		 * is refused file by file. */
		ag_request_t root = {.op = AG_OP_DELETE, .path = path};
		/* Both the name it was called by (which chose how argv was
		 * read) and the program: "exec -a find rm ..." is rm. */
		const char *b = base(argv[0]);
		if ((!strcmp(b, "git") || !strcmp(b, "find")) && !strcmp(b, base(prog)) &&
		    ag_decide(ag__st.rs, &root).action == AG_ALLOW)
			continue;
		if (ag__created_here(info.dev, info.ino))
			continue;
		/* Asked once for the whole tree, with its size; a yes lets this
		 * program (same pid after the exec) delete everything in it. */
		if (v.action == AG_ASK && !ag__st.audit) {
			if (ag__answer_ask(&req, &v, (const char *const *)argv,
					   "a recursive delete on the command line", base(prog),
					   ag__count_tree(path, 1000000)) != 0)
				return -1;
			continue;
		}
		if (ag__answer(&req, &v, (const char *const *)argv,
			       "a recursive delete on the command line; the program was not "
			       "started") != 0)
			return -1;
	}
	if (n > 0)
		errno = saved;
	return 0;
}

/* prog is resolved (absolute, links followed); known is what the
 * resolution found of it, or NULL. */
AG_HOT_TEXT static int judge_program(const char *prog, char *const argv[],
				     const ag_pathinfo_t *known)
{
	if (ag__st.phase == AG_PHASE_FAILED)
		return refuse(AG_OP_EXEC, prog, AG_RULE_UNAVAILABLE, AG_DENY, argv, NULL);
	ag_request_t req = {.op = AG_OP_EXEC, .path = prog, .argv = (const char *const *)argv};
	ag_verdict_t v = ag_decide(ag__st.rs, &req);
	if (v.action != AG_ALLOW &&
	    ag__answer(&req, &v, (const char *const *)argv, NULL) != 0)
		return -1;
	const char *why = why_unguardable(prog, known);
	if (why && !ag_ruleset_unguardable_said(ag__st.rs, v.rule) && ag__floor_active()) {
		/* Logged, not refused: the operator learns what ran outside the
		 * preload's sight. */
		ag_verdict_t f = {.action = AG_AUDIT, .rule = AG_RULE_UNGUARDABLE, .err = EACCES};
		char note[400];
		snprintf(note, sizeof(note), "%s; it runs under the kernel floor", why);
		ag__answer(&req, &f, (const char *const *)argv, note);
	} else if (why) {
		ag_action_t a = ag_ruleset_unguardable(ag__st.rs, v.rule);
		int rule = v.rule >= 0 && a != (ag_action_t)ag_ruleset_unguardable(ag__st.rs, -1)
				   ? v.rule
				   : AG_RULE_UNGUARDABLE;
		char note[512];
		snprintf(note, sizeof(note),
			 "%s. Hint: allow it with an exec rule for this program with "
			 "\"unguardable\": \"allow\" (or \"audit\")",
			 why);
		if (a != AG_ALLOW && refuse(AG_OP_EXEC, prog, rule, a, argv, note) != 0)
			return -1;
	}
	return judge_targets(prog, argv);
}

AG_HOT_TEXT static int judge_at(int dirfd, const char *path, int follow, char *const argv[])
{
	char prog[PATH_MAX];
	ag_pathinfo_t info;

	/* errno is not saved here, which would cost a forked child a page of
	 * libc: on the way to an allowed exec nothing below sets it (the
	 * resolution makes its system calls directly), and where the
	 * resolution fails the exec fails by itself and sets it anew. */
	if (!path || ag_resolve(dirfd, path, follow, prog, sizeof(prog), &info) != 0)
		return 0;
	return judge_program(prog, argv, &info);
}

AG_HOT_TEXT static bool in_shims(const char *dir, size_t len)
{
	const char *s = ag__shim_dir();
	return s[0] && ag_strlen(s) == len && ag_memeq(s, dir, len);
}

/* PATH search as execvp does it, past the shim directory. Fills run with
 * the program found; returns 0, -1 when there is none. */
AG_HOT_TEXT static int search(const char *file, char *const envp[], char *run, size_t sz)
{
	const char *path = NULL;
	for (char *const *e = envp; e && *e; e++)
		if (ag_starts(*e, "PATH="))
			path = *e + 5;
	if (!path)
		path = "/bin:/usr/bin";
	for (const char *p = path;; p++) {
		size_t len = ag_strcspn(p, ":");
		if (!in_shims(p, len) &&
		    (size_t)snprintf(run, sz, "%.*s%s%s", (int)len, p, len ? "/" : "", file) < sz &&
		    AG_RAW(SYS_faccessat, AT_FDCWD, run, X_OK, 0) == 0)
			return 0;
		p += len;
		if (!*p)
			break;
	}
	return -1;
}

/* A path into the shim directory is run as the real program instead. */
AG_HOT_TEXT static void unshim(const char *path, char *const envp[], char *run, size_t sz)
{
	const char *slash = ag_strrchr(path, '/');
	run[0] = '\0';
	if (slash && in_shims(path, (size_t)(slash - path)) && search(slash + 1, envp, run, sz) != 0)
		run[0] = '\0';
}

/* execvp's search, to know which program it will run; run gets it. */
AG_HOT_TEXT static int judge_search(const char *file, char *const argv[], char *const envp[], char *run,
			size_t sz)
{
	run[0] = '\0';
	if (!file || !*file || strchr(file, '/')) {
		unshim(file ? file : "", envp, run, sz);
		return judge_at(AT_FDCWD, run[0] ? run : file, AG_RESOLVE_FOLLOW, argv);
	}
	if (search(file, envp, run, sz) != 0) {
		run[0] = '\0';
		return 0;
	}
	return judge_at(AT_FDCWD, run, AG_RESOLVE_FOLLOW, argv);
}

AG_HOT_TEXT static int judge_path(const char *path, char *const argv[], char *const envp[], char *run,
		      size_t sz)
{
	unshim(path ? path : "", envp, run, sz);
	return judge_at(AT_FDCWD, run[0] ? run : path, AG_RESOLVE_FOLLOW, argv);
}

/* ---- the hooks ------------------------------------------------------------ */
static size_t count(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* One exec call, to make with the environment the guard gives it. */
struct ex {
	const char *path, *file, *run;
	char *const *argv;
	int fd, dirfd, flags;
	pid_t *pid; /* posix_spawn's */
	const posix_spawn_file_actions_t *fa;
	const posix_spawnattr_t *attr;
};
typedef int (*exec_fn)(const struct ex *c, char *const envp[]);

/* Builds the child's environment and makes the call; the depth counter is
 * left before the real exec: in a vfork child it is the parent's own, and
 * a successful exec never comes back to lower it. Out of line, so that
 * its buffers take the stack the judging used before it, not more: every
 * page of stack is a fault in a forked child. */
AG_HOT_TEXT __attribute__((noinline)) static int with_env(char *const envp[], exec_fn fn, const struct ex *c)
{
	size_t n = count(envp) + 16;
	if (n > MAX_ENV) {
		ag__leave();
		errno = E2BIG;
		return -1;
	}
	char *env[n];
	char pre[2 * PATH_MAX];
	char *const *use = envp;
	if (ag__child_env(envp, env, n, pre, sizeof(pre)) == 0) {
		use = env;
	} else if (errno == E2BIG) {
		ag__leave();
		return -1;
	}
	ag__leave();
	return fn(c, use);
}

#define EXEC_HOOK(judge, envp, fn, c)                                                              \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return fn(c, envp);                                                        \
		if ((judge) != 0) {                                                                \
			ag__leave();                                                               \
			return -1;                                                                 \
		}                                                                                  \
		return with_env(envp, fn, c);                                                      \
	} while (0)

AG_HOT_TEXT static int call_execve(const struct ex *c, char *const envp[])
{
	return REAL(execve)(c->run[0] ? c->run : c->path, c->argv, envp);
}

/* The exec forms call this, not execve: a call between exported names
 * goes through the PLT, and its first use binds it, which in a forked
 * child means pages of the loader and of libc the child has not touched. */
AG_HOT_TEXT static int do_execve(const char *path, char *const argv[], char *const envp[])
{
	char run[PATH_MAX];
	run[0] = '\0'; /* not "= \"\"": that zeroes 4 KB, a fresh page in a forked child */
	struct ex c = {.path = path, .run = run, .argv = argv};
	EXEC_HOOK(judge_path(path, argv, envp, run, sizeof(run)), envp, call_execve, &c);
}

AG_HOT_TEXT int execve(const char *path, char *const argv[], char *const envp[])
{
	return do_execve(path, argv, envp);
}

AG_HOT_TEXT int execv(const char *path, char *const argv[])
{
	return do_execve(path, argv, environ);
}

/* The program found is run by its path; should it need a shell (no #!,
 * ENOEXEC), execvpe's own fallback takes over. */
AG_HOT_TEXT static int call_execvpe(const struct ex *c, char *const envp[])
{
	if (c->run[0]) {
		REAL(execve)(c->run, c->argv, envp);
		if (errno != ENOEXEC)
			return -1;
	}
	return REAL(execvpe)(c->file, c->argv, envp);
}

AG_HOT_TEXT static int do_execvpe(const char *file, char *const argv[], char *const envp[])
{
	char run[PATH_MAX];
	run[0] = '\0';
	struct ex c = {.file = file, .run = run, .argv = argv};
	EXEC_HOOK(judge_search(file, argv, envp, run, sizeof(run)), envp, call_execvpe, &c);
}

AG_HOT_TEXT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return do_execvpe(file, argv, envp);
}

AG_HOT_TEXT int execvp(const char *file, char *const argv[])
{
	return do_execvpe(file, argv, environ);
}

static int call_fexecve(const struct ex *c, char *const envp[])
{
	return REAL(fexecve)(c->fd, c->argv, envp);
}

static int judge_fd(int fd, char *const argv[])
{
	char prog[PATH_MAX];
	if (ag_fd_path(fd, prog, sizeof(prog)) <= 0)
		return 0;
	return judge_program(prog, argv, NULL);
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
	struct ex c = {.fd = fd, .argv = argv};
	EXEC_HOOK(judge_fd(fd, argv), envp, call_fexecve, &c);
}

static int call_execveat(const struct ex *c, char *const envp[])
{
	return REAL(execveat)(c->dirfd, c->path, c->argv, envp, c->flags);
}

static int judge_execveat(int dirfd, const char *path, char *const argv[], int flags)
{
	if (path && !path[0] && (flags & AT_EMPTY_PATH))
		return judge_fd(dirfd, argv);
	return judge_at(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : AG_RESOLVE_FOLLOW, argv);
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	struct ex c = {.path = path, .argv = argv, .dirfd = dirfd, .flags = flags};
	EXEC_HOOK(judge_execveat(dirfd, path, argv, flags), envp, call_execveat, &c);
}

/* The execl forms gather their arguments and take the paths above. */
#define GATHER(first, ap, argv)                                                                    \
	size_t n_ = 1;                                                                             \
	va_start(ap, first);                                                                       \
	while (va_arg(ap, const char *))                                                           \
		n_++;                                                                              \
	va_end(ap);                                                                                \
	char *argv[n_ + 1];                                                                        \
	argv[0] = (char *)first;                                                                   \
	va_start(ap, first);                                                                       \
	for (size_t i_ = 1; i_ <= n_; i_++)                                                        \
		argv[i_] = va_arg(ap, char *);

int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	GATHER(arg, ap, argv);
	va_end(ap);
	return do_execve(path, argv, environ);
}

int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	GATHER(arg, ap, argv);
	va_end(ap);
	return do_execvpe(file, argv, environ);
}

int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	GATHER(arg, ap, argv);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return do_execve(path, argv, envp);
}

/* posix_spawn starts the child inside glibc: judged and given its
 * environment here, in the parent. Errors are returned, not set. */
#define SPAWN_HOOK(judge, envp, fn, c)                                                             \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return fn(c, envp);                                                        \
		int saved_ = errno, rc_;                                                           \
		if ((judge) != 0) {                                                                \
			rc_ = errno;                                                               \
			ag__leave();                                                               \
		} else if ((rc_ = with_env(envp, fn, c)) == -1) {                                  \
			rc_ = E2BIG; /* the environment could not be built */                      \
		}                                                                                  \
		errno = saved_;                                                                    \
		return rc_;                                                                        \
	} while (0)

static int call_spawn(const struct ex *c, char *const envp[])
{
	return REAL(posix_spawn)(c->pid, c->run[0] ? c->run : c->path, c->fa, c->attr, c->argv,
				 envp);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char run[PATH_MAX];
	run[0] = '\0';
	struct ex c = {.path = path, .run = run, .argv = argv, .pid = pid, .fa = fa, .attr = attr};
	SPAWN_HOOK(judge_path(path, argv, envp, run, sizeof(run)), envp, call_spawn, &c);
}

static int call_spawnp(const struct ex *c, char *const envp[])
{
	if (c->run[0])
		return REAL(posix_spawn)(c->pid, c->run, c->fa, c->attr, c->argv, envp);
	return REAL(posix_spawnp)(c->pid, c->file, c->fa, c->attr, c->argv, envp);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char run[PATH_MAX];
	run[0] = '\0';
	struct ex c = {.file = file, .run = run, .argv = argv, .pid = pid, .fa = fa, .attr = attr};
	SPAWN_HOOK(judge_search(file, argv, envp, run, sizeof(run)), envp, call_spawnp, &c);
}

/* system, popen and wordexp start /bin/sh from this process's own
 * environment: it gets the guard's settings back first. The shell is
 * guarded, and judges what it runs. */
int system(const char *cmd)
{
	if (cmd && ag__enter()) {
		ag__restore_environ();
		ag__leave();
	}
	return REAL(system)(cmd);
}

FILE *popen(const char *cmd, const char *mode)
{
	if (ag__enter()) {
		ag__restore_environ();
		ag__leave();
	}
	return REAL(popen)(cmd, mode);
}

int wordexp(const char *words, wordexp_t *we, int flags)
{
	if (!(flags & WRDE_NOCMD) && ag__enter()) {
		ag__restore_environ();
		ag__leave();
	}
	return REAL(wordexp)(words, we, flags);
}
