/* Recursive deletes seen on a command line, before the program starts.
 *
 * The per-call hooks already refuse each unlink a guarded rm would make, but
 * by then "rm -rf ~/x" has deleted whatever the guard allowed and stopped
 * half way. Reading the argv first lets the exec hook refuse the whole
 * command, which the agent understands far better than a trail of EACCES.
 *
 * Each program is parsed the way its own option parser does it (GNU rm,
 * GNU find, git, GNU env), and where the two could disagree we err towards
 * reporting a delete: a false report costs one refused command whose target
 * is outside anyway, a missed one costs the user's files. Where the targets
 * cannot be told from argv alone (a chdir we cannot apply without building a
 * path, a command hidden inside an "env -S" string, find reading its start
 * points from a file) the answer is -1, as for too many targets, so the
 * caller falls back to its conservative check.
 *
 * Wrappers that exec their command (nohup, nice, timeout, xargs, sh -c, ...)
 * need no parsing here: the wrapped exec comes through the hook again with
 * its own argv. busybox and toybox do need it, since they run the applet in
 * the same process, often statically linked; env is parsed too so that the
 * refusal names the command the agent typed.
 *
 * Everything is pure: no allocation, no I/O, no state but the constant
 * tables, so it may run in a vfork child. Each argument is looked at a
 * bounded number of times, so any argv costs linear time, and nothing
 * recurses, so no argv can exhaust the stack. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "agentguard.h"
#include "str.h"

#define UNSURE (-1)

static const char dot[] = ".";

enum prog { P_NONE, P_RM, P_FIND, P_GIT, P_GIT_CLEAN, P_ENV, P_MULTI, P_UNSURE };

/* One word of a command line. Words cut from an "env -S" string are not
 * NUL-terminated and may still carry the quotes env would remove. */
struct span {
	const char *p;
	size_t n;
	bool split;
};

struct out {
	const char **t;
	int max, n;
	bool over;
};

AG_HOT_TEXT static void put(struct out *o, const char *s)
{
	if (o->n < o->max)
		o->t[o->n++] = s;
	else
		o->over = true;
}

AG_HOT_TEXT static struct span word(const char *s)
{
	return (struct span){s, ag_strlen(s), false};
}

/* The program a word names, by its base name, the way busybox picks an
 * applet. In a -S word the quotes and backslashes env would strip are
 * skipped; a '$' there means env substitutes a variable we cannot see. */
AG_HOT_TEXT static enum prog classify(struct span w)
{
	static const struct {
		const char *name;
		enum prog prog;
	} names[] = {
	    {"rm", P_RM},   {"find", P_FIND},	  {"git", P_GIT},      {"git-clean", P_GIT_CLEAN},
	    {"env", P_ENV}, {"busybox", P_MULTI}, {"toybox", P_MULTI},
	};
	char base[10];
	size_t k = 0;
	bool var = false;

	for (size_t i = 0; i < w.n; i++) {
		char c = w.p[i];

		if (c == '/') {
			k = 0;
			var = false;
		} else if (w.split && (c == '\'' || c == '"' || c == '\\')) {
			continue;
		} else {
			var |= w.split && c == '$';
			if (k < sizeof(base))
				base[k] = c;
			k++;
		}
	}
	if (var)
		return P_UNSURE;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (k == ag_strlen(names[i].name) && ag_memeq(base, names[i].name, k))
			return names[i].prog;
	return P_NONE;
}

/* getopt_long takes any unambiguous prefix of a long name ("--rec"); the
 * name ends at '=' when a value is attached. */
AG_HOT_TEXT static bool long_is(const char *arg, const char *name)
{
	size_t n = strcspn(arg, "=");

	return n > 0 && n <= ag_strlen(name) && ag_memeq(arg, name, n);
}

/* ---- env ------------------------------------------------------------------
 * GNU env stops at its first operand ("+" in its getopt string), takes a
 * lone "-" as -i, then NAME=VALUE words, then the command. -S splits its
 * value into words spliced in front of the remaining arguments, which may
 * hold further options, so the scan below reads from the -S string first
 * and from argv after. */

struct words {
	const char *const *v;
	size_t i, n;	     /* the next argv word, and the end */
	const char *sp, *se; /* what is left of a -S string */
};

AG_HOT_TEXT static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Quotes group and a backslash escapes, as env -S has them; its ${VAR},
 * \_ and # comments are not interpreted (a '$' makes classify unsure). */
AG_HOT_TEXT static bool next_word(struct words *w, struct span *out)
{
	while (w->sp < w->se && is_blank(*w->sp))
		w->sp++;
	if (w->sp < w->se) {
		const char *b = w->sp;
		char quote = 0;

		for (; w->sp < w->se; w->sp++) {
			char c = *w->sp;

			if (c == '\\' && quote != '\'' && w->sp + 1 < w->se)
				w->sp++;
			else if (quote && c == quote)
				quote = 0;
			else if (!quote && (c == '\'' || c == '"'))
				quote = c;
			else if (!quote && is_blank(c))
				break;
		}
		*out = (struct span){b, (size_t)(w->sp - b), true};
		return true;
	}
	if (w->i < w->n) {
		*out = word(w->v[w->i++]);
		return true;
	}
	return false;
}

enum { ENV_FLAG, ENV_ARG, ENV_CHDIR, ENV_SPLIT, ENV_EXIT };
enum { OPT_STOP = 0, OPT_NEXT = 1, OPT_END = 2 }; /* or UNSURE */

AG_HOT_TEXT static int env_long(const char *p, size_t n)
{
	static const struct {
		const char *name;
		int kind;
	} opts[] = {
	    {"ignore-environment", ENV_FLAG},
	    {"null", ENV_FLAG},
	    {"unset", ENV_ARG},
	    {"chdir", ENV_CHDIR},
	    {"split-string", ENV_SPLIT},
	    {"argv0", ENV_ARG},		/* newer coreutils; older ones fail on it */
	    {"block-signal", ENV_FLAG}, /* [=SIG]: optional values are attached */
	    {"default-signal", ENV_FLAG},
	    {"ignore-signal", ENV_FLAG},
	    {"list-signal-handling", ENV_FLAG},
	    {"debug", ENV_FLAG},
	    {"help", ENV_EXIT},
	    {"version", ENV_EXIT},
	};
	int hit = -1;

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (ag_strlen(opts[i].name) < n || !ag_memeq(opts[i].name, p, n))
			continue;
		if (opts[i].name[n] == '\0')
			return opts[i].kind;
		if (hit >= 0)
			return ENV_EXIT; /* ambiguous: env refuses to run */
		hit = opts[i].kind;
	}
	return hit < 0 ? ENV_EXIT : hit;
}

AG_HOT_TEXT static int env_short(char c)
{
	switch (c) {
	case 'u':
	case 'a': return ENV_ARG;
	case 'C': return ENV_CHDIR;
	case 'S': return ENV_SPLIT;
	default: return ENV_FLAG; /* -i, -0, -v; an unknown letter makes env fail */
	}
}

AG_HOT_TEXT static int env_value(struct words *w, int kind, struct span val, bool *chdir)
{
	if (kind == ENV_CHDIR)
		*chdir = true;
	if (kind == ENV_SPLIT) {
		/* A -S inside a -S string splices into the middle of the first
		 * one; one level is all the scan keeps. */
		if (val.split)
			return UNSURE;
		w->sp = val.p;
		w->se = val.p + val.n;
	}
	return OPT_NEXT;
}

/* One option word, starting with '-' and longer than that. */
AG_HOT_TEXT static int env_option(struct words *w, struct span a, bool *chdir)
{
	struct span val;

	if (a.p[1] == '-') {
		const char *name = a.p + 2;
		size_t len = a.n - 2;
		const char *eq = memchr(name, '=', len);
		size_t nl = eq ? (size_t)(eq - name) : len;
		int kind;

		if (len == 0)
			return OPT_END;
		kind = env_long(name, nl);
		if (kind == ENV_EXIT)
			return OPT_STOP;
		if (kind == ENV_FLAG)
			return OPT_NEXT;
		if (eq)
			val = (struct span){eq + 1, len - nl - 1, a.split};
		else if (!next_word(w, &val))
			return OPT_STOP;
		return env_value(w, kind, val, chdir);
	}
	for (size_t k = 1; k < a.n; k++) {
		int kind = env_short(a.p[k]);

		if (kind == ENV_FLAG)
			continue;
		if (k + 1 < a.n)
			val = (struct span){a.p + k + 1, a.n - k - 1, a.split};
		else if (!next_word(w, &val))
			return OPT_STOP;
		return env_value(w, kind, val, chdir);
	}
	return OPT_NEXT;
}

/* Moves *at from env to the command it runs: 1 when there is one in argv,
 * 0 when env runs nothing (or fails, or names a command of no interest
 * inside a -S string), UNSURE when one of ours is inside a -S string, where
 * we have no NUL-terminated words to hand back. */
AG_HOT_TEXT static int skip_env(const char *const *v, size_t n, size_t *at, bool *chdir)
{
	struct words w = {v, *at + 1, n, NULL, NULL};
	struct span a;
	bool opts = true, dash_ok = false;

	while (next_word(&w, &a)) {
		if (opts && a.n > 1 && a.p[0] == '-') {
			int r = env_option(&w, a, chdir);

			if (r == OPT_END) {
				opts = false;
				dash_ok = true;
			} else if (r != OPT_NEXT) {
				return r;
			}
			continue;
		}
		if (opts || dash_ok) {
			opts = dash_ok = false;
			if (a.n == 1 && a.p[0] == '-')
				continue;
		}
		if (memchr(a.p, '=', a.n))
			continue;
		if (a.split)
			return classify(a) == P_NONE ? 0 : UNSURE;
		*at = w.i - 1;
		return 1;
	}
	return 0;
}

/* The program that really runs, past busybox/toybox and env prefixes. */
AG_HOT_TEXT static enum prog program(const char *const *v, size_t n, size_t *at, bool *chdir)
{
	size_t i = 0;

	while (i < n) {
		enum prog p = classify(word(v[i]));

		if (p == P_MULTI) {
			i++;
			continue;
		}
		if (p == P_ENV) {
			int r = skip_env(v, n, &i, chdir);

			if (r == 1)
				continue;
			return r == 0 ? P_NONE : P_UNSURE;
		}
		*at = i;
		return p;
	}
	return P_NONE;
}

/* ---- rm -------------------------------------------------------------------
 * GNU getopt permutes, so "rm x -r" is recursive; with POSIXLY_CORRECT it
 * is not, and we over-report. No rm option takes a value, so every word
 * that is not an option is an operand, and "--recursive=x", which rm
 * rejects, is still counted. */
AG_HOT_TEXT static bool rm_recursive(const char *const *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		const char *a = v[i];

		if (a[0] != '-' || a[1] == '\0')
			continue;
		if (a[1] != '-') {
			if (strpbrk(a + 1, "rR"))
				return true;
		} else if (a[2] == '\0') {
			return false;
		} else if (long_is(a + 2, "recursive")) {
			return true; /* no other rm long option starts with 'r' */
		}
	}
	return false;
}

AG_HOT_TEXT static int rm(const char *const *v, size_t n, struct out *o)
{
	bool opts = true;

	if (!rm_recursive(v, n))
		return 0;
	for (size_t i = 1; i < n; i++) {
		const char *a = v[i];

		if (opts && a[0] == '-' && a[1] != '\0')
			opts = !ag_streq(a, "--");
		else
			put(o, a);
	}
	return 0;
}

/* ---- find -----------------------------------------------------------------
 * GNU find: -H -L -P -D opts -Olevel and "--" first, then start points up
 * to the first word that looks like an expression ("-x", "(" or "!"; a lone
 * "-", "," or ")" is still a path there). An -exec command is skipped to its
 * terminator, so "-exec echo -delete ;" deletes nothing. Predicate values
 * are not skipped: "-name -delete" is over-reported. */
AG_HOT_TEXT static size_t find_leading(const char *const *v, size_t n)
{
	size_t i = 1;

	while (i < n) {
		const char *a = v[i];

		if (ag_streq(a, "-H") || ag_streq(a, "-L") || ag_streq(a, "-P") ||
		    ag_starts(a, "-O"))
			i++;
		else if (ag_streq(a, "-D"))
			i += 2;
		else if (ag_streq(a, "--"))
			return i + 1;
		else
			break;
	}
	return i < n ? i : n;
}

AG_HOT_TEXT static bool find_expr(const char *a)
{
	return (a[0] == '-' && a[1] != '\0') || ag_streq(a, "(") || ag_streq(a, "!");
}

/* The index of the ";" (or "+" after "{}", -exec and -execdir only) that
 * ends the command starting at c; n when there is none, and then find
 * rejects the whole expression. */
AG_HOT_TEXT static size_t exec_end(const char *const *v, size_t n, size_t c, bool plus)
{
	for (size_t j = c; j < n; j++) {
		if (ag_streq(v[j], ";"))
			return j;
		if (plus && j > c && ag_streq(v[j], "+") && strstr(v[j - 1], "{}"))
			return j;
	}
	return n;
}

AG_HOT_TEXT static int find(const char *const *v, size_t n, struct out *o)
{
	size_t s0 = find_leading(v, n), s1 = s0;
	bool del = false, files0 = false;

	while (s1 < n && !find_expr(v[s1]))
		s1++;
	for (size_t i = s1; i < n; i++) {
		const char *a = v[i];
		bool plus = ag_streq(a, "-exec") || ag_streq(a, "-execdir");

		if (ag_streq(a, "-delete")) {
			del = true;
		} else if (ag_streq(a, "-files0-from")) {
			files0 = true;
		} else if (plus || ag_streq(a, "-ok") || ag_streq(a, "-okdir")) {
			size_t e = exec_end(v, n, i + 1, plus), at;
			bool cd = false;
			enum prog p;

			if (e == n)
				return 0;
			p = program(v + i + 1, e - i - 1, &at, &cd);
			if (p == P_RM && cd)
				return UNSURE; /* its "{}" is relative to find's cwd */
			del |= p == P_RM || p == P_UNSURE;
			i = e;
		}
	}
	if (!del)
		return 0;
	if (files0)
		return UNSURE; /* the start points are in a file */
	if (s0 == s1)
		put(o, dot);
	for (size_t i = s0; i < s1; i++)
		put(o, v[i]);
	return 0;
}

/* ---- git ------------------------------------------------------------------
 * git's own options come before the subcommand; -C changes directory at
 * once, a relative one relative to the one before, and --work-tree is read
 * after all of them. We hand back argv words, not built paths, so a
 * combination we cannot express as one word is UNSURE. Aliases and
 * GIT_WORK_TREE / core.worktree are not visible from argv. */
AG_HOT_TEXT static bool git_takes_value(const char *a)
{
	static const char *const opts[] = {
	    "-c",	    "--git-dir",      "--namespace",   "--super-prefix",
	    "--config-env", "--shallow-file", "--attr-source",
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (ag_streq(a, opts[i]))
			return true;
	return false;
}

AG_HOT_TEXT static bool git_no_command(const char *a)
{
	static const char *const opts[] = {
	    "-h",	   "--help",	  "-v",		"--version",
	    "--exec-path", "--html-path", "--man-path", "--info-path",
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (ag_streq(a, opts[i]))
			return true;
	return ag_starts(a, "--list-cmds=");
}

/* git clean deletes unless it is a dry run: -i deletes what is answered on
 * stdin, which an agent can pipe, and clean.requireForce=false (config we
 * cannot see) drops the need for -f, so neither -f nor its absence is
 * trusted. parse-options permutes, bundles ("-fdx"), takes -e's value from
 * the rest of the bundle or the next word, abbreviates long names and lets
 * --no-dry-run undo -n. */
AG_HOT_TEXT static bool clean_dry_run(const char *const *v, size_t n, size_t from)
{
	bool dry = false;

	for (size_t j = from; j < n; j++) {
		const char *a = v[j];

		if (a[0] != '-' || a[1] == '\0')
			continue;
		if (a[1] == '-') {
			const char *name = a + 2;

			if (*name == '\0' || ag_streq(name, "end-of-options"))
				break;
			if (long_is(name, "dry-run"))
				dry = true;
			else if (ag_starts(name, "no-") && long_is(name + 3, "dry-run"))
				dry = false;
			else if (long_is(name, "exclude") && !strchr(name, '='))
				j++;
			continue;
		}
		for (size_t k = 1; a[k]; k++) {
			if (a[k] == 'n')
				dry = true;
			if (a[k] == 'e') {
				j += a[k + 1] == '\0';
				break;
			}
		}
	}
	return dry;
}

AG_HOT_TEXT static int git(const char *const *v, size_t n, struct out *o, bool dashed)
{
	const char *wt = NULL, *dir = NULL;
	bool dir_joined = false;
	size_t i = 0;

	if (!dashed) {
		for (i = 1; i < n && v[i][0] == '-'; i++) {
			const char *a = v[i];

			if (git_no_command(a))
				return 0;
			if (ag_starts(a, "--work-tree=")) {
				wt = a + 12;
			} else if (ag_streq(a, "-C") || ag_streq(a, "--work-tree") ||
				   git_takes_value(a)) {
				if (++i == n)
					return 0;
				if (ag_streq(a, "--work-tree")) {
					wt = v[i];
				} else if (ag_streq(a, "-C") && v[i][0] != '\0') {
					/* -C "" is a no-op; an absolute one starts afresh */
					dir_joined = dir && v[i][0] != '/';
					dir = v[i];
				}
			}
		}
		if (i == n || !ag_streq(v[i], "clean"))
			return 0;
	}
	if (clean_dry_run(v, n, i + 1))
		return 0;
	if (wt && (wt[0] == '/' || !dir))
		put(o, wt);
	else if (wt || dir_joined)
		return UNSURE;
	else
		put(o, dir ? dir : dot);
	return 0;
}

AG_HOT_TEXT int ag_recursive_targets(const char *const *argv, const char **targets, int max)
{
	struct out o = {targets, targets && max > 0 ? max : 0, 0, false};
	bool chdir = false;
	size_t n = 0, at = 0;
	int r;

	if (!argv)
		return 0;
	while (argv[n])
		n++;
	switch (program(argv, n, &at, &chdir)) {
	case P_RM: r = rm(argv + at, n - at, &o); break;
	case P_FIND: r = find(argv + at, n - at, &o); break;
	case P_GIT: r = git(argv + at, n - at, &o, false); break;
	case P_GIT_CLEAN: r = git(argv + at, n - at, &o, true); break;
	case P_UNSURE: return UNSURE;
	default: return 0;
	}
	if (r == UNSURE || o.over)
		return UNSURE;
	/* env -C moved the command elsewhere; only absolute targets survive */
	for (int i = 0; chdir && i < o.n; i++)
		if (o.t[i][0] != '/')
			return UNSURE;
	return o.n;
}
