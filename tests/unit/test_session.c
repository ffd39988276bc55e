/* The session's files in its state directory: the created-inode map each
 * launch makes, the sweep of what old sessions left, and the launcher's
 * memo of what a policy compiled to. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agentguard.h"

#define DAY (24 * 3600)

static ag_session_t s;
static char root[] = "/tmp/agt-session-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(root));
	snprintf(s.statedir, sizeof(s.statedir), "%s/state", root);
}

static void teardown(void)
{
	char cmd[sizeof(root) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	(void)!system(cmd);
}

TestSuite(session, .init = setup, .fini = teardown);

static void put(const char *name, time_t age)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", s.statedir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	struct timespec t[2] = {{time(NULL) - age, 0}, {time(NULL) - age, 0}};
	cr_assert_eq(futimens(fd, t), 0);
	close(fd);
}

static bool there(const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", s.statedir, name);
	return access(path, F_OK) == 0;
}

static void make_map(void)
{
	char path[PATH_MAX + 64];
	struct stat st;
	cr_assert_eq(ag_session_created_map(&s, path, sizeof(path)), 0);
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	cr_expect_eq((uint64_t)st.st_size, (uint64_t)AG_CREATED_SLOTS * sizeof(uint64_t));
	cr_expect_eq(st.st_mode & 07777, 0600);
	unlink(path);
}

Test(session, created_map_and_the_sweep)
{
	make_map(); /* makes the directory, and sweeps an empty one */
	put("created-1-1.map", 3 * DAY);
	put("created-1-1.map.progs", 3 * DAY);
	put("created-2-2.map", DAY);
	put("rules-0123456789abcdef.agc", 30 * DAY);
	put("source-0123456789abcdef.idx", 3 * DAY);
	put("pathmask-0123456789abcdef", 3 * DAY);
	put("source-1123456789abcdef.idx", DAY);
	put("swept", 2 * 3600);
	make_map();
	cr_expect_not(there("created-1-1.map"), "a map of three days ago stays");
	cr_expect_not(there("created-1-1.map.progs"));
	cr_expect_not(there("source-0123456789abcdef.idx"), "an old compile memo stays");
	cr_expect_not(there("pathmask-0123456789abcdef"), "an old PATH memo stays");
	cr_expect(there("source-1123456789abcdef.idx"), "yesterday's compile memo went");
	cr_expect(there("created-2-2.map"), "a map of yesterday went");
	cr_expect(there("rules-0123456789abcdef.agc"), "the sweep takes a stored ruleset");

	/* Swept just now: the next launches do not look again. */
	put("created-3-3.map", 3 * DAY);
	make_map();
	cr_expect(there("created-3-3.map"), "swept again within the hour");
	put("swept", 3601);
	make_map();
	cr_expect_not(there("created-3-3.map"), "not swept after an hour");
}

/* A stamp from the future (a clock set back) does not stop the sweep. */
Test(session, a_stamp_from_the_future)
{
	make_map();
	put("created-4-4.map", 3 * DAY);
	put("swept", -DAY);
	make_map();
	cr_expect_not(there("created-4-4.map"));
}

/* ---- the compile memo (ag_session_compile_cached) ------------------------ */

static char tree[PATH_MAX];

/* A session whose policy denies writes to tree/link/secret; link is a
 * symlink to dir. */
static void policy_session(const char *dir)
{
	char text[2 * PATH_MAX], path[PATH_MAX + 32];
	snprintf(tree, sizeof(tree), "%s/tree", root);
	mkdir(tree, 0700);
	snprintf(path, sizeof(path), "%s/%s", tree, dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/link", tree);
	unlink(path);
	cr_assert_eq(symlink(dir, path), 0);
	snprintf(s.policy, sizeof(s.policy), "%s/policy.json", root);
	snprintf(text, sizeof(text),
		 "{\"version\": 1, \"rules\": [{\"id\": \"locked\", \"ops\": [\"write\"], "
		 "\"paths\": [\"%s/link/secret\"], \"action\": \"deny\"}]}",
		 tree);
	FILE *f = fopen(s.policy, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(s.workspace, sizeof(s.workspace), "%s", root);
	snprintf(s.home, sizeof(s.home), "%s", root);
	snprintf(s.tmpdir, sizeof(s.tmpdir), "/tmp");
	snprintf(s.log, sizeof(s.log), "%s/log.jsonl", root);
}

struct compiled {
	void *blob;
	size_t len;
	const ag_ruleset_t *rs;
};

static struct compiled launch(void)
{
	struct compiled c;
	ag_error_t err;
	char stored[PATH_MAX];
	cr_assert_eq(ag_session_compile_cached(&s, &c.blob, &c.len, &err), 0, "%s", err.text);
	c.rs = ag_ruleset_view(c.blob, c.len, &err);
	cr_assert_not_null(c.rs, "%s", err.text);
	cr_assert_eq(ag_session_store(&s, c.blob, c.len, stored, sizeof(stored)), 0);
	return c;
}

static ag_action_t write_to(const struct compiled *c, const char *dir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s/secret", tree, dir);
	ag_request_t req = {.op = AG_OP_WRITE, .path = path};
	return ag_decide(c->rs, &req).action;
}

static int count(const char *prefix)
{
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '^%s'", s.statedir, prefix);
	FILE *f = popen(cmd, "r");
	int n = -1;
	cr_assert(f && fscanf(f, "%d", &n) == 1);
	pclose(f);
	return n;
}

/* The same text and variables, and nothing changed on the way: the same
 * ruleset, byte for byte, with one memo and one stored ruleset. */
Test(session, a_second_launch_gets_the_same_ruleset)
{
	policy_session("a");
	struct compiled one = launch(), two = launch();
	cr_assert_eq(one.len, two.len);
	cr_expect_eq(memcmp(one.blob, two.blob, one.len), 0);
	cr_expect_eq(write_to(&two, "a"), AG_DENY);
	cr_expect_eq(count("source-"), 1);
	cr_expect_eq(count("rules-"), 1);
	free(one.blob);
	free(two.blob);
}

/* A later launch reads what the memo names rather than compiling: shown by
 * putting another policy's ruleset in its place. */
Test(session, the_memo_is_read_not_compiled)
{
	char stored[PATH_MAX], other_path[PATH_MAX + 32];
	ag_error_t err;
	policy_session("a");
	struct compiled one = launch();
	cr_assert_eq(ag_session_store(&s, one.blob, one.len, stored, sizeof(stored)), 0);
	static const char other[] = "{\"version\": 1, \"rules\": []}";
	ag_vars_t v = {.workspace = root, .home = root, .tmpdir = "/tmp"};
	void *ob;
	size_t olen;
	cr_assert_eq(ag_policy_compile(other, strlen(other), "other", &v, &ob, &olen, &err), 0);
	snprintf(other_path, sizeof(other_path), "%s.new", stored);
	FILE *f = fopen(other_path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(ob, 1, olen, f), olen);
	fclose(f);
	cr_assert_eq(rename(other_path, stored), 0);
	struct compiled two = launch();
	cr_expect_eq(two.len, olen, "the memo was not used");
	cr_expect_eq(write_to(&two, "a"), AG_ALLOW);
	/* A stored ruleset that fails its checks is compiled again. */
	f = fopen(stored, "r+");
	cr_assert_not_null(f);
	fseek(f, 100, SEEK_SET);
	fputc(0x5a ^ fgetc(f), f);
	fclose(f);
	struct compiled three;
	cr_assert_eq(ag_session_compile_cached(&s, &three.blob, &three.len, &err), 0);
	three.rs = ag_ruleset_view(three.blob, three.len, &err);
	cr_assert_not_null(three.rs);
	cr_expect_eq(write_to(&three, "a"), AG_DENY);
	free(ob);
	free(one.blob);
	free(two.blob);
	free(three.blob);
}

/* A symlink on a prefix's way that changed since (pointed elsewhere, made,
 * or removed) compiles again: the rule follows it. */
Test(session, a_changed_symlink_compiles_again)
{
	char link[PATH_MAX + 32], path[PATH_MAX + 32];
	policy_session("a");
	struct compiled one = launch();
	cr_expect_eq(write_to(&one, "a"), AG_DENY);
	snprintf(path, sizeof(path), "%s/b", tree);
	mkdir(path, 0700);
	snprintf(link, sizeof(link), "%s/link", tree);
	cr_assert_eq(unlink(link), 0);
	cr_assert_eq(symlink("b", link), 0);
	struct compiled two = launch();
	cr_expect_eq(write_to(&two, "b"), AG_DENY, "the rule did not follow the link");
	cr_expect_eq(write_to(&two, "a"), AG_ALLOW);
	/* the link replaced by a directory of its own */
	cr_assert_eq(unlink(link), 0);
	cr_assert_eq(mkdir(link, 0700), 0);
	struct compiled three = launch();
	cr_expect_eq(write_to(&three, "b"), AG_ALLOW);
	cr_expect_eq(write_to(&three, "link"), AG_DENY);
	/* and back: a link where a directory was */
	cr_assert_eq(rmdir(link), 0);
	cr_assert_eq(symlink("a", link), 0);
	struct compiled four = launch();
	cr_expect_eq(write_to(&four, "a"), AG_DENY);
	cr_expect_eq(count("source-"), 1, "one memo per text and variables");
	free(one.blob);
	free(two.blob);
	free(three.blob);
	free(four.blob);
}

/* A memo that is not one (truncated, garbage, another key) is ignored. */
Test(session, a_broken_memo_is_ignored)
{
	char cmd[PATH_MAX + 64];
	policy_session("a");
	struct compiled one = launch();
	static const char *const damage[] = {"truncate -s 20", "truncate -s 200",
					     "dd status=none if=/dev/urandom bs=64 count=1 conv=notrunc of"};
	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		snprintf(cmd, sizeof(cmd), "for f in '%s'/source-*; do %s%s\"$f\"; done", s.statedir,
			 damage[i], strncmp(damage[i], "dd", 2) == 0 ? "=" : " ");
		cr_assert_eq(system(cmd), 0, "%s", cmd);
		struct compiled again = launch();
		cr_expect_eq(again.len, one.len, "%s", damage[i]);
		cr_expect_eq(memcmp(again.blob, one.blob, one.len), 0, "%s", damage[i]);
		free(again.blob);
	}
	free(one.blob);
}
