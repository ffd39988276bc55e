/* What the policy parser hands to the emitter that lays out the blob. */
#ifndef AG_COMPILE_H
#define AG_COMPILE_H

#include <stdint.h>

#include "agentguard.h"

struct cpat {
	char *prefix; /* unescaped literal directory part */
	char *rest;   /* escaped glob after it, "" or "/..." */
	uint32_t rule;
};

struct crule {
	uint32_t ops;
	ag_action_t action;
	int err;
	int unguardable; /* -1: the policy's */
	char *id;
	char *argv;      /* "a\0b\0\0", or NULL */
	size_t argv_len; /* bytes, the final empty string included */
	/* connect rules: addresses, ports, host names */
	bool net;
	ag_cidr_t *cidrs;
	size_t ncidr;
	uint16_t (*ports)[2];
	size_t nport;
	char *hosts; /* like argv */
	size_t hosts_len;
};

/* The slashes field of a pattern's blob entry (blob.h) for an escaped glob. */
uint32_t ag__glob_slashes(const char *pat, size_t len);

int ag__policy_emit(const char *source, const ag_vars_t *vars, const struct crule *rules,
		    size_t nrules, struct cpat *pats, size_t npats, ag_action_t def,
		    ag_action_t unguardable, uint64_t hash, void **blob, size_t *blob_len);

#endif
