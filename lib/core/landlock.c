/* The kernel floor. Landlock grants rights beneath directories and can
 * never carve a denial out of a granted tree, so the floor confines only
 * what it can express: the rights to write, create, remove, rename, link
 * and truncate, granted beneath the places the policy lets a process write.
 * Reads and execution stay open; refusing reads of secrets stays the
 * preload's job, unless the policy asks to hide them (below). The seccomp filter closes the side doors around both:
 * io_uring, the other system-call ABIs, and ptrace of other processes.
 *
 * Best effort by ABI, in the fall-through style of the kernel's sandboxer
 * sample: the newest rights this kernel knows are handled, older kernels
 * get fewer, a kernel without Landlock gets the preload alone. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ag_floor.h"
#include "blob.h"
#include "floor_int.h"
#include "rawsys.h"

/* Debian 12's headers stop at Landlock ABI 2: the later bits, rule types
 * and structure fields are defined here, from the kernel's UAPI. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule	     445
#define __NR_landlock_restrict_self  446
#endif
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH	  1
#define LL_RULE_NET_PORT	  2

#define FS_EXECUTE	(1ull << 0)
#define FS_WRITE_FILE	(1ull << 1)
#define FS_READ_FILE	(1ull << 2)
#define FS_READ_DIR	(1ull << 3)
#define FS_REMOVE_DIR	(1ull << 4)
#define FS_REMOVE_FILE	(1ull << 5)
#define FS_MAKE_CHAR	(1ull << 6)
#define FS_MAKE_DIR	(1ull << 7)
#define FS_MAKE_REG	(1ull << 8)
#define FS_MAKE_SOCK	(1ull << 9)
#define FS_MAKE_FIFO	(1ull << 10)
#define FS_MAKE_BLOCK	(1ull << 11)
#define FS_MAKE_SYM	(1ull << 12)
#define FS_REFER	(1ull << 13) /* ABI 2 */
#define FS_TRUNCATE	(1ull << 14) /* ABI 3 */
#define NET_CONNECT_TCP (1ull << 1)  /* ABI 4 */

#define FS_MAKE	  (FS_MAKE_DIR | FS_MAKE_REG | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_SYM)
#define FS_REMOVE (FS_REMOVE_DIR | FS_REMOVE_FILE)
/* What a write-confining floor handles. Device nodes are never granted. */
#define FS_HANDLED                                                                                 \
	(FS_WRITE_FILE | FS_REMOVE | FS_MAKE | FS_MAKE_CHAR | FS_MAKE_BLOCK | FS_REFER |           \
	 FS_TRUNCATE)
/* The rights that apply to a file rather than a directory. */
#define FS_FILE_RIGHTS (FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port {
	uint64_t allowed_access;
	uint64_t port;
};

/* ---- Landlock ------------------------------------------------------------ */
static uint64_t rights_for(uint32_t ops)
{
	uint64_t r = 0;
	if (ops & (AG_OPBIT(AG_OP_WRITE) | AG_OPBIT(AG_OP_CREATE)))
		r |= FS_WRITE_FILE | FS_TRUNCATE;
	if (ops & AG_OPBIT(AG_OP_CREATE))
		r |= FS_MAKE;
	if (ops & AG_OPBIT(AG_OP_DELETE))
		r |= FS_REMOVE;
	if (ops & AG_OPBIT(AG_OP_RENAME))
		r |= FS_MAKE | FS_REMOVE | FS_REFER;
	if (ops & AG_OPBIT(AG_OP_LINK))
		r |= FS_MAKE_REG | FS_MAKE_SYM | FS_REFER;
	return r;
}

struct build {
	int ruleset;
	uint64_t handled;
	ag_floor_t *f;
	int err; /* first errno from the kernel, 0 if none */
};

static void grant_path(struct build *b, const char *path, uint64_t rights)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0) {
		b->f->missing++;
		return;
	}
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rights &= FS_FILE_RIGHTS;
	struct ll_path_beneath pb = {.allowed_access = rights & b->handled, .parent_fd = fd};
	if (pb.allowed_access &&
	    syscall(__NR_landlock_add_rule, b->ruleset, LL_RULE_PATH_BENEATH, &pb, 0) == 0)
		b->f->paths++;
	else if (pb.allowed_access && !b->err)
		b->err = errno;
	close(fd);
}

/* A glob in a component (~/.aider*, /proc/[0-9]*): the entries that match
 * it now are granted, each whole; the directory itself is not, or the
 * whole of $HOME would be. /proc is granted whole: its pid entries change
 * with every process, and writes there are the kernel's own to check. */
static void grant_matches(struct build *b, const char *dir, const char *rest, uint64_t rights)
{
	const char *end = strchr(rest + 1, '/');
	size_t clen = end ? (size_t)(end - rest) : strlen(rest);
	char path[PATH_MAX];

	if (strcmp(dir, "/proc") == 0 || strncmp(dir, "/proc/", 6) == 0) {
		grant_path(b, "/proc", rights);
		return;
	}
	DIR *d = opendir(*dir ? dir : "/");
	if (!d) {
		b->f->missing++;
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		char comp[NAME_MAX + 2];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int n = snprintf(comp, sizeof(comp), "/%s", e->d_name);
		if (!ag_glob_match(rest, clen, comp, (size_t)n) ||
		    (size_t)snprintf(path, sizeof(path), "%s%s", dir, comp) >= sizeof(path))
			continue;
		grant_path(b, path, rights);
	}
	closedir(d);
}

static void on_grant(void *ctx, const char *prefix, const char *rest, uint32_t ops)
{
	struct build *b = ctx;
	uint64_t rights = rights_for(ops);

	if (!*rest || strcmp(rest, "/**") == 0)
		grant_path(b, *prefix ? prefix : "/", rights);
	else
		grant_matches(b, prefix, rest, rights);
}

/* ---- hiding secrets from reads -------------------------------------------
 * Landlock only grants, so a secret is hidden by granting read on
 * everything around it: on each directory from / down to the secret, the
 * right to list it, and on every other entry there, the right to read
 * beneath it. The secret itself gets nothing. Entries created later beside
 * one of those directories (a new file in $HOME) get nothing either: that
 * is the price, and why it is a policy setting, off by default. */
struct pathset {
	char (*p)[PATH_MAX];
	size_t n, cap;
};

static bool has_path(const struct pathset *s, const char *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->p[i], p) == 0)
			return true;
	return false;
}

static void add_path(struct pathset *s, const char *p)
{
	if (has_path(s, p))
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		void *np = realloc(s->p, cap * sizeof(*s->p));
		if (!np)
			return;
		s->p = np;
		s->cap = cap;
	}
	snprintf(s->p[s->n++], PATH_MAX, "%s", p);
}

struct hide {
	const ag_ruleset_t *rs;
	struct pathset secrets, dirs;
};

static void consider(struct hide *h, const char *path)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return;
	ag_request_t r = {.op = AG_OP_READ, .path = real};
	if (ag_decide(h->rs, &r).action == AG_DENY)
		add_path(&h->secrets, real);
}

/* The paths a read-denying pattern names now: itself, or the entries of
 * its directory that its last component matches. */
static void on_secret(struct hide *h, const char *prefix, const char *rest)
{
	char path[PATH_MAX];
	if (!*prefix)
		return; /* a deny of reading everything hides nothing in particular */
	if (!*rest || strcmp(rest, "/**") == 0) {
		consider(h, prefix);
		return;
	}
	if (strchr(rest + 1, '/'))
		return;
	DIR *d = opendir(prefix);
	for (struct dirent *e; d && (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		char comp[NAME_MAX + 2];
		snprintf(comp, sizeof(comp), "/%s", e->d_name);
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    ag_glob_match(rest, strlen(rest), comp, n + 1) &&
		    (size_t)snprintf(path, sizeof(path), "%s%s", prefix, comp) < sizeof(path))
			consider(h, path);
	}
	if (d)
		closedir(d);
}

static void secret_pattern(void *ctx, const char *prefix, const char *rest, uint32_t ops,
			   ag_action_t action)
{
	if (action == AG_DENY && (ops & AG_OPBIT(AG_OP_READ)))
		on_secret(ctx, prefix, rest);
}

static void find_secrets(struct hide *h)
{
	ag__floor_each_pattern(h->rs, secret_pattern, h);
	for (size_t i = 0; i < h->secrets.n; i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", h->secrets.p[i]);
		for (char *s = strrchr(dir, '/'); s; s = strrchr(dir, '/')) {
			*s = '\0';
			add_path(&h->dirs, *dir ? dir : "/");
			if (!*dir)
				break;
		}
	}
}

static void grant_around(struct build *b, const struct hide *h, const char *dir)
{
	char path[PATH_MAX];
	DIR *d = opendir(dir);

	grant_path(b, dir, FS_READ_DIR);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "",
				     e->d_name) >= sizeof(path) ||
		    has_path(&h->secrets, path) || has_path(&h->dirs, path))
			continue;
		struct stat st;
		/* A symlink is read where it leads, which is granted (or not)
		 * on its own; granting it here could expose a secret. */
		if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode))
			grant_path(b, path, FS_READ_FILE | FS_READ_DIR);
	}
	if (d)
		closedir(d);
}


static int landlock_abi(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

static void add_ports_rules(struct build *b, const uint16_t *ports, int n)
{
	for (int i = 0; i < n; i++) {
		struct ll_net_port np = {.allowed_access = NET_CONNECT_TCP, .port = ports[i]};
		if (syscall(__NR_landlock_add_rule, b->ruleset, LL_RULE_NET_PORT, &np, 0) != 0 &&
		    !b->err)
			b->err = errno;
	}
}

static int install_landlock(const ag_ruleset_t *rs, const ag_floor_opts_t *o, ag_floor_t *f)
{
	struct ll_ruleset_attr attr = {.handled_access_fs = FS_HANDLED};
	uint16_t ports[1024];
	char why[160] = "";
	int nports = -1;

	/* ABI 1 refuses every rename or link across directories, even inside
	 * the workspace: that would break ordinary work, so files start at 2. */
	if (f->abi < 2) {
		snprintf(f->note, sizeof(f->note),
			 "Landlock ABI %d would refuse every cross-directory rename", f->abi);
		f->abi = 0;
		return 0;
	}
	/* Handling truncation makes the kernel walk the path of every open,
	 * reads included, to work out whether the file may later be
	 * truncated: about 0.45 us an open, measured (bench/notes.md). An
	 * open for writing, O_TRUNC included, is confined by the right to
	 * write anyway; what is left is a bare truncate(2) by path, which the
	 * policy can ask the floor to confine too. */
	if (f->abi < 3 || !(ag_floor_flags(rs) & AG_FLOOR_TRUNCATE))
		attr.handled_access_fs &= ~FS_TRUNCATE;
	f->truncate = attr.handled_access_fs & FS_TRUNCATE;
	if (f->abi >= 4) {
		nports = ag_floor_tcp_ports(rs, ports, 1024, why, sizeof(why));
		if (nports >= 0)
			attr.handled_access_net = NET_CONNECT_TCP;
		else
			snprintf(f->note, sizeof(f->note), "TCP connect left to the preload: %s",
				 why);
	} else {
		snprintf(f->note, sizeof(f->note), "TCP connect needs Landlock ABI 4");
	}
	struct hide h = {.rs = rs};
	if (ag_floor_hides_secrets(rs))
		find_secrets(&h);
	if (h.secrets.n)
		attr.handled_access_fs |= FS_READ_FILE | FS_READ_DIR;
	struct build b = {.handled = attr.handled_access_fs, .f = f};
	b.ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (b.ruleset < 0) {
		free(h.secrets.p);
		free(h.dirs.p);
		return -1;
	}
	ag_floor_grants(rs, on_grant, &b);
	for (size_t i = 0; i < h.dirs.n; i++)
		grant_around(&b, &h, h.dirs.p[i]);
	f->hidden = (unsigned)h.secrets.n;
	free(h.secrets.p);
	free(h.dirs.p);
	for (const char *const *p = o->write_files; p && *p; p++)
		if (**p)
			grant_path(&b, *p, FS_WRITE_FILE | FS_TRUNCATE);
	if (nports >= 0)
		add_ports_rules(&b, ports, nports);
	int rc = b.err ? -1 : (int)syscall(__NR_landlock_restrict_self, b.ruleset, 0);
	int e = b.err ? b.err : errno;
	close(b.ruleset);
	if (rc != 0) {
		errno = e;
		return -1;
	}
	f->tcp_ports = nports;
	return 0;
}

/* ---- seccomp ------------------------------------------------------------- */
#if defined(__x86_64__)
#define AG_AUDIT_ARCH AUDIT_ARCH_X86_64
#define AG_X32_BIT    0x40000000u
#elif defined(__aarch64__)
#define AG_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* A filter is assembled with forward jumps to named places, resolved at
 * the end: cBPF jumps are offsets, and hand-counted offsets break silently
 * when a check is added. */
enum { L_NEXT = -1, L_ALLOW, L_ENOSYS, L_EPERM, L_EACCES, L_OPENAT2, L_ARG1, L_ARG2, L_FLAGS, L_ACC,
       L_PTRACE, L_N };

struct bpf_asm {
	struct sock_filter p[64];
	signed char jt[64], jf[64];
	int at[L_N];
	unsigned n;
	bool full; /* an instruction did not fit: the filter is not installed */
};

static void emit(struct bpf_asm *a, uint16_t code, uint32_t k, int jt, int jf)
{
	if (a->n == sizeof(a->p) / sizeof(a->p[0])) {
		a->full = true;
		return;
	}
	a->p[a->n] = (struct sock_filter){.code = code, .k = k};
	a->jt[a->n] = (signed char)jt;
	a->jf[a->n] = (signed char)jf;
	a->n++;
}

static void place(struct bpf_asm *a, int label)
{
	a->at[label] = (int)a->n;
}

/* The offset from instruction i to a label: 0 for the next instruction. */
static unsigned target(const struct bpf_asm *a, unsigned i, int label)
{
	return label == L_NEXT ? 0 : (unsigned)(a->at[label] - (int)i - 1);
}

/* -1 if a label was left unplaced or lies too far (a jump of the filter
 * above would then go astray: caught by the floor tests). */
static int resolve(struct bpf_asm *a)
{
	if (a->full)
		return -1;
	for (unsigned i = 0; i < a->n; i++) {
		struct sock_filter *f = &a->p[i];
		unsigned t = target(a, i, a->jt[i]), e = target(a, i, a->jf[i]);
		if (BPF_CLASS(f->code) != BPF_JMP)
			continue;
		if (t >= a->n - i - 1 ||
		    (BPF_OP(f->code) != BPF_JA && (t > 255 || e > 255 || e >= a->n - i - 1)))
			return -1;
		if (BPF_OP(f->code) == BPF_JA) {
			f->k = t;
		} else {
			f->jt = (uint8_t)t;
			f->jf = (uint8_t)e;
		}
	}
	return 0;
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#else
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif
#define ARG_HI(i) (ARG_LO(i) ^ 4)

#define LD(off)		     emit(&a, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(off), L_NEXT, L_NEXT)
#define JEQ(k, jt, jf)	     emit(&a, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(k), (jt), (jf))
#define JSET(k, jt, jf)	     emit(&a, BPF_JMP | BPF_JSET | BPF_K, (uint32_t)(k), (jt), (jf))
#define RET(label, action)   (place(&a, (label)), emit(&a, BPF_RET | BPF_K, (action), L_NEXT, L_NEXT))
#define ERRNO(e)	     (SECCOMP_RET_ERRNO | ((e)&SECCOMP_RET_DATA))

/* io_uring answers ENOSYS so that libuv and friends fall back to calls the
 * preload sees; the other ABIs (i386 through int 0x80, x32) answer ENOSYS as
 * a kernel without them would. Attaching to another process (ptrace
 * ATTACH/SEIZE) and writing its memory are refused; a child that asks to be
 * traced (PTRACE_TRACEME, how gdb and strace start a program) still can.
 *
 * Truncation: Linux truncates on O_TRUNC whatever the access mode asks, and
 * an open for reading (or with access mode 3, which neither reads nor
 * writes) needs no Landlock right to write, so the floor would let
 * open(path, O_RDONLY | O_TRUNC) empty any file. Those opens are refused
 * (EACCES) wherever they point; O_PATH, which ignores O_TRUNC, is not, nor
 * O_CREAT with O_EXCL, which makes a new file or fails. The preload makes
 * such opens ask to write (ag__floor_open_flags), so only programs it
 * cannot see meet the refusal.
 * openat2's flags are out of the filter's reach: it answers ENOSYS unless
 * the call carries the guard's mark (rawsys.h), and programs fall back to
 * openat. Every other system call's answer is fixed by its number, which
 * lets the kernel skip the filter for them after the first call. */
static int install_seccomp(void)
{
#ifdef AG_AUDIT_ARCH
	struct bpf_asm a = {.at = {[0 ... L_N - 1] = -1}};
	LD(offsetof(struct seccomp_data, arch));
	JEQ(AG_AUDIT_ARCH, L_NEXT, L_ENOSYS);
	LD(offsetof(struct seccomp_data, nr));
#ifdef AG_X32_BIT
	emit(&a, BPF_JMP | BPF_JGE | BPF_K, AG_X32_BIT, L_ENOSYS, L_NEXT);
#endif
	JEQ(__NR_io_uring_setup, L_ENOSYS, L_NEXT);
	JEQ(__NR_io_uring_enter, L_ENOSYS, L_NEXT);
	JEQ(__NR_io_uring_register, L_ENOSYS, L_NEXT);
	JEQ(__NR_process_vm_writev, L_EPERM, L_NEXT);
	JEQ(__NR_openat, L_ARG2, L_NEXT);
	JEQ(__NR_open_by_handle_at, L_ARG2, L_NEXT);
#ifdef __NR_open
	JEQ(__NR_open, L_ARG1, L_NEXT);
#endif
	JEQ(__NR_openat2, L_OPENAT2, L_NEXT);
	JEQ(__NR_ptrace, L_PTRACE, L_ALLOW);

	place(&a, L_PTRACE);
	LD(ARG_LO(0));
	JEQ(PTRACE_ATTACH, L_EPERM, L_NEXT);
	JEQ(PTRACE_SEIZE, L_EPERM, L_ALLOW);

	place(&a, L_OPENAT2);
	LD(ARG_LO(4));
	JEQ((uint32_t)AG_OPENAT2_MARK, L_NEXT, L_ENOSYS);
	LD(ARG_HI(4));
	JEQ((uint32_t)((unsigned long)AG_OPENAT2_MARK >> 32), L_ALLOW, L_ENOSYS);

	place(&a, L_ARG2);
	LD(ARG_LO(2));
	emit(&a, BPF_JMP | BPF_JA, 0, L_FLAGS, L_NEXT);
	place(&a, L_ARG1);
	LD(ARG_LO(1));
	place(&a, L_FLAGS); /* A holds the open flags */
	JSET(O_TRUNC, L_NEXT, L_ALLOW);
	JSET(O_PATH, L_ALLOW, L_NEXT);
	JSET(O_EXCL, L_NEXT, L_ACC); /* with O_CREAT: a new file, nothing to empty */
	JSET(O_CREAT, L_ALLOW, L_NEXT);
	place(&a, L_ACC);
	emit(&a, BPF_ALU | BPF_AND | BPF_K, O_ACCMODE, L_NEXT, L_NEXT);
	JEQ(O_WRONLY, L_ALLOW, L_NEXT);
	JEQ(O_RDWR, L_ALLOW, L_EACCES);

	RET(L_ALLOW, SECCOMP_RET_ALLOW);
	RET(L_ENOSYS, ERRNO(ENOSYS));
	RET(L_EPERM, ERRNO(EPERM));
	RET(L_EACCES, ERRNO(EACCES));
	if (resolve(&a) != 0) {
		errno = EINVAL;
		return -1;
	}
	struct sock_fprog fp = {.len = (unsigned short)a.n, .filter = a.p};
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp, 0, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

int ag_floor_install(const ag_ruleset_t *rs, const ag_floor_opts_t *o, ag_floor_t *f)
{
	int rc = 0, e = 0;

	memset(f, 0, sizeof(*f));
	f->tcp_ports = -1;
	f->kernel_abi = landlock_abi();
	if (o->max_abi == 0)
		f->kernel_abi = 0; /* tests: a kernel without Landlock */
	f->abi = o->max_abi >= 0 && o->max_abi < f->kernel_abi ? o->max_abi : f->kernel_abi;
	/* Both Landlock and an unprivileged seccomp filter need it; it also
	 * keeps setuid programs (sudo) from gaining anything. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		f->abi = 0;
		return -1;
	}
	if (f->abi > 0 && install_landlock(rs, o, f) != 0) {
		e = errno;
		f->abi = 0;
		rc = -1;
	}
	f->seccomp = install_seccomp() == 0;
	if (!f->seccomp && !e) {
		e = errno;
		rc = -1;
	}
	errno = e;
	return rc;
}

size_t ag_floor_describe(const ag_floor_t *f, char *buf, size_t sz)
{
	int n;
	if (f->abi > 0)
		n = snprintf(buf, sz,
			     "kernel floor: Landlock ABI %d confines writes to places the policy "
			     "allows (%u rules; %u places it names do not exist yet)%s%s%s%s%s",
			     f->abi, f->paths, f->missing,
			     f->truncate ? ", truncate(2) too" : "",
			     f->hidden ? ", hides secrets from reads" : "",
			     f->tcp_ports >= 0 ? ", TCP connect to its ports" : "",
			     f->note[0] ? "; " : "", f->note);
	else if (f->kernel_abi == 0)
		n = snprintf(buf, sz,
			     "kernel floor: this kernel has no Landlock; writes are "
			     "guarded by the preload alone");
	else
		n = snprintf(buf, sz,
			     "kernel floor: no Landlock rules (%s); writes are guarded "
			     "by the preload alone",
			     f->note[0] ? f->note : "not available");
	if (n >= 0 && (size_t)n < sz)
		n += snprintf(buf + n, sz - (size_t)n, "; seccomp %s",
			      f->seccomp ? "refuses io_uring, other ABIs, ptrace attach, "
					   "process_vm_writev and opens that truncate unasked"
					 : "not installed");
	return n < 0 ? 0 : (size_t)n < sz ? (size_t)n : sz - 1;
}

size_t ag_floor_env_value(const ag_floor_t *f, char *buf, size_t sz)
{
	int n = snprintf(buf, sz, "landlock=%d seccomp=%d", f->abi, f->seccomp ? 1 : 0);
	return n < 0 ? 0 : (size_t)n;
}
