/* Command lines that delete trees. Each case is written as the agent would
 * type it, then run again behind every prefix that must not change the
 * answer, at every max around the answer and with no target array; then
 * random argv checked against the invariants, and argv too big to be kind. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentguard.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAXT	 64

/* A NULL-terminated word list. */
#define A(...)	   ((const char *const[]){__VA_ARGS__, NULL})
#define COUNT(...) ((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)))

struct tcase {
	const char *const *argv;
	int ret;		 /* -1, 0, or how many targets */
	const char *const *want; /* the targets, when there are any */
};

/* clang-format off */
#define DEL(av, ...) {av, COUNT(__VA_ARGS__), A(__VA_ARGS__)}
#define NONE(av)     {av, 0, NULL}
#define UNSURE(av)   {av, -1, NULL}
/* clang-format on */

static const char *show(const char *const *v)
{
	static __thread char buf[512];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; v && v[i] && len < sizeof(buf) - 8; i++) {
		int w = snprintf(buf + len, sizeof(buf) - len, "%s'%s'", i ? " " : "", v[i]);

		if (w < 0 || (size_t)w >= sizeof(buf) - len) {
			strcpy(buf + sizeof(buf) - 5, "...");
			break;
		}
		len += (size_t)w;
	}
	return buf;
}

/* Targets are pointers into argv (possibly past a "--work-tree="), or the
 * one static ".". */
static bool from_argv(const char *p, const char *const *v)
{
	for (size_t i = 0; v[i]; i++)
		if (p >= v[i] && p <= v[i] + strlen(v[i]))
			return true;
	return strcmp(p, ".") == 0;
}

static const char canary[] = "canary";

/* Runs once with a target array of max slots followed by canaries, and
 * checks the answer, that nothing past max was written, and where each
 * target points. */
static int expect_ret(const char *what, const char *const *v, int max, int ret,
		      const char *const *want)
{
	const char *t[MAXT + 4];
	int got;

	for (size_t i = 0; i < NELEM(t); i++)
		t[i] = canary;
	got = ag_recursive_targets(v, t, max);
	cr_expect(got == ret, "%s: %s (max %d): want %d, got %d", what, show(v), max, ret, got);
	for (size_t i = max > 0 ? (size_t)max : 0; i < NELEM(t); i++)
		cr_expect(t[i] == canary, "%s: %s (max %d): slot %zu written", what, show(v), max,
			  i);
	for (int i = 0; got == ret && i < got; i++) {
		cr_expect(from_argv(t[i], v), "%s: %s: target %d not from argv", what, show(v), i);
		cr_expect(strcmp(t[i], want[i]) == 0, "%s: %s: target %d: want '%s', got '%s'",
			  what, show(v), i, want[i], t[i]);
	}
	return got;
}

static void expect_case(const char *what, const char *const *v, int ret, const char *const *want)
{
	expect_ret(what, v, MAXT, ret, want);
	if (ret > 0) {
		expect_ret(what, v, ret, ret, want);
		expect_ret(what, v, ret - 1, -1, NULL);
		expect_ret(what, v, 0, -1, NULL);
		expect_ret(what, v, -5, -1, NULL);
		cr_expect(ag_recursive_targets(v, NULL, 8) == -1, "%s: %s: NULL targets", what,
			  show(v));
	} else {
		expect_ret(what, v, 0, ret, NULL);
		cr_expect(ag_recursive_targets(v, NULL, 8) == ret, "%s: %s: NULL targets", what,
			  show(v));
	}
}

/* Prefixes that run the same command; the last three also move it to /d,
 * where only absolute targets can still be named. */
static const struct {
	const char *const *words;
	bool chdir;
} wrappers[] = {
    {A("busybox"), false},
    {A("/bin/busybox"), false},
    {A("toybox"), false},
    {A("env"), false},
    {A("/usr/bin/env", "-i"), false},
    {A("env", "-u", "HOME", "FOO=1", "BAR=x=y"), false},
    {A("env", "--", "-", "A=b"), false},
    {A("env", "-S", "-i -u HOME"), false},
    {A("env", "-S-u", "HOME"), false},
    {A("busybox", "env", "--unset=X", "-0v"), false},
    {A("env", "env", "busybox", "env", "-"), false},
    {A("env", "-C", "/d"), true},
    {A("env", "--chdir=/d", "-i"), true},
    {A("env", "-S", "-i -C /d"), true},
};

static const char **wrap(const char *const *pre, const char *const *v)
{
	size_t np = 0, nv = 0;
	const char **out;

	while (pre[np])
		np++;
	while (v[nv])
		nv++;
	out = malloc((np + nv + 1) * sizeof(*out));
	cr_assert(out);
	memcpy(out, pre, np * sizeof(*out));
	memcpy(out + np, v, (nv + 1) * sizeof(*out));
	return out;
}

static void run_cases(const char *suite, const struct tcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		expect_case(suite, c[i].argv, c[i].ret, c[i].want);
		for (size_t w = 0; w < NELEM(wrappers); w++) {
			const char **v = wrap(wrappers[w].words, c[i].argv);
			int ret = c[i].ret;

			for (int k = 0; wrappers[w].chdir && k < ret; k++)
				if (c[i].want[k][0] != '/')
					ret = -1;
			expect_case(suite, v, ret, ret > 0 ? c[i].want : NULL);
			free(v);
		}
	}
}

#define RUN(cases) run_cases(#cases, cases, NELEM(cases))

Test(argv, rm)
{
	const struct tcase rm_cases[] = {
	    DEL(A("rm", "-rf", "x"), "x"),
	    DEL(A("rm", "-fr", "x"), "x"),
	    DEL(A("rm", "-Rf", "x"), "x"),
	    DEL(A("rm", "-rfv", "x"), "x"),
	    DEL(A("rm", "-vrf", "x"), "x"),
	    DEL(A("rm", "-ir", "x"), "x"),
	    DEL(A("rm", "-I", "-R", "x"), "x"),
	    DEL(A("rm", "-r", "x", "y", "z"), "x", "y", "z"),
	    DEL(A("rm", "-R", "x"), "x"),
	    DEL(A("rm", "-r", "-f", "-v", "x"), "x"),
	    DEL(A("rm", "--recursive", "x"), "x"),
	    DEL(A("rm", "--recursive", "--force", "x"), "x"),
	    DEL(A("rm", "--rec", "x"), "x"), /* getopt_long abbreviations */
	    DEL(A("rm", "--r", "x"), "x"),
	    DEL(A("rm", "--recursive=yes", "x"), "x"), /* rm rejects it; counted anyway */
	    DEL(A("rm", "-r", "--interactive=never", "x"), "x"),
	    DEL(A("rm", "-r", "--one-file-system", "--preserve-root=all", "x"), "x"),
	    DEL(A("rm", "-r", "--no-preserve-root", "/"), "/"),
	    DEL(A("rm", "-r", "--verbose", "--dir", "-d", "x"), "x"),
	    DEL(A("rm", "-rf", ".", "..", "/"), ".", "..", "/"),
	    /* GNU getopt permutes: options may follow operands */
	    DEL(A("rm", "x", "-r"), "x"),
	    DEL(A("rm", "x", "-rf", "y"), "x", "y"),
	    DEL(A("rm", "x", "--recursive"), "x"),
	    /* "--" ends options, once; a lone "-" is an operand */
	    DEL(A("rm", "-r", "--", "-rf"), "-rf"),
	    DEL(A("rm", "-r", "--", "x", "--", "y"), "x", "--", "y"),
	    DEL(A("rm", "-rf", "x", "--", "-y"), "x", "-y"),
	    DEL(A("rm", "-r", "-"), "-"),
	    DEL(A("rm", "-r", ""), ""),
	    DEL(A("/bin/rm", "-rf", "/x"), "/x"),
	    DEL(A("/usr/bin/rm", "-rf", "/home/u/x"), "/home/u/x"),
	    DEL(A("./rm", "-rf", "x"), "x"),
	    DEL(A("rm", "-r", "a b", "c\nd"), "a b", "c\nd"),
	    NONE(A("rm", "--", "-r", "x")),
	    NONE(A("rm", "--force", "--", "--recursive")),
	    NONE(A("rm", "-f", "x")),
	    NONE(A("rm", "-d", "x")),
	    NONE(A("rm", "-f", "--dir", "x")),
	    NONE(A("rm", "--force", "--verbose", "--interactive=never", "x")),
	    NONE(A("rm", "x")),
	    NONE(A("rm")),
	    NONE(A("rm", "-rf")), /* recursive, but nothing to delete */
	    NONE(A("rm", "-r", "--")),
	    NONE(A("rm", "--")),
	    NONE(A("rm", "--recursivex", "x")), /* not a prefix of --recursive */
	    NONE(A("rm", "--re-cursive", "x")),
	    NONE(A("rm", "---recursive", "x")),
	};
	RUN(rm_cases);
}

Test(argv, find)
{
	const struct tcase find_cases[] = {
	    DEL(A("find", ".", "-name", "*.o", "-delete"), "."),
	    DEL(A("find", "-delete"), "."),
	    DEL(A("find", "-name", "x", "-delete"), "."),
	    DEL(A("/usr/bin/find", "/x", "-delete"), "/x"),
	    DEL(A("find", "a", "b", "-type", "f", "-exec", "rm", "-f", "{}", "+"), "a", "b"),
	    DEL(A("find", "-L", "a", "-execdir", "/bin/rm", "{}", ";"), "a"),
	    DEL(A("find", "a", "-exec", "rm", "-rf", "{}", "+", "-print"), "a"),
	    DEL(A("find", "a", "-execdir", "rm", "--", "{}", "+"), "a"),
	    DEL(A("find", "a", "-ok", "rm", "{}", ";"), "a"),
	    DEL(A("find", "a", "-okdir", "rm", "-rf", "{}", ";"), "a"),
	    DEL(A("find", "a", "-exec", "echo", "{}", ";", "-delete"), "a"),
	    DEL(A("find", "a", "-exec", "echo", "{}", "+", "-delete"), "a"),
	    DEL(A("find", "a", "-exec", "rm", "{}", "x", "+", ";"),
		"a"),						   /* "+" ends only after {} */
	    DEL(A("find", "a", "-ok", "rm", "{}", "+", ";"), "a"), /* -ok takes no "+" */
	    DEL(A("find", "a", "-exec", "busybox", "rm", "{}", ";"), "a"),
	    DEL(A("find", "a", "-exec", "env", "-i", "/bin/rm", "{}", ";"), "a"),
	    DEL(A("find", "a", "-exec", "env", "-S", "rm -f", "{}", ";"), "a"),
	    DEL(A("find", "-H", "-L", "-P", "a", "b", "-delete"), "a", "b"),
	    DEL(A("find", "-D", "tree", "a", "-delete"), "a"),
	    DEL(A("find", "-O3", "a", "-delete"), "a"),
	    DEL(A("find", "-P", "-D", "stat", "-O1", "--", "a", "-delete"), "a"),
	    DEL(A("find", "--", "-delete"), "."),
	    DEL(A("find", "a", "!", "-name", "x", "-delete"), "a"),
	    DEL(A("find", "a", "(", "-name", "x", ")", "-delete"), "a"),
	    DEL(A("find", "!", "-name", "x", "-delete"), "."),
	    DEL(A("find", "(", "-name", "x", ")", "-delete"), "."),
	    /* a lone "-", "," or ")" is a start point, not an expression */
	    DEL(A("find", ",", "a", "-delete"), ",", "a"),
	    DEL(A("find", ")", "-delete"), ")"),
	    DEL(A("find", "-", "-delete"), "-"),
	    DEL(A("find", "a", "-name", "-delete"), "a"), /* over-reported, and said so */
	    NONE(A("find", "a", "-exec", "echo", "{}", ";")),
	    NONE(A("find", "a", "-exec", "echo", "-delete", ";")),
	    NONE(A("find", "a", "-exec", "echo", "-delete", "{}", "+")),
	    NONE(A("find", "a", "-exec", "rmdir", "{}", "+")),
	    NONE(A("find", "a", "-exec", "rm", "{}")), /* unterminated: find runs nothing */
	    NONE(A("find", "a", "-ok", "rm", "{}", "+")),
	    NONE(A("find", "a", "-exec", "{}", ";")),
	    NONE(A("find", "a", "-print")),
	    NONE(A("find", "-L", "a")),
	    NONE(A("find")),
	    NONE(A("find", "-files0-from", "list", "-print")),
	    UNSURE(A("find", "-files0-from", "list", "-delete")),
	    UNSURE(A("find", "-files0-from", "-", "-exec", "rm", "{}", "+")),
	};
	RUN(find_cases);
}

Test(argv, git)
{
	const struct tcase git_cases[] = {
	    DEL(A("git", "clean", "-f"), "."),
	    DEL(A("git", "clean", "-fdx"), "."),
	    DEL(A("git", "clean", "-xdf"), "."),
	    DEL(A("git", "clean", "-ff"), "."),
	    DEL(A("git", "clean", "--force"), "."),
	    DEL(A("git", "clean", "--for", "-d"), "."),
	    DEL(A("git", "clean", "-d", "-x", "-f"), "."),
	    DEL(A("git", "clean", "-X", "-f", "--", "sub"), "."),
	    DEL(A("git", "clean", "-f", "-q", "sub"), "."),
	    /* decisions: -i deletes what stdin answers, and clean.requireForce
	     * lives in config we cannot see */
	    DEL(A("git", "clean", "-i"), "."),
	    DEL(A("git", "clean", "--interactive", "-d"), "."),
	    DEL(A("git", "clean", "-d"), "."),
	    DEL(A("git", "clean"), "."),
	    DEL(A("git", "-c", "clean.requireForce=false", "clean", "-d"), "."),
	    /* what looks like -n but is not */
	    DEL(A("git", "clean", "-n", "--no-dry-run", "-f"), "."),
	    DEL(A("git", "clean", "-n", "--no-dry", "-f"), "."),
	    DEL(A("git", "clean", "-f", "--", "-n"), "."),
	    DEL(A("git", "clean", "-f", "--end-of-options", "-n"), "."),
	    DEL(A("git", "clean", "-e", "-n", "-f"), "."),
	    DEL(A("git", "clean", "-fe", "-n"), "."),
	    DEL(A("git", "clean", "-fen"), "."),
	    DEL(A("git", "clean", "--exclude", "-n", "-f"), "."),
	    DEL(A("git", "clean", "--exc", "-n", "-f"), "."),
	    DEL(A("git", "clean", "--exclude=-n", "-f"), "."),
	    /* where */
	    DEL(A("git", "-C", "/x", "clean", "-fdx"), "/x"),
	    DEL(A("git", "-C", "/x", "clean"), "/x"),
	    DEL(A("git", "-C", "a", "clean", "-f"), "a"),
	    DEL(A("git", "-C", "x", "-C", "/y", "clean", "-f"), "/y"),
	    DEL(A("git", "-C", "/x", "-C", "", "clean", "-f"), "/x"),
	    DEL(A("git", "-C", "", "clean", "-f"), "."),
	    DEL(A("git", "-C", "/x", "-C", "y", "-C", "/z", "clean", "-f"), "/z"),
	    DEL(A("git", "--work-tree=/w", "clean", "-f"), "/w"),
	    DEL(A("git", "--work-tree", "/w", "clean", "-f"), "/w"),
	    DEL(A("git", "--work-tree=w", "clean", "-f"), "w"),
	    DEL(A("git", "-C", "/x", "--work-tree=/w", "clean", "-f"), "/w"),
	    DEL(A("git", "--work-tree=/w", "-C", "x", "clean", "-f"), "/w"),
	    DEL(A("git", "--git-dir=/r/.git", "clean", "-f"), "."),
	    DEL(A("git", "--git-dir", "/r/.git", "clean", "-f"), "."),
	    DEL(A("git", "-p", "--no-pager", "-P", "--paginate", "--bare", "--literal-pathspecs",
		  "--glob-pathspecs", "--noglob-pathspecs", "--icase-pathspecs",
		  "--no-replace-objects", "--no-optional-locks", "--namespace", "ns",
		  "--super-prefix", "p/", "--config-env", "a.b=C", "--shallow-file", "s",
		  "--attr-source", "HEAD", "--exec-path=/x", "clean", "-f"),
		"."),
	    DEL(A("/usr/lib/git-core/git-clean", "-fdx"), "."),
	    DEL(A("git-clean", "-f"), "."),
	    NONE(A("git-clean", "-n")),
	    NONE(A("git", "clean", "-n")),
	    NONE(A("git", "clean", "-n", "-fd")),
	    NONE(A("git", "clean", "-fdn")),
	    NONE(A("git", "clean", "--dry-run", "-f")),
	    NONE(A("git", "clean", "--dry", "-f")),
	    NONE(A("git", "clean", "-f", "sub", "-n")), /* parse-options permutes */
	    NONE(A("git", "clean", "-i", "-n")),	/* -n wins over -i */
	    NONE(A("git", "clean", "--exclude=x", "-n")),
	    NONE(A("git", "-C", "/x", "clean", "-n", "-fdx")),
	    NONE(A("git", "status")),
	    NONE(A("git", "-C", "/x", "status")),
	    NONE(A("git", "-c", "clean", "status")),
	    NONE(A("git", "log", "clean")),
	    NONE(A("git", "rm", "-r", "x")),
	    NONE(A("git", "cleanup")),
	    NONE(A("git")),
	    NONE(A("git", "-C")),
	    NONE(A("git", "-c")),
	    NONE(A("git", "--work-tree")),
	    NONE(A("git", "-C", "/x")),
	    NONE(A("git", "--help", "clean", "-fdx")),
	    NONE(A("git", "-h", "clean", "-f")),
	    NONE(A("git", "--version", "clean", "-f")),
	    NONE(A("git", "--exec-path", "clean", "-f")),
	    NONE(A("git", "--list-cmds=main", "clean", "-f")),
	    NONE(A("gitk", "clean", "-f")),
	    UNSURE(A("git", "-C", "/x", "-C", "y", "clean", "-f")),
	    UNSURE(A("git", "-C", "x", "-C", "y", "clean", "-f")),
	    UNSURE(A("git", "-C", "/x", "--work-tree=w", "clean", "-f")),
	    UNSURE(A("git", "--work-tree", "w", "-C", "/x", "clean", "-f")),
	};
	RUN(git_cases);
}

Test(argv, busybox_and_env)
{
	const struct tcase prefix_cases[] = {
	    DEL(A("busybox", "rm", "-rf", "a", "b"), "a", "b"),
	    DEL(A("/bin/busybox", "rm", "-rf", "a"), "a"),
	    DEL(A("busybox", "/bin/rm", "-rf", "a"), "a"),
	    DEL(A("toybox", "rm", "-r", "a"), "a"),
	    DEL(A("busybox", "find", "a", "-delete"), "a"),
	    DEL(A("busybox", "env", "rm", "-rf", "a"), "a"),
	    DEL(A("env", "rm", "-rf", "/x"), "/x"),
	    DEL(A("/usr/bin/env", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-i", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-i", "-u", "HOME", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-iu", "HOME", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-uHOME", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--unset=HOME", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--unset", "HOME", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--un", "HOME", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--ignore-env", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "FOO=1", "BAR=2", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-i", "FOO=1", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--", "-", "FOO=1", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-0", "-v", "--debug", "--block-signal", "--default-signal=PIPE",
		  "--ignore-signal=INT", "--list-signal-handling", "rm", "-r", "/x"),
		"/x"),
	    DEL(A("env", "-a", "foo", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--argv0=foo", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "env", "env", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-C", "/d", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--chdir=/d", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--ch", "/d", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-C/d", "git", "-C", "/r", "clean", "-f"), "/r"),
	    /* -S: the words are spliced in before the rest of argv */
	    DEL(A("env", "-S", "-i", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-S-i", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-S", "-u FOO", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-S-u", "FOO", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-S", " -i\t-u  FOO  BAR=1 ", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-S", "", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-S", "-", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "--split-string=-i", "rm", "-rf", "/x"), "/x"),
	    DEL(A("env", "-S", "-S", "-i", "rm", "-rf", "/x"), "/x"),
	    UNSURE(A("env", "-C", "/d", "rm", "-rf", "x")),
	    UNSURE(A("env", "-C", "/d", "find", "-delete")),
	    UNSURE(A("env", "-C", "/d", "git", "clean", "-f")),
	    UNSURE(A("env", "-S", "rm -rf", "/x")),
	    UNSURE(A("env", "-Srm -rf", "/x")),
	    UNSURE(A("env", "--split-string=rm -rf /x")),
	    UNSURE(A("env", "-S", "FOO=1 'rm' -rf", "/x")),
	    UNSURE(A("env", "-S", "\"/bin/rm\" -rf", "/x")),
	    UNSURE(A("env", "-S", "r\\m -rf", "/x")),
	    UNSURE(A("env", "-S", "${RM} -rf", "/x")),
	    UNSURE(A("env", "-S", "-S'rm -rf' /x")),
	    UNSURE(A("env", "-S", "-C /d", "rm", "-rf", "x")),
	    UNSURE(A("env", "-S", "busybox rm", "-rf", "/x")),
	    UNSURE(A("env", "-S", "-- rm", "-r", "/x")),
	    NONE(A("env", "-S", "python3 -u", "script.py")),
	    NONE(A("env", "-S", "python3 -u", "rm", "-rf", "/x")), /* python3 runs "rm" */
	    NONE(A("env", "-S", "'my prog' rm", "-rf", "/x")),
	    NONE(A("env", "-S", "/opt/$V/bin/python3", "rm")),
	    NONE(A("env", "-S")),
	    NONE(A("env", "FOO=1", "-i", "rm", "-rf", "/x")), /* runs a program named -i */
	    NONE(A("env", "--help", "rm", "-rf", "/x")),
	    NONE(A("env", "--version", "rm", "-rf", "/x")),
	    NONE(A("env", "--i", "rm", "-rf", "/x")), /* ambiguous: env refuses */
	    NONE(A("env", "--bogus", "rm", "-rf", "/x")),
	    NONE(A("env", "-u")),
	    NONE(A("env", "-i")),
	    NONE(A("env", "FOO=1")),
	    NONE(A("env")),
	    NONE(A("busybox")),
	    NONE(A("busybox", "--list")),
	    NONE(A("busybox", "ls", "rm", "-rf", "/x")),
	    NONE(A("busybox", "busybox", "busybox")),
	};
	RUN(prefix_cases);
}

Test(argv, other_programs)
{
	const struct tcase other_cases[] = {
	    NONE(A("rmdir", "-p", "x")),
	    NONE(A("rsync", "-a", "--delete", "src/", "dst/")),
	    NONE(A("trash", "-r", "x")),
	    NONE(A("srm", "-r", "x")),
	    NONE(A("rm.sh", "-rf", "x")),
	    NONE(A("RM", "-rf", "x")),
	    NONE(A("/bin/rm/", "-rf", "x")),
	    NONE(A("unlink", "x")),
	    NONE(A("shred", "-u", "x")),
	    NONE(A("nohup", "rm", "-rf", "/x")), /* its exec of rm is checked on its own */
	    NONE(A("sh", "-c", "rm -rf /x")),
	    NONE(A("xargs", "rm", "-rf")),
	    NONE(A("", "-rf", "x")),
	    NONE(A("findx", "-delete")),
	    NONE(A("envy", "rm", "-rf", "/x")),
	    NONE(A("python3", "-c", "import shutil; shutil.rmtree('/x')")),
	};
	RUN(other_cases);
}

Test(argv, null_and_empty)
{
	const char *t[4] = {canary, canary, canary, canary};
	const char *const empty[] = {NULL};
	const char *const only_null[] = {NULL, "rm", "-rf", "/x", NULL};
	const char *const nothing_after[] = {"rm", "-rf", NULL, "/x", NULL};

	cr_expect(ag_recursive_targets(NULL, t, 4) == 0);
	cr_expect(ag_recursive_targets(NULL, NULL, 0) == 0);
	cr_expect(ag_recursive_targets(empty, t, 4) == 0);
	cr_expect(ag_recursive_targets(only_null, t, 4) == 0);
	cr_expect(ag_recursive_targets(nothing_after, t, 4) == 0);
	cr_expect(ag_recursive_targets(A("rm", "-rf", "/x"), NULL, 0) == -1);
	cr_expect(ag_recursive_targets(A("rm", "-rf", "/x"), NULL, 1) == -1);
	cr_expect(ag_recursive_targets(A("rm", "-rf", "/x"), t, INT32_MIN) == -1);
	cr_expect(ag_recursive_targets(A("rm", "-rf", "/x"), t, 1) == 1);
	cr_expect(t[1] == canary && t[2] == canary);
}

/* The dot for find and git is one static string, never a copy. */
Test(argv, dot_is_static)
{
	const char *a[1], *b[1];

	cr_assert(ag_recursive_targets(A("find", "-delete"), a, 1) == 1);
	cr_assert(ag_recursive_targets(A("git", "clean", "-f"), b, 1) == 1);
	cr_expect(a[0] == b[0] && strcmp(a[0], ".") == 0);
}

static const char **big_argv(size_t n, const char *const *head, const char *fill,
			     const char *const *tail)
{
	size_t nh = 0, nt = 0;
	const char **v;

	while (head[nh])
		nh++;
	while (tail && tail[nt])
		nt++;
	v = malloc((nh + n + nt + 1) * sizeof(*v));
	cr_assert(v);
	memcpy(v, head, nh * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[nh + i] = fill;
	memcpy(v + nh + n, tail ? tail : A(NULL), (nt + 1) * sizeof(*v));
	return v;
}

Test(argv, ten_thousand_operands)
{
	static const char *t[10000];
	const char **v = big_argv(10000, A("rm", "-rf"), "x", NULL);

	cr_expect(ag_recursive_targets(v, t, 64) == -1);
	cr_expect(ag_recursive_targets(v, t, 9999) == -1);
	cr_expect(ag_recursive_targets(v, t, 10000) == 10000);
	for (size_t i = 0; i < 10000; i++)
		cr_expect(t[i] == v[2 + i]);
	free(v);

	/* the flag that makes it recursive comes last */
	v = big_argv(10000, A("rm"), "x", A("-r"));
	cr_expect(ag_recursive_targets(v, t, 64) == -1);
	free(v);
	v = big_argv(10000, A("rm"), "x", A("-f"));
	cr_expect(ag_recursive_targets(v, t, 64) == 0);
	free(v);

	v = big_argv(10000, A("find"), "dir", A("-delete"));
	cr_expect(ag_recursive_targets(v, t, 64) == -1);
	cr_expect(ag_recursive_targets(v, t, 10000) == 10000);
	free(v);
}

/* Linear in the size of argv, and no recursion however it nests. */
Test(argv, huge_and_deep, .timeout = 60)
{
	const char *t[4];
	size_t m = 1000000;
	const char **v;
	char *s;

	v = big_argv(m, A("rm", "-r"), "x", NULL);
	cr_expect(ag_recursive_targets(v, t, 4) == -1);
	free(v);
	v = big_argv(m, A("env"), "env", A("rm", "-rf", "/x"));
	cr_expect(ag_recursive_targets(v, t, 4) == 1 && !strcmp(t[0], "/x"));
	free(v);
	v = big_argv(m, A("busybox"), "busybox", A("rm", "-rf", "/x"));
	cr_expect(ag_recursive_targets(v, t, 4) == 1);
	free(v);
	v = big_argv(m, A("env"), "-i", A("rm", "-rf", "/x"));
	cr_expect(ag_recursive_targets(v, t, 4) == 1);
	free(v);
	v = big_argv(m, A("git"), "-p", A("clean", "-f"));
	cr_expect(ag_recursive_targets(v, t, 4) == 1);
	free(v);
	v = big_argv(m, A("git", "clean"), "-f", A("-n"));
	cr_expect(ag_recursive_targets(v, t, 4) == 0);
	free(v);
	v = big_argv(m, A("find", "a", "-exec", "echo", "{}"), "x", A(";", "-delete"));
	cr_expect(ag_recursive_targets(v, t, 4) == 1);
	free(v);
	v = big_argv(m, A("find", "a", "-exec", "echo", "{}"), "-delete", NULL);
	cr_expect(ag_recursive_targets(v, t, 4) == 0);
	free(v);

	/* one huge word: a program path, an option bundle, a -S string */
	s = malloc(m + 16);
	cr_assert(s);
	memset(s, 'a', m);
	strcpy(s + m, "/rm");
	cr_expect(ag_recursive_targets(A(s, "-rf", "/x"), t, 4) == 1);
	memset(s, 'f', m);
	s[0] = '-';
	strcpy(s + m, "R");
	cr_expect(ag_recursive_targets(A("rm", s, "/x"), t, 4) == 1);
	for (size_t i = 0; i < m; i += 3)
		memcpy(s + i, "-i ", 3);
	strcpy(s + m - m % 3, " rm");
	cr_expect(ag_recursive_targets(A("env", "-S", s, "-rf", "/x"), t, 4) == -1);
	memset(s, '\'', m);
	s[m] = '\0';
	cr_expect(ag_recursive_targets(A("env", "-S", s, "rm", "-rf", "/x"), t, 4) == 0);
	free(s);
}

/* ---- random argv ------------------------------------------------------------
 * Words that steer every parser; any mix of them must give an answer in
 * range, write no slot past max, point only into argv, and agree with itself
 * at other max values and behind busybox. */
static const char *const vocab[] = {
    "rm",
    "/bin/rm",
    "find",
    "git",
    "git-clean",
    "env",
    "busybox",
    "toybox",
    "clean",
    "-r",
    "-rf",
    "-f",
    "-R",
    "--recursive",
    "--rec",
    "--",
    "-",
    "",
    "-n",
    "-fdx",
    "-e",
    "-C",
    "/abs",
    "rel",
    "-c",
    "--work-tree",
    "--work-tree=/w",
    "--work-tree=w",
    "-delete",
    "-exec",
    "-execdir",
    "-ok",
    "{}",
    ";",
    "+",
    "-L",
    "-D",
    "-O2",
    "(",
    "!",
    ",",
    "-S",
    "rm -rf",
    "-S'rm' x",
    "-i",
    "-u",
    "FOO=1",
    "-a",
    "--chdir=/d",
    "-S-i",
    "${X}",
    "--split-string=-i",
    "-files0-from",
    "--end-of-options",
    "--dry-run",
    "--no-dry-run",
    "-name",
    "--exclude",
    "-fe",
    "\"",
    "'",
    "\\",
    "-S\"rm",
    "x y",
    "-Srm\\",
    "-S'",
};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

Test(argv, random_invariants)
{
	const char *v[16], *vb[17], *u[MAXT + 4];

	for (int iter = 0; iter < 200000; iter++) {
		size_t n = rng() % 12;
		int got, max = (int)(rng() % 5);

		for (size_t i = 0; i < n; i++)
			v[i] = vocab[rng() % NELEM(vocab)];
		v[n] = NULL;
		got = expect_ret("random", v, MAXT, ag_recursive_targets(v, u, MAXT), u);
		cr_assert(got >= -1 && got <= MAXT, "%s: %d", show(v), got);
		if (got > 0) {
			expect_ret("random exact", v, got, got, u);
			expect_ret("random short", v, got - 1, -1, NULL);
		}
		expect_ret("random small", v, max, got > max ? -1 : got, u);

		vb[0] = "busybox";
		memcpy(vb + 1, v, (n + 1) * sizeof(*v));
		expect_ret("random busybox", vb, MAXT, got, u);
	}
}
