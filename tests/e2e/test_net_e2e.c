/* End-to-end tests of the network guard: connect and the sends that name a
 * destination are refused before anything leaves, for TCP over IPv4 and
 * IPv6, UDP, unix sockets (files and the abstract namespace) and host names
 * looked up through libc, by a C client built here, python3, curl and node.
 *
 * Every server is one this test starts, on loopback or a unix socket, in the
 * test process (never preloaded), so each refusal is checked from both ends:
 * what the guarded program got and logged, and that the server saw nothing.
 * The destinations that are not on this machine (the metadata service, a
 * private address) are tried in a fresh network namespace when `unshare -n`
 * works, so nothing could leave even if the guard failed; there the kernel
 * would answer ENETUNREACH, so EACCES is the guard's answer alone. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

static struct agt T;
static struct agt_result R;
static char client_bin[PATH_MAX]; /* the C client, built once per test */
static char python_bin[PATH_MAX]; /* python3 itself, past any pyenv shim */
static int netns = -1;		  /* whether `unshare -n` works here */

/* ---- small helpers ------------------------------------------------------ */

/* printf into one of a ring of buffers, good for a few statements. */
static const char *pth(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *pth(const char *fmt, ...)
{
	static char ring[64][PATH_MAX];
	static unsigned next;
	char *b = ring[next++ % 64];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(b, PATH_MAX, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && n < PATH_MAX, "string too long");
	return b;
}

/* snprintf that fails the test rather than cut a path short. */
static void fit(char *dst, size_t sz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fit(char *dst, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(dst, sz, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sz, "string too long");
}

static const char *need_env(const char *name)
{
	const char *v = getenv(name);
	cr_assert(v && *v, "%s is not set; run through ctest", name);
	return v;
}

#define dump agt_dump

#define POLICY(rules) "{\"version\": 1, \"default\": \"allow\", \"rules\": [" rules "]}"

static void policy(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void policy(const char *fmt, ...)
{
	char *json;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&json, fmt, ap);
	va_end(ap);
	cr_assert(n > 0);
	agt_policy(&T, json);
	free(json);
}

static bool have(const char *prog)
{
	/* With the ASan runtime preloaded (sanitized builds), Debian 12's curl
	 * hangs in setlocale before main, guard or no guard. */
	const char *pre = getenv("AGT_PRELOAD");
	if (strcmp(prog, "curl") == 0 && pre && strstr(pre, "libasan")) {
		cr_log_info("curl hangs under the ASan runtime: its part of this test is skipped");
		return false;
	}
	struct agt_result *r = malloc(sizeof(*r));
	bool ok = agt_sh_unguarded(&T, r, "command -v %s >/dev/null", prog) == 0;
	free(r);
	if (!ok)
		cr_log_info("%s is not installed: its part of this test is skipped", prog);
	return ok;
}

static bool ipv6_here(void)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool netns_here(void)
{
	if (netns < 0) {
		struct agt_result *r = malloc(sizeof(*r));
		netns = agt_sh_unguarded(&T, r, "unshare -n -- true") == 0;
		free(r);
		if (!netns)
			cr_log_info(
			    "unshare -n is not available: off-machine destinations are tried "
			    "here, with short timeouts");
	}
	return netns;
}

/* ---- servers in the test process ---------------------------------------- */

struct srv {
	int fd, port;
	char unlink[PATH_MAX]; /* a socket file to remove at the end */
	bool running;
	pthread_t th;
	atomic_int seen; /* connections accepted, or datagrams received */
	atomic_bool stop;
};

#define MAXSRV 16
static struct srv SRV[MAXSRV];
static int NSRV;

/* curl sends a request and waits: it gets an empty reply. The other clients
 * send nothing and close, which ends the wait at once. */
static void answer(int c)
{
	static const char reply[] = "HTTP/1.0 204 No Content\r\nContent-Length: 0\r\n\r\n";
	struct pollfd p = {.fd = c, .events = POLLIN};
	char buf[2048];

	if (poll(&p, 1, 2000) == 1 && recv(c, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		send(c, reply, sizeof(reply) - 1, MSG_NOSIGNAL);
	close(c);
}

/* Accepts and answers until told to stop, then takes what is still queued:
 * a connection the kernel completed is in the queue even if its client has
 * exited, so a count read after srv_seen() misses none. */
static void *accept_loop(void *arg)
{
	struct srv *s = arg;

	for (;;) {
		bool last = atomic_load(&s->stop);
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		int rc = poll(&p, 1, last ? 0 : 50);
		if (rc > 0) {
			int c;
			while ((c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				atomic_fetch_add(&s->seen, 1);
				answer(c);
			}
			continue;
		}
		if (last)
			return NULL;
	}
}

static void srv_start(struct srv *s)
{
	atomic_store(&s->stop, false);
	cr_assert_eq(pthread_create(&s->th, NULL, accept_loop, s), 0);
	s->running = true;
}

static struct srv *srv_new(int fd)
{
	cr_assert(NSRV < MAXSRV);
	struct srv *s = &SRV[NSRV++];
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	atomic_store(&s->seen, 0);
	return s;
}

/* Connections seen so far (the thread drains the queue and starts over). */
static int srv_seen(struct srv *s)
{
	if (s->running) {
		atomic_store(&s->stop, true);
		pthread_join(s->th, NULL);
		s->running = false;
		srv_start(s);
	}
	return atomic_load(&s->seen);
}

static socklen_t inet_sa(const char *addr, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		cr_assert_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1, "bad address %s", addr);
		return sizeof(*s6);
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1, "bad address %s", addr);
	return sizeof(*s4);
}

/* A TCP listener or UDP socket on addr:port (0: any free port), or NULL when
 * the address cannot be bound here. */
static struct srv *srv_inet(int type, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = inet_sa(addr, port, &ss);
	int one = 1;
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return NULL;
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) != 0)) {
		close(fd);
		return NULL;
	}
	len = sizeof(ss);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	struct srv *s = srv_new(fd);
	s->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (type == SOCK_STREAM)
		srv_start(s);
	return s;
}

static struct srv *srv_tcp(const char *addr)
{
	struct srv *s = srv_inet(SOCK_STREAM, addr, 0);
	cr_assert(s, "cannot listen on %s: %s", addr, strerror(errno));
	return s;
}

/* A unix stream listener at path, or in the abstract namespace for "@name". */
static struct srv *srv_unix(const char *path)
{
	struct sockaddr_un su = {.sun_family = AF_UNIX};
	size_t n = strlen(path);

	cr_assert(n < sizeof(su.sun_path), "socket path too long: %s", path);
	memcpy(su.sun_path, path, n);
	if (path[0] == '@')
		su.sun_path[0] = '\0';
	else
		unlink(path);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&su, len) == 0 && listen(fd, 64) == 0,
		  "unix server %s: %s", path, strerror(errno));
	struct srv *s = srv_new(fd);
	if (path[0] != '@')
		fit(s->unlink, sizeof(s->unlink), "%s", path);
	srv_start(s);
	return s;
}

/* Datagrams received: the senders have exited, so what they sent is queued
 * or on its way; wait for the expected ones, then briefly for any more. */
static int udp_seen(struct srv *s, int want)
{
	char buf[512];

	for (;;) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (poll(&p, 1, atomic_load(&s->seen) < want ? 3000 : 300) <= 0)
			break;
		while (recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
			atomic_fetch_add(&s->seen, 1);
	}
	return atomic_load(&s->seen);
}

/* ---- the programs ------------------------------------------------------- */

/* Prints "ok" and exits 0, or prints "errno N (...)" and exits 3. */
static const char CLIENT_SRC[] =
    "#define _GNU_SOURCE\n"
    "#include <arpa/inet.h>\n"
    "#include <errno.h>\n"
    "#include <fcntl.h>\n"
    "#include <netdb.h>\n"
    "#include <poll.h>\n"
    "#include <stddef.h>\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "#include <sys/socket.h>\n"
    "#include <sys/time.h>\n"
    "#include <sys/un.h>\n"
    "#include <unistd.h>\n"
    "\n"
    "static int fail(const char *what)\n"
    "{\n"
    "	int e = errno;\n"
    "	printf(\"errno %d (%s: %s)\\n\", e, what, strerror(e));\n"
    "	return 3;\n"
    "}\n"
    "\n"
    "static socklen_t inet(const char *fam, const char *addr, const char *port,\n"
    "		      struct sockaddr_storage *ss)\n"
    "{\n"
    "	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;\n"
    "	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;\n"
    "	memset(ss, 0, sizeof(*ss));\n"
    "	if (strcmp(fam, \"6\") == 0) {\n"
    "		s6->sin6_family = AF_INET6;\n"
    "		s6->sin6_port = htons((unsigned short)atoi(port));\n"
    "		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)\n"
    "			exit(2);\n"
    "		return sizeof(*s6);\n"
    "	}\n"
    "	s4->sin_family = AF_INET;\n"
    "	s4->sin_port = htons((unsigned short)atoi(port));\n"
    "	if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)\n"
    "		exit(2);\n"
    "	return sizeof(*s4);\n"
    "}\n"
    "\n"
    "static int tcp(int nonblock, const struct sockaddr_storage *ss, socklen_t len)\n"
    "{\n"
    "	struct timeval tv = {5, 0};\n"
    "	int fd = socket(ss->ss_family, SOCK_STREAM, 0);\n"
    "	if (fd < 0)\n"
    "		return fail(\"socket\");\n"
    "	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));\n"
    "	if (nonblock)\n"
    "		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);\n"
    "	if (connect(fd, (const struct sockaddr *)ss, len) != 0) {\n"
    "		if (!nonblock || errno != EINPROGRESS)\n"
    "			return fail(\"connect\");\n"
    "		struct pollfd p = {.fd = fd, .events = POLLOUT};\n"
    "		int err = ETIMEDOUT;\n"
    "		socklen_t elen = sizeof(err);\n"
    "		if (poll(&p, 1, 5000) == 1)\n"
    "			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);\n"
    "		if (err) {\n"
    "			errno = err;\n"
    "			return fail(\"connect in progress\");\n"
    "		}\n"
    "	}\n"
    "	puts(\"ok\");\n"
    "	return 0;\n"
    "}\n"
    "\n"
    "/* sendmmsg sends to ss2 first, then to ss. */\n"
    "static int udp(const char *how, const struct sockaddr_storage *ss, socklen_t len,\n"
    "	       const struct sockaddr_storage *ss2, socklen_t len2)\n"
    "{\n"
    "	char msg[] = \"agentguard\";\n"
    "	struct iovec iov = {msg, sizeof(msg) - 1};\n"
    "	long rc = -1;\n"
    "	int fd = socket(ss->ss_family, SOCK_DGRAM, 0);\n"
    "	if (fd < 0)\n"
    "		return fail(\"socket\");\n"
    "	if (strcmp(how, \"sendto\") == 0) {\n"
    "		rc = sendto(fd, msg, iov.iov_len, 0, (const struct sockaddr *)ss, len);\n"
    "	} else if (strcmp(how, \"sendmsg\") == 0) {\n"
    "		struct msghdr m = {.msg_name = (void *)ss, .msg_namelen = len,\n"
    "				   .msg_iov = &iov, .msg_iovlen = 1};\n"
    "		rc = sendmsg(fd, &m, 0);\n"
    "	} else if (strcmp(how, \"sendmmsg\") == 0) {\n"
    "		struct mmsghdr v[2] = {\n"
    "			{.msg_hdr = {.msg_name = (void *)ss2, .msg_namelen = len2,\n"
    "				     .msg_iov = &iov, .msg_iovlen = 1}},\n"
    "			{.msg_hdr = {.msg_name = (void *)ss, .msg_namelen = len,\n"
    "				     .msg_iov = &iov, .msg_iovlen = 1}},\n"
    "		};\n"
    "		rc = sendmmsg(fd, v, 2, 0);\n"
    "	} else if (strcmp(how, \"uconnect\") == 0) {\n"
    "		rc = connect(fd, (const struct sockaddr *)ss, len);\n"
    "		if (rc == 0)\n"
    "			rc = send(fd, msg, iov.iov_len, 0);\n"
    "	} else {\n"
    "		return 2;\n"
    "	}\n"
    "	if (rc < 0)\n"
    "		return fail(how);\n"
    "	printf(\"ok %ld\\n\", rc);\n"
    "	return 0;\n"
    "}\n"
    "\n"
    "/* Looks name up through one of libc's entry points, then connects by number. */\n"
    "static int lookup(const char *how, const char *name, const char *port)\n"
    "{\n"
    "	struct sockaddr_storage ss;\n"
    "	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;\n"
    "	struct hostent he, *h = NULL;\n"
    "	char buf[8192];\n"
    "	int herr = 0;\n"
    "	memset(&ss, 0, sizeof(ss));\n"
    "	s4->sin_family = AF_INET;\n"
    "	s4->sin_port = htons((unsigned short)atoi(port));\n"
    "	if (strcmp(how, \"gai\") == 0) {\n"
    "		struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};\n"
    "		struct addrinfo *res;\n"
    "		int rc = getaddrinfo(name, port, &hints, &res);\n"
    "		if (rc != 0) {\n"
    "			printf(\"lookup failed: %s\\n\", gai_strerror(rc));\n"
    "			return 2;\n"
    "		}\n"
    "		memcpy(&ss, res->ai_addr, res->ai_addrlen);\n"
    "		freeaddrinfo(res);\n"
    "		return tcp(0, &ss, sizeof(*s4));\n"
    "	}\n"
    "	if (strcmp(how, \"ghbn\") == 0)\n"
    "		h = gethostbyname(name);\n"
    "	else if (strcmp(how, \"ghbn2\") == 0)\n"
    "		h = gethostbyname2(name, AF_INET);\n"
    "	else if (strcmp(how, \"ghbn_r\") == 0)\n"
    "		gethostbyname_r(name, &he, buf, sizeof(buf), &h, &herr);\n"
    "	else if (strcmp(how, \"ghbn2_r\") == 0)\n"
    "		gethostbyname2_r(name, AF_INET, &he, buf, sizeof(buf), &h, &herr);\n"
    "	if (!h || h->h_addrtype != AF_INET || !h->h_addr_list[0]) {\n"
    "		puts(\"lookup failed\");\n"
    "		return 2;\n"
    "	}\n"
    "	memcpy(&s4->sin_addr, h->h_addr_list[0], 4);\n"
    "	return tcp(0, &ss, sizeof(*s4));\n"
    "}\n"
    "\n"
    "static int unix_connect(const char *path)\n"
    "{\n"
    "	struct sockaddr_un su = {.sun_family = AF_UNIX};\n"
    "	size_t n = strlen(path);\n"
    "	if (n >= sizeof(su.sun_path))\n"
    "		return 2;\n"
    "	memcpy(su.sun_path, path, n);\n"
    "	if (path[0] == '@')\n"
    "		su.sun_path[0] = '\\0';\n"
    "	else\n"
    "		n++;\n"
    "	int fd = socket(AF_UNIX, SOCK_STREAM, 0);\n"
    "	if (fd < 0)\n"
    "		return fail(\"socket\");\n"
    "	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);\n"
    "	if (connect(fd, (struct sockaddr *)&su, len) != 0)\n"
    "		return fail(\"connect\");\n"
    "	puts(\"ok\");\n"
    "	return 0;\n"
    "}\n"
    "\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "	struct sockaddr_storage a, b;\n"
    "	if (argc >= 3 && strcmp(argv[1], \"unix\") == 0)\n"
    "		return unix_connect(argv[2]);\n"
    "	int look = argc >= 4 && (!strcmp(argv[1], \"gai\") || !strncmp(argv[1], \"ghbn\", 4));\n"
    "	if (look)\n"
    "		return lookup(argv[1], argv[2], argv[3]);\n"
    "	if (argc < 5)\n"
    "		return 2;\n"
    "	socklen_t la = inet(argv[2], argv[3], argv[4], &a);\n"
    "	if (strcmp(argv[1], \"tcp\") == 0)\n"
    "		return tcp(0, &a, la);\n"
    "	if (strcmp(argv[1], \"nb\") == 0)\n"
    "		return tcp(1, &a, la);\n"
    "	if (strcmp(argv[1], \"sendmmsg\") == 0) {\n"
    "		if (argc < 7)\n"
    "			return 2;\n"
    "		socklen_t lb = inet(argv[2], argv[5], argv[6], &b);\n"
    "		return udp(argv[1], &a, la, &b, lb);\n"
    "	}\n"
    "	return udp(argv[1], &a, la, &a, la);\n"
    "}\n";

/* python3 -c PY MODE FAMILY HOST PORT: "ok" and 0, or "errno N" and 3. */
static const char PY[] =
    "import errno, select, socket, sys\n"
    "mode, fam, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])\n"
    "F = {'4': socket.AF_INET, '6': socket.AF_INET6, 'u': socket.AF_UNIX}[fam]\n"
    "try:\n"
    "    if mode == 'create':\n"
    "        s = socket.create_connection((host, port), timeout=5)\n"
    "    elif mode == 'lookup':\n"
    "        ip = socket.gethostbyname(host)\n"
    "        s = socket.socket(F)\n"
    "        s.settimeout(5)\n"
    "        s.connect((ip, port))\n"
    "    elif mode == 'lookup-create':\n"
    "        ip = socket.gethostbyname(host)\n"
    "        s = socket.create_connection((ip, port), timeout=5)\n"
    "    elif mode == 'nb':\n"
    "        s = socket.socket(F)\n"
    "        s.setblocking(False)\n"
    "        rc = s.connect_ex((host, port))\n"
    "        print('connect_ex', rc)\n"
    "        if rc not in (0, errno.EINPROGRESS):\n"
    "            sys.exit(3)\n"
    "        select.select([], [s], [], 5)\n"
    "        rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)\n"
    "        print('so_error', rc)\n"
    "        if rc != 0:\n"
    "            sys.exit(4)\n"
    "    elif mode == 'unix':\n"
    "        s = socket.socket(socket.AF_UNIX)\n"
    "        s.settimeout(5)\n"
    "        s.connect('\\0' + host[1:] if host.startswith('@') else host)\n"
    "    elif mode == 'udp':\n"
    "        s = socket.socket(F, socket.SOCK_DGRAM)\n"
    "        s.sendto(b'agentguard', (host, port))\n"
    "    else:\n"
    "        s = socket.socket(F)\n"
    "        s.settimeout(5)\n"
    "        s.connect((host, port))\n"
    "except OSError as e:\n"
    "    print('errno', e.errno, e)\n"
    "    sys.exit(3)\n"
    "print('ok')\n";

/* node -e NODE PORT HOST */
static const char NODE[] =
    "const s = require('net').connect(Number(process.argv[1]), process.argv[2]);\n"
    "s.setTimeout(5000, () => { console.log('timeout'); process.exit(4); });\n"
    "s.on('connect', () => { console.log('ok'); s.destroy(); });\n"
    "s.on('error', (e) => { console.log('error ' + e.code); process.exit(3); });\n";

static const char *client(void)
{
	if (client_bin[0])
		return client_bin;
	const char *src = pth("%s/netc.c", T.root);
	fit(client_bin, sizeof(client_bin), "%s/netc", T.root);
	agt_write(src, CLIENT_SRC);
	int rc = agt_sh_unguarded(&T, &R, "gcc -std=c11 -O1 -Wall -Wextra -Werror -o '%s' '%s'",
				  client_bin, src);
	cr_assert_eq(rc, 0, "building the client failed:\n%s%s", R.out, R.err);
	return client_bin;
}

static const char *python(void)
{
	if (!python_bin[0]) {
		int rc = agt_sh_unguarded(&T, &R, "python3 -c 'import sys; print(sys.executable)'");
		cr_assert_eq(rc, 0, "python3 is needed: %s", R.err);
		R.out[strcspn(R.out, "\n")] = '\0';
		fit(python_bin, sizeof(python_bin), "%s", R.out);
	}
	return python_bin;
}

/* Runs the NULL-terminated argument list guarded; in a fresh network
 * namespace when ns is set and that is possible. */
static int runv(bool ns, const char *first, ...)
{
	const char *argv[32];
	int n = 0;
	va_list ap;

	if (ns && netns_here()) {
		argv[n++] = "unshare";
		argv[n++] = "-n";
		argv[n++] = "--";
	}
	va_start(ap, first);
	for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return agt_run(&T, &R, argv, NULL);
}

static const char *num(int port)
{
	return pth("%d", port);
}

static int py(const char *mode, const char *fam, const char *host, int port)
{
	return runv(false, python(), "-c", PY, mode, fam, host, num(port), NULL);
}

static int py_ns(const char *mode, const char *fam, const char *host, int port)
{
	return runv(true, python(), "-c", PY, mode, fam, host, num(port), NULL);
}

static int curl_url(const char *url)
{
	return runv(false, "curl", "-sS", "-g", "-o", "/dev/null", "--max-time", "5", url, NULL);
}

static int curl_unix(const char *sock)
{
	return runv(false, "curl", "-sS", "-o", "/dev/null", "--max-time", "5", "--unix-socket",
		    sock, "http://localhost/version", NULL);
}

static int node(const char *host, int port)
{
	return runv(false, "node", "-e", NODE, num(port), host, NULL);
}

/* ---- what a run and the log must show ----------------------------------- */

static void refused_as(const char *who, const char *text)
{
	cr_assert(R.status == 3 && strstr(R.out, text),
		  "%s: expected a refusal (\"%s\", exit 3); got status %d\nout: %s\nerr: %s", who,
		  text, R.status, R.out, R.err);
}

static void refused(const char *who)
{
	refused_as(who, "errno 13 ");
}

static void reached(const char *who)
{
	cr_assert(R.status == 0 && strstr(R.out, "ok"),
		  "%s: expected to get through; got status %d\nout: %s\nerr: %s", who, R.status,
		  R.out, R.err);
	cr_assert(!strstr(R.err, "agentguard:"), "%s: nothing to say, but: %s", who, R.err);
}

static void curl_refused(const char *who)
{
	cr_assert_eq(R.status, 7, "%s: expected curl's \"couldn't connect\" (7), got %d\nerr: %s",
		     who, R.status, R.err);
}

static void curl_reached(const char *who)
{
	cr_assert_eq(R.status, 0, "%s: curl failed (status %d)\nerr: %s", who, R.status, R.err);
}

/* The human line on stderr. */
static void said(const char *text)
{
	cr_assert(strstr(R.err, text), "expected \"%s\" on stderr; got: %s", text, R.err);
}

static const char NOHOST[] = "(no host)";

struct want {
	const char *rule;
	const char *addr; /* NULL: a unix socket, addr and port null */
	int port;
	const char *path; /* NULL: not checked */
	const char *host; /* NULL: not checked; NOHOST: must be absent */
	const char *exe;  /* a substring of exe; NULL: not checked */
};

static bool str_is(json_t *o, const char *k, const char *want)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

static bool absent(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return !v || json_is_null(v);
}

static bool line_is(json_t *o, const struct want *w)
{
	json_t *exe = json_object_get(o, "exe"), *port = json_object_get(o, "port");

	if (!str_is(o, "op", "connect") || !str_is(o, "action", "deny") ||
	    !str_is(o, "errno", "EACCES") || !str_is(o, "mode", "enforce") ||
	    !str_is(o, "rule", w->rule))
		return false;
	if (w->addr && (!str_is(o, "addr", w->addr) || !json_is_integer(port) ||
			json_integer_value(port) != w->port))
		return false;
	if (!w->addr && (!absent(o, "addr") || !absent(o, "port")))
		return false;
	if (w->path && !str_is(o, "path", w->path))
		return false;
	if (w->host == NOHOST && !absent(o, "host"))
		return false;
	if (w->host && w->host != NOHOST && !str_is(o, "host", w->host))
		return false;
	return !w->exe || (json_is_string(exe) && strstr(json_string_value(exe), w->exe));
}

static int log_count(const struct want *w)
{
	json_t *lines = agt_log_load(T.log), *o;
	size_t i;
	int n = 0;

	cr_assert_not_null(lines, "invalid log lines:\n%s", agt_dump(T.log));
	json_array_foreach(lines, i, o)
		n += line_is(o, w);
	json_decref(lines);
	return n;
}

static void logged(int n, struct want w)
{
	int got = log_count(&w);
	cr_assert_eq(got, n,
		     "expected %d log line(s) op connect, rule %s, addr %s, port %d, path %s, "
		     "host %s, exe *%s*, action deny, errno EACCES; found %d. The log:\n%s",
		     n, w.rule, w.addr ? w.addr : "null", w.addr ? w.port : -1,
		     w.path ? w.path : "(any)", w.host ? w.host : "(any)", w.exe ? w.exe : "", got,
		     dump(T.log));
}

/* ---- the suite ---------------------------------------------------------- */

static void setup(void)
{
	agt_setup(&T, "net");
	NSRV = 0;
	client_bin[0] = '\0';
}

static void teardown(void)
{
	for (int i = 0; i < NSRV; i++) {
		if (SRV[i].running) {
			atomic_store(&SRV[i].stop, true);
			pthread_join(SRV[i].th, NULL);
		}
		close(SRV[i].fd);
		if (SRV[i].unlink[0])
			unlink(SRV[i].unlink);
	}
	NSRV = 0;
	agt_teardown(&T);
}

TestSuite(net, .init = setup, .fini = teardown, .timeout = 90);

/* A skipped test ends without its .fini here: clean up first. */
#define SKIP(...)                                                                                  \
	do {                                                                                       \
		teardown();                                                                        \
		cr_skip_test(__VA_ARGS__);                                                         \
	} while (0)

/* ---- 1. TCP: a denied port, every kind of client ------------------------- */

Test(net, tcp_denied_port_refused_for_every_client)
{
	struct srv *s1 = srv_tcp("127.0.0.1"), *s2 = srv_tcp("127.0.0.1");
	int p1 = s1->port, p2 = s2->port, clients = 2;
	bool curl = have("curl"), nodejs = have("node");

	policy(POLICY("{\"id\": \"no-p1\", \"ops\": [\"connect\"], \"addrs\": [\"127.0.0.0/8\"], "
		      "\"ports\": [%d], \"action\": \"deny\"}"),
	       p1);
	runv(false, client(), "tcp", "4", "127.0.0.1", num(p1), NULL);
	refused("C client to the denied port");
	said(pth("agentguard: denied connect 127.0.0.1 port %d", p1));
	py("create", "4", "127.0.0.1", p1);
	refused("python create_connection to the denied port");
	if (curl) {
		curl_url(pth("http://127.0.0.1:%d/", p1));
		curl_refused("curl to the denied port");
		clients++;
	}
	if (nodejs) {
		node("127.0.0.1", p1);
		refused_as("node net.connect to the denied port", "error EACCES");
		clients++;
	}

	runv(false, client(), "tcp", "4", "127.0.0.1", num(p2), NULL);
	reached("C client to the other port");
	py("create", "4", "127.0.0.1", p2);
	reached("python create_connection to the other port");
	if (curl) {
		curl_url(pth("http://127.0.0.1:%d/", p2));
		curl_reached("curl to the other port");
	}
	if (nodejs) {
		node("127.0.0.1", p2);
		reached("node net.connect to the other port");
	}

	cr_assert_eq(srv_seen(s1), 0, "the server on the denied port saw a connection");
	cr_assert_eq(srv_seen(s2), clients, "the server on the allowed port saw %d of %d",
		     srv_seen(s2), clients);
	logged(
	    1,
	    (struct want){
		.rule = "no-p1", .addr = "127.0.0.1", .port = p1, .exe = "/netc", .host = NOHOST});
	logged(1, (struct want){.rule = "no-p1", .addr = "127.0.0.1", .port = p1, .exe = "python"});
	if (curl)
		logged(1, (struct want){
			      .rule = "no-p1", .addr = "127.0.0.1", .port = p1, .exe = "curl"});
	if (nodejs)
		logged(1, (struct want){
			      .rule = "no-p1", .addr = "127.0.0.1", .port = p1, .exe = "node"});
	cr_assert_eq(agt_log_lines(&T), clients, "only the refusals are logged:\n%s", dump(T.log));
}

Test(net, tcp_nonblocking_connect_refused)
{
	struct srv *s1 = srv_tcp("127.0.0.1"), *s2 = srv_tcp("127.0.0.1");
	int p1 = s1->port, p2 = s2->port;

	policy(POLICY("{\"id\": \"no-p1\", \"ops\": [\"connect\"], \"addrs\": [\"127.0.0.0/8\"], "
		      "\"ports\": [%d], \"action\": \"deny\"}"),
	       p1);
	py("nb", "4", "127.0.0.1", p1);
	refused_as("python non-blocking connect_ex", "connect_ex 13\n");
	runv(false, client(), "nb", "4", "127.0.0.1", num(p1), NULL);
	refused("C client, O_NONBLOCK connect");

	py("nb", "4", "127.0.0.1", p2);
	reached("python non-blocking connect_ex to the other port");
	cr_assert(strstr(R.out, "so_error 0"), "%s", R.out);
	runv(false, client(), "nb", "4", "127.0.0.1", num(p2), NULL);
	reached("C client, O_NONBLOCK connect to the other port");

	cr_assert_eq(srv_seen(s1), 0, "the server on the denied port saw a connection");
	cr_assert_eq(srv_seen(s2), 2);
	logged(1, (struct want){.rule = "no-p1", .addr = "127.0.0.1", .port = p1, .exe = "python"});
	logged(1, (struct want){.rule = "no-p1", .addr = "127.0.0.1", .port = p1, .exe = "/netc"});
	cr_assert_eq(agt_log_lines(&T), 2, "%s", dump(T.log));
}

Test(net, tcp_ipv6_loopback)
{
	if (!ipv6_here())
		SKIP("no IPv6 loopback here");
	struct srv *q1 = srv_tcp("::1"), *q2 = srv_tcp("::1"), *v4 = srv_tcp("127.0.0.1");
	/* ::1 on the IPv4 rule's port: 127.0.0.0/8 must not cover ::1. */
	struct srv *same = srv_inet(SOCK_STREAM, "::1", v4->port);
	bool curl = have("curl"), nodejs = have("node");
	int clients = 2;

	policy(POLICY("{\"id\": \"no-p1\", \"ops\": [\"connect\"], \"addrs\": [\"127.0.0.0/8\"], "
		      "\"ports\": [%d], \"action\": \"deny\"},"
		      "{\"id\": \"no-q1\", \"ops\": [\"connect\"], \"addrs\": [\"::1\"], "
		      "\"ports\": [%d], \"action\": \"deny\"}"),
	       v4->port, q1->port);
	runv(false, client(), "tcp", "6", "::1", num(q1->port), NULL);
	refused("C client to [::1]:denied");
	said(pth("agentguard: denied connect ::1 port %d", q1->port));
	py("create", "6", "::1", q1->port);
	refused("python create_connection to [::1]:denied");
	if (curl) {
		curl_url(pth("http://[::1]:%d/", q1->port));
		curl_refused("curl to [::1]:denied");
		clients++;
	}
	if (nodejs) {
		node("::1", q1->port);
		refused_as("node to [::1]:denied", "error EACCES");
		clients++;
	}
	runv(false, client(), "tcp", "6", "::1", num(q2->port), NULL);
	reached("C client to [::1]:other");
	py("create", "6", "::1", q2->port);
	reached("python to [::1]:other");
	if (same) {
		runv(false, client(), "tcp", "6", "::1", num(v4->port), NULL);
		reached("C client to [::1] on the IPv4 rule's port");
		cr_assert_eq(srv_seen(same), 1);
	} else {
		cr_log_info("port %d is taken on ::1: the family check is skipped", v4->port);
	}

	cr_assert_eq(srv_seen(q1), 0, "the server on [::1]:denied saw a connection");
	cr_assert_eq(srv_seen(q2), 2);
	logged(1, (struct want){.rule = "no-q1", .addr = "::1", .port = q1->port, .exe = "/netc"});
	logged(1, (struct want){.rule = "no-q1", .addr = "::1", .port = q1->port, .exe = "python"});
	if (curl)
		logged(1, (struct want){
			      .rule = "no-q1", .addr = "::1", .port = q1->port, .exe = "curl"});
	if (nodejs)
		logged(1, (struct want){
			      .rule = "no-q1", .addr = "::1", .port = q1->port, .exe = "node"});
	cr_assert_eq(agt_log_lines(&T), clients, "%s", dump(T.log));
}

/* ---- 2. spellings of an address ------------------------------------------ */

Test(net, ipv4_mapped_ipv6_is_the_ipv4_address)
{
	if (!ipv6_here())
		SKIP("no IPv6 sockets here");
	struct srv *s = srv_tcp("127.0.0.2"), *ok = srv_tcp("127.0.0.1");
	const char *mapped = "::ffff:127.0.0.2";

	policy(POLICY("{\"id\": \"no-127-0-0-2\", \"ops\": [\"connect\"], "
		      "\"addrs\": [\"127.0.0.2\"], \"action\": \"deny\"}"));
	py("tcp", "6", mapped, s->port);
	refused("python AF_INET6 to ::ffff:127.0.0.2");
	said(pth("agentguard: denied connect 127.0.0.2 port %d", s->port));
	runv(false, client(), "tcp", "6", mapped, num(s->port), NULL);
	refused("C client AF_INET6 to ::ffff:127.0.0.2");
	runv(false, client(), "nb", "6", mapped, num(s->port), NULL);
	refused("C client AF_INET6 O_NONBLOCK to ::ffff:127.0.0.2");
	py("tcp", "4", "127.0.0.2", s->port);
	refused("python AF_INET to 127.0.0.2");
	/* The mapped form does reach IPv4 servers here: the refusal is the guard's. */
	py("tcp", "6", "::ffff:127.0.0.1", ok->port);
	reached("python AF_INET6 to ::ffff:127.0.0.1");

	cr_assert_eq(srv_seen(s), 0, "the server on 127.0.0.2 saw a connection");
	cr_assert_eq(srv_seen(ok), 1);
	logged(2,
	       (struct want){
		   .rule = "no-127-0-0-2", .addr = "127.0.0.2", .port = s->port, .exe = "/netc"});
	logged(2,
	       (struct want){
		   .rule = "no-127-0-0-2", .addr = "127.0.0.2", .port = s->port, .exe = "python"});
	cr_assert_eq(agt_log_lines(&T), 4, "%s", dump(T.log));
}

Test(net, cidr_range_covers_its_members_only)
{
	struct srv *in = srv_tcp("127.0.0.9"), *out = srv_tcp("127.0.1.9");

	policy(POLICY("{\"id\": \"no-127-0-0-24\", \"ops\": [\"connect\"], "
		      "\"addrs\": [\"127.0.0.0/24\"], \"action\": \"deny\"}"));
	py("tcp", "4", "127.0.0.9", in->port);
	refused("python to 127.0.0.9");
	runv(false, client(), "tcp", "4", "127.0.0.9", num(in->port), NULL);
	refused("C client to 127.0.0.9");
	py("tcp", "4", "127.0.1.9", out->port);
	reached("python to 127.0.1.9 (outside the /24)");
	runv(false, client(), "tcp", "4", "127.0.1.9", num(out->port), NULL);
	reached("C client to 127.0.1.9 (outside the /24)");

	cr_assert_eq(srv_seen(in), 0, "the server on 127.0.0.9 saw a connection");
	cr_assert_eq(srv_seen(out), 2);
	logged(1, (struct want){.rule = "no-127-0-0-24",
				.addr = "127.0.0.9",
				.port = in->port,
				.exe = "python"});
	logged(1,
	       (struct want){
		   .rule = "no-127-0-0-24", .addr = "127.0.0.9", .port = in->port, .exe = "/netc"});
	cr_assert_eq(agt_log_lines(&T), 2, "%s", dump(T.log));
}

/* ---- 3. host names ------------------------------------------------------- */

/* Whether name resolves, here and unguarded, to the IPv4 address addr. */
static bool resolves_to(const char *name, const char *addr)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res, *ai;
	char text[INET_ADDRSTRLEN];
	bool found = false;

	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return false;
	for (ai = res; ai && !found; ai = ai->ai_next) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ai->ai_addr;
		found = inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text)) &&
			strcmp(text, addr) == 0;
	}
	freeaddrinfo(res);
	return found;
}

#define LOCALHOST_RULE                                                                             \
	POLICY(                                                                                    \
	    "{\"id\": \"no-localhost-p1\", \"ops\": [\"connect\"], \"hosts\": [\"localhost\"], "   \
	    "\"ports\": [%d], \"action\": \"deny\"}")

Test(net, host_rule_matches_the_name_looked_up)
{
	if (!resolves_to("localhost", "127.0.0.1"))
		SKIP("localhost does not resolve to 127.0.0.1 here");
	struct srv *s1 = srv_tcp("127.0.0.1"), *s2 = srv_tcp("127.0.0.1");
	int p1 = s1->port, p2 = s2->port;
	static const char *const lookups[] = {"gai", "ghbn", "ghbn2", "ghbn_r", "ghbn2_r"};

	policy(LOCALHOST_RULE, p1);
	py("create", "4", "localhost", p1);
	refused("python create_connection(('localhost', P1))");
	said(pth("agentguard: denied connect 127.0.0.1 port %d (localhost)", p1));
	for (size_t i = 0; i < sizeof(lookups) / sizeof(*lookups); i++) {
		runv(false, client(), lookups[i], "localhost", num(p1), NULL);
		refused(pth("C client, %s(localhost) then connect", lookups[i]));
	}
	/* Looked up, then connected to by number, in the same process. */
	py("lookup", "4", "localhost", p1);
	refused("python gethostbyname('localhost'), then connect to the address");
	/* Destination AND port: the other port is fine. */
	py("create", "4", "localhost", p2);
	reached("python create_connection(('localhost', P2))");
	cr_assert_eq(srv_seen(s1), 0, "the server saw a connection to localhost:P1");
	cr_assert_eq(srv_seen(s2), 1);

	/* What the guard cannot know: a fresh process that never looked the
	 * name up and connects by number is not "localhost" to the guard, so a
	 * rule that names only the host lets it through. */
	py("tcp", "4", "127.0.0.1", p1);
	reached("python connect to 127.0.0.1:P1 by number, no look-up");
	runv(false, client(), "tcp", "4", "127.0.0.1", num(p1), NULL);
	reached("C client to 127.0.0.1:P1 by number, no look-up");
	cr_assert_eq(srv_seen(s1), 2);

	logged(2, (struct want){.rule = "no-localhost-p1",
				.addr = "127.0.0.1",
				.port = p1,
				.host = "localhost",
				.exe = "python"});
	logged(5, (struct want){.rule = "no-localhost-p1",
				.addr = "127.0.0.1",
				.port = p1,
				.host = "localhost",
				.exe = "/netc"});
	cr_assert_eq(agt_log_lines(&T), 7, "%s", dump(T.log));
}

/* A numeric address handed to getaddrinfo is not a name: it must not hide
 * the name the process looked up before. Python's create_connection passes
 * whatever it is given through getaddrinfo, so a program that resolves a
 * name first and then connects to the result does exactly this. */
Test(net, numeric_lookup_does_not_hide_the_name)
{
	if (!resolves_to("localhost", "127.0.0.1"))
		SKIP("localhost does not resolve to 127.0.0.1 here");
	struct srv *s1 = srv_tcp("127.0.0.1");

	policy(LOCALHOST_RULE, s1->port);
	py("lookup-create", "4", "localhost", s1->port);
	refused("python gethostbyname('localhost'), then create_connection((address, P1))");
	cr_assert_eq(srv_seen(s1), 0, "the server saw the connection");
	logged(1, (struct want){.rule = "no-localhost-p1",
				.addr = "127.0.0.1",
				.port = s1->port,
				.host = "localhost",
				.exe = "python"});
}

/* The log's host is a name the program looked up; an address it spelled in
 * digits is the addr field already. */
Test(net, numeric_address_is_not_logged_as_a_host)
{
	struct srv *s1 = srv_tcp("127.0.0.1");

	policy(POLICY("{\"id\": \"no-p1\", \"ops\": [\"connect\"], \"addrs\": [\"127.0.0.1\"], "
		      "\"ports\": [%d], \"action\": \"deny\"}"),
	       s1->port);
	py("create", "4", "127.0.0.1", s1->port);
	refused("python create_connection(('127.0.0.1', P1))");
	cr_assert_eq(srv_seen(s1), 0);
	logged(1, (struct want){.rule = "no-p1",
				.addr = "127.0.0.1",
				.port = s1->port,
				.host = NOHOST,
				.exe = "python"});
}

/* A dotted name from /etc/hosts on a loopback address, or false. */
static bool dotted_loopback_name(char *name, size_t namesz, char *addr, size_t addrsz)
{
	FILE *f = fopen("/etc/hosts", "r");
	char line[1024];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "#\n")] = '\0';
		char *save, *a = strtok_r(line, " \t", &save), *n;
		struct in_addr in;
		if (!a || inet_pton(AF_INET, a, &in) != 1 || (ntohl(in.s_addr) >> 24) != 127)
			continue;
		while (!found && (n = strtok_r(NULL, " \t", &save))) {
			char *dot = strchr(n, '.');
			if (!dot || dot == n || !dot[1] || strchr(n, '*') || !resolves_to(n, a))
				continue;
			fit(name, namesz, "%s", n);
			fit(addr, addrsz, "%s", a);
			found = true;
		}
	}
	fclose(f);
	return found;
}

Test(net, host_wildcard_matches_names_below)
{
	char name[256], addr[64];

	if (!dotted_loopback_name(name, sizeof(name), addr, sizeof(addr)))
		SKIP("/etc/hosts has no dotted name on a loopback address (such as "
		     "x.localdomain): the \"*.suffix\" host test needs one");
	struct srv *s = srv_tcp(addr), *other = srv_tcp(addr);
	const char *suffix = strchr(name, '.') + 1;

	policy(POLICY("{\"id\": \"no-wild\", \"ops\": [\"connect\"], \"hosts\": [\"*.%s\"], "
		      "\"ports\": [%d], \"action\": \"deny\"}"),
	       suffix, s->port);
	py("create", "4", name, s->port);
	refused(pth("python create_connection(('%s', P))", name));
	py("create", "4", name, other->port);
	reached(pth("python create_connection(('%s', other port))", name));
	cr_assert_eq(srv_seen(s), 0);
	cr_assert_eq(srv_seen(other), 1);
	logged(
	    1,
	    (struct want){
		.rule = "no-wild", .addr = addr, .port = s->port, .host = name, .exe = "python"});
}

/* ---- 4. UDP -------------------------------------------------------------- */

Test(net, udp_sends_to_a_denied_destination_refused)
{
	struct srv *u1 = srv_inet(SOCK_DGRAM, "127.0.0.1", 0),
		   *u2 = srv_inet(SOCK_DGRAM, "127.0.0.1", 0);
	cr_assert(u1 && u2);
	const char *d = num(u1->port), *ok = num(u2->port);
	static const char *const ways[] = {"sendto", "sendmsg", "uconnect"};

	policy(POLICY("{\"id\": \"no-udp-u1\", \"ops\": [\"connect\"], \"addrs\": [\"127.0.0.1\"], "
		      "\"ports\": [%d], \"action\": \"deny\"}"),
	       u1->port);
	for (size_t i = 0; i < sizeof(ways) / sizeof(*ways); i++) {
		runv(false, client(), ways[i], "4", "127.0.0.1", d, NULL);
		refused(pth("C client, UDP %s to the denied port", ways[i]));
	}
	said(pth("agentguard: denied connect 127.0.0.1 port %d", u1->port));
	/* The first message is to the allowed port: one refused refuses all. */
	runv(false, client(), "sendmmsg", "4", "127.0.0.1", d, "127.0.0.1", ok, NULL);
	refused("C client, sendmmsg with one message to the denied port");
	py("udp", "4", "127.0.0.1", u1->port);
	refused("python sock.sendto to the denied port");
	cr_assert_eq(udp_seen(u1, 0), 0, "the denied port received datagrams");
	cr_assert_eq(udp_seen(u2, 0), 0, "sendmmsg sent its first message before the refusal");

	runv(false, client(), "sendto", "4", "127.0.0.1", ok, NULL);
	reached("C client, sendto to the other port");
	runv(false, client(), "sendmsg", "4", "127.0.0.1", ok, NULL);
	reached("C client, sendmsg to the other port");
	runv(false, client(), "sendmmsg", "4", "127.0.0.1", ok, "127.0.0.1", ok, NULL);
	reached("C client, sendmmsg to the other port");
	py("udp", "4", "127.0.0.1", u2->port);
	reached("python sendto to the other port");
	cr_assert_eq(udp_seen(u2, 5), 5);
	cr_assert_eq(udp_seen(u1, 0), 0);

	logged(4, (struct want){
		      .rule = "no-udp-u1", .addr = "127.0.0.1", .port = u1->port, .exe = "/netc"});
	logged(1, (struct want){
		      .rule = "no-udp-u1", .addr = "127.0.0.1", .port = u1->port, .exe = "python"});
	cr_assert_eq(agt_log_lines(&T), 5, "%s", dump(T.log));
}

/* ---- 5. unix sockets ----------------------------------------------------- */

Test(net, unix_socket_path_rule)
{
	char sock[PATH_MAX], other[PATH_MAX], link[PATH_MAX];
	bool curl = have("curl");

	fit(sock, sizeof(sock), "%s/docker.sock", T.out);
	fit(other, sizeof(other), "%s/other.sock", T.out);
	fit(link, sizeof(link), "%s/docker-link.sock", T.ws);
	struct srv *d = srv_unix(sock), *o = srv_unix(other);
	cr_assert_eq(symlink(sock, link), 0);
	policy(POLICY("{\"id\": \"fake-docker\", \"ops\": [\"connect\"], \"paths\": [\"%s\"], "
		      "\"action\": \"deny\"}"),
	       sock);

	py("unix", "u", sock, 0);
	refused("python connect to the stand-in docker socket");
	said(pth("agentguard: denied connect %s (rule fake-docker)", sock));
	runv(false, client(), "unix", sock, NULL);
	refused("C client connect to the stand-in docker socket");
	if (curl) {
		curl_unix(sock);
		curl_refused("curl --unix-socket to the stand-in docker socket");
	}
	py("unix", "u", "docker-link.sock", 0);
	refused("python connect through a symlink in the workspace");

	py("unix", "u", other, 0);
	reached("python connect to another socket");
	if (curl) {
		curl_unix(other);
		curl_reached("curl --unix-socket to another socket");
	}
	cr_assert_eq(srv_seen(d), 0, "the stand-in docker socket saw a connection");
	cr_assert_eq(srv_seen(o), curl ? 2 : 1);
	logged(2, (struct want){.rule = "fake-docker", .path = sock, .exe = "python"});
	logged(1, (struct want){.rule = "fake-docker", .path = sock, .exe = "/netc"});
	if (curl)
		logged(1, (struct want){.rule = "fake-docker", .path = sock, .exe = "curl"});
	cr_assert_eq(agt_log_lines(&T), curl ? 4 : 3, "%s", dump(T.log));
}

Test(net, abstract_socket_pattern)
{
	char name[128], other[128];

	fit(name, sizeof(name), "@agentguard-test-%d", (int)getpid());
	fit(other, sizeof(other), "@agt-other-%d", (int)getpid());
	struct srv *a = srv_unix(name), *o = srv_unix(other);
	policy(POLICY("{\"id\": \"no-test-abstract\", \"ops\": [\"connect\"], "
		      "\"paths\": [\"@agentguard-test-*\"], \"action\": \"deny\"}"));

	py("unix", "u", name, 0);
	refused("python connect to the abstract socket");
	runv(false, client(), "unix", name, NULL);
	refused("C client connect to the abstract socket");
	py("unix", "u", other, 0);
	reached("python connect to another abstract socket");

	cr_assert_eq(srv_seen(a), 0, "the abstract socket saw a connection");
	cr_assert_eq(srv_seen(o), 1);
	logged(1, (struct want){.rule = "no-test-abstract", .path = name, .exe = "python"});
	logged(1, (struct want){.rule = "no-test-abstract", .path = name, .exe = "/netc"});
	cr_assert_eq(agt_log_lines(&T), 2, "%s", dump(T.log));
}

/* The container-engine sockets are judged before the kernel looks: where no
 * engine runs, EACCES (not ENOENT) is the guard's answer. */
Test(net, default_policy_refuses_container_engine_sockets)
{
	char var_run[PATH_MAX], vr[PATH_MAX + 16], desktop[PATH_MAX], shim[128], ok[PATH_MAX];
	bool real_docker = agt_exists("/run/docker.sock");

	/* /var/run is usually a link to /run: the log shows the resolved path. */
	fit(vr, sizeof(vr), "%s/docker.sock", realpath("/var/run", var_run) ? var_run : "/var/run");
	if (!real_docker) {
		agt_sh_unguarded(&T, &R, "'%s' unix /run/docker.sock", client());
		refused_as("unguarded: no docker socket here", "errno 2 ");
	}
	py("unix", "u", "/run/docker.sock", 0);
	refused("python connect to /run/docker.sock");
	said("agentguard: denied connect /run/docker.sock (rule container-engines)");
	runv(false, client(), "unix", "/var/run/docker.sock", NULL);
	refused("C client connect to /var/run/docker.sock");
	if (have("curl")) {
		curl_unix("/run/docker.sock");
		curl_refused("curl --unix-socket /run/docker.sock");
		logged(1, (struct want){.rule = "container-engines",
					.path = "/run/docker.sock",
					.exe = "curl"});
	}
	logged(1, (struct want){
		      .rule = "container-engines", .path = "/run/docker.sock", .exe = "python"});
	logged(1, (struct want){.rule = "container-engines", .path = vr, .exe = "/netc"});

	/* Where a real listener does exist: Docker Desktop's socket under HOME,
	 * and a containerd shim's abstract socket. */
	fit(desktop, sizeof(desktop), "%s/.docker/run", T.home);
	agt_mkdirs(desktop);
	fit(desktop, sizeof(desktop), "%s/.docker/run/docker.sock", T.home);
	fit(shim, sizeof(shim), "@/containerd-shim/agentguard-test-%d.sock", (int)getpid());
	fit(ok, sizeof(ok), "%s/ordinary.sock", T.out);
	struct srv *dd = srv_unix(desktop), *sh = srv_unix(shim), *plain = srv_unix(ok);
	py("unix", "u", desktop, 0);
	refused("python connect to ~/.docker/run/docker.sock");
	py("unix", "u", shim, 0);
	refused("python connect to a containerd shim's abstract socket");
	py("unix", "u", ok, 0);
	reached("python connect to an ordinary unix socket");
	cr_assert_eq(srv_seen(dd), 0, "the Docker Desktop stand-in saw a connection");
	cr_assert_eq(srv_seen(sh), 0, "the containerd shim stand-in saw a connection");
	cr_assert_eq(srv_seen(plain), 1);
	logged(1, (struct want){.rule = "container-engines", .path = desktop, .exe = "python"});
	logged(1, (struct want){.rule = "container-engines", .path = shim, .exe = "python"});
}

/* ---- 6. the default policy: metadata service, and loopback ---------------- */

Test(net, default_policy_refuses_cloud_metadata)
{
	const char *md = "169.254.169.254";

	py_ns("tcp", "4", md, 80);
	refused("python connect to 169.254.169.254:80");
	said("agentguard: denied connect 169.254.169.254 port 80 (rule cloud-metadata)");
	runv(true, client(), "tcp", "4", md, "80", NULL);
	refused("C client connect to 169.254.169.254:80");
	runv(true, client(), "nb", "4", md, "80", NULL);
	refused("C client O_NONBLOCK connect to 169.254.169.254:80");
	runv(true, client(), "sendto", "4", md, "80", NULL);
	refused("C client UDP sendto 169.254.169.254:80");
	logged(1, (struct want){.rule = "cloud-metadata", .addr = md, .port = 80, .exe = "python"});
	logged(3, (struct want){.rule = "cloud-metadata", .addr = md, .port = 80, .exe = "/netc"});

	int sock6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock6 < 0) {
		cr_log_info("no IPv6 sockets here: the IPv6 spellings are not tried");
		return;
	}
	close(sock6);
	py_ns("tcp", "6", "::ffff:169.254.169.254", 80);
	refused("python connect to [::ffff:169.254.169.254]:80");
	py_ns("tcp", "6", "fd00:ec2::254", 80);
	refused("python connect to [fd00:ec2::254]:80");
	said("agentguard: denied connect fd00:ec2::254 port 80 (rule cloud-metadata)");
	logged(2, (struct want){.rule = "cloud-metadata", .addr = md, .port = 80, .exe = "python"});
	logged(1,
	       (struct want){
		   .rule = "cloud-metadata", .addr = "fd00:ec2::254", .port = 80, .exe = "python"});
}

Test(net, default_policy_allows_loopback_quietly)
{
	struct srv *s = srv_tcp("127.0.0.1");
	struct srv *u = srv_inet(SOCK_DGRAM, "127.0.0.1", 0);
	struct srv *s6 = ipv6_here() ? srv_tcp("::1") : NULL;
	int expect = 3;

	cr_assert(u);
	py("tcp", "4", "127.0.0.1", s->port);
	reached("python to 127.0.0.1");
	runv(false, client(), "tcp", "4", "127.0.0.1", num(s->port), NULL);
	reached("C client to 127.0.0.1");
	py("create", "4", "localhost", s->port);
	reached("python to localhost");
	if (have("curl")) {
		curl_url(pth("http://127.0.0.1:%d/", s->port));
		curl_reached("curl to 127.0.0.1");
		expect++;
	}
	runv(false, client(), "sendto", "4", "127.0.0.1", num(u->port), NULL);
	reached("C client UDP to 127.0.0.1");
	if (s6) {
		py("tcp", "6", "::1", s6->port);
		reached("python to ::1");
		cr_assert_eq(srv_seen(s6), 1);
	}
	cr_assert_eq(srv_seen(s), expect);
	cr_assert_eq(udp_seen(u, 1), 1);
	cr_assert_eq(agt_log_lines(&T), 0, "loopback under the default policy logged:\n%s",
		     dump(T.log));
}

/* ---- 7. the strict profile ----------------------------------------------- */

Test(net, strict_policy_checks)
{
	const char *strict = pth("%s/rules/strict.json", need_env("AGT_SRC"));
	int rc = agt_sh_unguarded(&T, &R, "'%s' check '%s'", need_env("AGT_BIN"), strict);
	cr_assert_eq(rc, 0, "agentguard check %s: %s%s", strict, R.out, R.err);
}

Test(net, strict_policy_loopback_yes_elsewhere_no)
{
	char sock[PATH_MAX];
	struct srv *s = srv_tcp("127.0.0.1");
	struct srv *s6 = ipv6_here() ? srv_tcp("::1") : NULL;
	int refusals = 3;

	fit(T.policy, sizeof(T.policy), "%s/rules/strict.json", need_env("AGT_SRC"));
	fit(sock, sizeof(sock), "%s/dev.sock", T.out);
	struct srv *u = srv_unix(sock);

	py("tcp", "4", "127.0.0.1", s->port);
	reached("strict: python to 127.0.0.1");
	runv(false, client(), "tcp", "4", "127.0.0.1", num(s->port), NULL);
	reached("strict: C client to 127.0.0.1");
	py("create", "4", "localhost", s->port);
	reached("strict: python to localhost");
	py("unix", "u", sock, 0);
	reached("strict: python to a unix socket");
	if (s6) {
		py("tcp", "6", "::1", s6->port);
		reached("strict: python to ::1");
		cr_assert_eq(srv_seen(s6), 1);
	}
	cr_assert_eq(srv_seen(s), 3);
	cr_assert_eq(srv_seen(u), 1);

	py_ns("tcp", "4", "10.255.255.1", 443);
	refused("strict: python to 10.255.255.1:443");
	said("agentguard: denied connect 10.255.255.1 port 443 (rule network-elsewhere)");
	runv(true, client(), "tcp", "4", "10.255.255.1", "443", NULL);
	refused("strict: C client to 10.255.255.1:443");
	runv(true, client(), "nb", "4", "10.255.255.1", "443", NULL);
	refused("strict: C client O_NONBLOCK to 10.255.255.1:443");
	logged(1, (struct want){.rule = "network-elsewhere",
				.addr = "10.255.255.1",
				.port = 443,
				.exe = "python"});
	logged(2, (struct want){.rule = "network-elsewhere",
				.addr = "10.255.255.1",
				.port = 443,
				.exe = "/netc"});
	if (s6) {
		py_ns("tcp", "6", "2001:db8::1", 443);
		refused("strict: python to [2001:db8::1]:443");
		logged(1, (struct want){.rule = "network-elsewhere",
					.addr = "2001:db8::1",
					.port = 443,
					.exe = "python"});
		refusals++;
	}
	cr_assert_eq(agt_log_lines(&T), refusals, "only the refusals are logged:\n%s", dump(T.log));
}
