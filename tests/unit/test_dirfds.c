/* The descriptor path table (lib/core/dirfds.c) as the preload runs it:
 * this binary defines ag__closes_counted, as lib/hook_fd.c does, so an
 * entry is trusted while its slot's count of closes and the count of
 * renames stand. The tests count their own closes and renames, as the
 * hooks would, except where a test is about one nobody counted.
 *
 * Each test builds its own tree under /tmp and makes it the current
 * directory; Criterion runs every test in its own process. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentguard.h"
#include "dirfds.h"

const bool ag__closes_counted = true;

static char T[PATH_MAX]; /* the tree's root, resolved */

static void setup(void)
{
	char tmpl[] = "/tmp/agt-dirfds-XXXXXX";
	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, T));
	cr_assert_eq(chdir(T), 0);
	cr_assert_eq(mkdir("a", 0700), 0);
	cr_assert_eq(mkdir("b", 0700), 0);
	int fd = open("file", O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
}

static void teardown(void)
{
	rmdir("a");
	rmdir("b");
	rmdir("a2");
	unlink("file");
	unlink("file2");
	rmdir(T);
}

TestSuite(dirfds, .init = setup, .fini = teardown);

static void expect_path(int fd, const char *name)
{
	char out[PATH_MAX], want[PATH_MAX + 16];
	snprintf(want, sizeof(want), "%s/%s", T, name);
	errno = 4242;
	ssize_t n = ag__fdpath(fd, out, sizeof(out));
	cr_expect_eq(errno, 4242, "errno changed");
	cr_assert_gt(n, 0, "fd %d: %s", fd, strerror(errno));
	cr_expect_eq((size_t)n, strlen(out));
	cr_expect_str_eq(out, want, "fd %d", fd);
}

/* Opened with the lowest free number: the one just closed. */
static int open_dir_as(const char *name, int want)
{
	int fd = open(name, O_RDONLY | O_DIRECTORY);
	cr_assert_eq(fd, want, "%s opened as %d, not %d", name, fd, want);
	return fd;
}

Test(dirfds, a_counted_close_forgets_the_number)
{
	int fd = open("a", O_RDONLY | O_DIRECTORY);
	cr_assert_gt(fd, 2);
	expect_path(fd, "a");
	expect_path(fd, "a"); /* now from the table */
	close(fd);
	ag__dirfd_closed(fd);
	open_dir_as("b", fd);
	expect_path(fd, "b");
	close(fd);
}

Test(dirfds, replaced_by_dup2)
{
	int fd = open("a", O_RDONLY | O_DIRECTORY), b = open("b", O_RDONLY | O_DIRECTORY);
	expect_path(fd, "a");
	cr_assert_eq(dup2(b, fd), fd);
	ag__dirfd_closed(fd);
	expect_path(fd, "b");
}

Test(dirfds, closes_of_every_number)
{
	int fd = open("a", O_RDONLY | O_DIRECTORY);
	expect_path(fd, "a");
	close(fd);
	ag__dirfd_closed_all();
	open_dir_as("b", fd);
	expect_path(fd, "b");
}

/* Another number of the same slot was closed: the entry is proven by the
 * directory's identity, and holds. */
Test(dirfds, a_close_of_a_slot_mate_is_checked_not_fatal)
{
	int fd = open("a", O_RDONLY | O_DIRECTORY);
	expect_path(fd, "a");
	ag__dirfd_closed(fd + 64);
	expect_path(fd, "a");
	expect_path(fd, "a");
}

/* What dirfds.c gives up, shown so that it stays what the README says: a
 * close libc never saw leaves the entry trusted... */
Test(dirfds, an_uncounted_close_is_not_seen)
{
	int fd = open("a", O_RDONLY | O_DIRECTORY);
	expect_path(fd, "a");
	close(fd); /* as by a raw system call */
	open_dir_as("b", fd);
	expect_path(fd, "a");
}

/* ...except for 0 to 2, which libc itself replaces (daemon, login_tty). */
Test(dirfds, standard_numbers_are_always_checked)
{
	close(0);
	open_dir_as("a", 0);
	expect_path(0, "a");
	close(0); /* uncounted */
	open_dir_as("b", 0);
	expect_path(0, "b");
}

/* A directory renamed while open keeps the path it was first read with
 * until its descriptor is closed. */
Test(dirfds, a_renamed_directory_keeps_its_old_path)
{
	int fd = open("a", O_RDONLY | O_DIRECTORY);
	expect_path(fd, "a");
	cr_assert_eq(rename("a", "a2"), 0); /* by another process: not counted */
	expect_path(fd, "a");
	close(fd);
	ag__dirfd_closed(fd);
	fd = open_dir_as("a2", fd);
	expect_path(fd, "a2");
}

/* A file's descriptor is remembered too (tar's futimens, fchown, fchmod
 * on the file it made), and a counted rename forgets every path. */
Test(dirfds, files_and_renames)
{
	int fd = open("file", O_RDONLY);
	cr_assert_gt(fd, 2);
	expect_path(fd, "file");
	cr_assert_eq(rename("file", "file2"), 0);
	ag__fdpath_renamed();
	expect_path(fd, "file2");
	cr_assert_eq(rename("file2", "file"), 0);
	expect_path(fd, "file2"); /* an uncounted rename is not seen */
	ag__fdpath_renamed();
	expect_path(fd, "file");
	close(fd);
}

/* A path stored for a descriptor just made (ag__fdpath_known) is what
 * the table answers, with no readlink: shown here by storing one the
 * descriptor does not have. It goes with the descriptor's close, or a
 * rename counted at any time after the count was read. */
static void expect_claimed(int fd, const char *claim)
{
	char out[PATH_MAX];
	ssize_t n = ag__fdpath(fd, out, sizeof(out));
	cr_assert_eq((size_t)n, strlen(claim));
	cr_expect_str_eq(out, claim);
}

Test(dirfds, a_known_path_is_answered_as_given)
{
	int fd = open("file", O_RDONLY);
	cr_assert_gt(fd, 2);
	ag__fdpath_known(fd, "/claimed/file", 13, ag__fdpath_renames());
	expect_claimed(fd, "/claimed/file");
	expect_claimed(fd, "/claimed/file");
	ag__fdpath_renamed();
	expect_path(fd, "file");

	unsigned r0 = ag__fdpath_renames();
	ag__fdpath_renamed(); /* between the proof and the store */
	ag__fdpath_known(fd, "/claimed/file", 13, r0);
	expect_path(fd, "file");

	ag__fdpath_known(fd, "/claimed/file", 13, ag__fdpath_renames());
	close(fd);
	ag__dirfd_closed(fd);
	open_dir_as("a", fd);
	expect_path(fd, "a");
	close(fd);
}

/* Not for 0 to 2, which are always checked, nor by a process that does
 * not own the table. */
Test(dirfds, a_known_path_is_not_stored_everywhere)
{
	close(0);
	open_dir_as("a", 0);
	ag__fdpath_known(0, "/claimed/a", 10, ag__fdpath_renames());
	expect_path(0, "a");

	int fd = open("b", O_RDONLY | O_DIRECTORY);
	expect_path(fd, "b"); /* the owner is this process now */
	ag__fdpath_renamed();
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char out[PATH_MAX];
		ag__fdpath_known(fd, "/claimed/b", 10, ag__fdpath_renames());
		ssize_t n = ag__fdpath(fd, out, sizeof(out));
		_exit(n > 0 && strstr(out, "/claimed") == NULL ? 0 : 1);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a child not the owner stored a path");
}

/* What a process reads about descriptors it does not own (a vfork child,
 * which shares the table's memory but not the descriptors) is not kept:
 * here a fork child the hooks did not see, whose pid is not the owner's. */
Test(dirfds, only_the_owner_stores)
{
	int fd = open("a", O_RDONLY | O_DIRECTORY);
	expect_path(fd, "a"); /* the owner is this process now */
	close(fd);
	ag__dirfd_closed(fd);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int ok = 1;
		char out[PATH_MAX];
		int d = open("a", O_RDONLY | O_DIRECTORY);
		ok &= ag__fdpath(d, out, sizeof(out)) > 0 && strstr(out, "/a");
		close(d); /* uncounted: had it been stored, "a" would stay */
		d = open("b", O_RDONLY | O_DIRECTORY);
		ok &= ag__fdpath(d, out, sizeof(out)) > 0 && strstr(out, "/b");
		ag__fdpath_forked(); /* as the fork hook: now the child owns it */
		close(d);
		ag__dirfd_closed(d);
		d = open("a", O_RDONLY | O_DIRECTORY);
		ok &= ag__fdpath(d, out, sizeof(out)) > 0 && strstr(out, "/a");
		close(d); /* uncounted, and stored: "a" stays */
		d = open("b", O_RDONLY | O_DIRECTORY);
		ok &= ag__fdpath(d, out, sizeof(out)) > 0 && strstr(out, "/a");
		_exit(ok ? 0 : 1);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's table went wrong");
}

Test(dirfds, bad_numbers)
{
	char out[PATH_MAX];
	cr_expect_lt(ag__fdpath(-1, out, sizeof(out)), 0);
	cr_expect_lt(ag__fdpath(1000000, out, sizeof(out)), 0);
	int fd = open("a", O_RDONLY | O_DIRECTORY);
	expect_path(fd, "a");
	char small[4];
	cr_expect_lt(ag__fdpath(fd, small, sizeof(small)), 0, "a short buffer");
}
