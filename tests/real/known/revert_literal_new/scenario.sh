# KNOWN FAILURE on main (F2 in docs/real-world.md; the Loader's half of it). As
# revert_literal_kept, but the stored literal is one only the fix has (nginx: a fix that
# changes a c->log->action text, or stores the address of a function it adds as an event
# handler). The patch must carry it; after the revert the program still holds the pointer
# (until the original code overwrites it), so the revert must not unmap the patch's data
# (kpatch and Linux livepatch keep a reverted patch's module loaded too).
PATCHED='in the fixed loop len=17' PATCHED_STEP=1
source "$CASE_DIR/../revert_literal_kept/scenario.sh"
