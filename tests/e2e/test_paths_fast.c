/* The preload's short cuts in path handling, checked from the outside:
 *
 *  - a read the policy refuses is refused without opening the file: the
 *    secret is a FIFO with no writer, which an open for reading would wait
 *    on for ever (the suite's timeout catches that; nothing here is timed);
 *  - a written path with ".." after a symlink is judged where the kernel
 *    goes, not where the text seems to point, for reads and for deletes;
 *  - recursive deletes by descriptor (rm -r, find -delete, rmtree) are
 *    judged by the directory they really happen in, also after the
 *    descriptor number was reused for another directory. */
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
