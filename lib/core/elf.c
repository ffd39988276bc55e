/* Can the preload follow this program? Asked before every exec, of the file
 * alone, the way the kernel and the dynamic loader will see it:
 *
 *  - "#!": the kernel runs the interpreter instead, so the caller judges that.
 *    Its name is cut from the first 256 bytes exactly as fs/binfmt_script.c
 *    does, and left "" where the kernel would refuse the script (no name, or
 *    a name the 256-byte limit cuts off).
 *  - ELF without PT_INTERP: no dynamic loader runs, so no preload either.
 *  - Go: its runtime makes raw system calls, dynamically linked or not. Seen
 *    by the build-ID note (owner "Go", type 4) in a PT_NOTE segment or an
 *    SHT_NOTE section, by a section named .note.go.buildid or .go.buildinfo,
 *    and, only in a file without section headers, by the build-info magic
 *    near the start of the writable segment, where debug/buildinfo looks.
 *  - setuid or setgid: the loader runs in secure mode and drops LD_PRELOAD.
 *
 * This runs in exec hooks, perhaps in a vfork child that shares the parent's
 * memory, so it allocates nothing and holds no locks or globals: fstat, then
 * pread into fixed stack buffers (under 7 KiB deep). Every count, offset
 * and size in the file is checked against the file's size before use, loops
 * are capped, and one inspection makes at most READS_MAX reads, so no file
 * can make it read out of bounds or run long. A hostile file can spend that
 * budget to hide a Go marker; nothing is lost, since any program can make
 * raw system calls: LD_PRELOAD is not a security boundary. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentguard.h"

#define HEAD	      256	  /* the kernel's BINPRM_BUF_SIZE */
#define PHDR_BYTES    4096	  /* the kernel refuses a larger program header table */
#define SHDR_MAX      4096	  /* section headers looked at */
#define SHDR_CHUNK    32	  /* section headers per read */
#define NOTES_MAX     4096	  /* notes looked at in one segment or section */
#define READS_MAX     4096	  /* reads in one inspection */
#define DATA_PROBE    (64 * 1024) /* how far debug/buildinfo looks for its magic */
#define NT_GO_BUILDID 4

struct elf {
	int fd;
	uint64_t size; /* st_size: nothing is read past it */
	bool is64, be;
	unsigned reads; /* left */
};

/* Reads up to n bytes at off; returns how many (short only at end of file),
 * or -1. */
static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* Exactly n bytes at off, all inside the file, within the budget. */
static bool get(struct elf *e, void *buf, size_t n, uint64_t off)
{
	if (n == 0 || e->reads == 0 || off > e->size || n > e->size - off)
		return false;
	e->reads--;
	return pread_full(e->fd, buf, n, off) == (ssize_t)n;
}

/* An unsigned field of n bytes in the file's byte order. */
static uint64_t num(const struct elf *e, const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[e->be ? n - 1 - i : i] << (8 * i);
	return v;
}

/* Field f of an Elf32_T or Elf64_T record at p, whichever class the file is:
 * <elf.h> names the fields alike in both and offsetof finds them. */
#define FIELD(e, p, T, f)                                                                          \
	num((e),                                                                                   \
	    (const unsigned char *)(p) +                                                           \
		((e)->is64 ? offsetof(Elf64_##T, f) : offsetof(Elf32_##T, f)),                     \
	    (e)->is64 ? sizeof(((Elf64_##T *)0)->f) : sizeof(((Elf32_##T *)0)->f))
#define SIZE(e, T) ((e)->is64 ? sizeof(Elf64_##T) : sizeof(Elf32_##T))

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Whether the notes in the file range [off, off + len) hold Go's build ID.
 * Go's linker writes the owner as "Go\0\0" (namesz 4); "Go\0" (namesz 3) is
 * the gABI's form, so both count. Notes are read through a window, so a
 * typical segment costs one read. */
static bool go_note(struct elf *e, uint64_t off, uint64_t len, uint64_t align)
{
	unsigned char win[512];
	uint64_t a = align == 8 ? 8 : 4, pos = 0, woff = 0;
	size_t wlen = 0;

	if (off > e->size)
		return false;
	if (len > e->size - off)
		len = e->size - off;
	for (unsigned k = 0; k < NOTES_MAX && len - pos >= 12; k++) {
		size_t need = len - pos < 16 ? (size_t)(len - pos) : 16;
		if (pos + need > woff + wlen) {
			woff = pos;
			wlen = len - pos < sizeof(win) ? (size_t)(len - pos) : sizeof(win);
			if (!get(e, win, wlen, off + pos))
				return false;
		}
		const unsigned char *p = win + (pos - woff);
		uint64_t namesz = num(e, p, 4), descsz = num(e, p + 4, 4);
		if (num(e, p + 8, 4) == NT_GO_BUILDID && (namesz == 3 || namesz == 4) &&
		    need >= 12 + namesz && memcmp(p + 12, "Go\0\0", namesz) == 0)
			return true;
		/* Both sizes are 32-bit, so this cannot wrap; it is at least 12. */
		uint64_t step = align_up(align_up(12 + namesz, a) + descsz, a);
		if (step > len - pos)
			break;
		pos += step;
	}
	return false;
}

/* The first writable, non-executable PT_LOAD: where Go's build info sits. */
struct data_seg {
	uint64_t off, len;
};

/* Walks the program headers: PT_INTERP, Go notes, the data segment. Like
 * the kernel, takes a table of the right entry size and at most 4 KiB, or
 * nothing; nothing found means no PT_INTERP, which for a file the kernel
 * would refuse anyway errs on the side of "the preload cannot follow". */
static bool programs(struct elf *e, const unsigned char *eh, ag_proginfo_t *info,
		     struct data_seg *data)
{
	unsigned char ph[PHDR_BYTES];
	size_t esz = SIZE(e, Phdr), n = FIELD(e, eh, Ehdr, e_phnum);
	bool interp = false;

	if (FIELD(e, eh, Ehdr, e_phentsize) != esz || n * esz > sizeof(ph) ||
	    !get(e, ph, n * esz, FIELD(e, eh, Ehdr, e_phoff)))
		return false;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = ph + i * esz;
		uint64_t type = FIELD(e, p, Phdr, p_type);
		if (type == PT_INTERP) {
			interp = true;
		} else if (type == PT_NOTE && !info->is_go) {
			info->is_go =
			    go_note(e, FIELD(e, p, Phdr, p_offset), FIELD(e, p, Phdr, p_filesz),
				    FIELD(e, p, Phdr, p_align));
		} else if (type == PT_LOAD && data->len == 0 &&
			   (FIELD(e, p, Phdr, p_flags) & (PF_W | PF_X)) == PF_W) {
			data->off = FIELD(e, p, Phdr, p_offset);
			data->len = FIELD(e, p, Phdr, p_filesz);
		}
	}
	return interp;
}

/* The section name string table; most fit the cache, so names cost no reads. */
struct strtab {
	uint64_t off, len;
	size_t cached;
	unsigned char cache[1024];
};

static bool go_name(struct elf *e, const struct strtab *t, uint64_t name)
{
	static const char *const names[] = {".note.go.buildid", ".go.buildinfo"};
	unsigned char tmp[sizeof(".note.go.buildid")];
	const unsigned char *s = tmp;

	if (name >= t->len)
		return false;
	size_t n = t->len - name < sizeof(tmp) ? (size_t)(t->len - name) : sizeof(tmp);
	if (name + n <= t->cached)
		s = t->cache + name;
	else if (!get(e, tmp, n, t->off + name))
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len = strlen(names[i]) + 1;
		if (n >= len && memcmp(s, names[i], len) == 0)
			return true;
	}
	return false;
}

static void load_strtab(struct elf *e, const unsigned char *sh, struct strtab *t)
{
	t->off = FIELD(e, sh, Shdr, sh_offset);
	t->len = FIELD(e, sh, Shdr, sh_size);
	if (FIELD(e, sh, Shdr, sh_type) == SHT_NOBITS || t->off > e->size)
		t->len = 0;
	else if (t->len > e->size - t->off)
		t->len = e->size - t->off;
	t->cached = t->len < sizeof(t->cache) ? (size_t)t->len : sizeof(t->cache);
	if (t->cached && !get(e, t->cache, t->cached, t->off))
		t->cached = 0;
}

/* Looks for Go in the section table: SHT_NOTE sections (objcopy
 * --add-section makes a section but no program header) and Go's section
 * names. Returns false when the file has no section table to read. */
static bool sections(struct elf *e, const unsigned char *eh, ag_proginfo_t *info)
{
	unsigned char chunk[SHDR_CHUNK * sizeof(Elf64_Shdr)], one[sizeof(Elf64_Shdr)];
	struct strtab t;
	size_t esz = SIZE(e, Shdr);
	uint64_t off = FIELD(e, eh, Ehdr, e_shoff), n = FIELD(e, eh, Ehdr, e_shnum);
	uint64_t stridx = FIELD(e, eh, Ehdr, e_shstrndx);
	bool any = false;

	/* With off below the size, off + i * esz cannot wrap: i is at most
	 * 2^32 (sh_link) or SHDR_MAX. */
	if (off == 0 || off >= e->size || FIELD(e, eh, Ehdr, e_shentsize) != esz)
		return false;
	if (n == 0 || stridx == SHN_XINDEX) {
		/* Too many sections for the header's 16 bits: section 0 holds
		 * the real numbers. */
		if (!get(e, one, esz, off))
			return false;
		if (n == 0)
			n = FIELD(e, one, Shdr, sh_size);
		if (stridx == SHN_XINDEX)
			stridx = FIELD(e, one, Shdr, sh_link);
	}
	t.len = t.cached = 0;
	if (stridx < n && get(e, one, esz, off + stridx * esz))
		load_strtab(e, one, &t);
	if (n > SHDR_MAX)
		n = SHDR_MAX;
	for (uint64_t i = 0; i < n; i += SHDR_CHUNK) {
		size_t k = n - i < SHDR_CHUNK ? (size_t)(n - i) : SHDR_CHUNK;
		if (!get(e, chunk, k * esz, off + i * esz))
			break;
		any = true;
		for (size_t j = 0; j < k; j++) {
			const unsigned char *s = chunk + j * esz;
			if ((FIELD(e, s, Shdr, sh_type) == SHT_NOTE &&
			     go_note(e, FIELD(e, s, Shdr, sh_offset), FIELD(e, s, Shdr, sh_size),
				     FIELD(e, s, Shdr, sh_addralign))) ||
			    go_name(e, &t, FIELD(e, s, Shdr, sh_name))) {
				info->is_go = true;
				return true;
			}
		}
	}
	return any;
}

/* debug/buildinfo's way without section headers: the build-info blob opens
 * with this magic at a 16-byte boundary in the first 64 KiB of the first
 * writable segment (where Go's own linker puts it; an external linker may
 * put it further, out of reach here as for Go's tools). Boundaries are
 * taken in the file, which keeps the addresses' alignment for any segment
 * aligned to 16 or more. */
static bool go_magic(struct elf *e, const struct data_seg *d)
{
	static const char magic[] = "\xff Go buildinf:";
	unsigned char buf[2048];
	uint64_t off, end, len = d->len;

	if (d->off > e->size)
		return false;
	if (len > e->size - d->off)
		len = e->size - d->off;
	if (len > DATA_PROBE)
		len = DATA_PROBE;
	off = align_up(d->off, 16);
	end = d->off + len;
	/* Chunks start on a boundary and are a multiple of 16 long, so no
	 * magic at a boundary straddles two of them. */
	for (; off + sizeof(magic) - 1 <= end; off += sizeof(buf)) {
		size_t n = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
		if (!get(e, buf, n, off))
			return false;
		for (size_t i = 0; i + sizeof(magic) - 1 <= n; i += 16)
			if (memcmp(buf + i, magic, sizeof(magic) - 1) == 0)
				return true;
	}
	return false;
}

static void inspect_elf(int fd, uint64_t size, const unsigned char *eh, size_t n,
			ag_proginfo_t *info)
{
	struct elf e = {.fd = fd, .size = size, .reads = READS_MAX};
	struct data_seg data = {0, 0};

	if ((eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64) ||
	    (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB))
		return;
	e.is64 = eh[EI_CLASS] == ELFCLASS64;
	e.be = eh[EI_DATA] == ELFDATA2MSB;
	if (n < SIZE(&e, Ehdr))
		return;
	info->is_elf = true;
	info->is_static = !programs(&e, eh, info, &data);
	if (!info->is_go && !sections(&e, eh, info) && data.len)
		info->is_go = go_magic(&e, &data);
}

static bool spacetab(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* fs/binfmt_script.c's parse of the 256 bytes b (zero past the end of the
 * file): the line ends at '\n'; without one before any NUL, the name must
 * end at a space, tab or NUL by byte 255, the last, or the kernel refuses.
 * Arguments past the limit are cut; only the name matters here. */
static void inspect_script(const unsigned char *b, ag_proginfo_t *info)
{
	size_t end, i;

	info->is_script = true;
	for (end = 0; end < HEAD && b[end] != '\n' && b[end] != '\0'; end++)
		;
	if (end == HEAD || b[end] != '\n') {
		for (i = 2; i < HEAD && spacetab(b[i]); i++)
			;
		while (i < HEAD && !spacetab(b[i]) && b[i])
			i++;
		if (i == HEAD)
			return; /* the name runs into the limit: ENOEXEC */
		end = HEAD - 1;
	}
	while (spacetab(b[end - 1]))
		end--;
	for (i = 2; i < end && spacetab(b[i]); i++)
		;
	size_t start = i;
	while (i < end && !spacetab(b[i]) && b[i])
		i++;
	/* At most 253 bytes: always fits, but say so rather than assume. */
	if (i - start < sizeof(info->interp)) {
		memcpy(info->interp, b + start, i - start);
		info->interp[i - start] = '\0';
	}
}

int ag_inspect_fd(int fd, ag_proginfo_t *info)
{
	unsigned char head[HEAD];
	struct stat st;
	int saved = errno;

	info->is_elf = info->is_static = info->is_go = false;
	info->setid = info->is_script = false;
	info->interp[0] = '\0';
	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES; /* what execve says of anything else */
		return -1;
	}
	ssize_t n = pread_full(fd, head, sizeof(head), 0);
	if (n < 0)
		return -1;
	memset(head + n, 0, sizeof(head) - (size_t)n);
	if (n >= 2 && head[0] == '#' && head[1] == '!')
		inspect_script(head, info);
	else if (n >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0)
		inspect_elf(fd, (uint64_t)st.st_size, head, (size_t)n, info);
	/* The bits as set, for ELF and scripts alike, though Linux ignores them
	 * on a script (the caller judges a script by its interpreter) and does
	 * not switch groups for S_ISGID without group execute: erring towards
	 * "the preload cannot follow". */
	if (info->is_elf || info->is_script)
		info->setid = (st.st_mode & (S_ISUID | S_ISGID)) != 0;
	errno = saved;
	return 0;
}
