/* The gap report of `agentguard run`: one note per thing the preload will
 * not see in the launched program, read from its ELF file.
 *
 *  - a program whose own code issues openat with the syscall instruction
 *    is named, with the call;
 *  - the same reached through a "#!/usr/bin/env" script is named too;
 *  - a program that calls libc's syscall(SYS_openat, ...) gets no note,
 *    because the preload judges that call: a secret read through it is
 *    refused and logged;
 *  - a program that passes io_uring_setup's number to syscall() is named;
 *  - a plain dynamically linked program (/bin/true) gets no note.
 *
 * Helper programs are compiled at test time with gcc into the test's tree. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
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

TestSuite(gaps, .fini = fini_tree, .timeout = 120);

#define P agt_pathf

static const char *build(const char *name, const char *src)
{
	const char *dir = P("%s/bin", t.root);
	const char *bin = P("%s/%s", dir, name);
	const char *c = P("%s/%s.c", dir, name);
	struct agt_result *cc = malloc(sizeof(*cc));

	cr_assert(cc);
	if (agt_sh_unguarded(&t, cc, "command -v gcc >/dev/null") != 0) {
		free(cc);
		cr_skip_test("gcc is not available");
	}
	agt_mkdirs(dir);
	agt_write(c, src);
	int rc = agt_sh_unguarded(&t, cc, "gcc -O1 -o '%s' '%s' 2>&1", bin, c);
	cr_assert_eq(rc, 0, "cannot build %s:\n%s", name, cc->out);
	free(cc);
	static char real[PATH_MAX];
	cr_assert(realpath(bin, real));
	return real;
}

/* openat(AT_FDCWD, argv[1], O_RDONLY) with the instruction itself; prints
 * what it read. */
static const char raw_src[] =
    "#include <stdio.h>\n"
    "#include <unistd.h>\n"
    "static long raw_openat(const char *p) {\n"
    "	long ret;\n"
    "#if defined(__x86_64__)\n"
    "	register long a1 __asm__(\"rdi\") = -100;\n"
    "	register long a2 __asm__(\"rsi\") = (long)p;\n"
    "	register long a3 __asm__(\"rdx\") = 0;\n"
    "	__asm__ volatile(\"mov $257, %%eax\\n\\tsyscall\" : \"=a\"(ret)\n"
    "			 : \"r\"(a1), \"r\"(a2), \"r\"(a3) : \"rcx\", \"r11\", \"memory\");\n"
    "#elif defined(__aarch64__)\n"
    "	register long x0 __asm__(\"x0\") = -100;\n"
    "	register long x1 __asm__(\"x1\") = (long)p;\n"
    "	register long x2 __asm__(\"x2\") = 0;\n"
    "	__asm__ volatile(\"mov x8, #56\\n\\tsvc #0\" : \"+r\"(x0)\n"
    "			 : \"r\"(x1), \"r\"(x2) : \"x8\", \"memory\");\n"
    "	ret = x0;\n"
    "#else\n"
    "#error no raw openat for this architecture\n"
    "#endif\n"
    "	return ret;\n"
    "}\n"
    "int main(int argc, char **argv) {\n"
    "	if (argc < 2) return 0;\n"
    "	long fd = raw_openat(argv[1]);\n"
    "	char buf[256];\n"
    "	ssize_t n = fd >= 0 ? read((int)fd, buf, sizeof(buf)) : -1;\n"
    "	if (n > 0) fwrite(buf, 1, (size_t)n, stdout);\n"
    "	return fd >= 0 ? 0 : 3;\n"
    "}\n";

static const char libc_syscall_src[] =
    "#include <errno.h>\n"
    "#include <fcntl.h>\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "#include <sys/syscall.h>\n"
    "#include <unistd.h>\n"
    "int main(int argc, char **argv) {\n"
    "	if (argc < 2) return 0;\n"
    "	long fd = syscall(SYS_openat, AT_FDCWD, argv[1], O_RDONLY);\n"
    "	if (fd < 0) { printf(\"refused: %s\\n\", strerror(errno)); return 3; }\n"
    "	return 0;\n"
    "}\n";

static const char uring_src[] = "#include <stdio.h>\n"
				"#include <sys/syscall.h>\n"
				"#include <unistd.h>\n"
				"int main(int argc, char **argv) {\n"
				"	(void)argv;\n"
				"	if (argc > 5) return (int)syscall(425, 0, NULL);\n"
				"	return 0;\n"
				"}\n";

static int run(const char *prog, const char *arg)
{
	const char *argv[] = {prog, arg, NULL};
	return agt_run(&t, &r, argv, NULL);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

Test(gaps, raw_syscall_instruction_is_named)
{
	agt_setup(&t, "gaps-raw");
	const char *bin = build("rawopen", raw_src);
	const char *want = P("agentguard: note: %s makes its own system calls (1 syscall "
			     "instructions in its code, 1 of them for openat): the preload cannot "
			     "see those calls; ",
			     bin);

	t.no_floor = true;
	cr_assert_eq(run(bin, NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, P("%sa kernel floor would confine their writes, and this run has "
				  "none\n",
				  want)),
		  "%s", r.err);
	cr_assert_eq(count(r.err, "agentguard: note:"), 1, "%s", r.err);

	/* under a floor the note says what it holds */
	t.no_floor = false;
	cr_assert_eq(run(bin, NULL), 0, "%s", r.err);
	if (strstr(r.floor, "Landlock"))
		cr_assert(strstr(r.err, P("%sthe kernel floor confines their writes, not their "
					  "reads\n",
					  want)),
			  "%s\n%s", r.floor, r.err);
}

Test(gaps, through_env_script)
{
	agt_setup(&t, "gaps-script");
	const char *bin = build("rawopen", raw_src);
	const char *script = P("%s/tool", t.ws);
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", bin);
	*strrchr(dir, '/') = '\0';
	agt_write(script, "#!/usr/bin/env rawopen\n");
	cr_assert_eq(chmod(script, 0755), 0);
	char path[8192];
	snprintf(path, sizeof(path), "PATH=%s:%s", dir, getenv("PATH"));
	const char *env[] = {path, NULL};
	const char *argv[] = {script, NULL};
	agt_run(&t, &r, argv, env);
	cr_assert(strstr(r.err, P("agentguard: note: %s makes its own system calls", bin)), "%s",
		  r.err);
}

/* syscall() is libc's: the preload judges the openat, so nothing to note. */
Test(gaps, libc_syscall_is_judged_not_noted)
{
	agt_setup(&t, "gaps-libc");
	const char *bin = build("libcsys", libc_syscall_src);
	const char *key = P("%s/.ssh/id_rsa", t.home);

	agt_put(key, "-----BEGIN FAKE KEY-----\n");
	cr_assert_eq(run(bin, key), 3, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "refused: Permission denied"), "%s", r.out);
	cr_assert_null(strstr(r.err, "agentguard: note:"), "%s", r.err);
	cr_assert_eq(agt_log_count(&t, "read", key, "secrets"), 1, "%s", agt_logtext(&t));
}

/* Without a floor io_uring is a gap; a floor's seccomp filter refuses it,
 * so under one there is nothing to say. */
Test(gaps, io_uring_through_syscall_is_named)
{
	agt_setup(&t, "gaps-uring");
	const char *bin = build("uring", uring_src);

	t.no_floor = true;
	cr_assert_eq(run(bin, NULL), 0, "%s", r.err);
	cr_assert(
	    strstr(r.err, P("agentguard: note: %s can set up io_uring (io_uring_setup "
			    "through syscall()), whose file operations never pass through libc: "
			    "the preload cannot see those calls; a kernel floor would refuse "
			    "io_uring, and this run has none\n",
			    bin)),
	    "%s", r.err);
	cr_assert_null(strstr(r.err, "makes its own system calls"), "%s", r.err);

	t.no_floor = false;
	cr_assert_eq(run(bin, NULL), 0, "%s", r.err);
	if (strstr(r.floor, "seccomp refuses io_uring"))
		cr_assert_null(strstr(r.err, "agentguard: note:"), "%s", r.err);
}

Test(gaps, plain_dynamic_program_is_quiet)
{
	agt_setup(&t, "gaps-quiet");
	cr_assert_eq(run("/bin/true", NULL), 0, "%s", r.err);
	cr_assert_null(strstr(r.err, "agentguard: note:"), "%s", r.err);
	cr_assert_eq(run("true", NULL), 0, "%s", r.err);
	cr_assert_null(strstr(r.err, "agentguard: note:"), "%s", r.err);
}
