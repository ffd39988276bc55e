/* Where a descriptor points, remembered: rm -r, find -delete and rmtree
 * remove each file as unlinkat(dirfd, "name"), tar x sets the times, owner
 * and mode of each file it makes through its descriptor, and reading
 * /proc/self/fd/<fd> for every call costs more than the call. A fixed
 * table, one slot per descriptor number (modulo its size), keeps the path
 * read for a descriptor with the slot's count of closes and the count of
 * renames when it was read.
 *
 * Every way a program closes a descriptor through libc is hooked (close,
 * close_range, closefrom, dup2 and dup3 onto it, closedir, fclose,
 * freopen, syscall(); glibc's fcloseall closes none) and counts a close
 * for its slot after the descriptor is gone; every rename through libc
 * counts a rename. An entry whose counts still stand names a descriptor
 * nobody has closed since its path was read, which therefore still holds
 * that file, under a name no rename has moved: it is used with no system
 * call. Otherwise the path is read afresh. Where closes are not counted
 * (the launcher, the unit tests: the core without the hooks) and for
 * numbers 0 to 2, which libc itself replaces (daemon, login_tty), only
 * directories are kept, with their identity (device, inode, mount id),
 * which the kernel is asked for (statx) on each use.
 *
 * What it gives up: a file or directory that another process renames while
 * a guarded program holds it open keeps its old path here until the
 * program closes it; and a descriptor closed behind libc's back (a raw
 * system call, io_uring, which the kernel floor refuses) and reopened is
 * taken for the old file, which a program able to make such calls could
 * get from it anyway. A vfork child shares this memory but not its
 * parent's descriptors: it reads the table but stores nothing in it.
 *
 * Lock-free: each slot is a sequence lock whose writer never waits (it
 * claims the slot with a compare-and-swap or gives up: the table is only a
 * cache), and whose readers never wait (a slot being written is a miss).
 * Every field is an atomic, so a reader racing a writer reads no torn
 * value it would use. No allocation; safe in a signal handler and in a
 * vfork child, whose closes count in the parent's table too (a miss there,
 * never a wrong path). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "agentguard.h"
#include "dirfds.h"
#include "rawsys.h"
#include "str.h"

#define SLOTS 64
#define WORDS 128 /* paths up to 1023 bytes are kept; longer ones are read each time */

struct slot {
	atomic_uint seq; /* odd while being written */
	atomic_int fd;
	atomic_uint closes;  /* the slot's count of closes before the path was read */
	atomic_uint renames; /* and the count of renames */
	atomic_bool made;    /* the process created the file it names (ag__fdpath_known) */
	atomic_uint_least64_t dev, ino, mnt;
	atomic_uint len;
	atomic_uint_least64_t w[WORDS];
};

static struct slot slots[SLOTS];
/* Defined by the preload's close hooks (lib/hook_fd.c): a program that
 * links the core without them (the launcher, the unit tests) closes
 * descriptors uncounted, and checks every entry. */
extern const bool ag__closes_counted __attribute__((weak));

static bool trusted_counts(void)
{
	return &ag__closes_counted && ag__closes_counted;
}

/* Apart from the slots: counted by every close, read by every lookup. */
static atomic_uint closes[SLOTS];
/* Set before the first lookup reads a count: until then there is nothing
 * to count for, and a close writes nothing (a shell's child redirecting
 * before its exec would otherwise copy the counts' page). Beside the
 * preload's start-up variables (lib/guard.h, AG_HOT), which every
 * process reads anyway. Sequentially consistent: a close that reads it
 * unset came before every lookup's count. */
__attribute__((section(".data.ag_hot"))) static atomic_bool counting;

/* Numbers 0 to 2 are never trusted from the table (see ag__fdpath): their
 * closes are not counted, so that a shell's child redirecting before its
 * exec writes nothing here (a copy of the page, in a child about to go). */
AG_HOT_TEXT void ag__dirfd_closed(int fd)
{
	if (fd > 2 && atomic_load(&counting))
		atomic_fetch_add(&closes[(unsigned)fd % SLOTS], 1);
}

void ag__dirfd_closed_all(void)
{
	for (unsigned i = 0; atomic_load(&counting) && i < SLOTS; i++)
		atomic_fetch_add(&closes[i], 1);
}

/* A rename moves whatever is open beneath the name: every path read so
 * far may be stale. */
static atomic_uint renames;

void ag__fdpath_renamed(void)
{
	if (atomic_load(&counting))
		atomic_fetch_add(&renames, 1);
}

/* The process whose descriptors the table describes. A vfork child shares
 * this memory but not the parent's descriptor table, and opens are not
 * counted: what it read about its own descriptors must not be stored for
 * the parent. Set by the first store (getpid, a system call, once per
 * descriptor read, never per lookup), forgotten in a fork child. */
__attribute__((section(".data.ag_hot"))) static _Atomic pid_t owner;

static bool own_process(void)
{
	pid_t me = (pid_t)ag_raw_getpid(), o = atomic_load(&owner);
	if (o == 0 && atomic_compare_exchange_strong(&owner, &o, me))
		return true;
	return o == me;
}

AG_HOT_TEXT void ag__fdpath_forked(void)
{
	if (atomic_load_explicit(&owner, memory_order_relaxed))
		atomic_store_explicit(&owner, 0, memory_order_relaxed);
}

struct ident {
	uint64_t dev, ino, mnt;
};

static bool identify(int fd, struct ident *id)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO | STATX_MNT_ID,
		  &sx) != 0 ||
	    !(sx.stx_mask & STATX_MNT_ID) || !(sx.stx_mask & STATX_INO) || !S_ISDIR(sx.stx_mode))
		return false;
	id->dev = ((uint64_t)sx.stx_dev_major << 32) | sx.stx_dev_minor;
	id->ino = sx.stx_ino;
	id->mnt = sx.stx_mnt_id;
	return true;
}

/* The slot's path for fd: with id, when the identity matches; without,
 * when nothing closed a descriptor of the slot since it was read (c0). */
static ssize_t lookup(struct slot *s, int fd, const struct ident *id, unsigned c0, char *out,
		      size_t outsz, bool *made)
{
	uint64_t w[WORDS];
	unsigned s1 = atomic_load_explicit(&s->seq, memory_order_acquire);

	if (s1 & 1)
		return -1;
	int sfd = atomic_load_explicit(&s->fd, memory_order_relaxed);
	uint64_t dev = atomic_load_explicit(&s->dev, memory_order_relaxed);
	uint64_t ino = atomic_load_explicit(&s->ino, memory_order_relaxed);
	uint64_t mnt = atomic_load_explicit(&s->mnt, memory_order_relaxed);
	unsigned len = atomic_load_explicit(&s->len, memory_order_relaxed);
	unsigned sc = atomic_load_explicit(&s->closes, memory_order_relaxed);
	unsigned sr = atomic_load_explicit(&s->renames, memory_order_relaxed);
	bool smade = atomic_load_explicit(&s->made, memory_order_relaxed);
	if (sfd != fd || len == 0 || len >= outsz || len >= sizeof(w))
		return -1;
	if (id ? dev != id->dev || ino != id->ino || mnt != id->mnt
	       : sc != c0 || sr != atomic_load(&renames))
		return -1;
	for (unsigned i = 0; i <= len / 8; i++)
		w[i] = atomic_load_explicit(&s->w[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
		return -1;
	memcpy(out, w, len);
	out[len] = '\0';
	*made = smade;
	return (ssize_t)len;
}

static void store(struct slot *s, int fd, const struct ident *id, unsigned c0, unsigned r0,
		  bool made, const char *path, size_t len)
{
	uint64_t w[WORDS] = {0};
	unsigned s0 = atomic_load_explicit(&s->seq, memory_order_relaxed);

	if (len == 0 || len >= sizeof(w) || (s0 & 1) ||
	    !atomic_compare_exchange_strong_explicit(&s->seq, &s0, s0 + 1, memory_order_relaxed,
						     memory_order_relaxed))
		return; /* another writer has it, perhaps the code this signal interrupted */
	atomic_thread_fence(memory_order_release);
	memcpy(w, path, len);
	atomic_store_explicit(&s->fd, fd, memory_order_relaxed);
	atomic_store_explicit(&s->closes, c0, memory_order_relaxed);
	atomic_store_explicit(&s->renames, r0, memory_order_relaxed);
	atomic_store_explicit(&s->made, made, memory_order_relaxed);
	atomic_store_explicit(&s->dev, id->dev, memory_order_relaxed);
	atomic_store_explicit(&s->ino, id->ino, memory_order_relaxed);
	atomic_store_explicit(&s->mnt, id->mnt, memory_order_relaxed);
	atomic_store_explicit(&s->len, (unsigned)len, memory_order_relaxed);
	for (size_t i = 0; i <= len / 8; i++)
		atomic_store_explicit(&s->w[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq, s0 + 2, memory_order_release);
}

/* Before a count is read: from then on closes and renames are counted. */
static void start_counting(void)
{
	if (!atomic_load(&counting))
		atomic_store(&counting, true);
}

unsigned ag__fdpath_renames(void)
{
	start_counting();
	return atomic_load(&renames);
}

void ag__fdpath_known(int fd, const char *path, size_t len, unsigned r0)
{
	static const struct ident none;

	if (fd <= 2 || !trusted_counts())
		return;
	/* Counting since ag__fdpath_renames. Read after the descriptor was made: only a close of a number the
	 * program was never given (a thread racing to close another's
	 * descriptor) could come between. */
	unsigned c0 = atomic_load(&closes[(unsigned)fd % SLOTS]);
	if (own_process())
		store(&slots[(unsigned)fd % SLOTS], fd, &none, c0, r0, true, path, len);
}

static bool same(const struct ident *a, const struct ident *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mnt == b->mnt;
}

static bool deleted(const char *path, size_t n)
{
	static const char mark[] = " (deleted)";
	size_t ml = sizeof(mark) - 1;
	return n >= ml && memcmp(path + n - ml, mark, ml) == 0;
}

ssize_t ag__fdpath(int fd, char *out, size_t outsz)
{
	bool made;
	return ag__fdpath_made(fd, out, outsz, &made);
}

ssize_t ag__fdpath_made(int fd, char *out, size_t outsz, bool *made)
{
	static const struct ident none;
	struct ident id, again;
	int saved = errno;

	*made = false;
	if (fd < 0)
		return ag_fd_path(fd, out, outsz);
	struct slot *s = &slots[(unsigned)fd % SLOTS];
	/* Read before the kernel is asked anything: a close or rename
	 * counted after this read may have changed what the answers say. */
	start_counting();
	unsigned c0 = atomic_load(&closes[(unsigned)fd % SLOTS]);
	unsigned r0 = atomic_load(&renames);
	ssize_t n;
	if (fd > 2 && trusted_counts()) {
		n = lookup(s, fd, NULL, c0, out, outsz, made);
		if (n > 0)
			return n;
		n = ag_fd_path(fd, out, outsz);
		if (n > 0 && !deleted(out, (size_t)n) && own_process()) {
			int e = errno;
			store(s, fd, &none, c0, r0, false, out, (size_t)n);
			errno = e;
		}
		return n;
	}
	/* Where closes are not counted, a directory's identity is all there
	 * is to go by. */
	if (!identify(fd, &id)) {
		errno = saved;
		return ag_fd_path(fd, out, outsz);
	}
	n = lookup(s, fd, &id, c0, out, outsz, made);
	if (n > 0)
		return n;
	n = ag_fd_path(fd, out, outsz);
	/* Kept only when the descriptor still held the same directory after
	 * the readlink: another thread may have closed and reused it. */
	if (n > 0 && !deleted(out, (size_t)n)) {
		int e = errno;
		if (identify(fd, &again) && same(&id, &again))
			store(s, fd, &id, c0, r0, false, out, (size_t)n);
		errno = e;
	}
	return n;
}
