/* agentguard: launches programs under the guard and answers questions about
 * policies. One straight flow per command: parse the arguments, load the
 * policy with the very code the preload uses, set the environment, exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentguard.h"

#define EXIT_USAGE 2

/* The names the shim directory answers to: the interpreters and tools a
 * program the preload cannot follow is likely to start. */
static const char *const shim_names[] = {
	"sh",  "bash", "dash", "zsh",  "python", "python3", "node", "nodejs", "perl",
	"ruby", "git",  "make", "cmake", "npm",   "npx",     "pip",  "pip3",   "env",
	"xargs", "find", "rm",  "mv",   "cp",    "tar",     NULL,
};

static const char usage_text[] =
	"usage: agentguard run [--policy FILE] [--workspace DIR] [--log FILE] [--audit] -- CMD [ARG...]\n"
	"       agentguard check FILE...\n"
	"       agentguard shim install DIR\n"
	"       agentguard explain [--policy FILE] [--workspace DIR] OP PATH [PATH2]\n"
	"       agentguard --version\n"
	"\n"
	"run      runs CMD with libagentguard.so preloaded and exits with its status\n"
	"check    validates policy files (exit 0 valid, 2 invalid)\n"
	"explain  prints the decision for OP (read, write, create, delete, rename, link,\n"
	"         chmod, exec, connect) on PATH, and the rule that makes it\n"
	"shim     installs the shim directory (entries that put the guard back into\n"
	"         interpreters started by programs the preload cannot follow)\n";

static void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("agentguard: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nHint: agentguard --help\n", stderr);
	exit(EXIT_USAGE);
}

static int policy_error(const ag_error_t *err)
{
	if (err->line > 0)
		fprintf(stderr, "agentguard: %s:%d:%d: %s\n", err->source, err->line, err->column,
			err->text);
	else
		fprintf(stderr, "agentguard: %s: %s\n", err->source, err->text);
	return EXIT_USAGE;
}

static int self_exe(char *out, size_t sz)
{
	ssize_t n = readlink("/proc/self/exe", out, sz - 1);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* A file of the install, relative to this program: the library in
 * ../lib, the shims in ../lib/agentguard/shims. The same in the build tree
 * and in any install prefix, so a prefix can move. */
static int beside_me(const char *rel, char *out, size_t sz)
{
	char self[PATH_MAX], real[PATH_MAX];
	if (self_exe(self, sizeof(self)) != 0 ||
	    (size_t)snprintf(out, sz, "%s/%s", dirname(self), rel) >= sz || !realpath(out, real))
		return -1;
	snprintf(out, sz, "%s", real);
	return 0;
}

static int find_library(char *out, size_t sz)
{
	return beside_me("../lib/libagentguard.so", out, sz);
}

static int shim_dir(char *out, size_t sz)
{
	return beside_me("../lib/agentguard/shims", out, sz);
}

/* The first NAME on PATH that is not this program (under any shim name). */
static int find_real(const char *name, char *out, size_t sz)
{
	char self[PATH_MAX], real[PATH_MAX];
	const char *path = getenv("PATH");

	if (self_exe(self, sizeof(self)) != 0)
		return -1;
	for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");
		if ((size_t)snprintf(out, sz, "%.*s/%s", (int)len, p, name) < sz &&
		    access(out, X_OK) == 0 && realpath(out, real) && strcmp(real, self) != 0)
			return 0;
		p += len;
		if (*p == ':')
			p++;
	}
	return -1;
}

/* The library first; whatever else the user preloads stays after it. */
static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;
#ifdef AG_ASAN_RUNTIME
	char both[2 * PATH_MAX];
	snprintf(both, sizeof(both), "%s:%s", AG_ASAN_RUNTIME, lib);
	lib = both;
#endif

	if (old && *old) {
		if (strncmp(old, lib, strlen(lib)) == 0 && (old[strlen(lib)] == '\0' ||
							    old[strlen(lib)] == ':'))
			return 0;
		if (asprintf(&val, "%s:%s", lib, old) < 0)
			return -1;
	} else if (!(val = strdup(lib))) {
		return -1;
	}
	int rc = setenv("LD_PRELOAD", val, 1);
	free(val);
	return rc;
}

static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	char *dir = dirname(buf);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0700);
		*p = '/';
	}
	return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

struct opts {
	const char *policy, *workspace, *log;
	bool audit;
};

/* Options become the environment the session is read from, so the
 * launcher and a bare LD_PRELOAD reach the same session by the same code. */
static void apply_opts(const struct opts *o)
{
	if (o->policy)
		setenv("AGENTGUARD_POLICY", o->policy, 1);
	if (o->workspace)
		setenv("AGENTGUARD_WORKSPACE", o->workspace, 1);
	if (o->log)
		setenv("AGENTGUARD_LOG", o->log, 1);
	if (o->audit)
		setenv("AGENTGUARD_MODE", "audit", 1);
	unsetenv("AGENTGUARD_COMPILED");
	unsetenv("AGENTGUARD_CREATED");
	unsetenv("AGENTGUARD_FAILED");
}

static int parse_opts(int argc, char **argv, struct opts *o, bool allow_audit)
{
	static const struct option longopts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"workspace", required_argument, NULL, 'w'},
		{"log", required_argument, NULL, 'l'},
		{"audit", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:l:ah", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->policy = optarg; break;
		case 'w': o->workspace = optarg; break;
		case 'l': o->log = optarg; break;
		case 'a':
			if (!allow_audit)
				die_usage("--audit only applies to run");
			o->audit = true;
			break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: die_usage("bad option");
		}
	}
	return optind;
}

static int load_session(ag_session_t *s, void **blob, size_t *len)
{
	ag_error_t err;

	if (ag_session_from_env(s, &err) != 0)
		return policy_error(&err);
	if (ag_session_compile(s, blob, len, &err) != 0)
		return policy_error(&err);
	return 0;
}

/* The launched program is judged as a guarded exec would judge it: its
 * exec rules, and whether the preload can follow it at all. Returns 0 to go
 * on, or the exit status for a refusal. */
static int judge_launch(const ag_ruleset_t *rs, char **argv)
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

static int cmd_run(int argc, char **argv)
{
	struct opts o = {0};
	ag_session_t s;
	void *blob;
	size_t len;
	char lib[PATH_MAX], stored[PATH_MAX];

	int i = parse_opts(argc, argv, &o, true);
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		die_usage("run needs a command after --");
	apply_opts(&o);
	int rc = load_session(&s, &blob, &len);
	if (rc != 0)
		return rc;
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
	if (ag_session_created_map(&s, stored, sizeof(stored)) == 0)
		setenv("AGENTGUARD_CREATED", stored, 1);
	setenv("AGENTGUARD_WORKSPACE", s.workspace, 1);
	setenv("AGENTGUARD_LOG", s.log, 1);
	setenv("AGENTGUARD_MODE", s.audit ? "audit" : "enforce", 1);
	if (s.policy[0])
		setenv("AGENTGUARD_POLICY", s.policy, 1);
	if (set_preload(lib) != 0)
		goto err_blob;
	char shims[PATH_MAX], *newpath;
	if (shim_dir(shims, sizeof(shims)) == 0) {
		const char *old = getenv("PATH");
		if (asprintf(&newpath, "%s%s%s", shims, old ? ":" : "", old ? old : "") >= 0) {
			setenv("PATH", newpath, 1);
			free(newpath);
		}
	}
	const ag_ruleset_t *rs = ag_ruleset_view(blob, len, NULL);
	int refused = rs ? judge_launch(rs, argv + i) : 0;
	free(blob);
	if (refused)
		return refused;
	execvp(argv[i], argv + i);
	fprintf(stderr, "agentguard: cannot run %s: %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
err_blob:
	free(blob);
	return EXIT_USAGE;
}

/* Reached as "bash", "git"...: put the guard back and run the real one.
 * The AGENTGUARD_* settings pass through as the parent had them. */
static int shim_main(const char *name, char **argv)
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
	for (const char *const *n = shim_names; *n; n++) {
		if ((size_t)snprintf(entry, sizeof(entry), "%s/%s", dir, *n) >= sizeof(entry))
			return 1;
		unlink(entry);
		if (symlink(self, entry) != 0) {
			fprintf(stderr, "agentguard: cannot create %s: %s\n", entry, strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int cmd_shim(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "install") != 0)
		die_usage("usage: agentguard shim install DIR");
	return install_shims(argv[2]);
}

/* A refused rename or open answered with EPERM, EXDEV or EBUSY reads to
 * many programs as "try another way": Claude Code then overwrites the
 * target in place with an open(O_TRUNC) the preload cannot see. */
static void warn_errnos(const char *file, const ag_ruleset_t *rs)
{
	const uint32_t risky = AG_OPBIT(AG_OP_RENAME) | AG_OPBIT(AG_OP_WRITE) |
			       AG_OPBIT(AG_OP_READ) | AG_OPBIT(AG_OP_CREATE);
	for (size_t i = 0; i < ag_ruleset_nrules(rs); i++) {
		uint32_t ops;
		ag_action_t action;
		int e;
		ag_ruleset_rule(rs, (int)i, &ops, &action, &e);
		if (action != AG_DENY || !(ops & risky) || (e != EPERM && e != EXDEV && e != EBUSY))
			continue;
		fprintf(stderr,
			"agentguard: warning: %s: rule %s refuses rename or open with %s: programs "
			"treat that as \"do it another way\" (a failed rename becomes an in-place "
			"overwrite); Hint: leave \"errno\" out (EACCES) for these operations\n",
			file, ag_ruleset_rule_id(rs, (int)i), ag_errno_to_string(e));
	}
}

static int cmd_check(int argc, char **argv)
{
	ag_session_t s;
	ag_error_t err;
	int bad = 0;

	if (argc < 2)
		die_usage("check needs at least one policy file");
	unsetenv("AGENTGUARD_POLICY");
	if (ag_session_from_env(&s, &err) != 0)
		return policy_error(&err);
	for (int i = 1; i < argc; i++) {
		void *blob;
		size_t len;
		if (strcmp(argv[i], "--") == 0)
			continue;
		snprintf(s.policy, sizeof(s.policy), "%s", argv[i]);
		ag_vars_t v = {.workspace = s.workspace, .home = s.home, .tmpdir = s.tmpdir};
		if (ag_policy_compile_file(argv[i], &v, &blob, &len, &err) != 0) {
			policy_error(&err);
			bad = 1;
			continue;
		}
		const ag_ruleset_t *rs = ag_ruleset_view(blob, len, &err);
		printf("%s: ok, %zu rules, default %s\n", argv[i], rs ? ag_ruleset_nrules(rs) : 0,
		       rs ? ag_action_to_string(ag_ruleset_default(rs)) : "?");
		if (rs)
			warn_errnos(argv[i], rs);
		free(blob);
	}
	return bad ? EXIT_USAGE : 0;
}

/* Which way the last component is taken, as the hooks take it. */
static int resolve_flags(ag_op_t op)
{
	switch (op) {
	case AG_OP_DELETE:
	case AG_OP_RENAME:
	case AG_OP_LINK: return 0;
	default: return AG_RESOLVE_FOLLOW;
	}
}

static int cmd_explain(int argc, char **argv)
{
	struct opts o = {0};
	ag_session_t s;
	void *blob;
	size_t len;
	ag_error_t err;
	char p1[PATH_MAX], p2[PATH_MAX];
	ag_pathinfo_t i1, i2;

	int i = parse_opts(argc, argv, &o, false);
	if (argc - i < 2 || argc - i > 3)
		die_usage("explain needs OP PATH [PATH2]");
	int op = ag_op_from_string(argv[i]);
	if (op < 0)
		die_usage("unknown operation \"%s\"", argv[i]);
	apply_opts(&o);
	int rc = load_session(&s, &blob, &len);
	if (rc != 0)
		return rc;
	const ag_ruleset_t *rs = ag_ruleset_view(blob, len, &err);
	if (!rs)
		return free(blob), policy_error(&err);
	if (ag_resolve(AT_FDCWD, argv[i + 1], resolve_flags(op), p1, sizeof(p1), &i1) != 0) {
		fprintf(stderr, "agentguard: cannot resolve %s: %s\n", argv[i + 1], strerror(errno));
		return free(blob), 1;
	}
	ag_request_t req = {.op = op, .path = p1};
	if (argc - i == 3) {
		if (ag_resolve(AT_FDCWD, argv[i + 2], 0, p2, sizeof(p2), &i2) != 0) {
			fprintf(stderr, "agentguard: cannot resolve %s: %s\n", argv[i + 2],
				strerror(errno));
			return free(blob), 1;
		}
		req.path2 = p2;
		req.op2 = op == AG_OP_LINK ? AG_OP_CREATE : i2.exists ? AG_OP_RENAME : AG_OP_CREATE;
	}
	ag_verdict_t v = ag_decide(rs, &req);
	printf("%s %s %s%s%s (rule %s; workspace %s; policy %s)\n", ag_action_to_string(v.action),
	       ag_op_to_string(op), p1, req.path2 ? " -> " : "", req.path2 ? p2 : "",
	       ag_ruleset_rule_id(rs, v.rule), s.workspace,
	       s.policy[0] ? s.policy : AG_EMBEDDED_SOURCE);
	free(blob);
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(name, "agentguard") != 0)
		for (const char *const *n = shim_names; *n; n++)
			if (strcmp(name, *n) == 0)
				return shim_main(name, argv);
	if (argc < 2)
		die_usage("no command given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts("agentguard " AG_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "explain") == 0)
		return cmd_explain(argc - 1, argv + 1);
	if (strcmp(argv[1], "shim") == 0)
		return cmd_shim(argc - 1, argv + 1);
	die_usage("unknown command \"%s\"", argv[1]);
}
