/* ag_resolve against real trees: what the kernel would reach, symlinks in
 * every position, "..", missing components, and the limits of PATH_MAX and
 * of the caller's buffer. Then ag_fd_path, ag_path_squash, ag_path_within.
 *
 * Each test builds its own tree under /tmp and makes it the current
 * directory; Criterion runs every test in its own process. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentguard.h"
#include "resolve.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char T[PATH_MAX]; /* the tree's root, resolved */

static void mk(const char *path, const char *kind, const char *target)
{
	int rc;
	if (strcmp(kind, "dir") == 0) {
		rc = mkdir(path, 0700);
	} else if (strcmp(kind, "file") == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		rc = fd < 0 ? -1 : close(fd);
	} else if (strcmp(kind, "hard") == 0) {
		rc = link(target, path);
	} else {
		rc = symlink(target, path);
	}
	cr_assert_eq(rc, 0, "making %s: %s", path, strerror(errno));
}

/* Removes name inside dirfd and everything under it, by descriptors, so
 * trees deeper than PATH_MAX go too. */
static void rm_at(int at, const char *name)
{
	if (unlinkat(at, name, 0) == 0 || errno != EISDIR)
		return;
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rm_at(dirfd(d), e->d_name);
	closedir(d);
	unlinkat(at, name, AT_REMOVEDIR);
}

static void make_tree(void)
{
	char tmpl[] = "/tmp/agt-path-XXXXXX";
	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, T));
	cr_assert_eq(chdir(T), 0);

	mk("d", "dir", NULL);
	mk("d/f", "file", NULL);
	mk("d/hl", "hard", "d/f");
	mk("d/sub", "dir", NULL);
	mk("d/sub/up", "link", "../f");
	mk("d/sub/c1", "link", "c2");
	mk("d/sub/c2", "link", "../f");
	mk("ld", "link", "d");
	mk("ld2", "link", "ld");
	char abs[PATH_MAX + 32];
	snprintf(abs, sizeof(abs), "%s/d", T);
	mk("abs", "link", abs);
	mk("lf", "link", "d/f");
	mk("chain1", "link", "chain2");
	mk("chain2", "link", "ld/sub/c1");
	mk("loop1", "link", "loop2");
	mk("loop2", "link", "loop1");
	mk("self", "link", "self");
	mk("dangle", "link", "missing");
	mk("dangle2", "link", "nodir/x");
	mk("root", "link", "/");
	mk("dot", "link", ".");
	mk("ldd", "link", "ld/sub/..");
	mk("dirlink-slash", "link", "d/sub/");
}

static void remove_tree(void)
{
	if (chdir("/") != 0)
		return;
	char *slash = strrchr(T, '/');
	*slash = '\0';
	int fd = open(T[0] ? T : "/", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		rm_at(fd, slash + 1);
		close(fd);
	}
}

TestSuite(resolve, .init = make_tree, .fini = remove_tree);
TestSuite(fd_path, .init = make_tree, .fini = remove_tree);

/* "@" at the start of a path stands for the tree's root. */
static void expand(const char *in, char *out, size_t sz)
{
	if (in[0] == '@')
		snprintf(out, sz, "%s%s", T, in + 1);
	else
		snprintf(out, sz, "%s", in);
}

enum base { CWD, AT_D, AT_SUB, AT_LD };

struct rcase {
	enum base base;
	const char *path;
	int flags;
	int err; /* 0: succeeds */
	const char *want;
	bool exists, is_dir, is_link;
};

#define F     AG_RESOLVE_FOLLOW
#define FILE_ .exists = true
#define DIR_  .exists = true, .is_dir = true
#define LINK_ .exists = true, .is_link = true
#define NEW_  .exists = false

static int open_base(enum base b)
{
	static const char *const names[] = {[AT_D] = "d", [AT_SUB] = "d/sub", [AT_LD] = "ld"};
	if (b == CWD)
		return AT_FDCWD;
	int fd = open(names[b], O_RDONLY | O_DIRECTORY);
	cr_assert(fd >= 0);
	return fd;
}

static void run(const char *what, const struct rcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX + 32], want[PATH_MAX + 32], out[PATH_MAX];
		ag_pathinfo_t info;
		int dirfd = open_base(c[i].base);

		expand(c[i].path, path, sizeof(path));
		memset(&info, 0x5a, sizeof(info));
		errno = 0;
		int rc = ag_resolve(dirfd, path, c[i].flags, out, sizeof(out), &info);
		int e = errno;
		if (dirfd >= 0)
			close(dirfd);
		if (c[i].err) {
			cr_expect(rc == -1 && e == c[i].err, "%s[%zu] %s: rc %d errno %s, want %s",
				  what, i, c[i].path, rc, strerrorname_np(e),
				  strerrorname_np(c[i].err));
			continue;
		}
		expand(c[i].want, want, sizeof(want));
		cr_expect_eq(rc, 0, "%s[%zu] %s: rc %d (%s)", what, i, c[i].path, rc, strerror(e));
		if (rc != 0)
			continue;
		cr_expect_str_eq(out, want, "%s[%zu] %s: got %s, want %s", what, i, c[i].path, out,
				 want);
		cr_expect(info.exists == c[i].exists && info.is_dir == c[i].is_dir &&
			      info.is_link == c[i].is_link,
			  "%s[%zu] %s: exists %d dir %d link %d, want %d %d %d", what, i, c[i].path,
			  info.exists, info.is_dir, info.is_link, c[i].exists, c[i].is_dir,
			  c[i].is_link);
		/* What exists is what lstat (or stat, when followed) finds there. */
		struct stat st;
		if (c[i].exists && strcmp(want, "/") != 0 && lstat(want, &st) == 0) {
			cr_expect(info.dev == st.st_dev && info.ino == st.st_ino &&
				      info.nlink == st.st_nlink,
				  "%s[%zu] %s: dev/ino/nlink differ from lstat", what, i,
				  c[i].path);
		}
	}
}

#define RUN(cases) run(#cases, cases, NELEM(cases))

Test(resolve, plain_and_dots)
{
	static const struct rcase cases[] = {
	    {CWD, "d/f", 0, 0, "@/d/f", FILE_},
	    {CWD, "d", 0, 0, "@/d", DIR_},
	    {CWD, "d/", 0, 0, "@/d", DIR_},
	    {CWD, "d//", 0, 0, "@/d", DIR_},
	    {CWD, "d//f", 0, 0, "@/d/f", FILE_},
	    {CWD, "./d/./f", 0, 0, "@/d/f", FILE_},
	    {CWD, "d/sub/../f", 0, 0, "@/d/f", FILE_},
	    {CWD, "d/sub/..", 0, 0, "@/d", DIR_},
	    {CWD, "d/sub/../", 0, 0, "@/d", DIR_},
	    {CWD, ".", 0, 0, "@", DIR_},
	    {CWD, "./", 0, 0, "@", DIR_},
	    {CWD, "d/.", 0, 0, "@/d", DIR_},
	    {CWD, "@/d/f", 0, 0, "@/d/f", FILE_},
	    {CWD, "@/d/sub/../sub/../f", 0, 0, "@/d/f", FILE_},
	    {CWD, "/", 0, 0, "/", DIR_},
	    {CWD, "//", 0, 0, "/", DIR_},
	    {CWD, "/..", 0, 0, "/", DIR_},
	    {CWD, "/../../", 0, 0, "/", DIR_},
	    {CWD, "", 0, ENOENT, NULL, NEW_},
	};
	RUN(cases);

	/* ".." of the tree is its parent directory. */
	char out[PATH_MAX], parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", T);
	*strrchr(parent, '/') = '\0';
	cr_expect_eq(ag_resolve(AT_FDCWD, "..", 0, out, sizeof(out), NULL), 0);
	cr_expect_str_eq(out, parent[0] ? parent : "/");
}

Test(resolve, symlinked_directories)
{
	static const struct rcase cases[] = {
	    {CWD, "ld/f", 0, 0, "@/d/f", FILE_},
	    {CWD, "ld/sub", 0, 0, "@/d/sub", DIR_},
	    {CWD, "abs/f", 0, 0, "@/d/f", FILE_},
	    {CWD, "@/abs/sub/../hl", 0, 0, "@/d/hl", FILE_},
	    /* ".." after a symlink goes up from where it led, as the kernel does */
	    {CWD, "ld/sub/..", 0, 0, "@/d", DIR_},
	    {CWD, "ld/..", 0, 0, "@", DIR_},
	    {CWD, "ld/../lf", 0, 0, "@/lf", LINK_},
	    {CWD, "dot/dot/d/f", 0, 0, "@/d/f", FILE_},
	    {CWD, "root", F, 0, "/", DIR_},
	    {CWD, "dirlink-slash/up", 0, 0, "@/d/sub/up", LINK_},
	    /* a trailing slash follows even without AG_RESOLVE_FOLLOW */
	    {CWD, "ld/", 0, 0, "@/d", DIR_},
	    {CWD, "ld", 0, 0, "@/ld", LINK_},
	    {CWD, "ld", F, 0, "@/d", DIR_},
	    {CWD, "ld2", F, 0, "@/d", DIR_},
	    /* the slash follows the whole chain, not just its first link */
	    {CWD, "ld2/", 0, 0, "@/d", DIR_},
	    {CWD, "ld2/.", 0, 0, "@/d", DIR_},
	};
	RUN(cases);
}

/* Links met before the last component, followed by hand (each one read
 * by its own path, the result proven link-free by openat2) rather than
 * through /proc: chains, relative and absolute targets, "." and ".."
 * after and inside targets, links to "/", and loops. */
Test(resolve, links_on_the_way)
{
	static const struct rcase cases[] = {
	    {CWD, "ld2/f", 0, 0, "@/d/f", FILE_},
	    {CWD, "@/ld2/sub/up", 0, 0, "@/d/sub/up", LINK_},
	    {CWD, "@/ld2/sub/up", F, 0, "@/d/f", FILE_},
	    {CWD, "@/dot/ld2/sub/../f", 0, 0, "@/d/f", FILE_},
	    {CWD, "@/ldd/f", 0, 0, "@/d/f", FILE_},
	    {CWD, "@/ldd/sub/", 0, 0, "@/d/sub", DIR_},
	    {CWD, "@/dirlink-slash/up", 0, 0, "@/d/sub/up", LINK_},
	    {CWD, "@/abs/sub/../../ld/f", 0, 0, "@/d/f", FILE_},
	    {CWD, "@/root/..", 0, 0, "/", DIR_},
	    {CWD, "@/ld/new/", 0, 0, "@/d/new", NEW_},
	    {CWD, "@/loop1/x", 0, ELOOP, NULL, NEW_},
	    {CWD, "@/self/x", 0, ELOOP, NULL, NEW_},
	    {CWD, "@/dangle/x", 0, ENOENT, NULL, NEW_},
	    {CWD, "@/lf/x", 0, ENOTDIR, NULL, NEW_},
	};
	RUN(cases);
}

Test(resolve, symlink_last_component)
{
	static const struct rcase cases[] = {
	    {CWD, "lf", 0, 0, "@/lf", LINK_},
	    {CWD, "lf", F, 0, "@/d/f", FILE_},
	    {CWD, "@/lf", F, 0, "@/d/f", FILE_},
	    /* relative target, from the link's own directory */
	    {CWD, "d/sub/up", 0, 0, "@/d/sub/up", LINK_},
	    {CWD, "d/sub/up", F, 0, "@/d/f", FILE_},
	    {CWD, "abs/sub/up", F, 0, "@/d/f", FILE_},
	    /* chains: within one directory, and across a directory link */
	    {CWD, "d/sub/c1", F, 0, "@/d/f", FILE_},
	    {CWD, "chain1", 0, 0, "@/chain1", LINK_},
	    {CWD, "chain1", F, 0, "@/d/f", FILE_},
	    {CWD, "ldd", F, 0, "@/d", DIR_},
	    {CWD, "dirlink-slash", F, 0, "@/d/sub", DIR_},
	    {CWD, "root/", 0, 0, "/", DIR_},
	};
	RUN(cases);
}

Test(resolve, loops_and_dangling)
{
	static const struct rcase cases[] = {
	    {CWD, "loop1", 0, 0, "@/loop1", LINK_},
	    {CWD, "loop1", F, ELOOP, NULL, NEW_},
	    {CWD, "self", F, ELOOP, NULL, NEW_},
	    {CWD, "loop1/x", 0, ELOOP, NULL, NEW_},
	    {CWD, "loop1/", 0, ELOOP, NULL, NEW_},
	    /* followed to a target that does not exist: the target, not there */
	    {CWD, "dangle", F, 0, "@/missing", NEW_},
	    {CWD, "dangle", 0, 0, "@/dangle", LINK_},
	    {CWD, "dangle2", F, ENOENT, NULL, NEW_},
	    {CWD, "nonexistent", 0, 0, "@/nonexistent", NEW_},
	    {CWD, "nonexistent", F, 0, "@/nonexistent", NEW_},
	    {CWD, "d/sub/new", 0, 0, "@/d/sub/new", NEW_},
	    {CWD, "ld/new", 0, 0, "@/d/new", NEW_},
	    {CWD, "nodir/x", 0, ENOENT, NULL, NEW_},
	    {CWD, "nodir/", 0, 0, "@/nodir", NEW_}, /* as for mkdir("nodir/") */
	    {CWD, "d/f/x", 0, ENOTDIR, NULL, NEW_},
	    {CWD, "lf/x", 0, ENOTDIR, NULL, NEW_},
	};
	RUN(cases);
}

Test(resolve, against_a_dirfd)
{
	static const struct rcase cases[] = {
	    {AT_D, "f", 0, 0, "@/d/f", FILE_},
	    {AT_D, "sub", 0, 0, "@/d/sub", DIR_},
	    {AT_D, "sub/up", F, 0, "@/d/f", FILE_},
	    {AT_D, "sub/c1", F, 0, "@/d/f", FILE_},
	    {AT_D, "../ld/f", 0, 0, "@/d/f", FILE_},
	    {AT_D, "..", 0, 0, "@", DIR_},
	    {AT_D, ".", 0, 0, "@/d", DIR_},
	    {AT_D, "x", 0, 0, "@/d/x", NEW_},
	    {AT_D, "@/lf", F, 0, "@/d/f", FILE_}, /* absolute: dirfd unused */
	    {AT_SUB, "up", F, 0, "@/d/f", FILE_},
	    {AT_SUB, "up", 0, 0, "@/d/sub/up", LINK_},
	    {AT_SUB, "c1", F, 0, "@/d/f", FILE_},
	    {AT_SUB, "../../lf", F, 0, "@/d/f", FILE_},
	    {AT_SUB, "nodir/x", 0, ENOENT, NULL, NEW_},
	    /* a descriptor opened through a symlink is the directory itself */
	    {AT_LD, "f", 0, 0, "@/d/f", FILE_},
	    {AT_LD, "..", 0, 0, "@", DIR_},
	};
	RUN(cases);
}

/* The working directory stands in for AT_FDCWD, wherever it is. */
Test(resolve, relative_to_a_deeper_cwd)
{
	cr_assert_eq(chdir("d/sub"), 0);
	static const struct rcase cases[] = {
	    {CWD, "up", F, 0, "@/d/f", FILE_},
	    {CWD, "c1", F, 0, "@/d/f", FILE_},
	    {CWD, "../hl", 0, 0, "@/d/hl", FILE_},
	    {CWD, "new", 0, 0, "@/d/sub/new", NEW_},
	};
	RUN(cases);
}

Test(resolve, info_fields)
{
	char out[PATH_MAX];
	ag_pathinfo_t info;
	struct stat st;

	cr_assert_eq(ag_resolve(AT_FDCWD, "d/hl", 0, out, sizeof(out), &info), 0);
	cr_expect_eq(info.nlink, 2);
	cr_assert_eq(stat("d/f", &st), 0);
	cr_expect(info.dev == st.st_dev && info.ino == st.st_ino, "hl is f");
	cr_assert_eq(ag_resolve(AT_FDCWD, "lf", F, out, sizeof(out), &info), 0);
	cr_expect(info.ino == st.st_ino && info.nlink == 2 && !info.is_link);
	cr_assert_eq(ag_resolve(AT_FDCWD, "lf", 0, out, sizeof(out), &info), 0);
	cr_expect(info.ino != st.st_ino && info.nlink == 1 && info.is_link);
	cr_assert_eq(ag_resolve(AT_FDCWD, "d/sub/..", 0, out, sizeof(out), &info), 0);
	cr_assert_eq(stat("d", &st), 0);
	cr_expect(info.ino == st.st_ino && info.dev == st.st_dev && info.is_dir,
		  "\"..\" fills the info of where it leads");
	/* No info wanted: still resolves. */
	cr_expect_eq(ag_resolve(AT_FDCWD, "chain1", F, out, sizeof(out), NULL), 0);
	cr_expect_str_eq(out + strlen(T), "/d/f");
}

/* A path that does not fit PATH_MAX is refused, never cut. */
Test(resolve, path_max)
{
	char path[PATH_MAX + 64], out[PATH_MAX], want[PATH_MAX + 32];
	size_t n = 0;

	/* "./" repeated, then "d/f": one byte short of PATH_MAX with its NUL */
	while (n + 3 < PATH_MAX - 1) {
		memcpy(path + n, "./", 2);
		n += 2;
	}
	memcpy(path + n, "d/f", 4);
	cr_assert_eq(strlen(path), PATH_MAX - 1);
	snprintf(want, sizeof(want), "%s/d/f", T);
	cr_expect_eq(ag_resolve(AT_FDCWD, path, 0, out, sizeof(out), NULL), 0, "%s",
		     strerror(errno));
	cr_expect_str_eq(out, want);

	/* exactly PATH_MAX bytes before the NUL */
	strcat(path, "f");
	cr_assert_eq(strlen(path), PATH_MAX);
	errno = 0;
	cr_expect_eq(ag_resolve(AT_FDCWD, path, 0, out, sizeof(out), NULL), -1);
	cr_expect_eq(errno, ENAMETOOLONG);

	char *huge = malloc(100000);
	cr_assert_not_null(huge);
	memset(huge, 'a', 99999);
	huge[0] = '/';
	huge[99999] = '\0';
	errno = 0;
	cr_expect_eq(ag_resolve(AT_FDCWD, huge, F, out, sizeof(out), NULL), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	free(huge);

	/* a last component longer than NAME_MAX */
	char name[NAME_MAX + 8];
	memset(name, 'n', NAME_MAX + 1);
	name[NAME_MAX + 1] = '\0';
	errno = 0;
	cr_expect_eq(ag_resolve(AT_FDCWD, name, 0, out, sizeof(out), NULL), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	name[NAME_MAX] = '\0';
	cr_expect_eq(ag_resolve(AT_FDCWD, name, 0, out, sizeof(out), NULL), 0);
	cr_expect_eq(strlen(out), strlen(T) + 1 + NAME_MAX);
}

/* A tree deeper than PATH_MAX, reached by descriptors: a short relative
 * path whose resolved form would not fit. */
Test(resolve, deeper_than_path_max)
{
	char comp[201], out[PATH_MAX];
	memset(comp, 'q', 200);
	comp[200] = '\0';
	cr_assert_eq(mkdir("deep", 0700), 0);
	int fd = open("deep", O_RDONLY | O_DIRECTORY);
	cr_assert(fd >= 0);
	size_t depth = strlen(T) + 5;
	int near = -1; /* a directory whose path leaves less than 200 bytes */
	for (int i = 0; i < 25; i++) {
		cr_assert_eq(mkdirat(fd, comp, 0700), 0);
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY);
		cr_assert(next >= 0);
		depth += 201;
		if (near < 0 && depth + 201 >= PATH_MAX && depth < PATH_MAX - 1)
			near = dup(next);
		close(fd);
		fd = next;
	}
	cr_assert(near >= 0);
	cr_assert_gt(depth, PATH_MAX);

	/* The deepest directory has no path the kernel can give. */
	errno = 0;
	cr_expect_eq(ag_resolve(fd, "f", 0, out, sizeof(out), NULL), -1);
	cr_expect_eq(errno, ENAMETOOLONG, "errno %s", strerrorname_np(errno));
	errno = 0;
	cr_expect_eq(ag_resolve(fd, ".", 0, out, sizeof(out), NULL), -1);
	cr_expect_eq(errno, ENAMETOOLONG, "errno %s", strerrorname_np(errno));

	/* One whose path fits, but not with a 200-byte name after it. */
	ssize_t base = ag_fd_path(near, out, sizeof(out));
	cr_assert_gt(base, 0);
	cr_assert_gt((size_t)base + 1 + 200, PATH_MAX - 1);
	errno = 0;
	cr_expect_eq(ag_resolve(near, comp, 0, out, sizeof(out), NULL), -1);
	cr_expect_eq(errno, ENAMETOOLONG, "errno %s", strerrorname_np(errno));
	cr_expect_eq(ag_resolve(near, "x", 0, out, sizeof(out), NULL), 0);
	cr_expect_eq(strlen(out), (size_t)base + 2);

	/* A symlink there with a long name leading somewhere short: the
	 * kernel follows it, and its target fits. */
	char lname[201], want[PATH_MAX + 32];
	memset(lname, 'l', 200);
	lname[200] = '\0';
	snprintf(want, sizeof(want), "%s/d/f", T);
	cr_assert_eq(symlinkat(want, near, lname), 0);
	int probe = openat(near, lname, O_RDONLY);
	cr_expect(probe >= 0, "the kernel opens it");
	if (probe >= 0)
		close(probe);
	errno = 0;
	int rc = ag_resolve(near, lname, F, out, sizeof(out), NULL);
	cr_expect_eq(rc, 0, "rc %d errno %s", rc, strerrorname_np(errno));
	if (rc == 0)
		cr_expect_str_eq(out, want);
	close(near);
	close(fd);
}

/* Every buffer size below the one that fits: refused, never written past
 * (each buffer is exactly its size, for ASan). Reports the first size that
 * went wrong, and the errno it gave. */
static void too_small(int dirfd, const char *path, int flags, const char *want)
{
	size_t need = strlen(want) + 1, bad = 0;
	int bad_rc = 0, bad_errno = 0, other_errno = 0;

	for (size_t sz = 1; sz < need; sz++) {
		char *out = malloc(sz);
		cr_assert_not_null(out);
		errno = 0;
		int rc = ag_resolve(dirfd, path, flags, out, sz, NULL);
		if (rc != -1 && !bad) {
			bad = sz;
			bad_rc = rc;
		}
		if (rc == -1 && errno != ENAMETOOLONG && !other_errno) {
			other_errno = errno;
			bad_errno = (int)sz;
		}
		free(out);
	}
	cr_expect_eq(bad, 0, "%s in %zu bytes: rc %d, want -1", path, bad, bad_rc);
	cr_expect_eq(other_errno, 0, "%s in %d bytes (and maybe more): errno %s, want ENAMETOOLONG",
		     path, bad_errno, strerrorname_np(other_errno));
}

/* A buffer exactly the size of the answer is enough. */
static void exact_fit(int dirfd, const char *path, int flags, const char *want)
{
	size_t need = strlen(want) + 1;
	char *out = malloc(need);
	cr_assert_not_null(out);
	errno = 0;
	int rc = ag_resolve(dirfd, path, flags, out, need, NULL);
	cr_expect_eq(rc, 0, "%s in %zu bytes: %s", path, need, strerror(errno));
	if (rc == 0)
		cr_expect_str_eq(out, want);
	free(out);
}

Test(resolve, out_buffer_too_small)
{
	static const struct {
		const char *path, *want;
		int flags;
	} cases[] = {
	    {"@/d/f", "@/d/f", 0},
	    {"@/ld/sub/up", "@/d/f", F},
	    {"@/d/sub/..", "@/d", 0},
	    {"@/d/new", "@/d/new", 0},
	    {"/", "/", 0},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[PATH_MAX + 32], want[PATH_MAX + 32];
		expand(cases[i].path, path, sizeof(path));
		expand(cases[i].want, want, sizeof(want));
		too_small(AT_FDCWD, path, cases[i].flags, want);
	}
}

/* Through the working directory: the header promises ENAMETOOLONG here
 * as well. */
Test(resolve, out_buffer_too_small_relative)
{
	char want[PATH_MAX + 32];
	cr_assert_eq(chdir("d"), 0);
	snprintf(want, sizeof(want), "%s/d/f", T);
	too_small(AT_FDCWD, "f", 0, want);
	snprintf(want, sizeof(want), "%s/d", T);
	too_small(AT_FDCWD, ".", 0, want);
}

Test(resolve, out_buffer_exact_fit)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/d/f", T);
	exact_fit(AT_FDCWD, path, 0, path);
	exact_fit(AT_FDCWD, "/", 0, "/");
	cr_assert_eq(chdir("d"), 0);
	exact_fit(AT_FDCWD, "f", 0, path);
}

/* The answer fits, though a path met on the way (the symlink's own
 * location, the directory ".." leaves) is longer. */
Test(resolve, out_buffer_exact_fit_shorter_than_the_way)
{
	char want[PATH_MAX + 32], path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/ld/sub/up", T);
	snprintf(want, sizeof(want), "%s/d/f", T);
	exact_fit(AT_FDCWD, path, F, want);
	snprintf(path, sizeof(path), "%s/d/sub/..", T);
	snprintf(want, sizeof(want), "%s/d", T);
	exact_fit(AT_FDCWD, path, 0, want);
}

/* ---- ag_fd_path -------------------------------------------------------------- */

static void expect_fd_path(int fd, const char *want)
{
	char out[PATH_MAX];
	ssize_t n = ag_fd_path(fd, out, sizeof(out));
	cr_expect_eq(n, (ssize_t)strlen(want), "fd %d: %zd", fd, n);
	if (n > 0)
		cr_expect_str_eq(out, want);
}

/* ag__resolve_parent: what ag_resolve says for the path, with the
 * directory the last component is in held open. */
Test(resolve, parent_held_open)
{
	static const struct {
		enum base base;
		const char *path;
		const char *want, *dir, *name;
	} cases[] = {
	    {CWD, "d/new", "@/d/new", "@/d", "new"},
	    {CWD, "ld/sub/new", "@/d/sub/new", "@/d/sub", "new"},
	    {CWD, "@/abs/f", "@/d/f", "@/d", "f"},
	    {CWD, "ld/sub/../x", "@/d/x", "@/d", "x"},
	    {CWD, "new", "@/new", NULL, "new"},
	    {AT_D, "sub/new", "@/d/sub/new", "@/d/sub", "new"},
	    {AT_LD, "new", "@/d/new", NULL, "new"},
	    {CWD, "lf", "@/lf", NULL, "lf"}, /* the last component is not followed */
	    {CWD, "@/x", "@/x", "@", "x"},
	    {CWD, "/x", "/x", "/", "x"},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		char path[PATH_MAX + 32], want[PATH_MAX + 32], out[PATH_MAX], dir[PATH_MAX];
		const char *name = NULL;
		int dirfd = open_base(cases[i].base), pfd = -7;
		expand(cases[i].path, path, sizeof(path));
		expand(cases[i].want, want, sizeof(want));
		int rc = ag__resolve_parent(dirfd, path, out, sizeof(out), &pfd, &name);
		cr_expect_eq(rc, 0, "[%zu] %s: %s", i, cases[i].path, strerror(errno));
		if (rc == 0) {
			cr_expect_str_eq(out, want, "[%zu] %s", i, cases[i].path);
			cr_expect_str_eq(name, cases[i].name, "[%zu] %s", i, cases[i].path);
			cr_expect(name >= path && name < path + strlen(path), "[%zu] name in path",
				  i);
			if (!cases[i].dir) {
				cr_expect_eq(pfd, dirfd, "[%zu] no slash: the caller's own", i);
			} else {
				char w[PATH_MAX + 32];
				expand(cases[i].dir, w, sizeof(w));
				cr_expect_neq(pfd, dirfd, "[%zu]", i);
				cr_expect_gt(ag_fd_path(pfd, dir, sizeof(dir)), 0);
				cr_expect_str_eq(dir, w, "[%zu] %s: held %s", i, cases[i].path,
						 dir);
				close(pfd);
			}
		}
		if (dirfd >= 0)
			close(dirfd);
	}
}

/* Refused, with nothing held: names that are not a file's own (".",
 * "..", a trailing '/'), an empty path, a missing directory. */
Test(resolve, parent_refusals)
{
	static const struct {
		const char *path;
		int err;
	} cases[] = {
	    {"d/", EINVAL}, {"d/.", EINVAL},	 {"..", EINVAL},     {".", EINVAL},
	    {"", EINVAL},   {"nodir/x", ENOENT}, {"loop1/x", ELOOP}, {"d/f/x", ENOTDIR},
	};
	int before = open("/dev/null", O_RDONLY);
	close(before);
	for (size_t i = 0; i < NELEM(cases); i++) {
		char out[PATH_MAX];
		const char *name;
		int pfd = -7;
		errno = 0;
		int rc = ag__resolve_parent(AT_FDCWD, cases[i].path, out, sizeof(out), &pfd, &name);
		cr_expect(rc == -1 && errno == cases[i].err, "[%zu] %s: rc %d errno %s", i,
			  cases[i].path, rc, strerrorname_np(errno));
	}
	cr_expect_eq(ag__resolve_parent(AT_FDCWD, NULL, (char[PATH_MAX]){0}, PATH_MAX, (int[1]){0},
					(const char *[1]){0}),
		     -1);
	char small[16];
	const char *name;
	int pfd;
	cr_expect_eq(ag__resolve_parent(AT_FDCWD, "d/x", small, sizeof(small), &pfd, &name), -1,
		     "a buffer shorter than PATH_MAX");
	int after = open("/dev/null", O_RDONLY);
	cr_expect_eq(after, before, "a descriptor was left open");
	close(after);
}

Test(fd_path, files_dirs_and_cwd)
{
	char want[PATH_MAX + 32];
	int f = open("ld/f", O_RDONLY), d = open("ld/sub", O_RDONLY | O_DIRECTORY);
	int l = open("lf", O_PATH | O_NOFOLLOW);
	cr_assert(f >= 0 && d >= 0 && l >= 0);
	snprintf(want, sizeof(want), "%s/d/f", T);
	expect_fd_path(f, want);
	snprintf(want, sizeof(want), "%s/d/sub", T);
	expect_fd_path(d, want);
	snprintf(want, sizeof(want), "%s/lf", T);
	expect_fd_path(l, want);
	expect_fd_path(AT_FDCWD, T);
	cr_assert_eq(chdir("ld"), 0);
	snprintf(want, sizeof(want), "%s/d", T);
	expect_fd_path(AT_FDCWD, want);

	/* A buffer one byte short is refused, not filled with a cut path. */
	snprintf(want, sizeof(want), "%s/d/f", T);
	size_t need = strlen(want) + 1;
	char *small = malloc(need - 1);
	cr_assert_not_null(small);
	cr_expect_eq(ag_fd_path(f, small, need - 1), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	free(small);
	char *exact = malloc(need);
	cr_assert_not_null(exact);
	cr_expect_eq(ag_fd_path(f, exact, need), (ssize_t)need - 1);
	cr_expect_str_eq(exact, want);
	free(exact);
	close(f);
	close(d);
	close(l);
}

Test(fd_path, not_files)
{
	int p[2], s[2];
	char out[PATH_MAX];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	int ev = eventfd(0, 0);
	cr_assert(ev >= 0);
	cr_expect_eq(ag_fd_path(p[0], out, sizeof(out)), 0);
	cr_expect_eq(ag_fd_path(p[1], out, sizeof(out)), 0);
	cr_expect_eq(ag_fd_path(s[0], out, sizeof(out)), 0);
	cr_expect_eq(ag_fd_path(ev, out, sizeof(out)), 0);
	close(p[0]);
	close(p[1]);
	close(s[0]);
	close(s[1]);
	close(ev);
	/* A descriptor that is not open. */
	cr_expect_eq(ag_fd_path(p[0], out, sizeof(out)), -1);
	cr_expect_eq(ag_fd_path(-5, out, sizeof(out)), -1);
}

/* A memfd is anonymous memory, not a file anywhere: the kernel shows it as
 * "/memfd:NAME (deleted)", which must not be taken for a path (a policy
 * refusing writes outside the workspace would refuse ftruncate on it). */
Test(fd_path, memfd_is_not_a_file)
{
	char out[PATH_MAX];
	int fd = memfd_create("agt", 0);
	cr_assert(fd >= 0);
	ssize_t n = ag_fd_path(fd, out, sizeof(out));
	cr_expect_eq(n, 0, "memfd reported as path \"%s\"", n > 0 ? out : "");
	close(fd);
}

/* ---- lexical helpers --------------------------------------------------------- */

Test(path, squash)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"/", "/"},
	    {"//", "/"},
	    {"///", "/"},
	    {"/a", "/a"},
	    {"/a/", "/a"},
	    {"/a//b", "/a/b"},
	    {"///a///b///", "/a/b"},
	    {"/a/./b", "/a/b"},
	    {"/a/.", "/a"},
	    {"/./", "/"},
	    {"/.", "/"},
	    {"/./././a/./", "/a"},
	    {"/a/..", "/a/.."},
	    {"/a/../b/", "/a/../b"},
	    {"/a/.b", "/a/.b"},
	    {"/a/..b/.", "/a/..b"},
	    {"/a/b.", "/a/b."},
	    {"/a/.../", "/a/..."},
	    {"/.hidden", "/.hidden"},
	    {"/a b/ c", "/a b/ c"},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		size_t n = ag_path_squash(buf);
		cr_expect_str_eq(buf, cases[i].want, "squash(\"%s\") = \"%s\", want \"%s\"",
				 cases[i].in, buf, cases[i].want);
		cr_expect_eq(n, strlen(buf), "squash(\"%s\") returned %zu", cases[i].in, n);
	}
}

Test(path, within)
{
	static const struct {
		const char *path, *dir;
		bool want;
	} cases[] = {
	    {"/a/b", "/a", true},
	    {"/a", "/a", true},
	    {"/a/b/c", "/a/b", true},
	    {"/ab", "/a", false},
	    {"/a-b", "/a", false},
	    {"/a", "/a/b", false},
	    {"/", "/a", false},
	    {"/home/u/ws", "/home/u/ws", true},
	    {"/home/u/ws/x", "/home/u/ws", true},
	    {"/home/u/ws-old", "/home/u/ws", false},
	    {"/home/u/ws-old/x", "/home/u/ws", false},
	    {"/home/u/wsx", "/home/u/ws", false},
	    {"/home/u/w", "/home/u/ws", false},
	    {"/home/u", "/home/u/ws", false},
	    {"/anything/at/all", "/", true},
	    {"/", "/", true},
	    {"relative", "/", false},
	    {"", "/", false},
	    {"/A", "/a", false},
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		cr_expect_eq(ag_path_within(cases[i].path, cases[i].dir), cases[i].want,
			     "within(\"%s\", \"%s\"), want %d", cases[i].path, cases[i].dir,
			     cases[i].want);
}

/* ".." taken lexically: only used where the kernel guarantees no symlinks. */
Test(lexical, dot_dot_and_slashes)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"/", "/"},
	    {"/a/b/../c", "/a/c"},
	    {"/a/b/../../c", "/c"},
	    {"/..", "/"},
	    {"/../../a", "/a"},
	    {"/a/./b//c/", "/a/b/c"},
	    {"/a/..", "/"},
	    {"/a/b/..", "/a"},
	    {"/a/..b/c", "/a/..b/c"},
	    {"/a/b../c", "/a/b../c"},
	    {"/a/.../c", "/a/.../c"},
	    {"//a//..//b", "/b"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		size_t n = ag_path_lexical(buf);
		cr_expect_str_eq(buf, cases[i].want, "%s", cases[i].in);
		cr_expect_eq(n, strlen(cases[i].want), "%s", cases[i].in);
	}
}
