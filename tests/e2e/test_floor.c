/* The kernel floor under `agentguard run`: what the preload cannot see is
 * still stopped, and ordinary work is not.
 *
 *  - a dynamically linked program making raw system calls (inline
 *    `syscall`, no libc wrapper, so no hook sees them) cannot unlink or
 *    truncate a file outside the workspace, and can inside it;
 *  - a static program does the same and is stopped the same; with the
 *    floor on it runs (logged as running under the floor) instead of being
 *    refused;
 *  - io_uring set-up answers ENOSYS, ptrace attach answers EPERM;
 *  - an open that truncates without asking to write (O_RDONLY | O_TRUNC)
 *    is refused, and openat2 without the guard's mark answers ENOSYS;
 *    through libc the preload has it ask to write instead;
 *  - a policy whose connect rules are a port list confines raw TCP
 *    connects to those ports;
 *  - git, cc and make, python3 -m venv, npm install from a local package,
 *    and a test runner work in the workspace under the floor;
 *  - lower Landlock ABIs (AGENTGUARD_FLOOR_ABI, for tests) fall back as
 *    described, and "no Landlock" runs with the preload alone and one line;
 *  - --no-floor and audit mode leave the raw calls to succeed, which is
 *    what shows that the floor, not the preload, stopped them above. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static struct agt t;
static struct agt_result r;

static void fini_tree(void)
{
	agt_teardown(&t);
}

TestSuite(floor, .fini = fini_tree, .timeout = 240);

#define P agt_pathf

/* Raw system calls: the syscall instruction itself, so neither libc's
 * wrappers nor its syscall() are involved. Prints "<what> <result>" with
 * the kernel's -errno. */
static const char raw_src[] =
	"#define _GNU_SOURCE\n"
	"#include <stdio.h>\n"
	"#include <stdlib.h>\n"
	"#include <string.h>\n"
	"#include <fcntl.h>\n"
	"#include <netinet/in.h>\n"
	"#include <sys/syscall.h>\n"
	"#include <sys/ptrace.h>\n"
	"#include <sys/stat.h>\n"
	"#include <errno.h>\n"
	"#include <unistd.h>\n"
	"static long raw(long n, long a, long b, long c) {\n"
	"\tlong ret;\n"
	"\t__asm__ volatile(\"syscall\" : \"=a\"(ret) : \"a\"(n), \"D\"(a), \"S\"(b), \"d\"(c)\n"
	"\t\t\t : \"rcx\", \"r11\", \"memory\");\n"
	"\treturn ret;\n"
	"}\n"
	"static long raw4(long n, long a, long b, long c, long d) {\n"
	"\tregister long r10 __asm__(\"r10\") = d;\n"
	"\tlong ret;\n"
	"\t__asm__ volatile(\"syscall\" : \"=a\"(ret) : \"a\"(n), \"D\"(a), \"S\"(b), \"d\"(c), \"r\"(r10)\n"
	"\t\t\t : \"rcx\", \"r11\", \"memory\");\n"
	"\treturn ret;\n"
	"}\n"
	"#include <pthread.h>\n"
	"static volatile unsigned long long race_how[3];\n"
	"static volatile int race_stop;\n"
	"static void *flipper(void *p) {\n"
	"\t(void)p;\n"
	"\twhile (!race_stop) { race_how[0] = O_RDONLY; race_how[0] = O_WRONLY | O_TRUNC; }\n"
	"\treturn NULL;\n"
	"}\n"
	"/* openat2 through syscall() while another thread flips its flags between\n"
	" * a read and a truncating write: 0 if the file still holds something. */\n"
	"static long o2race(const char *path) {\n"
	"\tpthread_t th;\n"
	"\tstruct stat st;\n"
	"\tpthread_create(&th, NULL, flipper, NULL);\n"
	"\tfor (int k = 0; k < 20000; k++) {\n"
	"\t\tlong fd = syscall(SYS_openat2, AT_FDCWD, path, (void *)race_how, sizeof race_how);\n"
	"\t\tif (fd >= 0) close((int)fd);\n"
	"\t}\n"
	"\trace_stop = 1;\n"
	"\tpthread_join(th, NULL);\n"
	"\treturn stat(path, &st) == 0 && st.st_size > 0 ? 0 : -1;\n"
	"}\n"
	"static long tcp(int port) {\n"
	"\tstruct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),\n"
	"\t\t\t\t  .sin_addr.s_addr = htonl(0x7f000001)};\n"
	"\tlong fd = raw(SYS_socket, AF_INET, SOCK_STREAM, 0);\n"
	"\treturn fd < 0 ? fd : raw(SYS_connect, fd, (long)&sa, sizeof(sa));\n"
	"}\n"
	"int main(int argc, char **argv) {\n"
	"\tfor (int i = 1; i + 1 < argc; i += 2) {\n"
	"\t\tconst char *op = argv[i], *arg = argv[i + 1];\n"
	"\t\tlong rc = -1;\n"
	"\t\tif (!strcmp(op, \"unlink\")) rc = raw(SYS_unlinkat, AT_FDCWD, (long)arg, 0);\n"
	"\t\tif (!strcmp(op, \"trunc\")) rc = raw(SYS_openat, AT_FDCWD, (long)arg, O_WRONLY | O_TRUNC);\n"
	"\t\tif (!strcmp(op, \"create\")) rc = raw(SYS_openat, AT_FDCWD, (long)arg, O_WRONLY | O_CREAT | O_EXCL);\n"
	"\t\tif (!strcmp(op, \"uring\")) { char p[120] = {0}; rc = raw(SYS_io_uring_setup, 4, (long)p, 0); }\n"
	"\t\tif (!strcmp(op, \"ptrace\")) rc = raw(SYS_ptrace, PTRACE_ATTACH, atol(arg), 0);\n"
	"\t\tif (!strcmp(op, \"connect\")) rc = tcp(atoi(arg));\n"
	"\t\tif (!strcmp(op, \"truncate\")) rc = raw(SYS_truncate, (long)arg, 0, 0);\n"
	"\t\tif (!strcmp(op, \"rdtrunc\")) rc = raw(SYS_openat, AT_FDCWD, (long)arg, O_RDONLY | O_TRUNC);\n"
	"\t\tif (!strcmp(op, \"acc3trunc\")) rc = raw(SYS_openat, AT_FDCWD, (long)arg, 3 | O_TRUNC);\n"
	"\t\tif (!strcmp(op, \"pathtrunc\")) rc = raw(SYS_openat, AT_FDCWD, (long)arg, O_PATH | O_TRUNC);\n"
	"\t\tif (!strcmp(op, \"rdcreatexcl\")) rc = raw4(SYS_openat, AT_FDCWD, (long)arg, O_RDONLY | O_CREAT | O_EXCL | O_TRUNC, 0644);\n"
	"\t\tif (!strcmp(op, \"o2trunc\") || !strcmp(op, \"o2read\") || !strcmp(op, \"libo2read\")) {\n"
	"\t\t\tunsigned long long how[3] = {op[1] == '2' && op[2] == 't' ? O_RDONLY | O_TRUNC : O_RDONLY, 0, 0};\n"
	"\t\t\tif (op[0] == 'l') { rc = syscall(SYS_openat2, AT_FDCWD, arg, how, sizeof how); if (rc < 0) rc = -errno; }\n"
	"\t\t\telse rc = raw4(SYS_openat2, AT_FDCWD, (long)arg, (long)how, sizeof how);\n"
	"\t\t}\n"
	"\t\tif (!strcmp(op, \"o2root\") || !strcmp(op, \"o2rootread\")) {\n"
	"\t\t\tunsigned long long how[3] = {op[6] ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC, op[6] ? 0 : 0644, 0x10 /* RESOLVE_IN_ROOT */};\n"
	"\t\t\tint d = open(arg, O_PATH | O_DIRECTORY);\n"
	"\t\t\trc = syscall(SYS_openat2, d, \"/victim\", how, sizeof how); if (rc < 0) rc = -errno;\n"
	"\t\t}\n"
	"\t\tif (!strcmp(op, \"o2race\")) rc = o2race(arg);\n"
	"\t\tif (!strcmp(op, \"libo2long\") || !strcmp(op, \"libo2tail\")) {\n"
	"\t\t\tunsigned long long how[4] = {O_WRONLY | O_TRUNC, 0, 0, op[5] == 't'};\n"
	"\t\t\trc = syscall(SYS_openat2, AT_FDCWD, arg, how, sizeof how); if (rc < 0) rc = -errno;\n"
	"\t\t}\n"
	"\t\tif (!strcmp(op, \"chmod\")) rc = chmod(arg, 0644) ? -errno : 0;\n"
	"\t\tif (!strcmp(op, \"rename\")) {\n"
	"\t\t\tchar a[4096]; snprintf(a, sizeof a, \"%s\", arg);\n"
	"\t\t\tchar *eq = strchr(a, '=');\n"
	"\t\t\tif (eq) { *eq = 0; rc = rename(a, eq + 1) ? -errno : 0; }\n"
	"\t\t}\n"
	"\t\tif (!strcmp(op, \"read\")) {\n"
	"\t\t\trc = raw(SYS_openat, AT_FDCWD, (long)arg, O_RDONLY);\n"
	"\t\t\tprintf(\"read %s %ld\\n\", arg, rc < 0 ? rc : 0);\n"
	"\t\t\tcontinue;\n"
	"\t\t}\n"
	"\t\tprintf(\"%s %ld\\n\", op, rc < 0 ? rc : 0);\n"
	"\t}\n"
	"\treturn 0;\n"
	"}\n";

static const char *rawcall(const char *extra)
{
	const char *dir = P("%s/bin", t.root);
	const char *bin = P("%s/rawcall%s", dir, *extra ? "-static" : "");
	const char *c = P("%s/rawcall.c", dir);
	agt_mkdirs(dir);
	agt_write(c, raw_src);
	cr_assert_eq(agt_sh_unguarded(&t, &r, "gcc -O1 %s -o '%s' '%s' 2>&1", extra, bin, c), 0,
		     "gcc: %s", r.out);
	return bin;
}

static void setup(const char *name)
{
#ifndef __x86_64__
	cr_skip_test("the raw-call helper is written for x86-64");
#endif
	/* The cases name ABIs up to 4 (TCP ports); an older kernel runs
	 * with the fall-backs, which the ABI cases reach by capping. */
	long abi = syscall(444 /* landlock_create_ruleset */, NULL, 0, 1u);
	if (abi < 4)
		cr_skip_test("this kernel offers Landlock ABI %ld; these tests need 4", abi);
	agt_setup(&t, name);
}

static bool said(const char *what, long rc)
{
	char line[64];
	snprintf(line, sizeof(line), "%s %ld\n", what, rc);
	return strstr(r.out, line) != NULL;
}

static void expect_file(const char *path, const char *content)
{
	char *got = agt_read(path);
	cr_expect(got && strcmp(got, content) == 0, "%s: want \"%s\", have \"%s\"", path, content,
		  got ? got : "(missing)");
	free(got);
}

static void run(const char *const *argv, const char *const *env)
{
	agt_run(&t, &r, argv, env);
}

Test(floor, raw_unlink_and_truncate_outside_are_stopped_inside_they_work)
{
	setup("fl-dyn");
	const char *prog = rawcall("");
	const char *a = P("%s/a.txt", t.out), *b = P("%s/b.txt", t.out);
	const char *in = P("%s/in.txt", t.ws), *in2 = P("%s/in2.txt", t.ws);
	agt_put(a, "precious\n");
	agt_put(b, "precious\n");
	agt_put(in, "scratch\n");
	agt_put(in2, "scratch\n");

	run((const char *[]){prog, "unlink", a, "trunc", b, "unlink", in, "trunc", in2, NULL}, NULL);

	cr_expect(strstr(r.floor, "kernel floor: Landlock ABI"), "floor line: %s\nstderr: %s",
		  r.floor, r.err);
	cr_expect(said("unlink", -13) && said("trunc", -13), "stdout:\n%s", r.out);
	expect_file(a, "precious\n");
	expect_file(b, "precious\n");
	cr_expect(!agt_exists(in), "the delete inside the workspace was stopped:\n%s", r.out);
	expect_file(in2, "");
	/* The preload never saw these calls: nothing of them is in its log. */
	cr_expect_eq(agt_log_count(&t, "delete", a, NULL), 0, "%s", agt_logtext(&t));
}

Test(floor, without_the_floor_the_same_raw_calls_get_through)
{
	setup("fl-none");
	const char *prog = rawcall("");
	const char *a = P("%s/a.txt", t.out);
	agt_put(a, "precious\n");
	t.no_floor = true;

	run((const char *[]){prog, "unlink", a, "uring", "-", NULL}, NULL);

	cr_expect(!agt_exists(a), "the raw unlink was stopped without a floor?\n%s", r.out);
	cr_expect_str_eq(r.floor, "");
	cr_expect(!said("uring", -38), "io_uring refused without a floor:\n%s", r.out);
}

Test(floor, a_static_program_runs_under_the_floor_and_is_stopped)
{
	setup("fl-static");
	const char *prog = rawcall("-static");
	const char *a = P("%s/a.txt", t.out), *in = P("%s/in.txt", t.ws);
	agt_put(a, "precious\n");
	agt_put(in, "scratch\n");

	agt_sh(&t, &r, "'%s' unlink '%s' unlink '%s'; echo rc=$?", prog, a, in);

	cr_expect(strstr(r.out, "rc=0"), "the static program did not run:\n%s\n%s", r.out, r.err);
	expect_file(a, "precious\n");
	cr_expect(!agt_exists(in), "%s", r.out);
	cr_expect_eq(agt_log_count(&t, "exec", prog, "unguardable"), 1, "%s", agt_logtext(&t));
	cr_expect(strstr(agt_logtext(&t), "runs under the kernel floor") &&
		      strstr(agt_logtext(&t), "\"action\":\"audit\""),
		  "%s", agt_logtext(&t));
}

Test(floor, a_policy_can_still_refuse_unguardable_programs)
{
	setup("fl-static-deny");
	const char *prog = rawcall("-static");
	agt_policy(&t, "{\"version\": 1, \"unguardable\": \"deny\", \"rules\": ["
		       "{\"id\": \"ws\", \"ops\": [\"write\", \"create\", \"delete\", \"rename\"], "
		       "\"paths\": [\"${WORKSPACE}/**\", \"${TMPDIR}/**\"], \"action\": \"allow\"}]}");

	agt_sh(&t, &r, "'%s' uring -; echo rc=$?", prog);

	cr_expect(strstr(r.out, "rc=126"), "%s\n%s", r.out, r.err);
	cr_expect_eq(agt_log_count(&t, "exec", prog, "unguardable"), 1, "%s", agt_logtext(&t));
}

Test(floor, io_uring_and_ptrace_attach_are_refused)
{
	setup("fl-seccomp");
	const char *prog = rawcall("");
	char ppid[32];
	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());

	run((const char *[]){prog, "uring", "-", "ptrace", ppid, NULL}, NULL);

	cr_expect(said("uring", -38), "io_uring_setup was not refused with ENOSYS:\n%s", r.out);
	cr_expect(said("ptrace", -1), "ptrace attach was not refused with EPERM:\n%s", r.out);
	cr_expect(strstr(r.floor, "seccomp refuses io_uring"), "%s", r.floor);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		  getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

Test(floor, a_port_list_policy_confines_raw_tcp_connects)
{
	setup("fl-ports");
	const char *prog = rawcall("");
	int open_port = free_port(), closed_port = free_port();
	agt_policy(&t, P("{\"version\": 1, \"rules\": ["
			 "{\"id\": \"dev-server\", \"ops\": [\"connect\"], \"ports\": [%d], "
			 "\"action\": \"allow\"},"
			 "{\"id\": \"no-net\", \"ops\": [\"connect\"], \"addrs\": [\"0.0.0.0/0\", "
			 "\"::/0\"], \"action\": \"deny\"},"
			 "{\"id\": \"ws\", \"ops\": [\"write\", \"create\", \"delete\", \"rename\"], "
			 "\"paths\": [\"${WORKSPACE}/**\", \"${TMPDIR}/**\"], \"action\": \"allow\"}]}",
			 open_port));
	/* Listeners on both ports, so only the floor can make a difference. */
	const char *py = P("import socket, subprocess, sys\n"
			   "ls = [socket.create_server(('127.0.0.1', p)) for p in (%d, %d)]\n"
			   "sys.stdout.write(subprocess.run(['%s', 'connect', '%d', 'connect', '%d'],"
			   " capture_output=True, text=True).stdout)\n",
			   open_port, closed_port, prog, open_port, closed_port);
	run((const char *[]){"python3", "-c", py, NULL}, NULL);

	cr_expect(strstr(r.floor, "TCP connect to its ports"), "%s", r.floor);
	char want[64];
	snprintf(want, sizeof(want), "connect 0\nconnect -13\n");
	cr_expect(strstr(r.out, want), "want the allowed port open and the other refused:\n%s\n%s",
		  r.out, r.err);
}

Test(floor, ordinary_development_work_passes_under_the_floor)
{
	setup("fl-work");
	const char *npmpkg = P("%s/pkg", t.out);
	agt_put(P("%s/package.json", npmpkg),
		"{\"name\": \"agt-local\", \"version\": \"1.0.0\", \"main\": \"index.js\"}\n");
	agt_put(P("%s/index.js", npmpkg), "module.exports = 42;\n");
	cr_assert_eq(agt_sh_unguarded(&t, &r, "cd '%s' && npm pack --silent >/dev/null 2>&1 && ls",
				      npmpkg),
		     0, "npm pack: %s", r.out);

	agt_sh(&t, &r,
	       "set -e\n"
	       "git init -q proj && cd proj\n"
	       "git config user.email a@b.c && git config user.name t\n"
	       "printf 'int f(void){return 1;}\\n' > f.c\n"
	       "for i in 1 2 3; do printf 'int f(void); int g%%d(void){return f();}\\n' $i > g$i.c; "
	       "done\n"
	       "printf 'int main(void){return 0;}\\n' > main.c\n"
	       "printf 'all: app\\napp: main.o f.o g1.o g2.o g3.o\\n\\tcc -o $@ $^\\n"
	       "test: app\\n\\t./app && echo make-test-ok\\n' > Makefile\n"
	       "make -s -j2 test\n"
	       "git add -A && git commit -qm one && git mv f.c h.c && mkdir sub && git mv g1.c sub/ "
	       "&& git commit -qm two && git status --short && echo git-ok\n"
	       "python3 -m venv .venv && .venv/bin/python -c 'print(\"venv-ok\")'\n"
	       "printf 'import unittest\\nclass T(unittest.TestCase):\\n  def test(self): "
	       "self.assertTrue(True)\\n' > test_x.py\n"
	       "python3 -m unittest -q test_x 2>&1 | tail -1\n"
	       "npm init -y >/dev/null && npm install --offline --no-audit --no-fund "
	       "'%s/agt-local-1.0.0.tgz' >/dev/null 2>&1 && node -e "
	       "'console.log(\"npm-ok\", require(\"agt-local\"))'\n"
	       "rm -rf .venv node_modules && echo rm-ok\n",
	       npmpkg);

	cr_expect_eq(r.status, 0, "stdout:\n%s\nstderr:\n%s\nfloor: %s", r.out, r.err, r.floor);
	cr_expect(strstr(r.floor, "Landlock ABI"), "%s", r.floor);
	for (const char *w[] = {"make-test-ok", "git-ok", "venv-ok", "OK", "npm-ok 42", "rm-ok",
				NULL},
	     *const *p = w;
	     *p; p++)
		cr_expect(strstr(r.out, *p), "missing %s in:\n%s\nstderr:\n%s", *p, r.out, r.err);
	cr_expect_eq(agt_log_lines(&t), 0, "%s", agt_logtext(&t));
}

Test(floor, lower_abis_fall_back_as_described)
{
	setup("fl-abi");
	const char *prog = rawcall("");
	static const struct {
		const char *abi, *line;
		bool stops;
	} cases[] = {
		{"3", "Landlock ABI 3 confines writes", true},
		{"2", "Landlock ABI 2 confines writes", true},
		{"1", "no Landlock rules (Landlock ABI 1 would refuse every cross-directory rename)",
		 false},
		{"0", "this kernel has no Landlock; writes are guarded by the preload alone", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a = P("%s/a%zu.txt", t.out, i), *b = P("%s/b%zu.txt", t.out, i);
		agt_put(a, "precious\n");
		agt_put(b, "precious\n");
		const char *env[] = {P("AGENTGUARD_FLOOR_ABI=%s", cases[i].abi), NULL};
		run((const char *[]){prog, "unlink", a, "trunc", b, NULL}, env);
		cr_expect_eq(r.status, 0, "ABI %s: the program did not run: %s", cases[i].abi, r.err);
		cr_expect(strstr(r.floor, cases[i].line), "ABI %s: %s", cases[i].abi, r.floor);
		cr_expect_eq(agt_exists(a), cases[i].stops, "ABI %s: %s", cases[i].abi, r.out);
		/* An open with O_TRUNC needs the right to write at every ABI;
		 * truncate(2) itself is confined from ABI 3. */
		char *got = agt_read(b);
		bool kept = got && strcmp(got, "precious\n") == 0;
		free(got);
		cr_expect_eq(kept, cases[i].stops, "ABI %s: truncate: %s", cases[i].abi, r.out);
	}
}

Test(floor, without_landlock_a_static_program_is_refused_again)
{
	setup("fl-abi0-static");
	const char *prog = rawcall("-static");
	const char *env[] = {"AGENTGUARD_FLOOR_ABI=0", NULL};
	run((const char *[]){"bash", "-c", P("'%s' uring -; echo rc=$?", prog), NULL}, env);
	cr_expect(strstr(r.out, "rc=126"), "%s\n%s", r.out, r.err);
}

Test(floor, audit_mode_installs_no_floor)
{
	setup("fl-audit");
	const char *prog = rawcall("");
	const char *a = P("%s/a.txt", t.out);
	agt_put(a, "precious\n");
	t.audit = true;
	run((const char *[]){prog, "unlink", a, NULL}, NULL);
	cr_expect(strstr(r.floor, "kernel floor: off in audit mode"), "%s", r.floor);
	cr_expect(!agt_exists(a), "%s", r.out);
}

Test(floor, creating_outside_the_granted_places_is_refused_by_the_floor)
{
	/* The preload lets a new file be created anywhere but the
	 * persistence places; the floor grants creation only where the
	 * policy names (workspace, temp, tool state). */
	setup("fl-create");
	const char *prog = rawcall("");
	const char *fresh = P("%s/fresh.txt", t.out);
	agt_mkdirs(P("%s/.cache", t.home));
	const char *cache = P("%s/.cache/new.bin", t.home);
	run((const char *[]){prog, "create", fresh, "create", cache, NULL}, NULL);
	cr_expect(!agt_exists(fresh), "%s", r.out);
	cr_expect(agt_exists(cache), "a new file in ~/.cache was refused:\n%s", r.out);
}

Test(floor, a_refusal_by_the_floor_of_a_call_the_preload_saw_is_logged_and_said)
{
	/* Landlock refuses silently; the preload sees the policy allowed the
	 * call and the kernel said EACCES, and names the floor. A read-only
	 * file in the workspace refuses a write by its mode, not the floor,
	 * and is not blamed on it. */
	setup("fl-explain");
	const char *fresh = P("%s/fresh.txt", t.out), *dir = P("%s/newdir", t.out);
	agt_put(P("%s/ro.txt", t.ws), "ro\n");
	chmod(P("%s/ro.txt", t.ws), 0444);
	/* As root the mode refuses nothing; the last case needs a user. */
	agt_sh(&t, &r, "echo x > '%s'; echo rc=$?; mkdir '%s'; echo rc=$?; echo y > ro.txt; echo done",
	       fresh, dir);
	cr_expect(strstr(r.out, "rc=1\nrc=1\n"), "%s\n%s", r.out, r.err);
	cr_expect_eq(agt_log_count(&t, "create", fresh, "kernel-floor"), 1, "%s", agt_logtext(&t));
	cr_expect_eq(agt_log_count(&t, "create", dir, "kernel-floor"), 1, "%s", agt_logtext(&t));
	cr_expect(strstr(r.err, P("agentguard: denied create %s (rule kernel-floor)", fresh)), "%s",
		  r.err);
	cr_expect_eq(agt_log_count(&t, NULL, P("%s/ro.txt", t.ws), NULL), 0, "%s",
		     agt_logtext(&t));
}

Test(floor, temp_files_and_places_made_after_the_launch_are_explained)
{
	/* sed -i makes its temp file with mkostemp beside the file; a place
	 * the policy names (~/.gradle) but that did not exist at launch is
	 * not granted either: both refusals are the floor's, and said so. */
	setup("fl-explain2");
	const char *notes = P("%s/notes.txt", t.out), *cache = P("%s/.gradle", t.home);
	agt_put(notes, "old\n");
	agt_sh(&t, &r, "sed -i s/old/new/ '%s'; echo rc=$?; mkdir '%s'; echo rc=$?", notes, cache);
	cr_expect(strstr(r.out, "rc=4\nrc=1\n"), "%s\n%s", r.out, r.err);
	/* ~/.npm existed and is granted: what is in it, not itself, whose
	 * removal is a right of the home directory. */
	const char *npm = P("%s/.npm", t.home);
	agt_sh(&t, &r, "rmdir '%s'; echo rc=$?", npm);
	cr_expect(strstr(r.out, "rc=1\n") && agt_exists(npm), "%s\n%s", r.out, r.err);
	cr_expect(strstr(agt_logtext(&t),
			 P("\"op\":\"delete\",\"path\":\"%s\",\"path2\":null,\"argv\":null,"
			   "\"addr\":null,\"port\":null,\"rule\":\"kernel-floor\",\"action\":"
			   "\"deny\",\"errno\":\"EACCES\",\"mode\":\"enforce\",\"note\":\"the "
			   "kernel floor grants what is in the places the policy names, not removing",
			   npm)),
		  "%s", agt_logtext(&t));
	expect_file(notes, "old\n");
	cr_expect(!agt_exists(cache));
	const char *log = agt_logtext(&t);
	cr_expect(strstr(log, P("\"op\":\"create\",\"path\":\"%s/sed", t.out)) &&
		      strstr(log, "grants writes only where the policy names them"),
		  "%s", log);
	cr_expect_eq(agt_log_count(&t, "create", cache, "kernel-floor"), 1, "%s", log);
	cr_expect(strstr(log, "existed when the session began"), "%s", log);
}

Test(floor, hide_secrets_makes_them_unreadable_to_raw_reads)
{
	/* Read with the syscall instruction: the preload never sees it, so
	 * only the floor can refuse it. The public key beside the private
	 * one, allowed by an earlier rule, stays readable, as does the rest. */
	setup("fl-hide");
	const char *prog = rawcall("");
	agt_put(P("%s/.ssh/id_rsa", t.home), "PRIVATE\n");
	agt_put(P("%s/.ssh/id_rsa.pub", t.home), "PUBLIC\n");
	agt_put(P("%s/notes.txt", t.home), "notes\n");
	agt_put(P("%s/f.txt", t.ws), "ws\n");
	const char *rules =
	    "{\"id\": \"pub\", \"ops\": [\"read\"], \"paths\": [\"${HOME}/.ssh/*.pub\"], "
	    "\"action\": \"allow\"},"
	    "{\"id\": \"secrets\", \"ops\": [\"read\", \"write\"], \"paths\": "
	    "[\"${HOME}/.ssh/id_*\"], \"action\": \"deny\"},"
	    "{\"id\": \"ws\", \"ops\": [\"write\", \"create\", \"delete\", \"rename\"], \"paths\": "
	    "[\"${WORKSPACE}/**\", \"${TMPDIR}/**\", \"/dev/null\"], \"action\": \"allow\"}";
	const char *const argv[] = {prog,
				    "read",
				    P("%s/.ssh/id_rsa", t.home),
				    "read",
				    P("%s/.ssh/id_rsa.pub", t.home),
				    "read",
				    P("%s/notes.txt", t.home),
				    "read",
				    P("%s/f.txt", t.ws),
				    "read",
				    "/etc/hostname",
				    NULL};

	agt_policy(&t, P("{\"version\": 1, \"floor\": {\"hide_secrets\": true}, \"rules\": [%s]}",
			 rules));
	run(argv, NULL);
	cr_expect(strstr(r.floor, "hides secrets from reads"), "%s", r.floor);
	cr_expect(strstr(r.out, P("read %s/.ssh/id_rsa -13\n", t.home)), "%s", r.out);
	cr_expect(strstr(r.out, P("read %s/.ssh/id_rsa.pub 0\n", t.home)), "%s", r.out);
	cr_expect(strstr(r.out, P("read %s/notes.txt 0\n", t.home)), "%s", r.out);
	cr_expect(strstr(r.out, P("read %s/f.txt 0\n", t.ws)), "%s", r.out);
	cr_expect(strstr(r.out, "read /etc/hostname 0\n"), "%s", r.out);

	/* Off (the default), the raw read gets through: the preload alone
	 * refuses reads, and only those it sees. */
	agt_policy(&t, P("{\"version\": 1, \"rules\": [%s]}", rules));
	run(argv, NULL);
	cr_expect(strstr(r.out, P("read %s/.ssh/id_rsa 0\n", t.home)), "%s", r.out);
}

Test(floor, libc_syscall_unlinkat_and_openat_trunc_outside_are_stopped_and_logged)
{
	/* Through libc's syscall() the preload judges the call itself (and
	 * logs it); the floor would refuse it too. */
	setup("fl-syscall");
	const char *a = P("%s/a.txt", t.out), *b = P("%s/b.txt", t.out);
	agt_put(a, "precious\n");
	agt_put(b, "precious\n");
	const char *py = "import ctypes, os, sys\n"
			 "libc = ctypes.CDLL(None, use_errno=True)\n"
			 "rc = libc.syscall(263, -100, sys.argv[1].encode(), 0)\n"
			 "print('unlinkat', rc, ctypes.get_errno())\n"
			 "rc = libc.syscall(257, -100, sys.argv[2].encode(), os.O_WRONLY | os.O_TRUNC)\n"
			 "print('openat', rc, ctypes.get_errno())\n";
	run((const char *[]){"python3", "-c", py, a, b, NULL}, NULL);
	expect_file(a, "precious\n");
	expect_file(b, "precious\n");
	cr_expect(strstr(r.out, "unlinkat -1 13\nopenat -1 13\n"), "%s\n%s", r.out, r.err);
	cr_expect_eq(agt_log_count(&t, "delete", a, "outside-workspace"), 1, "%s", agt_logtext(&t));
	cr_expect_eq(agt_log_count(&t, "write", b, "outside-workspace"), 1, "%s", agt_logtext(&t));
}

/* openat2 through libc's syscall() is judged from a copy of its how, the
 * one the kernel then gets. A longer how than the guard knows counts as
 * the kernel counts it: a zero tail means the known structure (judged:
 * this one truncates a file outside), any other tail asks for what the
 * guard cannot judge (E2BIG). */
Test(floor, openat2_through_syscall_is_judged_on_what_the_kernel_gets)
{
	setup("fl-o2long");
	const char *prog = rawcall("");
	const char *a = P("%s/a.txt", t.out), *in = P("%s/in.txt", t.ws);
	agt_put(a, "precious\n");
	agt_put(in, "scratch\n");

	run((const char *[]){prog, "libo2long", a, "libo2tail", in, "libo2long", in, NULL}, NULL);
	cr_expect(strstr(r.out, "libo2long -13\nlibo2tail -7\nlibo2long 0\n"), "%s\n%s", r.out,
		  r.err);
	expect_file(a, "precious\n");
	expect_file(in, "");
	cr_expect_eq(agt_log_count(&t, "write", a, "outside-workspace"), 1, "%s", agt_logtext(&t));

	/* Another thread flipping the flags between a read and a truncating
	 * write while the open is judged: the preload alone (the floor would
	 * stop the write by itself) judges what the kernel gets, so the file
	 * outside is read or refused, never emptied. */
	t.no_floor = true;
	run((const char *[]){prog, "o2race", a, NULL}, NULL);
	cr_expect(said("o2race", 0), "the file was emptied under the race:\n%s\n%s", r.out, r.err);
	expect_file(a, "precious\n");
}

/* RESOLVE_IN_ROOT makes the directory the root of the lookup ("/victim"
 * is D/victim): the guard does not resolve that as the kernel will, so an
 * open that creates or truncates is refused, and named in the log; a read
 * is judged on what was opened, and goes through. */
Test(floor, openat2_in_root_that_would_create_or_truncate_is_refused)
{
	setup("fl-o2root");
	t.no_floor = true; /* the preload's own answer */
	const char *prog = rawcall("");
	const char *d = P("%s/d", t.out), *v = P("%s/d/victim", t.out);
	agt_put(v, "precious\n");

	run((const char *[]){prog, "o2root", d, "o2rootread", d, NULL}, NULL);
	cr_expect(said("o2root", -13) && said("o2rootread", 0), "%s\n%s", r.out, r.err);
	expect_file(v, "precious\n");
	cr_expect_eq(agt_log_count(&t, "write", v, "unguardable"), 1, "%s", agt_logtext(&t));
	cr_expect(strstr(agt_logtext(&t), "RESOLVE_IN_ROOT"), "%s", agt_logtext(&t));
}

Test(floor, truncating_opens_that_ask_no_right_to_write_are_refused)
{
	/* Linux empties the file on O_TRUNC whatever the access mode, and an
	 * open for reading (or with access mode 3) needs no Landlock right to
	 * write: the seccomp filter refuses those opens, anywhere. openat2
	 * hides its flags from the filter, so without the guard's mark it
	 * answers ENOSYS; through libc's syscall() the preload judges it and
	 * it goes through. */
	setup("fl-rdtrunc");
	const char *prog = rawcall("");
	const char *a = P("%s/a.txt", t.out), *in = P("%s/in.txt", t.ws);
	agt_put(a, "precious\n");
	agt_put(in, "scratch\n");

	run((const char *[]){prog, "rdtrunc", a, "acc3trunc", a, "o2trunc", a, "o2read", in,
			     "pathtrunc", in, "libo2read", in, NULL},
	    NULL);
	cr_expect(said("rdtrunc", -13) && said("acc3trunc", -13), "%s", r.out);
	cr_expect(said("o2trunc", -38) && said("o2read", -38), "%s", r.out);
	cr_expect(said("pathtrunc", 0) && said("libo2read", 0), "%s\n%s", r.out, r.err);
	expect_file(a, "precious\n");
	expect_file(in, "scratch\n");

	/* A new file made with O_CREAT | O_EXCL | O_TRUNC and no access mode
	 * empties nothing: it passes. */
	const char *fresh = P("%s/fresh.lock", t.ws);
	run((const char *[]){prog, "rdcreatexcl", fresh, NULL}, NULL);
	cr_expect(said("rdcreatexcl", 0) && agt_exists(fresh), "%s", r.out);

	/* Through libc the preload makes the open ask to write: in the
	 * workspace it works as unguarded (a lock file made with O_CREAT |
	 * O_TRUNC and no access mode, an existing file emptied); outside, the
	 * policy refuses it. */
	const char *lock = P("%s/made.lock", t.ws);
	run((const char *[]){"python3", "-c",
			     "import os, sys\n"
			     "for p in sys.argv[1:]:\n"
			     "    try:\n"
			     "        os.close(os.open(p, os.O_RDONLY | os.O_CREAT | os.O_TRUNC, 0o644))\n"
			     "        print('py', 0)\n"
			     "    except OSError as e:\n"
			     "        print('py', -e.errno)\n",
			     lock, in, a, NULL},
	    NULL);
	cr_expect(strstr(r.out, "py 0\npy 0\npy -13\n"), "%s\n%s", r.out, r.err);
	cr_expect(agt_exists(lock));
	expect_file(in, "");
	expect_file(a, "precious\n");
	cr_expect_eq(agt_log_count(&t, "write", a, "outside-workspace"), 1, "%s", agt_logtext(&t));
	agt_put(in, "scratch\n");

	/* The floor, not the preload, stopped them: without it they empty
	 * the file. */
	t.no_floor = true;
	run((const char *[]){prog, "rdtrunc", a, NULL}, NULL);
	cr_expect(said("rdtrunc", 0), "%s", r.out);
	expect_file(a, "");
}

Test(floor, a_bare_truncate_outside_is_confined_when_the_policy_asks)
{
	/* Opening for writing (O_TRUNC included) is confined by the right to
	 * write; truncate(2) by path only when the policy sets "truncate",
	 * which costs every open a walk of its path in the kernel. */
	setup("fl-truncate");
	const char *prog = rawcall("");
	const char *a = P("%s/a.txt", t.out), *b = P("%s/b.txt", t.out);
	agt_put(a, "precious\n");
	agt_put(b, "precious\n");
	const char *rules =
	    "{\"id\": \"ws\", \"ops\": [\"write\", \"create\", \"delete\", \"rename\"], \"paths\": "
	    "[\"${WORKSPACE}/**\", \"${TMPDIR}/**\", \"/dev/null\"], \"action\": \"allow\"},"
	    "{\"id\": \"out\", \"ops\": [\"write\", \"delete\", \"rename\"], \"paths\": [\"/**\"], "
	    "\"action\": \"deny\"}";

	agt_policy(&t, P("{\"version\": 1, \"floor\": {\"truncate\": true}, \"rules\": [%s]}",
			 rules));
	run((const char *[]){prog, "truncate", a, NULL}, NULL);
	cr_expect(strstr(r.floor, "truncate(2) too"), "%s", r.floor);
	cr_expect(said("truncate", -13), "%s", r.out);
	expect_file(a, "precious\n");

	agt_policy(&t, P("{\"version\": 1, \"rules\": [%s]}", rules));
	run((const char *[]){prog, "truncate", b, "trunc", a, NULL}, NULL);
	cr_expect(said("truncate", 0) && said("trunc", -13), "%s", r.out);
	expect_file(b, "");
	expect_file(a, "precious\n");
}

Test(floor, without_the_floor_a_raw_write_then_rename_still_leaves_the_target)
{
	/* Claude Code's Write tool, as measured: a temp file made with raw
	 * calls, its mode set through libc, then renamed onto the target. The
	 * preload never saw the temp file created; it lets its mode change (it
	 * was born during the session, and only the catch-all rule refuses it)
	 * so that the program reaches the rename, which is refused, instead of
	 * overwriting the target in place. A file that existed before the
	 * session keeps its mode. */
	setup("fl-born");
	const char *prog = rawcall("");
	const char *target = P("%s/notes.txt", t.out), *tmp = P("%s/notes.txt.tmp.1", t.out);
	agt_put(target, "precious\n");
	t.no_floor = true;

	run((const char *[]){prog, "create", tmp, "chmod", tmp, "rename", P("%s=%s", tmp, target),
			     "chmod", target, NULL},
	    NULL);

	cr_expect(said("create", 0) && said("chmod", 0), "%s\n%s", r.out, r.err);
	cr_expect(said("rename", -13) && said("chmod", -13), "%s\n%s", r.out, r.err);
	expect_file(target, "precious\n");
	cr_expect_eq(agt_log_count(&t, "chmod", tmp, NULL), 0, "%s", agt_logtext(&t));
	cr_expect_eq(agt_log_count(&t, "chmod", target, "outside-workspace"), 1, "%s",
		     agt_logtext(&t));
	cr_expect_eq(agt_log_count(&t, "rename", NULL, "outside-workspace"), 1, "%s",
		     agt_logtext(&t));
}

Test(floor, a_file_a_rule_names_keeps_its_mode_even_when_born_in_the_session)
{
	/* ~/.bashrc made with raw calls during the session is still the
	 * persistence rule's: its mode does not change. */
	setup("fl-born-named");
	const char *prog = rawcall("");
	const char *rc = P("%s/.bashrc", t.home);
	t.no_floor = true;
	run((const char *[]){prog, "create", rc, "chmod", rc, NULL}, NULL);
	cr_expect(said("create", 0) && said("chmod", -13), "%s\n%s", r.out, r.err);
	cr_expect_eq(agt_log_count(&t, "chmod", rc, "persistence"), 1, "%s", agt_logtext(&t));
}
