/* The operator's tools end to end: check, explain, log, learn and replay on
 * real policies and real logs, each for its output and its exit status; and
 * the "ask" action through a pseudo-terminal the test opens itself: a
 * guarded `rm -rf` under rules/careful.json answered yes, no, always, not
 * at all (a one-second timeout), and with no terminal to ask on. Nothing
 * here measures time: the timeout case asserts only what the answer was. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct agt T;
static struct agt_result R;

static void setup(void)
{
	agt_setup(&T, "tools");
}

static void teardown(void)
{
	agt_teardown(&T);
}

TestSuite(tools, .init = setup, .fini = teardown, .timeout = 180);

static const char *bin(void)
{
	const char *b = getenv("AGT_BIN");
	cr_assert(b && *b, "AGT_BIN is not set; run through ctest");
	return b;
}

static const char *profile(const char *name)
{
	const char *src = getenv("AGT_SRC");
	cr_assert(src && *src, "AGT_SRC is not set; run through ctest");
	return agt_pathf("%s/rules/%s.json", src, name);
}

/* agentguard with arguments, unguarded, from the workspace. */
static int ag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ag(const char *fmt, ...)
{
	char args[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return agt_sh_unguarded(&T, &R, "'%s' %s", bin(), args);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- --help and usage ------------------------------------------------------ */

Test(tools, every_command_has_help_and_usage_errors_exit_2)
{
	static const char *const cmds[] = {"run", "check", "explain", "log", "learn", "replay", "shim"};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		cr_expect_eq(ag("%s --help", cmds[i]), 0, "%s --help: %s", cmds[i], R.err);
		cr_expect(strstr(R.out, "usage: agentguard"), "%s --help: %s", cmds[i], R.out);
	}
	static const char *const bad[] = {"log --since yesterday-ish", "log --bogus", "learn",
					  "replay LOG", "explain connect nohostport",
					  "explain exec --", "check --bogus"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(ag("%s", bad[i]), 2, "agentguard %s: %s", bad[i], R.err);
		cr_expect(strstr(R.err, "agentguard"), "agentguard %s: said %s", bad[i], R.err);
	}
}

/* A workspace of /, of a system directory or of the home directory (run
 * from there, the fallback to the current directory picks it) leaves
 * everything open: said. A project's own directory is not warned about. */
Test(tools, a_workspace_of_home_or_root_is_warned_about)
{
	const char *warn = "agentguard: warning: the workspace is ";
	cr_expect_eq(ag("run --no-floor --log '%s' --workspace '%s' -- true", T.log, T.home), 0,
		     "%s", R.err);
	cr_expect(strstr(R.err, agt_pathf("%s%s (your home directory or above)", warn, T.home)),
		  "%s", R.err);
	cr_expect_eq(ag("run --no-floor --log '%s' --workspace / -- true", T.log), 0, "%s", R.err);
	cr_expect(strstr(R.err, agt_pathf("%s/ (the whole filesystem)", warn)), "%s", R.err);
	cr_expect_eq(ag("run --no-floor --log '%s' --workspace /etc -- true", T.log), 0, "%s",
		     R.err);
	cr_expect(strstr(R.err, agt_pathf("%s/etc (a system directory)", warn)), "%s", R.err);
	cr_expect_eq(ag("run --no-floor --log '%s' --workspace /usr/ -- true", T.log), 0, "%s",
		     R.err);
	cr_expect(strstr(R.err, agt_pathf("%s/usr (a system directory)", warn)), "%s", R.err);
	cr_expect_eq(agt_sh_unguarded(&T, &R, "cd ~ && '%s' run --no-floor --log '%s' -- true",
				      bin(), T.log),
		     0, "%s", R.err);
	cr_expect(strstr(R.err, warn), "run from ~ with no --workspace: %s", R.err);
	cr_expect_eq(ag("run --no-floor --log '%s' --workspace '%s' -- true", T.log, T.ws), 0,
		     "%s", R.err);
	cr_expect(!strstr(R.err, warn), "%s", R.err);
}

/* ---- check ------------------------------------------------------------------ */

Test(tools, check_names_line_column_json_path_and_hint)
{
	const char *p = agt_pathf("%s/bad.json", T.root);
	agt_write(p, "{\n  \"version\": 1,\n  \"rules\": [\n"
		     "    {\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": \"allow\"},\n"
		     "    {\"id\": \"b\", \"ops\": [\"read\", \"unlink\"], \"paths\": [\"/y\"], "
		     "\"action\": \"deny\"}\n  ]\n}\n");
	cr_assert_eq(ag("check '%s'", p), 2);
	cr_expect(strstr(R.err, agt_pathf("%s:5:33: rules[1].ops[1]: unknown operation", p)),
		  "stderr: %s", R.err);
	cr_expect(strstr(R.err, "\nHint: operations are read, write"), "stderr: %s", R.err);
}

Test(tools, check_accepts_every_shipped_profile_quietly)
{
	static const char *const names[] = {"default", "strict", "careful", "ci"};
	for (size_t i = 0; i < 4; i++) {
		cr_expect_eq(ag("check '%s'", profile(names[i])), 0, "%s: %s", names[i], R.err);
		cr_expect_eq(R.err[0], '\0', "%s warned: %s", names[i], R.err);
	}
}

Test(tools, check_warns_about_a_shadowed_rule_and_still_exits_0)
{
	const char *p = agt_pathf("%s/shadow.json", T.root);
	agt_write(p, "{\"version\": 1, \"rules\": [\n"
		     "{\"id\": \"all\", \"ops\": [\"write\", \"delete\"], \"paths\": [\"/srv/**\"], "
		     "\"action\": \"deny\"},\n"
		     "{\"id\": \"one\", \"ops\": [\"delete\"], \"paths\": [\"/srv/app/cache/**\"], "
		     "\"action\": \"allow\"},\n"
		     "{\"id\": \"other\", \"ops\": [\"read\"], \"paths\": [\"/srv/app\"], "
		     "\"action\": \"allow\"}]}\n");
	cr_assert_eq(ag("check '%s'", p), 0, "stderr: %s", R.err);
	cr_expect(strstr(R.err, "rules[1] (one) can never match: rules[0] (all)"), "%s", R.err);
	cr_expect(!strstr(R.err, "(other)"), "%s", R.err);
}

/* ---- explain ----------------------------------------------------------------- */

Test(tools, explain_path_exec_and_connect)
{
	const char *f = agt_pathf("%s/keep/f", T.out);
	agt_put(f, "x");
	cr_assert_eq(ag("explain delete '%s'", f), 0, "%s", R.err);
	cr_expect(!strncmp(R.out, "deny delete", 11) && strstr(R.out, "(rule outside-workspace)"),
		  "%s", R.out);
	cr_expect_eq(ag("explain -q delete '%s'", f), 1);
	cr_expect_eq(R.out[0], '\0');
	cr_expect_eq(ag("explain -q delete '%s/x'", T.ws), 0);

	cr_assert_eq(ag("explain exec -- rm -rf '%s/keep'", T.out), 0, "%s", R.err);
	cr_expect(strstr(R.out, "allow exec /"), "%s", R.out);
	cr_expect(strstr(R.out, agt_pathf("deny delete %s/keep/** (whole tree)", T.out)), "%s",
		  R.out);
	cr_expect(agt_exists(f), "explain deleted something");

	cr_assert_eq(ag("explain connect 169.254.169.254:80"), 0, "%s", R.err);
	cr_expect(strstr(R.out, "deny connect 169.254.169.254 port 80 (rule cloud-metadata)"), "%s",
		  R.out);
	cr_assert_eq(ag("explain connect '[fd00:ec2::254]:80'"), 0, "%s", R.err);
	cr_expect(strstr(R.out, "(rule cloud-metadata)"), "%s", R.out);
	cr_assert_eq(ag("explain connect unix:/var/run/docker.sock"), 0, "%s", R.err);
	cr_expect(strstr(R.out, "(rule container-engines)"), "%s", R.out);
	cr_assert_eq(ag("explain connect localhost:8080"), 0, "%s", R.err);
	cr_expect(strstr(R.out, "port 8080 (localhost) (rule default)"), "%s", R.out);
}

Test(tools, explain_exec_argv_rules_and_json)
{
	agt_policy(&T, "{\"version\": 1, \"rules\": [{\"id\": \"no-push\", \"ops\": [\"exec\"], "
		       "\"paths\": [\"**/git\"], \"argv\": [\"push\"], \"action\": \"deny\"}]}");
	cr_assert_eq(ag("explain --policy '%s' --json exec -- git push origin", T.policy), 0, "%s",
		     R.err);
	json_error_t e;
	json_t *o = json_loads(R.out, 0, &e);
	cr_assert(o, "not JSON: %s", R.out);
	cr_expect_str_eq(json_string_value(json_object_get(o, "decision")), "deny");
	json_t *c = json_array_get(json_object_get(o, "checks"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(c, "rule")), "no-push");
	cr_expect_str_eq(json_string_value(json_object_get(o, "policy")), T.policy);
	json_decref(o);
	cr_expect_eq(ag("explain -q --policy '%s' exec -- git status", T.policy), 0);
	cr_expect_eq(ag("explain -q --policy '%s' exec -- git push", T.policy), 1);
}

/* ---- log ----------------------------------------------------------------------- */

/* Three refusals of two rules, by two programs. */
static void make_refusals(void)
{
	agt_put(agt_pathf("%s/a/f1", T.out), "1");
	agt_put(agt_pathf("%s/a/f2", T.out), "2");
	agt_put(agt_pathf("%s/.ssh/id_ed25519", T.home), "k");
	agt_sh(&T, &R, "rm -f '%s/a/f1'; echo x > '%s/a/f2'; cat ~/.ssh/id_ed25519", T.out, T.out);
	cr_assert_eq(agt_log_lines(&T), 3, "log: %s", agt_logtext(&T));
}

Test(tools, log_table_json_rule_filter_and_since)
{
	make_refusals();
	cr_assert_eq(ag("log '%s'", T.log), 0, "%s", R.err);
	cr_expect(!strncmp(R.out, "TIME", 4), "%s", R.out);
	cr_expect_eq(count(R.out, "\n"), 4, "%s", R.out);
	cr_expect(strstr(R.out, agt_pathf("%s/a/f1  [outside-workspace]", T.out)), "%s", R.out);
	cr_expect(strstr(R.out, " rm "), "%s", R.out);
	cr_expect(strstr(R.out, "[secrets]"), "%s", R.out);

	cr_assert_eq(ag("log --json --rule outside-workspace '%s'", T.log), 0);
	cr_expect_eq(count(R.out, "\n"), 2, "%s", R.out);
	for (char *l = R.out; *l; l = strchr(l, '\n') + 1) {
		json_error_t e;
		json_t *o = json_loadb(l, strcspn(l, "\n"), 0, &e);
		cr_expect(o && !strcmp(json_string_value(json_object_get(o, "rule")),
				       "outside-workspace"),
			  "%s", l);
		json_decref(o);
	}
	cr_expect_eq(ag("log --since 1h '%s'", T.log), 0);
	cr_expect_eq(count(R.out, "\n"), 4);
	cr_expect_eq(ag("log --since 2999-01-01T00:00:00Z '%s'", T.log), 1, "%s", R.out);
	cr_expect_eq(ag("log --rule no-such-rule '%s'", T.log), 1);
	cr_expect_eq(ag("log '%s/missing.jsonl'", T.root), 2);
	/* The session's log when no file is named. */
	cr_expect_eq(agt_sh_unguarded(&T, &R, "AGENTGUARD_LOG='%s' '%s' log --json", T.log, bin()), 0);
	cr_expect_eq(count(R.out, "\n"), 3);
}

Test(tools, log_summary_counts)
{
	make_refusals();
	cr_assert_eq(ag("log --summary --json '%s'", T.log), 0, "%s", R.err);
	json_error_t e;
	json_t *o = json_loads(R.out, 0, &e);
	cr_assert(o, "not JSON: %s", R.out);
	cr_expect_eq(json_integer_value(json_object_get(o, "lines")), 3);
	json_t *rules = json_object_get(o, "rules"), *progs = json_object_get(o, "programs");
	json_t *dirs = json_object_get(o, "directories");
	cr_expect_eq(json_integer_value(json_object_get(rules, "outside-workspace")), 2, "%s", R.out);
	cr_expect_eq(json_integer_value(json_object_get(rules, "secrets")), 1, "%s", R.out);
	cr_expect_eq(json_integer_value(json_object_get(progs, "rm")), 1, "%s", R.out);
	cr_expect_eq(json_integer_value(json_object_get(dirs, agt_pathf("%s/a", T.out))), 2, "%s",
		     R.out);
	cr_expect_eq(json_integer_value(json_object_get(dirs, agt_pathf("%s/.ssh", T.home))), 1,
		     "%s", R.out);
	json_decref(o);
	cr_assert_eq(ag("log --summary '%s'", T.log), 0);
	cr_expect(strstr(R.out, "per rule:") && strstr(R.out, "per top directory:"), "%s", R.out);
}

/* ---- learn and replay ---------------------------------------------------------- */

Test(tools, learn_from_an_audit_run_then_check_and_replay)
{
	T.audit = true;
	agt_put(agt_pathf("%s/old/f1", T.out), "1");
	agt_put(agt_pathf("%s/old/f2", T.out), "2");
	agt_put(agt_pathf("%s/.aws/credentials", T.home), "k");
	agt_sh(&T, &R, "rm '%s/old/f1' '%s/old/f2'; cat ~/.aws/credentials >/dev/null", T.out,
	       T.out);
	cr_assert_gt(agt_log_lines(&T), 1, "%s", agt_logtext(&T));

	const char *cand = agt_pathf("%s/learned.json", T.root);
	cr_assert_eq(agt_sh_unguarded(&T, &R, "'%s' learn '%s' > '%s'", bin(), T.log, cand), 0,
		     "%s", R.err);
	char *text = agt_read(cand);
	json_error_t e;
	json_t *pol = json_loads(text, 0, &e), *r;
	cr_assert(pol, "learn printed no JSON: %s", text);
	bool dir = false, secret = false;
	size_t i;
	json_array_foreach(json_object_get(pol, "rules"), i, r) {
		const char *pat = json_string_value(json_array_get(json_object_get(r, "paths"), 0));
		const char *desc = json_string_value(json_object_get(r, "description"));
		if (pat && !strcmp(pat, agt_pathf("%s/old/**", T.out)))
			dir = true;
		if (pat && !strcmp(pat, "${HOME}/.aws/credentials"))
			secret = desc && strstr(desc, "WARNING");
	}
	cr_expect(dir, "no grouped allow for the old directory: %s", text);
	cr_expect(secret, "the secret is not allowed exactly, with a warning: %s", text);
	json_decref(pol);
	free(text);

	cr_expect_eq(ag("check '%s'", cand), 0, "%s", R.err);
	cr_expect_eq(ag("replay --policy '%s' '%s'", cand, T.log), 0, "%s%s", R.out, R.err);
	cr_expect(strstr(R.out, "would newly allow"), "%s", R.out);
	cr_expect_eq(ag("replay --json --policy '%s' '%s'", profile("default"), T.log), 1);
	json_t *rep = json_loads(R.out, 0, &e);
	cr_assert(rep, "%s", R.out);
	cr_expect_gt(json_array_size(json_object_get(rep, "refused")), 1, "%s", R.out);
	cr_expect_eq(json_array_size(json_object_get(rep, "newly_allowed")), 0, "%s", R.out);
	json_decref(rep);
}

/* ---- ask, through a pseudo-terminal -------------------------------------------- */

struct asked {
	int status;
	int prompts;
	char screen[16384];
};

/* The child is a session leader whose controlling terminal is the pty's
 * slave (or, with no tty, none at all), running a guarded bash under
 * careful.json. Every prompt that appears is answered with answer (NULL:
 * never answered). */
static void ask_child(const char *ag_bin, const char *policy, const char *slave,
		      const char *script, const char *timeout)
{
	setsid();
	int fd = slave ? open(slave, O_RDWR) : open("/dev/null", O_RDWR);
	if (fd < 0 || chdir(T.ws) != 0)
		_exit(126);
	dup2(fd, 0);
	if (slave) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setenv("HOME", T.home, 1);
	setenv("TMPDIR", T.tmp, 1);
	unsetenv("XDG_STATE_HOME");
	unsetenv("LD_PRELOAD");
	setenv("AGENTGUARD_ASK_TIMEOUT", timeout ? timeout : "120", 1);
	/* The preload asks; the kernel floor (which would confine the tests'
	 * set-up writes outside) is not what is tested here. */
	execl(ag_bin, ag_bin, "run", "--no-floor", "--workspace", T.ws, "--log", T.log, "--policy",
	      policy, "--", "bash", "-c", script, (char *)NULL);
	_exit(127);
}

static void drive(int fd, struct asked *a, const char *answer)
{
	size_t n = 0;
	int answered = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		/* A safety net against a hung child, not a timing assertion. */
		if (poll(&p, 1, 150000) <= 0)
			break;
		ssize_t got = read(fd, a->screen + n, sizeof(a->screen) - 1 - n);
		if (got <= 0)
			break; /* EIO once the last slave descriptor closes */
		n += (size_t)got;
		a->screen[n] = '\0';
		a->prompts = count(a->screen, "[y/N/always]");
		for (; answer && answered < a->prompts; answered++)
			cr_assert_eq(write(fd, answer, strlen(answer)), (ssize_t)strlen(answer));
	}
}

static void ask_run(struct asked *a, bool tty, const char *answer, const char *timeout,
		    const char *script)
{
	int m = -1, pipefd[2] = {-1, -1};
	const char *slave = NULL, *ag_bin = bin(), *policy = profile("careful");

	memset(a, 0, sizeof(*a));
	if (tty) {
		m = posix_openpt(O_RDWR | O_NOCTTY);
		cr_assert(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "no pty: %s",
			  strerror(errno));
		slave = ptsname(m);
	} else {
		cr_assert_eq(pipe(pipefd), 0);
	}
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		if (!tty) {
			dup2(pipefd[1], 1);
			dup2(pipefd[1], 2);
		}
		ask_child(ag_bin, policy, slave, script, timeout);
	}
	if (!tty)
		close(pipefd[1]);
	drive(tty ? m : pipefd[0], a, answer);
	close(tty ? m : pipefd[0]);
	int st;
	waitpid(pid, &st, 0);
	a->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A tree outside the workspace and the temp directories: 3 files, 1 dir. */
static const char *old_project(void)
{
	const char *d = agt_pathf("%s/old-project", T.out);
	agt_put(agt_pathf("%s/a.txt", d), "a");
	agt_put(agt_pathf("%s/src/b.c", d), "b");
	agt_put(agt_pathf("%s/src/c.c", d), "c");
	return d;
}

static int answers(const char *answer)
{
	return agt_log_count(&T, "delete", agt_pathf("%s/old-project", T.out),
			     "ask-delete-outside") > 0
		       ? count(agt_logtext(&T), agt_pathf("\"answer\":\"%s\"", answer))
		       : 0;
}

Test(tools, ask_yes_deletes_the_tree_after_one_question)
{
	struct asked a;
	const char *d = old_project();
	ask_run(&a, true, "y\n", NULL, agt_pathf("rm -rf '%s'", d));
	cr_expect_eq(a.status, 0, "screen: %s", a.screen);
	cr_expect_eq(a.prompts, 1, "screen: %s", a.screen);
	cr_expect(strstr(a.screen, agt_pathf("agentguard: allow rm to delete %s (4 files)? "
					     "[y/N/always]", d)),
		  "screen: %s", a.screen);
	cr_expect(!agt_exists(d), "the tree is still there");
	cr_expect_eq(answers("yes"), 1, "log: %s", agt_logtext(&T));
}

Test(tools, ask_no_refuses_and_rm_never_starts)
{
	struct asked a;
	const char *d = old_project();
	ask_run(&a, true, "n\n", NULL, agt_pathf("rm -rf '%s'; echo rc=$?", d));
	cr_expect_eq(a.prompts, 1, "screen: %s", a.screen);
	cr_expect(strstr(a.screen, "rc=126") || strstr(a.screen, "rc=1"), "screen: %s", a.screen);
	cr_expect(agt_exists(agt_pathf("%s/src/b.c", d)), "deleted after a no");
	cr_expect_eq(answers("no"), 1, "log: %s", agt_logtext(&T));
	cr_expect(strstr(agt_logtext(&T), "\"action\":\"ask\""), "log: %s", agt_logtext(&T));
}

Test(tools, ask_unanswered_times_out_as_no)
{
	struct asked a;
	const char *d = old_project();
	ask_run(&a, true, NULL, "1", agt_pathf("rm -rf '%s'", d));
	cr_expect_neq(a.status, 0, "screen: %s", a.screen);
	cr_expect(strstr(a.screen, "no answer; refused"), "screen: %s", a.screen);
	cr_expect(agt_exists(agt_pathf("%s/a.txt", d)), "deleted without an answer");
	cr_expect_eq(answers("timeout"), 1, "log: %s", agt_logtext(&T));
}

Test(tools, ask_always_is_remembered_across_the_session)
{
	struct asked a;
	const char *d = old_project();
	ask_run(&a, true, "always\n", NULL,
		agt_pathf("rm -rf '%s' && mkdir -p '%s/again' && : > '%s/again/f' && "
			  "bash -c \"rm -rf '%s'\" && python3 -c \"import os; os.mkdir('%s'); "
			  "os.rmdir('%s')\"",
			  d, d, d, d, d, d));
	cr_expect_eq(a.status, 0, "screen: %s", a.screen);
	cr_expect_eq(a.prompts, 1, "asked again after always; screen: %s", a.screen);
	cr_expect(!agt_exists(d));
	cr_expect_eq(answers("always"), 1, "log: %s", agt_logtext(&T));
}

Test(tools, ask_without_a_terminal_is_no)
{
	struct asked a;
	const char *d = old_project();
	ask_run(&a, false, NULL, NULL, agt_pathf("rm -rf '%s'", d));
	cr_expect_neq(a.status, 0, "output: %s", a.screen);
	cr_expect_eq(a.prompts, 0, "output: %s", a.screen);
	cr_expect(strstr(a.screen, "agentguard: denied delete"), "output: %s", a.screen);
	cr_expect(agt_exists(agt_pathf("%s/src/c.c", d)));
	cr_expect_eq(answers("no-tty"), 1, "log: %s", agt_logtext(&T));
}

Test(tools, ask_per_file_delete_outside_a_command_line)
{
	struct asked a;
	const char *f = agt_pathf("%s/note.txt", T.out);
	agt_put(f, "n");
	ask_run(&a, true, "y\n", NULL, agt_pathf("python3 -c \"import os; os.remove('%s')\"", f));
	cr_expect_eq(a.status, 0, "screen: %s", a.screen);
	cr_expect(strstr(a.screen, agt_pathf("to delete %s? [y/N/always]", f)), "screen: %s",
		  a.screen);
	cr_expect(!agt_exists(f));
}
