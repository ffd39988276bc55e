/* The preload's short cuts in path handling, checked from the outside:
 *
 *  - a read the policy refuses is refused without opening the file: the
 *    secret is a FIFO with no writer, which an open for reading would wait
 *    on for ever (the suite's timeout catches that; nothing here is timed);
 *  - a written path with ".." after a symlink is judged where the kernel
 *    goes, not where the text seems to point, for reads and for deletes;
 *  - recursive deletes by descriptor (rm -r, find -delete, rmtree) are
 *    judged by the directory they really happen in, also after the
 *    descriptor number was reused for another directory;
 *  - reads and creations relative to a directory descriptor (grep -r,
 *    find, cp -r) are judged where they land, through a symlink or "..". */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
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

TestSuite(paths_fast, .fini = fini_tree, .timeout = 60);

#define P agt_pathf

static void expect_refused(const char *op, const char *path, const char *rule)
{
	cr_expect_neq(r.status, 0, "the command succeeded; out:\n%s\nerr:\n%s", r.out, r.err);
	cr_expect(agt_log_count(&t, op, path, rule) > 0,
		  "no log line {op:%s, path:%s, rule:%s}:\n%s", op, path, rule, agt_logtext(&t));
}

static void fifo_key(void)
{
	agt_mkdirs(P("%s/.ssh", t.home));
	cr_assert_eq(mkfifo(P("%s/.ssh/id_rsa", t.home), 0600), 0);
}

Test(paths_fast, refused_read_of_fifo_secret_does_not_open_it)
{
	agt_setup(&t, "fast-fifo");
	fifo_key();

	agt_sh(&t, &r, "cat ~/.ssh/id_rsa");
	expect_refused("read", P("%s/.ssh/id_rsa", t.home), "secrets");
	cr_expect(strstr(r.err, "agentguard: denied read"), "stderr:\n%s", r.err);
}

Test(paths_fast, refused_relative_read_of_fifo_secret_does_not_open_it)
{
	agt_setup(&t, "fast-fifo-rel");
	fifo_key();

	agt_sh(&t, &r, "cd ~/.ssh && cat ./id_rsa");
	expect_refused("read", P("%s/.ssh/id_rsa", t.home), "secrets");
}

Test(paths_fast, refused_fopen_and_python_open_of_fifo_secret)
{
	agt_setup(&t, "fast-fifo-py");
	fifo_key();

	agt_sh(&t, &r, "python3 -c 'open(\"%s/.ssh/id_rsa\")'", t.home);
	expect_refused("read", P("%s/.ssh/id_rsa", t.home), "secrets");
	cr_expect(strstr(r.err, "PermissionError"), "stderr:\n%s", r.err);
}

/* ws/a -> ~/.ssh/d, so "a/../id_rsa" is the key, though "ws/id_rsa" is
 * what the text spells. */
Test(paths_fast, dotdot_after_symlink_read_is_the_real_file)
{
	agt_setup(&t, "fast-dotdot-read");
	agt_put(P("%s/.ssh/id_rsa", t.home), "KEY\n");
	agt_mkdirs(P("%s/.ssh/d", t.home));
	agt_put(P("%s/id_rsa", t.ws), "WS COPY\n");
	cr_assert_eq(symlink(P("%s/.ssh/d", t.home), P("%s/a", t.ws)), 0);

	agt_sh(&t, &r, "cat a/../id_rsa");
	expect_refused("read", P("%s/.ssh/id_rsa", t.home), "secrets");
	cr_expect(!strstr(r.out, "WS COPY"), "opened the lexical path, not the real one:\n%s",
		  r.out);
	cr_expect(!strstr(r.out, "KEY"), "the key was read:\n%s", r.out);
}

/* ws/b -> OUT/sub, so "b/../victim" is OUT/victim. */
Test(paths_fast, dotdot_after_symlink_delete_is_the_real_file)
{
	agt_setup(&t, "fast-dotdot-rm");
	agt_mkdirs(P("%s/sub", t.out));
	agt_put(P("%s/victim", t.out), "precious\n");
	agt_put(P("%s/victim", t.ws), "ws file\n");
	cr_assert_eq(symlink(P("%s/sub", t.out), P("%s/b", t.ws)), 0);

	agt_sh(&t, &r, "rm -f b/../victim");
	expect_refused("delete", P("%s/victim", t.out), "outside-workspace");
	cr_expect(agt_exists(P("%s/victim", t.out)), "the outside file was deleted");
	cr_expect(agt_exists(P("%s/victim", t.ws)), "the workspace file was deleted instead");
}

/* The table of directory descriptors: the same descriptor number first
 * holds a workspace directory (whose path is then remembered), is closed,
 * and is reused for an outside one; the delete there is judged outside. */
Test(paths_fast, reused_dirfd_number_is_judged_by_its_new_directory)
{
	agt_setup(&t, "fast-dirfd-reuse");
	agt_put(P("%s/a/one", t.ws), "1\n");
	agt_put(P("%s/a/two", t.ws), "2\n");
	agt_put(P("%s/victim", t.out), "precious\n");

	agt_sh(&t, &r,
	       "python3 -c 'import os, sys\n"
	       "d = os.open(\"a\", os.O_RDONLY | os.O_DIRECTORY)\n"
	       "os.unlink(\"one\", dir_fd=d)\n"
	       "os.close(d)\n"
	       "e = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
	       "print(\"same\" if e == d else \"other\", flush=True)\n"
	       "try:\n"
	       "    os.unlink(\"victim\", dir_fd=e)\n"
	       "    print(\"deleted\")\n"
	       "except PermissionError:\n"
	       "    print(\"refused\")\n"
	       "os.unlink(\"two\", dir_fd=os.open(\"a\", os.O_RDONLY | os.O_DIRECTORY))\n"
	       "' %s",
	       t.out);
	cr_expect(strstr(r.out, "same\n"), "the descriptor number was not reused:\n%s", r.out);
	cr_expect(strstr(r.out, "refused\n"), "out:\n%s\nerr:\n%s", r.out, r.err);
	cr_expect(agt_exists(P("%s/victim", t.out)), "the outside file was deleted");
	cr_expect(agt_log_count(&t, "delete", P("%s/victim", t.out), "outside-workspace") > 0,
		  "log:\n%s", agt_logtext(&t));
	cr_expect(!agt_exists(P("%s/a/one", t.ws)) && !agt_exists(P("%s/a/two", t.ws)),
		  "the workspace files were not deleted:\n%s", r.err);
}

/* Reads relative to a directory descriptor (grep -r and find open each file
 * from the directory they read) are judged beneath where the descriptor
 * points: a file there is read; the key is refused whether it is named
 * down from home, up and across with "..", through a symlink in the
 * workspace, or from a descriptor number that held the workspace before. */
Test(paths_fast, reads_relative_to_a_directory_descriptor)
{
	agt_setup(&t, "fast-dirfd-read");
	agt_put(P("%s/a/plain.txt", t.ws), "plain words\n");
	agt_put(P("%s/.ssh/id_rsa", t.home), "KEY\n");
	cr_assert_eq(symlink(P("%s/.ssh/id_rsa", t.home), P("%s/a/key", t.ws)), 0);

	agt_sh(&t, &r,
	       "python3 -c 'import os, sys\n"
	       "def read(name, d):\n"
	       "    try:\n"
	       "        fd = os.open(name, os.O_RDONLY, dir_fd=d)\n"
	       "        print(name, os.read(fd, 64).decode().strip())\n"
	       "        os.close(fd)\n"
	       "    except PermissionError:\n"
	       "        print(name, \"refused\")\n"
	       "a = os.open(\"a\", os.O_RDONLY | os.O_DIRECTORY)\n"
	       "read(\"plain.txt\", a)\n"
	       "read(\"key\", a)\n"
	       "read(\"../../home/.ssh/id_rsa\", a)\n"
	       "os.close(a)\n"
	       "h = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
	       "print(\"same\" if h == a else \"other\")\n"
	       "read(\".ssh/id_rsa\", h)\n"
	       "' %s",
	       t.home);
	cr_expect(strstr(r.out, "plain.txt plain words\n"), "out:\n%s\nerr:\n%s", r.out, r.err);
	cr_expect(strstr(r.out, "key refused\n"), "out:\n%s\nerr:\n%s", r.out, r.err);
	cr_expect(strstr(r.out, "../../home/.ssh/id_rsa refused\n"), "out:\n%s\nerr:\n%s", r.out,
		  r.err);
	cr_expect(strstr(r.out, "same\n"), "the descriptor number was not reused:\n%s", r.out);
	cr_expect(strstr(r.out, ".ssh/id_rsa refused\n"), "out:\n%s\nerr:\n%s", r.out, r.err);
	cr_expect(!strstr(r.out, "KEY"), "the key was read:\n%s", r.out);
	/* Three refusals of one read: the first line, then the count at exit. */
	cr_expect(agt_log_count(&t, "read", P("%s/.ssh/id_rsa", t.home), "secrets") > 0,
		  "log:\n%s", agt_logtext(&t));
	cr_expect(strstr(agt_logtext(&t), "\"repeat\":3"), "log:\n%s", agt_logtext(&t));
}

/* Creations relative to a directory descriptor take the same fast path: a
 * new file in the workspace is made; authorized_keys is refused whether
 * named through a symlink into ~/.ssh or up and across with "..", with
 * O_EXCL or without. */
Test(paths_fast, creations_relative_to_a_directory_descriptor)
{
	agt_setup(&t, "fast-dirfd-create");
	agt_mkdirs(P("%s/a", t.ws));
	agt_mkdirs(P("%s/.ssh", t.home));
	cr_assert_eq(symlink(P("%s/.ssh", t.home), P("%s/a/keys", t.ws)), 0);

	agt_sh(&t, &r,
	       "python3 -c 'import os\n"
	       "def make(name, d, excl):\n"
	       "    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if excl else os.O_TRUNC)\n"
	       "    try:\n"
	       "        os.write(os.open(name, flags, 0o644, dir_fd=d), b\"ssh-rsa AAAA\")\n"
	       "        print(name, \"made\")\n"
	       "    except PermissionError:\n"
	       "        print(name, \"refused\")\n"
	       "a = os.open(\"a\", os.O_RDONLY | os.O_DIRECTORY)\n"
	       "make(\"new.txt\", a, True)\n"
	       "make(\"other.txt\", a, False)\n"
	       "make(\"keys/authorized_keys\", a, True)\n"
	       "make(\"../../home/.ssh/authorized_keys\", a, False)\n"
	       "'");
	cr_expect(strstr(r.out, "new.txt made\n") && strstr(r.out, "other.txt made\n"),
		  "out:\n%s\nerr:\n%s", r.out, r.err);
	cr_expect(strstr(r.out, "keys/authorized_keys refused\n"), "out:\n%s\nerr:\n%s", r.out,
		  r.err);
	cr_expect(strstr(r.out, "../../home/.ssh/authorized_keys refused\n"), "out:\n%s\nerr:\n%s",
		  r.out, r.err);
	cr_expect(agt_exists(P("%s/a/new.txt", t.ws)) && agt_exists(P("%s/a/other.txt", t.ws)));
	cr_expect(!agt_exists(P("%s/.ssh/authorized_keys", t.home)), "authorized_keys was planted");
	cr_expect(agt_log_count(&t, "create", P("%s/.ssh/authorized_keys", t.home), "persistence") >
		      0,
		  "log:\n%s", agt_logtext(&t));
}

/* Many directories and files through descriptors: every file inside goes,
 * every file of an outside tree stays and is refused one by one. */
Test(paths_fast, recursive_deletes_by_descriptor_inside_and_outside)
{
	agt_setup(&t, "fast-rmtree");
	for (int d = 0; d < 70; d++)
		for (int f = 0; f < 3; f++) {
			agt_put(P("%s/tree/d%02d/f%d", t.ws, d, f), "x\n");
			agt_put(P("%s/tree/d%02d/f%d", t.out, d, f), "x\n");
		}

	/* The outside tree is named by no command line (that is refused before
	 * the program starts): python finds it from its cwd, and carries on
	 * after each refusal. */
	agt_sh(&t, &r,
	       "rm -rf tree && cd %s && python3 -c 'import shutil; "
	       "shutil.rmtree(\"tree\", onerror=lambda *a: None)'",
	       t.out);
	cr_expect(!agt_exists(P("%s/tree", t.ws)), "the workspace tree is left:\n%s", r.err);
	for (int d = 0; d < 70; d++)
		for (int f = 0; f < 3; f++)
			cr_expect(agt_exists(P("%s/tree/d%02d/f%d", t.out, d, f)),
				  "outside file d%02d/f%d deleted", d, f);
	cr_expect(agt_log_count(&t, "delete", NULL, "outside-workspace") > 0, "log:\n%s",
		  agt_logtext(&t));
}
