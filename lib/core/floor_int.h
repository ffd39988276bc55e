/* Between the floor's two halves: the policy's side and the kernel's. */
#ifndef AG_FLOOR_INT_H
#define AG_FLOOR_INT_H

#include "agentguard.h"

/* Every path pattern of the compiled table: its prefix (unescaped), its
 * rest, and its rule's operations and action. */
typedef void (*ag__pattern_fn)(void *ctx, const char *prefix, const char *rest, uint32_t ops,
			       ag_action_t action);
void ag__floor_each_pattern(const ag_ruleset_t *rs, ag__pattern_fn fn, void *ctx);
/* The policy's "floor" settings, AG_FLOOR_* of blob.h. */
unsigned ag_floor_flags(const ag_ruleset_t *rs);

#endif
