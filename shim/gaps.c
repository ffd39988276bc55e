/* What the preload will not see in the program `agentguard run` launches,
 * read from its ELF file: one note per gap, on stderr, before the exec.
 *
 * judge_launch already speaks for programs the preload cannot enter at all
 * (static, Go, setuid). This looks at a dynamically linked program the
 * preload does enter, for the parts of it that go around libc:
 *
 *  - syscall instructions in the program's own executable sections (x86-64
 *    "0f 05", aarch64 "svc #0") whose number is loaded as a constant just
 *    before them, for the calls the preload judges through libc (opens,
 *    stats, deletes, renames, exec, connect...). Raw read() and write() on a
 *    descriptor are not gaps: the preload judges the open, not the I/O. A
 *    number passed in a register from elsewhere is not recognised, so this
 *    finds less than there is; the two bytes "0f 05" also turn up inside
 *    other instructions, which is why a site counts only with its number.
 *  - io_uring: file operations submitted through a ring never pass through
 *    libc. Seen as a raw io_uring_setup, as its number loaded into the
 *    first argument of an imported syscall(), or as an imported liburing
 *    function.
 *
 * A plain import of syscall() is no gap: the preload judges the file calls
 * made through it. Libraries the program loads are not read; libc's own
 * system calls are libc's, and the preload sits in front of them.
 *
 * This runs in the launcher, once, before the exec: libelf maps the file
 * and only executable sections (or PF_X segments when there are no section
 * headers) are scanned, so a 245 MB Bun single-file executable with 57 MB
 * of code takes a few tens of milliseconds. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define NR_IO_URING_SETUP 425 /* the same on x86-64 and aarch64 */
#define LOOKBACK	  16  /* bytes before a syscall searched for its number */

/* The calls the preload judges when they go through libc, by number on
 * each architecture (-1: the architecture has no such call). */
static const struct {
	const char *name;
	int x86_64, aarch64;
} judged[] = {
    {"open", 2, -1},	       {"creat", 85, -1},	 {"openat", 257, 56},
    {"openat2", 437, 437},     {"stat", 4, -1},		 {"lstat", 6, -1},
    {"newfstatat", 262, 79},   {"statx", 332, 291},	 {"access", 21, -1},
    {"faccessat", 269, 48},    {"faccessat2", 439, 439}, {"truncate", 76, 45},
    {"unlink", 87, -1},	       {"rmdir", 84, -1},	 {"unlinkat", 263, 35},
    {"rename", 82, -1},	       {"renameat", 264, 38},	 {"renameat2", 316, 276},
    {"link", 86, -1},	       {"linkat", 265, 37},	 {"symlink", 88, -1},
    {"symlinkat", 266, 36},    {"mkdir", 83, -1},	 {"mkdirat", 258, 34},
    {"mknod", 133, -1},	       {"mknodat", 259, 33},	 {"chmod", 90, -1},
    {"fchmodat", 268, 53},     {"fchmodat2", 452, 452},	 {"chown", 92, -1},
    {"lchown", 94, -1},	       {"fchownat", 260, 54},	 {"utime", 132, -1},
    {"utimes", 235, -1},       {"futimesat", 261, -1},	 {"utimensat", 280, 88},
    {"setxattr", 188, 5},      {"lsetxattr", 189, 6},	 {"removexattr", 197, 14},
    {"lremovexattr", 198, 15}, {"execve", 59, 221},	 {"execveat", 322, 281},
    {"connect", 42, 203},
};
#define NJUDGED (sizeof(judged) / sizeof(judged[0]))

struct gaps {
	unsigned sites;	       /* syscall instructions with a known number */
	unsigned file_sites;   /* of them, calls the preload judges via libc */
	bool used[NJUDGED];    /* which of those */
	bool raw_uring;	       /* io_uring_setup as a raw call */
	bool uring_arg;	       /* io_uring_setup's number as syscall()'s first argument */
	bool imports_syscall;  /* syscall() from libc */
	char uring_import[64]; /* an imported liburing function, "" if none */
};

static void count_nr(struct gaps *g, bool x86, long nr)
{
	g->sites++;
	if (nr == NR_IO_URING_SETUP)
		g->raw_uring = true;
	for (size_t i = 0; i < NJUDGED; i++)
		if ((x86 ? judged[i].x86_64 : judged[i].aarch64) == nr) {
			g->used[i] = true;
			g->file_sites++;
			return;
		}
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The number a syscall at p[i] was given: the nearest "mov $n, %eax"
 * (b8 imm32) or "mov $n, %rax" (48 c7 c0 imm32) ending in the bytes
 * before it, or -1. */
static long x86_nr(const unsigned char *p, size_t i)
{
	for (size_t back = 5; back <= LOOKBACK && back <= i; back++) {
		const unsigned char *q = p + i - back;
		if (q[0] == 0xb8 && le32(q + 1) < 1024)
			return (long)le32(q + 1);
		if (back >= 7 && q[0] == 0x48 && q[1] == 0xc7 && q[2] == 0xc0 && le32(q + 3) < 1024)
			return (long)le32(q + 3);
	}
	return -1;
}

static void scan_x86(struct gaps *g, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		const unsigned char *s = memchr(p + i, 0x0f, n - 1 - i);
		if (!s)
			break;
		i = (size_t)(s - p);
		if (s[1] == 0x05) {
			long nr = x86_nr(p, i);
			if (nr >= 0)
				count_nr(g, true, nr);
		}
	}
	/* "mov $425, %edi": io_uring_setup as the first argument of a call */
	if (memmem(p, n, "\xbf\xa9\x01\x00\x00", 5))
		g->uring_arg = true;
}

/* svc #0 with "movz w8/x8, #n" among the four instructions before it;
 * "movz w0, #425" anywhere is io_uring_setup as syscall()'s argument. */
static void scan_arm64(struct gaps *g, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i += 4) {
		uint32_t ins = le32(p + i);
		if (ins == 0x52803520)
			g->uring_arg = true;
		if (ins != 0xd4000001)
			continue;
		for (size_t back = 4; back <= 16 && back <= i; back += 4) {
			uint32_t m = le32(p + i - back);
			if ((m & 0x7fe0001f) == 0x52800008) {
				count_nr(g, false, (long)((m >> 5) & 0xffff));
				break;
			}
		}
	}
}

static void scan_code(struct gaps *g, unsigned machine, const void *p, size_t n)
{
	if (machine == EM_X86_64)
		scan_x86(g, p, n);
	else if (machine == EM_AARCH64)
		scan_arm64(g, p, n);
}

static void scan_dynsym(struct gaps *g, Elf *e, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	GElf_Sym sym;

	for (size_t i = 0; d && i < n; i++) {
		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx != SHN_UNDEF)
			continue;
		const char *name = elf_strptr(e, sh->sh_link, sym.st_name);
		if (!name)
			continue;
		if (strcmp(name, "syscall") == 0)
			g->imports_syscall = true;
		else if (strncmp(name, "io_uring_", 9) == 0 && !g->uring_import[0])
			snprintf(g->uring_import, sizeof(g->uring_import), "%s", name);
	}
}

/* Executable sections, or executable segments when there are no section
 * headers; and the dynamic symbols. */
static int scan_elf(struct gaps *g, Elf *e)
{
	GElf_Ehdr eh;
	GElf_Shdr sh;
	size_t nsec = 0, nph = 0, fsize = 0;
	char *raw = elf_rawfile(e, &fsize);

	if (!gelf_getehdr(e, &eh) || !raw)
		return -1;
	if (elf_getshdrnum(e, &nsec) == 0 && nsec > 1) {
		for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
			if (!gelf_getshdr(scn, &sh))
				continue;
			if (sh.sh_type == SHT_DYNSYM)
				scan_dynsym(g, e, scn, &sh);
			else if (sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_EXECINSTR) &&
				 sh.sh_offset <= fsize && sh.sh_size <= fsize - sh.sh_offset)
				scan_code(g, eh.e_machine, raw + sh.sh_offset, sh.sh_size);
		}
		return 0;
	}
	if (elf_getphdrnum(e, &nph) != 0)
		return -1;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
		    ph.p_offset <= fsize && ph.p_filesz <= fsize - ph.p_offset)
			scan_code(g, eh.e_machine, raw + ph.p_offset, ph.p_filesz);
	}
	return 0;
}

/* Where the exec will land: PATH lookup as execvp does it, then, for a
 * "#!" script, its interpreter ("#!/usr/bin/env node" means node). */
static int locate(const char *cmd, char out[PATH_MAX])
{
	char path[PATH_MAX];
	ag_proginfo_t info = {0};

	if (strchr(cmd, '/'))
		snprintf(path, sizeof(path), "%s", cmd);
	else if (find_real(cmd, path, sizeof(path)) != 0)
		return -1;
	for (int hops = 0; hops < 4; hops++) {
		if (!realpath(path, out))
			return -1;
		int fd = open(out, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		int rc = ag_inspect_fd(fd, &info);
		char head[256] = "";
		ssize_t n = info.is_script ? pread(fd, head, sizeof(head) - 1, 0) : 0;
		close(fd);
		if (rc != 0 || !info.is_script)
			return rc;
		if (!info.interp[0])
			return -1;
		const char *base = strrchr(info.interp, '/');
		if (strcmp(base ? base + 1 : info.interp, "env") == 0 && n > 0) {
			head[n] = '\0';
			char *w = head + 2 + strspn(head + 2, " \t");
			w += strcspn(w, " \t\n"); /* past "/usr/bin/env" */
			w += strspn(w, " \t");
			if (*w == '-' || *w == '\n' || !*w)
				return -1; /* env -S and the like: not followed */
			w[strcspn(w, " \t\n")] = '\0';
			if (find_real(w, path, sizeof(path)) != 0)
				return -1;
		} else {
			snprintf(path, sizeof(path), "%s", info.interp);
		}
	}
	return -1;
}

/* The floor (Landlock and seccomp) confines writes, not reads, and its
 * seccomp filter refuses io_uring outright: each note says what holds, and
 * io_uring is no gap at all under a floor. */
static void say(const char *prog, const char *what, const char *floor)
{
	fprintf(stderr, "agentguard: note: %s %s: the preload cannot see those calls; %s\n", prog,
		what, floor);
}

static void report(const char *prog, const struct gaps *g, bool floor_active)
{
	char what[1024];

	if (g->file_sites) {
		size_t len = (size_t)snprintf(what, sizeof(what),
					      "makes its own system calls (%u syscall instructions "
					      "in its code, %u of them for",
					      g->sites, g->file_sites);
		const char *sep = " ";
		for (size_t i = 0; i < NJUDGED && len < sizeof(what); i++)
			if (g->used[i]) {
				len += (size_t)snprintf(what + len, sizeof(what) - len, "%s%s", sep,
							judged[i].name);
				sep = ", ";
			}
		if (len < sizeof(what))
			snprintf(what + len, sizeof(what) - len, ")");
		say(prog, what,
		    floor_active
			? "the kernel floor confines their writes, not their reads"
			: "a kernel floor would confine their writes, and this run has none");
	}
	const char *how = g->raw_uring			       ? "a raw io_uring_setup"
			  : g->uring_import[0]		       ? g->uring_import
			  : g->uring_arg && g->imports_syscall ? "io_uring_setup through syscall()"
							       : NULL;
	/* with a floor, seccomp refuses io_uring: no gap left to report */
	if (how && !floor_active) {
		snprintf(what, sizeof(what),
			 "can set up io_uring (%s), whose file operations never pass through "
			 "libc",
			 how);
		say(prog, what, "a kernel floor would refuse io_uring, and this run has none");
	}
}

void report_gaps(const char *cmd, bool floor_active)
{
	char prog[PATH_MAX];
	ag_proginfo_t info = {0};
	struct gaps g = {0};

	if (locate(cmd, prog) != 0)
		return;
	int fd = open(prog, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* static and Go programs: judge_launch has said what matters */
	if (ag_inspect_fd(fd, &info) != 0 || !info.is_elf || info.is_static || info.is_go ||
	    elf_version(EV_CURRENT) == EV_NONE)
		goto out;
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (e && elf_kind(e) == ELF_K_ELF && scan_elf(&g, e) == 0)
		report(prog, &g, floor_active);
	elf_end(e);
out:
	close(fd);
}
