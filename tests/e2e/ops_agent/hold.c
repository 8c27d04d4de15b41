/* hold.so (LD_PRELOAD) for ops_agent: its constructor runs in the dynamic loader,
 * before the program's entry point, and waits there while the file $HOLD_FILE
 * exists: a start that stays in ld.so for as long as the test wants. */
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void hold(void) {
  const char *file = getenv("HOLD_FILE");
  while (file && access(file, F_OK) == 0) usleep(5000);
}
