/* A shared object with no .hotpatch section at all. */
int compute_v2(int x) { return x * 10; }
