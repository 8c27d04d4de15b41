const char *action = "starting";
int entered;

void enter(void) {
  entered += 1;
  if (entered == 1)
    action = "in the loop";
}
