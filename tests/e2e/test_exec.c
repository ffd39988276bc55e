/* The exec guard end to end, under `agentguard run` with real programs:
 *
 *  - children keep the guard whatever the program did to its environment
 *    (env -i, env={}, unset or replaced LD_PRELOAD, AGENTGUARD_* rewritten):
 *    each case has a grandchild make a plain, non-recursive delete of an
 *    outside file, so the refusal can only come from the grandchild's own
 *    preload;
 *  - recursive deletes read from the command line are refused before the
 *    program starts, and ordinary ones inside the workspace and temp go on;
 *  - sudo, su, doas and pkexec are refused by name;
 *  - programs the preload cannot follow (static, Go, a #! script whose
 *    interpreter is static, setuid to another owner) are refused unless
 *    the policy says otherwise;
 *  - the shim directory puts the guard back into an interpreter started by
 *    a program the preload cannot follow;
 *  - a storm of fork, vfork and posix_spawn from 16 threads neither hangs
 *    nor loses a refusal.
 *
 * Helper programs are compiled at test time with gcc into the test's tree.
 * Every refusal test checks that the guarded thing survived and that the
 * log names the refusal; every "ordinary work" test checks the guard kept
 * quiet. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static struct agt t;
static struct agt_result r;

static void fini_tree(void)
{
	agt_teardown(&t);
}

TestSuite(exec, .fini = fini_tree, .timeout = 120);

/* ---- helpers ------------------------------------------------------------ */

#define P agt_pathf

#define put agt_put

#define logtext() agt_logtext(&t)

static const char *real(const char *path)
{
	static char ring[8][PATH_MAX];
	static unsigned next;
	char *b = ring[next++ % 8];
	return realpath(path, b) ? b : path;
}

/* Where rm really lives: /proc/self/exe of a guarded rm says this. */
static const char *rm_exe(void)
{
	return real("/bin/rm");
}

/* The interpreter itself, not a version manager's wrapper script in front. */
static const char *python(void)
{
	static char path[PATH_MAX];
	struct agt_result *probe = malloc(sizeof(*probe));

	cr_assert(probe);
	if (agt_sh_unguarded(&t, probe, "python3 -c 'import sys; print(sys.executable)'") != 0 ||
	    !probe->out[0]) {
		free(probe);
		cr_skip_test("python3 is not available");
	}
	probe->out[strcspn(probe->out, "\n")] = '\0';
	cr_assert(strlen(probe->out) < sizeof(path));
	memcpy(path, probe->out, strlen(probe->out) + 1);
	free(probe);
	return path;
}

static bool have(const char *name)
{
	struct agt_result *probe = malloc(sizeof(*probe));
	bool ok = probe && agt_sh_unguarded(&t, probe, "command -v %s >/dev/null 2>&1", name) == 0;
	free(probe);
	return ok;
}

/* What a log line must hold: every non-NULL string field equal, argv equal
 * element by element when given, and the note containing each substring. */
struct want {
	const char *op, *path, *rule, *exe, *action, *mode;
	const char *const *argv;
	const char *note[3];
};

static bool argv_is(json_t *v, const char *const *want)
{
	size_t n = 0;
	if (!json_is_array(v))
		return false;
	for (; want[n]; n++) {
		json_t *e = json_array_get(v, n);
		if (!json_is_string(e) || strcmp(json_string_value(e), want[n]) != 0)
			return false;
	}
	return json_array_size(v) == n;
}

static bool str_is(json_t *o, const char *key, const char *want)
{
	json_t *v = json_object_get(o, key);
	return !want || (json_is_string(v) && strcmp(json_string_value(v), want) == 0);
}

static bool line_matches(json_t *o, const struct want *w)
{
	if (!str_is(o, "op", w->op) || !str_is(o, "path", w->path) || !str_is(o, "rule", w->rule) ||
	    !str_is(o, "exe", w->exe) || !str_is(o, "action", w->action) ||
	    !str_is(o, "mode", w->mode))
		return false;
	if (w->argv && !argv_is(json_object_get(o, "argv"), w->argv))
		return false;
	for (int i = 0; i < 3 && w->note[i]; i++) {
		json_t *n = json_object_get(o, "note");
		if (!json_is_string(n) || !strstr(json_string_value(n), w->note[i]))
			return false;
	}
	return true;
}

/* Lines matching w; a line that is not JSON makes the count negative. */
static int log_n(const struct want *w)
{
	json_t *lines = agt_log_load(t.log), *o;
	size_t i;
	int n = 0;

	if (!lines)
		return -100000;
	json_array_foreach(lines, i, o)
		n += line_matches(o, w);
	json_decref(lines);
	return n;
}

/* Replaces @F (the victim file), @OUT, @WS, @HOME, @BIN and @PY in a
 * script template. */
static const char *victim_path;
static const char *expand(const char *tmpl)
{
	static char ring[4][16384];
	static unsigned next;
	char *b = ring[next++ % 4];
	const struct {
		const char *tok, *val;
	} subs[] = {
	    {"@F", victim_path ? victim_path : "?"},
	    {"@OUT", t.out},
	    {"@WS", t.ws},
	    {"@HOME", t.home},
	    {"@BIN", P("%s/bin", t.root)},
	    {"@PY", "python3"},
	};
	size_t n = 0;

	for (const char *p = tmpl; *p;) {
		size_t k, sz = sizeof(subs) / sizeof(subs[0]);
		for (k = 0; k < sz; k++)
			if (strncmp(p, subs[k].tok, strlen(subs[k].tok)) == 0)
				break;
		const char *add = k < sz ? subs[k].val : p;
		size_t len = k < sz ? strlen(add) : 1;
		cr_assert(n + len < sizeof(ring[0]), "script too long");
		memcpy(b + n, add, len);
		n += len;
		p += k < sz ? strlen(subs[k].tok) : 1;
	}
	b[n] = '\0';
	return b;
}

static void expect_file(const char *path, const char *want)
{
	char *got = agt_read(path);
	cr_expect(got != NULL, "%s is gone; stdout:\n%s\nstderr:\n%s\nlog:\n%s", path, r.out, r.err,
		  logtext());
	if (got)
		cr_expect_str_eq(got, want, "%s was changed", path);
	free(got);
}

static void expect_quiet(void)
{
	cr_expect_eq(agt_log_lines(&t), 0, "the guard logged during ordinary work:\n%s", logtext());
	cr_expect(strstr(r.err, "agentguard:") == NULL, "the guard spoke on stderr:\n%s", r.err);
}

/* An outside file the tests try to delete. */
static void new_victim(void)
{
	victim_path = P("%s/victim.txt", t.out);
	put(victim_path, "precious\n");
}

static int run_py(const char *script)
{
	const char *argv[] = {python(), "-c", script, NULL};
	return agt_run(&t, &r, argv, NULL);
}

static int run_perl(const char *script)
{
	if (!have("perl"))
		cr_skip_test("perl is not available");
	const char *argv[] = {"perl", "-e", script, NULL};
	return agt_run(&t, &r, argv, NULL);
}

/* Compiles a C program into <root>/bin; returns its path. */
static const char *build(const char *name, const char *src, const char *flags)
{
	const char *dir = P("%s/bin", t.root);
	const char *bin = P("%s/%s", dir, name);
	const char *c = P("%s/%s.c", dir, name);
	struct agt_result *cc = malloc(sizeof(*cc));

	cr_assert(cc);
	if (!have("gcc")) {
		free(cc);
		cr_skip_test("gcc is not available");
	}
	agt_mkdirs(dir);
	agt_write(c, src);
	int rc = agt_sh_unguarded(&t, cc, "gcc -O1 %s -o '%s' '%s' 2>&1", flags, bin, c);
	cr_assert_eq(rc, 0, "cannot build %s:\n%s", name, cc->out);
	free(cc);
	return bin;
}

/* ---- 1. children keep the guard ----------------------------------------- */

/* One outside file; the program run starts a child (or grandchild) that
 * tries a plain rm of it. */
static void child_keeps_guard(const char *name, const char *lang, const char *tmpl)
{
	agt_setup(&t, name);
	victim_path = P("%s/victim.txt", t.out);
	put(victim_path, "precious\n");
	const char *script = expand(tmpl);

	if (strcmp(lang, "py") == 0)
		run_py(script);
	else if (strcmp(lang, "perl") == 0)
		run_perl(script);
	else
		agt_sh(&t, &r, "%s", script);

	expect_file(victim_path, "precious\n");
	int n = log_n(&(struct want){.op = "delete",
				     .path = victim_path,
				     .rule = "outside-workspace",
				     .exe = rm_exe(),
				     .action = "deny",
				     .mode = "enforce"});
	cr_expect_eq(n, 1, "want one refusal by %s itself of %s; got %d; script:\n%s\nlog:\n%s",
		     rm_exe(), victim_path, n, script, logtext());
	cr_expect(
	    strstr(r.err, P("agentguard: denied delete %s (rule outside-workspace)", victim_path)),
	    "the child's refusal is not on stderr:\n%s", r.err);
}

Test(exec, env_i_child)
{
	child_keeps_guard("x-envi", "sh", "env -i rm @F");
}

Test(exec, bash_exec_env_i)
{
	child_keeps_guard("x-execenvi", "sh", "exec env -i rm @F");
}

Test(exec, env_i_with_an_absolute_program)
{
	child_keeps_guard("x-envi-abs", "sh", "env -i /usr/bin/rm @F; true");
}

Test(exec, unset_ld_preload)
{
	child_keeps_guard("x-unset", "sh", "unset LD_PRELOAD; rm @F; true");
}

Test(exec, empty_ld_preload)
{
	child_keeps_guard("x-emptypre", "sh", "LD_PRELOAD= rm @F; true");
}

Test(exec, ld_preload_replaced_by_a_missing_library)
{
	child_keeps_guard("x-nopre", "sh", "LD_PRELOAD=/nonexistent.so rm @F; true");
}

Test(exec, exported_ld_preload_cleared_then_python_child)
{
	child_keeps_guard("x-export", "sh",
			  "export LD_PRELOAD=; @PY -c 'import subprocess; "
			  "subprocess.run([\"rm\", \"@F\"])'");
}

Test(exec, python_subprocess_with_empty_env)
{
	child_keeps_guard("x-subp", "py",
			  "import subprocess\nsubprocess.run(['rm', '@F'], env={})\n");
}

Test(exec, python_posix_spawn_with_empty_env)
{
	child_keeps_guard("x-spawn", "py",
			  "import os\n"
			  "pid = os.posix_spawn('/usr/bin/rm', ['rm', '@F'], {})\n"
			  "os.waitpid(pid, 0)\n");
}

Test(exec, python_posix_spawnp_with_empty_env)
{
	child_keeps_guard("x-spawnp", "py",
			  "import os\n"
			  "pid = os.posix_spawnp('rm', ['rm', '@F'], {})\n"
			  "os.waitpid(pid, 0)\n");
}

Test(exec, python_fork_then_execve_with_empty_env)
{
	child_keeps_guard("x-execve", "py",
			  "import os\n"
			  "pid = os.fork()\n"
			  "if pid == 0:\n"
			  "    os.execve('/usr/bin/rm', ['rm', '@F'], {})\n"
			  "os.waitpid(pid, 0)\n");
}

Test(exec, python_fexecve_with_empty_env)
{
	/* os.execve with a descriptor for a path is fexecve(3). */
	child_keeps_guard("x-fexecve", "py",
			  "import os\n"
			  "assert os.execve in os.supports_fd\n"
			  "fd = os.open('/usr/bin/rm', os.O_RDONLY)\n"
			  "pid = os.fork()\n"
			  "if pid == 0:\n"
			  "    os.execve(fd, ['rm', '@F'], {})\n"
			  "os.waitpid(pid, 0)\n");
}

Test(exec, python_os_system_with_environ_cleared)
{
	child_keeps_guard("x-system", "py", "import os\nos.environ.clear()\nos.system('rm @F')\n");
}

Test(exec, python_os_popen_with_environ_cleared)
{
	child_keeps_guard("x-popen", "py",
			  "import os\nos.environ.clear()\n"
			  "p = os.popen('rm @F')\np.read()\np.close()\n");
}

Test(exec, perl_system_with_env_cleared)
{
	child_keeps_guard("x-perlsys", "perl", "%ENV = (); system('rm', '@F');");
}

Test(exec, perl_exec_with_env_cleared)
{
	child_keeps_guard("x-perlexec", "perl", "%ENV = (); exec('rm', '@F') or die;");
}

Test(exec, agentguard_mode_audit_set_by_the_program)
{
	child_keeps_guard("x-mode", "sh", "AGENTGUARD_MODE=audit rm @F; true");
}

Test(exec, agentguard_log_devnull_set_by_the_program)
{
	/* The line must still reach the session's log: child_keeps_guard reads it there. */
	child_keeps_guard("x-log", "sh", "export AGENTGUARD_LOG=/dev/null; rm @F; true");
}

Test(exec, agentguard_log_elsewhere_set_by_the_program)
{
	child_keeps_guard("x-log2", "sh", "export AGENTGUARD_LOG=@OUT/other.jsonl; rm @F; true");
	cr_expect(!agt_exists(P("%s/other.jsonl", t.out)),
		  "the grandchild logged where the program told it to");
}

Test(exec, agentguard_workspace_moved_outside_by_the_program)
{
	agt_setup(&t, "x-ws");
	const char *ws_old = P("%s/old.txt", t.ws);
	victim_path = P("%s/victim.txt", t.out);
	put(ws_old, "old\n");
	put(victim_path, "precious\n");

	/* Were the workspace now the outside directory, the first rm would
	 * succeed and the second be refused. */
	agt_sh(
	    &t, &r, "%s",
	    expand("export AGENTGUARD_WORKSPACE=@OUT; rm @F; rm @WS/old.txt && echo ws-still-ok"));

	expect_file(victim_path, "precious\n");
	cr_expect(!agt_exists(ws_old), "a delete inside the original workspace was refused:\n%s",
		  logtext());
	cr_expect(strstr(r.out, "ws-still-ok"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect_eq(
	    log_n(&(struct want){
		.op = "delete", .path = victim_path, .rule = "outside-workspace", .exe = rm_exe()}),
	    1, "log:\n%s", logtext());
	cr_expect_eq(log_n(&(struct want){.path = ws_old}), 0, "log:\n%s", logtext());
}

Test(exec, agentguard_policy_pointed_at_an_empty_policy_by_the_program)
{
	agt_setup(&t, "x-pol");
	victim_path = P("%s/victim.txt", t.out);
	put(victim_path, "precious\n");
	const char *lax = P("%s/lax.json", t.out);
	agt_write(lax, "{\"version\": 1, \"default\": \"allow\", \"rules\": []}\n");

	agt_sh(&t, &r, "%s",
	       expand("export AGENTGUARD_POLICY=@OUT/lax.json AGENTGUARD_COMPILED=; rm @F; true"));

	expect_file(victim_path, "precious\n");
	cr_expect_eq(
	    log_n(&(struct want){
		.op = "delete", .path = victim_path, .rule = "outside-workspace", .exe = rm_exe()}),
	    1, "log:\n%s", logtext());
}

/* What a child sees: the library first in LD_PRELOAD, then what the program
 * put there; the AGENTGUARD_* settings as the launch fixed them. */
Test(exec, child_environment_is_restored_from_the_launch)
{
	agt_setup(&t, "x-envshow");
	const char *lib = getenv("AGT_LIB");
	cr_assert(lib, "AGT_LIB is not set");
	agt_sh(&t, &r,
	       "LD_PRELOAD=/nonexistent.so printenv LD_PRELOAD 2>/dev/null; "
	       "env -i printenv AGENTGUARD_WORKSPACE AGENTGUARD_LOG AGENTGUARD_MODE; "
	       "AGENTGUARD_MODE=audit AGENTGUARD_WORKSPACE=/ printenv AGENTGUARD_MODE "
	       "AGENTGUARD_WORKSPACE; AGENTGUARD_EXTRA=1 printenv AGENTGUARD_EXTRA; true");
	const char *want =
	    P("%s:/nonexistent.so\n%s\n%s\nenforce\nenforce\n%s\n", real(lib), t.ws, t.log, t.ws);
	cr_expect(strstr(r.out, want) && !strstr(r.out, "EXTRA"),
		  "want in stdout:\n%s\ngot:\n%s\nstderr:\n%s", want, r.out, r.err);
}

/* system, popen and wordexp run /bin/sh from inside libc, from the
 * process's own environment, which the program cleared. */
static const char shells_src[] = "#include <stdio.h>\n"
				 "#include <stdlib.h>\n"
				 "#include <wordexp.h>\n"
				 "int main(int argc, char **argv)\n"
				 "{\n"
				 "\tchar cmd[8192];\n"
				 "\twordexp_t we;\n"
				 "\tif (argc != 4)\n"
				 "\t\treturn 2;\n"
				 "\tclearenv();\n"
				 "\tsnprintf(cmd, sizeof(cmd), \"rm '%s'\", argv[1]);\n"
				 "\tprintf(\"system=%d\\n\", system(cmd));\n"
				 "\tfflush(stdout);\n"
				 "\tsnprintf(cmd, sizeof(cmd), \"rm '%s'\", argv[2]);\n"
				 "\tFILE *p = popen(cmd, \"r\");\n"
				 "\tprintf(\"popen=%d\\n\", p ? pclose(p) : -1);\n"
				 "\tfflush(stdout);\n"
				 "\tsnprintf(cmd, sizeof(cmd), \"$(rm '%s')\", argv[3]);\n"
				 "\tint rc = wordexp(cmd, &we, 0);\n"
				 "\tif (rc == 0)\n"
				 "\t\twordfree(&we);\n"
				 "\tprintf(\"wordexp=%d\\n\", rc);\n"
				 "\treturn 0;\n"
				 "}\n";

Test(exec, c_system_popen_and_wordexp_after_clearenv)
{
	agt_setup(&t, "x-cshells");
	char prog[PATH_MAX];
	snprintf(prog, sizeof(prog), "%s", build("shells", shells_src, ""));
	const char *v[3];
	for (int i = 0; i < 3; i++) {
		v[i] = P("%s/victim-%d.txt", t.out, i);
		put(v[i], "precious\n");
	}
	const char *argv[] = {prog, v[0], v[1], v[2], NULL};
	agt_run(&t, &r, argv, NULL);
	cr_expect(strstr(r.out, "wordexp="), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	for (int i = 0; i < 3; i++) {
		expect_file(v[i], "precious\n");
		cr_expect_eq(log_n(&(struct want){.op = "delete",
						  .path = v[i],
						  .rule = "outside-workspace",
						  .exe = rm_exe()}),
			     1, "no refusal by rm of %s; log:\n%s", v[i], logtext());
	}
}

/* ---- 1b. the parent stays guarded after starting a child ---------------- */

/* vfork shares the parent's memory, thread-local data included: whatever
 * an exec hook does in the vfork child before the exec succeeds is done
 * to the parent's thread as well. */
static const char vfork_src[] = "#include <stdio.h>\n"
				"#include <sys/wait.h>\n"
				"#include <unistd.h>\n"
				"extern char **environ;\n"
				"int main(int argc, char **argv)\n"
				"{\n"
				"\tchar *targv[] = {\"true\", NULL};\n"
				"\tif (argc != 2)\n"
				"\t\treturn 2;\n"
				"\tpid_t pid = vfork();\n"
				"\tif (pid == 0) {\n"
				"\t\texecve(\"/bin/true\", targv, environ);\n"
				"\t\t_exit(127);\n"
				"\t}\n"
				"\twaitpid(pid, NULL, 0);\n"
				"\tif (unlink(argv[1]) != 0) {\n"
				"\t\tperror(\"unlink\");\n"
				"\t\treturn 1;\n"
				"\t}\n"
				"\tputs(\"deleted\");\n"
				"\treturn 0;\n"
				"}\n";

Test(exec, parent_is_still_guarded_after_vfork_and_exec)
{
	agt_setup(&t, "v-vfork");
	new_victim();
	char prog[PATH_MAX];
	snprintf(prog, sizeof(prog), "%s", build("vfork-then-unlink", vfork_src, ""));
	const char *argv[] = {prog, victim_path, NULL};
	agt_run(&t, &r, argv, NULL);
	cr_expect_eq(r.status, 1, "exit %d; stdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
	expect_file(victim_path, "precious\n");
	cr_expect_eq(
	    log_n(&(struct want){
		.op = "delete", .path = victim_path, .rule = "outside-workspace", .exe = prog}),
	    1, "the parent's own unlink after vfork+exec went unguarded; log:\n%s", logtext());
}

Test(exec, python_is_still_guarded_after_running_a_subprocess)
{
	/* _posixsubprocess starts children with vfork. */
	agt_setup(&t, "v-pysub");
	new_victim();
	run_py(expand("import os, subprocess\n"
		      "subprocess.run(['true'], check=True)\n"
		      "try:\n"
		      "    os.unlink('@F')\n"
		      "    print('deleted')\n"
		      "except OSError as e:\n"
		      "    print('errno', e.errno)\n"));
	cr_expect(strstr(r.out, P("errno %d", EACCES)), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_file(victim_path, "precious\n");
	cr_expect_eq(log_n(&(struct want){.op = "delete",
					  .path = victim_path,
					  .rule = "outside-workspace",
					  .exe = real(python())}),
		     1, "log:\n%s", logtext());
}

Test(exec, python_subprocess_of_a_missing_program_is_file_not_found)
{
	/* Python tries every PATH entry itself: each missing candidate must
	 * fail as missing, not be refused. */
	agt_setup(&t, "v-missing");
	run_py("import subprocess\n"
	       "try:\n"
	       "    subprocess.run(['agentguard-no-such-program'])\n"
	       "except OSError as e:\n"
	       "    print(type(e).__name__, e.errno)\n");
	cr_expect(strstr(r.out, P("FileNotFoundError %d", ENOENT)), "stdout:\n%s\nstderr:\n%s",
		  r.out, r.err);
	expect_quiet();
}

Test(exec, a_missing_program_from_bash_is_command_not_found)
{
	agt_setup(&t, "v-missing-sh");
	agt_sh(&t, &r, "agentguard-no-such-program; echo rc=$?; /nonexistent/prog; echo rc=$?");
	cr_expect(strstr(r.out, "rc=127\nrc=127\n"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_quiet();
}

/* ---- 2. recursive deletes refused before the program starts ------------- */

/* An outside tree, and a workspace link to it. */
static const char *outside_tree(void)
{
	put(P("%s/tree/a.txt", t.out), "alpha\n");
	put(P("%s/tree/sub/b.txt", t.out), "beta\n");
	cr_assert_eq(symlink(P("%s/tree", t.out), P("%s/link", t.ws)), 0);
	return P("%s/tree", t.out);
}

static void expect_tree_intact(void)
{
	expect_file(P("%s/tree/a.txt", t.out), "alpha\n");
	expect_file(P("%s/tree/sub/b.txt", t.out), "beta\n");
}

/* One refusal naming target, with the command line; and nothing else, so
 * the program did not get as far as its first unlink. */
static void expect_refused_up_front(const char *target, const char *const *argv)
{
	struct want w = {.op = "delete",
			 .path = target,
			 .rule = "outside-workspace",
			 .action = "deny",
			 .mode = "enforce",
			 .argv = argv,
			 .note = {"not started"}};
	int n = log_n(&w);
	cr_expect_eq(n, 1,
		     "want one up-front refusal of %s with the command line; got %d; log:\n%s",
		     target, n, logtext());
	cr_expect_eq(agt_log_lines(&t), 1, "the program ran and made calls:\n%s", logtext());
	cr_expect(strstr(r.err, "not started"), "stderr:\n%s", r.err);
}

/* bash runs the command line as its last command, by exec: a refused exec
 * is exit status 126. */
static void rec_case(const char *name, const char *script, const char *const *argv_tmpl)
{
	const char *argv[16];
	size_t i = 0;

	agt_setup(&t, name);
	const char *tree = outside_tree();
	for (; argv_tmpl[i] && i < 15; i++) {
		char *a = strdup(expand(argv_tmpl[i]));
		cr_assert(a);
		argv[i] = a;
	}
	argv[i] = NULL;

	agt_sh(&t, &r, "%s", expand(script));

	cr_expect_eq(r.status, 126, "exit %d; stderr:\n%s", r.status, r.err);
	expect_tree_intact();
	expect_refused_up_front(tree, argv);
	for (i = 0; argv[i]; i++)
		free((char *)argv[i]);
}

Test(exec, rm_rf_outside)
{
	rec_case("r-rf", "rm -rf @OUT/tree", (const char *[]){"rm", "-rf", "@OUT/tree", NULL});
}

Test(exec, rm_r_dashdash_outside)
{
	rec_case("r-rdd", "rm -r -- @OUT/tree",
		 (const char *[]){"rm", "-r", "--", "@OUT/tree", NULL});
}

Test(exec, rm_capital_rf_outside)
{
	rec_case("r-Rf", "rm -Rf @OUT/tree", (const char *[]){"rm", "-Rf", "@OUT/tree", NULL});
}

Test(exec, rm_long_recursive_outside)
{
	rec_case("r-long", "rm --recursive --force @OUT/tree",
		 (const char *[]){"rm", "--recursive", "--force", "@OUT/tree", NULL});
}

Test(exec, rm_fr_outside)
{
	rec_case("r-fr", "rm -fr @OUT/tree", (const char *[]){"rm", "-fr", "@OUT/tree", NULL});
}

Test(exec, rm_operand_before_flags_outside)
{
	rec_case("r-perm", "rm x @OUT/tree -rf",
		 (const char *[]){"rm", "x", "@OUT/tree", "-rf", NULL});
}

Test(exec, rm_operand_then_flags_then_target_outside)
{
	rec_case("r-perm2", "rm x -rf @OUT/tree",
		 (const char *[]){"rm", "x", "-rf", "@OUT/tree", NULL});
}

Test(exec, rm_rf_through_a_workspace_link_with_a_trailing_slash)
{
	rec_case("r-slash", "rm -rf link/", (const char *[]){"rm", "-rf", "link/", NULL});
	cr_expect(agt_exists(P("%s/link", t.ws)), "the link went");
}

Test(exec, rm_rf_of_the_link_itself_removes_only_the_link)
{
	agt_setup(&t, "r-link");
	outside_tree();
	agt_sh(&t, &r, "rm -rf link");
	cr_expect_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_expect(!agt_exists(P("%s/link", t.ws)), "the link is still there");
	expect_tree_intact();
	expect_quiet();
}

Test(exec, env_wrapped_rm_rf_outside)
{
	rec_case("r-env", "env -i FOO=1 rm -rf @OUT/tree",
		 (const char *[]){"env", "-i", "FOO=1", "rm", "-rf", "@OUT/tree", NULL});
}

Test(exec, find_delete_outside)
{
	rec_case("r-find", "find @OUT/tree -delete",
		 (const char *[]){"find", "@OUT/tree", "-delete", NULL});
}

Test(exec, find_exec_rm_outside)
{
	rec_case(
	    "r-findx", "find @OUT/tree -type f -exec rm {} +",
	    (const char *[]){"find", "@OUT/tree", "-type", "f", "-exec", "rm", "{}", "+", NULL});
}

Test(exec, python_execv_of_rm_rf_outside_fails_with_eacces)
{
	agt_setup(&t, "r-py");
	const char *tree = outside_tree();
	const char *script = expand("import os\n"
				    "try:\n"
				    "    os.execv('/usr/bin/rm', ['rm', '-rf', '@OUT/tree'])\n"
				    "except OSError as e:\n"
				    "    print('errno', e.errno)\n");
	run_py(script);
	cr_expect(strstr(r.out, P("errno %d", EACCES)), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_tree_intact();
	expect_refused_up_front(tree, (const char *[]){"rm", "-rf", tree, NULL});
}

/* An outside repository: one tracked file, untracked ones to clean. */
static const char *outside_repo(void)
{
	const char *repo = P("%s/repo", t.out);
	agt_mkdirs(repo);
	put(P("%s/tracked.txt", repo), "tracked\n");
	cr_assert_eq(agt_sh_unguarded(&t, &r,
				      "cd '%s' && git init -q . && git add tracked.txt && "
				      "git -c user.email=t@e -c user.name=t commit -qm init",
				      repo),
		     0, "%s", r.err);
	put(P("%s/untracked.txt", repo), "untracked\n");
	put(P("%s/newdir/n.txt", repo), "new\n");
	return repo;
}

static void expect_repo_intact(const char *repo)
{
	expect_file(P("%s/tracked.txt", repo), "tracked\n");
	expect_file(P("%s/untracked.txt", repo), "untracked\n");
	expect_file(P("%s/newdir/n.txt", repo), "new\n");
}

Test(exec, git_clean_fdx_of_an_outside_repository)
{
	agt_setup(&t, "r-git");
	const char *repo = outside_repo();
	agt_sh(&t, &r, "git -C '%s' clean -fdx", repo);
	cr_expect_eq(r.status, 126, "exit %d; stderr:\n%s", r.status, r.err);
	expect_repo_intact(repo);
	expect_refused_up_front(repo, (const char *[]){"git", "-C", repo, "clean", "-fdx", NULL});
}

Test(exec, git_clean_dry_run_of_an_outside_repository_is_allowed)
{
	agt_setup(&t, "r-gitn");
	const char *repo = outside_repo();
	agt_sh(&t, &r, "git -C '%s' clean -n -d", repo);
	cr_expect_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_expect(strstr(r.out, "Would remove untracked.txt"), "stdout:\n%s", r.out);
	expect_repo_intact(repo);
	cr_expect_eq(log_n(&(struct want){.op = "delete"}), 0, "log:\n%s", logtext());
}

Test(exec, rm_rf_and_git_clean_inside_the_workspace_and_temp_dirs_work)
{
	agt_setup(&t, "r-inside");
	const char *slash_tmp = P("/tmp/agentguard-exec-%d", (int)getpid());
	put(P("%s/build/obj/x.o", t.ws), "o\n");
	put(P("%s/scratch/deep/y", t.tmp), "y\n");
	put(P("%s/z/z", slash_tmp), "z\n");
	put(P("%s/junk.txt", t.ws), "junk\n");

	agt_sh(&t, &r,
	       "rm -rf build && rm -rf -- \"$TMPDIR/scratch\" && find '%s' -delete && "
	       "git clean -fdxq && echo done",
	       slash_tmp);

	cr_expect_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_expect(strstr(r.out, "done"), "stdout:\n%s", r.out);
	cr_expect(!agt_exists(P("%s/build", t.ws)));
	cr_expect(!agt_exists(P("%s/scratch", t.tmp)));
	cr_expect(!agt_exists(slash_tmp));
	cr_expect(!agt_exists(P("%s/junk.txt", t.ws)), "git clean left junk.txt");
	expect_quiet();
	if (agt_exists(slash_tmp))
		agt_sh_unguarded(&t, &r, "rm -rf '%s'", slash_tmp);
}

/* find deletes what its tests select, not the tree: a workspace holding
 * agent settings (which the policy protects) still gets its everyday
 * clean-ups, and the settings stay, refused file by file if need be. */
Test(exec, find_with_tests_in_a_workspace_holding_agent_settings)
{
	agt_setup(&t, "r-find-sel");
	const char *settings = P("%s/.claude/settings.json", t.ws);
	put(settings, "{}\n");
	put(P("%s/a.pyc", t.ws), "c\n");
	put(P("%s/pkg/__pycache__/m.pyc", t.ws), "c\n");
	put(P("%s/pkg/m.py", t.ws), "py\n");

	agt_sh(&t, &r,
	       "find . -maxdepth 1 -name '*.pyc' -delete && "
	       "find . -type d -name __pycache__ -exec rm -rf {} + && echo done");

	cr_expect_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_expect(strstr(r.out, "done"), "stdout:\n%s", r.out);
	cr_expect(!agt_exists(P("%s/a.pyc", t.ws)));
	cr_expect(!agt_exists(P("%s/pkg/__pycache__", t.ws)));
	expect_file(P("%s/pkg/m.py", t.ws), "py\n");
	expect_file(settings, "{}\n");
	expect_quiet();

	/* A find that would delete the settings is refused at that file. */
	agt_sh(&t, &r, "find .claude -delete");
	expect_file(settings, "{}\n");
	struct want w = {.op = "delete", .path = settings, .action = "deny"};
	cr_expect_eq(log_n(&w), 1, "log:\n%s", logtext());
}

/* The exemption goes by the program as well as by argv[0], which the
 * caller chooses: rm called "find" is judged as rm, whole tree. */
Test(exec, rm_called_find_is_still_judged_as_a_whole_tree)
{
	agt_setup(&t, "r-find-alias");
	const char *keep = P("%s/.config/foo", t.home);
	put(keep, "foo\n");
	put(P("%s/.config/gh/hosts.yml", t.home), "token\n");

	agt_sh(&t, &r, "exec -a find rm ~/.config -rf -- -delete");
	cr_expect_eq(r.status, 126, "exit %d; stderr:\n%s", r.status, r.err);
	expect_file(keep, "foo\n");
	struct want w = {.op = "delete", .path = P("%s/.config", t.home), .action = "deny",
			 .note = {"not started"}};
	cr_expect_eq(log_n(&w), 1, "log:\n%s", logtext());
}

/* A tree this session made outside the workspace may go again: the
 * preload alone, since the floor would not let it be made there. */
Test(exec, rm_rf_of_a_tree_the_session_made_outside)
{
	agt_setup(&t, "r-made");
	t.no_floor = true;
	const char *dir = P("%s/made", t.out);

	agt_sh(&t, &r, "mkdir '%s' && echo a > '%s/f' && rm -rf '%s' && echo done", dir, dir,
	       dir);

	cr_expect_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_expect(!agt_exists(dir), "the tree the session made is still there");
	expect_quiet();
}

Test(exec, rm_rf_home_local_holding_the_guard_state)
{
	agt_setup(&t, "r-local");
	const char *local = P("%s/.local", t.home);
	put(P("%s/share/app/data.txt", local), "data\n");
	agt_sh(&t, &r, "rm -rf ~/.local");
	cr_expect_eq(r.status, 126, "exit %d; stderr:\n%s", r.status, r.err);
	expect_file(P("%s/share/app/data.txt", local), "data\n");
	cr_expect(agt_exists(P("%s/state/agentguard", local)), "the guard's state dir went");
	struct want w = {.op = "delete",
			 .path = local,
			 .action = "deny",
			 .argv = (const char *[]){"rm", "-rf", local, NULL},
			 .note = {"not started"}};
	cr_expect_eq(log_n(&w), 1, "log:\n%s", logtext());
}

Test(exec, rm_rf_of_a_tool_state_dir_holding_the_guard_state)
{
	/* ~/.cache is tool state, free to delete, until the guard keeps its
	 * own state beneath it. */
	agt_setup(&t, "r-cache");
	const char *cache = P("%s/.cache", t.home);
	const char *env[] = {P("XDG_STATE_HOME=%s/agst", cache), NULL};
	put(P("%s/pip/wheel.whl", cache), "w\n");
	put(P("%s/other/keep.txt", cache), "keep\n");
	const char *argv1[] = {"bash", "-c", "rm -rf ~/.cache/pip", NULL};
	agt_run(&t, &r, argv1, env);
	cr_expect_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
	cr_expect(!agt_exists(P("%s/pip", cache)), "ordinary tool-state delete refused");
	cr_expect(agt_exists(P("%s/agst/agentguard", cache)),
		  "no state dir: XDG_STATE_HOME unused?");
	cr_expect_eq(agt_log_lines(&t), 0, "log:\n%s", logtext());

	const char *argv2[] = {"bash", "-c", "rm -rf ~/.cache", NULL};
	agt_run(&t, &r, argv2, env);
	cr_expect_eq(r.status, 126, "exit %d; stderr:\n%s", r.status, r.err);
	expect_file(P("%s/other/keep.txt", cache), "keep\n");
	cr_expect(agt_exists(P("%s/agst/agentguard", cache)), "the guard's state dir went");
	struct want w = {.op = "delete",
			 .path = cache,
			 .rule = "agentguard-self",
			 .action = "deny",
			 .argv = (const char *[]){"rm", "-rf", cache, NULL},
			 .note = {"not started"}};
	cr_expect_eq(log_n(&w), 1, "log:\n%s", logtext());
}

/* ---- 3. privilege escalation -------------------------------------------- */

/* Fake sudo & co. (copies of true) first on PATH. */
static const char *fake_bin(void)
{
	const char *dir = P("%s/fakebin", t.root);
	static const char *const names[] = {"sudo", "su", "doas", "pkexec", "sudox", NULL};
	agt_mkdirs(dir);
	for (const char *const *n = names; *n; n++)
		cr_assert_eq(agt_sh_unguarded(&t, &r, "cp /bin/true '%s/%s'", dir, *n), 0);
	return dir;
}

Test(exec, sudo_su_doas_pkexec_are_refused)
{
	agt_setup(&t, "p-sudo");
	const char *dir = fake_bin();
	agt_sh(&t, &r,
	       "PATH='%s':$PATH; sudo -n id; echo sudo=$?; su -c id; echo su=$?; doas id; "
	       "echo doas=$?; pkexec id; echo pkexec=$?; sudox; echo sudox=$?",
	       dir);

	static const char *const names[] = {"sudo", "su", "doas", "pkexec"};
	const char *const args[][4] = {{"sudo", "-n", "id", NULL},
				       {"su", "-c", "id", NULL},
				       {"doas", "id", NULL},
				       {"pkexec", "id", NULL}};
	for (int i = 0; i < 4; i++) {
		cr_expect(strstr(r.out, P("%s=126\n", names[i])), "%s ran; stdout:\n%s", names[i],
			  r.out);
		struct want w = {.op = "exec",
				 .path = P("%s/%s", dir, names[i]),
				 .rule = "privilege-escalation",
				 .action = "deny",
				 .argv = args[i]};
		cr_expect_eq(log_n(&w), 1, "no refusal of %s; log:\n%s", names[i], logtext());
	}
	cr_expect(strstr(r.out, "sudox=0\n"), "sudox was refused; stdout:\n%s", r.out);
	cr_expect_eq(log_n(&(struct want){.path = P("%s/sudox", dir)}), 0, "log:\n%s", logtext());
	cr_expect_eq(agt_log_lines(&t), 4, "log:\n%s", logtext());
}

Test(exec, sudo_under_another_name_is_refused_by_what_it_is)
{
	agt_setup(&t, "p-alias");
	const char *dir = fake_bin();
	cr_assert_eq(symlink(P("%s/sudo", dir), P("%s/elevate", dir)), 0);
	agt_sh(&t, &r, "'%s/elevate' true; echo rc=$?", dir);
	cr_expect(strstr(r.out, "rc=126"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect_eq(log_n(&(struct want){
			 .op = "exec", .path = P("%s/sudo", dir), .rule = "privilege-escalation"}),
		     1, "log:\n%s", logtext());
}

Test(exec, python_subprocess_sudo_fails_with_eacces)
{
	agt_setup(&t, "p-py");
	const char *dir = fake_bin();
	const char *script = P("import subprocess\n"
			       "try:\n"
			       "    subprocess.run(['%s/sudo', 'true'])\n"
			       "except OSError as e:\n"
			       "    print('errno', e.errno)\n",
			       dir);
	run_py(script);
	cr_expect(strstr(r.out, P("errno %d", EACCES)), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect_eq(log_n(&(struct want){.op = "exec",
					  .path = P("%s/sudo", dir),
					  .rule = "privilege-escalation",
					  .exe = real(python())}),
		     1, "log:\n%s", logtext());
}

/* ---- 4. programs the preload cannot follow ------------------------------- */

/* Unlinks its last argument (a #! interpreter gets the script first). */
static const char unlink_src[] = "#include <stdio.h>\n"
				 "#include <unistd.h>\n"
				 "int main(int argc, char **argv)\n"
				 "{\n"
				 "\tif (argc < 2)\n"
				 "\t\treturn 2;\n"
				 "\tif (unlink(argv[argc - 1]) != 0) {\n"
				 "\t\tperror(\"unlink\");\n"
				 "\t\treturn 1;\n"
				 "\t}\n"
				 "\treturn 0;\n"
				 "}\n";

static const char *static_unlinker(void)
{
	return build("static-unlink", unlink_src, "-static");
}

/* Runs prog on the victim from a guarded bash; prints rc=N. */
static void run_on_victim(const char *prog)
{
	agt_sh(&t, &r, "'%s' '%s'; echo rc=$?", prog, victim_path);
}

/* prog was refused before it started, for the reason in note. */
static void expect_unguardable_refused(const char *prog, const char *logged_path, const char *note)
{
	cr_expect(strstr(r.out, "rc=126"), "the program ran; stdout:\n%s\nstderr:\n%s", r.out,
		  r.err);
	expect_file(victim_path, "precious\n");
	struct want w = {.op = "exec",
			 .path = logged_path,
			 .rule = "unguardable",
			 .action = "deny",
			 .mode = "enforce",
			 .argv = (const char *[]){prog, victim_path, NULL},
			 .note = {note, "unguardable"}};
	cr_expect_eq(log_n(&w), 1, "want the exec refused, note '%s'; log:\n%s", note, logtext());
	cr_expect_eq(log_n(&(struct want){.op = "delete"}), 0, "the program started:\n%s",
		     logtext());
	cr_expect(strstr(r.err, "Hint:"), "stderr:\n%s", r.err);
}

Test(exec, static_program_is_refused)
{
	agt_setup(&t, "u-static");
	t.no_floor = true; /* the preload's own default; test_floor has the floor's */
	new_victim();
	const char *prog = static_unlinker();
	run_on_victim(prog);
	expect_unguardable_refused(prog, prog, "statically linked");
}

Test(exec, static_program_is_refused_from_python_too)
{
	agt_setup(&t, "u-static-py");
	t.no_floor = true; /* the preload's own default; test_floor has the floor's */
	new_victim();
	const char *prog = static_unlinker();
	run_py(P("import subprocess\n"
		 "try:\n"
		 "    subprocess.run(['%s', '%s'])\n"
		 "except OSError as e:\n"
		 "    print('errno', e.errno)\n",
		 prog, victim_path));
	cr_expect(strstr(r.out, P("errno %d", EACCES)), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_file(victim_path, "precious\n");
	cr_expect_eq(
	    log_n(&(struct want){
		.op = "exec", .path = prog, .rule = "unguardable", .note = {"statically linked"}}),
	    1, "log:\n%s", logtext());
}

/* A dynamically linked program carrying a Go marker section. */
static const char *fake_go(const char *section)
{
	const char *dyn = build("dyn-unlink", unlink_src, "");
	const char *go = P("%s/bin/go-%s", t.root, section + 1);
	const char *note = P("%s/bin/go-note.bin", t.root);
	/* An ELF note: namesz 4, descsz 16, type 4 (NT_GO_BUILDID), "Go\0\0". */
	static const char bytes[] = "\x04\0\0\0\x10\0\0\0\x04\0\0\0Go\0\0abcdefghijklmnop";
	FILE *f = fopen(note, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(bytes, 1, sizeof(bytes) - 1, f), sizeof(bytes) - 1);
	fclose(f);
	if (!have("objcopy"))
		cr_skip_test("objcopy is not available");
	cr_assert_eq(agt_sh_unguarded(&t, &r,
				      "objcopy --add-section %s='%s' --set-section-flags "
				      "%s=alloc,readonly '%s' '%s' 2>&1",
				      section, note, section, dyn, go),
		     0, "objcopy: %s", r.out);
	return go;
}

Test(exec, go_program_by_its_build_id_note_is_refused)
{
	agt_setup(&t, "u-go");
	t.no_floor = true; /* the preload's own default; test_floor has the floor's */
	new_victim();
	const char *prog = fake_go(".note.go.buildid");
	run_on_victim(prog);
	expect_unguardable_refused(prog, prog, "Go");
}

Test(exec, go_program_by_its_buildinfo_section_is_refused)
{
	agt_setup(&t, "u-goinfo");
	t.no_floor = true; /* the preload's own default; test_floor has the floor's */
	new_victim();
	const char *prog = fake_go(".go.buildinfo");
	run_on_victim(prog);
	expect_unguardable_refused(prog, prog, "Go");
}

Test(exec, script_with_a_static_interpreter_is_refused)
{
	agt_setup(&t, "u-script");
	t.no_floor = true; /* the preload's own default; test_floor has the floor's */
	new_victim();
	const char *interp = static_unlinker();
	const char *script = P("%s/bin/tool.sh", t.root);
	put(script, P("#!%s\n", interp));
	cr_assert_eq(chmod(script, 0755), 0);
	run_on_victim(script);
	expect_unguardable_refused(script, script, "interpreter is statically linked");
	cr_expect(agt_exists(script));
}

Test(exec, setuid_and_setgid_to_another_owner_are_refused)
{
	agt_setup(&t, "u-suid");
	t.no_floor = true; /* the preload's own default; test_floor has the floor's */
	struct passwd *nobody = getpwnam("nobody");
	struct group *nogroup = getgrnam("nogroup");
	if (geteuid() != 0 || !nobody || !nogroup)
		cr_skip_test("needs root and the nobody user");
	new_victim();
	/* nobody could delete here: only the guard stands in the way. */
	cr_assert_eq(chmod(t.out, 0777), 0);
	const char *dyn = build("dyn-unlink", unlink_src, "");
	const char *suid = P("%s/bin/suid-unlink", t.root);
	const char *sgid = P("%s/bin/sgid-unlink", t.root);
	cr_assert_eq(agt_sh_unguarded(&t, &r, "cp '%s' '%s' && cp '%s' '%s'", dyn, suid, dyn, sgid),
		     0);
	cr_assert_eq(chown(suid, nobody->pw_uid, 0), 0);
	cr_assert_eq(chmod(suid, 04755), 0);
	cr_assert_eq(chown(sgid, 0, nogroup->gr_gid), 0);
	cr_assert_eq(chmod(sgid, 02755), 0);

	run_on_victim(suid);
	expect_unguardable_refused(suid, suid, "setuid");
	run_on_victim(sgid);
	cr_expect_eq(log_n(&(struct want){
			 .op = "exec", .path = sgid, .rule = "unguardable", .note = {"setgid"}}),
		     1, "log:\n%s", logtext());
	expect_file(victim_path, "precious\n");
}

Test(exec, setuid_to_oneself_is_followed_and_guarded_inside)
{
	agt_setup(&t, "u-suid-own");
	new_victim();
	const char *dyn = build("dyn-unlink", unlink_src, "");
	const char *own = P("%s/bin/own-suid-unlink", t.root);
	cr_assert_eq(agt_sh_unguarded(&t, &r, "cp '%s' '%s'", dyn, own), 0);
	cr_assert_eq(chmod(own, 04755), 0);
	run_on_victim(own);
	cr_expect(strstr(r.out, "rc=1\n"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_file(victim_path, "precious\n");
	cr_expect_eq(log_n(&(struct want){.op = "exec"}), 0, "log:\n%s", logtext());
	cr_expect_eq(
	    log_n(&(struct want){
		.op = "delete", .path = victim_path, .exe = own, .rule = "outside-workspace"}),
	    1, "log:\n%s", logtext());
}

/* A policy keeping the outside tree, with extra top-level fields and
 * rules in front. */
static void policy(const char *top, const char *rules)
{
	char *json;
	cr_assert(asprintf(&json,
			   "{\"version\": 1, \"default\": \"allow\", %s\"rules\": [%s"
			   "{\"id\": \"keep-outside\", \"ops\": [\"write\", \"delete\", "
			   "\"rename\", \"link\", \"chmod\"], \"paths\": [\"%s/**\"], "
			   "\"action\": \"deny\"}]}\n",
			   top, rules, t.out) > 0);
	agt_policy(&t, json);
	free(json);
}

Test(exec, exec_rule_with_unguardable_allow_runs_it_unguarded)
{
	agt_setup(&t, "u-allow");
	new_victim();
	const char *prog = static_unlinker();
	policy("", P("{\"id\": \"static-ok\", \"ops\": [\"exec\"], \"paths\": [\"%s\"], "
		     "\"action\": \"allow\", \"unguardable\": \"allow\"},",
		     prog));
	run_on_victim(prog);
	/* Nothing guards a static program: it really deletes the file. */
	cr_expect(strstr(r.out, "rc=0"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(!agt_exists(victim_path), "the allowed static program did not run");
	cr_expect_eq(agt_log_lines(&t), 0, "log:\n%s", logtext());
}

Test(exec, exec_rule_with_unguardable_audit_runs_it_and_logs)
{
	agt_setup(&t, "u-audit");
	new_victim();
	const char *prog = static_unlinker();
	policy("", P("{\"id\": \"static-audited\", \"ops\": [\"exec\"], \"paths\": [\"%s\"], "
		     "\"action\": \"allow\", \"unguardable\": \"audit\"},",
		     prog));
	run_on_victim(prog);
	cr_expect(strstr(r.out, "rc=0"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(!agt_exists(victim_path), "the audited static program did not run");
	struct want w = {.op = "exec",
			 .path = prog,
			 .rule = "static-audited",
			 .action = "audit",
			 .mode = "enforce",
			 .note = {"statically linked"}};
	cr_expect_eq(log_n(&w), 1, "log:\n%s", logtext());
	cr_expect_eq(agt_log_lines(&t), 1, "log:\n%s", logtext());
}

Test(exec, unguardable_allow_for_another_program_does_not_cover_this_one)
{
	agt_setup(&t, "u-other");
	t.no_floor = true; /* the preload's own default; test_floor has the floor's */
	new_victim();
	const char *prog = static_unlinker();
	policy("", "{\"id\": \"other-ok\", \"ops\": [\"exec\"], \"paths\": [\"/usr/bin/true\"], "
		   "\"action\": \"allow\", \"unguardable\": \"allow\"},");
	run_on_victim(prog);
	expect_unguardable_refused(prog, prog, "statically linked");
}

Test(exec, policy_level_unguardable_allow_runs_it)
{
	agt_setup(&t, "u-top");
	new_victim();
	const char *prog = static_unlinker();
	policy("\"unguardable\": \"allow\", ", "");
	run_on_victim(prog);
	cr_expect(strstr(r.out, "rc=0"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(!agt_exists(victim_path), "the static program did not run");
	cr_expect_eq(agt_log_lines(&t), 0, "log:\n%s", logtext());
}

Test(exec, policy_level_unguardable_audit_runs_it_and_logs)
{
	agt_setup(&t, "u-topaudit");
	new_victim();
	const char *prog = static_unlinker();
	policy("\"unguardable\": \"audit\", ", "");
	run_on_victim(prog);
	cr_expect(strstr(r.out, "rc=0"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(!agt_exists(victim_path), "the static program did not run");
	cr_expect_eq(log_n(&(struct want){
			 .op = "exec", .path = prog, .rule = "unguardable", .action = "audit"}),
		     1, "log:\n%s", logtext());
}

Test(exec, rule_unguardable_deny_beats_a_lax_policy_level)
{
	agt_setup(&t, "u-ruledeny");
	new_victim();
	const char *prog = static_unlinker();
	policy("\"unguardable\": \"allow\", ",
	       P("{\"id\": \"no-static\", \"ops\": [\"exec\"], \"paths\": [\"%s\"], "
		 "\"action\": \"allow\", \"unguardable\": \"deny\"},",
		 prog));
	run_on_victim(prog);
	cr_expect(strstr(r.out, "rc=126"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_file(victim_path, "precious\n");
	cr_expect_eq(log_n(&(struct want){.op = "exec",
					  .path = prog,
					  .rule = "no-static",
					  .action = "deny",
					  .note = {"statically linked"}}),
		     1, "log:\n%s", logtext());
}

/* ---- 5. the shim --------------------------------------------------------- */

Test(exec, run_puts_the_shim_directory_first_on_path)
{
	agt_setup(&t, "s-path");
	agt_sh(&t, &r, "printf '%%s\\n' \"$PATH\" | cut -d: -f1");
	cr_expect_eq(r.status, 0);
	r.out[strcspn(r.out, "\n")] = '\0';
	char first[PATH_MAX];
	const char *fr = real(r.out);
	cr_assert(strlen(fr) < sizeof(first));
	strcpy(first, fr);
	cr_expect(strstr(first, "/agentguard/shims-"), "first on PATH: %s", first);
	static const char *const names[] = {"bash", "sh", "env", "rm", "git", NULL};
	for (const char *const *n = names; *n; n++)
		cr_expect_str_eq(real(P("%s/%s", first, *n)), real(getenv("AGT_BIN")),
				 "%s/%s does not lead to agentguard", first, *n);
}

Test(exec, shim_directory_leaves_out_programs_the_path_lacks)
{
	/* An agent that takes the first shell it finds (zsh before bash) must
	 * not find a shim for a zsh this machine does not have. */
	agt_setup(&t, "s-lacks");
	const char *bin = P("%s/bin", t.root);
	cr_assert_eq(mkdir(bin, 0755), 0);
	static const char *const have[] = {"bash", "env", "cat", "cut", "ls", NULL};
	for (const char *const *n = have; *n; n++) {
		char *where = NULL;
		size_t cap = 0;
		FILE *f = popen(P("command -v %s", *n), "r");
		cr_assert(f && getline(&where, &cap, f) > 0, "no %s here", *n);
		pclose(f);
		where[strcspn(where, "\n")] = '\0';
		cr_assert_eq(symlink(where, P("%s/%s", bin, *n)), 0);
		free(where);
	}
	const char *argv[] = {"bash", "-c",
			      "for n in zsh bash python3 perl git env; do "
			      "command -v $n >/dev/null && echo have=$n; done; "
			      "printf '%s\\n' \"$PATH\" | cut -d: -f1; zsh -c true; echo zsh=$?",
			      NULL};
	const char *env[] = {P("PATH=%s", bin), NULL};
	agt_run(&t, &r, argv, env);
	cr_expect_eq(r.status, 0, "stderr:\n%s", r.err);
	cr_expect(strstr(r.out, "have=bash\nhave=env\n"), "stdout:\n%s", r.out);
	cr_expect(!strstr(r.out, "have=zsh") && !strstr(r.out, "have=python3") &&
		      !strstr(r.out, "have=git"),
		  "a shim stands in for a missing program:\n%s", r.out);
	cr_expect(strstr(r.out, "zsh=127\n"), "stdout:\n%s", r.out);
	cr_expect(!strstr(r.err, "agentguard shim"), "stderr:\n%s", r.err);
	char *nl = strchr(r.out, '/');
	cr_assert(nl, "stdout:\n%s", r.out);
	nl[strcspn(nl, "\n")] = '\0';
	cr_expect(strstr(nl, "/agentguard/shims-"), "first on PATH: %s", nl);
	cr_expect(agt_exists(P("%s/bash", nl)), "no bash in %s", nl);
	cr_expect(!agt_exists(P("%s/zsh", nl)) && !agt_exists(P("%s/python3", nl)),
		  "%s has shims for programs PATH lacks", nl);
}

/* The launcher remembers which of the names PATH holds (a search of every
 * directory for every name) by PATH and its directories' change times: a
 * program installed between two launches gets its shim at the second, and
 * one removed loses it. */
static void link_to(const char *bin, const char *name)
{
	char *where = NULL;
	size_t cap = 0;
	FILE *f = popen(P("command -v %s", name), "r");
	cr_assert(f && getline(&where, &cap, f) > 0, "no %s here", name);
	pclose(f);
	where[strcspn(where, "\n")] = '\0';
	cr_assert_eq(symlink(where, P("%s/%s", bin, name)), 0);
	free(where);
}

static void shims_for_path(const char *bin, char *dir, size_t sz)
{
	const char *argv[] = {"bash", "-c", "printf '%s\\n' \"$PATH\" | cut -d: -f1", NULL};
	const char *env[] = {P("PATH=%s", bin), NULL};
	agt_run(&t, &r, argv, env);
	cr_assert_eq(r.status, 0, "stderr:\n%s", r.err);
	r.out[strcspn(r.out, "\n")] = '\0';
	cr_assert(strstr(r.out, "/agentguard/shims-"), "first on PATH: %s", r.out);
	size_t n = strlen(r.out);
	cr_assert_lt(n, sz);
	memcpy(dir, r.out, n + 1);
}

Test(exec, shim_directory_follows_programs_installed_between_launches)
{
	agt_setup(&t, "s-install");
	const char *bin = P("%s/bin", t.root);
	char first[PATH_MAX], second[PATH_MAX], third[PATH_MAX];
	cr_assert_eq(mkdir(bin, 0755), 0);
	static const char *const have[] = {"bash", "cat", "cut", NULL};
	for (const char *const *n = have; *n; n++)
		link_to(bin, *n);

	shims_for_path(bin, first, sizeof(first));
	cr_expect(!agt_exists(P("%s/perl", first)), "%s has perl before it is there", first);
	shims_for_path(bin, second, sizeof(second));
	cr_expect_str_eq(second, first, "the same PATH, another shim directory");

	link_to(bin, "perl");
	shims_for_path(bin, third, sizeof(third));
	cr_expect(agt_exists(P("%s/perl", third)), "no perl shim in %s once perl is there", third);

	cr_assert_eq(unlink(P("%s/perl", bin)), 0);
	shims_for_path(bin, third, sizeof(third));
	cr_expect(!agt_exists(P("%s/perl", third)), "a perl shim in %s once perl is gone", third);
	cr_expect_str_eq(third, first, "back to the first set of names, another directory");
}

/* Drops LD_PRELOAD, as a program that builds its children's environment
 * itself would, and runs argv[1..] by a PATH search; with NOSHIM set it
 * searches /usr/bin:/bin only. */
static const char execvp_src[] = "#include <stdio.h>\n"
				 "#include <stdlib.h>\n"
				 "#include <unistd.h>\n"
				 "int main(int argc, char **argv)\n"
				 "{\n"
				 "\tif (argc < 2)\n"
				 "\t\treturn 2;\n"
				 "\tunsetenv(\"LD_PRELOAD\");\n"
				 "\tif (getenv(\"NOSHIM\"))\n"
				 "\t\tsetenv(\"PATH\", \"/usr/bin:/bin\", 1);\n"
				 "\texecvp(argv[1], argv + 1);\n"
				 "\tperror(\"execvp\");\n"
				 "\treturn 127;\n"
				 "}\n";

Test(exec, shim_puts_the_guard_back_after_a_static_program)
{
	agt_setup(&t, "s-static");
	new_victim();
	const char *prog = build("static-execvp", execvp_src, "-static");
	policy("", P("{\"id\": \"launcher-ok\", \"ops\": [\"exec\"], \"paths\": [\"%s\"], "
		     "\"action\": \"allow\", \"unguardable\": \"allow\"},",
		     prog));

	agt_sh(&t, &r, "'%s' bash -c 'rm \"%s\"'; echo rc=$?", prog, victim_path);

	cr_expect(strstr(r.out, "rc=1\n"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_file(victim_path, "precious\n");
	struct want w = {.op = "delete",
			 .path = victim_path,
			 .rule = "keep-outside",
			 .exe = rm_exe(),
			 .action = "deny"};
	cr_expect_eq(log_n(&w), 1, "log:\n%s", logtext());
}

/* A library without a GNU hash table preloaded after the guard: the guard's
 * own table of the objects after it cannot reach past it, so it resolves
 * every libc function at load (dlsym where the table stops) instead of on
 * first use. The hooks must work the same: the delete is refused, the
 * read goes through. */
static const char sysv_src[] = "int agt_sysv_marker(void)\n{\n\treturn 42;\n}\n";

Test(exec, hooks_work_past_a_preloaded_library_without_gnu_hash)
{
	agt_setup(&t, "s-sysv");
	new_victim();
	policy("", "");
	const char *lib = build("libsysv.so", sysv_src, "-shared -fPIC -Wl,--hash-style=sysv");
	/* Added inside the session, not given to the launcher (a sanitized
	 * launcher wants its runtime first); the exec hook keeps it after the
	 * guard. */
	agt_sh(&t, &r,
	       "export LD_PRELOAD=\"$LD_PRELOAD:%s\"; bash -c 'rm \"%s\"; echo rc=$?; "
	       "cat \"%s\"; printf \"%%s\\n\" \"$LD_PRELOAD\"'",
	       lib, victim_path, victim_path);

	cr_expect(strstr(r.out, "rc=1\nprecious\n"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(strstr(r.out, P(":%s\n", lib)), "the library is not preloaded after the guard:\n%s",
		  r.out);
	expect_file(victim_path, "precious\n");
	struct want w = {.op = "delete",
			 .path = victim_path,
			 .rule = "keep-outside",
			 .exe = rm_exe(),
			 .action = "deny"};
	cr_expect_eq(log_n(&w), 1, "log:\n%s", logtext());
}

Test(exec, without_the_shim_a_static_program_child_runs_unguarded)
{
	/* The honest counterpart: off the shim's PATH, nothing puts the
	 * preload back, and the delete happens. */
	agt_setup(&t, "s-noshim");
	t.no_floor = true; /* the preload's own default; test_floor has the floor's */
	new_victim();
	const char *prog = build("static-execvp", execvp_src, "-static");
	policy("", P("{\"id\": \"launcher-ok\", \"ops\": [\"exec\"], \"paths\": [\"%s\"], "
		     "\"action\": \"allow\", \"unguardable\": \"allow\"},",
		     prog));

	agt_sh(&t, &r, "NOSHIM=1 '%s' bash -c 'rm \"%s\"'; echo rc=$?", prog, victim_path);

	cr_expect(strstr(r.out, "rc=0\n"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(!agt_exists(victim_path), "the unshimmed child was guarded after all");
	cr_expect_eq(agt_log_lines(&t), 0, "log:\n%s", logtext());
}

Test(exec, shim_install_creates_the_entries)
{
	agt_setup(&t, "s-install");
	const char *bin = getenv("AGT_BIN");
	cr_assert(bin, "AGT_BIN is not set");
	const char *dir = P("%s/myshims", t.root);
	cr_assert_eq(agt_sh_unguarded(&t, &r, "'%s' shim install '%s'", bin, dir), 0, "%s", r.err);

	static const char *const names[] = {"bash", "sh",   "python3", "git",
					    "make", "perl", "env",     NULL};
	for (const char *const *n = names; *n; n++) {
		const char *e = P("%s/%s", dir, *n);
		struct stat st;
		cr_expect(lstat(e, &st) == 0 && S_ISLNK(st.st_mode), "%s is not a symlink", e);
		cr_expect_str_eq(real(e), real(bin), "%s does not lead to agentguard", e);
	}

	/* Run as "bash", the entry starts the real bash with the preload back. */
	cr_assert_eq(
	    agt_sh_unguarded(
		&t, &r, "unset LD_PRELOAD; '%s/bash' -c 'printf \"%%s\" \"$LD_PRELOAD\"'", dir),
	    0, "%s", r.err);
	cr_expect(strstr(r.out, real(getenv("AGT_LIB"))), "LD_PRELOAD in the shimmed bash: '%s'",
		  r.out);
}

/* ---- 6. a storm of execs from many threads ------------------------------- */

#define STORM_THREADS 16
#define STORM_ROUNDS  50
#define STR_(x)	      #x
#define STR(x)	      STR_(x)

/* Each thread, every round: fork+execve, vfork+execve (fork with "fork")
 * and posix_spawn of true, then posix_spawn of rm on its own outside file
 * with an empty environment, which the guarded rm refuses (exit 1). */
static const char storm_src[] =
    "#define _GNU_SOURCE\n"
    "#include <errno.h>\n"
    "#include <pthread.h>\n"
    "#include <spawn.h>\n"
    "#include <stdio.h>\n"
    "#include <sys/wait.h>\n"
    "#include <unistd.h>\n"
    "#define NT " STR(
	STORM_THREADS) "\n"
		       "#define ROUNDS " STR(
			   STORM_ROUNDS) "\n"
					 "extern char **environ;\n"
					 "static const char *dir;\n"
					 "static int use_vfork;\n"
					 "struct tally { int ok, refused, bad; };\n"
					 "static struct tally tallies[NT];\n"
					 "static int reap(pid_t pid)\n"
					 "{\n"
					 "\tint st;\n"
					 "\tif (pid <= 0)\n"
					 "\t\treturn -1;\n"
					 "\twhile (waitpid(pid, &st, 0) < 0)\n"
					 "\t\tif (errno != EINTR)\n"
					 "\t\t\treturn -1;\n"
					 "\treturn WIFEXITED(st) ? WEXITSTATUS(st) : 128 + "
					 "WTERMSIG(st);\n"
					 "}\n"
					 "static void count(struct tally *t, int status, int "
					 "want)\n"
					 "{\n"
					 "\tif (status != want)\n"
					 "\t\tt->bad++;\n"
					 "\telse if (want)\n"
					 "\t\tt->refused++;\n"
					 "\telse\n"
					 "\t\tt->ok++;\n"
					 "}\n"
					 "static void *run(void *arg)\n"
					 "{\n"
					 "\tstruct tally *t = arg;\n"
					 "\tint id = (int)(t - tallies);\n"
					 "\tchar *targv[] = {\"true\", NULL};\n"
					 "\tchar *empty[] = {NULL};\n"
					 "\tfor (int i = 0; i < ROUNDS; i++) {\n"
					 "\t\tpid_t pid = fork();\n"
					 "\t\tif (pid == 0) {\n"
					 "\t\t\texecve(\"/bin/true\", targv, environ);\n"
					 "\t\t\t_exit(127);\n"
					 "\t\t}\n"
					 "\t\tcount(t, reap(pid), 0);\n"
					 "\t\tpid = use_vfork ? vfork() : fork();\n"
					 "\t\tif (pid == 0) {\n"
					 "\t\t\texecve(\"/bin/true\", targv, environ);\n"
					 "\t\t\t_exit(127);\n"
					 "\t\t}\n"
					 "\t\tcount(t, reap(pid), 0);\n"
					 "\t\tif (posix_spawn(&pid, \"/bin/true\", NULL, NULL, "
					 "targv, environ) != 0)\n"
					 "\t\t\tpid = -1;\n"
					 "\t\tcount(t, reap(pid), 0);\n"
					 "\t\tchar f[4096];\n"
					 "\t\tsnprintf(f, sizeof(f), \"%s/storm-%d-%d\", dir, id, "
					 "i);\n"
					 "\t\tchar *rargv[] = {\"rm\", f, NULL};\n"
					 "\t\tif (posix_spawn(&pid, \"/bin/rm\", NULL, NULL, "
					 "rargv, empty) != 0)\n"
					 "\t\t\tpid = -1;\n"
					 "\t\tcount(t, reap(pid), 1);\n"
					 "\t}\n"
					 "\treturn NULL;\n"
					 "}\n"
					 "int main(int argc, char **argv)\n"
					 "{\n"
					 "\tpthread_t th[NT];\n"
					 "\tstruct tally sum = {0, 0, 0};\n"
					 "\tif (argc != 3)\n"
					 "\t\treturn 2;\n"
					 "\tdir = argv[1];\n"
					 "\tuse_vfork = argv[2][0] == 'v';\n"
					 "\talarm(120);\n"
					 "\tfor (int i = 0; i < NT; i++)\n"
					 "\t\tif (pthread_create(&th[i], NULL, run, &tallies[i]) "
					 "!= 0)\n"
					 "\t\t\treturn 3;\n"
					 "\tfor (int i = 0; i < NT; i++) {\n"
					 "\t\tpthread_join(th[i], NULL);\n"
					 "\t\tsum.ok += tallies[i].ok;\n"
					 "\t\tsum.refused += tallies[i].refused;\n"
					 "\t\tsum.bad += tallies[i].bad;\n"
					 "\t}\n"
					 "\tint left = waitpid(-1, NULL, WNOHANG) != -1 || errno "
					 "!= ECHILD;\n"
					 "\tprintf(\"ok=%d refused=%d bad=%d left=%d\\n\", sum.ok, "
					 "sum.refused, sum.bad, left);\n"
					 "\treturn sum.bad || left;\n"
					 "}\n";

static void storm(const char *name, bool use_vfork)
{
	agt_setup(&t, name);
	char prog[PATH_MAX];
	snprintf(prog, sizeof(prog), "%s", build("storm", storm_src, "-pthread"));
	const int total = STORM_THREADS * STORM_ROUNDS;
	for (int i = 0; i < STORM_THREADS; i++)
		for (int j = 0; j < STORM_ROUNDS; j++)
			agt_write(P("%s/storm-%d-%d", t.out, i, j), "s\n");

	const char *argv[] = {prog, t.out, use_vfork ? "vfork" : "fork", NULL};
	agt_run(&t, &r, argv, NULL);

	cr_expect_eq(r.status, 0,
		     "exit %d (142 is the watchdog: a hang); stdout:\n%s\nstderr:\n%.2000s",
		     r.status, r.out, r.err);
	cr_expect(strstr(r.out, P("ok=%d refused=%d bad=0 left=0", 3 * total, total)),
		  "stdout:\n%s", r.out);

	/* Every file is still there and refused exactly once, by rm itself. */
	static unsigned char seen[STORM_THREADS][STORM_ROUNDS];
	memset(seen, 0, sizeof(seen));
	json_t *all = agt_log_load(t.log), *o;
	size_t k;
	int lines = all ? (int)json_array_size(all) : 0, strays = 0;
	cr_expect_not_null(all, "torn or invalid log lines:\n%s", logtext());
	json_array_foreach(all, k, o) {
		int i, j, end = 0;
		json_t *p = json_object_get(o, "path");
		const char *path = json_is_string(p) ? json_string_value(p) : "";
		size_t n = strlen(t.out);
		if (line_matches(o, &(struct want){.op = "delete",
						   .rule = "outside-workspace",
						   .exe = rm_exe(),
						   .action = "deny"}) &&
		    strncmp(path, t.out, n) == 0 &&
		    sscanf(path + n, "/storm-%d-%d%n", &i, &j, &end) == 2 && !path[n + end] &&
		    i >= 0 && i < STORM_THREADS && j >= 0 && j < STORM_ROUNDS)
			seen[i][j]++;
		else
			strays++;
	}
	json_decref(all);
	cr_expect_eq(strays, 0, "%d unexpected log lines", strays);
	cr_expect_eq(lines, total, "want %d refusal lines, got %d", total, lines);
	int wrong = 0;
	for (int i = 0; i < STORM_THREADS; i++)
		for (int j = 0; j < STORM_ROUNDS; j++) {
			wrong += seen[i][j] != 1;
			wrong += !agt_exists(P("%s/storm-%d-%d", t.out, i, j));
		}
	cr_expect_eq(wrong, 0, "%d files not refused exactly once or gone", wrong);
}

Test(exec, storm_of_fork_vfork_and_spawn_from_16_threads, .timeout = 150)
{
	storm("storm-v", true);
}

/* The same with fork in place of vfork, so that a vfork fault alone does
 * not hide how the rest stands up. */
Test(exec, storm_of_fork_and_spawn_from_16_threads, .timeout = 150)
{
	storm("storm-f", false);
}

/* ---- exec rules with argv patterns ------------------------------------------ */

/* A rule on git's command line refuses a force push before git starts, with
 * the command line in the log; the same program with other arguments runs. */
Test(exec, argv_rule_refuses_a_force_push_and_lets_git_run_otherwise)
{
	agt_setup(&t, "exec-argv");
	agt_policy(&t, "{\"version\": 1, \"rules\": [{\"id\": \"no-force-push\","
		       " \"ops\": [\"exec\"], \"paths\": [\"**/git\"],"
		       " \"argv\": [\"push\", \"--force*\"], \"action\": \"deny\"}]}");
	agt_sh(&t, &r,
	       "git push --force-with-lease origin main; echo \"push=$?\"; "
	       "git status --short >/dev/null; echo \"status=$?\"");
	cr_expect(strstr(r.out, "push=126"), "out: %s err: %s", r.out, r.err);
	cr_expect(strstr(r.out, "status=0"), "out: %s err: %s", r.out, r.err);
	cr_expect(strstr(r.err, "agentguard: denied exec") && strstr(r.err, "(rule no-force-push)"),
		  "stderr: %s", r.err);
	cr_expect_eq(agt_log_count(&t, "exec", real("/usr/bin/git"), "no-force-push"), 1, "log:\n%s",
		     logtext());
	char *log = agt_read(t.log);
	cr_expect(log && strstr(log, "\"argv\":[\"git\",\"push\",\"--force-with-lease\""),
		  "the command line is not in the log:\n%s", log ? log : "");
	free(log);
	cr_expect_eq(agt_log_lines(&t), 1, "log:\n%s", logtext());
}

Test(exec, fork_and_exec_children_share_one_inspection_and_say_nothing)
{
	/* The parent maps the session's table of inspected programs before
	 * its first fork, with the guard's own access; forked children find
	 * it there. Nothing about it may reach the log or stderr. */
	agt_setup(&t, "x-forks");
	run_py("import os\n"
	       "for i in range(3):\n"
	       "    pid = os.fork()\n"
	       "    if pid == 0:\n"
	       "        os.execv('/bin/true', ['true'])\n"
	       "    os.waitpid(pid, 0)\n"
	       "print('forked')\n");
	cr_expect(strstr(r.out, "forked"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_quiet();
}
