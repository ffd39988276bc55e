/* agentguard run: launches a program under the guard; and the shim
 * directory that puts the guard back into interpreters. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ag_floor.h"
#include "cli.h"

/* The names the shim directory answers to: the interpreters and tools a
 * program the preload cannot follow is likely to start. */
const char *const shim_names[] = {
	"sh",  "bash", "dash", "zsh",  "python", "python3", "node", "nodejs", "perl",
	"ruby", "git",  "make", "cmake", "npm",   "npx",     "pip",  "pip3",   "env",
	"xargs", "find", "rm",  "mv",   "cp",    "tar",     NULL,
};
/* A session's shim directory names its entries by a 32-bit mask. */
_Static_assert(sizeof(shim_names) / sizeof(shim_names[0]) <= 33, "too many shim names");

/* The launched program is judged as a guarded exec would judge it: its
 * exec rules, and whether the preload can follow it at all. Returns 0 to go
 * on, or the exit status for a refusal. */
static int judge_launch(const ag_ruleset_t *rs, char **argv, bool floor)
{
	const char *cmd = argv[0];
	char path[PATH_MAX], real[PATH_MAX];
	ag_proginfo_t info = {0};
	struct stat st;
	const char *why = NULL;

	if (strchr(cmd, '/'))
		snprintf(path, sizeof(path), "%s", cmd);
	else if (find_real(cmd, path, sizeof(path)) != 0)
		return 0; /* execvp says what is missing */
	if (!realpath(path, real))
		return 0;
	ag_request_t req = {.op = AG_OP_EXEC, .path = real, .argv = (const char *const *)argv};
	ag_verdict_t v = ag_decide(rs, &req);
	if (v.action == AG_DENY) {
		fprintf(stderr, "agentguard: denied exec %s (rule %s)\n", real,
			ag_ruleset_rule_id(rs, v.rule));
		return 126;
	}
	int fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && ag_inspect_fd(fd, &info) == 0) {
		if (info.is_go)
			why = "a Go program: its own file operations are raw system calls the "
			      "preload cannot see";
		else if (info.is_static)
			why = "statically linked: the preload cannot enter it";
		else if (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
			 ((st.st_mode & S_ISGID) && st.st_gid != getegid()))
			why = "setuid or setgid: the loader drops the preload for it";
	}
	if (fd >= 0)
		close(fd);
	if (!why)
		return 0;
	ag_action_t a = ag_ruleset_unguardable(rs, v.rule);
	if (floor && !ag_ruleset_unguardable_said(rs, v.rule)) {
		fprintf(stderr, "agentguard: note: %s is %s; it runs under the kernel floor, and the "
				"programs it starts are guarded\n", real, why);
		return 0;
	}
	if (a == AG_DENY) {
		fprintf(stderr,
			"agentguard: denied exec %s (rule unguardable): %s; only the dynamically "
			"linked programs it starts could be guarded\n"
			"Hint: allow it with an exec rule {\"id\": \"...\", \"ops\": [\"exec\"], "
			"\"paths\": [\"%s\"], \"action\": \"allow\", \"unguardable\": \"allow\"}\n",
			real, why, real);
		return 126;
	}
	fprintf(stderr, "agentguard: note: %s is %s; only the programs it starts are guarded\n",
		real, why);
	return 0;
}

/* The session's shared tables beside the created-files one (answers to
 * ask rules, inspected programs), made empty now so that they exist to be
 * granted; their users size them. */
static void make_beside(const char *created, const char *suffix, char *out, size_t sz)
{
	out[0] = '\0';
	if (!created[0] || (size_t)snprintf(out, sz, "%s%s", created, suffix) >= sz)
		return;
	int fd = open(out, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
}

/* Landlock and seccomp on this process, inherited by the command and all
 * it starts. The log and the session's shared tables are written by every
 * guarded process, wherever they live, so they are granted by name; they
 * are made now so that their directory need not be. */
static bool install_floor(const ag_ruleset_t *rs, const ag_session_t *s, const char *created)
{
	char answers[PATH_MAX], progs[PATH_MAX];
	make_beside(created, ".answers", answers, sizeof(answers));
	make_beside(created, ".progs", progs, sizeof(progs));
	const char *files[] = {s->log, created, answers, progs, NULL};
	const char *cap = getenv("AGENTGUARD_FLOOR_ABI"); /* for tests: a lower ABI */
	ag_floor_opts_t o = {.max_abi = cap && *cap ? atoi(cap) : -1, .write_files = files};
	ag_floor_t f;
	char line[512], env[64];

	int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
	int rc = ag_floor_install(rs, &o, &f);
	ag_floor_describe(&f, line, sizeof(line));
	fprintf(stderr, "agentguard: %s\n", line);
	if (rc != 0)
		fprintf(stderr, "agentguard: warning: the kernel refused part of the floor: %s\n",
			strerror(errno));
	ag_floor_env_value(&f, env, sizeof(env));
	setenv("AGENTGUARD_FLOOR", env, 1);
	return f.abi > 0 && f.seccomp;
}

static int session_shims(const char *statedir, char *out, size_t sz);

/* A system directory as a whole: its files belong to the machine, not to a
 * project (a project beneath one, /usr/local/src/x or /srv/app, is not). */
static bool system_dir(const char *dir)
{
	static const char *const sys[] = {
	    "/bin",   "/boot",	"/dev", "/etc", "/home",      "/lib",  "/lib32",
	    "/lib64", "/media", "/mnt", "/opt", "/proc",      "/root", "/run",
	    "/sbin",  "/srv",	"/sys", "/usr", "/usr/local", "/var",  "/var/lib"};
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (strcmp(dir, sys[i]) == 0)
			return true;
	return false;
}

/* A workspace of /, of the home directory (the fallback to the current
 * directory, run from there) or of a system directory leaves open all the
 * policy does not name. */
static void warn_wide_workspace(const ag_session_t *s)
{
	const char *what = strcmp(s->workspace, "/") == 0	   ? "the whole filesystem"
			   : ag_path_within(s->home, s->workspace) ? "your home directory or above"
			   : system_dir(s->workspace)		   ? "a system directory"
								   : NULL;
	if (what)
		fprintf(stderr,
			"agentguard: warning: the workspace is %s (%s): everything in it that "
			"the policy does not name is open to the agent; Hint: pass --workspace "
			"with the project's directory\n",
			s->workspace, what);
}

int cmd_run(int argc, char **argv)
{
	struct opts o = {0};
	ag_session_t s;
	void *blob;
	size_t len;
	char lib[PATH_MAX], stored[PATH_MAX], created[PATH_MAX] = "";

	int i = parse_opts(argc, argv, &o, true);
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		die_usage("run needs a command after --");
	apply_opts(&o);
	int rc = load_session(&s, &blob, &len, true);
	if (rc != 0)
		return rc;
	warn_wide_workspace(&s);
	if (find_library(lib, sizeof(lib)) != 0) {
		fprintf(stderr, "agentguard: cannot find libagentguard.so beside this program\n"
				"Hint: it belongs in ../lib relative to the agentguard binary\n");
		goto err_blob;
	}
	if (mkdir_parents(s.log) != 0)
		fprintf(stderr, "agentguard: warning: cannot create the log directory for %s: %s\n",
			s.log, strerror(errno));
	if (ag_session_store(&s, blob, len, stored, sizeof(stored)) == 0) {
		setenv("AGENTGUARD_COMPILED", stored, 1);
	} else {
		fprintf(stderr, "agentguard: warning: cannot store the compiled policy in %s (%s); "
				"every process will compile it again\n",
			s.statedir, strerror(errno));
	}
	if (ag_session_created_map(&s, created, sizeof(created)) == 0)
		setenv("AGENTGUARD_CREATED", created, 1);
	setenv("AGENTGUARD_WORKSPACE", s.workspace, 1);
	setenv("AGENTGUARD_LOG", s.log, 1);
	setenv("AGENTGUARD_MODE", s.audit ? "audit" : "enforce", 1);
	if (s.policy[0])
		setenv("AGENTGUARD_POLICY", s.policy, 1);
	if (set_preload(lib) != 0)
		goto err_blob;
	char shims[PATH_MAX], *newpath;
	if (session_shims(s.statedir, shims, sizeof(shims)) == 0 ||
	    shim_dir(shims, sizeof(shims)) == 0) {
		const char *old = getenv("PATH");
		setenv("AGENTGUARD_SHIMS", shims, 1); /* resolved once, here */
		if (asprintf(&newpath, "%s%s%s", shims, old ? ":" : "", old ? old : "") >= 0) {
			setenv("PATH", newpath, 1);
			free(newpath);
		}
	}
	const ag_ruleset_t *rs = ag_ruleset_view(blob, len, NULL);
	/* Audit mode lets every call through to learn what a policy needs;
	 * a floor would refuse some of them and hide the rest. */
	if (rs && !o.no_floor && s.audit)
		fputs("agentguard: kernel floor: off in audit mode\n", stderr);
	bool floor = rs && !o.no_floor && !s.audit && install_floor(rs, &s, created);
	int refused = rs ? judge_launch(rs, argv + i, floor) : 0;
	free(blob);
	if (refused)
		return refused;
	report_gaps(argv[i], floor);
	execvp(argv[i], argv + i);
	fprintf(stderr, "agentguard: cannot run %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
err_blob:
	free(blob);
	return EXIT_USAGE;
}

/* Reached as "bash", "git"...: put the guard back and run the real one.
 * The AGENTGUARD_* settings pass through as the parent had them. */
int shim_main(const char *name, char **argv)
{
	char lib[PATH_MAX], real[PATH_MAX];

	if (find_real(name, real, sizeof(real)) != 0) {
		fprintf(stderr, "agentguard shim: %s: not found on PATH\n", name);
		return 127;
	}
	if (find_library(lib, sizeof(lib)) == 0)
		set_preload(lib);
	execv(real, argv);
	fprintf(stderr, "agentguard shim: cannot run %s: %s\n", real, strerror(errno));
	return 126;
}

/* One entry per name in mask (bit i: shim_names[i]), each a symlink to
 * target; entries already there are replaced. */
static int link_shims(const char *dir, const char *target, uint32_t mask)
{
	char entry[PATH_MAX];

	for (unsigned i = 0; shim_names[i]; i++) {
		if (!(mask & (1u << i)))
			continue;
		if ((size_t)snprintf(entry, sizeof(entry), "%s/%s", dir, shim_names[i]) >=
		    sizeof(entry))
			return -1;
		unlink(entry);
		if (symlink(target, entry) != 0) {
			fprintf(stderr, "agentguard: cannot create %s: %s\n", entry,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void remove_shims(const char *dir)
{
	char entry[PATH_MAX];
	for (unsigned i = 0; shim_names[i]; i++)
		if ((size_t)snprintf(entry, sizeof(entry), "%s/%s", dir, shim_names[i]) <
		    sizeof(entry))
			unlink(entry);
	rmdir(dir);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
	return h;
}

/* Which shim names PATH can run: a search of every directory for every
 * name (over 200 access() calls with a long PATH), remembered in the state
 * directory as a symlink whose target is the mask, named by a hash of this
 * program, PATH and each of its directories' device, inode and change
 * time. Installing or removing a program changes its directory's change
 * time, and so the name. A program made executable in place does not:
 * that is found when the entry is swept (two days, with the sessions'
 * maps). */
static uint32_t path_mask(const char *statedir, const char *self)
{
	char real[PATH_MAX], entry[PATH_MAX], target[16];
	const char *path = getenv("PATH");
	uint64_t h = fnv(0xcbf29ce484222325ull, self, strlen(self) + 1);
	uint32_t mask = 0;

	path = path ? path : "";
	h = fnv(h, path, strlen(path) + 1);
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, ":");
		struct stat st = {0};
		if ((size_t)snprintf(real, sizeof(real), "%.*s", (int)len, p) < sizeof(real) &&
		    stat(real, &st) == 0) {
			uint64_t id[4] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino,
					  (uint64_t)st.st_ctim.tv_sec,
					  (uint64_t)st.st_ctim.tv_nsec};
			h = fnv(h, id, sizeof(id));
		}
		h = fnv(h, ":", 1);
		p += len;
		if (*p == ':')
			p++;
	}
	bool named = (size_t)snprintf(entry, sizeof(entry), "%s/pathmask-%016llx", statedir,
				      (unsigned long long)h) < sizeof(entry);
	ssize_t n = named ? readlink(entry, target, sizeof(target) - 1) : -1;
	if (n > 0) {
		char *end;
		target[n] = '\0';
		unsigned long v = strtoul(target, &end, 16);
		if (*end == '\0' && v <= UINT32_MAX)
			return (uint32_t)v;
	}
	for (unsigned i = 0; shim_names[i]; i++)
		if (find_real(shim_names[i], real, sizeof(real)) == 0)
			mask |= 1u << i;
	snprintf(target, sizeof(target), "%08x", mask);
	if (named && mkdir_parents(entry) == 0)
		(void)symlink(target, entry); /* a concurrent launch may have made it */
	return mask;
}

/* The shim directory a session puts first on PATH holds only the names
 * the PATH it was given can run: a shim for a program this machine lacks
 * would make it seem present (a "zsh" that answers "not found" when an
 * agent picks the first shell it finds). One directory per set of names
 * and agentguard binary, made once in the state directory and shared by
 * later launches; made aside and renamed into place, so that concurrent
 * launches never see half of one. Fills out with its resolved path. */
static int session_shims(const char *statedir, char *out, size_t sz)
{
	char self[PATH_MAX], real[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX];
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a of the binary and the names */
	struct stat st;

	if (self_exe(self, sizeof(self)) != 0)
		return -1;
	uint32_t mask = path_mask(statedir, self);
	h = fnv(h, self, strlen(self));
	h = (h ^ mask) * 0x100000001b3ull;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/shims-%016llx", statedir,
			     (unsigned long long)h) >= sizeof(dir) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", dir, (int)getpid()) >= sizeof(tmp))
		return -1;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		if (mkdir_parents(dir) != 0 || (mkdir(tmp, 0755) != 0 && errno != EEXIST))
			return -1;
		if (link_shims(tmp, self, mask) != 0) {
			remove_shims(tmp);
			return -1;
		}
		if (rename(tmp, dir) != 0)
			remove_shims(tmp); /* another launch was first: use its */
	}
	if (!realpath(dir, real) || (size_t)snprintf(out, sz, "%s", real) >= sz)
		return -1;
	return 0;
}

static int install_shims(const char *dir)
{
	char self[PATH_MAX], entry[PATH_MAX], mine[PATH_MAX], real[PATH_MAX];

	if ((size_t)snprintf(entry, sizeof(entry), "%s/x", dir) >= sizeof(entry) ||
	    self_exe(self, sizeof(self)) != 0 || mkdir_parents(entry) != 0) {
		fprintf(stderr, "agentguard: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	/* The shim directory of this very install links relatively, so the
	 * prefix can move. */
	if (shim_dir(mine, sizeof(mine)) == 0 && realpath(dir, real) && strcmp(mine, real) == 0)
		snprintf(self, sizeof(self), "../../../bin/agentguard");
	return link_shims(dir, self, UINT32_MAX) == 0 ? 0 : 1;
}

int cmd_shim(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "install") != 0)
		die_usage("usage: agentguard shim install DIR");
	return install_shims(argv[2]);
}

