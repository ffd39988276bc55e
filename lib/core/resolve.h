/* Resolving for the guard's own use: what ag_resolve finds, kept open. */
#ifndef AG_RESOLVE_H
#define AG_RESOLVE_H

#include <stddef.h>

/* The real path of dirfd + path (its last component not looked at) in
 * out (at least PATH_MAX), with the directory that component is in still
 * open in *pfd (O_PATH; dirfd itself where path has no slash, which the
 * caller then must not close) and *name pointing at the component in
 * path. A file made by name in *pfd is made where out says, whatever is
 * renamed or swapped for a symlink on the way meanwhile. 0, or -1 with
 * errno (EINVAL for a path ending in '/', ".", or ".."). */
int ag__resolve_parent(int dirfd, const char *path, char *out, size_t outsz, int *pfd,
		       const char **name);

#endif
