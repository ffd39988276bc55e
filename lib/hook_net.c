/* The network family: connect and the sends that name a destination are
 * judged before any packet leaves; name look-ups are remembered (name to
 * addresses, per process) so rules can name hosts and log lines show the
 * host the program asked for. */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "guard.h"

/* ---- names looked up ----------------------------------------------------------
 * A ring written and read without locks: a sequence number, odd while an
 * entry is being written, tells a reader to skip or retry. */
#define NHOSTS 256
static struct {
	_Atomic unsigned seq;
	ag_netaddr_t addr;
	char host[256];
} hosts[NHOSTS];
static _Atomic unsigned hosts_next;

/* An address written as one is no name: remembering it would hide the
 * name the program looked up before (resolve, then connect by number). */
static bool numeric(const char *node)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, node, buf) == 1 || inet_pton(AF_INET6, node, buf) == 1;
}

static void remember(const ag_netaddr_t *a, const char *host)
{
	if (numeric(host))
		return;
	unsigned i = atomic_fetch_add(&hosts_next, 1) % NHOSTS;
	atomic_fetch_add(&hosts[i].seq, 1);
	hosts[i].addr = *a;
	hosts[i].addr.port = -1;
	snprintf(hosts[i].host, sizeof(hosts[i].host), "%s", host);
	atomic_fetch_add(&hosts[i].seq, 1);
}

static bool same_addr(const ag_netaddr_t *x, const ag_netaddr_t *y)
{
	return x->family == y->family && memcmp(x->addr, y->addr, x->family == 4 ? 4 : 16) == 0;
}

/* The most recent name that resolved to a; NULL when none did. */
static const char *recall(const ag_netaddr_t *a, char *out, size_t sz)
{
	unsigned last = atomic_load(&hosts_next);
	for (unsigned k = 0; k < NHOSTS && k < last; k++) {
		unsigned i = (last - 1 - k) % NHOSTS;
		unsigned s1 = atomic_load(&hosts[i].seq);
		if (s1 & 1)
			continue;
		if (!same_addr(&hosts[i].addr, a))
			continue;
		snprintf(out, sz, "%s", hosts[i].host);
		if (atomic_load(&hosts[i].seq) == s1)
			return out;
	}
	return NULL;
}

static void remember_raw(int af, const void *raw, const char *host)
{
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} sa = {0};
	ag_netaddr_t a;
	size_t len;

	if (af == AF_INET) {
		sa.v4.sin_family = AF_INET;
		memcpy(&sa.v4.sin_addr, raw, 4);
		len = sizeof(sa.v4);
	} else if (af == AF_INET6) {
		sa.v6.sin6_family = AF_INET6;
		memcpy(&sa.v6.sin6_addr, raw, 16);
		len = sizeof(sa.v6);
	} else {
		return;
	}
	if (ag_sockaddr_parse(&sa, len, &a, NULL, 0) > 0)
		remember(&a, host);
}

static void remember_hostent(const struct hostent *h, const char *name)
{
	for (char **p = h && name ? h->h_addr_list : NULL; p && *p; p++)
		remember_raw(h->h_addrtype, *p, name);
}

/* ---- the gate ------------------------------------------------------------------- */
int ag__gate_sockaddr(const void *sa, socklen_t len)
{
	char path[PATH_MAX], text[INET6_ADDRSTRLEN + 8], host[256];
	ag_netaddr_t a;
	int saved = errno;

	if (!sa || !ag__guarded(AG_OP_CONNECT))
		return 0;
	int fam = ag_sockaddr_parse(sa, len, &a, path, sizeof(path));
	if (fam == AF_UNIX) {
		if (!path[0])
			return 0;
		if (path[0] == '@') { /* abstract: a name, not a file */
			ag_request_t req = {.op = AG_OP_CONNECT, .path = path};
			return ag__judge(&req, NULL, NULL, false);
		}
		return ag__gate_path(AG_OP_CONNECT, AT_FDCWD, path, AG_RESOLVE_FOLLOW) < 0 ? -1 : 0;
	}
	if (fam != AF_INET && fam != AF_INET6)
		return 0;
	ag_request_t req = {.op = AG_OP_CONNECT, .net = &a,
			    .host = recall(&a, host, sizeof(host))};
	if (ag__st.phase == AG_PHASE_READY && ag_decide(ag__st.rs, &req).action == AG_ALLOW) {
		errno = saved;
		return 0;
	}
	ag_netaddr_format(&a, text, sizeof(text));
	return ag__judge_net(&req, text, a.port);
}

#define NET_HOOK(sa, len, call)                                                                    \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		ssize_t rc_ = ag__gate_sockaddr(sa, len) < 0 ? -1 : (ssize_t)(call);                   \
		ag__leave();                                                                       \
		return rc_;                                                                        \
	} while (0)

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	NET_HOOK(addr, len, REAL(connect)(fd, addr, len));
}

int __connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	NET_HOOK(addr, len, REAL(__connect)(fd, addr, len));
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
	       socklen_t len)
{
	NET_HOOK(addr, len, REAL(sendto)(fd, buf, n, flags, addr, len));
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	NET_HOOK(msg ? msg->msg_name : NULL, msg ? msg->msg_namelen : 0,
		 REAL(sendmsg)(fd, msg, flags));
}

/* Every message names its own destination: one refused refuses the call,
 * before any of them leaves. */
#define SENDMMSG_HOOK(call)                                                                        \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		int rc_ = 0;                                                                       \
		for (unsigned i_ = 0; vec && i_ < vlen && rc_ == 0; i_++)                          \
			rc_ = ag__gate_sockaddr(vec[i_].msg_hdr.msg_name,                          \
						vec[i_].msg_hdr.msg_namelen);                      \
		if (rc_ == 0)                                                                      \
			rc_ = call;                                                                \
		ag__leave();                                                                       \
		return rc_;                                                                        \
	} while (0)

int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	SENDMMSG_HOOK(REAL(sendmmsg)(fd, vec, vlen, flags));
}


/* ---- name look-ups ------------------------------------------------------------ */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	if (!ag__enter())
		return REAL(getaddrinfo)(node, service, hints, res);
	int rc = REAL(getaddrinfo)(node, service, hints, res);
	int saved = errno;
	for (struct addrinfo *ai = rc == 0 && node ? *res : NULL; ai; ai = ai->ai_next) {
		ag_netaddr_t a;
		if (ag_sockaddr_parse(ai->ai_addr, ai->ai_addrlen, &a, NULL, 0) > 0 &&
		    a.family != 0)
			remember(&a, node);
	}
	errno = saved;
	ag__leave();
	return rc;
}

#define HOSTENT_HOOK(name, call)                                                                   \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		struct hostent *h_ = call;                                                         \
		int saved_ = errno;                                                                \
		remember_hostent(h_, name);                                                        \
		errno = saved_;                                                                    \
		ag__leave();                                                                       \
		return h_;                                                                         \
	} while (0)

struct hostent *gethostbyname(const char *name)
{
	HOSTENT_HOOK(name, REAL(gethostbyname)(name));
}

struct hostent *gethostbyname2(const char *name, int af)
{
	HOSTENT_HOOK(name, REAL(gethostbyname2)(name, af));
}

#define HOSTENT_R_HOOK(call)                                                                       \
	do {                                                                                       \
		if (!ag__enter())                                                                  \
			return call;                                                               \
		int rc_ = call;                                                                    \
		int saved_ = errno;                                                                \
		if (rc_ == 0 && result && *result)                                                 \
			remember_hostent(*result, name);                                           \
		errno = saved_;                                                                    \
		ag__leave();                                                                       \
		return rc_;                                                                        \
	} while (0)

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
		    struct hostent **result, int *h_errnop)
{
	HOSTENT_R_HOOK(REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop));
}

int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
		     struct hostent **result, int *h_errnop)
{
	HOSTENT_R_HOOK(REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result, h_errnop));
}
