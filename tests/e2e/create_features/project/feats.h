int use_inlined(int x);
int with_static_local(void);
const char *greet(void);
int uses_new_global(void);
int checked(int x);
int scaled(int x);
