struct sample {
  const char *name;
  int count;
  long base;
  long spare[4];
};
long report(const struct sample *s);
