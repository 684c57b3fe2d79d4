// The target's functions live in its header (static inline); this file only makes it a C target.
#include "CrossEntropyCPU.h"
