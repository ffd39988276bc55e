/* End-to-end tests of the guard's contract: what a refusal writes to the
 * log and to stderr, the raw LD_PRELOAD form, how the workspace is fixed,
 * the launcher's exit statuses, failing closed, coalescing, the log
 * descriptor surviving programs that shuffle descriptors, the guard's own
 * files, audit mode, per-rule errno, explain/check, and concurrent writers.
 * Every guarded program is a real one (bash, coreutils, python3) working on
 * a throwaway tree; the test runner itself is never preloaded. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct agt T;
static struct agt_result R;
static char scratch_dir[PATH_MAX]; /* a directory outside the tree, removed at the end */

static void setup(void)
{
	agt_setup(&T, "guard");
}

static void teardown(void)
{
	if (scratch_dir[0] && !getenv("AGT_KEEP")) {
		struct agt_result *r = malloc(sizeof(*r));
		agt_sh_unguarded(&T, r, "rm -rf -- '%s'", scratch_dir);
		free(r);
	}
	agt_teardown(&T);
}

TestSuite(guard, .init = setup, .fini = teardown, .timeout = 240);

/* ---- small helpers ------------------------------------------------------ */

/* printf into one of a ring of path buffers, good for a few statements. */
static const char *pth(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *pth(const char *fmt, ...)
{
	static char ring[64][PATH_MAX];
	static unsigned next;
	char *b = ring[next++ % 64];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(b, PATH_MAX, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && n < PATH_MAX, "path too long");
	return b;
}

static const char *need_env(const char *name)
{
	const char *v = getenv(name);
	cr_assert(v && *v, "%s is not set; run through ctest", name);
	return v;
}

#define dump agt_dump

static int occurrences(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static const char *file_in_root(const char *name, const char *content)
{
	const char *p = pth("%s/%s", T.root, name);
	agt_write(p, content);
	return p;
}

/* The raw form: no launcher, bash -c with the script's text, LD_PRELOAD
 * and the given "NAME=value ..." settings (may be empty). */
static int raw(struct agt_result *r, const char *envs, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int raw(struct agt_result *r, const char *envs, const char *fmt, ...)
{
	static int n;
	char *body;
	va_list ap;

	va_start(ap, fmt);
	cr_assert(vasprintf(&body, fmt, ap) >= 0);
	va_end(ap);
	const char *script = file_in_root(pth("raw-%d.sh", n++), body);
	free(body);
	return agt_sh_unguarded(&T, r, "env %s LD_PRELOAD='%s' bash -c \"$(cat '%s')\"", envs,
				need_env("AGT_PRELOAD"), script);
}

static void *read_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot read %s", path);
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
		size_t got = fread(buf + *len, 1, cap - *len, f);
		*len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	return buf;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	cr_assert(lstat(path, &st) == 0, "%s is gone", path);
	return st.st_mode & 07777;
}

/* ---- the log ------------------------------------------------------------ */

/* Every line of a log, parsed; a torn or interleaved line fails the test. */
static json_t *log_load(const char *path)
{
	json_t *all = agt_log_load(path);
	cr_assert_not_null(all, "a torn or invalid line in %s:\n%s", path, agt_dump(path));
	return all;
}

static const char *sfield(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool field_is(json_t *o, const char *key, const char *want)
{
	const char *s = sfield(o, key);
	return !want || (s && strcmp(s, want) == 0);
}

/* How many lines match every non-NULL field; *first gets the first. */
static int log_match(json_t *all, const char *op, const char *path, const char *rule,
		     json_t **first)
{
	size_t i;
	json_t *o;
	int n = 0;

	if (first)
		*first = NULL;
	json_array_foreach(all, i, o)
	{
		if (!field_is(o, "op", op) || !field_is(o, "path", path) ||
		    !field_is(o, "rule", rule))
			continue;
		if (first && !*first)
			*first = o;
		n++;
	}
	return n;
}

static int count_in(const char *log, const char *op, const char *path, const char *rule)
{
	json_t *all = log_load(log);
	int n = log_match(all, op, path, rule, NULL);
	json_decref(all);
	return n;
}

static void expect_refusal_line(json_t *o, const char *op, const char *path, const char *path2,
				const char *rule, const char *err, const char *mode)
{
	cr_assert(o, "no log line for %s %s", op, path);
	cr_expect_str_eq(sfield(o, "op"), op);
	cr_expect_str_eq(sfield(o, "path"), path);
	if (path2)
		cr_expect_str_eq(sfield(o, "path2"), path2);
	else
		cr_expect(json_is_null(json_object_get(o, "path2")), "path2 should be null");
	cr_expect(json_is_null(json_object_get(o, "argv")), "argv should be null for %s", op);
	cr_expect_str_eq(sfield(o, "rule"), rule);
	cr_expect_str_eq(sfield(o, "action"), "deny");
	cr_expect_str_eq(sfield(o, "errno"), err);
	cr_expect_str_eq(sfield(o, "mode"), mode);
}

static long long ifield(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

/* RFC 3339 with milliseconds, and within the run that wrote it. */
static void expect_timestamp(json_t *o, time_t before, time_t after)
{
	const char *ts = sfield(o, "ts");
	regex_t re;
	struct tm tm = {0};

	cr_assert(ts, "no ts");
	cr_assert(regcomp(&re,
			  "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
			  "(Z|[+-][0-9]{2}:[0-9]{2})$",
			  REG_EXTENDED | REG_NOSUB) == 0);
	int rc = regexec(&re, ts, 0, NULL, 0);
	regfree(&re);
	cr_assert(rc == 0, "ts \"%s\" is not RFC 3339 with milliseconds", ts);
	char *rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	cr_assert(rest);
	time_t t = timegm(&tm);
	int off = 0;
	if (rest[4] == '+' || rest[4] == '-')
		off = (rest[4] == '-' ? -1 : 1) * (atoi(rest + 5) * 3600 + atoi(rest + 8) * 60);
	t -= off;
	cr_expect(t >= before - 2 && t <= after + 2, "ts %s is not the time of the run", ts);
}

static const char *real_exe(const char *name)
{
	static char buf[PATH_MAX];
	cr_assert(realpath(pth("/usr/bin/%s", name), buf) || realpath(pth("/bin/%s", name), buf));
	return buf;
}

/* ---- the log line -------------------------------------------------------- */

Test(guard, delete_refusal_writes_one_full_line_and_a_stderr_line)
{
	const char *f = pth("%s/notes.txt", T.out);
	agt_write(f, "precious\n");

	time_t before = time(NULL);
	int rc = agt_sh(&T, &R, "echo \"bash=$$\"; rm %s; echo \"rm=$?\"", f);
	time_t after = time(NULL);

	cr_assert_eq(rc, 0, "stderr: %s", R.err);
	cr_assert(strstr(R.out, "rm=1"), "rm was not refused: %s", R.out);
	cr_assert(agt_exists(f), "the outside file was deleted");
	json_t *all = log_load(T.log);
	cr_assert_eq(json_array_size(all), 1, "log:\n%s", dump(T.log));
	json_t *o = json_array_get(all, 0);
	expect_refusal_line(o, "delete", f, NULL, "outside-workspace", "EACCES", "enforce");
	expect_timestamp(o, before, after);
	cr_expect_str_eq(sfield(o, "exe"), real_exe("rm"));
	const char *b = strstr(R.out, "bash=");
	cr_assert(b);
	long long bash_pid = atoll(b + 5);
	cr_expect_eq(ifield(o, "ppid"), bash_pid, "ppid is not the shell that ran rm");
	cr_expect(ifield(o, "pid") > 0 && ifield(o, "pid") != bash_pid, "pid is not rm's");
	cr_expect(!json_object_get(o, "repeat"), "a first refusal carries no repeat");
	cr_expect_eq(
	    occurrences(R.err, pth("agentguard: denied delete %s (rule outside-workspace)\n", f)),
	    1, "stderr: %s", R.err);
	json_decref(all);
}

Test(guard, logged_path_is_resolved_through_symlinks_and_dotdot)
{
	agt_mkdirs(pth("%s/sub", T.out));
	agt_write(pth("%s/f1", T.out), "1");
	agt_write(pth("%s/f2", T.out), "2");
	agt_write(pth("%s/f3", T.out), "3");
	/* ws/link -> OUT, so link/.. is the tree's root, not the workspace. */
	cr_assert(symlink(T.out, pth("%s/link", T.ws)) == 0);
	cr_assert(symlink(pth("%s/f3", T.out), pth("%s/to-f3", T.ws)) == 0);
	const char *outname = strrchr(T.out, '/') + 1;

	agt_sh(&T, &R, "rm link/../%s/f1; rm %s/sub/../f2; echo changed > to-f3; true", outname,
	       T.out);

	cr_assert(agt_exists(pth("%s/f1", T.out)), "f1 deleted through a symlink and ..");
	cr_assert(agt_exists(pth("%s/f2", T.out)), "f2 deleted through ..");
	char *f3 = agt_read(pth("%s/f3", T.out));
	cr_assert_str_eq(f3, "3", "written through a symlink in the workspace");
	free(f3);
	json_t *all = log_load(T.log), *o;
	cr_expect_eq(log_match(all, "delete", pth("%s/f1", T.out), "outside-workspace", &o), 1,
		     "log:\n%s", dump(T.log));
	cr_expect_eq(log_match(all, "delete", pth("%s/f2", T.out), "outside-workspace", &o), 1,
		     "log:\n%s", dump(T.log));
	cr_expect_eq(log_match(all, "write", pth("%s/f3", T.out), "outside-workspace", &o), 1,
		     "log:\n%s", dump(T.log));
	if (o)
		cr_expect_str_eq(sfield(o, "exe"), real_exe("bash"));
	cr_expect_eq(json_array_size(all), 3, "log:\n%s", dump(T.log));
	json_decref(all);
}

Test(guard, rename_and_link_refusals_carry_path2)
{
	const char *a = pth("%s/a", T.out), *b = pth("%s/b", T.out), *hl = pth("%s/hl", T.ws);
	agt_write(a, "a");
	const char *py =
	    file_in_root("renlink.py", "import os, sys\n"
				       "print('pid=%d ppid=%d' % (os.getpid(), os.getppid()))\n"
				       "for f, args in ((os.rename, sys.argv[1:3]),\n"
				       "                (os.link, (sys.argv[1], sys.argv[3]))):\n"
				       "    try:\n"
				       "        f(*args)\n"
				       "        print(f.__name__, 'done')\n"
				       "    except OSError as e:\n"
				       "        print(f.__name__, 'errno', e.errno)\n");
	const char *argv[] = {"python3", py, a, b, hl, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	cr_assert(strstr(R.out, pth("rename errno %d", EACCES)), "out: %s", R.out);
	cr_assert(strstr(R.out, pth("link errno %d", EACCES)), "out: %s", R.out);
	cr_assert(agt_exists(a) && !agt_exists(b) && !agt_exists(hl));

	int pid = 0, ppid = 0;
	cr_assert(sscanf(strstr(R.out, "pid="), "pid=%d ppid=%d", &pid, &ppid) == 2);
	json_t *all = log_load(T.log), *o;
	cr_assert_eq(log_match(all, "rename", a, NULL, &o), 1, "log:\n%s", dump(T.log));
	expect_refusal_line(o, "rename", a, b, "outside-workspace", "EACCES", "enforce");
	cr_expect_eq(ifield(o, "pid"), pid);
	cr_expect_eq(ifield(o, "ppid"), ppid);
	cr_assert_eq(log_match(all, "link", a, NULL, &o), 1, "log:\n%s", dump(T.log));
	expect_refusal_line(o, "link", a, hl, "outside-workspace", "EACCES", "enforce");
	cr_expect(
	    strstr(R.err, pth("agentguard: denied rename %s -> %s (rule outside-workspace)", a, b)),
	    "stderr: %s", R.err);
	json_decref(all);
}

Test(guard, odd_characters_in_a_path_keep_the_line_one_json_object)
{
	const char *f = pth("%s/we\"ird\\name\nwith\ttabs and \x01 controls", T.out);
	agt_write(f, "x");
	const char *py = file_in_root("odd.py", "import os, sys\n"
						"try:\n"
						"    os.unlink(sys.argv[1])\n"
						"except OSError:\n"
						"    print('refused')\n");
	const char *argv[] = {"python3", py, f, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	cr_assert(strstr(R.out, "refused"), "out: %s", R.out);
	json_t *all = log_load(T.log), *o;
	cr_assert_eq(json_array_size(all), 1, "log:\n%s", dump(T.log));
	cr_assert_eq(log_match(all, "delete", f, "outside-workspace", &o), 1, "log:\n%s",
		     dump(T.log));
	json_decref(all);
}

/* Paths are bytes; a log line must still be JSON (UTF-8) that a standard
 * reader (jansson, python's json, jq) accepts. */
Test(guard, a_path_that_is_not_utf8_still_gives_a_valid_json_line)
{
	const char *f = pth("%s/latin1-caf\xe9-\xff", T.out);
	agt_write(f, "x");
	const char *py = file_in_root("latin1.py", "import os, sys\n"
						   "try:\n"
						   "    os.unlink(os.fsencode(sys.argv[1]))\n"
						   "except OSError:\n"
						   "    print('refused')\n");
	const char *argv[] = {"python3", py, f, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	cr_assert(strstr(R.out, "refused"), "out: %s", R.out);
	cr_assert(agt_exists(f));
	json_t *all = log_load(T.log), *o = json_array_get(all, 0);
	cr_assert_eq(json_array_size(all), 1);
	cr_expect_str_eq(sfield(o, "op"), "delete");
	cr_expect_str_eq(sfield(o, "rule"), "outside-workspace");
	cr_expect(sfield(o, "path") && strncmp(sfield(o, "path"), T.out, strlen(T.out)) == 0);
	json_decref(all);
}

/* ---- the raw form ----------------------------------------------------------- */

Test(guard, raw_form_with_log_and_workspace_refuses_an_outside_delete)
{
	const char *f = pth("%s/keep", T.out), *in = pth("%s/scratch", T.ws);
	const char *log = pth("%s/raw.jsonl", T.root);
	agt_write(f, "k");
	agt_write(in, "s");

	raw(&R, pth("AGENTGUARD_LOG=%s AGENTGUARD_WORKSPACE=%s", log, T.ws),
	    "rm %s; echo \"out=$?\"; rm %s; echo \"in=$?\"", f, in);

	cr_assert(strstr(R.out, "out=1") && strstr(R.out, "in=0"), "out: %s err: %s", R.out, R.err);
	cr_assert(agt_exists(f));
	cr_assert(!agt_exists(in));
	json_t *all = log_load(log), *o;
	cr_assert_eq(log_match(all, "delete", f, NULL, &o), 1, "log:\n%s", dump(log));
	expect_refusal_line(o, "delete", f, NULL, "outside-workspace", "EACCES", "enforce");
	cr_expect_str_eq(sfield(o, "exe"), real_exe("rm"));
	cr_expect_eq(json_array_size(all), 1);
	cr_expect(strstr(R.err, pth("agentguard: denied delete %s (rule outside-workspace)", f)),
		  "stderr: %s", R.err);
	json_decref(all);
}

Test(guard, raw_form_with_nothing_but_ld_preload)
{
	const char *f = pth("%s/keep", T.out), *in = pth("%s/scratch", T.ws);
	const char *state = pth("%s/.local/state/agentguard", T.home);
	const char *log = pth("%s/log.jsonl", state);
	agt_write(f, "k");
	agt_write(in, "s");

	raw(&R, "", "rm %s; echo \"out=$?\"; rm %s; echo \"in=$?\"", f, in);

	cr_assert(strstr(R.out, "out=1") && strstr(R.out, "in=0"), "out: %s err: %s", R.out, R.err);
	cr_assert(agt_exists(f));
	cr_assert(!agt_exists(in), "the git top-level of the cwd is the workspace");
	cr_assert(agt_exists(log), "no log at the default location %s", log);
	json_t *all = log_load(log), *o;
	cr_assert_eq(log_match(all, "delete", f, NULL, &o), 1, "log:\n%s", dump(log));
	expect_refusal_line(o, "delete", f, NULL, "outside-workspace", "EACCES", "enforce");
	json_decref(all);
	glob_t g;
	cr_expect(glob(pth("%s/rules-*", state), 0, NULL, &g) == 0 && g.gl_pathc >= 1,
		  "no compiled ruleset stored in %s", state);
	globfree(&g);
}

Test(guard, raw_form_children_inherit_the_session_fixed_once)
{
	const char *log = pth("%s/raw.jsonl", T.root);
	agt_write(pth("%s/f", T.out), "f");
	agt_write(pth("%s/g", T.out), "g");

	raw(&R, pth("AGENTGUARD_LOG=%s", log),
	    "cd %s || exit 9\n"
	    "python3 -c 'import os; e = os.environ; "
	    "print(\"child-compiled=\" + e.get(\"AGENTGUARD_COMPILED\", \"\")); "
	    "print(\"child-ws=\" + e.get(\"AGENTGUARD_WORKSPACE\", \"\") + \"|\")'\n"
	    "rm f; echo \"rm=$?\"\n"
	    "AGENTGUARD_WORKSPACE=%s rm g; echo \"rm2=$?\"\n",
	    T.out, T.out);

	cr_assert(strstr(R.out, pth("child-ws=%s|", T.ws)), "out: %s err: %s", R.out, R.err);
	const char *c = strstr(R.out, "child-compiled=");
	cr_assert(c && c[15] == '/', "AGENTGUARD_COMPILED not inherited: %s", R.out);
	char compiled[PATH_MAX];
	cr_assert(sscanf(c + 15, "%4095s", compiled) == 1);
	cr_expect(agt_exists(compiled), "AGENTGUARD_COMPILED names no file: %s", compiled);
	cr_expect(strncmp(compiled, T.home, strlen(T.home)) == 0,
		  "compiled ruleset %s is not in the state dir under HOME", compiled);
	/* A child that moved to the outside tree keeps the original workspace. */
	cr_assert(strstr(R.out, "rm=1"), "out: %s", R.out);
	cr_assert(agt_exists(pth("%s/f", T.out)));
	cr_assert(strstr(R.out, "rm2=1"), "out: %s", R.out);
	cr_assert(agt_exists(pth("%s/g", T.out)));
	cr_expect_eq(count_in(log, "delete", pth("%s/f", T.out), "outside-workspace"), 1,
		     "log:\n%s", dump(log));
	cr_expect_eq(count_in(log, "delete", pth("%s/g", T.out), "outside-workspace"), 1,
		     "log:\n%s", dump(log));
}

/* ---- the workspace ------------------------------------------------------- */

/* Launches by hand from dir, so no --workspace is added. ws_opt and env may
 * be "". Deletes OUT/f and WS/g; returns nothing, the files tell. */
static void launch_from(const char *dir, const char *env, const char *ws_opt)
{
	agt_write(pth("%s/f", T.out), "f");
	agt_write(pth("%s/g", T.ws), "g");
	agt_sh_unguarded(&T, &R,
			 "cd '%s' && env %s '%s' run %s --log '%s' -- bash -c "
			 "'rm %s/f; echo \"out=$?\"; rm %s/g; echo \"ws=$?\"'",
			 dir, env, need_env("AGT_BIN"), ws_opt, T.log, T.out, T.ws);
}

Test(guard, workspace_from_the_flag)
{
	launch_from(T.ws, "", pth("--workspace %s", T.out));
	cr_assert(strstr(R.out, "out=0") && strstr(R.out, "ws=1"), "out: %s err: %s", R.out, R.err);
	cr_assert(!agt_exists(pth("%s/f", T.out)), "--workspace OUT should allow deleting in OUT");
	cr_assert(agt_exists(pth("%s/g", T.ws)), "the cwd's repository is not the workspace");
	cr_expect_eq(agt_log_count(&T, "delete", pth("%s/g", T.ws), "outside-workspace"), 1);
}

Test(guard, workspace_from_the_environment)
{
	launch_from(T.ws, pth("AGENTGUARD_WORKSPACE=%s", T.out), "");
	cr_assert(strstr(R.out, "out=0") && strstr(R.out, "ws=1"), "out: %s err: %s", R.out, R.err);
	cr_assert(!agt_exists(pth("%s/f", T.out)));
	cr_assert(agt_exists(pth("%s/g", T.ws)));
	cr_expect_eq(agt_log_count(&T, "delete", pth("%s/g", T.ws), "outside-workspace"), 1);
}

Test(guard, workspace_flag_beats_the_environment)
{
	launch_from(T.ws, pth("AGENTGUARD_WORKSPACE=%s", T.ws), pth("--workspace %s", T.out));
	cr_assert(strstr(R.out, "out=0") && strstr(R.out, "ws=1"), "out: %s err: %s", R.out, R.err);
	cr_assert(!agt_exists(pth("%s/f", T.out)));
	cr_assert(agt_exists(pth("%s/g", T.ws)));
}

Test(guard, workspace_is_the_git_top_level_from_a_subdirectory)
{
	const char *deep = pth("%s/src/deep", T.ws);
	agt_mkdirs(deep);
	launch_from(deep, "", "");
	cr_assert(strstr(R.out, "out=1") && strstr(R.out, "ws=0"), "out: %s err: %s", R.out, R.err);
	cr_assert(agt_exists(pth("%s/f", T.out)));
	cr_assert(!agt_exists(pth("%s/g", T.ws)), "the repository's top level is the workspace");
	cr_expect_eq(agt_log_count(&T, "delete", pth("%s/f", T.out), "outside-workspace"), 1);
	cr_expect_eq(agt_log_lines(&T), 1, "log:\n%s", dump(T.log));
}

/* Outside git the current directory is the workspace: a policy refusing
 * deletes inside ${WORKSPACE} shows exactly where it lies. The tree itself
 * sits in the project's repository, so this one needs a directory of its
 * own elsewhere; the policy is what guards there. */
Test(guard, workspace_is_the_cwd_outside_git)
{
	char tmpl[] = "/tmp/agt-guard-nogit-XXXXXX";
	cr_assert(!agt_exists("/.git") && !agt_exists("/tmp/.git"), "/tmp is inside git");
	cr_assert(mkdtemp(tmpl));
	cr_assert(realpath(tmpl, scratch_dir));
	const char *sub = pth("%s/sub", scratch_dir);
	agt_mkdirs(sub);
	agt_write(pth("%s/f", sub), "f");
	agt_write(pth("%s/g", scratch_dir), "g");
	agt_policy(&T,
		   "{\"version\": 1, \"default\": \"allow\", \"rules\": [\n"
		   "  {\"id\": \"in-ws\", \"ops\": [\"delete\"], \"paths\": [\"${WORKSPACE}/**\"],"
		   " \"action\": \"deny\"}]}\n");

	agt_sh_unguarded(&T, &R,
			 "cd '%s' && '%s' run --policy '%s' --log '%s' -- bash -c "
			 "'rm %s/f; echo \"sub=$?\"; rm %s/g; echo \"parent=$?\"'",
			 sub, need_env("AGT_BIN"), T.policy, T.log, sub, scratch_dir);

	cr_assert(strstr(R.out, "sub=1") && strstr(R.out, "parent=0"), "out: %s err: %s", R.out,
		  R.err);
	cr_assert(agt_exists(pth("%s/f", sub)));
	cr_assert(!agt_exists(pth("%s/g", scratch_dir)));
	cr_expect_eq(agt_log_count(&T, "delete", pth("%s/f", sub), "in-ws"), 1, "log:\n%s",
		     dump(T.log));
}

/* ---- the launcher's exit status --------------------------------------------- */

Test(guard, run_exits_with_the_command_status)
{
	cr_expect_eq(agt_sh(&T, &R, "exit 7"), 7);
	cr_expect_eq(agt_sh(&T, &R, "exit 0"), 0);
	const char *f[] = {"false", NULL};
	cr_expect_eq(agt_run(&T, &R, f, NULL), 1);
}

static const char bad_field_policy[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"rules\": [\n"
    "    {\"id\": \"x\", \"ops\": [\"delete\"], \"paths\": [\"/**\"], \"action\": \"deny\", "
    "\"colour\": \"red\"}\n"
    "  ]\n"
    "}\n";

Test(guard, run_refuses_a_broken_policy_with_its_location_and_runs_nothing)
{
	agt_policy(&T, bad_field_policy);
	const char *ran = pth("%s/ran", T.ws);

	cr_assert_eq(agt_sh(&T, &R, "touch %s", ran), 2, "stderr: %s", R.err);
	/* Line 4, column 72: where "colour" starts. */
	cr_expect(strstr(R.err, pth("%s:4:72:", T.policy)), "stderr: %s", R.err);
	cr_expect(strstr(R.err, "colour"), "stderr: %s", R.err);
	cr_assert(!agt_exists(ran), "the command ran under a broken policy");

	agt_policy(
	    &T, "{\n  \"version\": 1,\n  \"rules\": [\n    {\"id\": \"x\" \"ops\": []}\n  ]\n}\n");
	cr_assert_eq(agt_sh(&T, &R, "touch %s", ran), 2, "stderr: %s", R.err);
	regex_t re;
	cr_assert(regcomp(&re, "policy\\.json:4:[1-9][0-9]*:", REG_EXTENDED | REG_NOSUB) == 0);
	cr_expect(regexec(&re, R.err, 0, NULL, 0) == 0, "no file:line:col in: %s", R.err);
	regfree(&re);
	cr_assert(!agt_exists(ran));
}

Test(guard, usage_errors_exit_2_and_run_nothing)
{
	const char *bin = need_env("AGT_BIN");
	const char *ran = pth("%s/ran", T.ws);
	const char *cases[] = {
	    "",
	    "frobnicate",
	    "run",
	    "run --",
	    "run --bogus -- touch RAN",
	    "run --workspace",
	    "run --workspace /nonexistent/agentguard-ws -- touch RAN",
	    "explain",
	    "explain frobnicate /etc/passwd",
	    "check",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[512];
		snprintf(args, sizeof(args), "%s", cases[i]);
		char *p = strstr(args, "RAN");
		if (p)
			snprintf(p, sizeof(args) - (size_t)(p - args), "%s", ran);
		int rc = agt_sh_unguarded(&T, &R, "'%s' %s", bin, args);
		cr_expect_eq(rc, 2, "agentguard %s: status %d, stderr: %s", cases[i], rc, R.err);
		cr_expect(R.err[0], "agentguard %s said nothing on stderr", cases[i]);
	}
	cr_expect_eq(
	    agt_sh_unguarded(&T, &R, "AGENTGUARD_MODE=loose '%s' run -- touch %s", bin, ran), 2,
	    "stderr: %s", R.err);
	cr_assert(!agt_exists(ran));
}

Test(guard, run_exits_127_for_a_missing_command)
{
	const char *absent[] = {"/nonexistent/agentguard-no-such-program", NULL};
	cr_expect_eq(agt_run(&T, &R, absent, NULL), 127, "stderr: %s", R.err);
	cr_expect(R.err[0], "nothing said about the missing program");
	const char *onpath[] = {"agentguard-no-such-command", "x", NULL};
	cr_expect_eq(agt_run(&T, &R, onpath, NULL), 127, "stderr: %s", R.err);
}

/* ---- failing closed -------------------------------------------------------- */

Test(guard, raw_form_with_a_broken_policy_refuses_everything)
{
	const char *pol = file_in_root("broken.json", bad_field_policy);
	const char *log = pth("%s/raw.jsonl", T.root);
	const char *in1 = pth("%s/in1", T.ws), *in2 = pth("%s/in2", T.ws),
		   *in3 = pth("%s/in3", T.ws);
	agt_write(in1, "one");
	agt_write(in2, "two");
	agt_write(in3, "three");

	raw(&R,
	    pth("AGENTGUARD_POLICY=%s AGENTGUARD_LOG=%s AGENTGUARD_WORKSPACE=%s", pol, log, T.ws),
	    "rm %s\n"
	    "echo changed > %s\n"
	    "touch %s/new\n"
	    "mkdir %s/newdir\n"
	    "cat %s\n"
	    "bash -c 'rm %s'\n"
	    "echo done\n",
	    in1, in2, T.ws, T.ws, in3, in1);

	cr_assert(strstr(R.out, "done"), "the script did not run to its end: %s", R.err);
	cr_expect(!strstr(R.out, "three"), "a read went through: %s", R.out);
	cr_assert(agt_exists(in1), "deleted inside the workspace with no policy");
	char *two = agt_read(in2);
	cr_assert_str_eq(two, "two");
	free(two);
	cr_assert(!agt_exists(pth("%s/new", T.ws)));
	cr_assert(!agt_exists(pth("%s/newdir", T.ws)));

	cr_expect_eq(occurrences(R.err, "cannot load the policy"), 1,
		     "said once per process tree; stderr: %s", R.err);
	cr_expect(strstr(R.err, pol), "the message does not name the policy: %s", R.err);

	json_t *all = log_load(log), *o;
	size_t i;
	cr_assert(json_array_size(all) >= 6, "log:\n%s", dump(log));
	json_array_foreach(all, i, o)
	{
		cr_expect_str_eq(sfield(o, "rule"), "policy-unavailable");
		cr_expect_str_eq(sfield(o, "action"), "deny");
	}
	/* rm itself may be refused at exec; either way its delete never happened. */
	cr_expect(log_match(all, "delete", in1, NULL, NULL) == 2 ||
		      log_match(all, "exec", NULL, NULL, NULL) >= 2,
		  "log:\n%s", dump(log));
	cr_expect_eq(log_match(all, "write", in2, NULL, NULL), 1, "log:\n%s", dump(log));
	/* touch, mkdir and cat are refused at exec already, or their calls are. */
	size_t execs = log_match(all, "exec", NULL, NULL, NULL);
	cr_expect(log_match(all, "create", pth("%s/new", T.ws), NULL, NULL) == 1 || execs >= 4);
	cr_expect(log_match(all, "create", pth("%s/newdir", T.ws), NULL, NULL) == 1 || execs >= 4);
	cr_expect(log_match(all, "read", in3, NULL, NULL) == 1 || execs >= 4, "log:\n%s",
		  dump(log));
	json_decref(all);
}

Test(guard, failing_closed_still_logs_to_the_default_location)
{
	const char *pol = file_in_root("broken.json", bad_field_policy);
	const char *log = pth("%s/.local/state/agentguard/log.jsonl", T.home);
	const char *in1 = pth("%s/in1", T.ws);
	agt_write(in1, "one");

	raw(&R, pth("AGENTGUARD_POLICY=%s", pol), "rm %s; echo \"rm=$?\"", in1);

	/* rm is refused at exec (126), or its unlink is (1). */
	cr_assert(strstr(R.out, "rm=1") || strstr(R.out, "rm=126"), "out: %s err: %s", R.out,
		  R.err);
	cr_assert(agt_exists(in1));
	cr_expect(strstr(R.err, "cannot load the policy"), "stderr: %s", R.err);
	cr_assert(agt_exists(log), "a refusal under a broken policy left no line in %s", log);
	cr_expect(count_in(log, "delete", in1, "policy-unavailable") == 1 ||
		      count_in(log, "exec", NULL, "policy-unavailable") >= 1,
		  "log:\n%s", dump(log));
}

/* ---- coalescing ---------------------------------------------------------- */

Test(guard, repeated_refusals_are_coalesced)
{
	const char *f = pth("%s/stubborn", T.out);
	agt_write(f, "s");
	const char *py = file_in_root("retry.py", "import os, sys\n"
						  "n = 0\n"
						  "for i in range(250):\n"
						  "    try:\n"
						  "        os.unlink(sys.argv[1])\n"
						  "    except PermissionError:\n"
						  "        n += 1\n"
						  "print('refused', n)\n");
	const char *argv[] = {"python3", py, f, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	cr_assert(strstr(R.out, "refused 250"), "out: %s", R.out);
	cr_assert(agt_exists(f));

	json_t *all = log_load(T.log);
	cr_assert_eq(log_match(all, "delete", f, "outside-workspace", NULL), 4, "log:\n%s",
		     dump(T.log));
	cr_assert_eq(json_array_size(all), 4);
	long long want[] = {1, 10, 100, 250};
	for (size_t i = 0; i < 4; i++) {
		json_t *o = json_array_get(all, i);
		json_t *rep = json_object_get(o, "repeat");
		if (i == 0)
			cr_expect(!rep || json_integer_value(rep) == 1, "first line: %s",
				  dump(T.log));
		else
			cr_expect(json_is_integer(rep) && json_integer_value(rep) == want[i],
				  "line %zu should have repeat %lld:\n%s", i + 1, want[i],
				  dump(T.log));
		expect_refusal_line(o, "delete", f, NULL, "outside-workspace", "EACCES", "enforce");
	}
	cr_expect_eq(occurrences(R.err, pth("agentguard: denied delete %s", f)), 1, "stderr: %s",
		     R.err);
	json_decref(all);
}

/* The repeats of one refusal in a given pid: the highest count written,
 * and how many lines say it is the first. */
static long long repeats_of(json_t *all, const char *op, const char *path, long long pid,
			    int *firsts)
{
	size_t i;
	json_t *o;
	long long most = 0;

	*firsts = 0;
	json_array_foreach(all, i, o)
	{
		if (!field_is(o, "op", op) || !field_is(o, "path", path) || ifield(o, "pid") != pid)
			continue;
		json_t *rep = json_object_get(o, "repeat");
		long long n = json_is_integer(rep) ? json_integer_value(rep) : 1;
		*firsts += n == 1;
		if (n > most)
			most = n;
	}
	return most;
}

/* A fork child's refusals are its own: the same refusal its parent made
 * (and was still counting) is written again as the child's first, and
 * each process writes its own count at exit. */
Test(guard, a_fork_child_counts_its_own_refusals)
{
	const char *f = pth("%s/stubborn", T.out);
	agt_write(f, "s");
	const char *py = file_in_root("forked.py", "import os, sys\n"
						   "def refuse(n):\n"
						   "    for i in range(n):\n"
						   "        try:\n"
						   "            os.unlink(sys.argv[1])\n"
						   "        except PermissionError:\n"
						   "            pass\n"
						   "refuse(2)\n"
						   "pid = os.fork()\n"
						   "if pid == 0:\n"
						   "    refuse(3)\n"
						   "    print('child', os.getpid(), flush=True)\n"
						   "    sys.exit(0)\n"
						   "os.waitpid(pid, 0)\n"
						   "refuse(2)\n"
						   "print('parent', os.getpid())\n");
	const char *argv[] = {"python3", py, f, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	int child = 0, parent = 0;
	cr_assert(strstr(R.out, "child ") && strstr(R.out, "parent "), "out: %s", R.out);
	cr_assert(sscanf(strstr(R.out, "child "), "child %d", &child) == 1);
	cr_assert(sscanf(strstr(R.out, "parent "), "parent %d", &parent) == 1);
	cr_assert(agt_exists(f));

	json_t *all = log_load(T.log);
	int firsts;
	cr_expect_eq(repeats_of(all, "delete", f, child, &firsts), 3, "log:\n%s", dump(T.log));
	cr_expect_eq(firsts, 1, "the child's first refusal is not its own line:\n%s",
		     dump(T.log));
	cr_expect_eq(repeats_of(all, "delete", f, parent, &firsts), 4, "log:\n%s", dump(T.log));
	cr_expect_eq(firsts, 1, "log:\n%s", dump(T.log));
	json_decref(all);
}

/* A child started with vfork (Python's subprocess) shares its parent's
 * memory until its exec: a refusal there must not cost the parent the
 * repeats it has counted and not yet written. */
Test(guard, a_vfork_child_refusal_keeps_the_parents_counts)
{
	const char *f = pth("%s/stubborn", T.out), *bin = pth("%s/bin", T.out);
	agt_write(f, "s");
	agt_mkdirs(bin);
	const char *sudo = pth("%s/sudo", bin);
	agt_write(sudo, "#!/bin/sh\necho became root\n");
	cr_assert(chmod(sudo, 0755) == 0);
	const char *py =
	    file_in_root("spawned.py", "import os, subprocess, sys\n"
				       "for i in range(5):\n"
				       "    try:\n"
				       "        os.unlink(sys.argv[1])\n"
				       "    except PermissionError:\n"
				       "        pass\n"
				       "try:\n"
				       "    r = subprocess.run([sys.argv[2]]).returncode\n"
				       "except PermissionError:\n"
				       "    r = 'refused'\n"
				       "print('sudo', r, 'pid', os.getpid())\n");
	const char *argv[] = {"python3", py, f, sudo, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	cr_assert(strstr(R.out, "sudo refused"), "out: %s", R.out);
	cr_assert(!strstr(R.out, "became root"), "out: %s", R.out);
	int pid = 0;
	cr_assert(sscanf(strstr(R.out, "pid "), "pid %d", &pid) == 1);

	json_t *all = log_load(T.log);
	int firsts;
	cr_expect_eq(log_match(all, "exec", sudo, "privilege-escalation", NULL), 1, "log:\n%s",
		     dump(T.log));
	cr_expect_eq(repeats_of(all, "delete", f, pid, &firsts), 5,
		     "the parent's count was lost to its vfork child:\n%s", dump(T.log));
	json_decref(all);
}

/* More distinct refusals than the guard keeps counters for: every repeat
 * must still be accounted for by some line. */
Test(guard, repeats_of_many_distinct_refusals_are_all_accounted_for)
{
	enum { NPATHS = 100, TRIES = 3 };
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", pth("%s/many", T.out));
	agt_mkdirs(dir);
	for (int i = 0; i < NPATHS; i++)
		agt_write(pth("%s/f%d", dir, i), "x");
	const char *py =
	    file_in_root("many.py", "import os, sys\n"
				    "n = 0\n"
				    "for i in range(int(sys.argv[2])):\n"
				    "    for k in range(int(sys.argv[3])):\n"
				    "        try:\n"
				    "            os.unlink('%s/f%d' % (sys.argv[1], i))\n"
				    "        except PermissionError:\n"
				    "            n += 1\n"
				    "print('refused', n)\n");
	const char *argv[] = {"python3", py, dir, pth("%d", NPATHS), pth("%d", TRIES), NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	cr_assert(strstr(R.out, pth("refused %d", NPATHS * TRIES)), "out: %s", R.out);
	json_t *all = log_load(T.log);
	int short_counted = 0;
	char first_bad[PATH_MAX] = "";
	for (int i = 0; i < NPATHS; i++) {
		const char *path = pth("%s/f%d", dir, i);
		size_t k;
		json_t *o;
		long long most = 0;
		int firsts = 0;
		json_array_foreach(all, k, o)
		{
			if (!field_is(o, "path", path))
				continue;
			json_t *rep = json_object_get(o, "repeat");
			long long n = json_is_integer(rep) ? json_integer_value(rep) : 1;
			firsts += n == 1;
			if (n > most)
				most = n;
		}
		cr_expect_eq(firsts, 1, "%s: %d first lines", path, firsts);
		if (most != TRIES && !short_counted++)
			snprintf(first_bad, sizeof(first_bad), "%s (highest repeat %lld)", path,
				 most);
	}
	cr_expect_eq(short_counted, 0,
		     "%d of %d paths refused %d times each are logged with fewer repeats, "
		     "e.g. %s",
		     short_counted, NPATHS, TRIES, first_bad);
	json_decref(all);
}

/* ---- the log descriptor -------------------------------------------------- */

Test(guard, refusal_in_a_close_fds_subprocess_is_logged)
{
	const char *f1 = pth("%s/f1", T.out), *f2 = pth("%s/f2", T.out), *f3 = pth("%s/f3", T.out);
	agt_write(f1, "1");
	agt_write(f2, "2");
	agt_write(f3, "3");
	const char *py =
	    file_in_root("sub.py", "import os, subprocess, sys\n"
				   "try:\n"
				   "    os.unlink(sys.argv[1])\n"
				   "except OSError:\n"
				   "    pass\n"
				   "r = subprocess.run(['rm', sys.argv[2]], close_fds=True)\n"
				   "print('rm', r.returncode)\n"
				   "r = subprocess.run([sys.executable, '-c',\n"
				   "    'import os, sys; os.unlink(sys.argv[1])', sys.argv[3]])\n"
				   "print('py', r.returncode)\n");
	const char *argv[] = {"python3", py, f1, f2, f3, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	cr_assert(strstr(R.out, "rm 1") && strstr(R.out, "py 1"), "out: %s", R.out);
	cr_assert(agt_exists(f1) && agt_exists(f2) && agt_exists(f3));
	json_t *all = log_load(T.log), *o;
	cr_expect_eq(log_match(all, "delete", f1, "outside-workspace", NULL), 1);
	cr_expect_eq(log_match(all, "delete", f2, "outside-workspace", &o), 1, "log:\n%s",
		     dump(T.log));
	if (o)
		cr_expect_str_eq(sfield(o, "exe"), real_exe("rm"));
	cr_expect_eq(log_match(all, "delete", f3, "outside-workspace", NULL), 1, "log:\n%s",
		     dump(T.log));
	json_decref(all);
}

Test(guard, log_is_reopened_after_closerange)
{
	const char *f1 = pth("%s/f1", T.out), *f2 = pth("%s/f2", T.out);
	const char *mine = pth("%s/mine.txt", T.ws);
	agt_write(f1, "1");
	agt_write(f2, "2");
	const char *py =
	    file_in_root("closerange.py", "import os, sys\n"
					  "os.closerange(3, 65536)\n"
					  "for p in sys.argv[1:3]:\n"
					  "    try:\n"
					  "        os.unlink(p)\n"
					  "    except OSError as e:\n"
					  "        print('refused', e.errno)\n"
					  "    if p == sys.argv[1]:\n"
					  "        mine = open(sys.argv[3], 'w')\n"
					  "        os.closerange(3, mine.fileno())\n"
					  "        os.closerange(mine.fileno() + 1, 65536)\n"
					  "mine.write('mine\\n')\n"
					  "mine.close()\n");
	const char *argv[] = {"python3", py, f1, f2, mine, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	cr_assert_eq(occurrences(R.out, "refused"), 2, "out: %s", R.out);
	cr_assert(agt_exists(f1) && agt_exists(f2));
	cr_expect_eq(agt_log_count(&T, "delete", f1, "outside-workspace"), 1, "log:\n%s",
		     dump(T.log));
	cr_expect_eq(agt_log_count(&T, "delete", f2, "outside-workspace"), 1, "log:\n%s",
		     dump(T.log));
	char *m = agt_read(mine);
	cr_expect_str_eq(m, "mine\n", "the program's own file got something else");
	free(m);
}

Test(guard, shell_redirections_onto_low_and_high_descriptors_never_get_log_lines)
{
	const int fds[] = {3, 9, 10, 255, 899, 900, 901, 902, 903, 904, 1000};
	const size_t nfd = sizeof(fds) / sizeof(fds[0]);
	char script[16384];
	size_t len = 0;

	for (size_t i = 0; i < nfd; i++) {
		agt_write(pth("%s/w%d", T.out, fds[i]), "w");
		agt_write(pth("%s/d%d", T.out, fds[i]), "d");
		/* The shell's own refusal (a redirection) and a child's (rm). */
		len += (size_t)snprintf(script + len, sizeof(script) - len,
					"exec %d>%s/fd%d.txt\n"
					"echo x > %s/w%d\n"
					"rm %s/d%d\n",
					fds[i], T.ws, fds[i], T.out, fds[i], T.out, fds[i]);
		cr_assert(len < sizeof(script));
	}
	snprintf(script + len, sizeof(script) - len, "echo finished\n");

	agt_sh(&T, &R, "%s", script);
	cr_assert(strstr(R.out, "finished"), "stderr: %s", R.err);
	json_t *all = log_load(T.log);
	for (size_t i = 0; i < nfd; i++) {
		char *content = agt_read(pth("%s/fd%d.txt", T.ws, fds[i]));
		cr_expect(content && content[0] == '\0', "fd %d's file got: %s", fds[i],
			  content ? content : "(missing)");
		free(content);
		cr_expect_eq(log_match(all, "write", pth("%s/w%d", T.out, fds[i]), NULL, NULL), 1,
			     "no line for the shell's refusal after exec %d>:\n%s", fds[i],
			     dump(T.log));
		cr_expect_eq(log_match(all, "delete", pth("%s/d%d", T.out, fds[i]), NULL, NULL), 1,
			     "no line for rm's refusal after exec %d>:\n%s", fds[i], dump(T.log));
	}
	cr_expect_eq(json_array_size(all), 2 * nfd);
	json_decref(all);
}

/* A program's own "exec N>file" must land in its file, whatever number the
 * guard picked for itself, and never in the log. bash undoes an exec
 * redirection onto a close-on-exec descriptor above 9, taking it for one of
 * its own saved copies, so the number the guard holds matters. */
Test(guard, shell_exec_redirections_keep_the_programs_own_data)
{
	const int fds[] = {3, 9, 200, 255, 899, 900, 901, 1000};
	const size_t nfd = sizeof(fds) / sizeof(fds[0]);
	char script[8192];
	size_t len = 0;

	for (size_t i = 0; i < nfd; i++) {
		agt_write(pth("%s/w%d", T.out, fds[i]), "w");
		len += (size_t)snprintf(script + len, sizeof(script) - len,
					"exec %d>%s/fd%d.txt\n"
					"echo mine-%d >&%d\n"
					"echo x > %s/w%d\n",
					fds[i], T.ws, fds[i], fds[i], fds[i], T.out, fds[i]);
		cr_assert(len < sizeof(script));
	}
	snprintf(script + len, sizeof(script) - len, "echo finished\n");

	agt_sh(&T, &R, "%s", script);
	cr_assert(strstr(R.out, "finished"), "stderr: %s", R.err);
	for (size_t i = 0; i < nfd; i++) {
		char *content = agt_read(pth("%s/fd%d.txt", T.ws, fds[i]));
		cr_expect(content && strcmp(content, pth("mine-%d\n", fds[i])) == 0,
			  "exec %d>file; echo >&%d: the file got \"%s\"", fds[i], fds[i],
			  content ? content : "(missing)");
		free(content);
	}
	char *text = agt_read(T.log);
	cr_expect(text && !strstr(text, "mine-"), "the program's data went into the log:\n%s",
		  text ? text : "");
	free(text);
	json_t *all = log_load(T.log);
	cr_expect_eq(json_array_size(all), nfd);
	json_decref(all);
}

/* The guard keeps no descriptor between refusals (it opens the log for each
 * line), so there is nothing for a program to close, dup2 over or claim:
 * with its own file on every descriptor from 3 to 1023, refusals still reach
 * the log and none of the program's descriptors receives a log line. */
Test(guard, the_guard_holds_no_descriptor_a_program_could_collide_with)
{
	const char *f = pth("%s/f", T.out), *g = pth("%s/g", T.out);
	const char *mine = pth("%s/mine.txt", T.ws);
	agt_write(f, "f");
	agt_write(g, "g");
	const char *py = file_in_root(
	    "dup2.py", "import os, sys\n"
		       "log, mine, f, g = sys.argv[1:5]\n"
		       "def guard_fds():\n"
		       "    found = []\n"
		       "    for fd in os.listdir('/proc/self/fd'):\n"
		       "        try:\n"
		       "            if os.readlink('/proc/self/fd/' + fd) == log:\n"
		       "                found.append(int(fd))\n"
		       "        except OSError:\n"
		       "            pass\n"
		       "    return found\n"
		       "try:\n"
		       "    os.unlink(f)\n"
		       "except OSError as e:\n"
		       "    print('refused', e.errno)\n"
		       "print('guard fds', guard_fds())\n"
		       "m = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n"
		       "for fd in range(3, 1024):\n"
		       "    if fd != m:\n"
		       "        os.dup2(m, fd)\n"
		       "try:\n"
		       "    os.unlink(g)\n"
		       "except OSError as e:\n"
		       "    print('refused', e.errno)\n"
		       "os.write(m, b'mine\\n')\n");
	const char *argv[] = {"python3", py, T.log, mine, f, g, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "out: %s stderr: %s", R.out, R.err);
	cr_assert_eq(occurrences(R.out, "refused"), 2, "out: %s", R.out);
	cr_expect(strstr(R.out, "guard fds []") != NULL, "out: %s", R.out);
	cr_assert(agt_exists(f) && agt_exists(g));
	char *m = agt_read(mine);
	cr_expect_str_eq(m, "mine\n", "a log line went into the program's file");
	free(m);
	cr_expect_eq(agt_log_count(&T, "delete", f, "outside-workspace"), 1, "log:\n%s",
		     dump(T.log));
	cr_expect_eq(agt_log_count(&T, "delete", g, "outside-workspace"), 1, "log:\n%s",
		     dump(T.log));
	cr_expect_eq(agt_log_lines(&T), 2);
}

/* ---- the guard's own files ----------------------------------------------- */

/* Every way a shell and python can damage a file; each must be refused. */
static size_t attacks(char *buf, size_t sz, const char *file, const char *tag)
{
	return (size_t)snprintf(buf, sz,
				"F=%s\n"
				"rm -f \"$F\"\n"
				"truncate -s 0 \"$F\"\n"
				": > \"$F\"\n"
				"echo junk >> \"$F\"\n"
				"mv \"$F\" \"$F.moved\"\n"
				"chmod 666 \"$F\"\n"
				"ln \"$F\" %s/hardlink-%s\n"
				"ln -s \"$F\" %s/symlink-%s && echo junk > %s/symlink-%s\n"
				"cp /dev/null \"$F\"\n"
				"echo decoy > %s/decoy-%s && mv -f %s/decoy-%s \"$F\"\n"
				"python3 -c 'import os, sys; os.truncate(sys.argv[1], 0)' \"$F\"\n"
				"python3 -c 'import os, sys; os.chmod(sys.argv[1], 0o777)' \"$F\"\n"
				"python3 -c 'import os, sys; os.unlink(sys.argv[1])' \"$F\"\n",
				file, T.ws, tag, T.ws, tag, T.ws, tag, T.ws, tag, T.ws, tag);
}

struct snap {
	const char *path;
	void *bytes;
	size_t len;
	mode_t mode;
};

static void snap_take(struct snap *s, const char *path)
{
	s->path = path;
	s->bytes = read_bytes(path, &s->len);
	s->mode = mode_of(path);
}

static void snap_same(const struct snap *s)
{
	size_t len;
	cr_assert(agt_exists(s->path), "%s was removed", s->path);
	void *now = read_bytes(s->path, &len);
	cr_expect(len == s->len && memcmp(now, s->bytes, len) == 0, "%s was changed", s->path);
	cr_expect_eq(mode_of(s->path), s->mode, "%s changed mode", s->path);
	cr_expect(!agt_exists(pth("%s.moved", s->path)), "%s was renamed", s->path);
	free(now);
}

static void expect_self_refusals(const char *path)
{
	json_t *all = log_load(T.log);
	const char *ops[] = {"delete", "write", "rename", "chmod", "link"};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		cr_expect(log_match(all, ops[i], path, "agentguard-self", NULL) >= 1,
			  "no %s refusal by agentguard-self for %s:\n%s", ops[i], path,
			  dump(T.log));
	json_decref(all);
}

static const char *compiled_in(const char *state)
{
	glob_t g;
	static char path[PATH_MAX];
	cr_assert(glob(pth("%s/rules-*", state), 0, NULL, &g) == 0 && g.gl_pathc == 1,
		  "expected one compiled ruleset in %s", state);
	snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
	globfree(&g);
	return path;
}

static void self_protection(const char *const *env, const char *state)
{
	char *def = agt_read(pth("%s/rules/default.json", need_env("AGT_SRC")));
	cr_assert(def);
	snprintf(T.policy, sizeof(T.policy), "%s", pth("%s/policy.json", T.ws));
	agt_write(T.policy, def);
	free(def);
	const char *f = pth("%s/f", T.out);
	agt_write(f, "f");

	/* A first run makes the log (one line) and the compiled ruleset. */
	const char *rm[] = {"rm", f, NULL};
	agt_run(&T, &R, rm, env);
	cr_assert_eq(agt_log_lines(&T), 1, "log:\n%s", dump(T.log));
	const char *compiled = compiled_in(state);
	struct snap pol, comp;
	snap_take(&pol, T.policy);
	snap_take(&comp, compiled);
	mode_t log_mode = mode_of(T.log);

	char script[12000];
	size_t n = attacks(script, sizeof(script), T.log, "log");
	n += attacks(script + n, sizeof(script) - n, T.policy, "policy");
	n += attacks(script + n, sizeof(script) - n, compiled, "compiled");
	cr_assert(n < sizeof(script));
	const char *argv[] = {"bash", "-c", script, NULL};
	agt_run(&T, &R, argv, env);

	snap_same(&pol);
	snap_same(&comp);
	cr_assert(agt_exists(T.log), "the log was removed");
	cr_expect_eq(mode_of(T.log), log_mode, "the log changed mode");
	cr_expect(!agt_exists(pth("%s.moved", T.log)), "the log was renamed");
	char *text = agt_read(T.log);
	cr_expect(text && !strstr(text, "junk"), "the log was written into");
	free(text);
	cr_expect_eq(agt_log_count(&T, "delete", f, "outside-workspace"), 1,
		     "the first line is gone:\n%s", dump(T.log));
	expect_self_refusals(T.log);
	expect_self_refusals(T.policy);
	expect_self_refusals(compiled);
	cr_expect(!agt_exists(pth("%s/hardlink-log", T.ws)));
	cr_expect(!agt_exists(pth("%s/hardlink-compiled", T.ws)));
}

Test(guard, own_files_inside_the_workspace_are_protected)
{
	const char *xdg = pth("XDG_STATE_HOME=%s/state", T.ws);
	const char *env[] = {xdg, NULL};
	snprintf(T.log, sizeof(T.log), "%s", pth("%s/agentguard.jsonl", T.ws));
	self_protection(env, pth("%s/state/agentguard", T.ws));
}

Test(guard, own_files_in_their_default_places_are_protected)
{
	self_protection(NULL, pth("%s/.local/state/agentguard", T.home));
}

/* Moving a directory that holds the log or the compiled ruleset moves them
 * away from where the guard keeps them, and then nothing protects them. */
Test(guard, moving_away_a_directory_holding_the_guards_files_is_refused)
{
	const char *f = pth("%s/f", T.out);
	agt_write(f, "f");
	snprintf(T.log, sizeof(T.log), "%s", pth("%s/logs/agentguard.jsonl", T.ws));
	const char *rm[] = {"rm", f, NULL};
	agt_run(&T, &R, rm, NULL);
	cr_assert_eq(agt_log_lines(&T), 1, "log:\n%s", dump(T.log));
	const char *compiled = compiled_in(pth("%s/.local/state/agentguard", T.home));
	char comp[PATH_MAX];
	snprintf(comp, sizeof(comp), "%s", compiled);

	agt_sh(&T, &R,
	       "mv %s/logs %s/logs-moved; echo \"logs=$?\"\n"
	       "mv %s/.local/state %s/.local/state-moved; echo \"state=$?\"\n"
	       "mv %s/.local %s/local-moved; echo \"local=$?\"\n",
	       T.ws, T.ws, T.home, T.home, T.home, T.home);

	cr_expect(strstr(R.out, "logs=1"), "the log's directory was moved: %s", R.out);
	cr_expect(strstr(R.out, "state=1"), "the state directory's parent was moved: %s", R.out);
	cr_expect(strstr(R.out, "local=1"), "~/.local was moved: %s", R.out);
	cr_expect(agt_exists(comp), "the compiled ruleset was moved away");
	cr_expect_eq(agt_log_count(&T, "delete", f, "outside-workspace"), 1,
		     "the log with its first line is no longer where it was");
}

/* ---- audit mode ---------------------------------------------------------- */

static void expect_audited(const char *log, const char *f, const char *g)
{
	cr_assert(!agt_exists(f), "audit mode still refused the delete");
	char *c = agt_read(g);
	cr_assert_str_eq(c, "x\n", "audit mode still refused the write");
	free(c);
	json_t *all = log_load(log), *o;
	cr_assert_eq(log_match(all, "delete", f, "outside-workspace", &o), 1, "log:\n%s",
		     dump(log));
	cr_expect_str_eq(sfield(o, "mode"), "audit");
	cr_assert_eq(log_match(all, "write", g, "outside-workspace", &o), 1, "log:\n%s", dump(log));
	cr_expect_str_eq(sfield(o, "mode"), "audit");
	json_decref(all);
}

Test(guard, audit_flag_lets_refused_calls_happen_and_logs_them)
{
	const char *f = pth("%s/f", T.out), *g = pth("%s/g", T.out);
	agt_write(f, "f");
	agt_write(g, "g");
	T.audit = true;
	cr_assert_eq(agt_sh(&T, &R, "rm %s && echo x > %s", f, g), 0, "stderr: %s", R.err);
	expect_audited(T.log, f, g);
	cr_expect(!strstr(R.err, "agentguard: denied"), "nothing was denied; stderr: %s", R.err);
}

Test(guard, audit_from_the_environment_with_the_launcher)
{
	const char *f = pth("%s/f", T.out), *g = pth("%s/g", T.out);
	agt_write(f, "f");
	agt_write(g, "g");
	const char *env[] = {"AGENTGUARD_MODE=audit", NULL};
	const char *argv[] = {"bash", "-c", pth("rm %s && echo x > %s", f, g), NULL};
	cr_assert_eq(agt_run(&T, &R, argv, env), 0, "stderr: %s", R.err);
	expect_audited(T.log, f, g);
}

Test(guard, audit_from_the_environment_in_the_raw_form)
{
	const char *f = pth("%s/f", T.out), *g = pth("%s/g", T.out);
	const char *log = pth("%s/raw.jsonl", T.root);
	agt_write(f, "f");
	agt_write(g, "g");
	raw(&R, pth("AGENTGUARD_MODE=audit AGENTGUARD_LOG=%s", log), "rm %s && echo x > %s", f, g);
	cr_assert_eq(R.status, 0, "stderr: %s", R.err);
	expect_audited(log, f, g);
}

/* ---- a rule's own errno ---------------------------------------------------- */

Test(guard, a_rule_may_choose_eperm)
{
	const char *f = pth("%s/f", T.out);
	agt_write(f, "f");
	char pol[PATH_MAX + 512];
	snprintf(pol, sizeof(pol),
		 "{\"version\": 1, \"default\": \"allow\", \"rules\": [\n"
		 "  {\"id\": \"no-delete-eperm\", \"ops\": [\"delete\"], \"paths\": [\"%s/**\"],\n"
		 "   \"action\": \"deny\", \"errno\": \"EPERM\"}]}\n",
		 T.out);
	agt_policy(&T, pol);
	const char *py = file_in_root("eperm.py", "import errno, os, sys\n"
						  "try:\n"
						  "    os.unlink(sys.argv[1])\n"
						  "    print('deleted')\n"
						  "except OSError as e:\n"
						  "    print('errno', errno.errorcode[e.errno])\n");
	const char *argv[] = {"python3", py, f, NULL};

	cr_assert_eq(agt_run(&T, &R, argv, NULL), 0, "stderr: %s", R.err);
	cr_assert(strstr(R.out, "errno EPERM"), "out: %s", R.out);
	cr_assert(agt_exists(f));
	json_t *all = log_load(T.log), *o;
	cr_assert_eq(log_match(all, "delete", f, "no-delete-eperm", &o), 1, "log:\n%s",
		     dump(T.log));
	expect_refusal_line(o, "delete", f, NULL, "no-delete-eperm", "EPERM", "enforce");
	json_decref(all);
}

/* ---- explain and check --------------------------------------------------- */

Test(guard, explain_prints_the_decision_and_does_nothing)
{
	const char *bin = need_env("AGT_BIN");
	const char *f = pth("%s/file", T.out), *in = pth("%s/file", T.ws);
	agt_write(f, "f");
	agt_write(in, "i");

	cr_assert_eq(agt_sh_unguarded(&T, &R, "'%s' explain delete %s", bin, f), 0, "stderr: %s",
		     R.err);
	cr_expect(strncmp(R.out, "deny", 4) == 0, "out: %s", R.out);
	cr_expect(strstr(R.out, "outside-workspace"), "out: %s", R.out);
	cr_expect(strstr(R.out, f), "out: %s", R.out);
	cr_assert(agt_exists(f), "explain deleted the file");

	cr_assert_eq(agt_sh_unguarded(&T, &R, "'%s' explain delete %s", bin, in), 0);
	cr_expect(strncmp(R.out, "allow", 5) == 0, "out: %s", R.out);
	cr_expect(strstr(R.out, "rule workspace"), "out: %s", R.out);
	cr_assert(agt_exists(in));
	cr_expect_eq(agt_log_lines(&T), 0);
}

Test(guard, check_accepts_the_shipped_default_and_rejects_a_broken_policy)
{
	const char *bin = need_env("AGT_BIN");
	const char *def = pth("%s/rules/default.json", need_env("AGT_SRC"));
	cr_assert_eq(agt_sh_unguarded(&T, &R, "'%s' check %s", bin, def), 0, "stderr: %s", R.err);
	cr_expect(strstr(R.out, "ok"), "out: %s", R.out);

	const char *bad = file_in_root("broken.json", bad_field_policy);
	cr_assert_eq(agt_sh_unguarded(&T, &R, "'%s' check %s", bin, bad), 2);
	cr_expect(strstr(R.err, pth("%s:4:72:", bad)), "stderr: %s", R.err);
}

/* ---- concurrent writers ---------------------------------------------------- */

Test(guard, concurrent_refusals_never_interleave)
{
	char dir[PATH_MAX], pad[201];
	snprintf(dir, sizeof(dir), "%s", pth("%s/many", T.out));
	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	agt_mkdirs(dir);
	cr_assert_eq(agt_sh_unguarded(&T, &R,
				      "for i in 0 1 2 3 4 5 6 7; do for j in $(seq 0 49); do "
				      ": > %s/f-$i-$j-%s; done; done",
				      dir, pad),
		     0);

	agt_sh(&T, &R,
	       "for i in 0 1 2 3 4 5 6 7; do\n"
	       "  bash -c 'for j in $(seq 0 49); do : > \"$1/f-$2-$j-$3\"; done 2>/dev/null' "
	       "_ %s $i %s &\n"
	       "done\n"
	       "wait\n",
	       dir, pad);

	json_t *all = log_load(T.log), *o;
	size_t i;
	cr_assert_eq(json_array_size(all), 400, "%zu lines", json_array_size(all));
	json_array_foreach(all, i, o)
	{
		cr_expect_str_eq(sfield(o, "op"), "write");
		cr_expect_str_eq(sfield(o, "rule"), "outside-workspace");
	}
	for (int a = 0; a < 8; a++)
		for (int b = 0; b < 50; b++)
			cr_expect_eq(log_match(all, "write", pth("%s/f-%d-%d-%s", dir, a, b, pad),
					       NULL, NULL),
				     1, "file %d-%d", a, b);
	json_decref(all);
}
