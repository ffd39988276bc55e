/* Helpers shared by the agentguard commands: errors, where the install
 * lives, the session options. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("agentguard: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nHint: agentguard --help\n", stderr);
	exit(EXIT_USAGE);
}

int policy_error(const ag_error_t *err)
{
	if (err->line > 0)
		fprintf(stderr, "agentguard: %s:%d:%d: %s\n", err->source, err->line, err->column,
			err->text);
	else
		fprintf(stderr, "agentguard: %s: %s\n", err->source, err->text);
	return EXIT_USAGE;
}

int self_exe(char *out, size_t sz)
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
int beside_me(const char *rel, char *out, size_t sz)
{
	char self[PATH_MAX], real[PATH_MAX];
	if (self_exe(self, sizeof(self)) != 0 ||
	    (size_t)snprintf(out, sz, "%s/%s", dirname(self), rel) >= sz || !realpath(out, real))
		return -1;
	snprintf(out, sz, "%s", real);
	return 0;
}

int find_library(char *out, size_t sz)
{
	return beside_me("../lib/libagentguard.so", out, sz);
}

int shim_dir(char *out, size_t sz)
{
	return beside_me("../lib/agentguard/shims", out, sz);
}

/* Whether path is this very program (a shim's link to it, or a hard
 * link): by device and inode, this program's read once. */
static bool is_self(const char *path)
{
	static struct stat me;
	static int known = -1;
	struct stat st;

	if (known < 0)
		known = stat("/proc/self/exe", &me) == 0;
	return known && stat(path, &st) == 0 && st.st_dev == me.st_dev && st.st_ino == me.st_ino;
}

/* The first NAME on PATH that is not this program (under any shim name). */
int find_real(const char *name, char *out, size_t sz)
{
	const char *path = getenv("PATH");

	for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");
		if ((size_t)snprintf(out, sz, "%.*s/%s", (int)len, p, name) < sz &&
		    access(out, X_OK) == 0 && !is_self(out))
			return 0;
		p += len;
		if (*p == ':')
			p++;
	}
	return -1;
}

/* The library first; whatever else the user preloads stays after it. */
int set_preload(const char *lib)
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

int mkdir_parents(const char *path)
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

/* Options become the environment the session is read from, so the
 * launcher and a bare LD_PRELOAD reach the same session by the same code. */
void apply_opts(const struct opts *o)
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
	unsetenv("AGENTGUARD_FLOOR");
}

static const char run_help[] =
	"usage: agentguard run [--policy FILE] [--workspace DIR] [--log FILE] [--audit] [--no-floor]\n"
	"                      -- CMD [ARG...]\n"
	"\n"
	"Runs CMD with libagentguard.so preloaded, under the kernel floor (Landlock and\n"
	"seccomp derived from the same policy) where the kernel offers it, and exits\n"
	"with CMD's status; 2 on a usage or policy error, 126 when CMD is refused.\n"
	"\n"
	"  --policy FILE     the policy (default: AGENTGUARD_POLICY, else the built-in one)\n"
	"  --workspace DIR   the workspace (default: AGENTGUARD_WORKSPACE, else the git\n"
	"                    top level of the current directory, else the directory)\n"
	"  --log FILE        the log (default: ~/.local/state/agentguard/log.jsonl)\n"
	"  --audit           refuse nothing; log what would have been refused\n"
	"  --no-floor        the preload alone, without Landlock and seccomp\n";

int parse_opts(int argc, char **argv, struct opts *o, bool allow_audit)
{
	static const struct option longopts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"workspace", required_argument, NULL, 'w'},
		{"log", required_argument, NULL, 'l'},
		{"audit", no_argument, NULL, 'a'},
		{"no-floor", no_argument, NULL, 'F'},
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
		case 'F':
			if (!allow_audit)
				die_usage("--no-floor only applies to run");
			o->no_floor = true;
			break;
		case 'a':
			if (!allow_audit)
				die_usage("--audit only applies to run");
			o->audit = true;
			break;
		case 'h': fputs(allow_audit ? run_help : usage_text, stdout); exit(0);
		default: die_usage("bad option");
		}
	}
	return optind;
}

/* launch: the launcher's own, which may reuse (and leaves) the memo of
 * what the policy compiled to in the state directory; the other commands
 * compile and write nothing there. */
int load_session(ag_session_t *s, void **blob, size_t *len, bool launch)
{
	ag_error_t err;

	if (ag_session_from_env(s, &err) != 0)
		return policy_error(&err);
	if ((launch ? ag_session_compile_cached : ag_session_compile)(s, blob, len, &err) != 0)
		return policy_error(&err);
	return 0;
}

