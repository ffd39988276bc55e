/* ag_inspect_fd against real programs built here at test time (gcc, gcc
 * -static, objcopy), against ELF files crafted byte by byte for what no
 * toolchain here makes (32-bit, big-endian, hostile counts), against "#!"
 * lines checked with the running kernel itself, and against broken copies:
 * every truncation and a thousand random header corruptions, which must all
 * come back without a crash (run it under -fsanitize=address,undefined).
 *
 * Each test has its own directory under /tmp; Criterion runs every test in
 * its own process. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agentguard.h"

#define NELEM(a)      (sizeof(a) / sizeof((a)[0]))
#define NT_GO_BUILDID 4 /* Go's build-ID note type */

static char D[64]; /* this test's directory */

static void setup(void)
{
	snprintf(D, sizeof(D), "/tmp/agt-elf-XXXXXX");
	cr_assert_not_null(mkdtemp(D), "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
	char cmd[sizeof(D) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", D);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", D);
}

TestSuite(elf, .init = setup, .fini = teardown);

/* A path in the test's directory; a few may be live at once. */
static const char *at(const char *name)
{
	static char ring[8][PATH_MAX];
	static unsigned next;
	char *p = ring[next++ % NELEM(ring)];
	int n = snprintf(p, PATH_MAX, "%s/%s", D, name);
	cr_assert(n > 0 && n < PATH_MAX);
	return p;
}

/* Runs a shell command in the test's directory; returns its exit status. */
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	int n = snprintf(cmd, sizeof(cmd), "cd '%s' && ", D);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void put_file(const char *name, const void *data, size_t len, mode_t mode)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert_geq(fd, 0, "creating %s: %s", name, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	cr_assert_geq(fd, 0, "opening %s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	unsigned char *b = malloc((size_t)st.st_size + 1);
	cr_assert_not_null(b);
	cr_assert_eq(read(fd, b, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static ag_proginfo_t inspect_path(const char *path)
{
	ag_proginfo_t info;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "opening %s: %s", path, strerror(errno));
	int rc = ag_inspect_fd(fd, &info);
	cr_assert_eq(rc, 0, "%s: ag_inspect_fd: %s", path, strerror(errno));
	close(fd);
	return info;
}

static ag_proginfo_t inspect(const char *name)
{
	return inspect_path(at(name));
}

static void expect(const ag_proginfo_t *i, const char *what, bool elf, bool stat, bool go,
		   bool setid)
{
	cr_expect_eq(i->is_elf, elf, "%s: is_elf %d", what, i->is_elf);
	cr_expect_eq(i->is_static, stat, "%s: is_static %d", what, i->is_static);
	cr_expect_eq(i->is_go, go, "%s: is_go %d", what, i->is_go);
	cr_expect_eq(i->setid, setid, "%s: setid %d", what, i->setid);
	cr_expect_not(i->is_script, "%s: is_script", what);
	cr_expect_str_eq(i->interp, "", "%s: interp \"%s\"", what, i->interp);
}

/* ---- fixtures ---------------------------------------------------------- */

static const char HELLO[] = "int main(void) { return 0; }\n";

/* Builds name from C source; returns gcc's exit status. */
static int build(const char *name, const char *src, const char *flags)
{
	char c[NAME_MAX];
	snprintf(c, sizeof(c), "%s.c", name);
	put_file(c, src, strlen(src), 0600);
	return sh("gcc -O0 %s '%s' -o '%s' 2>/dev/null", flags, c, name);
}

static void build_dyn(void)
{
	cr_assert_eq(build("dyn", HELLO, ""), 0, "gcc failed");
}

/* One ELF note, 4-byte aligned, host byte order (objcopy keeps bytes). */
static size_t note(unsigned char *out, uint32_t namesz, const char *name, uint32_t type,
		   const char *desc)
{
	uint32_t hdr[3] = {namesz, (uint32_t)strlen(desc), type};
	size_t n = sizeof(hdr), npad = (namesz + 3) & ~3u, dpad = (hdr[1] + 3) & ~3u;
	memcpy(out, hdr, sizeof(hdr));
	memset(out + n, 0, npad + dpad);
	memcpy(out + n, name, namesz);
	memcpy(out + n + npad, desc, hdr[1]);
	return n + npad + dpad;
}

/* dyn plus a section holding one note, added by objcopy: a section and no
 * program header. */
static void add_note_section(const char *out, const char *section, uint32_t namesz,
			     const char *owner, uint32_t type, const char *flags)
{
	unsigned char buf[256];
	size_t n = note(buf, namesz, owner, type, "abcdefghij");
	put_file("note.bin", buf, n, 0600);
	cr_assert_eq(
	    sh("objcopy --add-section %s=note.bin %s dyn '%s' 2>/dev/null", section, flags, out), 0,
	    "objcopy failed");
}

static bool section_type_is(const char *file, const char *section, const char *type)
{
	return sh("readelf -S -W '%s' | grep -F ' %s ' | grep -q ' %s '", file, section, type) == 0;
}

/* Drops the section table from an ELF64 file: what strip
 * --strip-section-headers does, leaving only the program headers. */
static void drop_section_headers(const char *name)
{
	Elf64_Ehdr eh;
	int fd = open(at(name), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	cr_assert_eq(pwrite(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	close(fd);
}

/* ---- programs built here ------------------------------------------------ */

Test(elf, dynamic_program)
{
	build_dyn();
	ag_proginfo_t i = inspect("dyn");
	expect(&i, "dyn", true, false, false, false);
}

Test(elf, static_program)
{
	build_dyn();
	if (build("static", HELLO, "-static") != 0)
		cr_skip_test("gcc -static does not work here (no libc.a?)");
	ag_proginfo_t i = inspect("static");
	expect(&i, "static", true, true, false, false);
}

/* ET_DYN without PT_INTERP: position-independent, and still no loader. */
Test(elf, static_pie_program)
{
	if (build("spie", HELLO, "-static-pie") != 0)
		cr_skip_test("gcc -static-pie does not work here");
	cr_assert_eq(sh("readelf -h spie | grep -q 'DYN'"), 0, "expected an ET_DYN file");
	ag_proginfo_t i = inspect("spie");
	expect(&i, "static-pie", true, true, false, false);
}

Test(elf, system_binary)
{
	if (access("/bin/true", R_OK) != 0)
		cr_skip_test("no /bin/true");
	ag_proginfo_t i = inspect_path("/bin/true");
	expect(&i, "/bin/true", true, false, false, false);
}

/* The brief's form of the note: namesz 3, "Go\0". */
Test(elf, go_buildid_section_namesz3)
{
	build_dyn();
	add_note_section("go3", ".note.go.buildid", 3, "Go", 4, "");
	ag_proginfo_t i = inspect("go3");
	expect(&i, "go3", true, false, true, false);
}

/* Go's own linker writes namesz 4, "Go\0\0". */
Test(elf, go_buildid_section_namesz4)
{
	build_dyn();
	add_note_section("go4", ".note.go.buildid", 4, "Go\0", 4, "");
	ag_proginfo_t i = inspect("go4");
	expect(&i, "go4", true, false, true, false);
}

/* The note under an unrelated name, both forms of the owner: found because
 * objcopy makes .note.* sections SHT_NOTE (checked here, so a change in
 * objcopy shows). */
Test(elf, go_note_in_other_note_section)
{
	build_dyn();
	for (uint32_t namesz = 3; namesz <= 4; namesz++) {
		add_note_section("other", ".note.other", namesz, "Go\0", 4,
				 "--set-section-flags .note.other=alloc,readonly");
		cr_assert(section_type_is("other", ".note.other", "NOTE"),
			  "objcopy did not make .note.other SHT_NOTE");
		ag_proginfo_t i = inspect("other");
		expect(&i, namesz == 3 ? "Go\\0 in .note.other" : "Go\\0\\0 in .note.other", true,
		       false, true, false);
	}
}

/* Notes that are not Go's build ID, and names that are almost Go's. */
Test(elf, not_go)
{
	static const struct {
		const char *section;
		uint32_t namesz;
		const char *owner;
		uint32_t type;
	} cases[] = {
	    {".note.other", 4, "Gx\0", 4},	  /* another owner */
	    {".note.other", 4, "Go\0", 3},	  /* Go's, another type */
	    {".note.other", 2, "Go", 4},	  /* no NUL in the name */
	    {".note.other", 5, "Go\0\0", 4},	  /* a longer name */
	    {".note.other", 4, "GNU", 4},	  /* GNU gold version */
	    {".go.buildinfo2", 4, "Gx\0", 4},	  /* names: exact, not prefixes */
	    {".note.go.buildi", 4, "Gx\0", 4},	  /* a prefix of the name */
	    {".note.go.buildid.x", 4, "Gx\0", 4}, /* the name and more */
	};
	build_dyn();
	for (size_t k = 0; k < NELEM(cases); k++) {
		char out[32];
		snprintf(out, sizeof(out), "notgo%zu", k);
		add_note_section(out, cases[k].section, cases[k].namesz, cases[k].owner,
				 cases[k].type, "");
		ag_proginfo_t i = inspect(out);
		expect(&i, out, true, false, false, false);
	}
}

/* .go.buildinfo is PROGBITS: only its name tells. */
Test(elf, go_buildinfo_section_by_name)
{
	build_dyn();
	put_file("bi.bin", "\xff Go buildinf:\x08\x02", 16, 0600);
	cr_assert_eq(sh("objcopy --add-section .go.buildinfo=bi.bin dyn gobi"), 0);
	cr_assert(section_type_is("gobi", ".go.buildinfo", "PROGBITS"));
	ag_proginfo_t i = inspect("gobi");
	expect(&i, ".go.buildinfo", true, false, true, false);
}

/* A build-ID note the linker put in a PT_NOTE segment, as Go's linker does;
 * with the section table dropped only the segment is left to find it. */
Test(elf, go_note_in_pt_note_segment)
{
	static const char as[] = ".section .note.go.buildid,\"a\",@note\n"
				 ".balign 4\n"
				 ".long 4, 8, 4\n"
				 ".asciz \"Go\"\n"
				 ".byte 0\n"
				 ".ascii \"abcdefgh\"\n"
				 ".section .note.GNU-stack,\"\",@progbits\n";
	put_file("note.s", as, strlen(as), 0600);
	put_file("hello.c", HELLO, strlen(HELLO), 0600);
	cr_assert_eq(sh("gcc hello.c note.s -o ptnote"), 0);
	cr_assert_eq(sh("readelf -l -W ptnote | grep -Eq '^ +[0-9]+ +.*\\.note\\.go\\.buildid'"), 0,
		     "the note is in no segment");
	ag_proginfo_t i = inspect("ptnote");
	expect(&i, "ptnote", true, false, true, false);

	cr_assert_eq(sh("cp ptnote ptnote-noshdr"), 0);
	drop_section_headers("ptnote-noshdr");
	cr_assert_eq(sh("readelf -S ptnote-noshdr 2>&1 | grep -q 'no sections'"), 0);
	i = inspect("ptnote-noshdr");
	expect(&i, "ptnote without sections", true, false, true, false);
}

/* Without section headers, Go's build-info magic in the data segment. With
 * them, the magic alone is not looked for: real Go files name the section. */
Test(elf, go_magic_without_section_headers)
{
	static const char src[] = "__attribute__((aligned(16), used))\n"
				  "char gobi[32] = \"\\xff Go buildinf:\\x08\\x02\";\n"
				  "int main(void) { return gobi[0] == 0; }\n";
	cr_assert_eq(build("magic", src, ""), 0);
	ag_proginfo_t i = inspect("magic");
	expect(&i, "magic with sections", true, false, false, false);

	cr_assert_eq(sh("cp magic magic-noshdr"), 0);
	drop_section_headers("magic-noshdr");
	i = inspect("magic-noshdr");
	expect(&i, "magic without sections", true, false, true, false);

	/* the same without the magic: nothing */
	build_dyn();
	cr_assert_eq(sh("cp dyn dyn-noshdr"), 0);
	drop_section_headers("dyn-noshdr");
	i = inspect("dyn-noshdr");
	expect(&i, "dyn without sections", true, false, false, false);
}

/* Turns the PT_NOTE segments of an ELF64 file into PT_NULL. */
static void drop_note_segments(const char *name)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(at(name), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
	for (unsigned k = 0; k < eh.e_phnum; k++) {
		off_t off = (off_t)(eh.e_phoff + k * sizeof(ph));
		cr_assert_eq(pread(fd, &ph, sizeof(ph), off), (ssize_t)sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			ph.p_type = PT_NULL;
			cr_assert_eq(pwrite(fd, &ph, sizeof(ph), off), (ssize_t)sizeof(ph));
		}
	}
	close(fd);
}

/* Whether the .go.buildinfo section of an ELF64 file lies in the first
 * 64 KiB of its first writable, non-executable PT_LOAD: where
 * debug/buildinfo looks when there are no section headers. An externally
 * linked program may have it further on. */
static bool buildinfo_where_go_looks(const char *path)
{
	size_t len;
	unsigned char *b = slurp(path, &len);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(b + eh->e_phoff);
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(b + eh->e_shoff);
	const char *names = (const char *)b + sh[eh->e_shstrndx].sh_offset;
	uint64_t data = 0, bi = 0;
	bool found = false;

	for (unsigned k = 0; k < eh->e_phnum && !found; k++)
		if (ph[k].p_type == PT_LOAD && (ph[k].p_flags & (PF_W | PF_X)) == PF_W) {
			data = ph[k].p_offset;
			found = true;
		}
	for (unsigned k = 0; k < eh->e_shnum; k++)
		if (strcmp(names + sh[k].sh_name, ".go.buildinfo") == 0)
			bi = sh[k].sh_offset;
	free(b);
	return found && bi >= data && bi - data < 64 * 1024;
}

/* A program Go's own linker made, when one is installed (no Go toolchain is
 * needed), told by readelf; then each of the three ways of telling, alone:
 * all markers, the PT_NOTE without sections, and the build-info magic
 * without sections or notes. */
Test(elf, real_go_program)
{
	static const char *const names[] = {"go",   "gofmt", "docker", "kubectl",
					    "helm", "gh",    "hugo",   "terraform"};
	char path[PATH_MAX] = "";
	for (size_t k = 0; k < NELEM(names) && !path[0]; k++) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "command -v %s", names[k]);
		FILE *f = popen(cmd, "r");
		if (f && fgets(path, sizeof(path), f))
			path[strcspn(path, "\n")] = '\0';
		if (f)
			pclose(f);
		if (path[0] &&
		    sh("readelf -S -W '%s' 2>/dev/null | grep -q ' .go.buildinfo '", path) != 0)
			path[0] = '\0';
	}
	if (!path[0])
		cr_skip_test("no program built by Go's linker in PATH");
	ag_proginfo_t i = inspect_path(path);
	cr_expect(i.is_elf && i.is_go, "%s: is_elf %d is_go %d", path, i.is_elf, i.is_go);

	cr_assert_eq(sh("cp '%s' gobin && chmod u+w gobin", path), 0);
	drop_section_headers("gobin");
	i = inspect("gobin");
	cr_expect(i.is_go, "%s without sections", path);
	drop_note_segments("gobin");
	cr_assert_eq(sh("readelf -n gobin | grep -q Go"), 1, "a Go note is left");
	i = inspect("gobin");
	if (buildinfo_where_go_looks(path))
		cr_expect(i.is_go, "%s without sections or notes", path);
	else
		cr_log_info("%s: .go.buildinfo lies past where debug/buildinfo looks", path);
}

/* ---- set-id ---------------------------------------------------------------- */

static void setid_case(const char *name, mode_t mode)
{
	struct stat st;
	cr_assert_eq(sh("cp dyn '%s'", name), 0);
	cr_assert_eq(chmod(at(name), mode), 0);
	cr_assert_eq(stat(at(name), &st), 0);
	if ((st.st_mode & 07777) != mode)
		cr_skip_test("the file system kept mode %o, not %o", st.st_mode & 07777, mode);
	ag_proginfo_t i = inspect(name);
	expect(&i, name, true, false, false, true);
}

Test(elf, setuid)
{
	build_dyn();
	setid_case("suid", 04755);
}

Test(elf, setgid)
{
	build_dyn();
	setid_case("sgid", 02755);
}

Test(elf, setuid_and_setgid)
{
	build_dyn();
	setid_case("sugid", 06755);
}

/* Reported as set, though Linux ignores the bits on scripts. */
Test(elf, setuid_script)
{
	put_file("suid.sh", "#!/bin/sh\n", 10, 04755);
	ag_proginfo_t i = inspect("suid.sh");
	cr_expect(i.is_script);
	cr_expect(i.setid);
	cr_expect_str_eq(i.interp, "/bin/sh");
}

/* ---- scripts --------------------------------------------------------------- */

struct script_case {
	char text[600];
	size_t len;
	char want[300]; /* the interpreter the kernel would take; "" when it refuses */
};

static void add(struct script_case *c, const char *text, size_t len, const char *want)
{
	memcpy(c->text, text, len);
	c->len = len;
	snprintf(c->want, sizeof(c->want), "%s", want);
}

/* lit is a literal: its size counts a NUL inside it */
#define ADD(c, lit, want) add((c), (lit), sizeof(lit) - 1, (want))

/* "#!/" and n - 1 'x's: a name of n bytes from byte 2, then rest. */
static void add_long(struct script_case *c, size_t n, const char *rest, size_t restlen, bool fits)
{
	memcpy(c->text, "#!/", 3);
	memset(c->text + 3, 'x', n - 1);
	memcpy(c->text + 2 + n, rest, restlen);
	c->len = 2 + n + restlen;
	c->want[0] = '\0';
	if (fits) {
		memcpy(c->want, c->text + 2, n);
		c->want[n] = '\0';
	}
}

/* The edges of fs/binfmt_script.c: 256 bytes read, zero past the end of the
 * file; without a newline in them the name must end (space, tab, NUL) by
 * byte 255, the last. */
static size_t long_cases(struct script_case *c)
{
	size_t k = 0;
	add_long(&c[k++], 300, "\n", 1, false);	   /* the newline is past the limit */
	add_long(&c[k++], 254, " more", 5, false); /* the name ends at byte 256 */
	add_long(&c[k++], 253, " more", 5, true);  /* a space at byte 255 */
	add_long(&c[k++], 253, "", 0, true);	   /* 255 bytes: the padding ends it */
	add_long(&c[k++], 253, "x", 1, false);	   /* 256 bytes, no end in them */
	add_long(&c[k++], 250, "\nmore", 5, true);
	return k;
}

Test(elf, scripts)
{
	static struct script_case c[32];
	size_t k = 0;

	ADD(&c[k++], "#!/bin/sh -e\n", "/bin/sh");
	ADD(&c[k++], "#! /usr/bin/env python3\n", "/usr/bin/env");
	ADD(&c[k++], "#!\t /bin/bash\t-x\n", "/bin/bash");
	ADD(&c[k++], "#!/bin/sh", "/bin/sh");
	ADD(&c[k++], "#!/bin/sh  \t\necho hi\n", "/bin/sh");
	ADD(&c[k++], "#!/usr/bin/perl\r\n", "/usr/bin/perl\r"); /* the kernel keeps it */
	ADD(&c[k++], "#!/bin/sh\0/bin/bash\n", "/bin/sh");
	ADD(&c[k++], "#!\n", "");
	ADD(&c[k++], "#!   \t \n", "");
	ADD(&c[k++], "#!", "");
	ADD(&c[k++], "#!\n/bin/sh\n", "");
	/* a line past the limit: the name fits, the arguments are cut */
	memcpy(c[k].text, "#!/bin/sh ", 10);
	memset(c[k].text + 10, 'a', 400);
	c[k].len = 410;
	snprintf(c[k++].want, sizeof(c[0].want), "/bin/sh");
	k += long_cases(c + k);

	for (size_t j = 0; j < k; j++) {
		char name[32];
		snprintf(name, sizeof(name), "s%zu", j);
		put_file(name, c[j].text, c[j].len, 0755);
		ag_proginfo_t i = inspect(name);
		cr_expect(i.is_script, "case %zu: not a script", j);
		cr_expect_not(i.is_elf || i.is_static || i.is_go || i.setid, "case %zu", j);
		cr_expect_str_eq(i.interp, c[j].want, "case %zu: \"%s\", want \"%s\"", j, i.interp,
				 c[j].want);
	}
}

/* The running kernel as the judge of those edges: it answers ENOENT when it
 * takes a name (none of these exists) and ENOEXEC when it refuses the line. */
Test(elf, scripts_agree_with_the_kernel)
{
	static struct script_case c[16];
	size_t k = 0;

	ADD(&c[k++], "#!/nonexistent/agt-interp -x\n", "/nonexistent/agt-interp");
	ADD(&c[k++], "#!\n", "");
	ADD(&c[k++], "#!  \t\n", "");
	k += long_cases(c + k);
	for (size_t j = 0; j < k; j++) {
		char name[32];
		snprintf(name, sizeof(name), "k%zu", j);
		put_file(name, c[j].text, c[j].len, 0755);
		char *argv[] = {name, NULL}, *envp[] = {NULL};
		errno = 0;
		execve(at(name), argv, envp);
		int e = errno;
		if (e == EACCES)
			cr_skip_test("cannot exec in %s (noexec?)", D);
		cr_expect_eq(e, c[j].want[0] ? ENOENT : ENOEXEC,
			     "case %zu: the kernel says %s, the table \"%.20s\" (%zu bytes)", j,
			     strerror(e), c[j].want, strlen(c[j].want));
		ag_proginfo_t i = inspect(name);
		cr_expect_str_eq(i.interp, c[j].want, "case %zu", j);
	}
}

/* ---- neither ------------------------------------------------------------------ */

Test(elf, text_and_empty_files)
{
	put_file("text", "hello world\n", 12, 0755);
	put_file("empty", "", 0, 0755);
	put_file("hash", "#", 1, 0755);
	put_file("bang", "!#/bin/sh\n", 10, 0755);
	put_file("elfmag", "\177ELF", 4, 0755);
	put_file("badclass", "\177ELF\003\001\001\0\0\0\0\0\0\0\0\0", 16, 0755);
	static const char *const names[] = {"text", "empty", "hash", "bang", "elfmag", "badclass"};
	for (size_t k = 0; k < NELEM(names); k++) {
		ag_proginfo_t i = inspect(names[k]);
		expect(&i, names[k], false, false, false, false);
	}
	/* set-id bits on a file that is neither: still all false */
	put_file("text-suid", "hello\n", 6, 04755);
	ag_proginfo_t i = inspect("text-suid");
	expect(&i, "text-suid", false, false, false, false);
}

Test(elf, not_a_regular_file)
{
	ag_proginfo_t i;
	int p[2];
	int fd = open(D, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	errno = 0;
	cr_expect_eq(ag_inspect_fd(fd, &i), -1);
	cr_expect_eq(errno, EACCES);
	cr_expect_not(i.is_elf || i.is_script || i.setid);
	close(fd);

	cr_assert_eq(pipe(p), 0);
	errno = 0;
	cr_expect_eq(ag_inspect_fd(p[0], &i), -1);
	cr_expect_eq(errno, EACCES);
	close(p[0]);
	close(p[1]);

	errno = 0;
	cr_expect_eq(ag_inspect_fd(-1, &i), -1);
	cr_expect_eq(errno, EBADF);

	/* O_PATH: fstat works, reading does not */
	put_file("x", "#!/bin/sh\n", 10, 0755);
	fd = open(at("x"), O_PATH | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	errno = 0;
	cr_expect_eq(ag_inspect_fd(fd, &i), -1);
	cr_expect_eq(errno, EBADF);
	close(fd);
}

/* errno is the caller's on success, even when reads failed on the way. */
Test(elf, keeps_errno)
{
	build_dyn();
	int fd = open(at("dyn"), O_RDONLY | O_CLOEXEC);
	ag_proginfo_t i;
	errno = 1234;
	cr_assert_eq(ag_inspect_fd(fd, &i), 0);
	cr_expect_eq(errno, 1234);
	close(fd);
}

/* ---- crafted ELF files ----------------------------------------------------------
 * What no compiler here makes: 32-bit and big-endian files, laid out by
 * hand. Header at 0, program headers at 0x100, blobs from 0x400, section
 * headers (a null one, the given ones, then .shstrtab) at the end. */

struct craft {
	bool is64, be;
	unsigned char b[64 * 1024];
	size_t len;
	unsigned nph, nsh;
	char strtab[512];
	size_t strlen_;
	unsigned char sh[8][sizeof(Elf64_Shdr)];
};

static void wr(struct craft *c, unsigned char *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[c->be ? n - 1 - i : i] = (unsigned char)(v >> (8 * i));
}

#define W(c, p, T, f, v)                                                                           \
	wr((c),                                                                                    \
	   (unsigned char *)(p) + ((c)->is64 ? offsetof(Elf64_##T, f) : offsetof(Elf32_##T, f)),   \
	   (v), (c)->is64 ? sizeof(((Elf64_##T *)0)->f) : sizeof(((Elf32_##T *)0)->f))
#define SZ(c, T) ((c)->is64 ? sizeof(Elf64_##T) : sizeof(Elf32_##T))

static void c_init(struct craft *c, bool is64, bool be)
{
	memset(c, 0, sizeof(*c));
	c->is64 = is64;
	c->be = be;
	memcpy(c->b, ELFMAG, SELFMAG);
	c->b[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
	c->b[EI_DATA] = be ? ELFDATA2MSB : ELFDATA2LSB;
	c->b[EI_VERSION] = EV_CURRENT;
	W(c, c->b, Ehdr, e_type, ET_EXEC);
	W(c, c->b, Ehdr, e_machine, is64 ? EM_X86_64 : EM_386);
	W(c, c->b, Ehdr, e_version, EV_CURRENT);
	W(c, c->b, Ehdr, e_ehsize, SZ(c, Ehdr));
	W(c, c->b, Ehdr, e_phentsize, SZ(c, Phdr));
	W(c, c->b, Ehdr, e_phoff, 0x100);
	c->len = 0x400;
	c->strlen_ = 1; /* "" for the null section */
}

static size_t c_blob(struct craft *c, const void *data, size_t n)
{
	size_t off = (c->len + 7) & ~(size_t)7;
	cr_assert_leq(off + n, sizeof(c->b));
	memcpy(c->b + off, data, n);
	c->len = off + n;
	return off;
}

static void c_ph(struct craft *c, uint32_t type, uint64_t off, uint64_t size, uint64_t align)
{
	unsigned char *p = c->b + 0x100 + c->nph++ * SZ(c, Phdr);
	W(c, p, Phdr, p_type, type);
	W(c, p, Phdr, p_offset, off);
	W(c, p, Phdr, p_filesz, size);
	W(c, p, Phdr, p_memsz, size);
	W(c, p, Phdr, p_flags, PF_R);
	W(c, p, Phdr, p_align, align);
	W(c, c->b, Ehdr, e_phnum, c->nph);
}

static void c_sh(struct craft *c, const char *name, uint32_t type, uint64_t off, uint64_t size)
{
	unsigned char *s = c->sh[c->nsh++];
	size_t n = strlen(name) + 1;
	W(c, s, Shdr, sh_name, c->strlen_);
	W(c, s, Shdr, sh_type, type);
	W(c, s, Shdr, sh_offset, off);
	W(c, s, Shdr, sh_size, size);
	W(c, s, Shdr, sh_addralign, 4);
	memcpy(c->strtab + c->strlen_, name, n);
	c->strlen_ += n;
}

static void c_write(struct craft *c, const char *name)
{
	if (c->nsh) {
		c_sh(c, ".shstrtab", SHT_STRTAB, 0, 0);
		size_t str = c_blob(c, c->strtab, c->strlen_);
		W(c, c->sh[c->nsh - 1], Shdr, sh_offset, str);
		W(c, c->sh[c->nsh - 1], Shdr, sh_size, c->strlen_);
		unsigned char null[sizeof(Elf64_Shdr)] = {0};
		size_t off = c_blob(c, null, SZ(c, Shdr));
		for (unsigned i = 0; i < c->nsh; i++)
			c_blob(c, c->sh[i], SZ(c, Shdr));
		W(c, c->b, Ehdr, e_shoff, off);
		W(c, c->b, Ehdr, e_shentsize, SZ(c, Shdr));
		W(c, c->b, Ehdr, e_shnum, c->nsh + 1);
		W(c, c->b, Ehdr, e_shstrndx, c->nsh);
	}
	put_file(name, c->b, c->len, 0755);
}

/* A Go build-ID note in the file's byte order. */
static size_t c_go_note(struct craft *c, unsigned char *out)
{
	wr(c, out, 4, 4);
	wr(c, out + 4, 4, 4);
	wr(c, out + 8, NT_GO_BUILDID, 4);
	memcpy(out + 12, "Go\0\0abcd", 8);
	return 20;
}

Test(elf, crafted_classes_and_byte_orders)
{
	static struct craft c;
	unsigned char gonote[32];
	for (int is64 = 0; is64 <= 1; is64++) {
		for (int be = 0; be <= 1; be++) {
			char name[32];
			const char *what = is64 ? (be ? "64be" : "64le") : (be ? "32be" : "32le");

			c_init(&c, is64, be);
			size_t interp = c_blob(&c, "/lib/ld.so", 11);
			c_ph(&c, PT_INTERP, interp, 11, 1);
			snprintf(name, sizeof(name), "%s-dyn", what);
			c_write(&c, name);
			ag_proginfo_t i = inspect(name);
			expect(&i, name, true, false, false, false);

			c_init(&c, is64, be);
			c_ph(&c, PT_LOAD, 0, 0x400, 0x1000);
			snprintf(name, sizeof(name), "%s-static", what);
			c_write(&c, name);
			i = inspect(name);
			expect(&i, name, true, true, false, false);

			c_init(&c, is64, be);
			size_t n = c_go_note(&c, gonote);
			c_ph(&c, PT_NOTE, c_blob(&c, gonote, n), n, 4);
			snprintf(name, sizeof(name), "%s-gonote", what);
			c_write(&c, name);
			i = inspect(name);
			expect(&i, name, true, true, true, false);

			c_init(&c, is64, be);
			c_sh(&c, ".note.go.buildid", SHT_NOTE, c_blob(&c, gonote, n), n);
			snprintf(name, sizeof(name), "%s-gosection", what);
			c_write(&c, name);
			i = inspect(name);
			expect(&i, name, true, true, true, false);

			c_init(&c, is64, be);
			c_sh(&c, ".data", SHT_PROGBITS, 0x400, 0);
			c_sh(&c, ".go.buildinfo", SHT_PROGBITS, 0x400, 0);
			snprintf(name, sizeof(name), "%s-goname", what);
			c_write(&c, name);
			i = inspect(name);
			expect(&i, name, true, true, true, false);
		}
	}
}

/* A header and nothing else: ELF, and no PT_INTERP to be found. */
Test(elf, crafted_header_only)
{
	static struct craft c;
	c_init(&c, true, false);
	c.len = sizeof(Elf64_Ehdr);
	c_write(&c, "hdr");
	ag_proginfo_t i = inspect("hdr");
	expect(&i, "header only", true, true, false, false);

	c.len = sizeof(Elf64_Ehdr) - 1;
	c_write(&c, "hdr-short");
	i = inspect("hdr-short");
	expect(&i, "short header", false, false, false, false);
}

/* A thousand notes before Go's: read through the window, refilled. */
Test(elf, crafted_many_notes)
{
	static struct craft c;
	static unsigned char notes[1000 * 12 + 32];
	c_init(&c, true, false);
	memset(notes, 0, sizeof(notes)); /* empty notes: 12 bytes each */
	size_t n = 1000 * 12 + c_go_note(&c, notes + 1000 * 12);
	c_ph(&c, PT_NOTE, c_blob(&c, notes, n), n, 4);
	c_write(&c, "many");
	ag_proginfo_t i = inspect("many");
	expect(&i, "many notes", true, true, true, false);
}

/* Hostile numbers patched into a real program: each must come back with an
 * answer, inside the file. */
Test(elf, hostile_headers)
{
	static const struct {
		const char *what;
		size_t off, len;
		uint64_t value;
		bool is_static;
	} cases[] = {
	    {"e_phnum huge", offsetof(Elf64_Ehdr, e_phnum), 2, 0xffff, true},
	    {"e_phnum 74", offsetof(Elf64_Ehdr, e_phnum), 2, 74, true}, /* > 4 KiB */
	    {"e_phoff past EOF", offsetof(Elf64_Ehdr, e_phoff), 8, 0x7fffffff, true},
	    {"e_phoff wraps", offsetof(Elf64_Ehdr, e_phoff), 8, ~0ull - 16, true},
	    {"e_phentsize odd", offsetof(Elf64_Ehdr, e_phentsize), 2, 55, true},
	    {"e_phnum 0", offsetof(Elf64_Ehdr, e_phnum), 2, 0, true},
	    {"e_shoff wraps", offsetof(Elf64_Ehdr, e_shoff), 8, ~0ull - 8, false},
	    {"e_shoff past EOF", offsetof(Elf64_Ehdr, e_shoff), 8, 1ull << 40, false},
	    {"e_shoff 1", offsetof(Elf64_Ehdr, e_shoff), 8, 1, false},
	    {"e_shnum 0", offsetof(Elf64_Ehdr, e_shnum), 2, 0, false},
	    {"e_shnum huge", offsetof(Elf64_Ehdr, e_shnum), 2, 0xfeff, false},
	    {"e_shstrndx XINDEX", offsetof(Elf64_Ehdr, e_shstrndx), 2, SHN_XINDEX, false},
	    {"e_shstrndx past", offsetof(Elf64_Ehdr, e_shstrndx), 2, 0xfeff, false},
	    {"e_shentsize odd", offsetof(Elf64_Ehdr, e_shentsize), 2, 65, false},
	};
	build_dyn();
	add_note_section("go", ".note.go.buildid", 4, "Go\0", 4, "");
	for (size_t k = 0; k < NELEM(cases); k++) {
		unsigned char v[8];
		for (size_t b = 0; b < 8; b++)
			v[b] = (unsigned char)(cases[k].value >> (8 * b));
		cr_assert_eq(sh("cp go h"), 0);
		int fd = open(at("h"), O_RDWR | O_CLOEXEC);
		cr_assert_eq(pwrite(fd, v, cases[k].len, (off_t)cases[k].off),
			     (ssize_t)cases[k].len);
		ag_proginfo_t i;
		cr_assert_eq(ag_inspect_fd(fd, &i), 0, "%s", cases[k].what);
		close(fd);
		cr_expect(i.is_elf, "%s", cases[k].what);
		cr_expect_eq(i.is_static, cases[k].is_static, "%s", cases[k].what);
		cr_expect_not(i.is_script, "%s", cases[k].what);
	}
}

/* Section 0 carrying absurd extended counts, and notes whose sizes run past
 * the section, the file and 32 bits. */
Test(elf, hostile_sections_and_notes)
{
	static struct craft c;
	unsigned char bad[3][24];

	c_init(&c, true, false);
	wr(&c, bad[0], 0xffffffff, 4); /* namesz */
	wr(&c, bad[0] + 4, 4, 4);
	wr(&c, bad[0] + 8, 4, 4);
	wr(&c, bad[1], 4, 4);
	wr(&c, bad[1] + 4, 0xfffffff0, 4); /* descsz */
	wr(&c, bad[1] + 8, 3, 4);
	wr(&c, bad[2], 4, 4); /* Go's, but cut short */
	wr(&c, bad[2] + 4, 4, 4);
	wr(&c, bad[2] + 8, 4, 4);
	memcpy(bad[2] + 12, "Go", 2);
	c_ph(&c, PT_NOTE, c_blob(&c, bad[0], 24), 24, 4);
	c_ph(&c, PT_NOTE, c_blob(&c, bad[1], 24), 24, 8);
	c_ph(&c, PT_NOTE, c_blob(&c, bad[2], 14), 14, 4);
	c_ph(&c, PT_NOTE, 0x400, ~0ull, 4);
	c_ph(&c, PT_NOTE, ~0ull - 4, 100, 4);
	c_sh(&c, ".note.a", SHT_NOTE, 0x400, ~0ull);
	c_sh(&c, ".note.b", SHT_NOTE, ~0ull - 8, 64);
	c_sh(&c, ".note.c", SHT_NOBITS, 0x400, 64);
	c_write(&c, "notes");
	ag_proginfo_t i = inspect("notes");
	expect(&i, "hostile notes", true, true, false, false);

	/* extended numbering: section 0 claims 2^32 - 1 sections and a
	 * string table at index 2^32 - 2 */
	size_t len;
	unsigned char *b = slurp(at("notes"), &len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Shdr *s0 = (Elf64_Shdr *)(b + eh->e_shoff);
	eh->e_shnum = 0;
	eh->e_shstrndx = SHN_XINDEX;
	s0->sh_size = 0xffffffff;
	s0->sh_link = 0xfffffffe;
	put_file("xindex", b, len, 0755);
	i = inspect("xindex");
	expect(&i, "extended numbering", true, true, false, false);
	free(b);
}

/* Thousands of note sections over one large region: the read budget ends
 * it, quickly, with an answer. */
Test(elf, hostile_read_budget)
{
	enum { NSEC = 4096, REGION = 64 * 1024 };
	size_t len = sizeof(Elf64_Ehdr) + REGION + (NSEC + 2) * sizeof(Elf64_Shdr) + 64;
	unsigned char *b = calloc(1, len);
	cr_assert_not_null(b);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_shoff = sizeof(Elf64_Ehdr) + REGION;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = NSEC + 2;
	eh->e_shstrndx = NSEC + 1;
	Elf64_Shdr *sh = (Elf64_Shdr *)(b + eh->e_shoff);
	for (int k = 1; k <= NSEC; k++) {
		sh[k].sh_type = SHT_NOTE;
		sh[k].sh_offset = sizeof(Elf64_Ehdr);
		sh[k].sh_size = REGION; /* 5461 empty notes */
	}
	char *str = (char *)(sh + NSEC + 2);
	strcpy(str + 1, ".go.buildinfo");
	sh[NSEC].sh_name = 1; /* the last note section: past the cap and the budget */
	sh[NSEC + 1].sh_type = SHT_STRTAB;
	sh[NSEC + 1].sh_offset = (uint64_t)(str - (char *)b);
	sh[NSEC + 1].sh_size = 64;
	put_file("budget", b, len, 0755);
	free(b);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ag_proginfo_t i = inspect("budget");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_expect(i.is_elf);
	cr_expect(i.is_static);
	cr_expect_lt(secs, 5.0, "took %.2fs", secs);
}

/* ---- broken copies ------------------------------------------------------------ */

static void check_sane(const ag_proginfo_t *i, const char *what, size_t k)
{
	cr_assert(!(i->is_static || i->is_go) || i->is_elf, "%s %zu: flags without ELF", what, k);
	cr_assert(!(i->is_elf && i->is_script), "%s %zu: both ELF and script", what, k);
	cr_assert(memchr(i->interp, '\0', sizeof(i->interp)), "%s %zu: interp unterminated", what,
		  k);
}

/* Every 64-byte prefix of a program, and the last byte off. */
static void truncations(const char *name, bool go)
{
	size_t len;
	unsigned char *b = slurp(at(name), &len);
	int fd = open(at("cut"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, len), (ssize_t)len);
	for (size_t n = len + 1; n-- > 0;) {
		if (n % 64 != 0 && n != len - 1)
			continue;
		cr_assert_eq(ftruncate(fd, (off_t)n), 0);
		ag_proginfo_t i;
		cr_assert_eq(ag_inspect_fd(fd, &i), 0, "%s cut at %zu", name, n);
		check_sane(&i, name, n);
		cr_assert_eq(i.is_elf, n >= sizeof(Elf64_Ehdr), "%s cut at %zu", name, n);
		if (n == len)
			cr_assert_eq(i.is_go, go);
	}
	close(fd);
	free(b);
}

Test(elf, truncated_programs)
{
	build_dyn();
	truncations("dyn", false);
	add_note_section("go", ".note.go.buildid", 4, "Go\0", 4, "");
	truncations("go", true);
	if (build("static", HELLO, "-static") == 0)
		truncations("static", false);
}

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: fixed seeds make every failure reproducible */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Random bytes written over the ELF header, the program headers, the
 * section headers and the section name table. */
static void corruptions(const char *name, uint64_t seed, int iters)
{
	size_t len;
	unsigned char *orig = slurp(at(name), &len), *b = malloc(len);
	cr_assert_not_null(b);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)orig;
	const Elf64_Shdr *str = (const Elf64_Shdr *)(orig + eh->e_shoff) + eh->e_shstrndx;
	const struct {
		size_t off, len;
	} where[] = {
	    {0, sizeof(Elf64_Ehdr)},
	    {eh->e_phoff, (size_t)eh->e_phnum * sizeof(Elf64_Phdr)},
	    {eh->e_shoff, (size_t)eh->e_shnum * sizeof(Elf64_Shdr)},
	    {str->sh_offset, str->sh_size},
	};
	int fd = open(at("flip"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	cr_assert_geq(fd, 0);
	for (int it = 0; it < iters; it++) {
		memcpy(b, orig, len);
		int flips = 1 + (int)(rnd(&seed) % 8);
		for (int f = 0; f < flips; f++) {
			size_t r = rnd(&seed) % NELEM(where);
			size_t pos = where[r].off + rnd(&seed) % where[r].len;
			uint64_t v = rnd(&seed);
			switch (v % 4) {
			case 0: b[pos] = (unsigned char)(v >> 8); break;
			case 1: b[pos] ^= (unsigned char)(1u << ((v >> 8) % 8)); break;
			case 2: b[pos] = 0xff; break;
			default:
				/* a whole word of noise, as an offset or count would be */
				for (size_t k = 0; k < 8 && pos + k < len; k++)
					b[pos + k] = (unsigned char)(v >> (8 * k));
			}
		}
		/* now and then, also cut */
		size_t n = it % 5 == 0 ? rnd(&seed) % (len + 1) : len;
		cr_assert_eq(ftruncate(fd, 0), 0);
		cr_assert_eq(pwrite(fd, b, n, 0), (ssize_t)n);
		ag_proginfo_t i;
		cr_assert_eq(ag_inspect_fd(fd, &i), 0, "%s iteration %d", name, it);
		check_sane(&i, name, (size_t)it);
	}
	close(fd);
	free(b);
	free(orig);
}

Test(elf, corrupted_headers)
{
	build_dyn();
	corruptions("dyn", 0x5eed, 1000);
	add_note_section("go", ".note.go.buildid", 4, "Go\0", 4, "");
	corruptions("go", 0xfeedface, 1000);
}

/* ---- concurrency ---------------------------------------------------------------- */

struct worker {
	int fd;
	int bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	for (int k = 0; k < 200; k++) {
		ag_proginfo_t i;
		if (ag_inspect_fd(w->fd, &i) != 0 || !i.is_elf || i.is_static || !i.is_go)
			w->bad++;
	}
	return NULL;
}

/* No globals, no shared file offset: threads on one descriptor agree. */
Test(elf, threads_share_a_descriptor)
{
	build_dyn();
	add_note_section("go", ".note.go.buildid", 4, "Go\0", 4, "");
	int fd = open(at("go"), O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	pthread_t t[4];
	struct worker w[4];
	for (int k = 0; k < 4; k++) {
		w[k] = (struct worker){fd, 0};
		cr_assert_eq(pthread_create(&t[k], NULL, work, &w[k]), 0);
	}
	for (int k = 0; k < 4; k++) {
		pthread_join(t[k], NULL);
		cr_expect_eq(w[k].bad, 0, "thread %d: %d wrong answers", k, w[k].bad);
	}
	cr_expect_eq(lseek(fd, 0, SEEK_CUR), 0, "the file offset moved");
	close(fd);
}
