/* The session's files in its state directory: the created-inode map each
 * launch makes, and the sweep of maps that old sessions left. */
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
	put("swept", 2 * 3600);
	make_map();
	cr_expect_not(there("created-1-1.map"), "a map of three days ago stays");
	cr_expect_not(there("created-1-1.map.progs"));
	cr_expect(there("created-2-2.map"), "a map of yesterday went");
	cr_expect(there("rules-0123456789abcdef.agc"), "the sweep takes only maps");

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
