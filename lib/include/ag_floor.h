/* The kernel floor: what the preload cannot see (raw system calls, static
 * and Go programs, io_uring) still meets Landlock and seccomp, derived from
 * the same policy. Installed by the launcher on itself just before it
 * executes the guarded command; every descendant inherits it. */
#ifndef AG_FLOOR_H
#define AG_FLOOR_H

#include <stdbool.h>
#include <stdint.h>

#include "agentguard.h"

/* The operations whose rights Landlock can confine. */
#define AG_FLOOR_OPS                                                                               \
	(AG_OPBIT(AG_OP_WRITE) | AG_OPBIT(AG_OP_CREATE) | AG_OPBIT(AG_OP_DELETE) |                 \
	 AG_OPBIT(AG_OP_RENAME) | AG_OPBIT(AG_OP_LINK))

/* One place the policy lets a process write: a literal prefix (unescaped,
 * "" for the root) and the escaped glob after it ("" for exactly the
 * prefix, slash and two stars for everything beneath), with the operations allowed. */
typedef void (*ag_floor_grant_fn)(void *ctx, const char *prefix, const char *rest, uint32_t ops);

/* Calls fn for each path pattern of a rule that allows (or audits, or asks
 * for) one of AG_FLOOR_OPS, in table order; then once for the root with
 * what a non-deny default allows (less creation, less what a deny rule of
 * every path takes). Pure. */
void ag_floor_grants(const ag_ruleset_t *rs, ag_floor_grant_fn fn, void *ctx);

/* Whether that floor lets op happen at path (absolute, resolved): asked by
 * the preload after a call the policy allowed came back EACCES, before it
 * names the floor as the reason. The guard's own files are not counted. */
bool ag_floor_covers(const ag_ruleset_t *rs, ag_op_t op, const char *path);

/* Whether the policy's connect rules come down to a TCP port allow-list:
 * allow rules that all name ports, then a deny of every address (or a deny
 * default). Fills ports (ascending, unique) and returns how many, or -1
 * with why filled when they do not. Pure. */
int ag_floor_tcp_ports(const ag_ruleset_t *rs, uint16_t *ports, int max, char *why, size_t whysz);

typedef struct {
	int max_abi;                    /* -1: what the kernel offers; lower it to test fall-backs */
	const char *const *write_files; /* the guard's own files every process writes (log, created table) */
} ag_floor_opts_t;

typedef struct {
	int kernel_abi;          /* 0: no Landlock in this kernel */
	int abi;                 /* what was used; 0: no Landlock rules installed */
	unsigned paths, missing; /* grants installed; policy prefixes that do not exist */
	int tcp_ports;           /* >= 0: TCP connect confined to that many ports; -1: not */
	unsigned hidden;         /* secrets made unreadable ("floor": {"hide_secrets": true}) */
	bool truncate;           /* truncate(2) confined too ("floor": {"truncate": true}) */
	bool seccomp;
	char note[256]; /* why something was left out */
} ag_floor_t;

/* Sets no_new_privs, then Landlock (best effort by ABI), then the seccomp
 * filter, on the calling (single-threaded) process. Never fails the launch:
 * returns 0 with f saying what holds, or -1 with errno when the kernel
 * refused a step it claimed to offer (f still says what holds). */
int ag_floor_install(const ag_ruleset_t *rs, const ag_floor_opts_t *o, ag_floor_t *f);

/* The policy's "floor": {"hide_secrets": true}. */
bool ag_floor_hides_secrets(const ag_ruleset_t *rs);

/* One line for the operator: what this kernel enforced. */
size_t ag_floor_describe(const ag_floor_t *f, char *buf, size_t sz);

/* "landlock=7 seccomp=1": what the launcher puts in AGENTGUARD_FLOOR. */
size_t ag_floor_env_value(const ag_floor_t *f, char *buf, size_t sz);

#endif
