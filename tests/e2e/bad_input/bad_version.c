/* Records of a future format version (99): must be refused, not misread. */
#include <hotpatch/patch.h>

int compute_v2(int x) { return x * 10; }

__attribute__((used, section(HOTPATCH_SECTION), aligned(8))) static const struct hotpatch_record
    records[] = {
        {HOTPATCH_RECORD_MAGIC, 99, HOTPATCH_KIND_ID, "future", 0, 0},
        {HOTPATCH_RECORD_MAGIC, 99, HOTPATCH_KIND_REPLACE, "compute", (const void *)&compute_v2, 0},
};
