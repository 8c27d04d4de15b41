/* A small library that the locks target loads and unloads all the time. Its
 * constructor allocates (so a dlopen takes the malloc lock under the loader lock)
 * and its answer depends on the constructor having run. */
#include <stdlib.h>
#include <string.h>

static char *greeting;

__attribute__((constructor)) static void small_init(void) {
  greeting = malloc(64);
  if (greeting) strcpy(greeting, "hello from small");
}

__attribute__((destructor)) static void small_fini(void) {
  free(greeting);
  greeting = NULL;
}

int small_answer(int x) { return greeting && greeting[0] == 'h' ? x + 42 : -1; }
