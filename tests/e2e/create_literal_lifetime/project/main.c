#include <stdio.h>
#include <string.h>
#include <unistd.h>
extern const char *action;
extern int entered;
void enter(void);
int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    printf("%s %zu entered=%d\n", action, strlen(action), entered);
    enter();
    usleep(50000);
  }
}
